"""Layover/shadow masks: hand-worked ridge, cone, mirror symmetry, flat ground, brute-force ray
checks, the peak-window method, and the real Oetztal DEM under the real S1B descending geometry."""
import lzma
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from osgeo import ogr, osr
from scipy import interpolate, ndimage

from glasar.algorithms import GlasarError, layover_shadow as ls, slope_correction, terrain
from glasar.algorithms.grid import Grid

ANNOTATION = "s1b-iw-grd-vv-20210401t052623-20210401t052648-026269-032297-001.xml.xz"
TAN35 = math.tan(math.radians(35.0))


# ------------------------------------------------------------------------------------------
# Helpers (independent of the module under test)
# ------------------------------------------------------------------------------------------
def ridge_profile(x, xc=1000.0, height=250.0, front=1.25, back=2.5):
    """Straight ridge across range: flat, front slope (tan = front) facing the sensor (at -x),
    crest at xc, back slope (tan = back), flat."""
    h = np.zeros_like(x, dtype=np.float64)
    f = (x > xc - height / front) & (x <= xc)
    h[f] = height - (xc - x[f]) * front
    b = (x > xc) & (x < xc + height / back)
    h[b] = height - (x[b] - xc) * back
    return h


def brute_force(height_at, x, y, hp, theta_deg, look_deg, step, reach, tol=0.0, d_min=0.0):
    """Layover / shadow of points (x, y, hp) by marching along the look direction (parallel rays
    at the point's own incidence): layover if some nearer point Q has r_Q > r_P or some farther
    point r_Q < r_P, shadow if some nearer point rises above the ray towards the sensor.
    ``tol`` (m of height) shifts every comparison: +tol asks for a clear hit, -tol for a near one;
    points closer than ``d_min`` are not compared."""
    u = np.array([math.sin(math.radians(look_deg)), math.cos(math.radians(look_deg))])
    d = np.arange(1, int(reach / step) + 1) * step
    d = d[d >= d_min]
    tan = np.tan(np.radians(theta_deg))[:, None]
    hn = height_at(x[:, None] - d * u[0], y[:, None] - d * u[1])
    hf = height_at(x[:, None] + d * u[0], y[:, None] + d * u[1])
    with np.errstate(invalid="ignore"):
        lay = ((hp[:, None] - hn) > d * tan + tol).any(axis=1) | ((hf - hp[:, None]) > d * tan + tol).any(axis=1)
        sh = ((hn - hp[:, None]) > d / tan + tol).any(axis=1)
    return lay, sh


def robust_agreement(mask, height_at, rows, cols, dx, dy, look, theta, step, reach, idx, sample):
    """Compare mask with the brute force at pixel centres idx = (r, c). A pixel is 'clear' when
    the brute force gives the same answer half a pixel away in x and y (the range lines sample
    each pixel within half a pixel) and with every comparison shifted by +-half a line sample of
    slant range (``sample`` m of ground: the range lines resolve slant range to about that).
    Returns [(clear fraction, agreement on clear pixels, clear & flagged)] for layover, shadow."""
    r, c = idx
    th = theta[r, c]
    tol_l = 0.5 * sample * np.tan(np.radians(th))
    tol_s = 0.5 * sample / np.tan(np.radians(th))
    runs = []
    for ox, oy in ((0, 0), (0.5, 0), (-0.5, 0), (0, 0.5), (0, -0.5)):
        x, y = (c + 0.5 + ox) * dx, -(r + 0.5 + oy) * dy
        hp = height_at(x, y)
        runs.append(brute_force(height_at, x, y, hp, th, look, step, reach))
        for sgn in (-1.0, 1.0):  # beyond one sample, with the slant-range resolution as tolerance
            lay, _ = brute_force(height_at, x, y, hp, th, look, step, reach, sgn * tol_l[:, None], sample)
            _, sh = brute_force(height_at, x, y, hp, th, look, step, reach, sgn * tol_s[:, None], sample)
            runs.append((lay, sh))
    out = []
    for k, bits in ((0, ls.ACTIVE_LAYOVER | ls.PASSIVE_LAYOVER), (1, ls.ACTIVE_SHADOW | ls.PASSIVE_SHADOW)):
        stack = np.array([t[k] for t in runs])
        clear = (stack == stack[0]).all(axis=0)
        mine = (mask[r, c] & bits) > 0
        out.append((clear.mean(), (mine[clear] == stack[0][clear]).mean(), clear & stack[0]))
    return out


