"""Histogram thresholds for water (the dark class).

Every function takes a 1-D array of finite values (dB) and returns a threshold t such that
water = values < t (values equal to t go to the bright class).
"""
import numpy as np

from . import GlasarError

THRESHOLD_METHODS = ("otsu",)


def histogram(values, bins=256, value_range=None):
    """Counts and bin centres of finite values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        raise GlasarError("too few valid pixels for a histogram")
    counts, edges = np.histogram(v, bins=bins, range=value_range)
    return counts.astype(np.float64), 0.5 * (edges[:-1] + edges[1:]), edges


def otsu_from_histogram(counts, centres):
    """Otsu (1979): the split maximising the between-class variance
    sigma_B^2(k) = (mu_T w(k) - mu(k))^2 / (w(k) (1 - w(k))), w and mu cumulative
    (normalised) weight and first moment. Returns the upper edge index k of the dark class;
    splits that leave one class empty are excluded (the original's i = N term is not)."""
    p = counts / counts.sum()
    w = np.cumsum(p)
    mu = np.cumsum(p * centres)
    mu_t = mu[-1]
    denom = w * (1.0 - w)
    valid = (w > 0) & (denom > 1e-12)
    between = np.zeros_like(w)
    between[valid] = (mu_t * w[valid] - mu[valid]) ** 2 / denom[valid]
    if not valid.any():
        raise GlasarError("constant image: Otsu needs two classes")
    return int(np.argmax(between))


def otsu(values, bins=256):
    """Otsu threshold: the upper edge of the dark class's last bin."""
    counts, centres, edges = histogram(values, bins)
    k = otsu_from_histogram(counts, centres)
    return float(edges[k + 1])


def threshold(values, method="otsu", **kwargs):
    if method == "otsu":
        return otsu(values, **kwargs)
    raise GlasarError(f"unknown threshold method {method!r}")
