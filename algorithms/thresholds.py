"""Histogram thresholds for water (the dark class).

Every threshold t is returned as a value such that water = values < t (values equal to t go to
the bright class). Histogram methods work on bins: each `*_from_histogram(counts, centres)` core
returns k, the index of the dark class's last bin, and the value-level function returns the
upper edge of that bin, edges[k + 1] (so the resolution is one bin width).

Methods (the `METHOD` static strings of glasar:maplakes / glasar:extractlakes):

* ``otsu``        Otsu (1979), maximum between-class variance.
* ``isodata``     Ridler and Calvard (1978) / skimage `threshold_isodata`: t = (mu_low + mu_high)/2.
* ``minimum``     Prewitt and Mendelsohn (1966) / skimage `threshold_minimum` (the original's
                  `histPeak` and `my_threshold_minimum`): smooth until bimodal, take the valley.
* ``yen``         Yen, Chang and Chang (1995), maximum correlation criterion.
* ``kittler_illingworth``  Kittler and Illingworth (1986), minimum error for two Gaussians.
* ``bmax_otsu``   Cao et al. (2019), Otsu on the pooled histogram of bimodal tiles (2-D input).
* ``edge_otsu``   Donchyts et al. (2016) / Markert et al. (2020), Otsu in a buffer around the
                  water/land edge; here the inventory outline is the edge (2-D input + lake mask).

`threshold(values, method)` runs the five histogram methods on a 1-D sample;
`threshold_image(values_2d, valid, method, lake_mask=...)` runs all seven.

Errors: `GlasarError` for unusable input (too few pixels, a constant image, a missing lake
mask); `extraction.NoWaterFound` when the method runs but finds no two-class structure (a
histogram that never becomes bimodal, no bimodal tile, no valid pixel around the outline):
the pipeline reports that as the lake's status instead of mapping land.
"""
import numpy as np
from scipy import ndimage

from . import GlasarError

THRESHOLD_METHODS = ("otsu", "isodata", "minimum", "yen", "kittler_illingworth")
SPATIAL_THRESHOLD_METHODS = ("bmax_otsu", "edge_otsu")
ALL_THRESHOLD_METHODS = THRESHOLD_METHODS + SPATIAL_THRESHOLD_METHODS

# Tail share cut from each side of the histogram before isodata, minimum and
# Kittler-Illingworth: the original's HistBoundary(y=300) keeps int(total/300) out per side.
DEFAULT_TRIM = 1.0 / 300.0


def _no_water(message):
    # Imported here: extraction imports this module at load time.
    from .extraction import NoWaterFound

    return NoWaterFound(message)


