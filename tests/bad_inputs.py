"""Builders of bad input, one class at a time, as real files in a folder (for test_bad_inputs.py).

Every builder writes GeoTIFFs / GeoPackages with GDAL/OGR and returns their paths. The base case
is a synthetic Sentinel-1-like pair (HyP3-style single-band gamma0 power, nodata 0, 20 m, UTM 45N,
file names with a time and the pass so folder catalogues recognise them) holding one rectangular
lake (-20 dB in -7 dB land, 4.4-look gamma speckle), and its inventory in EPSG:4326. Each bad
input class changes one thing of that base case.
"""
import os

import numpy as np
from osgeo import gdal, ogr, osr

from rasters import lake_scene, rect_wkt, srs, utm_to_wgs84_wkt, write_geotiff, write_polygons

gdal.UseExceptions()
ogr.UseExceptions()

X0, Y0, RES = 440000.0, 3080000.0, 20.0
GT = (X0, RES, 0, Y0, 0, -RES)
SHAPE = (120, 120)
LAKE_PX = (40, 80, 30, 90)  # rows r0:r1, cols c0:c1 of the lake in the base scene
LAND_DB, WATER_DB = -7.0, -20.0
ASC_NAME = "S1A_20230801T121000_ASC_bad_VV.tif"
DSC_NAME = "S1A_20230804T001000_DSC_bad_VV.tif"
START, END = "2023-07-15", "2023-08-20"


def px_rect_utm(r0, r1, c0, c1, gt=GT):
    """UTM rectangle WKT of pixel rows r0:r1, cols c0:c1 of a north-up grid."""
    return rect_wkt(gt[0] + c0 * gt[1], gt[3] + r1 * gt[5], gt[0] + c1 * gt[1], gt[3] + r0 * gt[5])


LAKE_UTM = px_rect_utm(*LAKE_PX)
LAKE_WGS84 = utm_to_wgs84_wkt(LAKE_UTM)
LAKE_AREA_KM2 = (LAKE_PX[1] - LAKE_PX[0]) * (LAKE_PX[3] - LAKE_PX[2]) * RES * RES / 1e6  # 0.96 km2


def _path(folder, name):
    os.makedirs(str(folder), exist_ok=True)
    return os.path.join(str(folder), name)


def scene_power(seed, shape=SHAPE, lake=LAKE_PX, land_db=LAND_DB, water_db=WATER_DB):
    """Speckled power image of the base scene (float32, all > 0)."""
    return lake_scene(np.random.default_rng(seed), shape=shape, lake=lake, land_db=land_db, water_db=water_db)


def pair(folder, asc=None, desc=None, gt=GT, epsg=32645, nodata=0, names=(ASC_NAME, DSC_NAME)):
    """Write an ascending and a descending raster (arrays default to the base scene); returns paths."""
    a = scene_power(1) if asc is None else asc
    d = scene_power(2) if desc is None else desc
    return (write_geotiff(_path(folder, names[0]), a, gt, epsg=epsg, nodata=nodata),
            write_geotiff(_path(folder, names[1]), d, gt, epsg=epsg, nodata=nodata))


def inventory(folder, wkts, name="inventory.gpkg", ids=None, geom_type=ogr.wkbPolygon, epsg=4326):
    """GeoPackage of polygons (WKT in EPSG:4326 unless epsg says otherwise; None = no geometry)."""
    return write_polygons(_path(folder, name), wkts, epsg=epsg, ids=ids, geom_type=geom_type)


def base_inventory(folder, name="inventory.gpkg"):
    return inventory(folder, [LAKE_WGS84], name=name, ids=["lake"])


# -- raster classes --------------------------------------------------------------------------
def geographic_pair(folder):
    """The base pair warped to EPSG:4326 (geographic degrees; nearest neighbour, nodata 0)."""
    asc, desc = pair(os.path.join(str(folder), "utm"))
    out = []
    for src, name in ((asc, ASC_NAME), (desc, DSC_NAME)):
        dst = _path(folder, name.replace("_VV", "_4326_VV"))
        gdal.Warp(dst, src, dstSRS="EPSG:4326", resampleAlg="near", srcNodata=0, dstNodata=0)
        out.append(dst)
    return tuple(out)


def no_crs_raster(folder, name="S1A_20230801T121000_ASC_nocrs_VV.tif"):
    """The base ascending raster with a geotransform but no coordinate reference system."""
    path = _path(folder, name)
    a = scene_power(1)
    ds = gdal.GetDriverByName("GTiff").Create(path, a.shape[1], a.shape[0], 1, gdal.GDT_Float32)
    ds.SetGeoTransform(GT)
    ds.GetRasterBand(1).WriteArray(a)
    ds.GetRasterBand(1).SetNoDataValue(0)
    ds = None
    return path


