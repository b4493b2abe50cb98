"""Speckle filters (algorithms/speckle.py): hand-worked windows, speckle statistics, edges,
point targets, nodata, the fast forms against direct references, and real Sentinel-1 data."""
import numpy as np
import pytest
from osgeo import gdal
from scipy import ndimage, special

from glasar.algorithms import GlasarError
from glasar.algorithms import speckle as S
from glasar.algorithms import units as U

from rasters import write_geotiff

NAN = np.nan
ALL = [f for f in S.FILTERS if f != "none"]
GT = (440000.0, 20.0, 0, 3080000.0, 0, -20.0)

# A 5 x 5 example with one nodata pixel, filtered with 3 x 3 windows and L = 4 (C_u^2 = 1/4).
Z = np.array([
    [NAN, 2, 3, 4, 5],
    [2, 4, 6, 8, 10],
    [1, 1, 2, 1, 1],
    [3, 6, 9, 12, 15],
    [5, 4, 3, 2, 1],
], dtype=np.float32)
W22 = np.array([4, 6, 8, 1, 2, 1, 6, 9, 12], float)  # window of (2, 2), centre z = 2
W11 = np.array([2, 3, 2, 4, 6, 1, 1, 2], float)  # window of (1, 1) without the nodata corner, z = 4


def stats(values):
    return values.mean(), values.var()  # population statistics, as the filters


def speckled(mean, shape, looks=4.4, seed=0):
    """Fully developed L-look speckle: intensity = mean * Gamma(L, 1/L)."""
    rng = np.random.default_rng(seed)
    return (mean * rng.gamma(looks, 1.0 / looks, shape)).astype(np.float32)


def enl(a):
    a = a[np.isfinite(a)]
    return a.mean() ** 2 / a.var()


# --- hand-worked 5 x 5 values, one filter at a time ---------------------------------------------
def test_boxcar_hand_worked():
    out = S.boxcar(Z, 3)
    assert out[2, 2] == pytest.approx(49 / 9, rel=1e-6)
    assert out[1, 1] == pytest.approx(21 / 8, rel=1e-6)  # 8 valid pixels: the nodata one is skipped
    assert out[0, 1] == pytest.approx((2 + 3 + 2 + 4 + 6) / 5, rel=1e-6)  # edge: 5 valid of 9
    assert np.isnan(out[0, 0])


def test_lee_and_kuan_hand_worked():
    m, v = stats(W22)  # 5.4444, 12.9136
    ci2 = v / m**2  # 0.43565
    w_lee = 1 - 0.25 / ci2  # 0.42614
    w_kuan = (1 - 0.25 / ci2) / 1.25
    assert S.lee(Z, 3, 4)[2, 2] == pytest.approx(m + w_lee * (2 - m), rel=1e-5)
    assert S.lee(Z, 3, 4)[2, 2] == pytest.approx(3.97662, abs=1e-4)
    assert S.kuan(Z, 3, 4)[2, 2] == pytest.approx(m + w_kuan * (2 - m), rel=1e-5)
    m, v = stats(W11)
    w = 1 - 0.25 / (v / m**2)
    assert S.lee(Z, 3, 4)[1, 1] == pytest.approx(m + w * (4 - m), rel=1e-5)
    # a homogeneous window (C_i < C_u) gives its mean: (0, 2) sees 2 3 4 / 4 6 8, C_i^2 = 0.193
    assert S.lee(Z, 3, 4)[0, 2] == pytest.approx(27 / 6, rel=1e-6)
    assert S.kuan(Z, 3, 4)[0, 2] == pytest.approx(27 / 6, rel=1e-6)


