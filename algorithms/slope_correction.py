"""Radiometric slope correction of Sentinel-1 backscatter (sigma0 -> terrain-flattened gamma0).

Geometry (see :mod:`terrain`): range slope ``alpha_r`` and azimuth slope ``alpha_az`` from the
metric DEM gradient projected on the look direction (``tan(alpha_r) = grad(h) . u``, positive
when the slope faces the sensor), ellipsoid incidence ``theta`` per pixel.

Radiometry (linear power): ``gamma0 = sigma0 / cos(theta)`` (ellipsoid), then

* ``volume`` (Vollrath et al. 2020, after Hoekman & Reiche 2015):
  ``SCF = tan(90 - theta + alpha_r) / tan(90 - theta)``, ``gamma0_flat = gamma0 / SCF =
  gamma0 tan(theta - alpha_r) / tan(theta)`` - exactly the ratio of the flat to the true
  projected (gamma) area of a slant-range cell;
* ``surface`` (Vollrath et al. 2020, after Ulander 1996):
  ``SCF = cos(90 - theta) / (cos(alpha_az) cos(90 - theta + alpha_r))``, i.e.
  ``gamma0_flat = gamma0 cos(alpha_az) sin(theta - alpha_r) / sin(theta)``;
* ``area`` (Small 2011, terrain flattening by projected illuminated area, along range lines):
  the power of each slant-range bin is normalised by the sum of the illuminated areas, projected
  normal to the look direction, of *all* ground facets that fold into that bin:
  ``gamma0_T = beta0 A_beta / A_gamma,T = gamma0 A_gamma,flat / A_gamma,T``. On each range line
  a facet between two samples covers the slant-range interval between their ``r'`` values and
  its projected (gamma) area is its extent in the ray coordinate ``q'`` (``dq = (cos(theta) +
  sin(theta) dh/dg) dg`` per unit azimuth width; the azimuth tilt cancels). Only the part above
  the running maximum of ``q'`` is illuminated (shadowed facets add nothing). The areas are
  spread uniformly over each facet's slant-range interval and integrated over the bin of each
  pixel (the slant range of a flat facet of one sample at the pixel's height). Without layover
  or shadow this equals the volume model exactly in the continuum limit
  (``tan(theta) / tan(theta - alpha_r)``); in layover it stays finite and shares the folded
  power among the facets that produced it, which the angular models cannot. Bins with less than
  ``min_area_ratio`` of the flat area (shadow, Small 2011) are nodata.

Angle-test masks (Vollrath et al. 2020, 'RS' variant of the original): ``layover`` where
``alpha_r > theta``, ``shadow`` where ``alpha_r < -(90 - theta)`` (1 = distorted). The local
incidence angle is ``acos(n . l)`` with the facet normal n and the unit vector l towards the
sensor: ``cos = (cos(theta) + sin(theta) tan(alpha_r)) / sqrt(1 + tan^2 alpha_r + tan^2 alpha_az)``
(Vollrath's ``cos(alpha_az) cos(theta - alpha_r)`` is its small-tilt form).

Sign convention (tested): a slope facing the sensor gets darker after correction and is
flagged layover once its range slope exceeds the incidence; a flat DEM changes nothing but
sigma0 -> gamma0.
"""
import math

import numpy as np

from . import GlasarError
from .terrain import RangeLines, check_incidence, line_sensor_geometry, mean_spacing, range_azimuth_slopes, \
    slant_and_ray
from .units import db_to_power, power_to_db

MODELS = ("volume", "surface", "area")
POLARISATIONS = ("VV", "VH", "HH", "HV")
MIN_AREA_RATIO = 0.05
_BLOCK = 64


def band_names(pols):
    """Output band order: sigma0, incAngle, localIncAngle, gamma0, gamma0_flatDB, masks."""
    names = [f"{p}_sigma0" for p in pols] + ["incAngle", "localIncAngle"]
    names += [f"{p}_gamma0" for p in pols] + [f"{p}_gamma0_flatDB" for p in pols]
    return names + ["layover", "shadow"]


