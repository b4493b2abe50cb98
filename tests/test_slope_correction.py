"""Slope correction: flat ground, hand-worked planes (sign convention), azimuth slopes, the
projected-area model against a brute-force forward model, and the real Oetztal DEM."""
import math

import numpy as np
import pytest
from osgeo import osr
from scipy import ndimage

from glasar.algorithms import GlasarError, slope_correction as sc, terrain
from glasar.algorithms.grid import Grid

THETA = 37.0


def db(x):
    return 10.0 * math.log10(x)


def plane(rows, cols, res, look, range_deg=0.0, az_deg=0.0):
    """Plane with the given range slope (positive = facing the sensor) and azimuth slope."""
    phi = math.radians(look)
    e = (np.arange(cols) + 0.5) * res
    n = -(np.arange(rows) + 0.5) * res
    g = e[None, :] * math.sin(phi) + n[:, None] * math.cos(phi)
    a = e[None, :] * math.cos(phi) - n[:, None] * math.sin(phi)
    return 2000.0 + g * math.tan(math.radians(range_deg)) + a * math.tan(math.radians(az_deg))


def interior(a, k=3):
    return a[k:-k, k:-k]


@pytest.mark.parametrize("model", sc.MODELS)
def test_flat_dem_only_converts_sigma0_to_gamma0(model):
    rng = np.random.default_rng(0)
    shape = (40, 50)
    vv = rng.uniform(-20, -5, shape).astype(np.float32)
    vh = vv - 7.0
    inc = terrain.incidence_near_far(shape, 10.0, 284.35, 36.0, 38.0)
    out = sc.slope_correct({"VV": vv, "VH": vh}, inc, np.full(shape, 3150.0), 10.0, 284.35, model)
    assert list(out) == ["VV_sigma0", "VH_sigma0", "incAngle", "localIncAngle", "VV_gamma0", "VH_gamma0",
                         "VV_gamma0_flatDB", "VH_gamma0_flatDB", "layover", "shadow"]
    expected = vv - 10 * np.log10(np.cos(np.radians(inc)))
    assert np.allclose(out["VV_gamma0"], expected, atol=1e-4)
    assert np.allclose(out["VV_gamma0_flatDB"], out["VV_gamma0"], atol=1e-4)
    assert np.allclose(out["VH_gamma0_flatDB"], out["VH_gamma0"], atol=1e-4)
    assert np.array_equal(out["VV_sigma0"], vv)
    assert np.allclose(out["localIncAngle"], inc, atol=1e-4) and np.allclose(out["incAngle"], inc, atol=1e-5)
    assert not out["layover"].any() and not out["shadow"].any()
    assert all(v.dtype == np.float32 for v in out.values())


@pytest.mark.parametrize("look", [90.0, 284.35, 75.1])
def test_planes_by_hand_sign_convention(look):
    # sigma0 = -10 dB everywhere, theta = 37 deg. gamma0 = -10 - 10 log10(cos 37) = -9.0233 dB.
    shape, res = (30, 40), 10.0
    s0 = np.full(shape, -10.0, np.float32)
    g0 = -10.0 - db(math.cos(math.radians(THETA)))
    t = math.radians(THETA)
    for ar in (20.0, -20.0):
        a = math.radians(ar)
        dem = plane(*shape, res, look, range_deg=ar)
        vol = interior(sc.slope_correct(s0, THETA, dem, res, look, "volume")["VV_gamma0_flatDB"])
        srf = interior(sc.slope_correct(s0, THETA, dem, res, look, "surface")["VV_gamma0_flatDB"])
        area = interior(sc.slope_correct(s0, THETA, dem, res, look, "area")["VV_gamma0_flatDB"])
        # volume: gamma0 tan(theta - alpha)/tan(theta); surface: gamma0 sin(theta - alpha)/sin(theta).
        assert np.allclose(vol, g0 + db(math.tan(t - a) / math.tan(t)), atol=1e-4)
        assert np.allclose(srf, g0 + db(math.sin(t - a) / math.sin(t)), atol=1e-4)
        assert np.allclose(area, vol, atol=1e-4)  # Small 2011 = volume model without layover
        if ar > 0:  # facing the sensor: darker after correction (-3.93 dB volume, -3.14 dB surface)
            assert vol.max() < g0 - 3.9 and srf.max() < g0 - 3.1
        else:  # facing away: brighter
            assert vol.min() > g0 + 1.8
    out = sc.slope_correct(s0, THETA, plane(*shape, res, look, range_deg=20.0), res, look)
    assert np.allclose(interior(out["localIncAngle"]), 17.0, atol=1e-6)


