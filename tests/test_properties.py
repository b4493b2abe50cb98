"""Property-based tests (hypothesis) of the pure functions: speckle filters, thresholds, fusion,
unit conversions and histogram matching, on random images with random nodata, including images
smaller than the filter window. Example counts are moderate so the module runs in seconds.

What each speckle filter guarantees (checked below on every generated image):
- all filters: a nodata pixel (NaN, inf, <= 0) stays nodata and a valid pixel gets a finite,
  positive value (nodata never spreads, a valid pixel's window holds at least itself);
- boxcar (window mean), lee (mean + W (z - mean), 0 <= W <= 1), kuan (the same with
  0 <= W <= 1/(1 + C_u^2)) and frost (positive weights): the value lies between the minimum and
  maximum of the valid pixels of the pixel's own W x W window;
- refined_lee: the MMSE of one directional sub-window of the 7 x 7 neighbourhood, so inside the
  7 x 7 window's range;
- lee_sigma: m + b (z - m), m the mean of the window's pixels inside the sigma range, 0 <= b <= 1
  (or the 3 x 3 a-priori MMSE mean, or z for point targets): inside the W x W window's range;
- median: median(window) / q(L), q(L) = median/mean of L-look gamma speckle (< 1), so
  value * q(L) lies inside the window's range (the bias correction may exceed the window maximum);
- gamma_map: only the all-filter guarantee. The MAP estimate is the positive root of
  a x^2 - (a - L - 1) m x - L m z = 0 (a = (1 + C_u^2)/(C_i^2 - C_u^2)), not a convex combination:
  for a pixel equal to its window mean (z = m) the root lies below m.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage, special

from glasar.algorithms import GlasarError, fusion, speckle, thresholds, units
from glasar.algorithms.extraction import NoWaterFound

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOOKS = 4.4
REL = 2e-5  # float32 arithmetic


@st.composite
def power_images(draw, max_side=14, min_side=1):
    """Linear power (float32) from -35..+5 dB with NaN, +inf and 0 nodata sprinkled in."""
    shape = (draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side)))
    db = draw(hnp.arrays(np.float32, shape, elements=st.floats(-35, 5, width=32)))
    kind = draw(hnp.arrays(np.uint8, shape, elements=st.sampled_from([0] * 12 + [1, 2, 3])))
    power = (10.0 ** (db / 10.0)).astype(np.float32)
    power[kind == 1] = np.nan
    power[kind == 2] = np.inf
    power[kind == 3] = 0.0
    return power


def window_range(values, size):
    """Min and max of the valid (finite, > 0) pixels of each size x size window (edges: inside only)."""
    valid = np.isfinite(values) & (values > 0)
    lo = ndimage.minimum_filter(np.where(valid, values, np.inf), size=size, mode="constant", cval=np.inf)
    hi = ndimage.maximum_filter(np.where(valid, values, -np.inf), size=size, mode="constant", cval=-np.inf)
    return lo, hi, valid


def check_nodata_kept(power, out):
    _, _, valid = window_range(power, 1)
    assert out.shape == power.shape
    assert np.array_equal(np.isnan(out), ~valid), "nodata moved or spread"
    assert np.all(np.isfinite(out[valid])) and np.all(out[valid] > 0)


CONVEX = {"boxcar": None, "lee": None, "kuan": None, "frost": None, "lee_sigma": None, "refined_lee": 7}


@pytest.mark.parametrize("name", sorted(CONVEX))
@pytest.mark.parametrize("window", [3, 5])
@SETTINGS
@given(power=power_images())
def test_convex_filters_keep_nodata_and_stay_inside_each_window(name, window, power):
    out = speckle.apply_speckle_filter(power, name, window, LOOKS)
    check_nodata_kept(power, out)
    lo, hi, valid = window_range(power, CONVEX[name] or window)
    v = out[valid]
    assert np.all(v >= lo[valid] * (1 - REL)) and np.all(v <= hi[valid] * (1 + REL)), name


@pytest.mark.parametrize("window", [3, 5])
@SETTINGS
@given(power=power_images())
def test_median_stays_inside_each_window_up_to_its_gamma_bias_correction(window, power):
    out = speckle.apply_speckle_filter(power, "median", window, LOOKS)
    check_nodata_kept(power, out)
    q = special.gammaincinv(LOOKS, 0.5) / LOOKS  # median of Gamma(L, 1/L): the speckle median/mean
    assert 0.9 < q < 1.0
    lo, hi, valid = window_range(power, window)
    v = out[valid] * q
    assert np.all(v >= lo[valid] * (1 - REL)) and np.all(v <= hi[valid] * (1 + REL))


@SETTINGS
@given(power=power_images())
def test_gamma_map_keeps_nodata(power):
    check_nodata_kept(power, speckle.apply_speckle_filter(power, "gamma_map", 5, LOOKS))


# -- thresholds --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", thresholds.THRESHOLD_METHODS)
@SETTINGS
@given(values=hnp.arrays(np.float64, st.integers(2, 400), elements=st.floats(-40, 10)),
       holes=st.integers(0, 5))
def test_thresholds_stay_inside_the_data_range(method, values, holes):
    """A threshold is a value of the data's range, or a clear 'no water' / constant-sample error."""
    sample = values.copy()
    sample[:holes] = np.nan  # nodata is ignored
    finite = sample[np.isfinite(sample)]
    try:
        t = thresholds.threshold(sample, method)
    except (NoWaterFound, GlasarError) as exc:
        assert str(exc)
        return
    assert np.isfinite(t)
    assert finite.min() <= t <= finite.max(), (t, finite.min(), finite.max())