def annotation_geometry(path):
    """platformHeading and the geolocation grid (lon, lat, incidence) of an S1 annotation."""
    with open(path, "rb") as fh:
        root = ET.fromstring(lzma.decompress(fh.read()))
    heading = float(root.find(".//platformHeading").text)
    pts = np.array([[float(p.find(k).text) for k in ("longitude", "latitude", "incidenceAngle")]
                    for p in root.iter("geolocationGridPoint")])
    return heading, pts


# ------------------------------------------------------------------------------------------
# Analytic ridge (hand-worked numbers)
# ------------------------------------------------------------------------------------------
def ridge_dem(look=90.0):
    x = np.arange(200) * 10.0
    return x, np.tile(ridge_profile(x), (5, 1))


def test_ridge_exact_extents_by_hand():
    # Ridge 250 m high, front slope tan 1.25 (51.3 deg, 200 m long), back slope tan 2.5 (68.2
    # deg, 100 m), crest at x = 1000 m, incidence 35 deg, looking +x, samples every 10 m.
    # * active layover: front slope, alpha 51.3 > 35 -> samples strictly inside (the foot sample's
    #   central slope 0.625 < tan 35): x - xc = -190 .. -10, 19 samples;
    # * passive layover in front: flat ground with r = x sin35 > r_crest, i.e. within
    #   H cot35 = 357.04 m of the crest: -350 .. -200 (16, incl. the foot), plus the crest itself
    #   (the minimum of r, not active);
    # * passive layover behind: back slope points with r below r_foot: d (sin35 + 2.5 cos35) <
    #   H cos35 - 200 sin35 -> d < 34.36 m: +10, +20, +30;
    # * active shadow: back slope (68.2 > 90 - 35 = 55 deg): +10 .. +90 (9); passive shadow: flat
    #   ground within H tan35 = 175.05 m of the crest: +100 .. +170 (8).
    x, dem = ridge_dem()
    m = ls.layover_shadow_mask(dem, 10.0, 90.0, 35.0)
    assert m.dtype == np.uint8 and m.shape == dem.shape
    assert (m == m[2]).all()  # every row (range line) the same
    rel = x - 1000.0

    def at(bit):
        return rel[(m[2] & bit) > 0].tolist()

    assert at(ls.ACTIVE_LAYOVER) == list(np.arange(-190.0, 0.0, 10.0))
    assert at(ls.PASSIVE_LAYOVER) == list(np.arange(-350.0, -190.0, 10.0)) + [0.0, 10.0, 20.0, 30.0]
    assert at(ls.ACTIVE_SHADOW) == list(np.arange(10.0, 100.0, 10.0))
    assert at(ls.PASSIVE_SHADOW) == list(np.arange(100.0, 180.0, 10.0))
    # Back-slope samples +10..+30 are both passive layover and active shadow: value 6.
    assert m[2][(rel >= 10) & (rel <= 30)].tolist() == [6, 6, 6]
    assert int((m > 0).sum()) == 5 * (19 + 20 + 9 + 8 - 3)


def test_ridge_original_method_by_hand():
    # Same ridge, METHOD=original (900 m windows = 90 samples): left layover = points with
    # (H - h)/d > tan35 -> x - xc = -350 .. -10 and the peak; shadow = (H - h)/d > cot35 ->
    # +10 .. +170 and the peak; right layover from the foot B (x - xc = -200, largest slope step):
    # (h_j - 0)/d(peak, j) > tan35 on the back slope -> (250 - 25 k) / (10 k) > 0.70021, k < 7.81:
    # +10 .. +70 (the exact geometry gives only +10 .. +30: the original measures from the peak).
    x, dem = ridge_dem()
    m = ls.layover_shadow_mask(dem, 10.0, 90.0, 35.0, method="original")
    rel = x - 1000.0
    lay = rel[(m[2] & 3) > 0].tolist()
    sh = rel[(m[2] & 12) > 0].tolist()
    assert lay == list(np.arange(-350.0, 80.0, 10.0))
    assert sh == list(np.arange(0.0, 180.0, 10.0))
    # Active/passive from the angle test along the line: the front slope is active layover, the
    # back slope active shadow, the rest passive.
    assert rel[(m[2] & 1) > 0].tolist() == list(np.arange(-190.0, 0.0, 10.0))
    assert rel[(m[2] & 4) > 0].tolist() == list(np.arange(10.0, 100.0, 10.0))
    assert rel[(m[2] & 8) > 0].tolist() == [0.0] + list(np.arange(100.0, 180.0, 10.0))


