"""Speckle filters on linear power, with nodata (NaN) that never bleeds.

Every filter takes and returns linear power (2-D float32, NaN = nodata); callers convert from
and back to their units (``units.to_power`` ... filter ... back; ``filter_raster`` does it for
files). Filtering dB values, as the original Earth Engine code did, biases the result (the mean
of dB is not the dB of the mean) and breaks the multiplicative speckle model all these filters
assume.

Conventions shared by all filters
---------------------------------
* Speckle model: intensity ``z = x * v`` with ``E[v] = 1`` and ``var(v) = C_u^2 = 1/L`` for an
  L-look (ENL) intensity image; ``L = 4.4`` for Sentinel-1 IW GRD.
* Nodata: a window that contains nodata (or reaches past the image edge) uses only its valid
  pixels: every window statistic is a masked sum ``sum(valid * z) / sum(valid)``. A nodata
  pixel stays nodata; non-positive power is nodata (its log is undefined).
* Local statistics are population statistics over the valid pixels of the window:
  ``mean = S1/N``, ``var = S2/N - mean^2`` with ``S1 = sum z``, ``S2 = sum z^2``, ``N`` = count.
* Speed: the image is processed in strips of rows that stay in the CPU cache; inside a strip
  every array is a flat 1-D run over positions ``p = row * width + col``, so a window offset
  (dy, dx) is the constant shift ``dy * width + dx`` and every operation is a contiguous
  vector add/min/max (no per-pixel Python loop, no strided views). Window sums are built by
  shifted adds (binary doubling), never by running sums, so there is no rounding drift.

Filters (``FILTERS``; formula and paper in each function's docstring): boxcar, median (Tukey
1977, mean-preserving for gamma speckle), lee (Lee 1980), kuan (Kuan et al. 1985), gamma_map
(Lopes et al. 1990), frost (Frost et al. 1982), refined_lee (Lee 1981), lee_sigma (improved
sigma filter, Lee et al. 2009).
"""
import functools
import os
import tempfile

import numpy as np
from scipy import ndimage, special
from scipy.optimize import brentq

from . import GlasarError

FILTERS = ("none", "boxcar", "median", "lee", "refined_lee", "lee_sigma", "gamma_map", "frost", "kuan")

DEFAULT_LOOKS = 4.4  # Sentinel-1 IW GRD (ESA product definition)
FROST_DAMPING = 2.0  # K of the Frost filter (SNAP default)
LEE_SIGMA_XI = 0.9  # sigma of the Lee sigma filter: share of the speckle distribution kept
LEE_SIGMA_TARGET_COUNT = 5  # T_K: pixels >= Z98 in a 3 x 3 window that make a point target
REFINED_LEE_NOISE = ("looks", "local")

_STRIP_PIXELS = 1 << 15  # pixels per strip: a strip's working set stays in the L2 cache
_F32 = np.float32


# ----------------------------------------------------------------------------------------------
# Validation, strips and flat positions
# ----------------------------------------------------------------------------------------------
def _check_window(window, minimum=3):
    try:
        w = int(window)
    except (TypeError, ValueError):
        raise GlasarError(f"window must be an odd integer >= {minimum}, got {window!r}") from None
    if w != window or w < minimum or w % 2 == 0:
        raise GlasarError(f"window must be an odd integer >= {minimum} (3, 5, 7, ...), got {window!r}")
    return w


def _check_looks(looks):
    try:
        L = float(looks)
    except (TypeError, ValueError):
        raise GlasarError(f"looks (ENL) must be a positive number, got {looks!r}") from None
    if not (np.isfinite(L) and L > 0):
        raise GlasarError(f"looks (ENL) must be a positive number, got {looks!r}")
    return L


def _as_power(power):
    """float32 copy with NaN for nodata (non-finite or <= 0). Rejects dB-looking input."""
    a = np.asarray(power)
    if a.ndim != 2:
        raise GlasarError(f"speckle filters need a 2-D image, got shape {a.shape}")
    a = a.astype(_F32, copy=True)
    with np.errstate(invalid="ignore"):
        negative = int(np.count_nonzero(a < 0))
        if negative:
            n_finite = int(np.count_nonzero(np.isfinite(a)))
            if negative > 0.005 * n_finite:
                raise GlasarError(
                    f"{100.0 * negative / n_finite:.1f}% of the values are negative: speckle filters need linear "
                    "power (convert dB with units.to_power first)"
                )
        invalid = ~(a > 0)  # NaN, 0, negative (and -inf); +inf below
        invalid |= np.isinf(a)
        a[invalid] = np.nan
    return a


class _Flat:
    """Values of a strip at flat positions p = row * width + col: a[i] is position start + i."""

    __slots__ = ("a", "start")

    def __init__(self, a, start):
        self.a = a
        self.start = start

    def at(self, lo, hi, off=0):
        """Values at positions lo + off ... hi - 1 + off (a view)."""
        i = lo + off - self.start
        if i < 0 or i + hi - lo > self.a.size:
            raise IndexError("flat window outside the strip (internal error)")
        return self.a[i:i + hi - lo]


class _Work:
    """Named scratch arrays reused by every strip of one filter call. Writing into warm
    buffers instead of fresh allocations keeps the working set in cache: the vector ops of the
    hot loops run 2-3x faster than with a new array per operation."""

    def __init__(self):
        self._bufs = {}

    def get(self, name, size, dtype=_F32):
        buf = self._bufs.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._bufs[name] = np.empty(size, dtype)
        return buf[:size]


def _shift_sum(src, offsets, lo, hi):
    """_Flat over [lo, hi) holding the sum of src at the given position offsets."""
    out = src.at(lo, hi, offsets[0]).copy()
    for off in offsets[1:]:
        out += src.at(lo, hi, off)
    return _Flat(out, lo)


def _run(src, n, step, lo, hi):
    """_Flat over [lo, hi) of sums of n samples spaced ``step`` and centred on each position
    (n odd): binary doubling, log2(n) + popcount(n) adds, pairwise (no running-sum drift)."""
    r = n // 2
    result, offset, block, width = None, 0, src, 1  # block(p) = sum of `width` samples from p
    while True:
        if n & width:
            part = block.at(lo, hi, (offset - r) * step)
            result = part.copy() if result is None else np.add(result, part, out=result)
            offset += width
        if width * 2 > n:
            return _Flat(result, lo)
        size = block.a.size - width * step
        block = _Flat(block.a[:size] + block.a[width * step:width * step + size], block.start)
        width *= 2


def _box(src, n, width, lo, hi):
    """n x n window sums at positions [lo, hi) (src must cover the window reach)."""
    r = n // 2
    rows = _run(src, n, 1, lo - r * width, hi + r * width)
    return _run(rows, n, width, lo, hi)


def _pad(a, halo):
    return np.pad(a, halo, mode="constant", constant_values=np.nan)