def _finite(values):
    v = np.asarray(values, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def histogram(values, bins=256, value_range=None, trim=0.0):
    """Counts, bin centres and bin edges of the finite values.

    trim: share of the values cut from each tail before binning (the histogram then spans the
    [trim, 1 - trim] quantiles, as the original's HistBoundary with trim = 1/y). Raises
    GlasarError for fewer than two values or a constant sample.
    """
    v = _finite(values)
    if v.size < 2:
        raise GlasarError("too few valid pixels for a histogram")
    if value_range is None:
        if trim > 0:
            lo, hi = np.quantile(v, [trim, 1.0 - trim])
        else:
            lo, hi = float(v.min()), float(v.max())
        if not hi > lo:
            lo, hi = float(v.min()), float(v.max())
        width = (hi - lo) / bins
        if not hi > lo or width < np.finfo(np.float64).tiny or lo + width == lo:  # bins below float resolution
            raise GlasarError("constant image: a threshold needs two distinct values")
        value_range = (lo, hi)
    counts, edges = np.histogram(v, bins=bins, range=value_range)
    return counts.astype(np.float64), 0.5 * (edges[:-1] + edges[1:]), edges


def _check_counts(counts, centres):
    counts = np.asarray(counts, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    if counts.ndim != 1 or counts.shape != centres.shape or counts.size < 2:
        raise GlasarError("a histogram needs matching 1-D counts and centres with at least 2 bins")
    if counts.sum() <= 0:
        raise GlasarError("empty histogram")
    return counts, centres


# ----------------------------------------------------------------------------- Otsu
def otsu_from_histogram(counts, centres):
    """Otsu (1979), IEEE Trans. SMC 9(1):62-66: the split maximising the between-class variance
    sigma_B^2(k) = (mu_T w(k) - mu(k))^2 / (w(k) (1 - w(k))) = w (1 - w) (mu_1 - mu_2)^2,
    with w and mu the cumulative (normalised) weight and first moment up to bin k.
    Returns the index k of the dark class's last bin; splits that leave one class empty are
    excluded (the original's i = N term is not)."""
    counts, centres = _check_counts(counts, centres)
    between = _between_class_variance(counts[None, :], centres)[0]
    if not np.isfinite(between).any():
        raise GlasarError("constant image: Otsu needs two classes")
    return int(np.nanargmax(between))


def _between_class_variance(counts2d, centres):
    """sigma_B^2 for every split of every row of a (rows, bins) count matrix; NaN where a
    class is empty. Shifting by the mean centre keeps the cumulative moments well conditioned."""
    c = centres - centres.mean()
    total = counts2d.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = counts2d / total
        w = np.cumsum(p, axis=1)
        mu = np.cumsum(p * c, axis=1)
        mu_t = mu[:, -1:]
        denom = w * (1.0 - w)
        between = (mu_t * w - mu) ** 2 / denom
    # w within rounding of 0 or 1 means an empty class.
    between[~(denom > 1e-12)] = np.nan
    return between


def otsu(values, bins=256, trim=0.0):
    """Otsu threshold of a sample: the upper edge of the dark class's last bin."""
    counts, centres, edges = histogram(values, bins, trim=trim)
    return float(edges[otsu_from_histogram(counts, centres) + 1])


# ----------------------------------------------------------------------------- ISODATA
def isodata_from_histogram(counts, centres):
    """ISODATA / intermeans (Ridler and Calvard 1978, IEEE Trans. SMC 8(8):630-632), as
    skimage `threshold_isodata` and the original's `my_threshold_isodata`:
    with L_k = mean of bins <= k and H_k = mean of bins > k, the thresholds are the centres
    m_k with 0 <= (L_k + H_k)/2 - m_k < bin width (fixed points of t -> (L(t) + H(t))/2);
    the first (darkest) one is returned. If none exists, the last k with (L_k + H_k)/2 >= m_k
    (the original's fallback). Returns the bin index k."""
    counts, centres = _check_counts(counts, centres)
    csum_l = np.cumsum(counts)[:-1]
    csum_h = counts.sum() - csum_l
    intensity = np.cumsum(counts * centres)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = intensity[:-1] / csum_l
        higher = (intensity[-1] - intensity[:-1]) / csum_h
    both = (csum_l > 0) & (csum_h > 0)
    if not both.any():
        raise GlasarError("constant image: ISODATA needs two classes")
    width = centres[1] - centres[0]
    distance = (lower + higher) / 2.0 - centres[:-1]
    fixed = np.flatnonzero(both & (distance >= 0) & (distance < width))
    if fixed.size:
        return int(fixed[0])
    ahead = np.flatnonzero(both & (distance >= 0))
    if ahead.size:
        return int(ahead[-1])
    raise _no_water("ISODATA found no fixed point (t = (mean below + mean above) / 2)")


def isodata(values, bins=1000, trim=DEFAULT_TRIM):
    """ISODATA threshold on the tail-trimmed histogram (original: 1000 buckets, y = 300)."""
    counts, centres, edges = histogram(values, bins, trim=trim)
    return float(edges[isodata_from_histogram(counts, centres) + 1])


# ----------------------------------------------------------------------------- minimum
def local_maxima(h):
    """Indices of the local maxima of a 1-D array, as skimage's `find_local_maxima_idx`:
    scanning left to right with the direction starting 'up', a maximum is recorded where the
    direction turns from up to down; plateaus take the last index before the descent."""
    step = np.sign(np.diff(h))
    if step.size == 0:
        return np.zeros(0, dtype=np.int64)
    # Flat steps keep the previous direction (forward fill, starting 'up').
    idx = np.where(step != 0, np.arange(step.size), -1)
    np.maximum.accumulate(idx, out=idx)
    direction = np.where(idx >= 0, step[np.maximum(idx, 0)], 1.0)
    previous = np.concatenate(([1.0], direction[:-1]))
    return np.flatnonzero((step < 0) & (previous > 0))


def minimum_from_histogram(counts, centres, max_iterations=10000, min_dip=0.2):
    """Minimum method (Prewitt and Mendelsohn 1966, Ann. NY Acad. Sci. 128:1035-1053;
    skimage `threshold_minimum`, the original's `histPeak`): smooth the counts with a 3-tap
    moving average (reflect at the ends; at least once) until fewer than 3 local maxima
    remain; exactly 2 are
    required; the threshold is the lowest bin of the smoothed histogram between them.

    Bimodality check (GLaSAR's addition; skimage and the original accept any two maxima):
    the valley must lie at least min_dip below the lower peak, 1 - valley / lower peak >=
    min_dip. Smoothing a unimodal speckle histogram can stop at a main peak plus a flat
    shoulder (dip < 0.03 on Gaussian noise; 0.05 on the 2021 Tsho Rolpa ascending clip, whose
    lake is not dark), while real lake/land histograms dip by 0.6 or more (the other bundled
    Tsho Rolpa clips: 0.63-0.65). Raises NoWaterFound when the histogram is not bimodal.
    Returns k."""
    counts, centres = _check_counts(counts, centres)
    smooth = counts
    for _ in range(max(1, int(max_iterations))):
        # Smoothed at least once, as skimage (its loop smooths before counting peaks).
        smooth = ndimage.uniform_filter1d(smooth, 3, mode="reflect")
        maxima = local_maxima(smooth)
        if maxima.size < 3:
            break
    else:
        raise _no_water(f"histogram still has {maxima.size} peaks after {max_iterations} smoothings")
    if maxima.size != 2:
        raise _no_water("the histogram is not bimodal (one peak after smoothing)")
    a, b = int(maxima[0]), int(maxima[1])
    k = a + int(np.argmin(smooth[a:b + 1]))
    dip = 1.0 - smooth[k] / min(smooth[a], smooth[b])
    if dip < min_dip:
        raise _no_water(f"the histogram is not bimodal (the valley is {100 * (1 - dip):.0f} % of the lower peak)")
    return k


def minimum(values, bins=256, trim=DEFAULT_TRIM, max_iterations=10000, min_dip=0.2):
    """Minimum (valley between the two peaks) threshold on the tail-trimmed histogram."""
    counts, centres, edges = histogram(values, bins, trim=trim)
    return float(edges[minimum_from_histogram(counts, centres, max_iterations, min_dip) + 1])


# ----------------------------------------------------------------------------- Yen
def yen_from_histogram(counts, centres):
    """Yen, Chang and Chang (1995), IEEE Trans. Image Process. 4(3):370-378 (skimage
    `threshold_yen`, the original's `my_threshold_yen`): with p the normalised counts,
    P1(k) = sum_{i<=k} p_i, Q1(k) = sum_{i<=k} p_i^2 and Q2(k) = sum_{i>k} p_i^2, maximise the
    correlation criterion  ln[(P1 (1 - P1))^2 / (Q1 Q2)]. Returns k."""
    counts, centres = _check_counts(counts, centres)
    p = counts / counts.sum()
    p1 = np.cumsum(p)[:-1]
    q1 = np.cumsum(p * p)[:-1]
    q2 = np.cumsum((p * p)[::-1])[::-1][1:]
    ok = (q1 > 0) & (q2 > 0) & (p1 > 0) & (p1 < 1)
    if not ok.any():
        raise GlasarError("constant image: Yen needs two classes")
    crit = np.full(p1.shape, -np.inf)
    crit[ok] = 2.0 * np.log(p1[ok] * (1.0 - p1[ok])) - np.log(q1[ok] * q2[ok])
    return int(np.argmax(crit))


def yen(values, bins=256, trim=0.0):
    """Yen threshold of a sample."""
    counts, centres, edges = histogram(values, bins, trim=trim)
    return float(edges[yen_from_histogram(counts, centres) + 1])


# ----------------------------------------------------------------------------- Kittler-Illingworth
def kittler_illingworth_criterion(counts, centres):
    """J(k) of Kittler and Illingworth (1986), Pattern Recognit. 19(1):41-47, for every split
    (class 1 = bins <= k): J = 1 + 2 [P1 ln s1 + P2 ln s2] - 2 [P1 ln P1 + P2 ln P2], with
    P, mu, s^2 the class weights, means and variances. Variances are those of the
    piecewise-uniform density the histogram describes (centre variance + width^2 / 12), so a
    one-bin class has s > 0 (no ln 0; DSWx clamps tiny variances instead). NaN where a class is
    empty. The last entry (no class 2) is NaN."""
    counts, centres = _check_counts(counts, centres)
    width = centres[1] - centres[0]
    c = centres - np.sum(counts * centres) / counts.sum()
    p = counts / counts.sum()
    w1 = np.cumsum(p)
    m1 = np.cumsum(p * c)
    q1 = np.cumsum(p * c * c)
    w2 = 1.0 - w1
    m2 = m1[-1] - m1
    q2 = q1[-1] - q1
    j = np.full(counts.shape, np.nan)
    ok = (w1 > 1e-12) & (w2 > 1e-12)
    a, b = w1[ok], w2[ok]
    var1 = np.maximum(q1[ok] / a - (m1[ok] / a) ** 2, 0.0) + width * width / 12.0
    var2 = np.maximum(q2[ok] / b - (m2[ok] / b) ** 2, 0.0) + width * width / 12.0
    j[ok] = 1.0 + (a * np.log(var1) + b * np.log(var2)) - 2.0 * (a * np.log(a) + b * np.log(b))
    return j


def kittler_illingworth_from_histogram(counts, centres):
    """Minimum-error threshold: the split k minimising J(k) (see
    `kittler_illingworth_criterion`). For two well-separated Gaussian classes it lands on the
    Bayes boundary P1 N(t; mu1, s1) = P2 N(t; mu2, s2). Returns k."""
    j = kittler_illingworth_criterion(counts, centres)
    if not np.isfinite(j).any():
        raise GlasarError("constant image: Kittler-Illingworth needs two classes")
    return int(np.nanargmin(j))


def kittler_illingworth(values, bins=1000, trim=DEFAULT_TRIM):
    """Kittler-Illingworth threshold on the tail-trimmed histogram (DSWx: >= 1000 bins)."""
    counts, centres, edges = histogram(values, bins, trim=trim)
    return float(edges[kittler_illingworth_from_histogram(counts, centres) + 1])


_HISTOGRAM_FUNCTIONS = {
    "otsu": otsu,
    "isodata": isodata,
    "minimum": minimum,
    "yen": yen,
    "kittler_illingworth": kittler_illingworth,
}


def threshold(values, method="otsu", **kwargs):
    """Threshold t of a 1-D sample by a histogram method (water = values < t).
    kwargs go to the method (bins, trim, ...)."""
    try:
        fn = _HISTOGRAM_FUNCTIONS[method]
    except KeyError:
        if method in SPATIAL_THRESHOLD_METHODS:
            raise GlasarError(f"{method} needs the 2-D window: use threshold_image") from None
        raise GlasarError(f"unknown threshold method {method!r}; choose one of {', '.join(ALL_THRESHOLD_METHODS)}") from None
    return fn(values, **kwargs)


# ----------------------------------------------------------------------------- Bmax Otsu
def _check_image(values_2d, valid):
    v = np.asarray(values_2d, dtype=np.float64)
    if v.ndim != 2:
        raise GlasarError("a 2-D image is needed")
    ok = np.isfinite(v) if valid is None else (np.asarray(valid, dtype=bool) & np.isfinite(v))
    if ok.shape != v.shape:
        raise GlasarError("the valid mask and the image differ in shape")
    return v, ok


def tile_bmax(values_2d, valid, tile, bins=256, value_range=None, initial_threshold=None,
              min_valid_fraction=0.5):
    """Normalised between-class variance of each tile x tile block (Cao et al. 2019).

    B = sigma_B^2 / sigma_T^2 = P1 P2 (m1 - m2)^2 / sigma_T^2 (0 <= B <= 1), computed on the
    tile's histogram (common bins for all tiles). With initial_threshold=None B is the maximum
    over all splits (Otsu's separability eta*, the "Bmax" of Cao et al.); with a value t0 the
    split is fixed at t0 (hydrafloods). Tiles with less than min_valid_fraction valid pixels
    get B = NaN. Returns (B per tile (ny, nx), per-tile counts (ny*nx, bins), centres, edges).
    Vectorised: one bincount over (tile id, bin) pairs.
    """
    v, ok = _check_image(values_2d, valid)
    tile = int(tile)
    if tile < 2:
        raise GlasarError("Bmax Otsu tiles must be at least 2 px wide")
    h, w = v.shape
    ny, nx = -(-h // tile), -(-w // tile)
    if value_range is None:
        sample = v[ok]
        if sample.size < 2:
            raise GlasarError("too few valid pixels for a histogram")
        value_range = (float(sample.min()), float(sample.max()))
        if not value_range[1] > value_range[0]:
            raise GlasarError("constant image: a threshold needs two distinct values")
    edges = np.linspace(value_range[0], value_range[1], bins + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    rows, cols = np.nonzero(ok)
    vals = v[rows, cols]
    inside = (vals >= edges[0]) & (vals <= edges[-1])
    rows, cols, vals = rows[inside], cols[inside], vals[inside]
    b = np.clip(((vals - edges[0]) / (edges[-1] - edges[0]) * bins).astype(np.int64), 0, bins - 1)
    tid = (rows // tile) * nx + (cols // tile)
    counts = np.bincount(tid * bins + b, minlength=ny * nx * bins).reshape(ny * nx, bins).astype(np.float64)
    n = counts.sum(axis=1)
    # Pixels per tile (edge tiles are smaller).
    th = np.minimum(tile, h - np.arange(ny) * tile)
    tw = np.minimum(tile, w - np.arange(nx) * tile)
    area = (th[:, None] * tw[None, :]).ravel()
    c = centres - centres.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (counts * c).sum(axis=1) / n
        var_t = (counts * c * c).sum(axis=1) / n - mean ** 2
        between = _between_class_variance(counts, centres)
        if initial_threshold is None:
            sb = np.nanmax(np.where(np.isnan(between), -np.inf, between), axis=1)
        else:
            # Dark class = the bins whose upper edge is <= t0.
            k = int(np.clip(np.searchsorted(edges, initial_threshold, side="right") - 2, 0, bins - 2))
            sb = between[:, k]
        bmax = sb / var_t
    bad = (n < 2) | (n < min_valid_fraction * area) | ~(var_t > 0) | ~np.isfinite(bmax)
    bmax = np.where(bad, np.nan, np.clip(bmax, 0.0, 1.0))
    return bmax.reshape(ny, nx), counts, centres, edges


def bmax_otsu(values_2d, valid=None, tile=32, min_tile=16, b_threshold=0.75, max_tiles=100,
              bins=256, initial_threshold=None, min_valid_fraction=0.5, return_info=False):
    """Bmax Otsu (Cao, Zhang, Wang and Zhang 2019, Water 11(4):786; hydrafloods `bmax_otsu`).

    1. Chessboard the window into tile x tile blocks and compute each tile's normalised
       between-class variance B (`tile_bmax`; 1 = two perfectly separated classes, 2/pi for a
       single Gaussian split at its mean).
    2. Keep tiles with B > b_threshold, sorted by B descending (hydrafloods' ascending
       `limit` keeps the worst qualifying tiles, a quirk not copied), at most max_tiles.
    3. If none qualifies, halve the tile size (down to min_tile) and repeat: a lake smaller
       than a tile gives no tile with balanced classes. Tiles below 16 x 16 px are not
       trusted by default: on Gaussian noise (unimodal) the largest B among 8 x 8 tiles
       exceeds 0.75 by chance, among 16 x 16 tiles it stays near 0.7.
    4. Otsu on the pooled histogram of the kept tiles.

    Raises NoWaterFound when no tile at any size is bimodal. Returns t (water = values < t),
    or (t, info) with the tile size, number of tiles kept and their B range.
    """
    v, ok = _check_image(values_2d, valid)
    sample = v[ok]
    if sample.size < 10:
        raise GlasarError("too few valid pixels for Bmax Otsu")
    lo, hi = float(sample.min()), float(sample.max())
    if not hi > lo:
        raise GlasarError("constant image: a threshold needs two distinct values")
    size = int(tile)
    min_tile = max(2, int(min_tile))
    while True:
        bmax, counts, centres, edges = tile_bmax(v, ok, size, bins, (lo, hi), initial_threshold,
                                                 min_valid_fraction)
        flat = bmax.ravel()
        good = np.flatnonzero(np.nan_to_num(flat, nan=-1.0) > b_threshold)
        if good.size or size // 2 < min_tile:
            break
        size //= 2
    if good.size == 0:
        best = np.nanmax(flat) if np.isfinite(flat).any() else float("nan")
        raise _no_water(f"no bimodal tile: the best tile's normalised between-class variance is "
                        f"{best:.2f}, not above {b_threshold}")
    order = good[np.argsort(-flat[good], kind="stable")][: int(max_tiles)]
    pooled = counts[order].sum(axis=0)
    t = float(edges[otsu_from_histogram(pooled, centres) + 1])
    if return_info:
        return t, {"tile_px": size, "tiles": int(order.size), "b_max": float(flat[order[0]]),
                   "b_min_kept": float(flat[order[-1]])}
    return t


# ----------------------------------------------------------------------------- edge Otsu
def outline_buffer(lake_mask_2d, buffer_px):
    """Pixels within buffer_px (Euclidean, pixel units) of the lake outline, on both sides.
    The outline is the set of lake pixels with a 4-neighbour outside the lake plus the outside
    pixels with a 4-neighbour inside."""
    lake = np.asarray(lake_mask_2d, dtype=bool)
    inner = lake & ~ndimage.binary_erosion(lake, border_value=1)
    outer = ~lake & ndimage.binary_dilation(lake)
    edge = inner | outer
    if not edge.any():
        return np.zeros_like(lake)
    dist = ndimage.distance_transform_edt(~edge)
    return dist <= buffer_px


def default_edge_buffer(lake_mask_2d):
    """Half the lake's equivalent radius sqrt(A / pi), clipped to 2..30 px: the band around a
    round lake then holds about 3/8 water and 5/8 land, balanced enough for Otsu."""
    area = float(np.count_nonzero(lake_mask_2d))
    return float(np.clip(0.5 * np.sqrt(area / np.pi), 2.0, 30.0))


def edge_otsu(values_2d, valid, lake_mask_2d, buffer_px=None, bins=256, return_info=False):
    """Edge Otsu (Donchyts et al. 2016, Remote Sens. 8(5):386; Markert et al. 2020, Remote
    Sens. 12(15):2469; hydrafloods `edge_otsu`) with the inventory outline as the edge prior
    instead of Canny edges of an initial binarisation: the backscatter within buffer_px of the
    outline is roughly half water and half land, so its histogram is balanced for Otsu.

    buffer_px=None uses `default_edge_buffer` (half the lake's equivalent radius, 2..30 px).
    Raises GlasarError without a lake mask and NoWaterFound when the band around the outline
    has fewer than 10 valid pixels (hydrafloods falls back to a fixed -20 dB instead).
    Returns t, or (t, info) with the buffer width and pixel count.
    """
    v, ok = _check_image(values_2d, valid)
    if lake_mask_2d is None:
        raise GlasarError("edge_otsu needs the inventory lake mask")
    lake = np.asarray(lake_mask_2d, dtype=bool)
    if lake.shape != v.shape:
        raise GlasarError("the lake mask and the image differ in shape")
    if not lake.any():
        raise GlasarError("edge_otsu: the inventory lake mask is empty")
    if buffer_px is None:
        buffer_px = default_edge_buffer(lake)
    if buffer_px <= 0:
        raise GlasarError("edge_otsu buffer must be positive")
    band = outline_buffer(lake, buffer_px) & ok
    n = int(band.sum())
    if n < 10:
        raise _no_water(f"only {n} valid pixels within {buffer_px:g} px of the lake outline")
    t = otsu(v[band], bins=bins)
    if return_info:
        return t, {"buffer_px": float(buffer_px), "pixels": n}
    return t


# ----------------------------------------------------------------------------- dispatcher
def threshold_image(values_2d, valid, method="otsu", lake_mask=None, **kwargs):
    """Threshold t of a 2-D window by any of ALL_THRESHOLD_METHODS (water = values < t).
    Histogram methods use the valid pixels; bmax_otsu uses the tiles; edge_otsu needs
    lake_mask (the rasterised inventory polygon)."""
    v, ok = _check_image(values_2d, valid)
    if method == "bmax_otsu":
        return bmax_otsu(v, ok, **kwargs)
    if method == "edge_otsu":
        return edge_otsu(v, ok, lake_mask, **kwargs)
    return threshold(v[ok], method, **kwargs)