def test_original_vectorised_equals_the_per_peak_loop():
    rng = np.random.default_rng(7)
    h = ndimage.gaussian_filter(rng.normal(size=(60, 400)), 3) * 3000.0
    theta = np.full(h.shape, 38.0) + rng.uniform(-1, 1, size=h.shape)
    slope = np.degrees(np.arctan(np.abs(np.gradient(h, axis=1) / 10.0)))
    h[5, 100:120] = np.nan
    lines = np.ascontiguousarray(h.T)  # (n_along, n_lines)
    a = ls.original_line_flags(lines, 10.0, theta.T.copy(), slope.T.copy(), 300.0)
    b = ls.original_line_reference(lines, 10.0, theta.T.copy(), slope.T.copy(), 300.0)
    assert (a > 0).sum() > 1000
    assert np.array_equal(a, b)


@pytest.mark.parametrize("look", [75.0, 104.35, 284.35, 255.0])
def test_oblique_ridge_matches_the_continuous_solution(look):
    # The same ridge perpendicular to an oblique look direction on a 10 m grid: every pixel
    # more than one sample (10.4 m) from a class boundary must get the continuous answer.
    rows, cols, res = 120, 160, 10.0
    phi = math.radians(look)
    e = (np.arange(cols) + 0.5) * res
    n = -(np.arange(rows) + 0.5) * res
    g = e[None, :] * math.sin(phi) + n[:, None] * math.cos(phi)
    gc = g.min() + 0.5 * (g.max() - g.min())
    d = g - gc
    dem = ridge_profile(d, xc=0.0)
    m = ls.layover_shadow_mask(dem, res, look, 35.0)
    cot = 1 / TAN35
    lay_b = [-250 * cot, -200.0, 0.0, 34.36]  # class boundaries in d (see the hand-worked case)
    sh_b = [0.0, 100.0, 250 * TAN35]
    far = np.min(np.abs(d[..., None] - np.array(lay_b + sh_b)), axis=-1) > 10.6
    exp_act_l = (d > -200) & (d < 0)
    exp_lay = (d > -250 * cot) & (d < 34.36)
    exp_act_s = (d > 0) & (d < 100)
    exp_sh = (d > 0) & (d < 250 * TAN35)
    # Only pixels whose range line stays inside the grid for 360 m each way (the farthest
    # interaction, crest to near-side foot, is 357 m): beyond the edges the terrain is unknown.
    w, hgt = cols * res, rows * res
    for sgn in (-1, 1):
        xe = e[None, :] + sgn * 360.0 * math.sin(phi)
        ye = n[:, None] + sgn * 360.0 * math.cos(phi)
        far &= (xe > 0) & (xe < w) & (ye < 0) & (ye > -hgt)
    assert far.sum() > 0.3 * rows * cols
    assert np.array_equal(((m & 1) > 0)[far], exp_act_l[far])
    assert np.array_equal(((m & 3) > 0)[far], exp_lay[far])
    assert np.array_equal(((m & 4) > 0)[far], exp_act_s[far])
    assert np.array_equal(((m & 12) > 0)[far], exp_sh[far])


@pytest.mark.parametrize("looks", [(90.0, 270.0), (80.0, 280.0), (75.1, 284.9)])
def test_ascending_and_descending_mirror_each_other_over_a_symmetric_ridge(looks):
    # A north-south ridge symmetric about the grid's central meridian: the two passes see
    # mirror images (look azimuths mirrored about north-south).
    rows, cols = 80, 121
    e = (np.arange(cols) - 60) * 10.0
    h = np.clip(300.0 - 1.6 * np.abs(e), 0, None)  # 58 deg flanks: layover and shadow on both passes
    dem = np.tile(h, (rows, 1))
    asc = ls.layover_shadow_mask(dem, 10.0, looks[0], 36.0)
    desc = ls.layover_shadow_mask(dem, 10.0, looks[1], 36.0)
    assert (asc & 1).any() and (asc & 4).any() and (asc & 8).any()
    assert np.array_equal(desc, asc[:, ::-1])


