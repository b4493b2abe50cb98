"""Raster-level fusion (glasar:fuseascdesc): read both passes onto the ascending grid, convert
each band to dB, fuse with fusion.fuse and write the fused bands and the source codes."""
import numpy as np
from osgeo import gdal

from . import GlasarError
from . import fusion, units as U
from .grid import warp_band
from .raster_out import grid_of_raster, write_raster
from .sar_io import open_scene

# Bands that describe geometry or masks, not backscatter: never fused.
_NOT_BACKSCATTER = ("angle", "incangle", "localincangle", "local_incidence", "layover", "shadow",
                    "mask", "height", "elevation", "dem", "x", "y", "longitude", "latitude")


def band_names(path):
    """Band names: descriptions, else what sar_io recognises (a HyP3 '*_VV.tif' band is VV),
    else 'band<i>'."""
    ds = gdal.Open(str(path))
    try:
        recognised = {i: n for n, i in open_scene(path).bands.items()}
    except GlasarError:
        recognised = {}
    return [(ds.GetRasterBand(i).GetDescription() or recognised.get(i) or f"band{i}")
            for i in range(1, ds.RasterCount + 1)]


def backscatter_bands(path):
    return [n for n in band_names(path) if n.lower() not in _NOT_BACKSCATTER]


def _band_db(path, index, name, grid, units, resampling, role):
    try:
        values = warp_band(path, index, grid, resampling=resampling)
    except RuntimeError as exc:  # the header opened but the pixels do not: a truncated download
        raise GlasarError(f"the {role} raster {path}: GDAL cannot read its pixels, the file is truncated or "
                          f"corrupt ({exc})") from None
    if not np.isfinite(values).any():
        if role == "ascending":  # read on its own grid: nothing to do with overlap
            raise GlasarError(f"the ascending raster {path} has no valid pixel in band {name} (all nodata)")
        raise GlasarError(f"the descending raster {path} has no valid pixel on the ascending grid in band {name}: "
                          "the rasters do not overlap (or it is all nodata)")
    if units == "auto":
        units, _ = U.detect_units(values, name)
    else:
        U.check_units(values, units)
    return U.to_db(values, units)


def fuse_rasters(asc_path, desc_path, out_path, source_path=None, asc_mask_path=None, desc_mask_path=None,
                 bands=None, normalisation="median_offset", combine="mean", units="auto",
                 brightening_tolerance_db=None, progress=None):
    """Fuse two rasters band by band on the ascending raster's grid; returns a summary dict.

    Output bands are named '<band>_<mean|max|min>' (all three for combine='all'), values in
    dB (z-scores after the zscore / histogram_matching normalisations).
    """
    for role, path in (("ascending", asc_path), ("descending", desc_path)):
        if not gdal.Open(str(path)).GetProjection():  # else a misleading 'no band' or 'no overlap'
            raise GlasarError(f"the {role} raster {path} has no coordinate reference system")
    grid = grid_of_raster(asc_path)
    names_a, names_d = band_names(asc_path), band_names(desc_path)
    wanted = list(bands) if bands else [n for n in backscatter_bands(asc_path) if n in names_d]
    if not wanted:
        raise GlasarError(f"no band to fuse: ascending has {names_a}, descending has {names_d}")
    for n in wanted:
        for role, names in (("ascending", names_a), ("descending", names_d)):
            if n not in names:
                raise GlasarError(f"the {role} raster has no band {n!r} (it has {', '.join(names)})")
    mask_a = mask_d = None
    if asc_mask_path:
        mask_a = np.nan_to_num(warp_band(asc_mask_path, 1, grid, "nearest", src_nodata=255), nan=0).astype(np.uint8)
    if desc_mask_path:
        mask_d = np.nan_to_num(warp_band(desc_mask_path, 1, grid, "nearest", src_nodata=255), nan=0).astype(np.uint8)
    hows = ("mean", "max", "min") if combine == "all" else (combine,)
    out_bands, out_names, source, figures = [], [], None, {}
    for k, name in enumerate(wanted):
        a = _band_db(asc_path, names_a.index(name) + 1, name, grid, units, "nearest", "ascending")
        d = _band_db(desc_path, names_d.index(name) + 1, name, grid, units, "bilinear", "descending")
        if not np.isfinite(a).any() or not np.isfinite(d).any():
            raise GlasarError(f"band {name}: one pass has no valid pixel on the common grid (rasters do not overlap?)")
        if not (np.isfinite(a) & np.isfinite(d)).any():
            raise GlasarError("the ascending and descending rasters do not overlap")
        for how in hows:
            fused, src, info = fusion.fuse(a, d, mask_a, mask_d, normalisation, how, brightening_tolerance_db)
            out_bands.append(fused)
            out_names.append(f"{name}_{how}")
            if source is None:
                source = src
        figures[name] = {k2: v for k2, v in info.items() if not k2.startswith("mask")}
        if progress:
            progress((k + 1) / len(wanted))
    write_raster(out_path, out_bands, grid, out_names, nodata=np.nan,
                 metadata={"NORMALIZATION": normalisation, "COMBINE": combine, "UNITS": "dB"})
    if source_path:
        write_raster(source_path, [source], grid, ["fusion_source"], nodata=None,
                     metadata={"CODES": "0 nodata, 1 ascending only, 2 descending only, 3 both, 4 no clean pass"})
    counts = np.bincount(source.ravel(), minlength=5)
    return {"bands": out_names, "source_counts": counts.tolist(), "figures": figures}