def test_layover_and_shadow_planes():
    shape, res, look = (30, 40), 10.0, 104.35
    s0 = np.full(shape, -10.0, np.float32)
    t = math.radians(THETA)
    # 45 deg facing the sensor > 37: layover. The angular models have no answer; the area model
    # normalises each (reversed) slant-range bin by its facet's projected area:
    # ratio = tan(theta)(1 + tan(theta) tan(alpha)) / |tan(theta) - tan(alpha)| = 5.363.
    dem = plane(*shape, res, look, range_deg=45.0)
    vol = sc.slope_correct(s0, THETA, dem, res, look, "volume")
    area = sc.slope_correct(s0, THETA, dem, res, look, "area")
    assert interior(vol["layover"]).all() and not interior(vol["shadow"]).any()
    assert np.isnan(vol["VV_gamma0_flatDB"]).all()
    ratio = math.tan(t) * (1 + math.tan(t)) / abs(math.tan(t) - 1)
    assert ratio == pytest.approx(5.362, abs=1e-3)
    assert np.allclose(interior(area["VV_gamma0_flatDB"]), interior(area["VV_gamma0"]) - db(ratio), atol=1e-4)
    # 60 deg facing away > 90 - 37 = 53: shadow, no illuminated area at all.
    dem = plane(*shape, res, look, range_deg=-60.0)
    for model in sc.MODELS:
        out = sc.slope_correct(s0, THETA, dem, res, look, model)
        assert interior(out["shadow"]).all() and not interior(out["layover"]).any()
        assert np.isnan(interior(out["VV_gamma0_flatDB"])).all()


def test_azimuth_slope_only():
    shape, res, look = (30, 40), 10.0, 284.35
    s0 = np.full(shape, -12.0, np.float32)
    dem = plane(*shape, res, look, az_deg=25.0)
    vol = sc.slope_correct(s0, THETA, dem, res, look, "volume")
    srf = sc.slope_correct(s0, THETA, dem, res, look, "surface")
    area = sc.slope_correct(s0, THETA, dem, res, look, "area")
    # No range slope: the volume and area models change nothing, the surface model multiplies by
    # cos(alpha_az) (-0.4265 dB); local incidence acos(cos 37 cos 25) = 43.63 deg.
    assert np.allclose(interior(vol["VV_gamma0_flatDB"]), interior(vol["VV_gamma0"]), atol=1e-4)
    assert np.allclose(interior(area["VV_gamma0_flatDB"]), interior(area["VV_gamma0"]), atol=1e-4)
    assert np.allclose(interior(srf["VV_gamma0_flatDB"]), interior(srf["VV_gamma0"]) + db(math.cos(math.radians(25))),
                       atol=1e-4)
    lia = math.degrees(math.acos(math.cos(math.radians(THETA)) * math.cos(math.radians(25))))
    assert lia == pytest.approx(43.63, abs=0.01)
    assert np.allclose(interior(vol["localIncAngle"]), lia, atol=1e-4)


def test_descending_pass_darkens_east_facing_slopes_in_utm():
    # S1B descending (heading -165.65) over the Oetztal in UTM 32N: the sensor is to the east,
    # so an east-facing slope faces it and must get darker, a west-facing one brighter.
    s = osr.SpatialReference()
    s.ImportFromEPSG(32632)
    look = terrain.look_azimuth(-165.6512, s.ExportToWkt(), 650000.0, 5190000.0)
    shape, res = (30, 40), 10.0
    e = (np.arange(40) + 0.5) * res
    east_facing = np.tile(2000.0 - e * math.tan(math.radians(20)), (30, 1))  # downhill to the east
    s0 = np.full(shape, -10.0, np.float32)
    out = sc.slope_correct(s0, 38.0, east_facing, res, look, "volume")
    d = interior(out["VV_gamma0_flatDB"] - out["VV_gamma0"])
    assert (d < -2.5).all()
    out = sc.slope_correct(s0, 38.0, east_facing[:, ::-1], res, look, "volume")
    assert (interior(out["VV_gamma0_flatDB"] - out["VV_gamma0"]) > 1.5).all()


def brute_area_ratio(h, step, theta_deg, sub=400):
    """Independent forward model on one range line (parallel rays): subdivide every facet into
    `sub` pieces, keep the illuminated part of each piece (above the running maximum of the ray
    coordinate q), and add its q-extent to the slant-range bin that holds its midpoint. Returns
    the projected-area ratio of each sample's bin (a flat facet of one step at its height)."""
    t = math.tan(math.radians(theta_deg))
    n = h.size
    gf = np.linspace(0, (n - 1) * step, (n - 1) * sub + 1)
    hf = np.interp(gf, np.arange(n) * step, h)
    r, q = gf * t - hf, gf + hf * t
    qmax = np.maximum.accumulate(q)
    w = np.maximum(q[1:] - qmax[:-1], 0.0)
    rm = 0.5 * (r[1:] + r[:-1])
    rp = np.arange(n) * step * t - h
    lo, hi = rp - 0.5 * step * t, rp + 0.5 * step * t
    order = np.argsort(rm)
    cw = np.r_[0.0, np.cumsum(w[order])]
    rs = rm[order]
    return (cw[np.searchsorted(rs, hi)] - cw[np.searchsorted(rs, lo)]) / step