def test_cone_against_brute_force():
    # Cone 400 m high, radius 200 m (63.4 deg flanks), incidence 35 deg, looking east-north-east.
    rows = cols = 140
    res, look, H, R = 10.0, 72.0, 400.0, 200.0

    def cone(x, y):
        rho = np.hypot(x - 700.0, y + 700.0)
        return H * np.clip(1 - rho / R, 0, None)

    e = (np.arange(cols) + 0.5) * res
    n = -(np.arange(rows) + 0.5) * res
    dem = cone(e[None, :], n[:, None])
    m = ls.layover_shadow_mask(dem, res, look, 35.0)
    # Active layover is the sector facing the sensor where tan(63.4) cos(w) > tan 35:
    # |w| < acos(0.35) = 69.5 deg; active shadow where cos(w') > cot35 / 2: |w'| < 44.4 deg.
    x, y = e[None, :] - 700.0, n[:, None] + 700.0
    u = np.array([math.sin(math.radians(look)), math.cos(math.radians(look))])
    rho = np.hypot(x, y)
    w = np.degrees(np.arccos(np.clip(-(x * u[0] + y * u[1]) / np.maximum(rho, 1e-9), -1, 1)))
    flank = (rho > 25) & (rho < R - 15)
    inside_l = flank & (w < 69.5 - 6)
    outside_l = flank & (w > 69.5 + 6)
    assert ((m & 1) > 0)[inside_l].all() and not ((m & 1) > 0)[outside_l].any()
    ws = 180.0 - w
    inside_s = flank & (ws < 44.4 - 6)
    outside_s = flank & (ws > 44.4 + 6)
    assert ((m & 4) > 0)[inside_s].all() and not ((m & 4) > 0)[outside_s].any()
    # Every pixel around the cone, passive shadow and layover included: the brute force on the
    # exact cone (lines sample it every 10.5 m).
    r, c = np.nonzero(np.hypot(x, y) < R + 300.0)
    theta = np.full((rows, cols), 35.0)
    (clear_l, agree_l, hits_l), (clear_s, agree_s, hits_s) = robust_agreement(
        m, cone, rows, cols, res, res, look, theta, 2.5, 800.0, (r, c), 10.5)
    assert clear_l > 0.95 and clear_s > 0.95
    assert agree_l == 1.0 and agree_s == 1.0
    assert hits_l.sum() > 500 and hits_s.sum() > 150  # real layover and shadow (active + passive)
    assert ((m & 8) > 0).sum() > 40


def test_flat_and_gentle_terrain_flag_nothing():
    flat = np.full((50, 70), 4321.0)
    assert not ls.layover_shadow_mask(flat, 10.0, 284.35, 38.0).any()
    inc = terrain.incidence_near_far(flat.shape, 10.0, 284.35, 30.0, 46.0)
    assert not ls.layover_shadow_mask(flat, 10.0, 284.35, inc).any()
    assert not ls.layover_shadow_mask(flat, 10.0, 284.35, inc, method="original").any()
    # A plane facing the sensor at 30 deg (< 35) and one facing away at 50 deg (< 55).
    e = (np.arange(70) + 0.5) * 10.0
    for tan in (math.tan(math.radians(30)), -math.tan(math.radians(50))):
        plane = np.tile(e * tan, (50, 1))
        assert not ls.layover_shadow_mask(plane, 10.0, 90.0, 35.0).any()
    # Nodata stays nodata.
    holed = flat.copy()
    holed[10:12, 20:30] = np.nan
    m = ls.layover_shadow_mask(holed, 10.0, 100.0, 38.0)
    assert (m[10:12, 20:30] == ls.NODATA).all() and (m[np.isfinite(holed)] == 0).all()


def test_bad_input():
    dem = np.zeros((10, 10))
    with pytest.raises(GlasarError, match="method"):
        ls.layover_shadow_mask(dem, 10.0, 90.0, 35.0, method="fast")
    with pytest.raises(GlasarError, match="radians"):
        ls.layover_shadow_mask(dem, 10.0, 90.0, 0.6)
    with pytest.raises(GlasarError, match="shape"):
        ls.layover_shadow_mask(dem, 10.0, 90.0, np.full((5, 5), 35.0))
    with pytest.raises(GlasarError, match="no valid height"):
        ls.layover_shadow_mask(np.full((10, 10), np.nan), 10.0, 90.0, 35.0)
    with pytest.raises(GlasarError):
        ls.layover_shadow_mask(dem, 0.0, 90.0, 35.0)