def far_raster(folder, name="S1A_20230804T001000_DSC_far_VV.tif", shift_m=5e5):
    """The base descending raster moved shift_m east: it does not overlap the base pair."""
    return write_geotiff(_path(folder, name), scene_power(2), (X0 + shift_m, RES, 0, Y0, 0, -RES), nodata=0)


def db_raster(folder, name="S1A_20230801T121000_ASC_db.tif", seed=1):
    """The base ascending raster in dB (no unit named in the file name or metadata)."""
    return write_geotiff(_path(folder, name), 10 * np.log10(scene_power(seed)), GT)


def two_band_raster(folder, name="S1A_20230801T121000_ASC_vvvh.tif", seed=1):
    """Earth-Engine-like raster with bands VV and VH (dB)."""
    vv = 10 * np.log10(scene_power(seed))
    vh = 10 * np.log10(scene_power(seed + 10, land_db=-14.0, water_db=-27.0))
    return write_geotiff(_path(folder, name), [vv, vh], GT, descriptions=["VV", "VH"])


def nan_hole(power, rows, cols, value=np.nan):
    """Copy of power with value (NaN, inf, -inf) written into rows x cols (slices)."""
    out = np.array(power, dtype=np.float32, copy=True)
    out[rows, cols] = value
    return out


def constant_power(value_db=-12.0, shape=SHAPE):
    """A scene with no contrast at all: every pixel value_db (as power)."""
    return np.full(shape, 10 ** (value_db / 10), dtype=np.float32)


def text_tif(folder, name="S1A_20230801T121000_ASC_text_VV.tif"):
    """A .tif that is a text file."""
    path = _path(folder, name)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("this is not a GeoTIFF, just a text file with a .tif name\n" * 20)
    return path


def truncated_tif(folder, name="S1A_20230801T121000_ASC_trunc_VV.tif", keep=0.35, seed=1):
    """A real GeoTIFF of the base scene cut after keep of its bytes (a broken download).

    Written uncompressed and stripped so the header survives and GDAL opens the file; the pixel
    data are missing from the cut onwards."""
    path = _path(folder, name)
    full = path + ".full"
    a = scene_power(seed)
    ds = gdal.GetDriverByName("GTiff").Create(full, a.shape[1], a.shape[0], 1, gdal.GDT_Float32,
                                              ["TILED=NO", "COMPRESS=NONE"])
    ds.SetGeoTransform(GT)
    ds.SetProjection(srs(32645).ExportToWkt())
    ds.GetRasterBand(1).WriteArray(a)
    ds.GetRasterBand(1).SetNoDataValue(0)
    ds = None
    with open(full, "rb") as fh:
        data = fh.read()
    os.remove(full)
    with open(path, "wb") as fh:
        fh.write(data[: int(len(data) * keep)])
    return path


def header_only_tif(folder, name="S1A_20230801T121000_ASC_head_VV.tif"):
    """The first 200 bytes of a GeoTIFF: GDAL cannot even read its header."""
    path = truncated_tif(folder, name, keep=1.0)
    with open(path, "rb") as fh:
        data = fh.read(200)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


# -- geometry classes (WKT in EPSG:4326 unless said) ------------------------------------------
def tiny_lake_wkt():
    """A 30 m x 30 m lake (0.0009 km2) on the 20 m grid: its window is ~10 px wide at most."""
    cx, cy = X0 + 60 * RES, Y0 - 60 * RES
    return utm_to_wgs84_wkt(rect_wkt(cx - 15, cy - 15, cx + 15, cy + 15))


def huge_lake_wkt():
    """A 100 km x 100 km 'lake' (10,000 km2) centred on the scene."""
    cx, cy = X0 + 60 * RES, Y0 - 60 * RES
    return utm_to_wgs84_wkt(rect_wkt(cx - 5e4, cy - 5e4, cx + 5e4, cy + 5e4))


def bowtie_wkt():
    """Self-intersecting polygon over the base lake (a figure of eight)."""
    r0, r1, c0, c1 = LAKE_PX
    x0, x1 = X0 + c0 * RES, X0 + c1 * RES
    y0, y1 = Y0 - r1 * RES, Y0 - r0 * RES
    return utm_to_wgs84_wkt(f"POLYGON(({x0} {y1},{x1} {y0},{x1} {y1},{x0} {y0},{x0} {y1}))")


