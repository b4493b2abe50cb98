import numpy as np
import pytest

from glasar.algorithms import extraction

nan = np.nan


def test_open_close_and_holes():
    m = np.zeros((12, 12), bool)
    m[2:10, 2:10] = True
    m[5, 5] = False  # one-pixel hole: closed
    m[0, 11] = True  # isolated pixel: opened away
    out = extraction.open_close(m)
    assert out[5, 5] and not out[0, 11]
    assert out[2:10, 2:10].all() and out.sum() == 64
    ring = np.zeros((12, 12), bool)
    ring[1:11, 1:11] = True
    ring[4:8, 4:8] = False  # 16-pixel hole
    assert extraction.fill_small_holes(ring, 15).sum() == ring.sum()  # kept: an island
    assert extraction.fill_small_holes(ring, 16).sum() == 100


def test_select_lake_keeps_components_touching_the_interior():
    water = np.zeros((10, 10), bool)
    water[1:4, 1:4] = True  # lake part A
    water[4, 4] = True  # diagonal neighbour: same 8-connected component
    water[7:9, 7:9] = True  # another pond
    interior = np.zeros_like(water)
    interior[2, 2] = True
    lake = extraction.select_lake(water, interior)
    assert lake.sum() == 10 and not lake[7:9, 7:9].any()


def test_classify_water_otsu_and_kmeans_on_two_classes():
    rng = np.random.default_rng(0)
    img = np.where(np.arange(2000) < 500, rng.normal(-20, 1.5, 2000), rng.normal(-7, 1.5, 2000)).reshape(40, 50)
    valid = np.ones_like(img, bool)
    for method in ("otsu", "kmeans"):
        water, info = extraction.classify_water([img], valid, method)
        assert water.reshape(-1)[:500].mean() > 0.99 and water.reshape(-1)[500:].mean() < 0.01
        assert -16 < info["threshold_db"] < -10


def test_no_plausible_water_is_reported():
    rng = np.random.default_rng(0)
    bright = rng.normal(-3, 1.0, (30, 30))  # only bright land: Otsu splits near -3 dB
    with pytest.raises(extraction.NoWaterFound, match="outside the plausible"):
        extraction.classify_water([bright], np.ones_like(bright, bool), "otsu")