def _in_strips(core, image, halo, *args):
    """Run ``core(block, halo, *args)`` on strips of the NaN-padded image; core returns the
    values at the block's output positions [halo*W + halo, (halo+rows)*W - halo) (the strip's
    rows at every column, halo columns being don't-care). The result equals one call on the
    whole image; strips keep the working set in cache."""
    rows, cols = image.shape
    padded = _pad(image, halo)
    width = cols + 2 * halo
    out = np.empty((rows, cols), _F32)
    step = max(2, _STRIP_PIXELS // width)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            values = np.ascontiguousarray(core(padded[r0:r1 + 2 * halo], halo, *args), dtype=_F32)
            # values[i] is position halo*W + halo + i: output (r, x) is values[r * W + x]
            out[r0:r1] = np.lib.stride_tricks.as_strided(values, (r1 - r0, cols), (width * 4, 4), writeable=False)
    return out


def _strip(block, halo):
    """(flat values, valid, width, lo, hi) of a padded block; [lo, hi) are its output positions."""
    rows, width = block.shape[0] - 2 * halo, block.shape[1]
    flat = block.reshape(-1)
    return _Flat(flat, 0), np.isfinite(flat), width, halo * width + halo, (halo + rows) * width - halo


def _masked(flat, valid):
    """(count, sum, sum of squares) parts: valid as float32, valid*z, (valid*z)^2."""
    q1 = np.where(valid, flat.a, _F32(0))
    return _Flat(valid.astype(_F32), 0), _Flat(q1, 0), _Flat(q1 * q1, 0)


def _mean_var(n, s1, s2):
    """Masked mean and population variance (>= 0); NaN where n == 0."""
    mean = s1 / n
    var = s2 / n
    var -= mean * mean
    np.maximum(var, 0, out=var)
    return mean, var


def _window_stats(block, halo, w):
    flat, valid, width, lo, hi = _strip(block, halo)
    q0, q1, q2 = _masked(flat, valid)
    mean, var = _mean_var(*(_box(q, w, width, lo, hi).a for q in (q0, q1, q2)))
    return flat.at(lo, hi), mean, var


def _clip01(a):
    """In-place clip to [0, 1] (np.clip's wrapper costs more than the clipping)."""
    np.maximum(a, 0, out=a)
    np.minimum(a, 1, out=a)
    return a


def _finish(out, z):
    out[np.isnan(z)] = np.nan
    return out


# ----------------------------------------------------------------------------------------------
# Boxcar and the local-statistics filters (Lee, Kuan, Gamma MAP, Frost)
# ----------------------------------------------------------------------------------------------
def masked_window_mean(image, size):
    """Mean over a size x size window of the valid (finite) pixels; NaN where none is valid.

    Unlike the filters it is defined at nodata centres too (a gap-filling mean)."""
    size = _check_window(size, minimum=1)
    return _in_strips(_mean_core, np.asarray(image, dtype=_F32), size // 2, size)


def _mean_core(block, halo, size):
    flat, valid, width, lo, hi = _strip(block, halo)
    q0, q1, _ = _masked(flat, valid)
    return _box(q1, size, width, lo, hi).a / _box(q0, size, width, lo, hi).a


def boxcar(power, window=7):
    """Boxcar (moving average) of linear power over the valid pixels of a window x window box:
    ``x = sum(valid * z) / sum(valid)``; nodata stays nodata. Multi-looking in the image domain:
    in a homogeneous area the ENL rises by up to window^2."""
    z = _as_power(power)
    w = _check_window(window)
    return _finish(masked_window_mean(z, w), z)


def _weighted_core(block, halo, w, cu2, kind):
    z, mean, var = _window_stats(block, halo, w)
    ci2 = var / (mean * mean)
    weight = 1 - cu2 / ci2  # ci2 = 0 (constant window) -> -inf -> 0: the mean
    if kind == "kuan":
        weight /= 1 + cu2
    _clip01(weight)
    return mean + weight * (z - mean)


def lee(power, window=7, looks=DEFAULT_LOOKS):
    """Lee (1980) local-statistics filter, in the form of Lopes et al. (1990):

    ``x = mean + W (z - mean)``, ``W = 1 - C_u^2 / C_i^2`` clamped to [0, 1],
    ``C_i = std/mean`` of the window, ``C_u^2 = 1/L``.

    Homogeneous windows (C_i <= C_u) return the mean; strong texture or edges keep z.
    Lee, J.-S. (1980) IEEE TPAMI 2(2):165-168; Lopes, Touzi, Nezry (1990) IEEE TGRS 28(6):992-1000.
    """
    z = _as_power(power)
    w, L = _check_window(window), _check_looks(looks)
    return _finish(_in_strips(_weighted_core, z, w // 2, w, _F32(1 / L), "lee"), z)


def kuan(power, window=7, looks=DEFAULT_LOOKS):
    """Kuan et al. (1985) adaptive noise-smoothing (LMMSE) filter for multiplicative speckle:

    ``x = mean + W (z - mean)``, ``W = (1 - C_u^2 / C_i^2) / (1 + C_u^2)`` clamped to [0, 1],

    i.e. ``W = var_x / var_z`` with ``var_x = (var_z - mean^2 C_u^2) / (1 + C_u^2)``; it never
    keeps z entirely (W <= 1/(1 + C_u^2)). Kuan, Sawchuk, Strand, Chavel (1985) IEEE TPAMI
    7(2):165-177; Lopes, Touzi, Nezry (1990) IEEE TGRS 28(6):992-1000.
    """
    z = _as_power(power)
    w, L = _check_window(window), _check_looks(looks)
    return _finish(_in_strips(_weighted_core, z, w // 2, w, _F32(1 / L), "kuan"), z)


def _gamma_map_core(block, halo, w, L):
    z, mean, var = _window_stats(block, halo, w)
    cu2 = _F32(1.0 / L)
    ci2 = var / (mean * mean)
    alpha = (1 + cu2) / (ci2 - cu2)
    b = alpha - _F32(L + 1)
    d = mean * mean * b * b + _F32(4 * L) * alpha * mean * z
    x = (b * mean + np.sqrt(d)) / (2 * alpha)
    x = np.where(ci2 >= 2 * cu2, z, x)
    return np.where(ci2 <= cu2, mean, x)


def gamma_map(power, window=7, looks=DEFAULT_LOOKS):
    """Gamma-MAP filter (Lopes, Touzi, Nezry 1990): maximum a-posteriori estimate for a
    Gamma-distributed scene under L-look Gamma speckle. With ``C_u^2 = 1/L``,
    ``C_max = sqrt(2) C_u`` and the window's mean and CV ``C_i``:

    * ``C_i <= C_u`` (homogeneous): ``x = mean``;
    * ``C_i >= C_max`` (point target / strong texture): ``x = z``;
    * otherwise ``alpha = (1 + C_u^2) / (C_i^2 - C_u^2)``, ``b = alpha - L - 1``,
      ``x = (b mean + sqrt(mean^2 b^2 + 4 alpha L mean z)) / (2 alpha)``

    (the published discriminant; the Earth Engine port had an extra mean factor in it).
    Lopes, Touzi, Nezry (1990) IEEE TGRS 28(6):992-1000; thresholds as SNAP's GammaMap.
    """
    z = _as_power(power)
    w, L = _check_window(window), _check_looks(looks)
    return _finish(_in_strips(_gamma_map_core, z, w // 2, w, L), z)


@functools.lru_cache(maxsize=None)
def _frost_rings(r):
    """Offsets (|dx|, |dy|) of a (2r+1)^2 window grouped by distance: ((d, ((a, b), ...)), ...)."""
    groups = {}
    for a in range(r + 1):
        for b in range(r + 1):
            groups.setdefault(a * a + b * b, []).append((a, b))
    return tuple((float(np.sqrt(d2)), tuple(pairs)) for d2, pairs in sorted(groups.items()))


def _ring_sums(q, r, width, lo, hi):
    """Sums of q over each distance ring of the window (see _frost_rings): symmetric pairs of
    rows (+-b) then of columns (+-a), about r^2 + 3r adds per pixel."""
    vert = [_Flat(q.at(lo - r, hi + r).copy(), lo - r)]
    vert += [_shift_sum(q, (-b * width, b * width), lo - r, hi + r) for b in range(1, r + 1)]
    sums = []
    for _, pairs in _frost_rings(r):
        total = None
        for a, b in pairs:
            part = vert[b].at(lo, hi) if a == 0 else vert[b].at(lo, hi, -a) + vert[b].at(lo, hi, a)
            total = part.copy() if total is None else np.add(total, part, out=total)
        sums.append(total)
    return sums


def _frost_core(block, halo, w, damping):
    r = w // 2
    flat, valid, width, lo, hi = _strip(block, halo)
    q0, q1, q2 = _masked(flat, valid)
    mean, var = _mean_var(*(_box(q, w, width, lo, hi).a for q in (q0, q1, q2)))
    decay = _F32(damping) * var / (mean * mean)
    decay[~np.isfinite(decay)] = 0
    num = den = None
    for (dist, _), s1, s0 in zip(_frost_rings(r), _ring_sums(q1, r, width, lo, hi), _ring_sums(q0, r, width, lo, hi)):
        if dist == 0:
            num, den = s1, s0
            continue
        weight = np.exp(decay * _F32(-dist))
        num += weight * s1
        den += weight * s0
    return num / den


def frost(power, window=7, looks=DEFAULT_LOOKS, damping=FROST_DAMPING):
    """Frost et al. (1982) adaptive filter: an exponentially weighted window mean whose decay
    follows the local heterogeneity:

    ``x = sum_t m(t) z(t) / sum_t m(t)``, ``m(t) = exp(-K C_i^2 |t|)``,

    ``|t|`` the Euclidean distance (pixels) from the centre, ``C_i^2 = var/mean^2`` of the
    window, ``K`` the damping factor (2, as SNAP). Homogeneous areas (small C_i) get a wide,
    flat kernel; edges and targets a narrow one. ``looks`` is unused (accepted for a uniform API).
    Frost, Stiles, Shanmugan, Holtzman (1982) IEEE TPAMI 4(2):157-166.
    """
    z = _as_power(power)
    w = _check_window(window)
    if not (np.isfinite(damping) and damping >= 0):
        raise GlasarError(f"Frost damping factor must be >= 0, got {damping!r}")
    return _finish(_in_strips(_frost_core, z, w // 2, w, float(damping)), z)


# ----------------------------------------------------------------------------------------------
# Median: exact window median by pruned sorting networks shared between neighbouring windows
# ----------------------------------------------------------------------------------------------
def _merge_comparators(n1, n2):
    """Batcher's odd-even merge of two sorted wire lists (wires 0..n1-1 and n1..n1+n2-1),
    padded to powers of two with +inf wires that are then resolved away. Returns
    (comparators, order): comparator (a, b) leaves the min in wire a and the max in wire b;
    order[i] is the wire holding the i-th smallest value afterwards."""
    p = 1
    while p < max(n1, n2):
        p *= 2
    pos = list(range(n1)) + [None] * (p - n1) + list(range(n1, n1 + n2)) + [None] * (p - n2)

    def merge(lo, n, r):
        step = 2 * r
        if step < n:
            yield from merge(lo, n, step)
            yield from merge(lo + r, n, step)
            for i in range(lo + r, lo + n - r, step):
                yield i, i + r
        else:
            yield lo, lo + r

    comps = []
    for i, j in merge(0, 2 * p, 1):
        a, b = pos[i], pos[j]
        if b is None:  # x vs +inf: nothing moves
            continue
        if a is None:  # +inf vs x: the real value moves down
            pos[i], pos[j] = b, None
            continue
        comps.append((a, b))
    return comps, [w for w in pos if w is not None]


def _sort_comparators(n):
    """Batcher merge sort of wires 0..n-1: (comparators, order) as _merge_comparators."""
    if n <= 1:
        return [], list(range(n))
    m = n // 2
    c1, o1 = _sort_comparators(m)
    c2, o2 = _sort_comparators(n - m)
    o2 = [w + m for w in o2]
    c2 = [(a + m, b + m) for a, b in c2]
    c3, o3 = _merge_comparators(m, n - m)
    both = o1 + o2
    return c1 + c2 + [(both[a], both[b]) for a, b in c3], [both[i] for i in o3]


def _prune(comps, needed):
    """Comparators that feed the needed wires, as (a, b, need_min, need_max); wires read."""
    need, kept = set(needed), []
    for a, b in reversed(comps):
        nmin, nmax = a in need, b in need
        if nmin or nmax:
            kept.append((a, b, nmin, nmax))
            need.update((a, b))
    kept.reverse()
    return kept, need


@functools.lru_cache(maxsize=None)
def _median_plan(k, extra=0):
    """Plan for exact order statistics of k x k windows (k odd): ranks K - extra ... K
    (1-based), K = (k^2 + 1) / 2 the median.

    S(1)[p] = the k values of the column through p (rows -r..r), sorted by a network;
    S(n)[p] = sorted values of the n columns p..p+n-1 = merge(S(h)[p], S(n-h)[p+h]), h = n/2 for
    even n and 1 for odd n. Every S(n) is computed once per position and shared by the windows
    containing those columns. The rank-R value of window p is, with A = S(1)[p-r] and
    B = S(k-1)[p-r+1], ``min_i max(A_(i), B_(R-i))`` (i-th smallest; A_(0) = -inf): the R-th
    smallest of two sorted lists. Only the ranks those formulas read are kept, and every
    network is pruned back from them: 239 min/max per pixel for the 7 x 7 median (23 for 3 x 3,
    91 for 5 x 5). Returns (ranks, terms per rank, build order, stages).
    """
    K = (k * k + 1) // 2
    ranks = tuple(range(K - extra, K + 1))
    terms = {R: tuple((i, R - i) for i in range(max(0, R - (k - 1) * k), min(R, k) + 1)) for R in ranks}
    needs = {1: set(), k - 1: set()}
    for R in ranks:
        needs[1].update(i - 1 for i, _ in terms[R] if i >= 1)
        needs[k - 1].update(j - 1 for _, j in terms[R] if j >= 1)
    stages, done = {}, set()
    while True:
        pending = [n for n in needs if n > 1 and n not in done]
        if not pending:
            break
        n = max(pending)
        done.add(n)
        h = n // 2 if n % 2 == 0 else 1
        comps, order = _merge_comparators(h * k, (n - h) * k)
        kept, read = _prune(comps, [order[i] for i in needs[n]])
        stages[n] = (h, kept, {i: order[i] for i in needs[n]}, read)
        for wire in read:  # wires < h*k come from S(h), the others from S(n-h)
            if wire < h * k:
                needs.setdefault(h, set()).add(wire)
            else:
                needs.setdefault(n - h, set()).add(wire - h * k)
    comps, order = _sort_comparators(k)
    kept, read = _prune(comps, [order[i] for i in needs[1]])
    stages[1] = (0, kept, {i: order[i] for i in needs[1]}, read)
    return ranks, terms, tuple(sorted(stages)), stages


def _run_network(wires, comps):
    """Apply pruned comparators to a dict of arrays; input arrays are never modified."""
    owned = set()
    for a, b, nmin, nmax in comps:
        x, y = wires[a], wires[b]
        if nmin and nmax:
            lo = np.minimum(x, y)
            if b in owned:
                np.maximum(x, y, out=y)
            else:
                wires[b] = np.maximum(x, y)
                owned.add(b)
            wires[a] = lo
            owned.add(a)
        elif nmin:
            if a in owned:
                np.minimum(x, y, out=x)
            else:
                wires[a] = np.minimum(x, y)
                owned.add(a)
        else:
            if b in owned:
                np.maximum(x, y, out=y)
            else:
                wires[b] = np.maximum(x, y)
                owned.add(b)


def _median_network(filled, k, width, lo, hi, extra=0):
    """Exact rank K - extra ... K values (K = median rank) of the k x k windows at positions
    [lo, hi) of a flat strip (no NaN: fill nodata first). Returns {rank: values}."""
    ranks, terms, build, stages = _median_plan(k, extra)
    r = k // 2
    start, stop = lo - r, hi + r  # S(n) lives on [start, stop - n + 1)
    runs = {}
    for n in build:
        h, comps, outputs, read = stages[n]
        size = stop - n + 1 - start
        if n == 1:
            wires = {i: filled.at(start, stop, (i - r) * width) for i in read}
        else:
            left, right = runs[h], runs[n - h]
            wires = {w: left[w][:size] if w < h * k else right[w - h * k][h:h + size] for w in read}
        _run_network(wires, comps)
        runs[n] = {rank: wires[w] for rank, w in outputs.items()}
    A, B, size = runs[1], runs[k - 1], hi - lo
    results = {}
    for R in ranks:
        result = None
        for i, j in terms[R]:
            if i == 0:
                t = B[j - 1][1:1 + size]
            elif j == 0:
                t = A[i - 1][:size]
            else:
                t = np.maximum(A[i - 1][:size], B[j - 1][1:1 + size])
            result = t.copy() if result is None else np.minimum(result, t, out=result)
        results[R] = result
    return results


_MEDIAN_EXTRA = 2  # windows with up to 2 * _MEDIAN_EXTRA nodata pixels stay on the network


def _median_core(block, halo, k):
    flat, valid, width, lo, hi = _strip(block, halo)
    invalid = (~valid).view(np.uint8) if k * k < 256 else (~valid).astype(np.uint16)
    missing = _box(_Flat(invalid, 0), k, width, lo, hi).a  # nodata pixels per window
    if k <= 11:
        # Nodata as +inf sorts last: with c of them the median of the k^2 - c valid values is
        # rank K - c/2 (c even) or the mean of ranks K - (c+1)/2 and K - (c-1)/2 (c odd), so
        # ranks K-2..K serve windows with up to 4 nodata pixels (windows reaching past the
        # image edge have more: exact path below). Gap-free strips need rank K only.
        gaps = not valid.reshape(block.shape)[:, halo:-halo].all()
        extra = _MEDIAN_EXTRA if gaps else 0
        filled = _Flat(np.where(valid, flat.a, _F32(np.inf)), 0)
        ranks = _median_network(filled, k, width, lo, hi, extra)
        K = (k * k + 1) // 2
        out = ranks[K]
        if extra:
            c = np.minimum(missing, 2 * extra).astype(np.intp)
            weights = np.zeros((2 * extra + 1, extra + 1), _F32)  # [c, K - rank]
            for cc in range(2 * extra + 1):
                weights[cc, (cc + 1) // 2] += 0.5
                weights[cc, cc // 2] += 0.5
            out = weights[:, 0].take(c) * out
            for j in range(1, extra + 1):
                out += weights[:, j].take(c) * ranks[K - j]
        slow = missing > 2 * extra
    else:  # larger windows: scipy's selection (exact, slower), nodata windows below
        filled = np.where(valid, flat.a, _F32(0)).reshape(block.shape)
        out = ndimage.median_filter(filled, size=k, mode="constant").reshape(-1)[lo:hi].copy()
        slow = missing > 0
    # windows with more nodata (or past the image edge): exact median of their valid pixels
    slow &= valid[lo:hi]
    pos = np.nonzero(slow)[0]
    if pos.size:
        rows, cols = np.divmod(pos + lo, width)
        windows = np.lib.stride_tricks.sliding_window_view(block, (k, k))[rows - halo, cols - halo]
        out[pos] = _nanmedian_rows(windows.reshape(pos.size, -1))
    return out


def _nanmedian_rows(values):
    """Median of the finite values of each row (NaN sorts last), vectorised."""
    ordered = np.sort(values, axis=1)
    n = np.isfinite(values).sum(axis=1)
    lo = np.maximum((n - 1) // 2, 0)[:, None]
    hi = np.maximum(n // 2, 0)[:, None]
    med = 0.5 * (np.take_along_axis(ordered, lo, 1) + np.take_along_axis(ordered, hi, 1))[:, 0]
    med[n == 0] = np.nan
    return med


def gamma_median_ratio(looks):
    """Median / mean of L-look gamma speckle: ``q(L) = P^-1(L, 1/2) / L`` (inverse of the
    regularised lower incomplete gamma function); 0.925 at L = 4.4, -> 1 as L grows."""
    L = _check_looks(looks)
    return float(special.gammaincinv(L, 0.5) / L)


def median(power, window=7, looks=DEFAULT_LOOKS):
    """Median filter, mean-preserving for gamma speckle:

    ``x = median(window) / q(L)``, ``q(L)`` = median/mean of L-look gamma speckle.

    The plain median of an intensity window estimates the speckle *median*, 7.5 % below the
    mean at L = 4.4 (q = 0.925): it would darken every area by 0.34 dB. Dividing by q(L) keeps
    homogeneous areas at their level (Tukey's running median with the gamma-speckle bias
    correction). Edges stay sharp; isolated point targets are removed. Exact median (sorting
    networks, no histogram approximation); windows with nodata use their valid pixels (an even
    count takes the mean of the two middle values).
    """
    z = _as_power(power)
    w, L = _check_window(window), _check_looks(looks)
    out = _in_strips(_median_core, z, w // 2, w)
    out *= _F32(1 / gamma_median_ratio(L))
    return _finish(out, z)


# ----------------------------------------------------------------------------------------------
# Refined Lee (Lee 1981): 8 edge-aligned directional windows in a 7 x 7 neighbourhood
# ----------------------------------------------------------------------------------------------
# Directional windows over offsets (dy, dx) in [-3, 3]^2, 28 pixels each, centre included,
# indexed d = 2 k + side: k = edge-normal direction u_k, side 0 = the half towards +u_k.
# u_0 = (0, 1) (east), u_1 = (1, 0) (south), u_2 = (1, 1) (south-east), u_3 = (1, -1) (south-west).
_RL_WINDOWS = ("dx >= 0", "dx <= 0", "dy >= 0", "dy <= 0", "dy + dx >= 0", "dy + dx <= 0",
               "dy - dx >= 0", "dy - dx <= 0")
# sub-window (i, j) (in steps of 2 pixels) on the +u_k and -u_k sides
_RL_SIDES = (((0, 1), (0, -1)), ((1, 0), (-1, 0)), ((1, 1), (-1, -1)), ((1, -1), (-1, 1)))


def refined_lee_kernels():
    """The 8 directional 7 x 7 windows as boolean arrays, index d (see _RL_WINDOWS)."""
    dy, dx = np.mgrid[-3:4, -3:4]
    return [eval(expr, {}, {"dy": dy, "dx": dx}) for expr in _RL_WINDOWS]  # noqa: S307 (constants)


def _rl_direction(sub, pos=None, work=None):
    """Direction index d (int8, 0..7) from the 3 x 3 sub-window means; ``sub(i, j)`` returns
    the means of the sub-windows centred at offset (2i, 2j) (NaN: no valid pixel); ``pos``: the
    positions with an empty sub-window if known (else found here).

    Gradients are single differences of opposite sub-windows (Lee 1981, as SNAP and the Earth
    Engine ports): |E-W|, |S-N|, |SE-NW|, |SW-NE|; the largest (first on ties) gives k; the side
    is the half-window whose sub-window mean is closer to the centre one (the +u side on ties),
    ``|c - p| > |c - m|  <=>  (p - m)(p + m - 2c) > 0``. A sub-window without valid pixels
    counts as equal to the centre for the gradients and as infinitely far for the side choice
    (the window goes where the data are)."""
    centre = sub(0, 0)
    pairs = [(sub(*p), sub(*m)) for p, m in _RL_SIDES]
    d = _rl_direction_of(centre, pairs, gaps=False, work=work)
    if pos is None:
        missing = [np.isnan(p) | np.isnan(m) for p, m in pairs]
        bad = missing[0] | missing[1] | missing[2] | missing[3]
        bad &= ~np.isnan(centre)
        pos = np.nonzero(bad)[0]
    if pos.size:  # pixels next to gaps or the image edge: gap rules
        d[pos] = _rl_direction_of(centre[pos], [(p[pos], m[pos]) for p, m in pairs], gaps=True)
    return d


def _rl_direction_of(centre, pairs, gaps, work=None):
    n = centre.size
    work = work if work is not None and not gaps else _Work()
    twice_centre = np.add(centre, centre, out=work.get("twice", n))
    tmp = work.get("tmp", n)
    grads, sides = [], []
    for k, (p, m) in enumerate(pairs):
        if gaps:
            p_ok, m_ok = np.isfinite(p), np.isfinite(m)
            p, m = np.where(p_ok, p, centre), np.where(m_ok, m, centre)
        diff = np.subtract(p, m, out=work.get(f"grad{k}", n))
        np.add(p, m, out=tmp)
        tmp -= twice_centre
        tmp *= diff
        side = np.greater(tmp, 0, out=work.get(f"side{k}", n, bool))
        if gaps:  # a missing side is never chosen when the other has data
            side = np.where(p_ok == m_ok, side, ~p_ok)
        grads.append(np.abs(diff, out=diff))
        sides.append(side)
    g0, g1, g2, g3 = grads
    k01, k23 = g1 > g0, g3 > g2
    hi = np.maximum(g2, g3, out=tmp) > np.maximum(g0, g1, out=twice_centre)  # ties: lower index
    lo = ~hi
    odd = (hi & k23) | (lo & k01)  # k = 2 hi + odd (boolean algebra: np.where on bools is slow)
    side = (hi & ((k23 & sides[3]) | (~k23 & sides[2]))) | (lo & ((k01 & sides[1]) | (~k01 & sides[0])))
    d = hi.view(np.int8) * np.int8(2)
    d += odd.view(np.int8)
    d += d
    d += side.view(np.int8)
    return d


def _gather(stack, d, base=None):
    """stack[d[i], i] for a (n, size) stack: one flat take (np.choose is ~10x slower).
    ``base``: np.arange(size) if at hand."""
    size = d.size
    idx = d.astype(np.intp)
    idx *= size
    idx += np.arange(size, dtype=np.intp) if base is None else base
    return stack.reshape(-1).take(idx)


def _rl_window_sums(q, width, lo, hi, out, box3=True):
    """Sums of q over the 8 directional windows into out[d] (stack (8, hi - lo)) and the 3 x 3
    sums on [lo - 2W - 2, hi + 2W + 2) (returned if ``box3``). q covers a strip with a halo of
    3. Shifted adds only, no subtraction (no cancellation next to bright targets): about 50
    vector adds per quantity instead of 8 x 28 multiply-adds."""
    W, n = width, hi - lo
    f, f0 = q.a, q.start

    def s(arr, start, pos, size):  # values at positions pos .. pos + size - 1
        i = pos - start
        if i < 0 or i + size > arr.size:
            raise IndexError("window sums outside the strip (internal error)")
        return arr[i:i + size]

    # 3 columns (h3) on rows dy in [-3, 3] +- 2 columns, 3 x 3 sums (b3), 7 columns (h7)
    a3, n3 = lo - 3 * W - 2, n + 6 * W + 4
    h3 = s(f, f0, a3 - 1, n3) + s(f, f0, a3, n3)
    h3 += s(f, f0, a3 + 1, n3)
    a_b, n_b = lo - 2 * W - 2, n + 4 * W + 4
    if box3:
        b3 = s(h3, a3, a_b - W, n_b) + s(h3, a3, a_b, n_b)
        b3 += s(h3, a3, a_b + W, n_b)
    a7, n7 = lo - 3 * W, n + 6 * W
    h7 = s(h3, a3, a7 - 2, n7) + s(h3, a3, a7 + 1, n7)
    h7 += s(f, f0, a7 + 3, n7)
    del h3
    p2 = s(h7, a7, a7, n7 - W) + s(h7, a7, a7 + W, n7 - W)  # rows dy, dy + 1
    np.add(s(p2, a7, lo - 3 * W, n), s(p2, a7, lo - W, n), out=out[3])  # dy in [-3, 0]
    np.add(s(p2, a7, lo, n), s(p2, a7, lo + 2 * W, n), out=out[2])  # dy in [0, 3]
    del h7, p2
    # 7 rows (v7) on columns dx in [-3, 3], then 4 columns
    av, nv = lo - 2 * W - 3, n + 3 * W + 6
    v3 = s(f, f0, av - W, nv) + s(f, f0, av, nv)
    v3 += s(f, f0, av + W, nv)
    a7c, n7c = lo - 3, n + 6
    v7 = s(v3, av, a7c - 2 * W, n7c) + s(v3, av, a7c + W, n7c)
    v7 += s(f, f0, a7c + 3 * W, n7c)
    del v3
    c2 = v7[:-1] + v7[1:]  # columns dx, dx + 1 from position a7c
    np.add(s(c2, a7c, lo - 3, n), s(c2, a7c, lo - 1, n), out=out[1])  # dx in [-3, 0]
    np.add(s(c2, a7c, lo, n), s(c2, a7c, lo + 2, n), out=out[0])  # dx in [0, 3]
    del v7, c2
    # Triangles from row segments: right-aligned segments (dx in [4-L, 3]) give dy + dx >= 0
    # (row dy = L-4) and dy - dx <= 0 (row dy = 4-L); left-aligned ones (dx in [-3, L-4]) give
    # dy - dx >= 0 (row dy = L-4) and dy + dx <= 0 (row dy = 4-L).
    seg_r = s(f, f0, a7 + 3, n7).copy()
    seg_l = s(f, f0, a7 - 3, n7).copy()
    t_se, t_nw, t_sw, t_ne = out[4], out[5], out[6], out[7]
    t_se[...] = s(seg_r, a7, lo - 3 * W, n)
    t_ne[...] = s(seg_r, a7, lo + 3 * W, n)
    t_sw[...] = s(seg_l, a7, lo - 3 * W, n)
    t_nw[...] = s(seg_l, a7, lo + 3 * W, n)
    for L in range(2, 8):
        seg_r += s(f, f0, a7 + 4 - L, n7)
        seg_l += s(f, f0, a7 + L - 4, n7)
        t_se += s(seg_r, a7, lo + (L - 4) * W, n)
        t_ne += s(seg_r, a7, lo + (4 - L) * W, n)
        t_sw += s(seg_l, a7, lo + (L - 4) * W, n)
        t_nw += s(seg_l, a7, lo + (4 - L) * W, n)
    return _Flat(b3, a_b) if box3 else None


def _mmse(z, n, s1, s2, noise_var):
    """Lee's MMSE estimate for multiplicative noise of variance ``s_v^2 = noise_var``:
    ``x = mean + b (z - mean)``, ``b = clip((var - mean^2 s_v^2) / ((1 + s_v^2) var), 0, 1)``
    (``b = 0`` for a constant window)."""
    mean, var = _mean_var(n, s1, s2)
    b = var - mean * mean * noise_var
    b /= (1 + noise_var) * var  # var = 0 (constant window): -inf, clipped to 0
    _clip01(b)
    z = z - mean
    z *= b
    z += mean
    return z


def _rl_noise(sums3, sub_at, looks, noise):
    if noise == "looks":
        return _F32(1.0 / looks)
    # SNAP: mean of the 5 smallest normalised variances var/mean^2 of the nine sub-windows
    mean, var = _mean_var(*sums3)
    cv2 = var / (mean * mean)
    cv2[~np.isfinite(cv2)] = np.inf
    stack = np.stack([sub_at(cv2, i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)])
    smallest = np.partition(stack, 4, axis=0)[:5]
    finite = np.isfinite(smallest)
    return (np.where(finite, smallest, 0).sum(axis=0) / finite.sum(axis=0)).astype(_F32)


def _refined_lee_core(block, halo, looks, noise, cache):
    flat, valid, width, lo, hi = _strip(block, halo)
    q1 = _Flat(np.where(valid, flat.a, _F32(0)), 0)
    size = hi - lo
    stack1, stack2 = np.empty((8, size), _F32), np.empty((8, size), _F32)
    b31 = _rl_window_sums(q1, width, lo, hi, stack1)
    b32 = _rl_window_sums(_Flat(q1.a * q1.a, 0), width, lo, hi, stack2, box3=noise == "local")
    # counts depend only on the validity pattern: a strip that is gap-free apart from the
    # image's left and right edges has the same counts as every other such strip
    key = block.shape if valid.reshape(block.shape)[:, halo:-halo].all() else None
    if key is not None and key in cache:
        stack0, b30, edge, gaps, base = cache[key]
    else:
        stack0 = np.empty((8, size), _F32)
        b30 = _rl_window_sums(_Flat(valid.astype(_F32), 0), width, lo, hi, stack0)
        edge = gaps = None
        base = np.arange(size, dtype=np.intp)
        if key is not None:  # where a window is not full / a sub-window is empty (image edge)
            edge = np.nonzero((stack0 != 28).any(axis=0))[0]
            empty = _Flat(b30.a == 0, b30.start)
            gaps = np.zeros(size, bool)
            for i in (-1, 0, 1):
                for j in (-1, 0, 1):
                    if i or j:
                        gaps |= empty.at(lo, hi, 2 * i * width + 2 * j)
            gaps = np.nonzero(gaps & valid[lo:hi])[0]
            cache[key] = (stack0, b30, edge, gaps, base)
    means = b31.a / b30.a

    def sub_at(values, i, j):
        return _Flat(values, b30.start).at(lo, hi, 2 * i * width + 2 * j)

    d = _rl_direction(lambda i, j: sub_at(means, i, j), gaps, cache.setdefault("work", _Work()))
    noise_var = _rl_noise((b30.a, b31.a, b32.a if b32 is not None else None), sub_at, looks, noise)
    s1, s2 = _gather(stack1, d, base), _gather(stack2, d, base)
    if edge is None:
        n = _gather(stack0, d, base)
    else:  # gap-free strip: 28 pixels per window except next to the image edge
        n = np.full(size, 28, _F32)
        n[edge] = stack0[d[edge], edge]
    return _mmse(flat.at(lo, hi), n, s1, s2, noise_var)


def refined_lee(power, looks=DEFAULT_LOOKS, noise="looks"):
    """Refined Lee filter (Lee 1981): MMSE filtering inside an edge-aligned window.

    In the 7 x 7 neighbourhood, the means of nine 3 x 3 sub-windows (centres at offsets
    {-2, 0, 2}^2) give four gradients (|E-W|, |S-N|, |SE-NW|, |SW-NE|); the largest picks the
    edge orientation and the sub-window closer to the centre one picks the side: one of 8
    windows of 28 pixels (4 half-windows, 4 triangles, centre and edge line included; see
    ``refined_lee_kernels``). With that window's mean ``m`` and variance ``v``:

    ``var_x = (v - m^2 s_v^2) / (1 + s_v^2)``, ``b = clip(var_x / v, 0, 1)``, ``x = m + b (z - m)``.

    ``b`` is clamped to [0, 1] (the Earth Engine port did not clamp: b < 0 overshoots).
    Speckle variance ``s_v^2``: ``noise="looks"`` (default) is the theoretical ``1/L`` of
    L-look intensity (unbiased in homogeneous areas); ``noise="local"`` is SNAP's estimate, the
    mean of the 5 smallest normalised variances of the nine sub-windows, which adapts to the data
    but underestimates s_v^2 in homogeneous areas (small order statistics of noisy estimates)
    and so smooths less. The window is fixed at 7 x 7 (Lee 1981).

    Fast form: every window sum by shifted vector adds; identical to ``refined_lee_direct``
    (8 directional 7 x 7 correlations per quantity) and over 10x faster.
    Lee, J.-S. (1981) Computer Graphics and Image Processing 17(1):24-32.
    """
    z = _as_power(power)
    L = _check_looks(looks)
    if noise not in REFINED_LEE_NOISE:
        raise GlasarError(f"noise must be one of {REFINED_LEE_NOISE}, got {noise!r}")
    return _finish(_in_strips(_refined_lee_core, z, 3, L, noise, {}), z)


def refined_lee_direct(power, looks=DEFAULT_LOOKS, noise="looks", masked=True):
    """Refined Lee by direct 7 x 7 correlations with the 8 directional kernels (reference form).

    ``masked=True``: nodata-aware, 24 correlations (valid count, sum and sum of squares per
    window); the result equals ``refined_lee``. ``masked=False``: the textbook form, 16
    correlations (window mean and mean square) of a gap-free image; only the pixels at least 3
    from the edge follow the masked definition. Kept for tests and benchmarks.
    """
    z = _as_power(power)
    L = _check_looks(looks)
    rows, cols = z.shape
    valid = np.isfinite(z)
    q1 = np.where(valid, z, _F32(0))
    q2 = q1 * q1
    q0 = valid.astype(_F32)
    box3 = np.ones((3, 3), _F32)
    if masked:  # 3 x 3 sums also 2 pixels past the edge (sub-windows reaching inside)
        b3 = [ndimage.correlate(np.pad(q, 2), box3, mode="constant") for q in (q0, q1, q2)]
    else:
        if not valid.all():
            raise GlasarError("the unmasked direct form needs an image without nodata")
        b3 = [np.full(z.shape, 9, _F32), ndimage.uniform_filter(q1, 3) * 9, ndimage.uniform_filter(q2, 3) * 9]
        b3 = [np.pad(b, 2, mode="edge") for b in b3]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = b3[1] / b3[0]

        def sub_at(values, i, j):
            return values[2 + 2 * i:2 + 2 * i + rows, 2 + 2 * j:2 + 2 * j + cols].reshape(-1)

        d = _rl_direction(lambda i, j: sub_at(means, i, j))
        noise_var = _rl_noise(b3, sub_at, L, noise)
        kernels = [k.astype(_F32) for k in refined_lee_kernels()]
        if masked:
            stacks = [np.stack([ndimage.correlate(q, k, mode="constant").reshape(-1) for k in kernels])
                      for q in (q0, q1, q2)]
            n, s1, s2 = (_gather(st, d) for st in stacks)
        else:
            m1 = np.stack([ndimage.correlate(q1, k / 28, mode="constant").reshape(-1) for k in kernels])
            m2 = np.stack([ndimage.correlate(q2, k / 28, mode="constant").reshape(-1) for k in kernels])
            n, s1, s2 = np.ones(z.size, _F32), _gather(m1, d), _gather(m2, d)
        out = _mmse(z.reshape(-1), n, s1, s2, noise_var).reshape(z.shape)
    return _finish(out, z)


# ----------------------------------------------------------------------------------------------
# Improved Lee sigma filter (Lee, Wen, Ainsworth, Chen, Chen 2009)
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def lee_sigma_range(looks=DEFAULT_LOOKS, xi=LEE_SIGMA_XI):
    """Sigma range ``(I1, I2, eta_v')`` of the improved Lee sigma filter for L-look intensity.

    Lee et al. (2009) Table I tabulates, for L looks and sigma ``xi``, the interval [I1, I2] of
    the unit-mean speckle pdf ``p(v) = L^L v^(L-1) e^(-L v) / Gamma(L)`` that holds a share xi
    of it and keeps its conditional mean at 1 (so that averaging the pixels in the range is
    unbiased), and the speckle std ``eta_v'`` inside the range:

    ``P(L, L I2) - P(L, L I1) = xi``, ``P(L+1, L I2) - P(L+1, L I1) = xi`` (conditional mean 1),
    ``eta_v'^2 = (L+1)/L [P(L+2, L I2) - P(L+2, L I1)] / xi - 1``

    (P = regularised lower incomplete gamma function; v p_L(v) is the Gamma(L+1, rate L) pdf).
    Solved here for any L (the table only has L = 1..4): reproduces the published L = 4 rows
    (e.g. xi = 0.9: 0.378, 2.094, 0.3991) to within 0.006.
    """
    L = _check_looks(looks)
    if not 0 < xi < 1:
        raise GlasarError(f"sigma (xi) must be in (0, 1), got {xi!r}")

    def upper(i1):
        p = special.gammainc(L, L * i1) + xi
        return special.gammaincinv(L, p) / L if p < 1 else np.inf

    def mean_gap(i1):
        return special.gammainc(L + 1, L * upper(i1)) - special.gammainc(L + 1, L * i1) - xi

    i1_max = special.gammaincinv(L, 1 - xi) / L * (1 - 1e-12)
    i1 = brentq(mean_gap, 0.0, i1_max, xtol=1e-14, rtol=1e-12)
    i2 = upper(i1)
    m2 = (L + 1) / L * (special.gammainc(L + 2, L * i2) - special.gammainc(L + 2, L * i1)) / xi
    return float(i1), float(i2), float(np.sqrt(m2 - 1))


def _lee_sigma_core(block, halo, w, looks, i1, i2, eta2, z98, tk):
    flat, valid, width, lo, hi = _strip(block, halo)
    q0, q1, q2 = _masked(flat, valid)
    z = flat.at(lo, hi)
    # a-priori mean: 3 x 3 MMSE with the theoretical speckle variance 1/L
    prior = _mmse(z, *(_box(q, 3, width, lo, hi).a for q in (q0, q1, q2)), _F32(1.0 / looks))
    low, high = prior * _F32(i1), prior * _F32(i2)
    size, r = hi - lo, w // 2
    count = np.zeros(size, np.uint8 if w * w < 256 else np.uint16)
    s1, s2 = np.zeros(size, _F32), np.zeros(size, _F32)
    inside, below, part = np.empty(size, bool), np.empty(size, bool), np.empty(size, _F32)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            off = dy * width + dx
            zo = flat.at(lo, hi, off)  # NaN (nodata) fails both comparisons
            np.greater_equal(zo, low, out=inside)
            np.less_equal(zo, high, out=below)
            inside &= below  # AND: the Earth Engine port's OR kept every pixel
            count += inside.view(np.uint8)
            q = q1.at(lo, hi, off)  # 0 at nodata (z itself is NaN there)
            np.multiply(q, inside.view(np.uint8).astype(_F32), out=part)
            s1 += part
            part *= q
            s2 += part
    n = count.astype(_F32)
    out = _mmse(z, n, s1, s2, _F32(eta2))
    empty = n == 0  # nothing in range (not even z): keep the a-priori mean
    out[empty] = prior[empty]
    if z98 is not None:  # point targets: >= tk pixels >= Z98 in a 3 x 3 window stay unfiltered
        bright = _Flat((valid & (flat.a >= z98)).view(np.uint8), 0)
        centres = _box(bright, 3, width, lo - width - 1, hi + width + 1)
        target = _Flat((centres.a >= tk).view(np.uint8), centres.start)
        keep = _box(target, 3, width, lo, hi).a > 0
        keep &= bright.at(lo, hi).view(bool)
        out[keep] = z[keep]
    return out


def lee_sigma(power, window=7, looks=DEFAULT_LOOKS, xi=LEE_SIGMA_XI, z98=None,
              target_count=LEE_SIGMA_TARGET_COUNT):
    """Improved Lee sigma filter (Lee, Wen, Ainsworth, Chen, Chen 2009, IEEE TGRS 47(1):202-213).

    1. Point targets: Z98 = 98th percentile of the valid intensities (``z98``, computed from
       ``power`` when None). A pixel >= Z98 whose 3 x 3 window holds >= T_K (5) such pixels
       belongs to a point target and is kept unfiltered (the Earth Engine port counted distinct
       values of the 0/1 mask, at most 2, so nothing was ever retained).
    2. A-priori mean x~: 3 x 3 MMSE estimate with ``s_v^2 = 1/L``:
       ``x~ = m + b (z - m)``, ``b = clip((v - m^2/L) / ((1 + 1/L) v), 0, 1)``.
    3. Sigma range ``[I1 x~, I2 x~]`` from the look-up table (``lee_sigma_range(L, xi)``).
    4. In the window x window neighbourhood, the pixels with ``I1 x~ <= z <= I2 x~`` (both
       bounds: the port's OR kept every pixel) give mean ``m`` and variance ``v`` and
       ``x = m + b (z - m)``, ``b = clip((v - m^2 eta'^2) / ((1 + eta'^2) v), 0, 1)`` with the
       in-range speckle std ``eta'``. (No pixel in range: x = x~.)

    A lone bright target survives step 4 too: its x~ is high, no neighbour falls in its range.
    """
    z = _as_power(power)
    w, L = _check_window(window), _check_looks(looks)
    i1, i2, eta = lee_sigma_range(L, xi)
    if z98 is None:
        finite = z[np.isfinite(z)]
        if finite.size == 0:
            return z
        z98 = float(np.percentile(finite, 98))
    halo = max(w // 2, 2)
    return _finish(_in_strips(_lee_sigma_core, z, halo, w, L, i1, i2, eta * eta, _F32(z98), int(target_count)), z)


# ----------------------------------------------------------------------------------------------
# Dispatch
# ----------------------------------------------------------------------------------------------
def apply_speckle_filter(power, name="boxcar", window=7, looks=DEFAULT_LOOKS):
    """Filter linear power with the named filter (one of FILTERS). ``window`` is the odd window
    size (ignored by refined_lee, fixed at 7 x 7), ``looks`` the equivalent number of looks
    (ENL; 4.4 for Sentinel-1 IW GRD). NaN = nodata, kept; windows use only valid pixels."""
    if name == "none":
        return _as_power(power)
    if name == "boxcar":
        return boxcar(power, window)
    if name == "refined_lee":
        return refined_lee(power, looks)
    if name in _WINDOW_FILTERS:
        return _WINDOW_FILTERS[name](power, window, looks)
    raise GlasarError(f"unknown speckle filter {name!r}; choose one of {', '.join(FILTERS)}")


_WINDOW_FILTERS = {"median": median, "lee": lee, "kuan": kuan, "gamma_map": gamma_map, "frost": frost,
                   "lee_sigma": lee_sigma}


def filter_halo(name, window=7):
    """Pixels of context a filter reads on each side (block processing needs this overlap)."""
    if name in ("none",):
        return 0
    if name == "refined_lee":
        return 3
    if name == "lee_sigma":
        return max(int(window) // 2, 2)
    return int(window) // 2


# ----------------------------------------------------------------------------------------------
# Raster files: every SAR band filtered in linear power, written whole or not at all
# ----------------------------------------------------------------------------------------------
ANGLE_BAND_NAMES = ("angle", "incangle", "inc_angle", "incidence", "incidence_angle", "incidenceangle",
                    "local_incidence_angle", "localincangle", "theta")
_SAMPLE_PIXELS = 1 << 22  # values read per band to detect units / Z98: the whole band up to 4 Mpx
_BLOCK_PIXELS = 1 << 23  # pixels per processing block (plus its halo rows)


def is_angle_band(description):
    """True for an incidence-angle band (Earth Engine 'angle', SNAP 'incidenceAngle', ...),
    which a speckle filter must leave untouched."""
    d = (description or "").strip().lower().replace(" ", "_")
    return d in ANGLE_BAND_NAMES or d.startswith("angle") or d.endswith("incidenceangle") or \
        d.replace("_", "").endswith("incidenceangle")


def _read_band(band, rows=None, buf=None):
    """Band rows (y0, y1) or a decimated overview ``buf = (xsize, ysize)`` as float32, nodata NaN."""
    try:
        if buf is not None:
            raw = band.ReadAsArray(buf_xsize=buf[0], buf_ysize=buf[1])
        else:
            raw = band.ReadAsArray(0, rows[0], band.XSize, rows[1] - rows[0])
    except RuntimeError as exc:  # the header opened but the pixels do not: a truncated download
        raise GlasarError(f"GDAL cannot read the pixels, the file is truncated or corrupt ({exc})") from None
    values = raw.astype(_F32 if raw.dtype != np.float64 else np.float64)
    nodata = band.GetNoDataValue()
    if nodata is not None:
        if np.isnan(nodata):
            pass
        else:
            values[raw == nodata] = np.nan
    return raw, values


def _sample(band):
    xs, ys = band.XSize, band.YSize
    if xs * ys <= _SAMPLE_PIXELS:
        return _read_band(band, rows=(0, ys))[1]
    f = np.sqrt(_SAMPLE_PIXELS / (xs * ys))
    return _read_band(band, buf=(max(1, int(xs * f)), max(1, int(ys * f))))[1]


def _any_valid(band):
    """Full scan for a finite value (the decimated sample may miss sparse data)."""
    step = max(1, _BLOCK_PIXELS // max(band.XSize, 1))
    for y0 in range(0, band.YSize, step):
        if np.isfinite(_read_band(band, rows=(y0, min(band.YSize, y0 + step)))[1]).any():
            return True
    return False


def _from_power(power, units):
    if units == "db":
        with np.errstate(divide="ignore", invalid="ignore"):
            return 10.0 * np.log10(power)
    if units == "amplitude":
        return np.sqrt(power)
    return power


def filter_raster(src_path, dst_path, name="refined_lee", window=7, looks=DEFAULT_LOOKS, units="auto",
                  driver="GTiff", creation_options=None, progress=None, canceled=None):
    """Speckle-filter every SAR band of a raster file; angle bands are copied untouched.

    Each SAR band is read in blocks of rows (with the filter's halo, so the result equals a
    whole-image filter), converted to linear power (``units``: auto, db, power or amplitude;
    auto = ``units.detect_units`` on the SAR bands and the file/band names), filtered, and
    converted back to the input's units. Same grid, CRS, band count, band descriptions,
    metadata and nodata as the input; values Float32 (Float64 for Float64 input). Pixels that
    are nodata in the input (or non-positive linear values) keep their input value.
    Written to a temporary file in the target folder and renamed: whole or not at all.
    For lee_sigma, Z98 is the 98th percentile of the band's valid power (of a regular sample of
    ~4 Mpx for larger bands). ``progress(fraction)``; ``canceled()`` -> True stops, returns None.
    Returns a summary dict (units, units_reason, filtered / untouched band names, z98).
    """
    from osgeo import gdal

    from . import units as U

    gdal.UseExceptions()
    if name not in FILTERS:
        raise GlasarError(f"unknown speckle filter {name!r}; choose one of {', '.join(FILTERS)}")
    w = _check_window(window) if name != "refined_lee" else 7
    L = _check_looks(looks)
    if units not in U.UNITS:
        raise GlasarError(f"unknown units {units!r}; use one of {', '.join(U.UNITS)}")
    try:
        src = gdal.Open(str(src_path))
    except RuntimeError as exc:
        raise GlasarError(f"cannot open raster {src_path}: {exc}") from None
    if src is None or src.RasterCount == 0:
        raise GlasarError(f"cannot read raster {src_path}")
    names = [src.GetRasterBand(i).GetDescription() or f"band{i}" for i in range(1, src.RasterCount + 1)]
    sar = [i for i in range(1, src.RasterCount + 1) if not is_angle_band(names[i - 1])]
    if not sar:
        raise GlasarError(f"{os.path.basename(str(src_path))} has only angle bands ({', '.join(names)}): "
                          "nothing to filter")

    samples = {i: _sample(src.GetRasterBand(i)) for i in sar}
    pooled = np.concatenate([s[np.isfinite(s)] for s in samples.values()])
    if pooled.size == 0 and not any(_any_valid(src.GetRasterBand(i)) for i in sar):
        raise GlasarError(f"{os.path.basename(str(src_path))} has no valid pixels (all nodata): nothing to filter")
    hint = " ".join([os.path.basename(str(src_path)), src.GetMetadataItem("UNITS") or ""] + names
                    + [src.GetRasterBand(i).GetUnitType() or "" for i in sar])
    if units == "auto":
        units, reason = U.detect_units(pooled, hint)
    else:
        reason = "declared"
    U.check_units(pooled, units)

    z98 = {}
    if name == "lee_sigma":
        for i in sar:
            p = U.to_power(samples[i], units)
            p = p[np.isfinite(p)]
            z98[i] = float(np.percentile(p, 98)) if p.size else np.inf
    samples = pooled = None

    out_type = gdal.GDT_Float64 if any(src.GetRasterBand(i).DataType == gdal.GDT_Float64
                                       for i in range(1, src.RasterCount + 1)) else gdal.GDT_Float32
    out_dtype = np.float64 if out_type == gdal.GDT_Float64 else _F32
    drv = gdal.GetDriverByName(driver)
    if drv is None:
        raise GlasarError(f"GDAL has no driver {driver!r}")
    if creation_options is None:
        creation_options = ["COMPRESS=DEFLATE", "TILED=YES", "BIGTIFF=IF_SAFER"] if driver == "GTiff" else []
    folder = os.path.dirname(os.path.abspath(str(dst_path))) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".glasar_speckle_", suffix=os.path.splitext(str(dst_path))[1] or ".tif",
                               dir=folder)
    os.close(fd)
    halo = filter_halo(name, w)
    xs, ys = src.RasterXSize, src.RasterYSize
    step = max(64, _BLOCK_PIXELS // max(xs, 1))
    total = src.RasterCount * ((ys + step - 1) // step)
    done = 0
    dst = None
    try:
        dst = drv.Create(tmp, xs, ys, src.RasterCount, out_type, creation_options)
        dst.SetGeoTransform(src.GetGeoTransform())
        dst.SetProjection(src.GetProjection())
        md = dict(src.GetMetadata() or {})
        md.update(SPECKLE_FILTER=name, SPECKLE_WINDOW=str(w), SPECKLE_LOOKS=f"{L:g}", SPECKLE_UNITS=units)
        dst.SetMetadata(md)
        for i in range(1, src.RasterCount + 1):
            sb, db = src.GetRasterBand(i), dst.GetRasterBand(i)
            db.SetDescription(sb.GetDescription())
            if sb.GetNoDataValue() is not None:
                db.SetNoDataValue(sb.GetNoDataValue())
            if sb.GetMetadata():
                db.SetMetadata(sb.GetMetadata())
            if sb.GetUnitType():
                db.SetUnitType(sb.GetUnitType())
            for y0 in range(0, ys, step):
                if canceled is not None and canceled():
                    return None
                y1 = min(ys, y0 + step)
                if i not in sar:
                    db.WriteArray(sb.ReadAsArray(0, y0, xs, y1 - y0).astype(out_dtype), 0, y0)
                else:
                    r0, r1 = max(0, y0 - halo), min(ys, y1 + halo)
                    raw, values = _read_band(sb, rows=(r0, r1))
                    power = U.to_power(values, units)
                    if name == "lee_sigma":
                        filtered = lee_sigma(power, w, L, z98=z98[i])
                    else:
                        filtered = apply_speckle_filter(power, name, w, L)
                    out = _from_power(filtered[y0 - r0:y1 - r0], units).astype(out_dtype)
                    keep = ~np.isfinite(out)
                    out[keep] = raw[y0 - r0:y1 - r0][keep]
                    db.WriteArray(out, 0, y0)
                done += 1
                if progress is not None:
                    progress(done / total)
        dst.FlushCache()
        dst = None
        os.replace(tmp, str(dst_path))
        if os.path.exists(tmp + ".aux.xml"):
            os.replace(tmp + ".aux.xml", str(dst_path) + ".aux.xml")
    finally:
        dst = None
        for leftover in (tmp, tmp + ".aux.xml"):
            if os.path.exists(leftover):
                os.remove(leftover)
    return {"units": units, "units_reason": reason, "filter": name, "window": w, "looks": L,
            "filtered": [names[i - 1] for i in sar],
            "untouched": [names[i - 1] for i in range(1, src.RasterCount + 1) if i not in sar],
            "z98": {names[i - 1]: v for i, v in z98.items()}}
