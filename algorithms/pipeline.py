"""Map every lake of an inventory from one ascending and one descending Sentinel-1 raster.

Per lake (Wu et al. 2025 workflow, local numpy/GDAL port):
1. window = lake bounding box grown by 1200*log5(A+1)+100 m, on one metric grid for both
   passes (the ascending raster's own grid when it is metric, else the lake's UTM zone);
2. read just that window of each pass (GDAL warp), convert to linear power, speckle-filter
   (with a margin so the window edge is filtered like the scene), convert to dB;
3. fuse (fusion.fuse_agreement);
4. classify water (dark class), keep the components touching the lake's shrunk interior,
   open/close, fill small holes, polygonise (GDAL) and dissolve;
5. score against the inventory polygon in the metric CRS (IoU, precision, recall, F1).
"""
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, osr

from . import GlasarError
from . import extraction, fusion, lake_geometry as lg, speckle, units as U
from .grid import Grid, make_grid, polygonize, rasterize, raster_footprint, warp_band, with_shared_reads
from .sar_io import band_index, open_scene
from .scores import polygon_scores

BANDS = ("VV", "VH", "both")
# Which passes map the lake: both (fused) or one alone (to compare with single-pass mapping).
PASS_CHOICES = ("both", "ascending", "descending")
STATUS_OK = "ok"


MAX_WINDOW_PIXELS = 25_000_000  # a larger lake window is not a glacial lake (and would not fit in memory)


def is_mapped(status):
    """True for 'ok' and 'ok: <note>' statuses (the lake was mapped)."""
    return status == STATUS_OK or status.startswith(STATUS_OK + ":")


def coverage_note(valid_fraction):
    """': only 60% of the lake has SAR data' when more than a tenth of the lake has no data in any
    pass (a lake crossing the scene edge, nodata): the IoU then counts that part as not mapped and
    cannot exceed the fraction. '' otherwise (valid_fraction says it exactly)."""
    if valid_fraction >= 0.9:
        return ""
    digits = 2 if valid_fraction < 0.01 else 0
    return f": only {valid_fraction:.{digits}%} of the lake has SAR data"


COMBINE_CHOICES = ("mean", "max", "min")  # one fused image per lake (fuseascdesc also offers "all")


@dataclass
class Options:
    method: str = "otsu"
    band: str = "VV"
    units_asc: str = "auto"
    units_desc: str = "auto"
    speckle_filter: str = "refined_lee"
    speckle_window: int = 7
    looks: float = 4.4
    buffer_scale: float = 1.0  # multiplies the original's window margin
    min_area_km2: float = 0.01
    resolution: float = 0.0  # 0: the ascending raster's pixel size when metric, else 10 m
    normalisation: str = "median_offset"
    combine: str = "mean"
    fusion_tolerance_db: float = 6.0  # data-derived distortion: a pass this much brighter is distorted
    min_lake_contrast_db: float = 3.0  # a pass whose lake is not this much darker than its shore is dropped
    max_hole_fraction: float = 0.02  # holes below this share of the lake are speckle, filled
    dem_path: str = ""  # optional DEM: slope correction and layover/shadow masks per window
    slope_model: str = "volume"
    dem_margin_m: float = 3000.0  # DEM read around the window so outside ridges cast their distortion
    dem_resampling: str = "bilinear"
    incidence_deg: float = 39.0  # used for scenes without an angle band (RTC products)
    # BAND=VV or both on rasters that also hold VH: VH adds the wind-roughened water VV misses
    # (extraction.add_wind_roughened_water); VV-only rasters are mapped as before
    crosspol_rough_water: bool = True
    passes: str = "both"  # PASS_CHOICES: "ascending"/"descending" map from that pass alone, no fusion
    seed: int = 0


@dataclass
class LakeInput:
    lake_id: str
    wkb: bytes  # polygon in EPSG:4326, lon/lat order


