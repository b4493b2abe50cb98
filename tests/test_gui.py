"""Real GUI check: the QGIS desktop (/usr/bin/qgis) under Xvfb, GLaSAR enabled in a fresh profile.

tests/gui_probe.py runs inside QGIS (``--code``): it finds the provider in the Processing toolbox,
opens the glasar:maplakes dialog pre-filled with the Tsho Rolpa sample, saves screenshots into
tests/output/ (kept as CI artifacts, gitignored), runs the algorithm from the dialog as a user
would and records what QGIS loaded. This test starts QGIS, waits at most 120 s, and checks the JSON
and the screenshots. Skipped only where QGIS desktop or Xvfb is missing.
"""
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "tests" / "output"
QGIS = "/usr/bin/qgis"
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
TIMEOUT_S = 120

pytestmark = pytest.mark.slow


def _missing():
    for exe in (QGIS, QGIS_PROCESS):
        if not os.path.exists(exe):
            return f"{exe} is not installed (apt-get install qgis)"
    if shutil.which("xvfb-run") is None or shutil.which("Xvfb") is None:
        return "Xvfb is not available (apt-get install xvfb xauth)"
    if shutil.which("xauth") is None:
        return "xauth is not available (apt-get install xauth), xvfb-run needs it"
    return None


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    config = tmp_path_factory.mktemp("qgis_gui_profile")
    run_dir = tmp_path_factory.mktemp("qgis_gui_run")
    shots = tmp_path_factory.mktemp("qgis_gui_shots")  # this run's files; copied to tests/output at the end
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        QGIS_CUSTOM_CONFIG_PATH=str(config),
        QGIS_PLUGINPATH=str(REPO / "build" / "pluginpath"),  # conftest links build/pluginpath/glasar here
        GLASAR_GUI_OUT=str(shots),
        GLASAR_GUI_SAMPLE=str(REPO / "sample_data"),
        GLASAR_GUI_RUN_DIR=str(run_dir),
        GLASAR_GUI_DEADLINE="90",
    )
    enabled = subprocess.run([QGIS_PROCESS, "plugins", "enable", "glasar"], env=dict(env, QT_QPA_PLATFORM="offscreen"),
                             capture_output=True, text=True, timeout=TIMEOUT_S)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    env["QT_QPA_PLATFORM"] = "xcb"  # a real X display (Xvfb), not the offscreen platform of the other tests
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", QGIS, "--nologo", "--noversioncheck",
           "--code", str(REPO / "tests" / "gui_probe.py")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # xvfb-run, Xvfb and qgis: the session this test started
        log, _ = proc.communicate()
        pytest.fail(f"QGIS did not finish within {TIMEOUT_S} s:\n{log[-4000:]}")
    (shots / "gui_qgis.log").write_text(log)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for path in shots.iterdir():  # kept as CI artifacts (tests/output is gitignored)
        shutil.copy2(path, OUTPUT / path.name)
    result = shots / "gui_probe.json"
    assert result.is_file(), f"QGIS exited with {proc.returncode} without writing gui_probe.json:\n{log[-4000:]}"
    info = json.loads(result.read_text())
    assert not info.get("error"), info["error"] + "\n" + log[-2000:]
    assert proc.returncode == 0, log[-4000:]
    return info, run_dir, shots


def _png(shots, name):
    from matplotlib import image as mpimg

    path = shots / name
    assert path.is_file(), name
    return mpimg.imread(str(path), format="png")


def test_provider_and_toolbox(probe):
    info, _, _ = probe
    assert info["plugin_loaded"] is True
    prov = info["provider"]
    assert (prov["id"], prov["name"]) == ("glasar", "GLaSAR") and prov["icon_null"] is False
    assert "glasar:maplakes" in prov["algorithms"]
    # every GLaSAR algorithm the registry has is listed in the Processing toolbox
    assert info["toolbox_algorithms"] == prov["algorithms"]


def test_maplakes_dialog(probe):
    info, _, _ = probe
    dlg, alg = info["dialog"], info["algorithm"]
    assert dlg["class"] == "AlgorithmDialog" and dlg["visible"] is True
    assert dlg["title"] == alg["display_name"] == "Map glacial lakes"
    # one widget per visible parameter, the public keys among them
    assert dlg["widgets"] == sorted(alg["visible_parameters"])
    assert {"ASCENDING", "DESCENDING", "INVENTORY", "LAKE_ID_FIELD", "METHOD", "OUTPUT"} <= set(dlg["widgets"])
    assert alg["parameters_without_help"] == []
    assert "Wu et al. (2025)" in dlg["help"]
    # the pre-filled values reached the widgets
    assert dlg["values"]["ASCENDING"].endswith("S1A_20220725T122232_ASC_RTC20_gamma0_VV_tshoRolpa.tif")
    assert dlg["values"]["LAKE_ID_FIELD"] == "GLIMS_ID" and dlg["values"]["METHOD"] == "otsu"


def test_screenshots_are_real_images(probe):
    info, _, folder = probe
    shots = info["screenshots"]
    for name in ("gui_maplakes_dialog.png", "gui_qgis_toolbox.png", "gui_qgis_window.png", "gui_map.png"):
        assert shots[name]["saved"] is True, name
        img = _png(folder, name)
        assert img.shape[:2] == (shots[name]["height"], shots[name]["width"]), name
        # a drawn window, not a blank buffer: many distinct colours
        flat = (np.round(img[..., :3] * 255).astype(np.int32) @ np.array([65536, 256, 1])).ravel()
        assert np.unique(flat).size > 50, name
    assert shots["gui_maplakes_dialog.png"]["width"] >= 800


def test_run_from_dialog_loads_the_output(probe):
    info, run_dir, _ = probe
    run = info["run"]
    assert run["finished"] and run["ok"], run
    assert Path(run["results"]["OUTPUT"]) == run_dir / "mapped_lakes.gpkg"
    loaded = [lyr for lyr in info["layers"] if lyr["source"].startswith(str(run_dir / "mapped_lakes.gpkg"))]
    assert len(loaded) == 1 and loaded[0]["features"] == 83


def test_output_is_styled_and_report_listed(probe):
    """The IoU style is applied on load and the HTML report goes to the results viewer."""
    info, run_dir, _ = probe
    (lyr,) = [x for x in info["layers"] if x["source"].startswith(str(run_dir / "mapped_lakes.gpkg"))]
    assert lyr["renderer"] == "QgsGraduatedSymbolRenderer" and lyr["class_attribute"] == "iou"
    assert lyr["legend"] == ["poor: IoU ≤ 0.5", "fair: 0.5 – 0.7", "good: 0.7 – 0.8", "very good: 0.8 – 0.9",
                             "excellent: 0.9 – 1"]
    assert info["algorithm"]["outputs"]["REPORT"] == "outputHtml"
    assert [Path(r["file"]) for r in info["results_viewer"]] == [run_dir / "report.html"]
    assert "GL086863E28114N" in (run_dir / "report.html").read_text(encoding="utf-8")
