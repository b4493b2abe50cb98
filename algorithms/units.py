"""Backscatter units: detection (dB, linear power, linear amplitude), checks and conversion.

Conventions: power is sigma0/gamma0 intensity (linear); amplitude is its square root (HyP3
``amp`` products); dB is ``10*log10(power) = 20*log10(amplitude)``. Nodata is NaN everywhere
in GLaSAR arrays; non-positive linear values are nodata (log undefined).
"""
import re

import numpy as np

from . import GlasarError

UNITS = ("auto", "db", "power", "amplitude")

# Radar backscatter in dB lies within about [-50, +30]; linear power of natural surfaces is
# below ~10 except for point targets. Used only to reject impossible declarations.
_DB_RANGE = (-60.0, 40.0)


def units_from_text(text):
    """Units named in metadata or a file name ('db', 'power', 'amplitude') or None."""
    t = (text or "").lower()
    if re.search(r"(^|[^a-z])(db|decibel)s?([^a-z]|$)", t):
        return "db"
    if re.search(r"(^|[^a-z])(amp|amplitude)([^a-z]|$)", t):
        return "amplitude"
    if re.search(r"(^|[^a-z])(pow|power|intensity|linear)([^a-z]|$)", t):
        return "power"
    return None


def _finite_sample(values, max_n=200_000):
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size > max_n:  # a regular subsample is enough for statistics and keeps it O(1)
        v = v[:: v.size // max_n + 1]
    return v


def detect_units(values, hint_text=""):
    """Guess the units of backscatter values. Returns ``(units, reason)``.

    Rules, in order: a clear share of negative values means dB (linear power and amplitude
    are never negative); then units named in the metadata or file name; otherwise positive
    values are taken as power (the ASF HyP3 and SNAP default) and the reason says so.
    Raises GlasarError when there is nothing to judge.
    """
    v = _finite_sample(values)
    v_nonzero = v[v != 0]
    if v_nonzero.size == 0:
        raise GlasarError("cannot detect units: the raster has no valid (finite, non-zero) values")
    negative_share = float(np.mean(v_nonzero < 0))
    named = units_from_text(hint_text)
    if negative_share > 0.01:
        return "db", f"{100 * negative_share:.0f}% of values are negative, so the data are in dB"
    if named in ("power", "amplitude"):
        return named, f"metadata/file name says {named}"
    if named == "db":
        # Named dB but all positive: only plausible for very bright scenes; checked later.
        return "db", "metadata/file name says dB"
    return "power", "all values are positive and no unit is named: taken as linear power"


def check_units(values, units):
    """Reject a unit declaration the values contradict (a wrong guess must not pass silently)."""
    if units not in ("db", "power", "amplitude"):
        raise GlasarError(f"unknown units {units!r}; use one of db, power, amplitude")
    v = _finite_sample(values)
    v = v[v != 0]
    if v.size == 0:
        raise GlasarError("the raster window has no valid values (all nodata)")
    if units in ("power", "amplitude"):
        negative_share = float(np.mean(v < 0))
        if negative_share > 0.005:
            raise GlasarError(
                f"values declared as linear {units} but {100 * negative_share:.1f}% are negative: "
                "these look like dB values; set UNITS=db (or auto)"
            )
    else:
        lo, hi = np.percentile(v, [1, 99])
        if lo < _DB_RANGE[0] or hi > _DB_RANGE[1]:
            raise GlasarError(
                f"values declared as dB span {lo:.3g}..{hi:.3g}, outside the plausible backscatter "
                f"range {_DB_RANGE[0]:.0f}..{_DB_RANGE[1]:.0f} dB"
            )
        if lo >= 0 and np.median(v) < 2.0:
            raise GlasarError(
                "values declared as dB are all positive and mostly below 2: these look like linear "
                "power or amplitude; set UNITS=power, amplitude or auto"
            )


def to_db(values, units):
    """Convert to dB (float32); non-positive linear values and non-finite values become NaN."""
    a = np.asarray(values, dtype=np.float32)
    if units == "db":
        return np.where(np.isfinite(a), a, np.nan).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = np.where((a > 0) & np.isfinite(a), a, np.nan)  # +inf is nodata too
        factor = 10.0 if units == "power" else 20.0
        return (factor * np.log10(positive)).astype(np.float32)


def to_power(values, units):
    """Convert to linear power (float32), NaN for nodata."""
    a = np.asarray(values, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        if units == "power":
            return np.where((a > 0) & np.isfinite(a), a, np.nan).astype(np.float32)
        if units == "amplitude":
            return np.where((a > 0) & np.isfinite(a), a * a, np.nan).astype(np.float32)
        return np.where(np.isfinite(a), np.power(np.float32(10.0), a / np.float32(10.0), dtype=np.float32),
                        np.nan).astype(np.float32)


def db_to_power(db):
    return np.power(np.float32(10.0), np.asarray(db, dtype=np.float32) / np.float32(10.0))


def power_to_db(power):
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.asarray(power, dtype=np.float32)
        return (10.0 * np.log10(np.where((p > 0) & np.isfinite(p), p, np.nan))).astype(np.float32)