@dataclass
class LakeResult:
    lake_id: str
    status: str
    fields: dict = field(default_factory=dict)
    wkb: bytes = None  # mapped (multi)polygon in EPSG:4326, lon/lat order, or None
    arrays: dict = field(default_factory=dict)  # window rasters for reports (when asked)


@dataclass
class PreparedScene:
    scene: object
    units: str
    units_reason: str
    srs: object
    metric: bool


def _overview_sample(path, band, max_side=512):
    """Decimated read of a whole band (cheap: GDAL uses overviews or strided reads)."""
    ds = gdal.Open(str(path))
    b = ds.GetRasterBand(band)
    scale = max(ds.RasterXSize, ds.RasterYSize) / max_side
    bx = max(1, int(ds.RasterXSize / max(scale, 1)))
    by = max(1, int(ds.RasterYSize / max(scale, 1)))
    a = b.ReadAsArray(buf_xsize=bx, buf_ysize=by).astype(np.float64)
    nd = b.GetNoDataValue()
    if nd is not None:
        a[a == nd] = np.nan
    return a


def prepare_scene(path, units="auto", role="scene"):
    """Open a SAR raster, settle its units (detected or checked) once for the whole run."""
    scene = open_scene(path)
    try:
        sample = _overview_sample(path, band_index(scene, "VV" if "VV" in scene.bands else sorted(scene.bands)[0]))
    except RuntimeError as exc:  # header readable, pixels not: a truncated download or a corrupt file
        raise GlasarError(f"{role} {scene.name}: GDAL cannot read its pixels, the file is truncated or "
                          f"corrupt ({exc})") from None
    try:
        if units == "auto":
            units, reason = U.detect_units(sample, scene.units_hint)
        else:
            U.check_units(sample, units)
            reason = "set by the user"
    except GlasarError as exc:
        raise GlasarError(f"{role} {scene.name}: {exc}") from None
    srs = lg.srs_from_wkt(scene.srs_wkt)
    metric = bool(srs.IsProjected()) and abs(srs.GetLinearUnits() - 1.0) < 1e-9
    return PreparedScene(scene, units, reason, srs, metric)


def check_overlap(asc, desc):
    """Raise unless the two rasters overlap (compared in WGS 84)."""
    fa = raster_footprint(asc.scene.path, lg.WGS84)
    fd = raster_footprint(desc.scene.path, lg.WGS84)
    if not fa.Intersects(fd):
        raise GlasarError(
            f"the ascending ({asc.scene.name}) and descending ({desc.scene.name}) rasters do not overlap"
        )
    return fa, fd


def _bands_for(option_band, asc, desc):
    if option_band == "both":
        bands = [b for b in ("VV", "VH") if b in asc.scene.bands and b in desc.scene.bands]
        if not bands:
            raise GlasarError("BAND=both needs VV or VH in both rasters")
        return bands
    for s in (asc, desc):
        band_index(s.scene, option_band)  # clear error if missing
    return [option_band]


def _read_pass(prepared, band, grid, options, margin_px):
    """Window of one band as filtered dB on grid (reads grid + margin, filters, crops)."""
    big = Grid(grid.srs_wkt, grid.x0 - margin_px * grid.res, grid.y0 + margin_px * grid.res,
               grid.res, grid.rows + 2 * margin_px, grid.cols + 2 * margin_px)
    raw = warp_band(prepared.scene.path, band_index(prepared.scene, band), big)
    power = U.to_power(raw, prepared.units)
    filtered = speckle.apply_speckle_filter(power, options.speckle_filter, options.speckle_window, options.looks)
    db = U.power_to_db(filtered)
    if margin_px:
        db = db[margin_px:-margin_px, margin_px:-margin_px]
    return db


