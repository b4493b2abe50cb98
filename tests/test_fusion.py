"""Ascending/descending fusion: normalisation, histogram matching, distortion-aware combination."""
import numpy as np
import pytest

from glasar.algorithms import GlasarError
from glasar.algorithms import fusion as F

nan = np.nan


def test_histogram_matching_maps_one_distribution_onto_another():
    rng = np.random.default_rng(0)
    src = rng.gamma(2.0, 3.0, (300, 300))  # skewed
    tgt = rng.normal(-15.0, 4.0, (250, 250))  # different size, shape and location
    src[:10] = np.nan  # nodata rows must stay nodata and not bias the CDF
    out = F.match_histogram(src, tgt)
    assert np.isnan(out[:10]).all() and np.isfinite(out[10:]).all()
    qs = np.linspace(0.01, 0.99, 99)
    iqr = np.subtract(*np.percentile(tgt, [75, 25]))
    err = np.abs(np.quantile(out[10:], qs) - np.quantile(tgt, qs))
    assert err.max() < 0.01 * iqr


def test_histogram_matching_keeps_ties_tied_and_order():
    src = np.array([1.0, 1.0, 1.0, 2.0, 3.0, nan])
    tgt = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    out = F.match_histogram(src, tgt)
    # Mid-rank CDF: the three tied 1.0 sit at rank 1 of 0..4 -> quantile 0.25 -> 20.
    np.testing.assert_allclose(out[:5], [20.0, 20.0, 20.0, 40.0, 50.0])
    assert np.isnan(out[5])
    x = np.random.default_rng(1).normal(size=1000)
    y = F.match_histogram(x, np.random.default_rng(2).normal(5, 2, 800))
    assert np.all(np.diff(y[np.argsort(x)]) >= 0)  # monotone: order preserved


def test_median_offset_and_zscore():
    a = np.array([-10.0, -12.0, -14.0, nan])
    d = np.array([-13.0, -15.0, -17.0, -1.0])
    assert F.median_offset(a, d) == pytest.approx(3.0)
    mask_a = np.array([0, 0, 1, 0], np.uint8)  # distorted pixel excluded: medians of 2 values
    assert F.median_offset(a, d, mask_a) == pytest.approx(-11.0 - -14.0)
    z = F.zscore(np.array([1.0, 2.0, 3.0, nan]))
    np.testing.assert_allclose(z[:3], [-1.2247449, 0.0, 1.2247449], rtol=1e-6)
    with pytest.raises(GlasarError, match="constant"):
        F.zscore(np.ones(5))


def test_distortion_aware_replacement_on_a_6x6_case():
    a = np.full((6, 6), -10.0)
    d = np.full((6, 6), -14.0)
    ma = np.zeros((6, 6), np.uint8)
    md = np.zeros((6, 6), np.uint8)
    ma[0, :] = F.ACTIVE_LAYOVER  # row 0: asc distorted -> desc
    md[1, :] = F.PASSIVE_SHADOW  # row 1: desc distorted -> asc
    ma[2, :] = F.ACTIVE_LAYOVER  # row 2: both distorted; shadow (3) worse than active layover (2) -> asc
    md[2, :] = F.ACTIVE_SHADOW
    ma[3, :] = F.PASSIVE_LAYOVER  # row 3: both passive layover (tie) -> mean, flagged
    md[3, :] = F.PASSIVE_LAYOVER
    a[4, :3] = nan  # row 4: asc nodata -> desc
    a[5, :] = nan  # row 5: asc nodata and desc distorted -> desc, flagged; last pixel both nodata
    md[5, :] = F.ACTIVE_LAYOVER
    d[5, 5] = nan
    fused, src = F.combine(a, d, ma, md, "mean")
    np.testing.assert_allclose(fused[0], -14.0)
    np.testing.assert_allclose(fused[1], -10.0)
    np.testing.assert_allclose(fused[2], -10.0)
    np.testing.assert_allclose(fused[3], -12.0)
    np.testing.assert_allclose(fused[4], [-14, -14, -14, -12, -12, -12])
    np.testing.assert_allclose(fused[5, :5], -14.0)
    assert np.isnan(fused[5, 5])
    assert src.tolist() == [[2] * 6, [1] * 6, [4] * 6, [4] * 6, [2, 2, 2, 3, 3, 3], [4, 4, 4, 4, 4, 0]]