# ------------------------------------------------------------------------------------------
# Real DEM, real geometry
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def s1b_geometry(sample_dir):
    return annotation_geometry(sample_dir / "s1_annotation" / ANNOTATION)


def _circular_mean(deg):
    r = np.radians(deg)
    return math.degrees(math.atan2(np.sin(r).mean(), np.cos(r).mean())) % 360.0


def test_real_dem_geographic_grid_with_the_real_descending_geometry(sample_dir, s1b_geometry):
    heading, pts = s1b_geometry
    assert heading == pytest.approx(-165.6512, abs=1e-4)
    dem, gt, wkt = terrain.read_dem(sample_dir / "dem" / "srtm_oetztal.tif")
    rows, cols = dem.shape
    lon = gt[0] + (np.arange(cols) + 0.5) * gt[1]
    lat = gt[3] + (np.arange(rows) + 0.5) * gt[5]
    lon2, lat2 = np.meshgrid(lon, lat)
    inc = interpolate.LinearNDInterpolator(pts[:, :2], pts[:, 2])(lon2, lat2)
    assert np.isfinite(inc).all()  # the Oetztal lies inside the scene footprint
    assert 36.5 < inc.min() < inc.max() < 39.5
    spacing = terrain.metric_spacing(gt, wkt, (cols, rows))
    look = terrain.look_azimuth(heading, wkt, lon.mean(), lat.mean())
    assert look == pytest.approx(284.3488, abs=1e-4)  # lon/lat grid: no convergence
    m = ls.layover_shadow_mask(dem, spacing, look, inc)
    frac = {b: float(((m & b) > 0).mean()) for b in (1, 2, 4, 8)}
    # Real Alpine terrain under a 38 deg descending pass: a few % layover, less shadow, and the
    # passive parts are as large as the active ones (what the angle test alone misses).
    assert 0.015 < frac[1] < 0.04 and 0.03 < frac[2] < 0.07
    assert 0.0005 < frac[4] < 0.003 and 0.001 < frac[8] < 0.005
    assert frac[2] > frac[1] and frac[8] > frac[4]
    # Active layover faces the sensor (east-south-east, look - 180), active shadow faces away.
    _, aspect = terrain.slope_aspect(dem, spacing)
    assert _circular_mean(aspect[(m & 1) > 0]) == pytest.approx(look - 180.0, abs=5.0)
    assert _circular_mean(aspect[(m & 4) > 0]) == pytest.approx(look, abs=10.0)
    # The active bits agree with the angle test of the slope correction on the same grid
    # (different discretisation: 2-D gradient vs central difference along the line).
    sc = slope_correction.slope_correct(np.zeros_like(dem), inc, dem, spacing, look)
    a, b = (m & 1) > 0, sc["layover"] == 1
    assert (a & b).sum() / (a | b).sum() > 0.7
    # The angle test's shadow pixels: its 2-D gradient also flags the crest pixel, which is lit
    # (exact: active shadow is the occluded part of a steep back slope). Rays marched through
    # the pixel centres over the bilinear DEM decide: the exact mask agrees on 0.89 of them
    # (0.73 with the nearest-line mapping and the crest counted active, before).
    dx, dy = spacing
    r, c = np.nonzero(sc["shadow"] == 1)
    assert r.size > 300
    x, y = (c + 0.5) * dx, -(r + 0.5) * dy

    def height_at(xq, yq):
        return ndimage.map_coordinates(dem, [-np.asarray(yq) / dy - 0.5, np.asarray(xq) / dx - 0.5], order=1,
                                       mode="constant", cval=np.nan, prefilter=False)

    _, shadow = brute_force(height_at, x, y, height_at(x, y), inc[r, c], look, 2.0, 3000.0)
    assert 0.5 < shadow.mean() < 0.8  # 0.66: a third of the angle test's shadow pixels is lit
    assert (((m[r, c] & 12) > 0) == shadow).mean() > 0.85


