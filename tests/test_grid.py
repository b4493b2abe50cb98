import numpy as np
import pytest

from glasar.algorithms.grid import make_grid, polygonize, rasterize, warp_band
from glasar.algorithms.lake_geometry import srs_from_epsg

from rasters import rect_wkt, write_geotiff

UTM45 = srs_from_epsg(32645).ExportToWkt()


def test_make_grid_snaps_to_the_source_lattice():
    g = make_grid((1005.0, 2003.0, 1096.0, 2061.0), UTM45, 20.0, align_x=3.0, align_y=7.0)
    assert (g.x0, g.y0) == (1003.0, 2067.0)  # 3 + 50*20, 7 + 103*20
    assert g.bounds[0] <= 1005 and g.bounds[2] >= 1096 and g.bounds[1] <= 2003 and g.bounds[3] >= 2061
    assert (g.rows, g.cols) == (4, 5)  # ceil(64/20), ceil(93/20)


def test_warp_band_reads_window_exactly_and_marks_outside_nodata(tmp_path):
    arr = np.arange(100, dtype=np.float32).reshape(10, 10) + 1
    arr[2, 3] = 0  # nodata
    path = write_geotiff(tmp_path / "a.tif", arr, (1000.0, 20.0, 0, 2000.0, 0, -20.0), nodata=0)
    # Window from column 2 to 13 (3 columns outside the raster), rows 1..4, same lattice.
    g = make_grid((1040.0, 1920.0, 1260.0, 1980.0), UTM45, 20.0, 1000.0, 2000.0)
    out = warp_band(path, 1, g, resampling="nearest")
    assert out.shape == (3, 11)
    assert out[0, 0] == arr[1, 2] and out[2, 7] == arr[3, 9]
    assert np.isnan(out[1, 1])  # the nodata pixel stays nodata
    assert np.isnan(out[:, 8:]).all()  # outside the raster
    # Bilinear on an aligned grid reproduces the pixels too (no half-pixel shift).
    out_bl = warp_band(path, 1, g, resampling="bilinear")
    assert out_bl[0, 0] == pytest.approx(arr[1, 2])


def test_rasterize_polygonize_round_trip():
    g = make_grid((0.0, 0.0, 400.0, 400.0), UTM45, 10.0)
    from osgeo import ogr

    poly = ogr.CreateGeometryFromWkt(rect_wkt(100, 120, 250, 300))
    mask = rasterize(poly, g)
    assert mask.sum() == 15 * 18
    back = polygonize(mask, g)
    assert back.GetArea() == pytest.approx(150 * 180)
    assert back.GetGeometryName() == "MULTIPOLYGON"
    assert polygonize(np.zeros((3, 3), bool), g) is None


def test_reads_on_the_raster_lattice_equal_the_gdal_warp(sample_dir, monkeypatch):
    from osgeo import gdal

    from glasar.algorithms import grid as grid_mod
    from glasar.algorithms.grid import Grid

    path = str(sample_dir / "tsho_rolpa" / "S1A_20220725T122232_ASC_RTC20_gamma0_VV_tshoRolpa.tif")
    ds = gdal.Open(path)
    gt = ds.GetGeoTransform()
    for c0, r0, w, h in ((10, 20, 60, 50), (-15, -8, 40, 30), (120, 100, 50, 60), (200, 0, 5, 5)):
        g = Grid(ds.GetProjection(), gt[0] + c0 * gt[1], gt[3] + r0 * gt[5], gt[1], h, w)
        assert grid_mod._aligned_window(ds, g) == (c0, r0)
        for resampling in ("nearest", "bilinear", "cubic"):
            fast = warp_band(path, 1, g, resampling)
            with monkeypatch.context() as m:
                m.setattr(grid_mod, "_aligned_window", lambda src, grid, path="": None)
                warped = warp_band(path, 1, g, resampling)
            assert np.array_equal(fast, warped, equal_nan=True)
    # Half a pixel off the lattice, or another pixel size: warped, not read.
    shifted = Grid(ds.GetProjection(), gt[0] + 10.0, gt[3], gt[1], 10, 10)
    assert grid_mod._aligned_window(ds, shifted) is None
    assert grid_mod._aligned_window(ds, Grid(ds.GetProjection(), gt[0], gt[3], 10.0, 10, 10)) is None


def test_shared_reads_keep_rasters_open_only_inside_the_block(tmp_path):
    from glasar.algorithms import grid as grid_mod
    from glasar.algorithms.grid import shared_reads

    arr = np.arange(100, dtype=np.float32).reshape(10, 10)
    path = write_geotiff(tmp_path / "a.tif", arr, (1000.0, 20.0, 0, 2000.0, 0, -20.0))
    g = make_grid((1040.0, 1920.0, 1100.0, 1980.0), UTM45, 20.0, 1000.0, 2000.0)
    with shared_reads():
        a = warp_band(path, 1, g)
        with shared_reads():
            b = warp_band(path, 1, g)
        assert len(grid_mod._OPEN.datasets) == 1
    assert grid_mod._OPEN.datasets is None
    assert np.array_equal(a, b) and a[0, 0] == arr[1, 2]


def test_aligned_read_of_a_truncated_file_is_a_clear_error(tmp_path):
    """The plain windowed read (grid on the raster's own lattice) names the file and the likely cause,
    like the warp path, instead of GDAL's bare RuntimeError."""
    from osgeo import gdal

    import bad_inputs as B

    from glasar.algorithms import GlasarError
    from glasar.algorithms.grid import Grid

    path = B.truncated_tif(tmp_path)
    ds = gdal.Open(path)
    gt = ds.GetGeoTransform()
    grid = Grid(ds.GetProjection(), gt[0], gt[3], gt[1], ds.RasterYSize, ds.RasterXSize)
    ds = None
    with pytest.raises(GlasarError, match="could not read a window of .*truncated or corrupt"):
        warp_band(path, 1, grid)


def test_a_rewritten_raster_is_not_judged_by_its_old_crs(tmp_path):
    """The same-CRS answer of the aligned read is kept per file version: the same file rewritten in
    another CRS (same lattice numbers) is warped, not read as if it were still in the grid's CRS."""
    import os

    arr = np.arange(100, dtype=np.float32).reshape(10, 10) + 1
    gt = (1000.0, 20.0, 0, 2000.0, 0, -20.0)
    path = write_geotiff(tmp_path / "a.tif", arr, gt)
    g = make_grid((1000.0, 1800.0, 1200.0, 2000.0), UTM45, 20.0, 1000.0, 2000.0)
    np.testing.assert_array_equal(warp_band(path, 1, g, resampling="nearest"), arr)
    write_geotiff(tmp_path / "a.tif", arr, gt, epsg=32644)  # UTM 44N: 6 degrees west, nothing overlaps
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a later version, whatever the clock
    assert np.isnan(warp_band(path, 1, g, resampling="nearest")).all()
