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


def many_lakes_scene(tmp_path, n_side=8, rng_seed=7, looks=6.0, size=None):
    """A pair of HyP3-like scenes (20 m, UTM 45N) with n_side^2 rectangular lakes on a lattice,
    and their inventory in EPSG:4326. Returns (asc_path, desc_path, inventory_path, n_lakes)."""
    rng = np.random.default_rng(rng_seed)
    cell = 40  # pixels per lattice cell (800 m)
    side = size or n_side * cell
    x0, y0, res = 440000.0, 3080000.0, 20.0
    mean_db = np.full((side, side), -7.0)
    wkts = []
    for i in range(n_side):
        for j in range(n_side):
            r0, c0 = i * cell + 12, j * cell + 12
            h, w = 10 + (i * 3 + j) % 8, 12 + (j * 5 + i) % 10
            mean_db[r0:r0 + h, c0:c0 + w] = -19.0
            wkts.append(utm_to_wgs84_wkt(rect_wkt(x0 + c0 * res, y0 - (r0 + h) * res, x0 + (c0 + w) * res, y0 - r0 * res)))
    mean = 10 ** (mean_db / 10)
    gt = (x0, res, 0, y0, 0, -res)
    asc = write_geotiff(tmp_path / "S1A_20230801T121000_ASC_many.tif",
                        (mean * rng.gamma(looks, 1 / looks, mean.shape)).astype(np.float32), gt, nodata=0)
    desc = write_geotiff(tmp_path / "S1A_20230804T001000_DSC_many.tif",
                         (mean * rng.gamma(looks, 1 / looks, mean.shape)).astype(np.float32), gt, nodata=0)
    inv = write_polygons(tmp_path / "many_lakes.gpkg", wkts, ids=[f"L{k:03d}" for k in range(len(wkts))])
    return asc, desc, inv, len(wkts)