def _rough_lake_window(seed=0, noise_db=0.7):
    """120x120 window: a disc lake (radius 35 px) whose east third is wind-roughened (bright in
    VV, water-dark in VH), dark wet snow touching its west shore, land elsewhere. Levels (dB):
    land VV -8 / VH -15, calm water -22 / -25.5, rough water -13.5 / -25.5 (VH at the noise
    floor), wet snow -18 / -23; plus Gaussian dB noise (filtered speckle)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:120, :120]
    r = np.hypot(yy - 60, xx - 60)
    lake = r <= 35
    rough = lake & (xx > 72)
    snow = (r > 35) & (r <= 45) & (xx < 45)
    vv = np.full((120, 120), -8.0)
    vh = np.full((120, 120), -15.0)
    vv[lake], vh[lake] = -22.0, -25.5
    vv[rough] = -13.5
    vv[snow], vh[snow] = -18.0, -23.0
    vv += rng.normal(0, noise_db, vv.shape)
    vh += rng.normal(0, noise_db, vh.shape)
    interior = r <= 20
    return vv, vh, lake, rough, snow, interior


def test_wind_roughened_water_is_recovered_from_vh():
    vv, vh, lake, rough, snow, interior = _rough_lake_window()
    valid = np.ones_like(lake)
    t = -16.0  # a VV threshold between calm water and land: rough water (-13.5 dB) falls on the land side
    mapped = extraction.select_lake(extraction.open_close(vv < t), interior)
    mapped, _ = extraction.split_lake_region(mapped, vv, interior)
    # VV alone: the calm part only (wet snow split off as the region's brighter dark class)
    assert (mapped & rough).sum() < 0.05 * rough.sum() and (mapped & snow).sum() < 0.02 * snow.sum()
    iou_vv = (mapped & lake).sum() / (mapped | lake).sum()
    assert 0.60 < iou_vv < 0.75  # the rough third is missing
    out = extraction.add_wind_roughened_water(mapped, vv, t, vh, valid, interior)
    assert (out & rough).sum() > 0.97 * rough.sum()
    assert (out & snow).sum() < 0.02 * snow.sum()  # dark in VV: never added from VH
    assert (out & ~lake & ~snow).sum() < 0.01 * lake.sum()  # land bright in VH: not added
    assert (out & lake).sum() / (out | lake).sum() > 0.95
    assert not (mapped & ~out).any()  # only adds


def test_wind_roughened_water_rule_keeps_wet_snow_out_below_a_low_vv_threshold():
    """A method whose VV threshold lies below wet snow (-19.5 dB, as gmm on a simulated scene)
    calls wet snow 'not water in VV'; it is water-dark in VH too, but depolarises like land or
    more (VV - VH 5 dB vs land 7 dB and rough water 12 dB), so it stays out."""
    vv, vh, lake, rough, snow, interior = _rough_lake_window(seed=4)
    t = -19.5
    mapped = extraction.select_lake(extraction.open_close(vv < t), interior)
    assert (mapped & snow).sum() < 0.01 * snow.sum() and (mapped & rough).sum() == 0
    out = extraction.add_wind_roughened_water(mapped, vv, t, vh, np.ones_like(lake), interior)
    assert (out & rough).sum() > 0.97 * rough.sum()
    assert (out & snow).sum() < 0.02 * snow.sum()
    assert (out & lake).sum() / (out | lake).sum() > 0.95
    # nodata in VV (NaN) is never taken for bright VV
    vv_nan = vv.copy()
    vv_nan[rough] = np.nan
    out = extraction.add_wind_roughened_water(mapped, vv_nan, t, vh, np.isfinite(vv_nan), interior)
    assert not (out & rough).any()


def test_wind_roughened_water_rule_keeps_a_large_glacier_out():
    """A small lake beside a large glacier (VV -10 / VH -17.5 dB: VV - VH 7.5 dB, a little above
    land's 7): Otsu on VH splits land from glacier + water (threshold near -16 dB), yet the
    glacier is not added (VH mixing midpoint of lake and land about -18.3 dB, the lake's own
    split in VH); the rough part is."""
    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[:200, :200]
    lake = np.hypot(yy - 100, xx - 100) <= 14
    rough = lake & (xx > 104)
    glacier = (xx < 120) & ~lake
    vv = np.where(glacier, -10.0, -8.0)
    vh = np.where(glacier, -17.5, -15.0)
    vv[lake], vh[lake] = -22.0, -25.5
    vv[rough] = -13.5
    vv += rng.normal(0, 0.5, vv.shape)
    vh += rng.normal(0, 0.5, vh.shape)
    interior = np.hypot(yy - 100, xx - 100) <= 6
    _, info = extraction.classify_water([vh], np.ones_like(lake), "otsu")
    assert -17.5 < info["threshold_db"] < -15.0  # the split is land vs glacier, not water
    t = -16.0
    mapped = extraction.select_lake(extraction.open_close(vv < t), interior)
    out = extraction.add_wind_roughened_water(mapped, vv, t, vh, np.ones_like(lake), interior)
    assert (out & glacier).sum() < 10
    assert (out & rough).sum() > 0.9 * rough.sum()


def test_wind_roughened_water_rule_needs_vh_to_show_the_lake():
    vv, vh, lake, rough, snow, interior = _rough_lake_window(seed=1)
    mapped = extraction.select_lake(extraction.open_close(vv < -16.0), interior)
    valid = np.ones_like(lake)
    # VH without the lake (e.g. all noise): its Otsu split would be random blobs; nothing is added
    noise_vh = np.random.default_rng(2).normal(-20.0, 1.5, vh.shape)
    assert np.array_equal(extraction.add_wind_roughened_water(mapped, vv, -16.0, noise_vh, valid, interior), mapped)
    assert np.array_equal(extraction.add_wind_roughened_water(mapped, vv, -16.0, np.full_like(vh, -15.0), valid,
                                                              interior), mapped)
    # VH with the lake only 2.5 dB darker than land: its Otsu split is the lake, but the rough
    # part's VV - VH (-13.5 + 17.5 = 4 dB) stays below land's (7 dB): not taken for Bragg water
    weak_vh = np.random.default_rng(3).normal(-15.0, 0.3, vh.shape) - 2.5 * lake
    assert np.array_equal(extraction.add_wind_roughened_water(mapped, vv, -16.0, weak_vh, valid, interior), mapped)