def _utm_window(sample_dir, pts, size_m=9000.0, res=30.0):
    s = osr.SpatialReference()
    s.ImportFromEPSG(32632)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    geo = s.CloneGeogCS()
    geo.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x0, y0, _ = osr.CoordinateTransformation(geo, s).TransformPoint(10.757, 46.984)
    n = int(size_m / res)
    grid = Grid(s.ExportToWkt(), x0 - size_m / 2, y0 + size_m / 2, res, n, n)
    dem = terrain.resample_dem(sample_dir / "dem" / "srtm_oetztal.tif", grid, "bilinear").astype(np.float64)
    xs, ys = grid.xy()
    xx, yy = np.meshgrid(xs, ys)
    ll = np.array(osr.CoordinateTransformation(s, geo).TransformPoints(np.c_[xx.ravel(), yy.ravel()]))
    inc = interpolate.LinearNDInterpolator(pts[:, :2], pts[:, 2])(ll[:, 0], ll[:, 1]).reshape(xx.shape)
    return grid, dem, inc


def test_real_dem_utm_against_brute_force_rays(sample_dir, s1b_geometry):
    heading, pts = s1b_geometry
    grid, dem, inc = _utm_window(sample_dir, pts)
    dx, dy = terrain.grid_spacing(grid)
    look = terrain.look_azimuth(heading, grid.srs_wkt, *terrain.grid_centre(grid))
    # UTM 32N at 10.76 E: the convergence turns the look direction by -1.28 deg.
    assert look == pytest.approx(284.3488 - 1.284, abs=0.01)
    m = ls.layover_shadow_mask(dem, (dx, dy), look, inc)
    assert ((m & 3) > 0).mean() > 0.02 and ((m & 12) > 0).mean() > 0.003

    def height_at(x, y):
        return ndimage.map_coordinates(dem, [-np.asarray(y) / dy - 0.5, np.asarray(x) / dx - 0.5], order=1,
                                       mode="constant", cval=np.nan, prefilter=False)

    rng = np.random.default_rng(11)
    near = ndimage.binary_dilation(m > 0, iterations=4)
    cand_near = np.flatnonzero(near)
    cand_far = np.flatnonzero(~near)
    pick = np.r_[rng.choice(cand_near, 2500, replace=False), rng.choice(cand_far, 500, replace=False)]
    r, c = np.unravel_index(pick, dem.shape)
    (clear_l, agree_l, hits_l), (clear_s, agree_s, hits_s) = robust_agreement(
        m, height_at, *dem.shape, dx, dy, look, inc, 7.5, 4000.0, (r, c), 31.0)
    # Rugged terrain: with half a sample (15 m of ground) of slant-range tolerance many pixels
    # near a boundary are undecided; every clear one must agree (measured: all of them).
    assert clear_l > 0.5 and clear_s > 0.7
    assert hits_l.sum() > 300 and hits_s.sum() > 10
    assert agree_l > 0.998 and agree_s > 0.998