def analysis_grid(lake_wgs84, asc, options):
    """Metric grid of the lake's window and the metric SRS it lives in."""
    if asc.metric:
        srs = asc.srs
        gt = asc.scene.geotransform
        res = options.resolution or abs(gt[1])
        align = (gt[0], gt[3]) if not options.resolution else (None, None)
    else:
        srs = lg.local_metric_srs(lake_wgs84)
        res = options.resolution or 10.0
        align = (None, None)
    lake = lg.transform_geometry(lake_wgs84, lg.WGS84, srs)
    area_km2 = lake.GetArea() / 1e6
    margin = lg.aoi_buffer_m(area_km2) * options.buffer_scale
    grid = make_grid(lg.analysis_bounds(lake, margin), srs.ExportToWkt(), res, *align)
    return grid, srs, lake, area_km2


@with_shared_reads  # the window's bands of one raster share its decoded blocks
def map_lake(lake_input, asc, desc, options, footprints=None, keep_arrays=False):
    """Map one lake. Never raises for lake-level problems: they become the result's status."""
    base_fields = {
        "lake_id": lake_input.lake_id, "method": options.method, "band": options.band,
        "asc_time": asc.scene.acquisition_time, "desc_time": desc.scene.acquisition_time,
        "area_pred_km2": None, "area_ref_km2": None, "iou": None, "precision": None,
        "recall": None, "f1": None, "threshold_db": None, "valid_fraction": None,
        "asc_scene": asc.scene.name, "desc_scene": desc.scene.name,
        "passes": None, "contrast_asc": None, "contrast_desc": None,
        "distorted_asc": None, "distorted_desc": None, "distorted_fused": None,
        "layover_shadow_asc": None, "layover_shadow_desc": None,
    }

    def result(status, wkb=None, arrays=None, **extra):
        f = dict(base_fields, **extra)
        f["status"] = status
        return LakeResult(lake_input.lake_id, status, f, wkb, arrays or {})

    try:
        lake_wgs84 = lg.geometry_from_wkb(lake_input.wkb)
    except GlasarError as exc:
        return result(f"skipped: {exc}")
    try:
        grid, srs, lake, area_km2 = analysis_grid(lake_wgs84, asc, options)
    except (GlasarError, RuntimeError) as exc:
        return result(f"skipped: {exc}")
    base_fields["area_ref_km2"] = round(area_km2, 6)
    if area_km2 < options.min_area_km2:
        return result(f"skipped: lake smaller than the minimum area ({options.min_area_km2} km2)")
    if grid.rows * grid.cols > MAX_WINDOW_PIXELS:
        return result(f"skipped: lake window larger than {MAX_WINDOW_PIXELS // 1_000_000} million pixels")
    if footprints is not None:
        window_wgs = lg.transform_geometry(_bounds_polygon(grid.bounds), srs, lg.WGS84)
        if not any(fp.Intersects(window_wgs) for fp in footprints):
            return result("skipped: lake outside both scenes")

    try:
        bands = _bands_for(options.band, asc, desc)
        margin_px = max(options.speckle_window, 7) // 2 + 1
        if options.band == "VV" and options.crosspol_rough_water and all("VH" in s.scene.bands for s in (asc, desc)):
            bands = bands + ["VH"]
        asc_db = [_read_pass(asc, b, grid, options, margin_px) for b in bands]
        desc_db = [_read_pass(desc, b, grid, options, margin_px) for b in bands]
    except GlasarError as exc:
        return result(f"skipped: {exc}")

    dem_masks, terrain_note, terrain = None, "", None
    if options.dem_path:
        from . import terrain_window

        try:
            terrain = terrain_window.window_terrain(options.dem_path, grid, {"asc": asc, "desc": desc}, options)
            dem_masks = (terrain["masks"]["asc"], terrain["masks"]["desc"])
            flat_a = [terrain_window.flatten(a, asc, terrain, "asc", grid, options.slope_model) for a in asc_db]
            flat_d = [terrain_window.flatten(d, desc, terrain, "desc", grid, options.slope_model) for d in desc_db]
            asc_db, desc_db = [f for f, _ in flat_a], [f for f, _ in flat_d]
        except GlasarError as exc:
            terrain_note = f" (mapped without terrain: {exc})"

    lake_mask = rasterize(lake, grid)
    if lake_mask.sum() == 0:
        lake_mask = rasterize(lake, grid, all_touched=True)
    passes, note, contrasts = _usable_passes(asc_db[0], desc_db[0], lake_mask, grid.res, options)
    if options.passes != "both":  # single-pass mapping: the chosen pass whether it shows the lake or not
        passes, note = options.passes, f": {options.passes} pass only"
    note += terrain_note
    base_fields.update(passes=passes, contrast_asc=contrasts[0], contrast_desc=contrasts[1])
    if passes == "descending":
        asc_db = [np.full_like(a, np.nan) for a in asc_db]
    elif passes == "ascending":
        desc_db = [np.full_like(d, np.nan) for d in desc_db]

    fused, sources, masks = [], None, None
    normalisation = options.normalisation if passes == "ascending+descending" else "none"  # one pass: nothing to align
    for a, d in zip(asc_db, desc_db):
        f, s, info = fusion.fuse(a, d, *(dem_masks or (None, None)), normalisation=normalisation,
                                 how=options.combine, brightening_tolerance_db=options.fusion_tolerance_db,
                                 keep_db=True)
        fused.append(f)
        if sources is None:
            sources, masks = s, (info["mask_asc"], info["mask_desc"])
    crosspol = (fused[bands.index("VH")] if options.crosspol_rough_water and "VH" in bands and bands[0] != "VH"
                else None)
    if options.band == "VV" and crosspol is not None:
        fused = fused[:1]
    valid = np.logical_and.reduce([np.isfinite(f) for f in fused])
    valid_fraction = float(valid[lake_mask].mean()) if lake_mask.any() else 0.0
    base_fields["valid_fraction"] = round(valid_fraction, 4)
    if not valid.any():
        return result("skipped: no valid SAR pixels in the lake window (outside both scenes or all nodata)")
    if valid_fraction == 0.0:
        return result("skipped: the lake itself is all nodata in both passes")
    if lake_mask.any():
        gap_a = ~np.isfinite(asc_db[0]) | (masks[0] > 0)
        gap_d = ~np.isfinite(desc_db[0]) | (masks[1] > 0)
        if dem_masks is not None:
            base_fields.update(layover_shadow_asc=round(float((dem_masks[0][lake_mask] > 0).mean()), 4),
                               layover_shadow_desc=round(float((dem_masks[1][lake_mask] > 0).mean()), 4))
        base_fields.update(
            distorted_asc=round(float(gap_a[lake_mask].mean()), 4),
            distorted_desc=round(float(gap_d[lake_mask].mean()), 4),
            distorted_fused=round(float(np.isin(sources[lake_mask], (fusion.SOURCE_NODATA,
                                                                      fusion.SOURCE_DISTORTED)).mean()), 4),
        )

    status, extracted, wkb, water, mapped = extract_and_score(fused, valid, lake, area_km2, grid, srs, options,
                                                              lake_mask, crosspol)
    arrays = {}
    if keep_arrays:
        arrays = {"grid": grid, "asc_db": asc_db[0], "desc_db": desc_db[0], "fused_db": fused[0],
                  "source": sources, "water": water, "mapped": mapped, "lake_mask": lake_mask,
                  "ls_asc": masks[0], "ls_desc": masks[1]}
    hidden = _lake_not_shown(passes, contrasts, options.min_lake_contrast_db)
    if is_mapped(status) and hidden:  # whatever dark pixels the method found, they are not this lake
        return result(f"no water found: {hidden}", None, arrays, threshold_db=extracted.get("threshold_db"))
    if coverage_note(valid_fraction):
        note = (note + ";" if note else ":") + coverage_note(valid_fraction)[1:]
    if is_mapped(status):
        status += note
    return result(status, wkb, arrays, **extracted)