def _extend_lines(h, g, extra=2):
    """Pad every line (row of h) with ``extra`` samples on both sides and extrapolate each
    line linearly (from its two outermost valid samples) over up to ``extra`` missing samples
    beyond its ends, so the slant-range bins of the first and last samples are fully covered.
    Returns (h_ext, g_ext)."""
    m, n = h.shape
    step = g[1] - g[0]
    he = np.full((m, n + 2 * extra), np.nan)
    he[:, extra:extra + n] = h
    ge = np.concatenate([g[0] - step * np.arange(extra, 0, -1), g, g[-1] + step * np.arange(1, extra + 1)])
    ne = n + 2 * extra
    j = np.arange(ne)[None, :]
    rows = np.broadcast_to(np.arange(m)[:, None], he.shape)
    valid = np.isfinite(he)
    last = np.maximum.accumulate(np.where(valid, j, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(valid, j, ne)[:, ::-1], axis=1)[:, ::-1]
    out = he.copy()
    for ref, sgn, mask in ((last, -1, ~valid & (last >= 0) & (j - last <= extra)),
                           (nxt, 1, ~valid & (nxt < ne) & (nxt - j <= extra))):
        mask = mask & ~np.isfinite(out)
        r0 = ref[mask]
        nb = np.clip(r0 + sgn, 0, ne - 1)
        h0 = he[rows[mask], r0]
        h1 = he[rows[mask], nb]
        slope = np.where(np.isfinite(h1), h0 - h1, 0.0)  # per sample, pointing outwards
        out[mask] = h0 + slope * np.abs(j.repeat(m, 0)[mask] - r0)
    return out, ge


def _area_ratio_lines(h, g, step, tan0, g0, kappa):
    """A_gamma,T / A_gamma,flat for every sample of a block of lines (rows of h)."""
    m, n = h.shape
    hf, ge = _extend_lines(h, g)
    r, q = slant_and_ray(ge, hf, tan0, g0, kappa)
    qmax = np.fmax.accumulate(q, axis=1)
    r0, r1 = r[:, :-1], r[:, 1:]
    q0, q1, mq = q[:, :-1], q[:, 1:], qmax[:, :-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = q1 - mq  # illuminated q-extent of each facet
        ok = np.isfinite(w) & (w > 0) & np.isfinite(r0) & np.isfinite(r1)
        w = np.where(ok, w, 0.0)
        t0 = np.where(ok, np.clip((mq - q0) / np.where(q1 != q0, q1 - q0, 1.0), 0.0, 1.0), 0.0)
        ra = np.where(ok, r0 + t0 * (r1 - r0), 0.0)
        rb = np.where(ok, r1, 0.0)
    lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
    width = hi - lo
    point = ok & (width <= 1e-6 * step)  # a facet seen edge-on: all its area at one range
    dens = np.where(ok & ~point, w / np.where(point | ~ok, 1.0, width), 0.0)
    mid = 0.5 * (lo + hi)
    # Events (position, slope change, jump) sorted per line; F(x) = J + S x - M.
    pos = np.concatenate([np.where(point, mid, lo), np.where(point, mid, hi)], axis=1)
    slope = np.concatenate([dens, -dens], axis=1)
    jump = np.concatenate([np.where(point, w, 0.0), np.zeros_like(w)], axis=1)
    order = np.argsort(pos, axis=1, kind="stable")
    pos = np.take_along_axis(pos, order, axis=1)
    slope = np.take_along_axis(slope, order, axis=1)
    jump = np.take_along_axis(jump, order, axis=1)
    cs = np.cumsum(slope, axis=1)
    cm = np.cumsum(slope * pos, axis=1)
    cj = np.cumsum(jump, axis=1)
    # Bin of each sample: slant range of a flat facet of one step at the sample's height.
    half = 0.5 * step
    e_lo, q_lo = slant_and_ray(g - half, h, tan0, g0, kappa)
    e_hi, q_hi = slant_and_ray(g + half, h, tan0, g0, kappa)
    flat = q_hi - q_lo
    k = pos.shape[1]
    span = np.nanmax(np.abs(np.concatenate([pos.ravel(), e_lo[np.isfinite(e_lo)], e_hi[np.isfinite(e_hi)]])))
    big = 4.0 * (span + 1.0)
    offs = (np.arange(m, dtype=np.float64) * big)[:, None]
    flat_pos = (pos + offs).ravel()

    def integral(x):
        xs = np.where(np.isfinite(x), x, 0.0)
        i = np.searchsorted(flat_pos, (xs + offs).ravel(), side="right") - 1
        i = i.reshape(x.shape)
        inside = i >= (np.arange(m) * k)[:, None]
        ii = np.where(inside, i, 0)
        val = cj.ravel()[ii] + cs.ravel()[ii] * xs - cm.ravel()[ii]
        return np.where(inside, val, 0.0)

    with np.errstate(invalid="ignore", divide="ignore"):
        area = integral(e_hi) - integral(e_lo)
        ratio = area / flat
    ratio[~np.isfinite(h)] = np.nan
    return ratio


def projected_area_ratio(dem, spacing, look_azimuth_deg, incidence_deg):
    """Small (2011) area ratio ``A_gamma,T / A_gamma,flat`` per grid pixel, along range lines.

    ``gamma0_T = gamma0_ellipsoid / ratio``. 1 on flat ground, ``tan(theta)/tan(theta - alpha_r)``
    on an unfolded slope, the sum over all folded facets in layover, ~0 in shadow.
    """
    h = np.asarray(dem, dtype=np.float64)
    inc = check_incidence(incidence_deg)
    lines = RangeLines(h.shape, spacing, look_azimuth_deg)
    hl = lines.to_lines(h, dtype=np.float64)
    if inc.ndim == 0:
        theta0, g0, kappa = line_sensor_geometry(lines, inc)
    else:
        theta0, g0, kappa = line_sensor_geometry(lines, lines.to_lines(inc, dtype=np.float64))
    tan0 = np.tan(theta0)
    out = np.empty(hl.shape, dtype=np.float64)
    for m0 in range(0, lines.n_lines, _BLOCK):
        sl = slice(m0, m0 + _BLOCK)
        blk = np.ascontiguousarray(hl[:, sl].T)
        out[:, sl] = _area_ratio_lines(blk, lines.g, lines.step, tan0[sl], g0[sl], kappa[sl]).T
    return lines.to_grid(out)


def _as_bands(sigma0_db):
    if isinstance(sigma0_db, dict):
        bands = {k: np.asarray(v, dtype=np.float32) for k, v in sigma0_db.items()}
    else:
        bands = {"VV": np.asarray(sigma0_db, dtype=np.float32)}
    if not bands:
        raise GlasarError("no backscatter band to correct")
    for k in bands:
        if k not in POLARISATIONS:
            raise GlasarError(f"unknown polarisation {k!r}; use {', '.join(POLARISATIONS)}")
    return bands


def slope_correct(sigma0_db, incidence_deg, dem_on_grid, res, look_azimuth_deg, model="volume",
                  min_area_ratio=MIN_AREA_RATIO):
    """Terrain-flatten sigma0 (dB) on a north-up grid. Returns an ordered dict of float32 bands.

    sigma0_db: 2-D array (taken as VV) or dict {'VV': ..., 'VH': ...} in dB, NaN = nodata.
    incidence_deg: ellipsoid incidence, scalar or 2-D (the ``angle`` band).
    dem_on_grid: heights (m) on the same grid (:func:`terrain.resample_dem`).
    res: metric pixel size, scalar or (dx, dy) (dx may vary per row on lon/lat grids).
    look_azimuth_deg: grid azimuth of the look direction (:func:`terrain.look_azimuth`).
    model: 'volume', 'surface' or 'area' (module doc).

    Bands: ``<P>_sigma0`` (dB, as given), ``incAngle`` (deg), ``localIncAngle`` (deg),
    ``<P>_gamma0`` (dB), ``<P>_gamma0_flatDB`` (dB; NaN where undefined: layover (SCF <= 0) and
    active shadow for the angular models, bins with less than ``min_area_ratio`` of the flat
    illuminated area for ``area``), ``layover``, ``shadow`` (angle tests, 1 = distorted, NaN
    where the DEM is missing).
    """
    if model not in MODELS:
        raise GlasarError(f"unknown slope-correction model {model!r}; use one of {', '.join(MODELS)}")
    bands = _as_bands(sigma0_db)
    h = np.asarray(dem_on_grid, dtype=np.float64)
    shape = h.shape
    for k, v in bands.items():
        if v.shape != shape:
            raise GlasarError(f"{k} band shape {v.shape} differs from the DEM window {shape}")
    inc = check_incidence(incidence_deg)
    if inc.ndim == 2 and inc.shape != shape:
        raise GlasarError("incidence array shape differs from the DEM window")
    theta = np.radians(np.broadcast_to(inc, shape).astype(np.float64))
    tan_r, tan_az = range_azimuth_slopes(h, res, look_azimuth_deg)
    alpha_r, alpha_az = np.arctan(tan_r), np.arctan(tan_az)
    with np.errstate(invalid="ignore"):
        cos_lia = (np.cos(theta) + np.sin(theta) * tan_r) / np.sqrt(1.0 + tan_r ** 2 + tan_az ** 2)
        lia = np.degrees(np.arccos(np.clip(cos_lia, -1.0, 1.0)))
        layover = alpha_r > theta
        shadow = alpha_r < -(0.5 * math.pi - theta)
    dem_ok = np.isfinite(h) & np.isfinite(tan_r)
    if model == "area":
        ratio = projected_area_ratio(h, res, look_azimuth_deg, inc)
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = np.where(ratio >= min_area_ratio, 1.0 / ratio, np.nan)
    elif model == "volume":
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = np.tan(theta - alpha_r) / np.tan(theta)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = np.cos(alpha_az) * np.sin(theta - alpha_r) / np.sin(theta)
    if model != "area":
        factor = np.where(shadow, np.nan, factor)  # facing away beyond grazing: no signal
    factor = np.where(dem_ok & (factor > 0), factor, np.nan)
    out = {}
    for p, v in bands.items():
        out[f"{p}_sigma0"] = v
    out["incAngle"] = np.degrees(theta).astype(np.float32)
    out["localIncAngle"] = np.where(dem_ok, lia, np.nan).astype(np.float32)
    gammas = {}
    for p, v in bands.items():
        g0 = db_to_power(v).astype(np.float64) / np.cos(theta)
        gammas[p] = g0
        out[f"{p}_gamma0"] = power_to_db(g0)
    for p in bands:
        out[f"{p}_gamma0_flatDB"] = power_to_db(gammas[p] * factor)
    out["layover"] = np.where(dem_ok, layover, np.nan).astype(np.float32)
    out["shadow"] = np.where(dem_ok, shadow, np.nan).astype(np.float32)
    return {k: out[k] for k in band_names(list(bands))}
