"""Analysis grids: window reads with GDAL warp (never a whole scene), rasterise, polygonise."""
import contextlib
import functools
import math
import os
import threading
from dataclasses import dataclass

import numpy as np
from osgeo import gdal, ogr, osr

from . import GlasarError
from .lake_geometry import srs_from_wkt

gdal.UseExceptions()

RESAMPLING = {"nearest": "near", "bilinear": "bilinear", "cubic": "cubic", "average": "average"}


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS (WKT), origin, square pixel size and shape (rows, cols)."""

    srs_wkt: str
    x0: float
    y0: float
    res: float
    rows: int
    cols: int

    @property
    def geotransform(self):
        return (self.x0, self.res, 0.0, self.y0, 0.0, -self.res)

    @property
    def bounds(self):
        return self.x0, self.y0 - self.rows * self.res, self.x0 + self.cols * self.res, self.y0

    @property
    def shape(self):
        return self.rows, self.cols

    def xy(self):
        """Pixel-centre coordinates (x of each column, y of each row)."""
        xs = self.x0 + (np.arange(self.cols) + 0.5) * self.res
        ys = self.y0 - (np.arange(self.rows) + 0.5) * self.res
        return xs, ys


def make_grid(bounds, srs_wkt, res, align_x=None, align_y=None):
    """Grid covering bounds (xmin, ymin, xmax, ymax) at res, snapped to an existing pixel
    lattice (align_x, align_y) when given so that no resampling shift is introduced."""
    xmin, ymin, xmax, ymax = bounds
    if not (res > 0) or xmax <= xmin or ymax <= ymin:
        raise GlasarError("empty analysis window")
    ax = 0.0 if align_x is None else align_x
    ay = 0.0 if align_y is None else align_y
    x0 = ax + math.floor((xmin - ax) / res) * res
    y0 = ay + math.ceil((ymax - ay) / res) * res
    cols = int(math.ceil((xmax - x0) / res - 1e-9))
    rows = int(math.ceil((y0 - ymin) / res - 1e-9))
    return Grid(srs_wkt, x0, y0, float(res), rows, cols)


_OPEN = threading.local()


@contextlib.contextmanager
def shared_reads():
    """Within the block, :func:`warp_band` keeps every raster it opens open (in this thread),
    so several bands and windows of one raster (a lake window's VV, VH and angle bands) decode
    its compressed blocks once (GDAL's block cache). Everything is closed when the block ends."""
    if getattr(_OPEN, "datasets", None) is not None:  # nested: the outer block owns the cache
        yield
        return
    _OPEN.datasets = {}
    try:
        yield
    finally:
        _OPEN.datasets = None


def with_shared_reads(fn):
    """Decorator: run ``fn`` inside :func:`shared_reads`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with shared_reads():
            return fn(*args, **kwargs)
    return wrapper


def _open(path):
    cache = getattr(_OPEN, "datasets", None)
    if cache is None:
        return gdal.Open(str(path))
    ds = cache.get(str(path))
    if ds is None:
        ds = cache[str(path)] = gdal.Open(str(path))
    return ds


_SAME_CRS = {}  # (path, size, mtime, grid CRS) -> bool


def _same_crs(src, path, srs_wkt):
    """True when src's CRS is srs_wkt. Kept per file (size and modification time) and grid CRS:
    GDAL rebuilds the WKT on every GetProjection call (~0.5 ms for a GeoTIFF, twice per lake)."""
    try:
        st = os.stat(path)
        key = (str(path), st.st_size, st.st_mtime_ns, srs_wkt)
    except OSError:  # not a plain file (e.g. /vsi paths): ask GDAL every time
        key = None
    if key is not None and key in _SAME_CRS:
        return _SAME_CRS[key]
    wkt = src.GetProjection()
    same = bool(wkt) and (wkt == srs_wkt or srs_from_wkt(wkt).IsSame(srs_from_wkt(srs_wkt)))
    if key is not None:
        if len(_SAME_CRS) > 1000:
            _SAME_CRS.clear()
        _SAME_CRS[key] = same
    return same


def _aligned_window(src, grid, path=""):
    """(column, row) offset of grid in src when grid lies on src's own pixel lattice (same CRS,
    same north-up pixel size, origin on a pixel corner), else None."""
    gt = src.GetGeoTransform()
    if gt[2] != 0 or gt[4] != 0 or gt[1] <= 0 or gt[5] >= 0:
        return None
    tol = 1e-9 * grid.res
    if abs(gt[1] - grid.res) > tol or abs(-gt[5] - grid.res) > tol:
        return None
    col, row = (grid.x0 - gt[0]) / gt[1], (gt[3] - grid.y0) / -gt[5]
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    if not _same_crs(src, path, grid.srs_wkt):
        return None
    return int(round(col)), int(round(row))


def warp_band(path, band, grid, resampling="bilinear", src_nodata=None):
    """Read one band onto grid as float32 with NaN for nodata and for area outside the raster.

    Only the window is read. A grid on the raster's own pixel lattice (same CRS and pixel size,
    aligned origin: the analysis grid of a metric scene) is a plain windowed read, which is what
    any resampling gives there; otherwise GDAL warps the overlapping source blocks into memory.
    """
    try:
        src = _open(path)
    except RuntimeError as exc:
        raise GlasarError(f"cannot open raster {path}: {exc}") from None
    if src_nodata is None:
        src_nodata = src.GetRasterBand(band).GetNoDataValue()
    offset = _aligned_window(src, grid, path)
    if offset is not None:
        c0, r0 = offset
        arr = np.full(grid.shape, np.nan, dtype=np.float32)
        x0, x1 = max(c0, 0), min(c0 + grid.cols, src.RasterXSize)
        y0, y1 = max(r0, 0), min(r0 + grid.rows, src.RasterYSize)
        if x1 > x0 and y1 > y0:
            try:
                block = src.GetRasterBand(band).ReadAsArray(x0, y0, x1 - x0, y1 - y0)
            except RuntimeError as exc:  # e.g. a truncated or corrupt file
                raise GlasarError(f"GDAL could not read a window of {path} (truncated or corrupt file?): "
                                  f"{exc}") from None
            if block is None:
                raise GlasarError(f"GDAL could not read a window of {path} (truncated or corrupt file?)")
            arr[y0 - r0:y1 - r0, x0 - c0:x1 - c0] = block
        return _nodata_to_nan(arr, src_nodata)
    if src.RasterCount > 1:
        # GDAL < 3.7 warps have no band selection: a one-band virtual view reads nothing extra.
        src = gdal.Translate("", src, format="VRT", bandList=[band])
        band = 1
    opts = gdal.WarpOptions(
        format="MEM", outputBounds=grid.bounds, width=grid.cols, height=grid.rows,
        dstSRS=grid.srs_wkt, resampleAlg=RESAMPLING[resampling], outputType=gdal.GDT_Float32,
        srcNodata=src_nodata, dstNodata=float("nan"),
        multithread=False, warpOptions=["INIT_DEST=NO_DATA"],
    )
    try:
        out = gdal.Warp("", src, options=opts)
    except RuntimeError as exc:
        raise GlasarError(f"GDAL could not read a window of {path}: {exc}") from None
    return _nodata_to_nan(out.GetRasterBand(1).ReadAsArray().astype(np.float32), src_nodata)


def _nodata_to_nan(arr, src_nodata):
    if src_nodata is not None and np.isfinite(src_nodata):
        arr[arr == src_nodata] = np.nan
    arr[~np.isfinite(arr)] = np.nan
    return arr


def raster_footprint(path, dst_srs):
    """Bounding polygon of a raster's extent in dst_srs (densified edges)."""
    ds = gdal.Open(str(path))
    gt = ds.GetGeoTransform()
    nx, ny = ds.RasterXSize, ds.RasterYSize
    ring = ogr.Geometry(ogr.wkbLinearRing)
    steps = 16
    pts = []
    for i in range(steps):
        pts.append((i / steps * nx, 0))
    for i in range(steps):
        pts.append((nx, i / steps * ny))
    for i in range(steps):
        pts.append((nx - i / steps * nx, ny))
    for i in range(steps):
        pts.append((0, ny - i / steps * ny))
    pts.append(pts[0])
    for px, py in pts:
        ring.AddPoint_2D(gt[0] + px * gt[1] + py * gt[2], gt[3] + px * gt[4] + py * gt[5])
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    src = srs_from_wkt(ds.GetProjection())
    if not src.IsSame(dst_srs):
        poly.Transform(osr.CoordinateTransformation(src, dst_srs))
    return poly


