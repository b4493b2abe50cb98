"""`make package` builds the installable zip with pb_tool; the zip installs into a fresh QGIS profile
(QGIS_CUSTOM_CONFIG_PATH, no QGIS_PLUGINPATH: only the installed copy exists), is enabled with
qgis_process and maps Tsho Rolpa through glasar:maplakes."""
import configparser
import csv
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
TSHO_ROLPA = "GL086863E28114N"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = tmp_path_factory.mktemp("package")
    zip_path = out / "glasar.zip"
    proc = subprocess.run(
        ["make", "--no-print-directory", "package", f"PACKAGE_DIR={out / 'stage'}", f"PACKAGE_ZIP={zip_path}"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert zip_path.is_file()
    return zip_path


def _tracked(*folders):
    out = subprocess.run(["git", "ls-files", *folders], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [line for line in out.stdout.splitlines() if line and (REPO / line).is_file()]


def test_zip_contents(package):
    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
        metadata = zf.read("glasar/metadata.txt").decode("utf-8")
        licence = zf.read("glasar/LICENSE").decode("utf-8")
        attribution = zf.read("glasar/sample_data/README.md").decode("utf-8")
    files = {n for n in names if not n.endswith("/")}
    assert all(n.startswith("glasar/") for n in files)
    for required in ("metadata.txt", "__init__.py", "plugin.py", "LICENSE", "sample_data/README.md",
                     "algorithms/__init__.py", "algorithms/pipeline.py", "processing_provider/provider.py",
                     "processing_provider/map_lakes.py", "processing_provider/styling.py", "ui/__init__.py",
                     "ui/report.py", "ui/styles/mapped_lakes_iou.qml", "ui/styles/fusion_source.qml",
                     "ui/styles/backscatter_db.qml", "ui/icons/glasar.svg", "ui/models/maplakeschain.model3"):
        assert "glasar/" + required in files, required
    # every tracked file of the shipped folders is in the zip
    for path in _tracked("algorithms", "processing_provider", "ui"):
        assert "glasar/" + path in files, path
    # nothing for developers, no caches, no sample rasters
    for n in files:
        rel = n[len("glasar/"):]
        assert rel.split("/")[0] not in ("tests", "benchmarks", "build", ".venv", "scripts", "demo_output", ".git"), n
        assert "__pycache__" not in n and not n.endswith((".pyc", ".tif", ".gpkg", ".zip")), n
        assert rel not in ("Makefile", "pb_tool.cfg", "requirements-dev.txt", "pytest.ini", "CONTRIBUTING.md")
    # metadata: valid for the plugin manager, stamped by pb_tool with the commit it was built from
    cfg = configparser.ConfigParser()
    cfg.read_string(metadata)
    general = cfg["general"]
    assert general["name"] == "GLaSAR" and general["hasProcessingProvider"] == "yes"
    assert "glasar/" + general["icon"] in files
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert general.get("commitSha1") == head
    assert "GNU GENERAL PUBLIC LICENSE" in licence and "Version 2, June 1991" in licence
    assert "SPDX-License-Identifier: GPL-2.0-or-later" in licence
    assert "Copernicus Sentinel data" in attribution and "ICIMOD" in attribution


@pytest.fixture(scope="module")
def installed(package, tmp_path_factory):
    """QGIS environment with the zip unpacked into a fresh profile's plugin folder and enabled."""
    if not os.path.exists(QGIS_PROCESS):
        pytest.skip("qgis_process.bin is not installed (apt-get install qgis)")
    config = tmp_path_factory.mktemp("qgis_config")
    plugins = config / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(package) as zf:
        zf.extractall(plugins)
    env = {k: v for k, v in os.environ.items() if k not in ("QGIS_PLUGINPATH", "PYTHONPATH")}
    env.update(QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(config))
    out = subprocess.run([QGIS_PROCESS, "plugins", "enable", "glasar"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return env, plugins / "glasar"


def _json(stdout):
    return json.loads(stdout[stdout.index("{"):])


def test_installed_plugin_is_enabled_and_lists_its_algorithms(installed):
    env, folder = installed
    assert (folder / "metadata.txt").is_file() and not (folder / "tests").exists()
    out = subprocess.run([QGIS_PROCESS, "--json", "plugins"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert _json(out.stdout)["plugins"]["glasar"]["loaded"] is True
    out = subprocess.run([QGIS_PROCESS, "--json", "list"], env=env, capture_output=True, text=True, timeout=120)
    providers = _json(out.stdout)["providers"]
    assert "glasar:maplakes" in providers["glasar"]["algorithms"]
    # the shipped Modeler model is loaded from the installed ui/models/ with its outputs
    assert "glasar:maplakeschain" in providers["glasar"]["algorithms"]
    out = subprocess.run([QGIS_PROCESS, "--json", "help", "glasar:maplakeschain"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    helped = _json(out.stdout)
    assert {"SCENES", "INVENTORY", "DEM", "extract:LAKES", "extract:TABLE"} <= set(helped["parameters"])
    details = helped["algorithm_details"]
    assert details["name"] == "Map glacial lakes step by step (model)" and details["group"] == "Models"
    assert details["short_description"]


def test_installed_plugin_maps_tsho_rolpa(installed, tsho_rolpa, tmp_path):
    env, _folder = installed
    gpkg, table, html = tmp_path / "mapped.gpkg", tmp_path / "mapped.csv", tmp_path / "report.html"
    helped = subprocess.run([QGIS_PROCESS, "--json", "help", "glasar:maplakes"], env=env, capture_output=True,
                            text=True, timeout=120)
    with_report = "REPORT" in _json(helped.stdout)["parameters"]
    args = [QGIS_PROCESS, "--json", "run", "glasar:maplakes", "--",
            f"ASCENDING={tsho_rolpa['asc_2022']}", f"DESCENDING={tsho_rolpa['desc_2022']}",
            f"INVENTORY={tsho_rolpa['inventory']}", "LAKE_ID_FIELD=GLIMS_ID", f"OUTPUT={gpkg}", f"TABLE={table}"]
    if with_report:
        args.append(f"REPORT={html}")
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = _json(out.stdout)["results"]
    assert Path(results["OUTPUT"]).resolve() == gpkg.resolve() or results["OUTPUT"].startswith(str(gpkg))
    with open(table, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 83  # one row per inventory lake
    tsho = [r for r in rows if r["lake_id"] == TSHO_ROLPA and r["status"].startswith("ok")]
    assert len(tsho) == 1
    assert float(tsho[0]["iou"]) > 0.8 and float(tsho[0]["area_ref_km2"]) == pytest.approx(1.6185, abs=1e-3)
    from osgeo import ogr

    ds = ogr.Open(str(gpkg))
    lyr = ds.GetLayer(0)
    assert lyr.GetFeatureCount() == 83
    lyr.SetAttributeFilter(f"lake_id = '{TSHO_ROLPA}' AND iou IS NOT NULL")
    feat = lyr.GetNextFeature()
    assert feat is not None and feat.GetGeometryRef() is not None
    assert feat.GetField("iou") == pytest.approx(float(tsho[0]["iou"]), abs=1e-4)
    if with_report:
        text = html.read_text(encoding="utf-8")
        assert TSHO_ROLPA in text and "data:image/png;base64," in text


def test_algorithm_icons_ship_and_are_64px_svg(glasar_provider, package):
    """Each registered algorithm's icon (ui/icons/*.svg, one per group) is in the zip and is a 64x64 SVG."""
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
        icons = {n: zf.read(n) for n in names if n.startswith("glasar/ui/icons/") and n.endswith(".svg")}
    for name in ("sar", "terrain", "fusion", "extraction", "simulation", "earthengine", "glasar"):
        assert f"glasar/ui/icons/{name}.svg" in icons, name
    for name, data in icons.items():
        root = ET.fromstring(data)
        assert root.tag.endswith("svg") and (root.get("width"), root.get("height"), root.get("viewBox")) == \
            ("64", "64", "0 0 64 64"), name
    algorithms = glasar_provider.algorithms()
    assert algorithms
    for alg in algorithms:
        icon = getattr(type(alg), "_icon", "glasar.svg")
        assert f"glasar/ui/icons/{icon}" in names, (alg.id(), icon)
        assert not alg.icon().isNull(), alg.id()
