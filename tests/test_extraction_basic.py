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