def test_gamma_map_hand_worked_three_regimes():
    L = 4.0
    out = S.gamma_map(Z, 3, L)
    m, v = stats(W22)
    ci2 = v / m**2  # between C_u^2 = 0.25 and C_max^2 = 0.5: the MAP root
    alpha = (1 + 0.25) / (ci2 - 0.25)
    b = alpha - L - 1
    x = (b * m + np.sqrt(m * m * b * b + 4 * alpha * L * m * 2)) / (2 * alpha)
    assert out[2, 2] == pytest.approx(x, rel=1e-5)
    assert out[2, 2] == pytest.approx(3.3388, abs=1e-3)  # alpha = 6.733, b = 1.733
    assert out[0, 2] == pytest.approx(4.5, rel=1e-6)  # C_i^2 = 0.193 <= C_u^2: the mean
    # (4, 4) sees 12 15 / 2 1: C_i^2 = 37.25 / 56.25 = 0.662 >= 0.5: the pixel itself
    assert out[4, 4] == pytest.approx(1.0)


def test_frost_hand_worked():
    m, v = stats(W22)
    decay = 2.0 * v / m**2  # K C_i^2 with K = 2
    centre, edge, corner = 2.0, [6, 1, 1, 9], [4, 8, 6, 12]
    num = centre + np.exp(-decay) * sum(edge) + np.exp(-decay * np.sqrt(2)) * sum(corner)
    den = 1 + 4 * np.exp(-decay) + 4 * np.exp(-decay * np.sqrt(2))
    assert S.frost(Z, 3)[2, 2] == pytest.approx(num / den, rel=1e-5)
    # nodata corner: (1, 1) has 3 of its 4 diagonal neighbours
    m, v = stats(W11)
    decay = 2.0 * v / m**2
    num = 4 + np.exp(-decay) * (2 + 2 + 6 + 1) + np.exp(-decay * np.sqrt(2)) * (3 + 1 + 2)
    den = 1 + 4 * np.exp(-decay) + 3 * np.exp(-decay * np.sqrt(2))
    assert S.frost(Z, 3)[1, 1] == pytest.approx(num / den, rel=1e-5)


def test_median_hand_worked_and_mean_preserving_factor():
    q = special.gammaincinv(4.0, 0.5) / 4.0  # median/mean of 4-look gamma speckle = 0.9180
    assert S.gamma_median_ratio(4.0) == pytest.approx(0.91802, abs=1e-5)
    assert S.gamma_median_ratio(4.4) == pytest.approx(0.92535, abs=1e-5)
    out = S.median(Z, 3, 4.0)
    assert out[2, 2] == pytest.approx(6 / q, rel=1e-6)  # 1 1 2 4 [6] 6 8 9 12
    assert out[1, 1] == pytest.approx(2 / q, rel=1e-6)  # 1 1 2 [2 2] 3 4 6: even count, mean of the two
    assert out[4, 4] == pytest.approx(7 / q, rel=1e-6)  # corner 12 15 / 2 1: 1 [2 12] 15
    assert np.isnan(out[0, 0])


def test_lee_sigma_hand_worked():
    i1, i2, eta = S.lee_sigma_range(4.0, 0.9)
    out = S.lee_sigma(Z, 3, 4.0, z98=1e9)  # z98 out of reach: no point target
    # a-priori mean: 3 x 3 MMSE with s_v^2 = 1/4
    m, v = stats(W22)
    prior = m + np.clip((v - m * m * 0.25) / (1.25 * v), 0, 1) * (2 - m)  # 4.2702
    assert prior == pytest.approx(4.2702, abs=1e-3)
    kept = W22[(W22 >= i1 * prior) & (W22 <= i2 * prior)]  # range [1.611, 8.920]: AND, not OR
    assert sorted(kept) == [2, 4, 6, 6, 8]
    m, v = stats(kept)
    b = np.clip((v - m * m * eta**2) / ((1 + eta**2) * v), 0, 1)
    assert out[2, 2] == pytest.approx(m + b * (2 - m), rel=1e-5)
    assert out[2, 2] == pytest.approx(5.2, rel=1e-5)  # b = 0: the in-range mean


