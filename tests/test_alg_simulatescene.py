"""glasar:simulatescene through QGIS Processing and qgis_process."""
import json
import subprocess

import numpy as np
import pytest
from osgeo import gdal, ogr
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from glasar.algorithms.sar_io import open_scene

gdal.UseExceptions()

FILES = ("sim_3_ASC.tif", "sim_3_DSC.tif", "dem_30m.tif", "lakes_truth.gpkg", "inventory.gpkg",
         "layover_shadow_asc.tif", "layover_shadow_dsc.tif", "classes_truth.tif", "simulation.json")


def run(params, feedback=None):
    from qgis import processing

    return processing.run("glasar:simulatescene", params, feedback=feedback)


@pytest.fixture
def hef(sample_dir):
    return str(sample_dir / "dem" / "hef_srtm.tif")


def test_metadata_keys_and_help(glasar_provider):
    from qgis.core import QgsApplication, QgsProcessingParameterDefinition

    alg = QgsApplication.processingRegistry().algorithmById("glasar:simulatescene")
    assert alg is not None and alg.shortHelpString()
    keys = {p.name() for p in alg.parameterDefinitions()}
    assert {"DEM", "SEED", "SIZE_KM", "RESOLUTION", "OUTPUT_FOLDER"} <= keys
    for p in alg.parameterDefinitions():
        assert p.help(), p.name()
    for name in ("N_LAKES", "ENL"):
        assert alg.parameterDefinition(name).flags() & QgsProcessingParameterDefinition.FlagAdvanced
    assert alg.parameterDefinition("RESOLUTION").defaultValue() == 10.0
    assert alg.flags() & alg.FlagSupportsBatch and alg.flags() & alg.FlagCanCancel
    outs = {o.name() for o in alg.outputDefinitions()}
    assert outs >= {"OUTPUT_FOLDER", "ASC_SCENE", "DSC_SCENE", "DEM_30M", "LAKES_TRUTH", "INVENTORY",
                    "LAYOVER_SHADOW_ASC", "LAYOVER_SHADOW_DSC", "SUMMARY"}


def test_run_writes_scenes_and_truth(glasar_provider, hef, tmp_path):
    out = tmp_path / "sim"
    res = run({"DEM": hef, "SEED": 3, "SIZE_KM": 2.0, "RESOLUTION": 20.0, "OUTPUT_FOLDER": str(out)})
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no temporary left behind
    assert res["OUTPUT_FOLDER"] == str(out)
    assert res["ASC_SCENE"] == str(out / "sim_3_ASC.tif")
    for key in ("DSC_SCENE", "DEM_30M", "LAKES_TRUTH", "INVENTORY", "LAYOVER_SHADOW_ASC", "LAYOVER_SHADOW_DSC",
                "CLASSES", "SUMMARY"):
        assert (out / res[key].split("/")[-1]).exists(), key
    asc, dsc = open_scene(res["ASC_SCENE"]), open_scene(res["DSC_SCENE"])
    assert (asc.orbit_pass, dsc.orbit_pass) == ("ASCENDING", "DESCENDING")
    assert asc.size == (100, 100) and asc.pixel_size == (20.0, 20.0)
    assert set(asc.bands) == {"VV", "VH", "angle"}
    with open(res["SUMMARY"]) as fh:
        summary = json.load(fh)
    assert summary["seed"] == 3 and summary["resolution_m"] == 20.0
    inv = ogr.Open(res["INVENTORY"])
    assert inv.GetLayer(0).GetFeatureCount() >= 1
    # the same seed gives the same scene, bit for bit
    again = tmp_path / "again"
    run({"DEM": hef, "SEED": 3, "SIZE_KM": 2.0, "RESOLUTION": 20.0, "OUTPUT_FOLDER": str(again)})
    a = gdal.Open(res["ASC_SCENE"]).ReadAsArray()
    b = gdal.Open(str(again / "sim_3_ASC.tif")).ReadAsArray()
    assert np.array_equal(a, b, equal_nan=True)
    c = gdal.Open(str(again / "layover_shadow_dsc.tif")).ReadAsArray()
    assert np.array_equal(gdal.Open(res["LAYOVER_SHADOW_DSC"]).ReadAsArray(), c)


def test_bad_size_and_cancel_write_nothing(glasar_provider, hef, tmp_path):
    out = tmp_path / "bad"
    with pytest.raises(QgsProcessingException, match="does not cover"):
        run({"DEM": hef, "SEED": 1, "SIZE_KM": 80.0, "OUTPUT_FOLDER": str(out)})
    assert not out.exists() or not any(out.iterdir())
    fb = QgsProcessingFeedback()
    fb.cancel()
    out = tmp_path / "cancel"
    with pytest.raises(QgsProcessingException, match="[Cc]ancel"):
        run({"DEM": hef, "SEED": 1, "SIZE_KM": 2.0, "RESOLUTION": 20.0, "OUTPUT_FOLDER": str(out)}, feedback=fb)
    assert not out.exists() or not any(out.iterdir())


def test_qgis_process(qgis_process_env, hef, tmp_path):
    exe, env = qgis_process_env
    out = tmp_path / "qp"
    proc = subprocess.run(
        [exe, "--json", "run", "glasar:simulatescene", "--", f"DEM={hef}", "SEED=3", "SIZE_KM=2",
         "RESOLUTION=25", f"OUTPUT_FOLDER={out}"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads(proc.stdout[proc.stdout.index("{"):])["results"]
    assert results["ASC_SCENE"] == str(out / "sim_3_ASC.tif")
    ds = gdal.Open(results["ASC_SCENE"])
    assert ds.RasterXSize == 80 and ds.GetMetadataItem("PASS") == "ASCENDING"
    assert gdal.Open(results["LAYOVER_SHADOW_ASC"]).GetRasterBand(1).DataType == gdal.GDT_Byte


def test_group_and_icon(glasar_provider):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById("glasar:simulatescene")
    assert alg.groupId() == "simulation"
    assert not alg.icon().isNull()
