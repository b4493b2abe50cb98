"""Speckle filters on linear power with nodata (NaN) that never bleeds.

Every filter takes and returns linear power (float32, NaN = nodata); callers convert from
and back to their units. Windows that contain nodata use only their valid pixels.
"""
import numpy as np
from scipy import ndimage

from . import GlasarError

FILTERS = ("none", "boxcar")


def masked_window_mean(image, size):
    """Mean over a size x size window of the valid (finite) pixels; NaN where none is valid."""
    valid = np.isfinite(image)
    filled = np.where(valid, image, 0).astype(np.float64)
    total = ndimage.uniform_filter(filled, size, mode="constant")
    count = ndimage.uniform_filter(valid.astype(np.float64), size, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return np.where(count > 1e-9, mean, np.nan).astype(np.float32)


def boxcar(power, window=7):
    """Boxcar (moving average) of linear power over valid pixels; nodata stays nodata."""
    out = masked_window_mean(power, int(window))
    return np.where(np.isfinite(power), out, np.nan).astype(np.float32)


def apply_speckle_filter(power, name="boxcar", window=7, looks=4.4):
    """Filter linear power with the named filter. ``looks`` is the equivalent number of looks."""
    if name == "none":
        return np.asarray(power, dtype=np.float32)
    if name == "boxcar":
        return boxcar(power, window)
    raise GlasarError(f"unknown speckle filter {name!r}; choose one of {', '.join(FILTERS)}")
