"""Shared fixtures. The plugin is imported as package ``glasar`` through build/pluginpath,
a folder holding a ``glasar`` link to the checkout, so tests work whatever the checkout is named."""
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN_PATH = REPO / "build" / "pluginpath"
SAMPLE = REPO / "sample_data"


def _ensure_plugin_link():
    PLUGIN_PATH.mkdir(parents=True, exist_ok=True)
    link = PLUGIN_PATH / "glasar"
    if not (link.is_symlink() and link.resolve() == REPO):
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(REPO, target_is_directory=True)


_ensure_plugin_link()
if str(PLUGIN_PATH) not in sys.path:
    sys.path.insert(0, str(PLUGIN_PATH))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def sample_dir():
    return SAMPLE


@pytest.fixture(scope="session")
def tsho_rolpa(sample_dir, tmp_path_factory):
    """Paths of the bundled Tsho Rolpa pairs and the ICIMOD 2020 inventory clip. The inventory is a
    session copy: QGIS opens GeoPackages for update and would rewrite the bundled file."""
    import shutil

    d = sample_dir / "tsho_rolpa"
    inventory = tmp_path_factory.mktemp("inventory") / "HKHLAKEDB_2020_rolwaling_khumbu_wgs84.gpkg"
    shutil.copyfile(sample_dir / "lakes" / inventory.name, inventory)
    return {
        "asc_2022": str(d / "S1A_20220725T122232_ASC_RTC20_gamma0_VV_tshoRolpa.tif"),
        "desc_2022": str(d / "S1A_20220728T001131_DSC_RTC20_gamma0_VV_tshoRolpa.tif"),
        "asc_2024": str(d / "S1A_20240726T122235_ASC_RTC20_gamma0_VV_tshoRolpa.tif"),
        "desc_2024": str(d / "S1A_20240729T001133_DSC_RTC20_gamma0_VV_tshoRolpa.tif"),
        "asc_2021": str(d / "S1A_20210725T121355_ASC_RTC20_gamma0_VV_tshoRolpa.tif"),
        "desc_2021": str(d / "S1A_20210721T001135_DSC_RTC20_gamma0_VV_tshoRolpa.tif"),
        "aoi": str(d / "tshoRolpaAOI.geojson"),
        "inventory": str(inventory),
    }


@pytest.fixture(scope="session")
def glasar_provider(qgis_processing):
    """The GLaSAR provider registered through the plugin's own initProcessing (kept alive)."""
    from qgis.core import QgsApplication

    from glasar.plugin import GlasarPlugin

    plugin = GlasarPlugin(None)
    plugin.initProcessing()
    assert QgsApplication.processingRegistry().providerById("glasar") is not None
    yield plugin.provider
    plugin.unload()


@pytest.fixture(scope="session")
def qgis_process_env(tmp_path_factory):
    """Environment for /usr/bin/qgis_process.bin with GLaSAR enabled in a fresh profile."""
    import subprocess

    exe = "/usr/bin/qgis_process.bin"
    if not os.path.exists(exe):
        pytest.skip("qgis_process.bin is not installed (apt-get install qgis)")
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        QGIS_CUSTOM_CONFIG_PATH=str(tmp_path_factory.mktemp("qgis_profile")),
        QGIS_PLUGINPATH=str(PLUGIN_PATH),
    )
    out = subprocess.run([exe, "plugins", "enable", "glasar"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return exe, env