def test_lee_sigma_point_target_cluster_retained_with_the_98th_percentile():
    z = np.ones((5, 5), np.float32)
    z[1:3, 1:4] = [[90, 100, 110], [95, 105, 115]]  # 6 bright pixels
    out = S.lee_sigma(z, 3, 4.0, z98=50.0, target_count=5)
    # centres (1, 2) and (2, 2) see all 6 >= Z98: a point target, its bright pixels unfiltered
    np.testing.assert_array_equal(out[1:3, 1:4], z[1:3, 1:4])
    # T_K = 7 (the Earth Engine value) finds no target: the cluster is smoothed
    smoothed = S.lee_sigma(z, 3, 4.0, z98=50.0, target_count=7)
    assert not np.allclose(smoothed[1:3, 1:4], z[1:3, 1:4])
    # Z98 from the image itself: the cluster in speckle (6 of 900 pixels) is above it
    big = speckled(1.0, (30, 30), looks=4.0, seed=2)
    big[10:12, 10:13] = z[1:3, 1:4]
    assert np.percentile(big, 98) < 10
    np.testing.assert_array_equal(S.lee_sigma(big, 3, 4.0)[10:12, 10:13], z[1:3, 1:4])


def test_refined_lee_hand_worked_vertical_edge():
    z = np.array([
        [3, 3, 3, 9, 9],
        [3, 3, 3, 9, 9],
        [1, 1, 2, 9, 9],
        [3, 3, 3, 9, 9],
        [3, 3, 3, 9, 9],
    ], np.float32)
    # 3 x 3 sub-window means around (2, 2) (clipped to the image): W = 14/6, E = 9, N = S = 5,
    # NW = SW = 3, NE = SE = 9, centre = 42/9. Gradients |E-W| = 6.67 > |SE-NW| = |SW-NE| = 6 > 0:
    # vertical edge; the west sub-window is closer to the centre -> window dx <= 0 (cols 0..2).
    window = z[:, 0:3].astype(float).ravel()
    m, v = stats(window)  # 40/15, 0.48889
    sv2 = 1 / 100.0  # L = 100
    b = np.clip((v - m * m * sv2) / ((1 + sv2) * v), 0, 1)  # 0.84608
    out = S.refined_lee(z, looks=100.0)
    assert out[2, 2] == pytest.approx(m + b * (2 - m), rel=1e-5)
    assert out[2, 2] == pytest.approx(2.10261, abs=1e-4)


def test_refined_lee_hand_worked_diagonal_edge():
    r, c = np.mgrid[0:7, 0:7]
    z = np.where(r + c <= 6, 1.0, 10.0).astype(np.float32)
    # sub-window means: NW 1, SE 10, NE = SW = 4, N = W = 1, S = E = 9, centre 4:
    # |SE-NW| = 9 is the largest; NW is closer to the centre -> triangle dy + dx <= 0 (all ones)
    assert S.refined_lee(z)[3, 3] == pytest.approx(1.0)
    assert S.boxcar(z, 7)[3, 3] == pytest.approx((28 + 21 * 10) / 49)  # what a blind window does


def test_refined_lee_kernels():
    k = S.refined_lee_kernels()
    assert [int(x.sum()) for x in k] == [28] * 8
    dy, dx = np.mgrid[-3:4, -3:4]
    assert all(x[3, 3] for x in k)  # every window holds the centre
    np.testing.assert_array_equal(k[4], dy + dx >= 0)
    assert k[4][6, 0] and k[4][0, 6] and not k[4][2, 3]
    np.testing.assert_array_equal(k[0] | k[1], np.ones((7, 7), bool))


# --- fast forms against direct references ----------------------------------------------------------
@pytest.mark.parametrize("noise", ["looks", "local"])
def test_refined_lee_fast_equals_direct_correlations(noise):
    rng = np.random.default_rng(3)
    z = rng.integers(1, 200, (61, 47)).astype(np.float32)  # integers: every sum is exact
    z[5:9, 10:13] = np.nan
    z[30, 20] = np.nan
    z[45:, 35:] = np.nan
    fast = S.refined_lee(z, 4.4, noise)
    direct = S.refined_lee_direct(z, 4.4, noise)
    np.testing.assert_allclose(fast, direct, rtol=1e-6)
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(z))


