"""extraction.refine_shore: mixed shore pixels that are mostly water join the lake (linear
mixing of power), hand-worked and on a forward-modelled disc lake; extraction.split_lake_region:
a lake region holding a second, brighter dark class (wet snow) keeps the lake's class."""
import numpy as np

from glasar.algorithms import extraction

W_DB, L_DB = -22.0, -8.0
PW, PL = 10 ** (W_DB / 10), 10 ** (L_DB / 10)


def db(p):
    return 10 * np.log10(p)


def square_lake(shore_fraction):
    """Land at -8 dB, a 20 x 20 water square at -22 dB, and the column east of it mixed with
    the given water fraction (P = f Pw + (1 - f) Pl)."""
    img = np.full((40, 40), L_DB)
    img[10:30, 10:30] = W_DB
    img[10:30, 30] = db(shore_fraction * PW + (1 - shore_fraction) * PL)
    mapped = np.zeros(img.shape, bool)
    mapped[10:30, 10:30] = True
    return img, mapped


def test_majority_water_pixels_join_the_lake():
    # Midpoint (Pw + Pl) / 2 = 0.0824 (-10.84 dB): f = 0.6 gives -11.73 dB (water), f = 0.4
    # gives -10.11 dB (land), although a halfway dB threshold (-15 dB) calls both land.
    valid = np.ones((40, 40), bool)
    img, mapped = square_lake(0.6)
    out = extraction.refine_shore(mapped, img, valid)
    assert out[10:30, 30].all() and out.sum() == 400 + 20
    img, mapped = square_lake(0.4)
    assert (extraction.refine_shore(mapped, img, valid) == mapped).all()


def test_one_pixel_deep_and_only_at_the_lake():
    img, mapped = square_lake(0.9)
    img[10:30, 31] = W_DB  # water-dark pixels two columns out: not touching the lake, not added
    img[2:6, 2:6] = W_DB  # a dark pond elsewhere in the window
    out = extraction.refine_shore(mapped, img, np.ones(img.shape, bool))
    assert out[10:30, 30].all() and not out[:, 31].any() and not out[2:6, 2:6].any()
    # invalid pixels are never added
    valid = np.ones(img.shape, bool)
    valid[10:20, 30] = False
    out = extraction.refine_shore(mapped, img, valid)
    assert not out[10:20, 30].any() and out[20:30, 30].all()


def test_degenerate_windows_are_left_alone():
    img, mapped = square_lake(0.9)
    valid = np.ones(img.shape, bool)
    tiny = np.zeros_like(mapped)
    tiny[20, 20] = True  # no core after erosion
    assert (extraction.refine_shore(tiny, img, valid) == tiny).all()
    flat = np.full(img.shape, W_DB)  # land no brighter than water: no mixing model
    assert (extraction.refine_shore(mapped, flat, valid) == mapped).all()


def test_disc_lake_is_unbiased_after_refinement():
    # Forward model: a disc of radius 12.3 px drawn on a 10x finer grid and blurred by a box
    # point-spread function two pixels wide (Sentinel-1 IW GRD: ~20 m resolution on 10 m
    # pixels), sampled at pixel centres. Thresholding halfway in dB loses the mixed shore
    # pixels; after refinement the lake is the disc's pixel-centre digitisation (hand check:
    # by symmetry a pixel is mostly water exactly when its centre lies in the disc).
    from scipy import ndimage

    k, n, r = 10, 40, 12.3
    yy, xx = (np.mgrid[0:n * k, 0:n * k] + 0.5) / k
    fine = ndimage.uniform_filter(np.where(np.hypot(yy - 20.0, xx - 20.3) < r, PW, PL), 2 * k, mode="nearest")
    img = db(fine[k // 2::k, k // 2::k])
    cy, cx = np.mgrid[0:n, 0:n] + 0.5
    truth = np.hypot(cy - 20.0, cx - 20.3) < r
    valid = np.ones((n, n), bool)
    water, info = extraction.classify_water([img], valid, "otsu")
    assert -16 < info["threshold_db"] < -14
    lake = extraction.select_lake(extraction.open_close(water), np.pad(np.ones((2, 2), bool), 19))
    refined = extraction.refine_shore(lake, img, valid)

    def iou(m):
        return (m & truth).sum() / (m | truth).sum()

    assert lake.sum() < 0.92 * truth.sum() and iou(lake) < 0.92  # half a pixel ring short
    assert iou(refined) > 0.98 and abs(int(refined.sum()) - int(truth.sum())) <= 0.02 * truth.sum()


def snow_beside_lake(rng, snow_db=-16.0, noise_db=0.8):
    """Land -7 dB, a 20 x 24 lake at -21 dB (rows 10-30, cols 8-32) and wet snow at snow_db
    touching its east shore (rows 5-35, cols 32-50); Gaussian dB noise (a filtered image)."""
    img = np.full((40, 56), -7.0)
    img[5:35, 32:50] = snow_db
    img[10:30, 8:32] = -21.0
    img += rng.normal(0.0, noise_db, img.shape)
    lake = np.zeros(img.shape, bool)
    lake[10:30, 8:32] = True
    interior = np.zeros(img.shape, bool)
    interior[18:22, 14:20] = True
    return img, lake, interior


def test_wet_snow_touching_the_lake_is_split_off():
    img, lake, interior = snow_beside_lake(np.random.default_rng(1))
    valid = np.ones(img.shape, bool)
    water, info = extraction.classify_water([img], valid, "otsu")
    assert -14 < info["threshold_db"] < -9  # the window's split: water and snow vs land
    region = extraction.select_lake(extraction.open_close(water), interior)
    assert region[5:35, 32:50].mean() > 0.95  # the snow patch leaked into the lake region
    split, t = extraction.split_lake_region(region, img, interior)
    assert -20 < t < -17  # the valley between -21 and -16 dB
    iou = (split & lake).sum() / (split | lake).sum()
    assert iou > 0.97 and not split[:, 33:].any()


def test_one_class_regions_and_snow_lakes_are_left_alone():
    img, lake, interior = snow_beside_lake(np.random.default_rng(2))
    # water only (no snow): the region's histogram has one mode
    only_water = img.copy()
    only_water[5:35, 32:50] = -7.0 + np.random.default_rng(3).normal(0, 0.8, (30, 18))
    region = extraction.select_lake(only_water < -12, interior)
    out, t = extraction.split_lake_region(region, only_water, interior)
    assert t is None and (out == region).all()
    # the inventory lake is the snow patch (e.g. a drained lake beside a pond): its interior lies
    # in the brighter mode, nothing is split off
    snow_interior = np.zeros(img.shape, bool)
    snow_interior[18:22, 40:44] = True
    region = extraction.select_lake(img < -12, snow_interior)
    out, t = extraction.split_lake_region(region, img, snow_interior)
    assert t is None and (out == region).all()
    # too few pixels to judge a histogram
    small = np.zeros(img.shape, bool)
    small[19:21, 15:18] = True
    assert extraction.split_lake_region(small, img, interior)[1] is None
