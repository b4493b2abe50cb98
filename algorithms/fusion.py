"""Fusion of the ascending and descending passes on one grid (values in dB, NaN = nodata).

Each pass hides different parts of a steep valley; fusion makes the lake whole
(Wu et al. 2025, Int. J. Appl. Earth Obs. Geoinf. 136, 104329, section "dual-orbit fusion").

Steps
-----
1. Normalisation of the ascending pass onto the descending one (``normalise``):
   ``none``; ``median_offset`` (a' = a - (median(a) - median(d)) over pixels valid and
   undistorted in both, the published notebook's CalDitor); ``zscore`` (each pass
   (x - mean)/std over its valid undistorted pixels); ``histogram_matching`` (z-score, then the
   ascending CDF mapped onto the descending CDF: a' = F_d^-1(F_a(a)), the older notebook).
2. Distortion masks: the layover/shadow bitmask of each pass (1 active layover, 2 passive
   layover, 4 active shadow, 8 passive shadow; from a DEM) and, optionally, a data-derived bit
   ``BRIGHTENED`` (16) where a pass is more than ``tolerance`` dB brighter than the other:
   layover and foreshortening only add energy and RTC processors mask radar shadow as nodata,
   so the much brighter pass at a place is the distorted one (the GLaSAR rule when no DEM is
   given; on Tsho Rolpa it keeps the lake's north-east shore, which the ascending pass shows
   bright, as water).
3. Combination per pixel (``combine``):
   - both passes valid and clean: mean, max or min of the two (``COMBINE``);
   - one clean, the other distorted or nodata: the clean one;
   - no clean pass but both valid: the less distorted one by severity (shadow 3 > active
     layover 2 > passive layover 1 > brightened 1; shadow carries no ground signal at all,
     active layover mixes the pixel with a whole slope, passive layover with part of it); equal
     severity: the combination of both; the pixel is flagged (source 4);
   - only one pass valid (and distorted): that pass, flagged (source 4);
   - neither valid: nodata.

Source codes (UInt8): 0 nodata, 1 ascending only, 2 descending only, 3 both (combined),
4 no clean pass (both distorted, or the only valid pass distorted).
"""
import numpy as np

from . import GlasarError

NORMALISATIONS = ("none", "median_offset", "zscore", "histogram_matching")
COMBINATIONS = ("mean", "max", "min", "all")

ACTIVE_LAYOVER, PASSIVE_LAYOVER, ACTIVE_SHADOW, PASSIVE_SHADOW, BRIGHTENED = 1, 2, 4, 8, 16
SOURCE_NODATA, SOURCE_ASC, SOURCE_DESC, SOURCE_BOTH, SOURCE_DISTORTED = 0, 1, 2, 3, 4
# Kept for callers of the first release (same codes).
SOURCE_DISAGREE = SOURCE_DISTORTED


def severity(mask):
    """Distortion severity per pixel from a bitmask: 0 clean, 1 passive layover or brightened,
    2 active layover, 3 shadow (active or passive)."""
    m = np.asarray(mask, dtype=np.uint8)
    sev = np.zeros(m.shape, dtype=np.uint8)
    sev[(m & (PASSIVE_LAYOVER | BRIGHTENED)) > 0] = 1
    sev[(m & ACTIVE_LAYOVER) > 0] = 2
    sev[(m & (ACTIVE_SHADOW | PASSIVE_SHADOW)) > 0] = 3
    return sev


