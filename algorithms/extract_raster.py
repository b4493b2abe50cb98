"""Lake extraction from one raster (fused or single pass) over an inventory: the tail of the
maplakes pipeline (window, water, lake selection, polygon, scores) without reading two passes.

With a fused raster from glasar:fuseascdesc this reproduces glasar:maplakes lake by lake.
"""
import numpy as np

from . import GlasarError
from . import lake_geometry as lg, units as U
from .fuse_rasters import backscatter_bands, band_names
from .grid import rasterize, raster_footprint, warp_band
from .pipeline import (MAX_WINDOW_PIXELS, PreparedScene, RESULT_FIELDS, LakeResult, _bounds_polygon,
                       _overview_sample, analysis_grid, coverage_note, extract_and_score, is_mapped,
                       validate_options)
from .sar_io import open_scene
from .thresholds import ALL_THRESHOLD_METHODS


def prepare_raster(path, bands=None, units="auto"):
    """Open the raster, choose bands (given names, else the first backscatter band; all
    backscatter bands for clustering) and settle each band's units once."""
    scene = open_scene(path)
    names = band_names(path)
    chosen = list(bands) if bands else backscatter_bands(path)
    if not chosen:
        raise GlasarError(f"{scene.name}: no backscatter band found (bands: {', '.join(names)})")
    missing = [b for b in chosen if b not in names]
    if missing:
        raise GlasarError(f"{scene.name} has no band {missing[0]!r} (it has {', '.join(names)})")
    band_units = []
    for b in chosen:
        try:
            sample = _overview_sample(path, names.index(b) + 1)
        except RuntimeError as exc:  # the header opened but the pixels do not: a truncated download
            raise GlasarError(f"{scene.name}: GDAL cannot read its pixels, the file is truncated or corrupt "
                              f"({exc})") from None
        try:
            if units == "auto":
                band_units.append(U.detect_units(sample, b)[0])
            else:
                U.check_units(sample, units)
                band_units.append(units)
        except GlasarError as exc:
            raise GlasarError(f"{scene.name} band {b}: {exc}") from None
    srs = lg.srs_from_wkt(scene.srs_wkt)
    metric = bool(srs.IsProjected()) and abs(srs.GetLinearUnits() - 1.0) < 1e-9
    prepared = PreparedScene(scene, band_units[0], "per band", srs, metric)
    return prepared, [names.index(b) + 1 for b in chosen], band_units, chosen


def extract_lake(lake_input, prepared, band_indices, band_units, options, footprint):
    fields = {name: None for name, _ in RESULT_FIELDS}
    fields.update(lake_id=lake_input.lake_id, method=options.method, band=options.band,
                  asc_scene=prepared.scene.name, asc_time=prepared.scene.acquisition_time, desc_time="",
                  passes="input")

    def result(status, wkb=None, **extra):
        fields.update(extra)
        fields["status"] = status
        return LakeResult(lake_input.lake_id, status, dict(fields), wkb)

    try:
        lake_wgs84 = lg.geometry_from_wkb(lake_input.wkb)
        grid, srs, lake, area_km2 = analysis_grid(lake_wgs84, prepared, options)
    except (GlasarError, RuntimeError) as exc:
        return result(f"skipped: {exc}")
    fields["area_ref_km2"] = round(area_km2, 6)
    if area_km2 < options.min_area_km2:
        return result(f"skipped: lake smaller than the minimum area ({options.min_area_km2} km2)")
    if grid.rows * grid.cols > MAX_WINDOW_PIXELS:
        return result(f"skipped: lake window larger than {MAX_WINDOW_PIXELS // 1_000_000} million pixels")
    window = lg.transform_geometry(_bounds_polygon(grid.bounds), srs, lg.WGS84)
    if not footprint.Intersects(window):
        return result("skipped: lake outside the raster")
    bands_db = [U.to_db(warp_band(prepared.scene.path, i, grid), u) for i, u in zip(band_indices, band_units)]
    valid = np.logical_and.reduce([np.isfinite(b) for b in bands_db])
    lake_mask = rasterize(lake, grid)
    if not lake_mask.any():
        lake_mask = rasterize(lake, grid, all_touched=True)
    valid_fraction = float(valid[lake_mask].mean()) if lake_mask.any() else 0.0
    fields["valid_fraction"] = round(valid_fraction, 4)
    if valid_fraction == 0.0:
        return result("skipped: the lake itself is all nodata")
    if options.method in ALL_THRESHOLD_METHODS:
        bands_db = bands_db[:1]  # thresholds use the first band, as the original
    status, extracted, wkb, _, _ = extract_and_score(bands_db, valid, lake, area_km2, grid, srs, options, lake_mask)
    if is_mapped(status):
        status += coverage_note(valid_fraction)
    return result(status, wkb, **extracted)


def extract_lakes(lakes, raster_path, options, bands=None, units="auto", progress=None, is_canceled=None,
                  log=None):
    """Extract every lake from one raster; returns LakeResult list in order, None if cancelled."""
    validate_options(options)
    prepared, indices, band_units, chosen = prepare_raster(raster_path, bands, units)
    if log:
        log(f"{prepared.scene.name}: bands {', '.join(chosen)} in {', '.join(band_units)}")
    footprint = raster_footprint(raster_path, lg.WGS84)
    out = []
    lakes = list(lakes)
    for i, lake in enumerate(lakes):
        if is_canceled and is_canceled():
            return None
        try:
            out.append(extract_lake(lake, prepared, indices, band_units, options, footprint))
        except Exception as exc:  # one lake's failure is its status
            fields = {name: None for name, _ in RESULT_FIELDS}
            fields.update(lake_id=lake.lake_id, status=f"failed: {type(exc).__name__}: {exc}")
            out.append(LakeResult(lake.lake_id, fields["status"], fields, None))
        if progress:
            progress((i + 1) / max(len(lakes), 1))
    return out