def _mem_raster(grid, dtype=gdal.GDT_Byte):
    ds = gdal.GetDriverByName("MEM").Create("", grid.cols, grid.rows, 1, dtype)
    ds.SetGeoTransform(grid.geotransform)
    ds.SetProjection(grid.srs_wkt)
    return ds


def rasterize(geom, grid, all_touched=False):
    """Boolean mask of the pixels whose centre lies in geom (geometry in the grid CRS)."""
    ds = _mem_raster(grid)
    mem = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = mem.CreateLayer("g", srs_from_wkt(grid.srs_wkt))
    feat = ogr.Feature(layer.GetLayerDefn())
    feat.SetGeometry(geom)
    layer.CreateFeature(feat)
    opts = ["ALL_TOUCHED=TRUE"] if all_touched else []
    gdal.RasterizeLayer(ds, [1], layer, burn_values=[1], options=opts)
    return ds.GetRasterBand(1).ReadAsArray().astype(bool)


def polygonize(mask, grid):
    """Dissolved (multi)polygon of the True pixels of mask, in the grid CRS (None if empty)."""
    if not mask.any():
        return None
    ds = _mem_raster(grid)
    band = ds.GetRasterBand(1)
    band.WriteArray(mask.astype(np.uint8))
    mem = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = mem.CreateLayer("p", srs_from_wkt(grid.srs_wkt), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("v", ogr.OFTInteger))
    gdal.Polygonize(band, band, layer, 0, ["8CONNECTED=8"])
    out = ogr.Geometry(ogr.wkbMultiPolygon)
    for feat in layer:
        g = feat.GetGeometryRef()
        out.AddGeometry(g)
    # Parts from one Polygonize never overlap: UnionCascaded dissolves shared edges.
    dissolved = out.UnionCascaded()
    if ogr.GT_Flatten(dissolved.GetGeometryType()) == ogr.wkbPolygon:
        mp = ogr.Geometry(ogr.wkbMultiPolygon)
        mp.AddGeometry(dissolved)
        dissolved = mp
    return dissolved