def _lake_not_shown(passes, contrasts, min_contrast_db):
    """'' when a pass used shows the lake darker than its shore, else why not. The pass check
    (_usable_passes) drops a pass that does not show the lake when the other does; when no pass
    used shows it (a drained, frozen or spurious inventory lake, or one both passes hide), the
    method's dark pixels in the window are something else (wet snow, shadow) and the lake is
    reported as not found instead of mapped. An unknown contrast (too few pixels) never rejects."""
    used = {"ascending+descending": ("ascending", "descending")}.get(passes, (passes,))
    values = {"ascending": contrasts[0], "descending": contrasts[1]}
    shown = [values[p] is None or values[p] >= min_contrast_db for p in used]
    if any(shown):
        return ""
    text = " / ".join(f"{values[p]:.1f}" for p in used)
    where = "either pass" if len(used) == 2 else f"the {used[0]} pass"
    return (f"the lake is not at least {min_contrast_db:g} dB darker than its shore in {where} (contrast "
            f"{text} dB): drained, frozen or hidden")


def extract_and_score(bands_db, valid, lake, area_km2, grid, srs, options, lake_mask=None, crosspol_db=None):
    """Water (dark class) -> lake regions touching the interior -> open/close, small holes
    filled -> GDAL polygon -> scores against the reference lake (metric CRS srs). crosspol_db
    (VH on the same grid, optional) adds the wind-roughened water VV misses.

    Returns (status, fields, wkb in EPSG:4326 or None, water mask, mapped mask).
    """
    fields = {}
    try:
        water, info = extraction.classify_water(bands_db, valid, options.method, options.seed, lake_mask)
    except extraction.NoWaterFound as exc:
        return f"no water found: {exc}", fields, None, None, None
    except GlasarError as exc:
        return f"skipped: {exc}", fields, None, None, None
    t = info.get("threshold_db")
    fields["threshold_db"] = None if t is None or math.isnan(t) else round(t, 3)
    interior = lg.lake_interior(lake, area_km2)
    interior_mask = rasterize(interior, grid, all_touched=True)
    cleaned = extraction.open_close(water)
    mapped = extraction.select_lake(cleaned, interior_mask)
    if not mapped.any():
        return "no water found: no dark water touches the lake interior", fields, None, water, mapped
    mapped, t_split = extraction.split_lake_region(mapped, bands_db[0], interior_mask)
    if crosspol_db is not None and t is not None and not math.isnan(t):  # wind-roughened water, from VH
        t_lake = t if t_split is None else t_split  # VV water of the lake: below the split when split
        mapped = extraction.add_wind_roughened_water(mapped, bands_db[0], t_lake, crosspol_db,
                                                     valid & np.isfinite(crosspol_db), interior_mask)
    max_hole = max(4, int(options.max_hole_fraction * mapped.sum()))
    mapped = extraction.fill_small_holes(mapped, max_hole)
    mapped = extraction.refine_shore(mapped, bands_db[0], valid)
    polygon = polygonize(mapped, grid)
    scores = polygon_scores(polygon, lake)
    wkb = bytes(lg.transform_geometry(polygon, srs, lg.WGS84).ExportToWkb()) if polygon is not None else None
    fields.update(
        area_pred_km2=round(scores.area_pred_km2, 6), area_ref_km2=round(scores.area_ref_km2, 6),
        iou=round(scores.iou, 4), precision=round(scores.precision, 4), recall=round(scores.recall, 4),
        f1=round(scores.f1, 4),
    )
    return STATUS_OK, fields, wkb, water, mapped