def two_lakes_scene(seed):
    """Power image with two separate lakes (rows 20:50 cols 20:60 and rows 75:105 cols 60:100)."""
    mean_db = np.full(SHAPE, LAND_DB)
    mean_db[20:50, 20:60] = WATER_DB
    mean_db[75:105, 60:100] = WATER_DB
    rng = np.random.default_rng(seed)
    return (10 ** (mean_db / 10) * rng.gamma(4.4, 1 / 4.4, SHAPE)).astype(np.float32)


def multipart_wkt():
    """One MULTIPOLYGON feature whose two parts are the two lakes of two_lakes_scene."""
    a = ogr.CreateGeometryFromWkt(utm_to_wgs84_wkt(px_rect_utm(20, 50, 20, 60)))
    b = ogr.CreateGeometryFromWkt(utm_to_wgs84_wkt(px_rect_utm(75, 105, 60, 100)))
    mp = ogr.Geometry(ogr.wkbMultiPolygon)
    mp.AddGeometry(a)
    mp.AddGeometry(b)
    return mp.ExportToWkt()


def polygon_z_wkt(z=4540.0):
    """The base lake as a POLYGON Z at the lake's altitude."""
    g = ogr.CreateGeometryFromWkt(LAKE_WGS84)
    ring = g.GetGeometryRef(0)
    coords = ", ".join(f"{ring.GetX(i)} {ring.GetY(i)} {z}" for i in range(ring.GetPointCount()))
    return f"POLYGON Z (({coords}))"


def edge_lake_wkt():
    """A lake whose western 40 % lies beyond the scene's western edge (cols -24:36)."""
    r0, r1 = 40, 80
    return utm_to_wgs84_wkt(rect_wkt(X0 - 24 * RES, Y0 - r1 * RES, X0 + 36 * RES, Y0 - r0 * RES))


def edge_scene(seed):
    """Power image whose lake touches the western edge (rows 40:80, cols 0:36)."""
    return scene_power(seed, lake=(40, 80, 0, 36))


def outside_lake_wkt():
    """A lake 90 km away from the scene."""
    return utm_to_wgs84_wkt(rect_wkt(X0 + 9e4, Y0 - 9e4, X0 + 9.1e4, Y0 - 8.9e4))


def empty_polygon_layer(folder, name="empty_geom.gpkg"):
    """Inventory with one feature holding POLYGON EMPTY and one with no geometry at all."""
    path = _path(folder, name)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = ds.CreateLayer("lakes", srs(4326), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("lake_id", ogr.OFTString))
    for lake_id, geom in (("empty", ogr.Geometry(ogr.wkbPolygon)), ("null", None)):
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetField("lake_id", lake_id)
        if geom is not None:
            f.SetGeometry(geom)
        layer.CreateFeature(f)
    ds = None
    return path


# -- DEMs --------------------------------------------------------------------------------------
DEM_GT = (X0 - 600.0, 30.0, 0, Y0 + 600.0, 0, -30.0)  # 30 m, covers the base scene with a margin
DEM_SHAPE = (120, 120)


def ramp_dem(folder, name="dem.tif", gt=DEM_GT, epsg=32645, slope_deg=10.0, base=4500.0, values=None,
             nodata=None):
    """DEM rising east at slope_deg (or the given values) on gt."""
    if values is None:
        cols = np.arange(DEM_SHAPE[1]) * gt[1]
        values = base + np.tile(cols * np.tan(np.radians(slope_deg)), (DEM_SHAPE[0], 1))
    return write_geotiff(_path(folder, name), np.asarray(values, dtype=np.float32), gt, epsg=epsg, nodata=nodata)


def sigma0_scene(folder, name="S1A_20230801T121000_ASC_sigma0.tif", heading=-12.0, with_angle=True, seed=1,
                 db=None):
    """Earth-Engine-like sigma0 scene (VV dB [+ angle band]) with a HEADING tag."""
    vv = 10 * np.log10(scene_power(seed)) if db is None else db
    bands, names = [vv], ["VV"]
    if with_angle:
        bands.append(np.tile(np.linspace(36.0, 40.0, SHAPE[1], dtype=np.float32), (SHAPE[0], 1)))
        names.append("angle")
    return write_geotiff(_path(folder, name), bands, GT, descriptions=names,
                         tags={"HEADING": str(heading), "PASS": "ASCENDING"})


def tiny_lake_scene(seed):
    """Land with one 2 x 2 px (40 m) dark patch under tiny_lake_wkt (rows 59:61, cols 59:61)."""
    return scene_power(seed, lake=(59, 61, 59, 61))


def land_only_scene(seed):
    """Speckled land everywhere: the lake has dried up or frozen (no dark water at all)."""
    return scene_power(seed, lake=(0, 0, 0, 0))