def test_real_dem_utm_against_the_simulators_independent_truth(sample_dir, s1b_geometry):
    # algorithms/simulate.py computes layover/shadow truth its own way (rotated lattice at half
    # the pixel size, map_coordinates, exact point sensor): the two must agree.
    from glasar.algorithms import simulate

    heading, pts = s1b_geometry
    grid, dem, inc = _utm_window(sample_dir, pts)
    geom = simulate.PassGeometry("DESCENDING", heading, float(inc[inc.shape[0] // 2, inc.shape[1] // 2]))
    lat = simulate.range_lattice(grid, geom)
    _, _, s = lat.nearest(grid)
    inc_sim = lat.incidence_deg(s)
    href = float(np.nanmedian(dem))
    truth = simulate.layover_shadow_truth(dem, grid, geom, oversample=2)
    mine = ls.layover_shadow_mask(dem - href, terrain.grid_spacing(grid), geom.look_azimuth_deg, inc_sim)
    # Jaccard measured: layover 0.967, shadow 0.918, active layover 0.868, active shadow 0.825
    # (0.933 / 0.856 / 0.866 / 0.785 when each pixel took its nearest range line and the truth
    # its nearest lattice sample, instead of both judging the pixel centre)
    for bits, jacc_min in ((3, 0.95), (12, 0.9), (1, 0.85), (4, 0.8)):
        a, b = (truth & bits) > 0, (mine & bits) > 0
        assert a.sum() > 100
        assert (a & b).sum() / (a | b).sum() > jacc_min
        assert (a == b).mean() > 0.99


# ------------------------------------------------------------------------------------------
# Per-lake statistics
# ------------------------------------------------------------------------------------------
def test_polygon_fractions_exact_counts():
    mask = np.zeros((20, 20), dtype=np.uint8)
    mask[0:10, 0:10] = 1  # active layover in the NW quarter
    mask[0:10, 10:20] = 8
    mask[10:12, 0:20] = ls.NODATA
    gt = (0.0, 10.0, 0.0, 200.0, 0.0, -10.0)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)

    def rect(x0, y0, x1, y1):
        return ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")

    lakes = [rect(0, 140, 200, 200), rect(0, 60, 200, 140), rect(51, 31, 54, 34), None, rect(500, 500, 600, 600)]
    out = ls.polygon_fractions(mask, gt, srs.ExportToWkt(), lakes)
    # Rows 0-5: half active layover (columns 0-9), half passive shadow.
    assert out[0]["ls_pixels"] == 120 and out[0]["ls_valid"] == 120
    assert out[0]["frac_layover"] == 0.5 and out[0]["frac_shadow"] == 0.5
    assert out[0]["frac_active_layover"] == 0.5 and out[0]["frac_passive_shadow"] == 0.5
    assert out[0]["frac_distorted"] == 1.0 and out[0]["pixel_rule"] == "centre"
    # Rows 6-13: 80 distorted (40 + 40), 40 nodata (rows 10-11), 40 clear.
    assert out[1]["ls_pixels"] == 160 and out[1]["ls_valid"] == 120
    assert out[1]["frac_distorted"] == pytest.approx(80 / 120) and out[1]["frac_layover"] == pytest.approx(40 / 120)
    assert out[1]["frac_active_shadow"] == 0.0 and out[1]["frac_passive_shadow"] == pytest.approx(40 / 120)
    # A 3 m lake holds no pixel centre: it takes the pixel it touches (row 16, column 5: clear).
    assert out[2]["pixel_rule"] == "all_touched" and out[2]["ls_pixels"] == 1 and out[2]["frac_distorted"] == 0.0
    assert out[3]["ls_pixels"] == 0 and out[3]["frac_layover"] is None
    assert out[4]["pixel_rule"] == "outside"


@pytest.mark.parametrize("method", ls.METHODS)
def test_window_mask_equals_the_crop_of_the_whole_mask(method):
    # Each pixel depends on its own range line only, so computing the lines through a window
    # gives exactly the crop of the whole mask (what maplakes relies on per lake window).
    rng = np.random.default_rng(11)
    h = ndimage.gaussian_filter(rng.normal(size=(90, 140)), 4) * 4000.0 + 3000.0
    h[40:44, 60:65] = np.nan
    inc = terrain.incidence_near_far(h.shape, 10.0, 284.35, 33.0, 44.0)
    for look, window in ((284.35, (20, 70, 30, 100)), (75.6, (0, 90, 130, 140)), (13.0, (5, 6, 0, 140)),
                         (200.0, (30, 60, 50, 80))):
        for incidence in (inc, 38.0):
            full = ls.layover_shadow_mask(h, 10.0, look, incidence, method=method)
            part = ls.layover_shadow_mask(h, 10.0, look, incidence, method=method, window=window)
            r0, r1, c0, c1 = window
            assert np.array_equal(part, full[r0:r1, c0:c1])
        assert ((full > 0) & (full != ls.NODATA)).sum() > 100
    with pytest.raises(GlasarError):
        ls.layover_shadow_mask(h, 10.0, 284.35, 38.0, window=(0, 91, 0, 10))


def test_running_extrema_equal_numpy_accumulate():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(50, 300)).astype(np.float32)
    a[rng.random(a.shape) < 0.1] = np.nan
    a[:3, 7] = np.nan  # a line starting outside the DEM
    for width in (300, 10):  # one vector call per sample index, and numpy's accumulate
        x = np.ascontiguousarray(a[:, :width])
        # As fmax/fmin.accumulate (NaN ignored), with -inf/+inf instead of NaN before the first value.
        up = np.fmax.accumulate(x, axis=0)
        down = np.fmin.accumulate(x[::-1], axis=0)[::-1]
        assert np.array_equal(ls._running(np.fmax, x, np.empty_like(x)), np.where(np.isnan(up), -np.inf, up))
        assert np.array_equal(ls._running(np.fmin, x, np.empty_like(x), reverse=True),
                              np.where(np.isnan(down), np.inf, down))
        assert np.isneginf(ls._running(np.fmax, x, np.empty_like(x))[:3, 7]).all()


def test_line_flags_do_not_depend_on_the_chunking():
    # Chunks carry the running extrema and one sample of context: any chunk size gives the
    # flags of a single pass over whole lines (with and without a point-sensor geometry).
    rng = np.random.default_rng(8)
    for n, m in ((2, 5), (37, 300), (150, 40)):
        h = (np.cumsum(rng.standard_normal((n, m)), axis=0) * 40.0).astype(np.float32)
        h[rng.random(h.shape) < 0.05] = np.nan
        h[: n // 3, : m // 4] = np.nan  # lines entering the DEM late
        g = np.arange(n) * 10.0
        for kappa in (np.zeros(m), np.full(m, 1.4e-6)):
            whole = ls.exact_flags_along(h, g, np.full(m, 0.8), np.full(m, 500.0), kappa, chunk=n)
            assert (whole & ls.PASSIVE_LAYOVER).any() or n == 2
            for chunk in (1, 2, 7, 64):
                assert np.array_equal(ls.exact_flags_along(h, g, np.full(m, 0.8), np.full(m, 500.0), kappa,
                                                           chunk=chunk), whole)


@pytest.mark.parametrize("small_blocks", (False, True))
def test_exact_mask_equals_the_margins_interpolated_at_every_pixel(sample_dir, s1b_geometry, monkeypatch,
                                                                   small_blocks):
    # The fast path (blocks of lines, chunks, margins interpolated only where the two lines
    # bracketing a pixel disagree, in slices; tiled transposes) against the plain definition:
    # whole lines in one pass, both margins interpolated at every pixel centre, positive ->
    # in the set, active or passive as on the nearer line. Real DEM (600 x 600 at 15 m, large
    # enough for the tiled transposes), the four canonical orientations of the lines.
    heading, pts = s1b_geometry
    grid, dem, inc = _utm_window(sample_dir, pts, res=15.0)
    dem[100:104, 200:230] = np.nan  # a hole in the DEM
    dx, dy = terrain.grid_spacing(grid)
    if small_blocks:  # many blocks, chunks, slabs and slices
        monkeypatch.setattr(ls, "_BLOCK", 97)
        monkeypatch.setattr(ls, "_SLAB", 5000)
        monkeypatch.setattr(ls, "_EDGE_SLICE", 1000)
    real = terrain.look_azimuth(heading, grid.srs_wkt, *terrain.grid_centre(grid))
    for look in (real, real - 180.0, 13.0, 193.0):
        lines = terrain.RangeLines(dem.shape, (dx, dy), look)
        hl = lines.to_lines(dem, dtype=np.float32)
        th = lines.to_lines(inc, dtype=np.float64)
        tan0, g0, kappa = (np.asarray(v) for v in ls._geometry(lines, inc, (0, lines.n_lines)))
        flags, lay_m, sh_m = ls.exact_flags_along(hl, lines.g, tan0, g0, kappa, chunk=hl.shape[0], margins=True)
        near = lines.to_grid(flags)
        rr, cc = np.nonzero(np.ones(dem.shape, bool))
        want = np.zeros(dem.shape, np.uint8)
        for margin, active, passive in ((lay_m, ls.ACTIVE_LAYOVER, ls.PASSIVE_LAYOVER),
                                        (sh_m, ls.ACTIVE_SHADOW, ls.PASSIVE_SHADOW)):
            m = lines.interpolate_at(margin, rr, cc).reshape(dem.shape)
            with np.errstate(invalid="ignore"):
                on = np.where(np.isnan(m), (near & (active | passive)) > 0, m > 0)
            want |= np.where(on, np.where((near & active) > 0, active, passive), 0).astype(np.uint8)
        want[~np.isfinite(dem)] = ls.NODATA
        got = ls.layover_shadow_mask(dem, (dx, dy), look, inc)
        assert np.isfinite(th).any()
        assert ((got & 3) > 0).mean() > 0.01 and ((got & 12) > 0).mean() > 0.001
        assert (got != near).sum() > 100  # the interpolation matters on this DEM
        assert np.array_equal(got, want)