def test_mean_max_min_on_known_values():
    a = np.array([-10.0, -20.0])
    d = np.array([-14.0, -12.0])
    for how, expect in (("mean", [-12.0, -16.0]), ("max", [-10.0, -12.0]), ("min", [-14.0, -20.0])):
        fused, src = F.combine(a, d, how=how)
        np.testing.assert_allclose(fused, expect)
        assert src.tolist() == [3, 3]


def test_brightening_rule_equals_agreement_fusion():
    a = np.array([[-20.0, -20.0, -5.0, nan, nan]])
    d = np.array([[-19.0, -10.0, -21.0, -8.0, nan]])
    fused, source = F.fuse_agreement(a, d, tolerance_db=3.0)
    np.testing.assert_allclose(fused[0, :4], [-19.5, -20.0, -21.0, -8.0])
    # 1: desc brightened -> asc only; 2: asc brightened -> desc only; 3: asc nodata -> desc
    assert source.tolist() == [[3, 1, 2, 2, 0]]


def test_fusion_never_invents_values():
    rng = np.random.default_rng(5)
    a = rng.normal(-12, 5, (50, 50)).astype(np.float32)
    d = rng.normal(-14, 5, (50, 50)).astype(np.float32)
    a[rng.random(a.shape) < 0.2] = nan
    ma = (rng.random(a.shape) < 0.3).astype(np.uint8) * F.ACTIVE_LAYOVER
    for how in ("min", "max"):
        fused, _ = F.combine(a, d, ma, None, how)
        ok = np.isfinite(fused)
        assert np.all((fused[ok] == a[ok]) | (fused[ok] == d[ok]))
    fused, _ = F.combine(a, d, ma, None, "mean")
    ok = np.isfinite(fused)
    lo = np.fmin(a, d)[ok]
    hi = np.fmax(a, d)[ok]
    assert np.all((fused[ok] >= lo - 1e-5) & (fused[ok] <= hi + 1e-5))


def test_lake_contrast():
    img = np.full((20, 20), -7.0)
    lake = np.zeros((20, 20), bool)
    lake[5:15, 5:15] = True
    img[lake] = -19.0
    ring = ~lake
    assert F.lake_contrast_db(img, lake, ring) == pytest.approx(12.0)
    assert np.isnan(F.lake_contrast_db(img, np.zeros_like(lake), ring))


@pytest.mark.parametrize("normalisation", ["zscore", "histogram_matching"])
def test_zscore_normalisations_kept_on_the_descending_db_scale(normalisation):
    """keep_db: an ascending pass that is a linear transform of the descending one (2 d + 5) maps back
    exactly onto it (z-scores agree, then z * std_d + mean_d); the fused mean is then d itself."""
    rng = np.random.default_rng(3)
    d = rng.normal(-14.0, 3.0, (40, 40)).astype(np.float32)
    a = 2 * d + 5
    fused, source, info = F.fuse(a, d, normalisation=normalisation, keep_db=True, brightening_tolerance_db=6.0)
    # histogram matching interpolates between the target's sorted values: exact up to float32 rounding
    np.testing.assert_allclose(fused, d, atol=2e-4)
    assert info["target_mean_db"] == pytest.approx(float(d.mean()), abs=1e-4)
    assert info["target_std_db"] == pytest.approx(float(d.std()), abs=1e-4)
    assert (source == F.SOURCE_BOTH).all()
    a[0, :5] = np.nan  # nodata in one pass: the other, untouched
    fused, source, _ = F.fuse(a, d, normalisation=normalisation, keep_db=True)
    np.testing.assert_array_equal(fused[0, :5], d[0, :5])
    assert (source[0, :5] == F.SOURCE_DESC).all()
    z, _, _ = F.fuse(a, d, normalisation=normalisation)  # without keep_db: z-scores
    assert abs(float(np.nanmean(z))) < 0.05 and float(np.nanstd(z)) == pytest.approx(1.0, abs=0.05)
