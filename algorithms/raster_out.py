"""Write rasters whole or not at all: a temporary file in the target folder, then a rename."""
import os
import tempfile

import numpy as np
from osgeo import gdal

from . import GlasarError
from .grid import Grid

gdal.UseExceptions()

_DRIVERS = {".tif": "GTiff", ".tiff": "GTiff", ".vrt": None, ".img": "HFA", ".nc": "netCDF"}
_TYPES = {np.dtype(np.float32): gdal.GDT_Float32, np.dtype(np.float64): gdal.GDT_Float64,
          np.dtype(np.uint8): gdal.GDT_Byte, np.dtype(np.int16): gdal.GDT_Int16,
          np.dtype(np.uint16): gdal.GDT_UInt16, np.dtype(np.int32): gdal.GDT_Int32}


def grid_of_raster(path):
    """The Grid of an existing north-up raster with square pixels."""
    ds = gdal.Open(str(path))
    gt = ds.GetGeoTransform()
    if gt[2] != 0 or gt[4] != 0:
        raise GlasarError(f"{path}: rotated rasters are not supported; warp it north-up first")
    if abs(abs(gt[1]) - abs(gt[5])) > 1e-6 * abs(gt[1]):
        raise GlasarError(f"{path}: pixels are not square ({gt[1]} x {abs(gt[5])}); resample it first")
    return Grid(ds.GetProjection(), gt[0], gt[3], abs(gt[1]), ds.RasterYSize, ds.RasterXSize)


def write_raster(path, bands, grid, names=None, nodata=None, metadata=None, options=None):
    """Write a list of 2-D arrays (one dtype) as a GeoTIFF on grid, atomically.

    names: band descriptions; nodata: value set on every band (NaN allowed for floats);
    metadata: dataset tags (dict of str).
    """
    if not bands:
        raise GlasarError("nothing to write")
    dtype = np.asarray(bands[0]).dtype
    if dtype not in _TYPES:
        raise GlasarError(f"unsupported raster type {dtype}")
    folder = os.path.dirname(os.path.abspath(str(path))) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".glasar_", suffix=".tif", dir=folder)
    os.close(fd)
    try:
        creation = options or ["COMPRESS=DEFLATE", "TILED=YES", "BIGTIFF=IF_SAFER"]
        ds = gdal.GetDriverByName("GTiff").Create(tmp, grid.cols, grid.rows, len(bands), _TYPES[dtype], creation)
        ds.SetGeoTransform(grid.geotransform)
        ds.SetProjection(grid.srs_wkt)
        for i, arr in enumerate(bands, start=1):
            b = ds.GetRasterBand(i)
            if nodata is not None:
                b.SetNoDataValue(float(nodata))
            b.WriteArray(np.asarray(arr, dtype=dtype))
            if names:
                b.SetDescription(str(names[i - 1]))
        if metadata:
            ds.SetMetadata({str(k): str(v) for k, v in metadata.items()})
        ds.FlushCache()
        ds = None
        os.replace(tmp, str(path))
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return str(path)
