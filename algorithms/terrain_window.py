"""Terrain for one lake window and pass: look direction, incidence, layover/shadow, slope correction.

Used by the maplakes pipeline when a DEM is given (issue: terrain into the pipeline):
- the DEM is resampled onto the lake grid grown by ``dem_margin_m`` on every side, so ridges
  outside the window still cast their layover and shadow into it (a ridge of relief H lays
  over ~H cot(theta) and shadows ~H tan(theta) of flat ground: 3 km covers 1,700 m of relief
  at theta = 30 deg);
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


def expand(grid, margin_m):
    m = int(math.ceil(margin_m / grid.res))
    return Grid(grid.srs_wkt, grid.x0 - m * grid.res, grid.y0 + m * grid.res, grid.res,
                grid.rows + 2 * m, grid.cols + 2 * m), m


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
        local = s1.local_from_platform_heading(scene.heading, lon, lat, incidence_deg)
        return look_azimuth(local, grid.srs_wkt, cx, cy), "HEADING tag (platform heading)"
    orbit_pass = scene.orbit_pass or role.upper()
    platform = s1.heading_from_pass_latitude(orbit_pass, lat)
    local = s1.local_from_platform_heading(platform, lon, lat, incidence_deg)
    return look_azimuth(local, grid.srs_wkt, cx, cy), f"orbit model for a {orbit_pass.lower()} pass"


def pass_incidence(prepared, grid, fallback_deg):
    """Ellipsoid incidence on grid: the scene's angle band, else its INCIDENCE_CENTRE tag, else
    the fallback (deg, scalar)."""
    scene = prepared.scene
    if "angle" in scene.bands:
        inc = warp_band(scene.path, scene.bands["angle"], grid, "bilinear")
        if np.isfinite(inc).any():
            fill = float(np.nanmedian(inc))
            return np.where(np.isfinite(inc), inc, fill).astype(np.float64), "angle band"
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
    big, m = expand(grid, options.dem_margin_m)
    dem_big = resample_dem(dem_path, big, options.dem_resampling)
    crop = (slice(m, m + grid.rows), slice(m, m + grid.cols))
    out = {"dem": dem_big[crop], "masks": {}, "looks": {}, "incidence": {}, "notes": []}
    for key, prepared in passes.items():
        inc_big, inc_src = pass_incidence(prepared, big, options.incidence_deg)
        inc_centre = float(np.median(inc_big)) if np.ndim(inc_big) else inc_big
        look, look_src = pass_look_azimuth(prepared, grid, "ascending" if key == "asc" else "descending", inc_centre)
        mask = layover_shadow_mask(dem_big, grid.res, look, inc_big)[crop]
        mask[mask == NODATA] = 0
        out["masks"][key] = mask
        out["looks"][key] = look
        out["incidence"][key] = inc_big[crop] if np.ndim(inc_big) else inc_big
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
