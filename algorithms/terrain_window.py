"""Terrain for one lake window and pass: look direction, incidence, layover/shadow, slope correction.

Used by the maplakes pipeline when a DEM is given (issue: terrain into the pipeline):
- the DEM is resampled onto the lake grid grown by ``dem_margin_m`` along the look directions
  of the passes (up-range and down-range; across range only as far as the range lines through
  the window drift), so ridges outside the window still cast their layover and shadow into it
  (a ridge of relief H lays over ~H cot(theta) and shadows ~H tan(theta) of flat ground: 3 km
  covers 1,700 m of relief at theta = 30 deg). The mask of a pixel depends only on its own range
  line, so terrain beside the window across range is never needed;
- the incidence (``angle`` band) is read on the window only and extended over the DEM grid by
  a least-squares plane of tan(incidence) in map coordinates (the IW incidence changes by
  ~0.064 deg per km, smoothly: a plane holds to ~0.001 deg over a few km);
- per pass, the range-line layover/shadow mask (layover_shadow.layover_shadow_mask) is cropped
  back to the window;
- sigma0 scenes (with an ``angle`` band, not already terrain-flattened) are slope-corrected
  (slope_correction.slope_correct, Vollrath et al. 2020 volume/surface or Small 2011 area);
  RTC gamma0 products (ASF HyP3) are left as they are.

Look direction, in this order: the raster's LOOK_AZIMUTH tag (grid azimuth in its own CRS, as
the GLaSAR simulator writes), HEADING_LOCAL (heading at the scene, deg from true north), HEADING
(platform heading, Sentinel-1 annotation convention, carried to the scene), the gradient of the
``angle`` band, or the pass and latitude (orbit model). Always converted to the grid azimuth of
the analysis CRS (meridian convergence).
"""
import math

import numpy as np
from osgeo import osr

from . import GlasarError
from . import lake_geometry as lg
from . import s1_metadata as s1
from .grid import Grid, warp_band
from .layover_shadow import NODATA, layover_shadow_mask
from .slope_correction import slope_correct
from .terrain import look_azimuth, resample_dem

DEFAULT_INCIDENCE_DEG = 39.0  # mid-swath of Sentinel-1 IW (30-46 deg), when a scene has no angle band


def _grid_centre_lonlat(grid):
    x0, y0, x1, y1 = grid.bounds
    srs = lg.srs_from_wkt(grid.srs_wkt)
    ct = osr.CoordinateTransformation(srs, lg.WGS84)
    lon, lat, _ = ct.TransformPoint(0.5 * (x0 + x1), 0.5 * (y0 + y1))
    return lon, lat, 0.5 * (x0 + x1), 0.5 * (y0 + y1)


def look_from_platform_heading(platform_heading, srs_wkt, x, y, incidence_deg):
    """Grid azimuth of the look direction at (x, y) for a Sentinel-1 platform heading (annotation
    ``platformHeading``, deg from true north at the nadir track): the along-track direction at the
    scene (s1_metadata.local_from_platform_heading: 2.2 deg apart at 28 N, 4.5 deg at 47 N for a
    mid-swath incidence of 38 deg), then true north to grid north plus 90 deg (right-looking)."""
    if platform_heading is None or not math.isfinite(platform_heading):
        return look_azimuth(platform_heading)  # raises: the heading is unknown
    ct = osr.CoordinateTransformation(lg.srs_from_wkt(srs_wkt), lg.WGS84)
    lon, lat, _ = ct.TransformPoint(float(x), float(y))
    local = s1.local_from_platform_heading(platform_heading, lon, lat, incidence_deg)
    return look_azimuth(local, srs_wkt, x, y)


def _tag(scene, *keys):
    md = {k.upper(): v for k, v in (scene.metadata or {}).items()}
    for k in keys:
        v = md.get(k)
        if v not in (None, ""):
            try:
                return float(v)
            except ValueError:
                continue
    return None


def expand_along(grid, margin_m, look_azimuths_deg):
    """Grid grown so that every range line through the window reaches ``margin_m`` beyond it in
    both directions for every look azimuth: margins ``margin_m |sin(phi)|`` east-west and
    ``margin_m |cos(phi)|`` north-south (+1 px). Returns (grid, row margin, column margin)."""
    sx = max(abs(math.sin(math.radians(a))) for a in look_azimuths_deg)
    sy = max(abs(math.cos(math.radians(a))) for a in look_azimuths_deg)
    mc = int(math.ceil(margin_m * sx / grid.res)) + 1
    mr = int(math.ceil(margin_m * sy / grid.res)) + 1
    return Grid(grid.srs_wkt, grid.x0 - mc * grid.res, grid.y0 + mr * grid.res, grid.res,
                grid.rows + 2 * mr, grid.cols + 2 * mc), mr, mc


