"""Water classification and lake selection on one window.

Water is the dark class. The lake is the set of connected water components (8-connected)
that touch the inventory lake's shrunk interior (the original's rule: Wu et al. 2025 pick the
regions containing a point inside the lake; here every component touching the interior is
kept), cleaned by a morphological opening then closing (3x3, as the original's 10 m kernel)
and with small holes (speckle inside the water) filled.
"""
import numpy as np
from scipy import ndimage

from . import GlasarError
from .clustering import CLUSTER_METHODS, cluster_water, equivalent_threshold
from .snic import SNIC_METHODS, snic_kmeans_water
from .thresholds import ALL_THRESHOLD_METHODS, threshold_image

METHODS = ALL_THRESHOLD_METHODS + CLUSTER_METHODS + SNIC_METHODS
# Water in C-band VV rarely exceeds -10 dB, land rarely falls below -25 dB: a threshold
# outside [-30, -8] dB means the window has no water/land contrast worth mapping.
PLAUSIBLE_THRESHOLD_DB = (-30.0, -8.0)
_STRUCTURE_8 = np.ones((3, 3), dtype=bool)


class NoWaterFound(Exception):
    """The method found no plausible water at the lake (reported as the lake's status)."""


def classify_water(bands_db, valid, method="otsu", seed=0, lake_mask=None):
    """Water mask of a window.

    bands_db: list of 2-D dB arrays (first = the band thresholds use, normally VV); valid:
    pixels usable in every band; lake_mask: the inventory lake on the window (edge_otsu's
    prior). Threshold methods use only the first band, as the original; clustering and SNIC
    use all bands. Returns (water mask, {'threshold_db': t}); for clusterers t is the
    first-band value that best reproduces their split. Raises NoWaterFound when the method
    finds no two-class structure or the split lies outside the plausible dB range.
    """
    if valid.sum() < 10:
        raise GlasarError("fewer than 10 valid pixels in the window")
    first = bands_db[0]
    lo, hi = PLAUSIBLE_THRESHOLD_DB
    if method in ALL_THRESHOLD_METHODS:
        t = threshold_image(first, valid, method, lake_mask=lake_mask)
        if not lo <= t <= hi:
            raise NoWaterFound(f"{method} threshold {t:.1f} dB is outside the plausible {lo:.0f}..{hi:.0f} dB")
        with np.errstate(invalid="ignore"):
            return valid & (first < t), {"threshold_db": t}
    if method in CLUSTER_METHODS:
        water = np.zeros(valid.shape, dtype=bool)
        water[valid] = cluster_water(np.stack([b[valid] for b in bands_db], axis=1), method, seed=seed)
    elif method in SNIC_METHODS:
        water = snic_kmeans_water(bands_db, valid, with_bands=(method == "snic_kmeans_with_bands"), seed=seed)
    else:
        raise GlasarError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    t = equivalent_threshold(first[valid], water[valid])
    if not water.any() or not lo <= t <= hi:
        raise NoWaterFound(f"{method}: the dark cluster splits the first band at {t:.1f} dB, outside the "
                           f"plausible {lo:.0f}..{hi:.0f} dB")
    return water, {"threshold_db": t}


def open_close(mask):
    """Morphological opening then closing with a 3x3 square (the original's 10 m kernel).
    The window edge is padded by replication so it neither erodes nor grows."""
    padded = np.pad(mask, 1, mode="edge")
    m = ndimage.binary_opening(padded, structure=_STRUCTURE_8)
    m = ndimage.binary_closing(m, structure=_STRUCTURE_8)
    return m[1:-1, 1:-1]


def fill_small_holes(mask, max_hole_px):
    """Fill holes (background regions not connected to the window edge) of at most
    max_hole_px pixels: speckle and wind patches inside a lake, not real islands."""
    filled = ndimage.binary_fill_holes(mask)
    holes = filled & ~mask
    labels, n = ndimage.label(holes)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    small = sizes <= max_hole_px
    small[0] = False
    return mask | small[labels]


def select_lake(water, interior):
    """Connected water components (8-connected) touching the interior mask."""
    labels, n = ndimage.label(water, structure=_STRUCTURE_8)
    if n == 0:
        return np.zeros_like(water)
    hit = np.unique(labels[interior & (labels > 0)])
    if hit.size == 0:
        return np.zeros_like(water)
    keep = np.zeros(n + 1, dtype=bool)
    keep[hit] = True
    return keep[labels]