# -- fusion ------------------------------------------------------------------------------------
@st.composite
def db_pairs(draw, max_side=10):
    shape = (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    elements = st.one_of(st.floats(-35, 5, width=32), st.just(np.nan))
    a = draw(hnp.arrays(np.float32, shape, elements=elements))
    d = draw(hnp.arrays(np.float32, shape, elements=elements))
    bits = st.sampled_from([0, 0, 0, fusion.PASSIVE_LAYOVER, fusion.ACTIVE_LAYOVER, fusion.ACTIVE_SHADOW])
    ma = draw(hnp.arrays(np.uint8, shape, elements=bits))
    md = draw(hnp.arrays(np.uint8, shape, elements=bits))
    return a, d, ma, md


@pytest.mark.parametrize("how", ["mean", "max", "min"])
@pytest.mark.parametrize("normalisation", ["none", "median_offset"])
@SETTINGS
@given(pair=db_pairs(), tolerance=st.one_of(st.none(), st.floats(0.5, 10)))
def test_fusion_never_invents_values(how, normalisation, pair, tolerance):
    """Each fused pixel is the (normalised) ascending value, the descending value, or their
    mean/max/min; NaN only where both passes are nodata; the source code says which."""
    a, d, ma, md = pair
    fused, source, info = fusion.fuse(a, d, ma, md, normalisation, how, tolerance)
    a_n = a - np.float32(info.get("median_offset_db", 0.0))
    combined = {"mean": 0.5 * (a_n + d), "max": np.maximum(a_n, d), "min": np.minimum(a_n, d)}[how]
    va, vd = np.isfinite(a), np.isfinite(d)
    assert np.array_equal(np.isnan(fused), ~va & ~vd)
    assert np.all(source[~va & ~vd] == fusion.SOURCE_NODATA)
    close = lambda x, y: np.isclose(x, y, rtol=0, atol=1e-5)  # noqa: E731
    from_a, from_d, from_both = close(fused, a_n), close(fused, d), close(fused, combined)
    ok = from_a | from_d | from_both | (~va & ~vd)
    assert ok.all(), (fused[~ok], a_n[~ok], d[~ok])
    assert np.all(from_a[source == fusion.SOURCE_ASC]) and np.all(from_d[source == fusion.SOURCE_DESC])
    assert np.all(from_both[source == fusion.SOURCE_BOTH])
    both = va & vd  # never outside the two passes' values
    lo, hi = np.minimum(a_n, d), np.maximum(a_n, d)
    assert np.all(fused[both] >= lo[both] - 1e-5) and np.all(fused[both] <= hi[both] + 1e-5)


# -- units -------------------------------------------------------------------------------------
@SETTINGS
@given(db=hnp.arrays(np.float32, st.integers(1, 200), elements=st.floats(-50, 30, width=32)))
def test_db_power_amplitude_round_trips(db):
    power = units.to_power(db, "db")
    assert np.all(power > 0)
    np.testing.assert_allclose(units.to_db(power, "power"), db, atol=2e-4)
    np.testing.assert_allclose(units.power_to_db(units.db_to_power(db)), db, atol=2e-4)
    amplitude = np.sqrt(power)
    np.testing.assert_allclose(units.to_power(amplitude, "amplitude"), power, rtol=1e-5)
    np.testing.assert_allclose(units.to_db(amplitude, "amplitude"), db, atol=2e-4)
    np.testing.assert_array_equal(units.to_db(db, "db"), db)


@SETTINGS
@given(values=hnp.arrays(np.float32, st.integers(1, 50),
                         elements=st.one_of(st.floats(-5, 0, width=32), st.just(np.nan), st.just(np.inf))))
def test_non_positive_or_non_finite_linear_values_are_nodata(values):
    for unit in ("power", "amplitude"):
        assert np.all(np.isnan(units.to_db(values, unit)))
        assert np.all(np.isnan(units.to_power(values, unit)))
    assert np.all(np.isnan(units.power_to_db(values)))
    not_finite = ~np.isfinite(values)  # dB: any finite value is valid, NaN/inf are nodata
    assert np.array_equal(np.isnan(units.to_power(values, "db")), not_finite)
    assert np.array_equal(np.isnan(units.to_db(values, "db")), not_finite)


# -- histogram matching --------------------------------------------------------------------------
@SETTINGS
@given(source=hnp.arrays(np.float64, st.integers(2, 300), elements=st.one_of(st.floats(-30, 5), st.just(np.nan))),
       target=hnp.arrays(np.float64, st.integers(2, 300), elements=st.floats(-30, 5)))
def test_histogram_matching_is_monotone_and_lands_in_the_target_range(source, target):
    if np.isfinite(source).sum() < 2:
        with pytest.raises(GlasarError):
            fusion.match_histogram(source, target)
        return
    out = fusion.match_histogram(source, target)
    valid = np.isfinite(source)
    assert np.array_equal(np.isnan(out), ~valid)
    s, o = source[valid], out[valid].astype(np.float64)
    order = np.argsort(s, kind="stable")
    assert np.all(np.diff(o[order]) >= -1e-6), "not monotone"
    for v in np.unique(s):  # ties map to one value
        assert np.ptp(o[s == v]) <= 1e-6
    assert target.min() - 1e-5 <= o.min() and o.max() <= target.max() + 1e-5