def _status_only(lake_input, options, status):
    fields = {name: None for name, _ in RESULT_FIELDS}
    fields.update(lake_id=lake_input.lake_id, method=options.method, band=options.band, status=status)
    return LakeResult(lake_input.lake_id, status, fields, None)


_window_counter = itertools.count()


def map_lake_from_catalogue(lake_input, source, tmpdir, options, keep_arrays=False):
    """Map one lake with scenes chosen for its window from a catalogue (scenes.select_area:
    per pass the fully covering scene closest to the middle date, else the per-pixel median
    'synthesis'), written as padded window files and mapped like a fixed pair."""
    import os

    from . import scenes

    try:
        lake_wgs84 = lg.geometry_from_wkb(lake_input.wkb)
    except GlasarError as exc:
        return _status_only(lake_input, options, f"skipped: {exc}")
    sels = scenes.select_area(source.catalogue, lake_wgs84, source.start, source.end,
                              relative_orbit=source.relative_orbit, platform=source.platform,
                              max_nodata_fraction=source.max_nodata_fraction, buffer_scale=options.buffer_scale,
                              resolution=options.resolution)
    chosen = []
    for role in ("ASCENDING", "DESCENDING"):
        sel = sels.get(role)
        if sel is None or sel.status == "none":
            why = sel.message if sel is not None else "no scene of that pass"
            return _status_only(lake_input, options, f"skipped: no {role.lower()} scene ({why})")
        chosen.append(sel)
    margin = max(options.speckle_window, 7) // 2 + 1
    # digits only: a file name is a units hint, and random hex can spell "db"
    stem = os.path.join(tmpdir, f"{os.getpid()}_{next(_window_counter)}")
    paths = [f"{stem}_asc.tif", f"{stem}_desc.tif"]
    try:
        for sel, path in zip(chosen, paths):
            scenes.write_selection(sel, path, pad_px=margin)
        asc = prepare_scene(paths[0], options.units_asc, "ascending window")
        desc = prepare_scene(paths[1], options.units_desc, "descending window")
        res = map_lake(lake_input, asc, desc, options, None, keep_arrays=keep_arrays)
    finally:
        for sel in chosen:
            sel.release()
        for path in paths:
            if os.path.exists(path):
                os.remove(path)
    for key, sel in (("asc", chosen[0]), ("desc", chosen[1])):
        res.fields[f"{key}_scene"] = ("synthesis of " if sel.synthesis else "") + "+".join(sel.source_ids)
        res.fields[f"{key}_time"] = sel.acquisition_time
    return res