def brightening_masks(asc_db, desc_db, tolerance_db):
    """Data-derived distortion bits: BRIGHTENED where a pass exceeds the other by > tolerance dB."""
    a = np.asarray(asc_db, dtype=np.float32)
    d = np.asarray(desc_db, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        diff = a - d
        asc_bright = np.isfinite(diff) & (diff > tolerance_db)
        desc_bright = np.isfinite(diff) & (-diff > tolerance_db)
    return (asc_bright * BRIGHTENED).astype(np.uint8), (desc_bright * BRIGHTENED).astype(np.uint8)


def _clean_both(a, d, mask_a, mask_d):
    return np.isfinite(a) & np.isfinite(d) & (mask_a == 0) & (mask_d == 0)


def median_offset(asc_db, desc_db, mask_a=None, mask_d=None):
    """Median dB difference asc - desc over pixels valid and undistorted in both (0 if none)."""
    a, d = np.asarray(asc_db, np.float32), np.asarray(desc_db, np.float32)
    ma = np.zeros(a.shape, np.uint8) if mask_a is None else mask_a
    md = np.zeros(d.shape, np.uint8) if mask_d is None else mask_d
    both = _clean_both(a, d, ma, md)
    if not both.any():
        return 0.0
    return float(np.median(a[both]) - np.median(d[both]))


def zscore(image, mask=None):
    """(x - mean) / std over the valid undistorted pixels (population std)."""
    x = np.asarray(image, np.float32)
    use = np.isfinite(x) if mask is None else np.isfinite(x) & (mask == 0)
    if use.sum() < 2:
        use = np.isfinite(x)
    if use.sum() < 2:
        raise GlasarError("z-score needs at least two valid pixels")
    mean, std = float(x[use].mean()), float(x[use].std())
    if std == 0:
        raise GlasarError("z-score of a constant image is undefined")
    return ((x - mean) / std).astype(np.float32)


def match_histogram(source, target, source_use=None, target_use=None):
    """Map source values so their distribution matches target's: s' = F_t^-1(F_s(s)).

    F_s is the empirical CDF with mid-ranks, so tied source values map to one value (ties keep
    equal); F_t^-1 interpolates the sorted target linearly. NaN stays NaN; only pixels in
    source_use / target_use (default: finite) define the CDFs. Vectorised: two sorts and
    searchsorted, O(n log n).
    """
    s = np.asarray(source, np.float64)
    t = np.asarray(target, np.float64)
    su = np.isfinite(s) if source_use is None else source_use & np.isfinite(s)
    tu = np.isfinite(t) if target_use is None else target_use & np.isfinite(t)
    if su.sum() < 2 or tu.sum() < 2:
        raise GlasarError("histogram matching needs valid pixels in both passes")
    s_sorted = np.sort(s[su])
    t_sorted = np.sort(t[tu])
    out = np.full(s.shape, np.nan, dtype=np.float32)
    valid = np.isfinite(s)
    v = s[valid]
    lo = np.searchsorted(s_sorted, v, side="left")
    hi = np.searchsorted(s_sorted, v, side="right")
    n = s_sorted.size
    # Mid-rank CDF in [0, 1]: the position of v among the source sample, ties at their middle.
    quantile = np.clip((lo + hi - 1) / 2.0 / max(n - 1, 1), 0.0, 1.0)
    out[valid] = np.interp(quantile * (t_sorted.size - 1), np.arange(t_sorted.size), t_sorted)
    return out


def normalise(asc_db, desc_db, method, mask_a=None, mask_d=None):
    """Normalised (asc, desc) per NORMALISATIONS. Returns new arrays and a dict of figures."""
    a, d = np.asarray(asc_db, np.float32), np.asarray(desc_db, np.float32)
    if method == "none":
        return a, d, {}
    if method == "median_offset":
        off = median_offset(a, d, mask_a, mask_d)
        return (a - np.float32(off)).astype(np.float32), d, {"median_offset_db": off}
    if method in ("zscore", "histogram_matching"):
        za, zd = zscore(a, mask_a), zscore(d, mask_d)
        if method == "zscore":
            return za, zd, {}
        ua = np.isfinite(za) if mask_a is None else mask_a == 0
        ud = np.isfinite(zd) if mask_d is None else mask_d == 0
        return match_histogram(za, zd, ua, ud), zd, {}
    raise GlasarError(f"unknown normalisation {method!r}; choose one of {', '.join(NORMALISATIONS)}")


def _combine_pair(a, d, how):
    if how == "mean":
        return 0.5 * (a + d)
    if how == "max":
        return np.maximum(a, d)
    if how == "min":
        return np.minimum(a, d)
    raise GlasarError(f"unknown combination {how!r}; choose one of mean, max, min")


def combine(asc, desc, mask_a=None, mask_d=None, how="mean"):
    """Distortion-aware combination (module docstring). Returns (fused float32, source uint8)."""
    a, d = np.asarray(asc, np.float32), np.asarray(desc, np.float32)
    ma = np.zeros(a.shape, np.uint8) if mask_a is None else np.asarray(mask_a, np.uint8)
    md = np.zeros(d.shape, np.uint8) if mask_d is None else np.asarray(mask_d, np.uint8)
    va, vd = np.isfinite(a), np.isfinite(d)
    sa = np.where(va, severity(ma), 255)
    sd = np.where(vd, severity(md), 255)
    clean_a, clean_d = va & (sa == 0), vd & (sd == 0)

    fused = np.full(a.shape, np.nan, dtype=np.float32)
    source = np.zeros(a.shape, dtype=np.uint8)
    both = clean_a & clean_d
    with np.errstate(invalid="ignore"):
        fused[both] = _combine_pair(a[both], d[both], how)
    source[both] = SOURCE_BOTH
    only_a = clean_a & ~clean_d
    only_d = clean_d & ~clean_a
    fused[only_a], source[only_a] = a[only_a], SOURCE_ASC
    fused[only_d], source[only_d] = d[only_d], SOURCE_DESC

    none_clean = (va | vd) & ~clean_a & ~clean_d
    pick_a = none_clean & (sa < sd)
    pick_d = none_clean & (sd < sa)
    tie = none_clean & (sa == sd)
    fused[pick_a] = a[pick_a]
    fused[pick_d] = d[pick_d]
    with np.errstate(invalid="ignore"):
        fused[tie] = _combine_pair(a[tie], d[tie], how)
    source[none_clean] = SOURCE_DISTORTED
    return fused, source


def fuse(asc_db, desc_db, mask_a=None, mask_d=None, normalisation="median_offset", how="mean",
         brightening_tolerance_db=None, keep_db=False):
    """Normalise, add data-derived distortion bits (when a tolerance is given) and combine.

    ``keep_db``: the z-score normalisations are mapped back onto the descending pass's dB scale,
    x_db = z * std_d + mean_d (mean and std over its valid undistorted pixels, as in ``zscore``),
    so the fused image stays in dB (z-score then becomes mean/std matching of the ascending pass
    onto the descending one, histogram matching a match onto the descending dB histogram) and
    the brightening tolerance applies to every normalisation.

    Returns (fused, source, info) where info holds the normalisation figures and the final
    masks used ('mask_asc', 'mask_desc').
    """
    a, d = np.asarray(asc_db, np.float32), np.asarray(desc_db, np.float32)
    if a.shape != d.shape:
        raise GlasarError(f"passes on different grids: {a.shape} vs {d.shape}")
    ma = np.zeros(a.shape, np.uint8) if mask_a is None else np.asarray(mask_a, np.uint8).copy()
    md = np.zeros(d.shape, np.uint8) if mask_d is None else np.asarray(mask_d, np.uint8).copy()
    a_n, d_n, info = normalise(a, d, normalisation, ma, md)
    in_db = normalisation in ("none", "median_offset")
    if keep_db and not in_db:
        use = np.isfinite(d) & (md == 0)
        use = use if use.sum() >= 2 else np.isfinite(d)
        mean, std = float(d[use].mean()), float(d[use].std())
        a_n = (a_n * np.float32(std) + np.float32(mean)).astype(np.float32)
        d_n = d
        info.update(target_mean_db=mean, target_std_db=std)
        in_db = True
    if brightening_tolerance_db is not None and in_db:
        ba, bd = brightening_masks(a_n, d_n, brightening_tolerance_db)
        ma |= ba
        md |= bd
    fused, source = combine(a_n, d_n, ma, md, how)
    info.update(mask_asc=ma, mask_desc=md)
    return fused, source, info


def fuse_agreement(asc_db, desc_db, tolerance_db=3.0):
    """The no-DEM GLaSAR rule: mean where the passes agree within tolerance, the darker pass
    where they disagree, the valid pass where the other is nodata. (Equivalent to ``fuse`` with
    no normalisation, no DEM masks and the brightening bits.)"""
    fused, source, _ = fuse(asc_db, desc_db, normalisation="none", how="mean",
                            brightening_tolerance_db=tolerance_db)
    return fused, source


def lake_contrast_db(image_db, lake_mask, ring_mask):
    """Median dB of the surroundings minus median dB of the lake interior (NaN if either is
    empty). A pass that shows the lake gives ~10 dB on glacial lakes; ~0 means the lake is
    hidden (e.g. by layover from the valley wall)."""
    x = np.asarray(image_db)
    inner = x[lake_mask & np.isfinite(x)]
    ring = x[ring_mask & np.isfinite(x)]
    if inner.size < 5 or ring.size < 5:
        return float("nan")
    return float(np.median(ring) - np.median(inner))