def test_area_model_against_a_brute_force_forward_model_with_layover_and_shadow():
    step = 10.0
    x = np.arange(300) * step
    rng = np.random.default_rng(5)
    # Two ridges with layover (front 55 deg, 65 deg) and shadow, plus gentle texture.
    h = (np.clip(400 - np.abs(x - 1200) * np.where(x < 1200, 1.43, 2.1), 0, None)
         + np.clip(300 - np.abs(x - 2100) * np.where(x < 2100, 2.14, 0.9), 0, None)
         + ndimage.gaussian_filter1d(rng.normal(size=x.size), 3) * 8)
    dem = np.tile(h, (7, 1))
    ratio = sc.projected_area_ratio(dem, step, 90.0, THETA)[3]
    brute = brute_area_ratio(h, step, THETA)
    inner = slice(3, -3)
    diff = np.abs(ratio[inner] - brute[inner])
    assert (diff < 0.02 + 0.02 * brute[inner]).all()
    # Layover bins hold several facets: ratios well above the flat 1; shadow bins none.
    assert ratio.max() > 3 and (ratio[inner] < 0.05).sum() >= 5


def test_area_model_on_real_terrain(sample_dir):
    # Oetztal DEM on a 30 m UTM grid under the S1B descending geometry.
    s = osr.SpatialReference()
    s.ImportFromEPSG(32632)
    grid = Grid(s.ExportToWkt(), 640000.0, 5195000.0, 30.0, 150, 150)
    dem = terrain.resample_dem(sample_dir / "dem" / "srtm_oetztal.tif", grid, "cubic").astype(np.float64)
    look = terrain.look_azimuth(-165.6512, grid.srs_wkt, *terrain.grid_centre(grid))
    spacing = terrain.grid_spacing(grid)
    s0 = np.full(dem.shape, -9.0, np.float32)
    vol = sc.slope_correct(s0, 38.0, dem, spacing, look, "volume")
    area = sc.slope_correct(s0, 38.0, dem, spacing, look, "area")
    lay = vol["layover"] == 1
    assert lay.sum() > 300  # real layover in this window (371 pixels)
    # In layover the angular model is undefined, the area model keeps a value.
    assert np.isnan(vol["VV_gamma0_flatDB"][lay]).all()
    assert np.isfinite(area["VV_gamma0_flatDB"][lay]).mean() > 0.9
    # Smoothed to gentle slopes (Gaussian, 2 px), away from any fold and the window edge, the
    # area model and the volume model agree: the difference is discretisation (2-D central
    # differences vs facets along range lines), unbiased, and shrinks with smoothing.
    smooth = ndimage.gaussian_filter(dem, 2)
    vol = sc.slope_correct(s0, 38.0, smooth, spacing, look, "volume")
    area = sc.slope_correct(s0, 38.0, smooth, spacing, look, "area")
    ok = (vol["layover"] == 0) & (vol["shadow"] == 0)
    far = ok & ~ndimage.binary_dilation(~ok, iterations=4)
    far[:5] = far[-5:] = False
    far[:, :5] = far[:, -5:] = False
    d = (area["VV_gamma0_flatDB"] - vol["VV_gamma0_flatDB"])[far]
    assert np.isfinite(d).all() and d.size > 15000
    assert np.median(np.abs(d)) < 0.06 and np.percentile(np.abs(d), 90) < 0.3 and abs(d.mean()) < 0.02


def test_bad_input():
    s0 = np.zeros((10, 10), np.float32)
    dem = np.zeros((10, 10))
    with pytest.raises(GlasarError, match="model"):
        sc.slope_correct(s0, 37.0, dem, 10.0, 90.0, "lambert")
    with pytest.raises(GlasarError, match="shape"):
        sc.slope_correct(np.zeros((5, 5), np.float32), 37.0, dem, 10.0, 90.0)
    with pytest.raises(GlasarError, match="polarisation"):
        sc.slope_correct({"XX": s0}, 37.0, dem, 10.0, 90.0)
    with pytest.raises(GlasarError, match="radians"):
        sc.slope_correct(s0, 0.65, dem, 10.0, 90.0)
