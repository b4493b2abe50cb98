"""Terrain geometry: grid convergence, metric spacing, slopes, DEM resampling, range lines."""
import math
import os

import numpy as np
import pytest
from osgeo import gdal, osr

from glasar.algorithms import GlasarError, terrain
from glasar.algorithms.grid import Grid

from rasters import write_geotiff

A_WGS84 = 6378137.0
F_WGS84 = 1 / 298.257223563
E2 = F_WGS84 * (2 - F_WGS84)


def wkt(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    return s.ExportToWkt()


def lonlat_to(epsg, lon, lat):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    g = s.CloneGeogCS()
    g.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x, y, _ = osr.CoordinateTransformation(g, s).TransformPoint(lon, lat)
    return x, y


# ------------------------------------------------------------------------------------------
# Heading -> grid azimuth
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("epsg,lon,lat", [(32632, 10.86, 46.84), (32632, 7.5, 46.84), (32732, 10.86, -46.84),
                                          (32645, 86.48, 27.86)])
def test_true_north_grid_azimuth_is_minus_the_meridian_convergence(epsg, lon, lat):
    # Transverse Mercator convergence gamma = atan(tan(lon - lon0) sin(lat)) (the ellipsoidal
    # terms are below 1e-6 deg here); grid north lies gamma east of true north.
    lon0 = {32632: 9.0, 32732: 9.0, 32645: 87.0}[epsg]
    gamma = math.degrees(math.atan(math.tan(math.radians(lon - lon0)) * math.sin(math.radians(lat))))
    x, y = lonlat_to(epsg, lon, lat)
    assert terrain.true_north_grid_azimuth(wkt(epsg), x, y) == pytest.approx(-gamma, abs=2e-4)


def test_convergence_values_and_conformal_and_geographic_grids():
    x, y = lonlat_to(32632, 10.86, 46.84)
    assert terrain.true_north_grid_azimuth(wkt(32632), x, y) == pytest.approx(-1.3569, abs=1e-3)
    # Web Mercator and lon/lat grids have grid north = true north.
    x, y = lonlat_to(3857, 10.86, 46.84)
    assert terrain.true_north_grid_azimuth(wkt(3857), x, y) == pytest.approx(0.0, abs=1e-9)
    assert terrain.true_north_grid_azimuth(wkt(4326), 10.86, 46.84) == 0.0


def test_look_azimuth_right_looking_with_convergence():
    x, y = lonlat_to(32632, 10.86, 46.84)
    # S1B descending over the Oetztal: platformHeading -165.651 -> look 284.349 true, 282.99 grid.
    assert terrain.look_azimuth(-165.651) == pytest.approx(284.349)
    assert terrain.look_azimuth(-165.651, wkt(32632), x, y) == pytest.approx(284.349 - 1.3569, abs=1e-3)
    assert terrain.look_azimuth(-14.9) == pytest.approx(75.1)
    assert terrain.look_azimuth(-14.9, looking="left") == pytest.approx(255.1)
    with pytest.raises(GlasarError, match="heading"):
        terrain.look_azimuth(None)


# ------------------------------------------------------------------------------------------
# Metric spacing
# ------------------------------------------------------------------------------------------
def test_metric_spacing_geographic_matches_textbook_degree_lengths():
    lat = 46.84
    res = 1 / 1200.0  # SRTM 3 arc-seconds
    p = math.radians(lat)
    lat_len = 111132.954 - 559.822 * math.cos(2 * p) + 1.175 * math.cos(4 * p)  # m per degree
    lon_len = 111412.84 * math.cos(p) - 93.5 * math.cos(3 * p) + 0.118 * math.cos(5 * p)
    gt = (10.0, res, 0.0, lat + res / 2, 0.0, -res)
    dx, dy = terrain.metric_spacing(gt, wkt(4326))
    assert dx == pytest.approx(res * lon_len, rel=2e-5)
    assert dy == pytest.approx(res * lat_len, rel=2e-5)
    assert (dx, dy) == pytest.approx((63.57, 92.64), abs=0.01)
    # Per row: the parallel shrinks northwards.
    dxr, _ = terrain.metric_spacing((10.0, res, 0.0, 47.0, 0.0, -res), wkt(4326), (10, 400), per_row=True)
    assert dxr.shape == (400,) and np.all(np.diff(dxr) > 0)
    assert dxr[0] == pytest.approx(res * (111412.84 * math.cos(math.radians(47 - res / 2)) - 93.5 * math.cos(
        3 * math.radians(47 - res / 2)) + 0.118 * math.cos(5 * math.radians(47 - res / 2))), rel=2e-5)


def test_metric_spacing_projected_includes_the_point_scale_factor():
    lat, lon = 46.84, 10.86
    x, y = lonlat_to(32632, lon, lat)
    gt = (x - 5.0, 10.0, 0.0, y + 5.0, 0.0, -10.0)
    dx, dy = terrain.metric_spacing(gt, wkt(32632))
    # UTM point scale k = k0 (1 + (dlon cos(lat))^2 (1 + eta^2) / 2): a 10 m grid step is 10/k metres.
    eta2 = E2 / (1 - E2) * math.cos(math.radians(lat)) ** 2
    k = 0.9996 * (1 + (math.radians(lon - 9.0) * math.cos(math.radians(lat))) ** 2 * (1 + eta2) / 2)
    assert dx == pytest.approx(10.0 / k, rel=3e-6)
    assert dy == pytest.approx(10.0 / k, rel=3e-6)
    # Web Mercator on the WGS84 ellipsoid: east scale cos(lat)/sqrt(1 - e2 sin^2), north M cos(lat)/a.
    x, y = lonlat_to(3857, lon, lat)
    dx, dy = terrain.metric_spacing((x - 5.0, 10.0, 0.0, y + 5.0, 0.0, -10.0), wkt(3857))
    s2 = math.sin(math.radians(lat)) ** 2
    m = A_WGS84 * (1 - E2) / (1 - E2 * s2) ** 1.5
    assert dx == pytest.approx(10.0 * math.cos(math.radians(lat)) / math.sqrt(1 - E2 * s2), rel=1e-5)
    assert dy == pytest.approx(10.0 * m * math.cos(math.radians(lat)) / A_WGS84, rel=1e-5)


def test_grid_spacing_and_rotated_rasters():
    x, y = lonlat_to(32632, 10.86, 46.84)
    g = Grid(wkt(32632), x - 500, y + 500, 20.0, 50, 50)
    dx, dy = terrain.grid_spacing(g)
    assert dx == pytest.approx(20.003, abs=1e-3) and dy == pytest.approx(20.003, abs=1e-3)
    with pytest.raises(GlasarError, match="rotated"):
        terrain.metric_spacing((0, 10, 1, 0, 0, -10), wkt(32632))


# ------------------------------------------------------------------------------------------
# Slopes
# ------------------------------------------------------------------------------------------
def test_slope_aspect_of_a_plane_on_a_metric_grid():
    rows, cols = 30, 40
    e = (np.arange(cols) + 0.5) * 10.0
    n = -(np.arange(rows) + 0.5) * 10.0
    h = 0.5 * e[None, :] + 0.2 * n[:, None]
    slope, aspect = terrain.slope_aspect(h, 10.0)
    assert np.allclose(slope, math.degrees(math.atan(math.hypot(0.5, 0.2))))  # 28.30 deg
    # Downhill towards west-south-west: atan2(-0.5, -0.2) = 248.2 deg.
    assert np.allclose(aspect, 248.19859051364818)
    tr, taz = terrain.range_azimuth_slopes(h, 10.0, 90.0)  # look east: the slope rises away -> faces sensor
    assert np.allclose(tr, 0.5) and np.allclose(taz, -0.2)
    tr, _ = terrain.range_azimuth_slopes(h, 10.0, 270.0)
    assert np.allclose(tr, -0.5)
    tr, taz = terrain.range_azimuth_slopes(h, (10.0, 10.0), 0.0)
    assert np.allclose(tr, 0.2) and np.allclose(taz, 0.5)


def test_slope_on_a_geographic_grid_uses_metres_per_row():
    res = 1 / 1200.0
    rows, cols = 200, 50
    gt = (10.0, res, 0.0, 47.0, 0.0, -res)
    lat = 47.0 - (np.arange(rows) + 0.5) * res
    dxr, dy = terrain.metric_spacing(gt, wkt(4326), (cols, rows), per_row=True)
    east_m = (np.arange(cols) + 0.5)[None, :] * dxr[:, None]
    h = 0.3 * east_m  # rises 0.3 m per metre eastwards on every row
    slope, aspect = terrain.slope_aspect(h, (dxr, dy))
    assert np.allclose(slope, math.degrees(math.atan(0.3)), atol=1e-9)
    # Facing west; the parallels' convergence adds a tiny northward component (< 0.05 deg).
    assert np.allclose(aspect, 270.0, atol=0.05)
    assert lat[0] > lat[-1]
    # In degrees instead of metres the "slope" would be absurd: the spacing matters.
    wrong, _ = terrain.slope_aspect(h, res)
    assert wrong.min() > 89.0


# ------------------------------------------------------------------------------------------
# Range lines
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("az", [0.0, 30.0, 75.0, 90.0, 104.35, 135.0, 200.0, 255.0, 284.35, 315.0, 359.0])
@pytest.mark.parametrize("spacing", [(10.0, 10.0), (63.4, 92.6)])
def test_range_lines_are_parallel_to_the_look_direction_near_range_first(az, spacing):
    rows, cols = 37, 53
    dx, dy = spacing
    phi = math.radians(az)
    e = (np.arange(cols) + 0.5) * dx
    n = -(np.arange(rows) + 0.5) * dy
    g = e[None, :] * math.sin(phi) + n[:, None] * math.cos(phi)  # ground range
    a = e[None, :] * math.cos(phi) - n[:, None] * math.sin(phi)  # along-track coordinate
    lines = terrain.RangeLines((rows, cols), spacing, az)
    gl = lines.to_lines(g, dtype=np.float64)
    al = lines.to_lines(a, dtype=np.float64)
    d = np.diff(gl, axis=0)
    ok = np.isfinite(d)
    assert ok.sum() > rows * cols * 0.8
    # Every step along a line advances the ground range by exactly `step` and keeps the
    # along-track coordinate: the lines run along the look direction, near range first.
    assert np.allclose(d[ok], lines.step, atol=1e-9)
    spread = np.nanmax(al, axis=0) - np.nanmin(al, axis=0)
    assert np.nanmax(spread) < 1e-9
    assert lines.step == pytest.approx(min(dx / abs(math.sin(phi)) if math.sin(phi) else np.inf,
                                           dy / abs(math.cos(phi)) if math.cos(phi) else np.inf))
    # Mapping back: each pixel takes a sample of its own column or row, at most half a pixel away.
    back_g = lines.to_grid(gl)
    back_a = lines.to_grid(al)
    dist = np.hypot(back_g - g, back_a - a)
    assert np.isfinite(dist).all()
    half = 0.5 * (dy if not lines.transpose else dx)
    assert dist.max() <= half + 1e-9


@pytest.mark.parametrize("az", [30.0, 75.0, 90.0, 104.35, 200.0, 284.35, 359.0])
def test_range_lines_interpolate_between_the_two_lines_at_each_pixel_centre(az):
    """A field linear in the grid coordinates is exact on the lines (bilinear) and linear
    along each column, so interpolating between the two lines that bracket a pixel on its
    column gives the field at the pixel centre exactly (the nearest line alone is up to half a
    pixel off); a window gives the same values as the whole grid; the other bracketing line
    lies on the other side of the pixel."""
    rows, cols = 41, 57
    dx, dy = 10.0, 12.0
    e = (np.arange(cols) + 0.5) * dx
    n = -(np.arange(rows) + 0.5) * dy
    field = 0.37 * e[None, :] - 1.9 * n[:, None] + 5.0
    lines = terrain.RangeLines((rows, cols), (dx, dy), az)
    fl = lines.to_lines(field, dtype=np.float64)
    rr, cc = np.nonzero(np.ones((rows, cols), bool))
    got = lines.interpolate_at(fl, rr, cc).reshape(rows, cols)
    step = 1.9 * dy if not lines.transpose else 0.37 * dx  # the field's change per pixel on a column
    # Exact inside; on the outer ring a bracketing line can lie beyond the line set and the
    # nearest line is taken (half a pixel at most).
    np.testing.assert_allclose(got[1:-1, 1:-1], field[1:-1, 1:-1], atol=1e-9)
    assert np.abs(got - field).max() <= 0.5 * step + 1e-9
    near, other = lines.to_grid(fl), lines.to_grid(fl, other=True)
    assert np.abs(near - field).max() <= 0.5 * step + 1e-9
    inner = (slice(1, -1), slice(1, -1))
    on_line = np.isclose(near, field, atol=1e-9)
    assert ((near - field) * (other - field) <= 1e-9)[inner].all()  # opposite sides (or on a line)
    assert np.allclose(np.abs(other - near)[inner][~on_line[inner]], step, atol=1e-9)
    window = (5, 30, 11, 40)
    sel = lines.window_lines(window)
    sel = (max(sel[0] - 1, 0), min(sel[1] + 1, lines.n_lines))
    part = lines.to_lines(field, dtype=np.float64, lines=sel)
    wr, wc = np.nonzero(np.ones((25, 29), bool))
    np.testing.assert_allclose(lines.interpolate_at(part, wr, wc, window, sel[0]).reshape(25, 29),
                               got[5:30, 11:40], atol=1e-9)


def test_range_lines_sampling_is_bilinear_and_nan_outside():
    rng = np.random.default_rng(3)
    h = rng.normal(size=(20, 30))
    lines = terrain.RangeLines(h.shape, 10.0, 80.0)
    hl = lines.to_lines(h, dtype=np.float64)
    # Sample j of line m lies on column j at row k + j t; check against explicit interpolation.
    for m in (0, 5, lines.n_lines // 2, lines.n_lines - 1):
        k = lines.k_lo + m
        for j in (0, 7, 29):
            c = k + j * lines.t
            c0 = math.floor(c)
            f = c - c0
            if 0 <= c0 and c0 + 1 <= 19:
                expected = (1 - f) * h[c0, j] + f * h[c0 + 1, j]
                assert hl[j, m] == pytest.approx(expected, abs=1e-12)
            elif c < -1 or c > 20:
                assert np.isnan(hl[j, m])
    with pytest.raises(GlasarError):
        lines.to_lines(np.zeros((5, 5)))


def test_line_sensor_geometry_recovers_a_point_sensor():
    # Flat-earth sensor 600 km up: tan(theta) = (g - g_s)/H is linear in ground range.
    rows, cols, res, az = 60, 80, 30.0, 284.35
    H = 600e3
    g = terrain.ground_range((rows, cols), res, az)
    g_s = g.mean() - H * math.tan(math.radians(39.0))
    theta = np.degrees(np.arctan((g - g_s) / H))
    lines = terrain.RangeLines((rows, cols), res, az)
    theta0, g0, kappa = terrain.line_sensor_geometry(lines, lines.to_lines(theta, dtype=np.float64))
    assert np.allclose(kappa, 1 / H, rtol=1e-6)
    # tan(theta0) at g0 agrees with the sensor model on every line (line offsets differ).
    assert np.all(np.abs(np.degrees(theta0) - 39.0) < 1.2)
    # A constant incidence gives parallel rays.
    theta0, _, kappa = terrain.line_sensor_geometry(lines, 35.0)
    assert np.all(kappa == 0) and np.allclose(np.degrees(theta0), 35.0)


def test_incidence_near_far_and_checks():
    inc = terrain.incidence_near_far((10, 20), 10.0, 90.0, 36.0, 38.0)
    assert inc[:, 0] == pytest.approx(36.0) and inc[:, -1] == pytest.approx(38.0)
    assert np.allclose(np.diff(inc, axis=1), 2.0 / 19)
    inc = terrain.incidence_near_far((10, 20), 10.0, 270.0, 36.0, 38.0)  # looking west: near range is east
    assert inc[0, -1] == pytest.approx(36.0) and inc[0, 0] == pytest.approx(38.0)
    assert np.all(terrain.incidence_near_far((4, 4), 10.0, 0.0, 39.0, 39.0) == 39.0)
    with pytest.raises(GlasarError):
        terrain.incidence_near_far((4, 4), 10.0, 0.0, 40.0, 30.0)
    with pytest.raises(GlasarError, match="radians"):
        terrain.check_incidence(np.full((3, 3), 0.6))


# ------------------------------------------------------------------------------------------
# DEM input and output
# ------------------------------------------------------------------------------------------
def _bilinear_lonlat(ds, lon, lat):
    gt = ds.GetGeoTransform()
    a = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
    c = (lon - gt[0]) / gt[1] - 0.5
    r = (lat - gt[3]) / gt[5] - 0.5
    c0, r0 = int(math.floor(c)), int(math.floor(r))
    fc, fr = c - c0, r - r0
    return ((1 - fr) * ((1 - fc) * a[r0, c0] + fc * a[r0, c0 + 1])
            + fr * ((1 - fc) * a[r0 + 1, c0] + fc * a[r0 + 1, c0 + 1]))


def test_resample_dem_geographic_dem_onto_utm_grid(sample_dir):
    path = str(sample_dir / "dem" / "srtm_oetztal.tif")
    x, y = lonlat_to(32632, 10.80, 46.80)
    grid = Grid(wkt(32632), x - 1000.0, y + 1000.0, 20.0, 100, 100)
    h = terrain.resample_dem(path, grid, "bilinear")
    hc = terrain.resample_dem(path, grid, "cubic")
    assert h.shape == (100, 100) and np.isfinite(h).all() and np.isfinite(hc).all()
    assert 1500 < h.mean() < 3800
    ds = gdal.Open(path)
    # A pixel centre of the UTM grid, by hand: its lon/lat and a bilinear read of the SRTM cells.
    for r, c in ((10, 10), (50, 73), (99, 0)):
        px, py = grid.x0 + (c + 0.5) * grid.res, grid.y0 - (r + 0.5) * grid.res
        s = osr.SpatialReference(wkt=wkt(32632))
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        geo = s.CloneGeogCS()
        geo.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        lon, lat, _ = osr.CoordinateTransformation(s, geo).TransformPoint(px, py)
        assert h[r, c] == pytest.approx(_bilinear_lonlat(ds, lon, lat), abs=0.05)
    # Cubic differs from bilinear on real terrain, but not by much.
    assert 0 < np.abs(hc - h).mean() < 5.0
    with pytest.raises(GlasarError, match="resampling"):
        terrain.resample_dem(path, grid, "nearest")
    far = Grid(wkt(32632), 100000.0, 5000000.0, 20.0, 10, 10)
    with pytest.raises(GlasarError, match="does not cover"):
        terrain.resample_dem(path, far, "bilinear")


def test_dem_in_feet_is_converted(tmp_path):
    h = np.full((10, 10), 1000.0, dtype=np.float32)
    p = write_geotiff(tmp_path / "ft.tif", h, (500000.0, 10.0, 0, 5000000.0, 0, -10.0), epsg=32632)
    ds = gdal.Open(p, gdal.GA_Update)
    ds.GetRasterBand(1).SetUnitType("ft")
    ds = None
    grid = Grid(wkt(32632), 500000.0, 5000000.0, 10.0, 10, 10)
    assert np.allclose(terrain.resample_dem(p, grid), 304.8)
    arr, gt, srs = terrain.read_dem(p)
    assert np.allclose(arr, 304.8) and gt[1] == 10.0


def test_write_raster_is_atomic_and_named(tmp_path):
    out = tmp_path / "o.tif"
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    terrain.write_raster(out, [a], (0, 1, 0, 3, 0, -1), wkt(32632), dtype=gdal.GDT_Byte, nodata=255,
                         names=["mask"], metadata={"HEADING": "-165.6"})
    ds = gdal.Open(str(out))
    assert np.array_equal(ds.GetRasterBand(1).ReadAsArray(), a)
    assert ds.GetRasterBand(1).GetDescription() == "mask" and ds.GetRasterBand(1).GetNoDataValue() == 255
    assert ds.GetMetadata()["HEADING"] == "-165.6"
    assert [f for f in os.listdir(tmp_path) if f.startswith(".glasar_")] == []


def test_scene_grid_checks():
    g = terrain.scene_grid((100.0, 10.0, 0, 200.0, 0, -10.0), (30, 20), wkt(32632))
    assert g.shape == (20, 30) and g.res == 10.0
    with pytest.raises(GlasarError, match="square"):
        terrain.scene_grid((100.0, 10.0, 0, 200.0, 0, -20.0), (30, 20), wkt(32632))


def test_range_lines_gather_row_loop_and_line_ranges_agree(monkeypatch):
    rng = np.random.default_rng(4)
    h = rng.normal(size=(40, 70)) * 100.0
    h[rng.random(h.shape) < 0.05] = np.nan
    for look in (80.0, 284.35, 13.0, 190.0):
        lines = terrain.RangeLines(h.shape, (10.0, 12.0), look)
        full = lines.to_lines(h, dtype=np.float32)
        sel = (3, lines.n_lines - 2)
        monkeypatch.setattr(terrain, "_GATHER_BELOW", 0)
        loop = lines.to_lines(h, dtype=np.float32, lines=sel)
        monkeypatch.setattr(terrain, "_GATHER_BELOW", 10 ** 9)
        gather = lines.to_lines(h, dtype=np.float32, lines=sel)
        assert np.array_equal(loop, gather, equal_nan=True)
        assert np.array_equal(full[:, sel[0]:sel[1]], gather, equal_nan=True)
        # A window maps back from the lines through it alone, as the crop of the whole grid.
        window = (5, 30, 10, 50)
        first, stop = lines.window_lines(window)
        part = lines.to_grid(full[:, first:stop], window=window, first_line=first)
        assert np.array_equal(part, lines.to_grid(full)[5:30, 10:50], equal_nan=True)
        with pytest.raises(GlasarError):
            lines.to_grid(full[:, first + 1:stop], window=window, first_line=first + 1)


def test_expand_along_the_look_directions_and_incidence_plane():
    from glasar.algorithms import terrain_window as tw

    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32632)
    g = Grid(utm.ExportToWkt(), 1000.0, 5000.0, 10.0, 20, 30)
    big, mr, mc = tw.expand_along(g, 3000.0, [284.35, 75.65])
    # 3 km along range: 3000 |sin 75.65| = 2906 m east-west, 3000 |cos 75.65| = 743 m north-south.
    assert (mr, mc) == (76, 292)
    assert big.shape == (20 + 2 * 76, 30 + 2 * 292)
    assert (big.x0, big.y0) == (1000.0 - 2920.0, 5000.0 + 760.0)
    # A flat-earth point sensor: tan(incidence) linear in ground range (here in map x and y).
    def point_sensor(r, c):
        return np.degrees(np.arctan(math.tan(math.radians(38.0)) + 2e-4 * r - 3e-4 * c))

    rr, cc = np.mgrid[:20, :30]
    inc = point_sensor(rr, cc)
    inc[3:6, 4:9] = np.nan
    window, full = tw.incidence_plane(inc, g, big, mr, mc)
    R, C = np.mgrid[:big.rows, :big.cols]
    assert np.allclose(full, point_sensor(R - mr, C - mc), atol=1e-9)
    assert window[4, 5] == pytest.approx(point_sensor(4, 5))
    assert np.array_equal(window[~np.isnan(inc)], inc[~np.isnan(inc)])


def test_tiled_transposed_copies_equal_numpy_transposes():
    rng = np.random.default_rng(2)
    for shape in ((700, 530), (3, 5), (600, 1)):
        a = rng.normal(size=shape).astype(np.float32)
        for src in (a, a[::-1], a[:, ::-1]):
            dst = np.empty(shape[::-1], np.float32)
            assert terrain.copy_transposed(dst, src) is dst
            assert np.array_equal(dst, src.T)
    with pytest.raises(ValueError):
        terrain.copy_transposed(np.empty((3, 4)), np.empty((3, 4)))
    # from_canonical is the plain transpose/flip of to_grid's canonical array in every orientation.
    shape = (600, 700)
    for look in (284.3, 104.3, 13.0, 193.0):
        lines = terrain.RangeLines(shape, 10.0, look)
        out_t = rng.integers(0, 255, size=(lines.n_along, lines.n_across)).astype(np.uint8)
        assert np.array_equal(lines.from_canonical(out_t), lines._uncanon(out_t.T))