def incidence_plane(inc, grid, big, row0, col0):
    """Extend a window incidence field (deg, NaN = unknown) to the grid ``big`` that holds the
    window at (row0, col0): least-squares plane of ``tan(incidence)`` in pixel coordinates over
    the known values (tan(theta) linear in ground range: the flat-earth point sensor that
    layover_shadow fits per range line). Returns (window field with its gaps filled, field on
    big), in degrees."""
    known = np.isfinite(inc)
    r, c = np.nonzero(known)
    v = np.tan(np.radians(inc[known].astype(np.float64)))
    if v.size >= 3 and np.ptp(r) + np.ptp(c) > 0:
        a = np.column_stack([np.ones(v.size), r - r.mean(), c - c.mean()])
        coef, *_ = np.linalg.lstsq(a, v, rcond=None)
        rm, cm = r.mean() + row0, c.mean() + col0
        rows = coef[0] + coef[1] * (np.arange(big.rows) - rm)
        cols = coef[2] * (np.arange(big.cols) - cm)
        full = rows[:, None] + cols[None, :]
    else:
        full = np.full(big.shape, float(np.median(v)))
    full = np.degrees(np.arctan(full))
    window = full[row0:row0 + grid.rows, col0:col0 + grid.cols]
    return np.where(known, inc, window), full


def pass_look_azimuth(prepared, grid, role, incidence_deg):
    """(grid azimuth of the look direction in grid's CRS, how it was found)."""
    scene = prepared.scene
    lon, lat, cx, cy = _grid_centre_lonlat(grid)
    look = _tag(scene, "LOOK_AZIMUTH")
    if look is not None and lg.srs_from_wkt(scene.srs_wkt).IsSame(lg.srs_from_wkt(grid.srs_wkt)):
        return look % 360.0, "LOOK_AZIMUTH tag"
    local = _tag(scene, "HEADING_LOCAL")
    if local is not None:
        return look_azimuth(local, grid.srs_wkt, cx, cy), "HEADING_LOCAL tag"
    if scene.heading is not None and np.isfinite(scene.heading):
        return (look_from_platform_heading(scene.heading, grid.srs_wkt, cx, cy, incidence_deg),
                "HEADING tag (platform heading)")
    orbit_pass = scene.orbit_pass or role.upper()
    platform = s1.heading_from_pass_latitude(orbit_pass, lat)
    return (look_from_platform_heading(platform, grid.srs_wkt, cx, cy, incidence_deg),
            f"orbit model for a {orbit_pass.lower()} pass")


def pass_incidence(prepared, grid, fallback_deg):
    """Ellipsoid incidence on grid: the scene's angle band (NaN where the scene has none), else
    its INCIDENCE_CENTRE tag, else the fallback (deg, scalar)."""
    scene = prepared.scene
    if "angle" in scene.bands:
        inc = warp_band(scene.path, scene.bands["angle"], grid, "bilinear")
        if np.isfinite(inc).any():
            return inc.astype(np.float64), "angle band"
    tagged = _tag(scene, "INCIDENCE_CENTRE", "INCIDENCE")
    if tagged is not None:
        return float(tagged), "INCIDENCE tag"
    return float(fallback_deg), f"{fallback_deg:g} deg (no angle band)"


def is_sigma0(prepared):
    """True for sigma0 scenes that still need slope correction (an angle band, not RTC gamma0)."""
    scene = prepared.scene
    text = " ".join([scene.name, str((scene.metadata or {}).get("QUANTITY", ""))]).lower()
    if "gamma0" in text or "rtc" in text:
        return False
    return "angle" in scene.bands


def window_terrain(dem_path, grid, passes, options):
    """DEM and per-pass geometry and layover/shadow masks for one lake window.

    passes: {'asc': PreparedScene, 'desc': PreparedScene}. Returns a dict with 'dem' (window),
    'masks' {'asc', 'desc'} (uint8 bitmasks, 0 where the DEM has no data), 'looks',
    'incidence' (window arrays or scalars) and 'notes'.
    """
    geometry = {}
    for key, prepared in passes.items():
        inc, inc_src = pass_incidence(prepared, grid, options.incidence_deg)
        inc_centre = float(np.nanmedian(inc)) if np.ndim(inc) else inc
        look, look_src = pass_look_azimuth(prepared, grid, "ascending" if key == "asc" else "descending", inc_centre)
        geometry[key] = (inc, inc_src, look, look_src)
    big, mr, mc = expand_along(grid, options.dem_margin_m, [g[2] for g in geometry.values()])
    dem_big = resample_dem(dem_path, big, options.dem_resampling)
    crop = (slice(mr, mr + grid.rows), slice(mc, mc + grid.cols))
    out = {"dem": dem_big[crop], "masks": {}, "looks": {}, "incidence": {}, "notes": []}
    for key, (inc, inc_src, look, look_src) in geometry.items():
        if np.ndim(inc):
            inc, inc_big = incidence_plane(inc, grid, big, mr, mc)
        else:
            inc_big = inc
        mask = layover_shadow_mask(dem_big, grid.res, look, inc_big,
                                   window=(mr, mr + grid.rows, mc, mc + grid.cols))
        mask[mask == NODATA] = 0
        out["masks"][key] = mask
        out["looks"][key] = look
        out["incidence"][key] = inc
        out["notes"].append(f"{key}: look azimuth {look:.1f} deg ({look_src}), incidence {inc_src}")
    return out


def flatten(db, prepared, terrain, key, grid, model):
    """Slope-corrected gamma0 (dB) of a sigma0 window; unchanged for RTC products."""
    if not is_sigma0(prepared):
        return db, False
    bands = slope_correct({"VV": db}, terrain["incidence"][key], terrain["dem"], grid.res,
                          terrain["looks"][key], model)
    flat = bands.get("VV_gamma0_flatDB")
    if flat is None:
        raise GlasarError("slope correction returned no VV_gamma0_flatDB band")
    return np.asarray(flat, dtype=np.float32), True
