"""Small helpers that write real GeoTIFFs and vector files for tests."""
import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()


def srs(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def write_geotiff(path, bands, geotransform, epsg=32645, nodata=None, descriptions=None, tags=None):
    """bands: 2-D array or list of 2-D arrays (float32 written)."""
    if isinstance(bands, np.ndarray) and bands.ndim == 2:
        bands = [bands]
    rows, cols = bands[0].shape
    ds = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, len(bands), gdal.GDT_Float32)
    ds.SetGeoTransform(geotransform)
    ds.SetProjection(srs(epsg).ExportToWkt())
    for i, arr in enumerate(bands, start=1):
        b = ds.GetRasterBand(i)
        b.WriteArray(np.asarray(arr, dtype=np.float32))
        if nodata is not None:
            b.SetNoDataValue(nodata)
        if descriptions:
            b.SetDescription(descriptions[i - 1])
    if tags:
        ds.SetMetadata(tags)
    ds.FlushCache()
    ds = None
    return str(path)


def write_polygons(path, wkts, epsg=4326, id_field="lake_id", ids=None, driver="GPKG", geom_type=ogr.wkbPolygon):
    drv = ogr.GetDriverByName(driver)
    ds = drv.CreateDataSource(str(path))
    layer = ds.CreateLayer("lakes", srs(epsg), geom_type)
    layer.CreateField(ogr.FieldDefn(id_field, ogr.OFTString))
    for i, wkt in enumerate(wkts):
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetField(id_field, str(ids[i] if ids else i + 1))
        if wkt is not None:
            f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(f)
    ds = None
    return str(path)


def utm_to_wgs84_wkt(wkt_utm, epsg=32645):
    g = ogr.CreateGeometryFromWkt(wkt_utm)
    g.Transform(osr.CoordinateTransformation(srs(epsg), srs(4326)))
    return g.ExportToWkt()


def rect_wkt(xmin, ymin, xmax, ymax):
    return f"POLYGON(({xmin} {ymin},{xmax} {ymin},{xmax} {ymax},{xmin} {ymax},{xmin} {ymin}))"


def lake_scene(rng, shape=(120, 120), lake=(40, 80, 30, 90), land_db=-7.0, water_db=-20.0, looks=4.4):
    """Power image with gamma speckle: land at land_db, a rectangular lake (r0, r1, c0, c1) at water_db."""
    mean_db = np.full(shape, land_db, dtype=np.float64)
    r0, r1, c0, c1 = lake
    mean_db[r0:r1, c0:c1] = water_db
    mean = 10 ** (mean_db / 10)
    return (mean * rng.gamma(looks, 1.0 / looks, size=shape)).astype(np.float32)