def test_refined_lee_unmasked_direct_form_matches_in_the_interior():
    z = speckled(0.1, (40, 50), seed=4)
    fast, direct = S.refined_lee(z), S.refined_lee_direct(z, masked=False)
    np.testing.assert_allclose(fast[3:-3, 3:-3], direct[3:-3, 3:-3], rtol=2e-5)


@pytest.mark.parametrize("k", [3, 5, 7, 9, 11, 13])
@pytest.mark.parametrize("scattered", [0.0, 0.02, 0.2])
def test_median_network_is_the_exact_median(k, scattered):
    rng = np.random.default_rng(k)
    z = rng.gamma(4.4, 1 / 4.4, (37, 52)).astype(np.float32)
    z[4:8, 10:12] = np.nan
    z[20, 30] = np.nan
    z[rng.random(z.shape) < scattered] = np.nan  # windows with 1, 2, ... nodata pixels
    padded = np.pad(z, k // 2, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k)).reshape(z.shape + (-1,))
    expected = np.nanmedian(windows, axis=-1) / S.gamma_median_ratio(4.4)
    out = S.median(z, k, 4.4)
    ok = np.isfinite(z)
    np.testing.assert_allclose(out[ok], expected[ok], rtol=1e-6)


def test_median_plan_operation_counts():
    def ops(k, extra=0):
        ranks, terms, build, stages = S._median_plan(k, extra)
        network = sum(a[2] + a[3] for n in build for a in stages[n][1])
        return network + sum(2 * len(terms[R]) - 1 for R in ranks)

    assert [ops(k) for k in (3, 5, 7)] == [23, 91, 239]  # min/max per pixel, vs sorting 49 values
    assert ops(7) < ops(7, 2) < 1.5 * ops(7)  # ranks 23..25 (windows with 1-4 nodata) cost little more


@pytest.mark.parametrize("w", [3, 5, 9])
def test_local_statistics_filters_against_brute_force(w):
    z = speckled(1.0, (30, 41), seed=w)
    z[3:6, 7:9] = np.nan
    padded = np.pad(z, w // 2, constant_values=np.nan)
    win = np.lib.stride_tricks.sliding_window_view(padded, (w, w)).reshape(z.shape + (-1,)).astype(float)
    m, v = np.nanmean(win, -1), np.nanvar(win, -1)
    ci2, cu2 = v / m**2, 1 / 4.4
    ok = np.isfinite(z)
    np.testing.assert_allclose(S.boxcar(z, w)[ok], m[ok], rtol=1e-5)
    lee = m + np.clip(1 - cu2 / ci2, 0, 1) * (z - m)
    np.testing.assert_allclose(S.lee(z, w)[ok], lee[ok], rtol=1e-5)
    r = np.arange(w) - w // 2
    dist = np.sqrt(r[:, None] ** 2 + r[None, :] ** 2).ravel()
    weights = np.where(np.isfinite(win), np.exp(-2 * ci2[..., None] * dist), 0)
    frost = (weights * np.nan_to_num(win)).sum(-1) / weights.sum(-1)
    np.testing.assert_allclose(S.frost(z, w)[ok], frost[ok], rtol=1e-5)


# --- Lee sigma look-up table ---------------------------------------------------------------------
@pytest.mark.parametrize("xi, published", [
    (0.5, (0.694, 1.385, 0.1921)), (0.6, (0.630, 1.495, 0.2348)), (0.7, (0.560, 1.627, 0.2825)),
    (0.8, (0.480, 1.804, 0.3354)), (0.9, (0.378, 2.094, 0.3991)), (0.95, (0.302, 2.360, 0.4391)),
])
def test_lee_sigma_range_reproduces_the_published_table_for_4_looks(xi, published):
    i1, i2, eta = S.lee_sigma_range(4.0, xi)
    assert i1 == pytest.approx(published[0], abs=0.002)
    assert i2 == pytest.approx(published[1], abs=0.006)
    assert eta == pytest.approx(published[2], abs=0.0012)


def test_lee_sigma_range_definition_for_non_integer_looks():
    L = 4.4
    i1, i2, eta = S.lee_sigma_range(L, 0.9)
    assert special.gammainc(L, L * i2) - special.gammainc(L, L * i1) == pytest.approx(0.9, abs=1e-9)
    # conditional mean of the unit-mean speckle inside the range is 1 (unbiased)
    assert (special.gammainc(L + 1, L * i2) - special.gammainc(L + 1, L * i1)) / 0.9 == pytest.approx(1.0, abs=1e-9)
    assert S.lee_sigma_range(1.0, 0.9)[2] > eta > S.lee_sigma_range(10.0, 0.9)[2]


# --- speckle statistics: mean kept, ENL up --------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_homogeneous_area_mean_within_2_percent_and_enl_up_4x(name):
    true_mean = 0.05
    z = speckled(true_mean, (256, 256), seed=11)
    assert enl(z) == pytest.approx(4.4, rel=0.05)
    out = S.apply_speckle_filter(z, name, 7, 4.4)
    assert abs(out.mean() / true_mean - 1) < 0.02
    assert enl(out) >= 4 * enl(z)


def step_edge(seed=5):
    truth = np.full((200, 64), 0.01, np.float32)
    truth[:, 32:] *= 10  # +10 dB from column 32: the edge lies at x = 31.5
    return speckled(1.0, truth.shape, seed=seed) * truth


def edge_position(img):
    """Column where the row-median dB profile crosses the mid level (-15 dB)."""
    profile = np.median(10 * np.log10(img), axis=0)
    j = np.nonzero((profile[:-1] < -15) & (profile[1:] >= -15))[0][0]
    return j + (-15 - profile[j]) / (profile[j + 1] - profile[j])


@pytest.mark.parametrize("name", ["refined_lee", "lee_sigma"])
def test_step_edge_of_10_db_keeps_its_position(name):
    z = step_edge()
    out = S.apply_speckle_filter(z, name, 7, 4.4)
    assert abs(edge_position(out) - 31.5) <= 1.0
    # and it stays a step: 3 pixels from the edge both sides keep their levels within 1 dB
    assert 10 * np.log10(np.median(out[:, 28])) == pytest.approx(-20, abs=1.0)
    assert 10 * np.log10(np.median(out[:, 35])) == pytest.approx(-10, abs=1.0)


def test_step_edge_measure_catches_a_blind_window():
    assert abs(edge_position(S.boxcar(step_edge(), 7)) - 31.5) > 1.5  # the boxcar drags it 1.7 px


def test_single_bright_point_target_survives_lee_sigma():
    z = speckled(0.01, (41, 41), seed=6)
    z[20, 20] = 1.0  # +20 dB
    out = S.lee_sigma(z, 7, 4.4)
    assert out[20, 20] == pytest.approx(1.0, rel=0.01)
    assert np.median(out) == pytest.approx(0.01, rel=0.1)  # the background is still filtered
    assert S.boxcar(z, 7)[20, 20] < 0.05  # a blind window would spread it


# --- nodata ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_nodata_never_bleeds(name):
    z = np.full((30, 30), 0.2, np.float32)
    z[:, :10] = np.nan  # nodata strip
    z[15:18, 15:18] = 0.0  # non-positive power: nodata too
    out = S.apply_speckle_filter(z, name, 7, 4.4)
    invalid = ~(np.isfinite(z) & (z > 0))
    assert np.isnan(out[invalid]).all()
    expected = 0.2 / S.gamma_median_ratio(4.4) if name == "median" else 0.2
    np.testing.assert_allclose(out[~invalid], expected, rtol=1e-5)  # NaN counted as 0 would darken


def test_bad_inputs_raise_clear_errors():
    db = 10 * np.log10(speckled(0.05, (20, 20)))
    with pytest.raises(GlasarError, match="linear power"):
        S.lee(db, 7)
    with pytest.raises(GlasarError, match="odd"):
        S.boxcar(np.ones((5, 5)), 4)
    with pytest.raises(GlasarError, match="looks"):
        S.lee(np.ones((5, 5)), 3, looks=0)
    with pytest.raises(GlasarError, match="unknown speckle filter"):
        S.apply_speckle_filter(np.ones((5, 5)), "wiener")
    with pytest.raises(GlasarError, match="2-D"):
        S.boxcar(np.ones(5), 3)


def test_all_nodata_image_stays_nodata():
    z = np.full((9, 9), np.nan, np.float32)
    for name in ALL:
        assert np.isnan(S.apply_speckle_filter(z, name, 3, 4.4)).all()


def test_strips_give_the_same_result_as_one_block(monkeypatch):
    z = speckled(0.1, (53, 40), seed=8)
    z[10:14, 5:9] = np.nan
    whole = {n: S.apply_speckle_filter(z, n, 5, 4.4) for n in ALL}
    monkeypatch.setattr(S, "_STRIP_PIXELS", 100)  # 2 rows per strip
    for n in ALL:
        np.testing.assert_allclose(S.apply_speckle_filter(z, n, 5, 4.4), whole[n], rtol=1e-6, err_msg=n)


# --- raster files: units round trip, bands, blocks, real data --------------------------------------
@pytest.fixture
def real_vv(tsho_rolpa):
    ds = gdal.Open(tsho_rolpa["asc_2022"])
    return ds.GetRasterBand(1).ReadAsArray()


def test_filter_raster_units_round_trip(tmp_path, real_vv):
    power = np.where(real_vv > 0, real_vv, np.nan).astype(np.float32)
    expected = S.refined_lee(power)
    for units, data in (("power", power), ("db", U.to_db(power, "power")), ("amplitude", np.sqrt(power))):
        src = write_geotiff(tmp_path / f"vv_{units}.tif", np.nan_to_num(data, nan=-9999.0), GT, nodata=-9999.0)
        summary = S.filter_raster(src, tmp_path / f"out_{units}.tif", "refined_lee", 7, 4.4, units=units)
        out = gdal.Open(str(tmp_path / f"out_{units}.tif")).ReadAsArray()
        ok = np.isfinite(power)
        back = U.to_power(out, units)
        np.testing.assert_allclose(back[ok], expected[ok], rtol=2e-4, err_msg=units)  # filtered in power
        assert (out[~ok] == -9999.0).all()  # nodata stays nodata
        assert summary["units"] == units


def test_filter_raster_auto_units_and_bands(tmp_path):
    vv = speckled(0.05, (40, 30), seed=9)
    vh = speckled(0.01, (40, 30), seed=10)
    angle = np.linspace(30, 45, 30, dtype=np.float32)[None, :].repeat(40, 0)
    bands = [U.to_db(vv, "power"), U.to_db(vh, "power"), angle]
    src = write_geotiff(tmp_path / "ee.tif", bands, GT, descriptions=["VV", "VH", "angle"])
    summary = S.filter_raster(src, tmp_path / "f.tif", "lee", 5, 4.4)
    assert summary["units"] == "db" and summary["filtered"] == ["VV", "VH"] and summary["untouched"] == ["angle"]
    ds = gdal.Open(str(tmp_path / "f.tif"))
    assert [ds.GetRasterBand(i).GetDescription() for i in (1, 2, 3)] == ["VV", "VH", "angle"]
    np.testing.assert_array_equal(ds.GetRasterBand(3).ReadAsArray(), angle)
    np.testing.assert_allclose(U.to_power(ds.GetRasterBand(1).ReadAsArray(), "db"), S.lee(vv, 5), rtol=1e-4)
    assert ds.GetGeoTransform() == GT and ds.GetMetadataItem("SPECKLE_FILTER") == "lee"


def test_filter_raster_in_blocks_equals_whole_image(tmp_path, monkeypatch, real_vv):
    src = write_geotiff(tmp_path / "vv.tif", real_vv, GT, nodata=0.0)
    for name in ("refined_lee", "lee_sigma", "median"):
        S.filter_raster(src, tmp_path / "whole.tif", name, 7, 4.4)
        with monkeypatch.context() as m:
            m.setattr(S, "_BLOCK_PIXELS", 144 * 20)  # 64-row blocks (the minimum), 3 blocks
            S.filter_raster(src, tmp_path / "blocks.tif", name, 7, 4.4)
        a = gdal.Open(str(tmp_path / "whole.tif")).ReadAsArray()
        b = gdal.Open(str(tmp_path / "blocks.tif")).ReadAsArray()
        np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=name)


def test_filter_raster_rejects_bad_input(tmp_path):
    db = U.to_db(speckled(0.05, (20, 20)), "power")
    src = write_geotiff(tmp_path / "db.tif", db, GT)
    with pytest.raises(GlasarError, match="look like dB"):
        S.filter_raster(src, tmp_path / "x.tif", "lee", 5, 4.4, units="power")
    empty = write_geotiff(tmp_path / "empty.tif", np.zeros((20, 20)), GT, nodata=0.0)
    with pytest.raises(GlasarError, match="no valid pixels"):
        S.filter_raster(empty, tmp_path / "y.tif", "lee", 5, 4.4)
    only_angle = write_geotiff(tmp_path / "angle.tif", np.ones((5, 5)), GT, descriptions=["angle"])
    with pytest.raises(GlasarError, match="only angle"):
        S.filter_raster(only_angle, tmp_path / "z.tif", "lee", 5, 4.4)
    assert not list(tmp_path.glob(".glasar_speckle_*"))  # no temporary file left behind


def test_filter_raster_cancel_leaves_nothing(tmp_path, real_vv):
    src = write_geotiff(tmp_path / "vv.tif", real_vv, GT, nodata=0.0)
    assert S.filter_raster(src, tmp_path / "out.tif", "lee", 5, 4.4, canceled=lambda: True) is None
    assert not (tmp_path / "out.tif").exists() and not list(tmp_path.glob(".glasar_speckle_*"))


@pytest.mark.parametrize("name", ALL)
def test_real_sentinel1_rtc_nodata_kept_and_lake_smoothed(real_vv, name):
    """HyP3 RTC20 gamma0 over Tsho Rolpa: layover/shadow nodata (0) stays exactly nodata, and
    the open water of the lake (the largest dark region, eroded so that every 7 x 7 window
    lies on water) gets smoother while keeping its level."""
    power = np.where(real_vv > 0, real_vv, np.nan).astype(np.float32)
    assert np.isnan(power).sum() == 536
    water = ndimage.binary_opening(np.nan_to_num(U.to_db(power, "power"), nan=0) < -17, np.ones((3, 3)))
    labels, n = ndimage.label(water)
    lake = labels == 1 + np.argmax(ndimage.sum(water, labels, range(1, n + 1)))
    core = ndimage.binary_erosion(lake, np.ones((7, 7)))
    assert core.sum() > 400
    looks = 4.4
    if name == "median":  # its bias correction needs the data's own ENL (RTC20 is multi-looked)
        looks = enl(power[core])
    out = S.apply_speckle_filter(power, name, 7, looks)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(power))
    assert enl(out[core]) > 1.5 * enl(power[core])  # 35 before; 62 (refined Lee) to 107 after
    assert out[core].mean() == pytest.approx(power[core].mean(), rel=0.05)