def _usable_passes(asc_db, desc_db, lake_mask, res, options):
    """Which passes show the lake: ('ascending+descending' | 'ascending' | 'descending', status
    note, (contrast_asc, contrast_desc)). The contrast is the shore's median dB minus the lake
    interior's (interior: the lake eroded by one pixel; shore: a 200 m ring starting two pixels
    outside). A pass below min_lake_contrast_db while the other is above it does not show the
    lake (e.g. layover from the valley wall over the whole lake) and is dropped."""
    from scipy import ndimage

    inside = ndimage.distance_transform_edt(lake_mask) * res
    outside = ndimage.distance_transform_edt(~lake_mask) * res
    interior = inside > res
    ring = (outside > 2 * res) & (outside <= 2 * res + 200.0)
    ca = fusion.lake_contrast_db(asc_db, interior, ring)
    cd = fusion.lake_contrast_db(desc_db, interior, ring)
    rounded = (None if np.isnan(ca) else round(ca, 2), None if np.isnan(cd) else round(cd, 2))
    t = options.min_lake_contrast_db
    shows_a, shows_d = (not np.isnan(ca)) and ca >= t, (not np.isnan(cd)) and cd >= t
    if shows_d and not shows_a and not np.isnan(ca):
        return "descending", f": ascending pass dropped (lake not dark in it, contrast {ca:.1f} dB)", rounded
    if shows_a and not shows_d and not np.isnan(cd):
        return "ascending", f": descending pass dropped (lake not dark in it, contrast {cd:.1f} dB)", rounded
    return "ascending+descending", "", rounded


def _bounds_polygon(bounds):
    from osgeo import ogr

    xmin, ymin, xmax, ymax = bounds
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in ((xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax), (xmin, ymin)):
        ring.AddPoint_2D(x, y)
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    return poly


