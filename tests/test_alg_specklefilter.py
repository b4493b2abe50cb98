"""glasar:specklefilter through QGIS Processing and qgis_process."""
import json
import subprocess

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException

from glasar.algorithms import speckle as S
from glasar.algorithms import units as U

from rasters import write_geotiff

GT = (440000.0, 20.0, 0, 3080000.0, 0, -20.0)


def run(params):
    from qgis import processing

    return processing.run("glasar:specklefilter", params)


def speckled(mean, shape, seed):
    rng = np.random.default_rng(seed)
    return (mean * rng.gamma(4.4, 1 / 4.4, shape)).astype(np.float32)


@pytest.fixture
def ee_export(tmp_path):
    """An Earth Engine style export: VV, VH in dB plus the angle band, NaN nodata in a corner."""
    vv, vh = speckled(0.05, (40, 36), 1), speckled(0.01, (40, 36), 2)
    vv[:5, :6] = np.nan
    vh[:5, :6] = np.nan
    angle = np.linspace(31, 44, 36, dtype=np.float32)[None, :].repeat(40, 0)
    path = write_geotiff(tmp_path / "S1_ee_export.tif", [U.to_db(vv, "power"), U.to_db(vh, "power"), angle], GT,
                         nodata=float("nan"), descriptions=["VV", "VH", "angle"])
    return path, vv, vh, angle


@pytest.mark.parametrize("name", S.FILTERS[1:])
def test_every_filter_through_processing(glasar_provider, ee_export, tmp_path, name):
    path, vv, vh, angle = ee_export
    res = run({"INPUT": path, "FILTER": name, "WINDOW": 5, "OUTPUT": str(tmp_path / f"{name}.tif")})
    ds = gdal.Open(res["OUTPUT"])
    src = gdal.Open(path)
    assert ds.RasterCount == 3 and ds.RasterXSize == 36 and ds.RasterYSize == 40
    assert ds.GetGeoTransform() == src.GetGeoTransform()
    assert ds.GetSpatialRef().IsSame(src.GetSpatialRef())
    assert [ds.GetRasterBand(i).GetDescription() for i in (1, 2, 3)] == ["VV", "VH", "angle"]
    assert np.isnan(ds.GetRasterBand(1).GetNoDataValue())
    np.testing.assert_array_equal(ds.GetRasterBand(3).ReadAsArray(), angle)  # angle untouched
    # dB in, filtered in linear power, dB out
    for band, power in ((1, vv), (2, vh)):
        out_db = ds.GetRasterBand(band).ReadAsArray()
        expected = S.apply_speckle_filter(power, name, 5, 4.4)
        np.testing.assert_allclose(U.to_power(out_db, "db"), expected, rtol=1e-4, equal_nan=True)
        assert np.isnan(out_db[:5, :6]).all() and np.isfinite(out_db[5:, :]).all()


def test_static_strings_units_and_looks(glasar_provider, tmp_path):
    power = speckled(0.05, (30, 30), 3)
    amp = write_geotiff(tmp_path / "scene_amp.tif", np.sqrt(power), GT, nodata=0.0)
    res = run({"INPUT": amp, "UNITS": "amplitude", "FILTER": "lee_sigma", "WINDOW": 7, "LOOKS": 10.0,
               "OUTPUT": str(tmp_path / "o.tif")})
    out = gdal.Open(res["OUTPUT"]).ReadAsArray()
    np.testing.assert_allclose(out ** 2, S.lee_sigma(power, 7, 10.0), rtol=1e-4)
    assert gdal.Open(res["OUTPUT"]).GetRasterBand(1).GetNoDataValue() == 0.0


def test_bad_input_is_a_clear_error(glasar_provider, ee_export, tmp_path):
    path = ee_export[0]
    with pytest.raises(QgsProcessingException, match="look like dB"):
        run({"INPUT": path, "UNITS": "power", "FILTER": "lee", "OUTPUT": str(tmp_path / "a.tif")})
    empty = write_geotiff(tmp_path / "empty.tif", np.full((10, 10), -9999.0), GT, nodata=-9999.0)
    with pytest.raises(QgsProcessingException, match="no valid pixels"):
        run({"INPUT": empty, "FILTER": "refined_lee", "OUTPUT": str(tmp_path / "b.tif")})
    with pytest.raises(QgsProcessingException, match="odd"):
        run({"INPUT": path, "FILTER": "lee", "WINDOW": 6, "OUTPUT": str(tmp_path / "c.tif")})
    assert not any((tmp_path / n).exists() for n in ("a.tif", "b.tif", "c.tif"))


def test_real_hyp3_rtc_through_qgis_process(qgis_process_env, tsho_rolpa, tmp_path):
    exe, env = qgis_process_env
    out = tmp_path / "vv_refined_lee.tif"
    proc = subprocess.run([exe, "--json", "run", "glasar:specklefilter", "--", f"INPUT={tsho_rolpa['asc_2022']}",
                           "UNITS=auto", "FILTER=refined_lee", "WINDOW=7", "LOOKS=4.4", f"OUTPUT={out}"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["results"]["OUTPUT"] == str(out)
    raw = gdal.Open(tsho_rolpa["asc_2022"]).ReadAsArray()
    ds = gdal.Open(str(out))
    filtered = ds.ReadAsArray()
    assert ds.GetRasterBand(1).GetNoDataValue() == 0.0
    np.testing.assert_array_equal(filtered == 0, raw == 0)  # HyP3 layover/shadow nodata kept
    expected = S.refined_lee(np.where(raw > 0, raw, np.nan))
    np.testing.assert_allclose(filtered[raw > 0], expected[raw > 0], rtol=1e-5)


def test_qgis_process_bad_units_fails_cleanly(qgis_process_env, tmp_path):
    exe, env = qgis_process_env
    db = write_geotiff(tmp_path / "db.tif", U.to_db(speckled(0.05, (20, 20), 4), "power"), GT)
    out = tmp_path / "x.tif"
    proc = subprocess.run([exe, "run", "glasar:specklefilter", "--", f"INPUT={db}", "UNITS=power",
                           "FILTER=gamma_map", f"OUTPUT={out}"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "look like dB" in proc.stdout + proc.stderr
    assert not out.exists()
