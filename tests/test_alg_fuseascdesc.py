"""glasar:fuseascdesc through Processing and qgis_process."""
import subprocess

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import QgsProcessingException

from rasters import write_geotiff

GT = (440000.0, 20.0, 0, 3080000.0, 0, -20.0)


def run(params):
    from qgis import processing

    return processing.run("glasar:fuseascdesc", params)


@pytest.fixture
def pair(tmp_path):
    a = np.full((10, 12), -10.0, np.float32)
    d = np.full((10, 12), -14.0, np.float32)
    a[0, 0] = np.nan
    vh_a, vh_d = a - 6, d - 6
    asc = write_geotiff(tmp_path / "asc.tif", [a, vh_a], GT, descriptions=["VV", "VH"])
    desc = write_geotiff(tmp_path / "desc.tif", [d, vh_d], GT, descriptions=["VV", "VH"])
    mask = np.zeros((10, 12), np.float32)
    mask[5:, :] = 1  # active layover in the ascending lower half
    m = write_geotiff(tmp_path / "mask.tif", mask, GT)
    return asc, desc, m


def test_fuse_with_mask_and_all_combinations(glasar_provider, pair, tmp_path):
    asc, desc, mask = pair
    res = run({"ASCENDING": asc, "DESCENDING": desc, "ASC_MASK": mask, "NORMALIZATION": "none",
               "COMBINE": "all", "OUTPUT": str(tmp_path / "f.tif"), "SOURCE": str(tmp_path / "s.tif")})
    ds = gdal.Open(res["OUTPUT"])
    names = [ds.GetRasterBand(i).GetDescription() for i in range(1, ds.RasterCount + 1)]
    assert names == ["VV_mean", "VV_max", "VV_min", "VH_mean", "VH_max", "VH_min"]
    vv_mean, vv_max, vv_min = (ds.GetRasterBand(i).ReadAsArray() for i in (1, 2, 3))
    assert vv_mean[1, 1] == pytest.approx(-12.0) and vv_max[1, 1] == -10.0 and vv_min[1, 1] == -14.0
    np.testing.assert_allclose(vv_mean[5:], -14.0)  # ascending distorted -> descending
    assert vv_mean[0, 0] == pytest.approx(-14.0)  # ascending nodata -> descending
    src = gdal.Open(res["SOURCE"]).ReadAsArray()
    assert src[1, 1] == 3 and src[0, 0] == 2 and (src[5:] == 2).all()


def test_median_offset_normalisation(glasar_provider, pair, tmp_path):
    asc, desc, _ = pair
    res = run({"ASCENDING": asc, "DESCENDING": desc, "BANDS": "VV", "OUTPUT": str(tmp_path / "f.tif")})
    ds = gdal.Open(res["OUTPUT"])  # keep the dataset alive while reading its band
    vv = ds.GetRasterBand(1).ReadAsArray()
    np.testing.assert_allclose(vv[1:, :], -14.0)  # ascending shifted by its 4 dB median offset


def test_bad_inputs(glasar_provider, pair, tmp_path):
    asc, desc, _ = pair
    with pytest.raises(QgsProcessingException, match="no band 'HH'"):
        run({"ASCENDING": asc, "DESCENDING": desc, "BANDS": "HH", "OUTPUT": str(tmp_path / "x.tif")})
    far = write_geotiff(tmp_path / "far.tif", [np.full((10, 12), -9.0, np.float32)] * 2,
                        (540000.0, 20.0, 0, 3080000.0, 0, -20.0), descriptions=["VV", "VH"])
    with pytest.raises(QgsProcessingException, match="do not overlap|no valid pixel"):
        run({"ASCENDING": asc, "DESCENDING": far, "OUTPUT": str(tmp_path / "y.tif")})
    assert not (tmp_path / "x.tif").exists() and not (tmp_path / "y.tif").exists()


def test_real_tsho_rolpa_pair_through_qgis_process(qgis_process_env, tsho_rolpa, tmp_path):
    exe, env = qgis_process_env
    out, src = tmp_path / "fused.tif", tmp_path / "source.tif"
    proc = subprocess.run([exe, "run", "glasar:fuseascdesc", "--", f"ASCENDING={tsho_rolpa['asc_2022']}",
                           f"DESCENDING={tsho_rolpa['desc_2022']}", "NORMALIZATION=histogram_matching",
                           "COMBINE=mean", f"OUTPUT={out}", f"SOURCE={src}"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    codes = gdal.Open(str(src)).ReadAsArray()
    # HyP3 masks layover/shadow as nodata: 15.8 % of the descending clip, 2.8 % of the ascending.
    assert 0.10 < (codes == 1).mean() < 0.20 and (codes == 3).mean() > 0.75
    ds = gdal.Open(str(out))
    assert ds.GetRasterBand(1).GetDescription() == "VV_mean"