def validate_options(options):
    if options.method not in extraction.METHODS:
        raise GlasarError(f"unknown method {options.method!r}; choose one of {', '.join(extraction.METHODS)}")
    if options.band not in BANDS:
        raise GlasarError(f"unknown band {options.band!r}; choose one of {', '.join(BANDS)}")
    if options.speckle_filter not in speckle.FILTERS:
        raise GlasarError(f"unknown speckle filter {options.speckle_filter!r}")
    if options.passes not in PASS_CHOICES:
        raise GlasarError(f"unknown passes {options.passes!r}; choose one of {', '.join(PASS_CHOICES)}")
    if options.normalisation not in fusion.NORMALISATIONS:
        raise GlasarError(f"unknown normalisation {options.normalisation!r}")
    if options.combine not in COMBINE_CHOICES:
        raise GlasarError(f"unknown combination {options.combine!r}; choose one of {', '.join(COMBINE_CHOICES)}")
    if options.dem_path:
        from .slope_correction import MODELS

        if options.slope_model not in MODELS:
            raise GlasarError(f"unknown slope model {options.slope_model!r}; choose one of {', '.join(MODELS)}")
        try:  # unreadable DEM or no CRS: a run-level error (metadata only, no pixels read)
            ds = gdal.Open(str(options.dem_path))
        except RuntimeError as exc:
            raise GlasarError(f"cannot open DEM {options.dem_path}: {exc}") from None
        if ds is None or not ds.GetProjection():
            raise GlasarError(f"DEM {options.dem_path} has no coordinate reference system")


def check_run(asc, desc, options, log=None):
    """Run-level checks on prepared scenes: pass tags, required bands (clear errors)."""
    for role, p in (("ascending", asc), ("descending", desc)):
        if log:
            log(f"{role}: {p.scene.name}, units {p.units} ({p.units_reason}), "
                f"time {p.scene.acquisition_time or 'unknown'}")
        if p.scene.orbit_pass and p.scene.orbit_pass != role.upper():
            raise GlasarError(f"{p.scene.name} is a {p.scene.orbit_pass.lower()} scene but was given as {role}")
    _bands_for(options.band, asc, desc)  # a missing band is a run-level error, not 80 lake statuses


def map_lakes(lakes, asc_path, desc_path, options, progress=None, is_canceled=None, log=None):
    """Map every lake in this process; yields LakeResult in inventory order.

    progress(fraction), is_canceled() and log(message) are optional callbacks; cancelling
    stops between lakes. Raises GlasarError for run-level problems (unreadable rasters,
    units contradicted by the data, rasters that do not overlap, a missing band).
    See inventory_run.run_inventory for worker processes and the resumable journal.
    """
    validate_options(options)
    asc = prepare_scene(asc_path, options.units_asc, "ascending raster")
    desc = prepare_scene(desc_path, options.units_desc, "descending raster")
    check_run(asc, desc, options, log)
    footprints = check_overlap(asc, desc)
    lakes = list(lakes)
    for i, lake in enumerate(lakes):
        if is_canceled and is_canceled():
            return
        yield map_lake(lake, asc, desc, options, footprints)
        if progress:
            progress((i + 1) / max(len(lakes), 1))


RESULT_FIELDS = (
    ("lake_id", str), ("method", str), ("band", str), ("asc_scene", str), ("desc_scene", str),
    ("asc_time", str), ("desc_time", str),
    ("area_pred_km2", float), ("area_ref_km2", float), ("iou", float), ("precision", float),
    ("recall", float), ("f1", float), ("threshold_db", float), ("valid_fraction", float),
    ("passes", str), ("contrast_asc", float), ("contrast_desc", float),
    ("distorted_asc", float), ("distorted_desc", float), ("distorted_fused", float),
    ("layover_shadow_asc", float), ("layover_shadow_desc", float), ("status", str),
)


def srs_wkt_wgs84():
    return osr.SpatialReference(lg.WGS84.ExportToWkt()).ExportToWkt()
