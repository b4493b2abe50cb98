"""Lake geometry rules of the original workflow, CRS helpers and OGR conversions.

Rules (Wu et al. 2025, PUB-GL notebook):
- analysis window: the lake bounding box grown by ``1200 * log5(A + 1) + 100`` m, A in km2;
- interior used to pick the lake: the lake shrunk by ``3000 * log10(A + 1) * c`` m, c the
  circularity ``4 pi A / P^2``; if that is empty, the lake centroid.
"""
import math

from osgeo import ogr, osr

from . import GlasarError

ogr.UseExceptions()
osr.UseExceptions()


def srs_from_wkt(wkt):
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def srs_from_epsg(code):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(int(code))
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


WGS84 = srs_from_epsg(4326)


def utm_epsg(lon, lat):
    """EPSG code of the UTM zone holding (lon, lat) (WGS 84)."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def transform_geometry(geom, src, dst):
    g = geom.Clone()
    if not src.IsSame(dst):
        g.Transform(osr.CoordinateTransformation(src, dst))
    return g


def geometry_from_wkb(wkb):
    """OGR geometry from WKB, made 2D, valid and non-empty (clear errors otherwise)."""
    if not wkb:
        raise GlasarError("empty geometry")
    try:
        g = ogr.CreateGeometryFromWkb(bytes(wkb))
    except RuntimeError as exc:
        raise GlasarError(f"unreadable geometry: {exc}") from None
    if g is None or g.IsEmpty():
        raise GlasarError("empty geometry")
    g.FlattenTo2D()
    if ogr.GT_Flatten(g.GetGeometryType()) not in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
        raise GlasarError(f"not a polygon geometry ({g.GetGeometryName()})")
    if not g.IsValid():
        fixed = g.MakeValid() if hasattr(g, "MakeValid") else g.Buffer(0)
        fixed = _polygonal_part(fixed)
        if fixed is None or fixed.IsEmpty() or not fixed.IsValid():
            raise GlasarError("invalid polygon geometry that cannot be repaired")
        g = fixed
    return g


def _polygonal_part(g):
    if g is None:
        return None
    t = ogr.GT_Flatten(g.GetGeometryType())
    if t in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
        return g
    if t == ogr.wkbGeometryCollection:
        out = ogr.Geometry(ogr.wkbMultiPolygon)
        for i in range(g.GetGeometryCount()):
            part = g.GetGeometryRef(i)
            pt = ogr.GT_Flatten(part.GetGeometryType())
            if pt == ogr.wkbPolygon:
                out.AddGeometry(part)
            elif pt == ogr.wkbMultiPolygon:
                for j in range(part.GetGeometryCount()):
                    out.AddGeometry(part.GetGeometryRef(j))
        return out if out.GetGeometryCount() else None
    return None


def local_metric_srs(geom_wgs84):
    """The UTM zone of the geometry's centroid: metric CRS for windows and scores."""
    c = geom_wgs84.Centroid()
    return srs_from_epsg(utm_epsg(c.GetX(), c.GetY()))


def circularity(geom_metric):
    """Isoperimetric quotient 4 pi A / P^2 (1 for a disc)."""
    area = geom_metric.GetArea()
    perimeter = geom_metric.Boundary().Length()
    if perimeter <= 0:
        return 0.0
    return 4.0 * math.pi * area / (perimeter * perimeter)


def aoi_buffer_m(area_km2):
    """Window margin of the original: 1200 * log5(A + 1) + 100 m."""
    return 1200.0 * math.log(area_km2 + 1.0, 5.0) + 100.0


def interior_shrink_m(area_km2, circ):
    """Shrink distance of the original: 3000 * log10(A + 1) * circularity m."""
    return 3000.0 * math.log10(area_km2 + 1.0) * circ


def analysis_bounds(geom_metric, margin_m):
    """(xmin, ymin, xmax, ymax) of the lake bounding box grown by margin_m."""
    xmin, xmax, ymin, ymax = geom_metric.GetEnvelope()
    return xmin - margin_m, ymin - margin_m, xmax + margin_m, ymax + margin_m


def lake_interior(geom_metric, area_km2):
    """Shrunk lake (original rule) or, if that vanishes, the centroid (a Point).

    The centroid of a U-shaped lake can lie on the shore, so then a point on the lake's surface
    is taken instead. A multi-part lake gets the rule per part (each part's own area and
    circularity): the parts of one inventory lake can be far apart and the whole lake's
    centroid between them, on land. Returns one geometry (a collection for several parts)."""
    if ogr.GT_Flatten(geom_metric.GetGeometryType()) == ogr.wkbMultiPolygon and geom_metric.GetGeometryCount() > 1:
        out = ogr.Geometry(ogr.wkbGeometryCollection)
        for i in range(geom_metric.GetGeometryCount()):
            part = geom_metric.GetGeometryRef(i)
            if part is not None and not part.IsEmpty() and part.GetArea() > 0:
                out.AddGeometry(_part_interior(part, part.GetArea() / 1e6))
        if out.GetGeometryCount():
            return out
    return _part_interior(geom_metric, area_km2)


def _part_interior(geom_metric, area_km2):
    shrink = interior_shrink_m(area_km2, circularity(geom_metric))
    inner = geom_metric.Buffer(-shrink) if shrink > 0 else geom_metric.Clone()
    if inner is None or inner.IsEmpty() or inner.GetArea() <= 0:
        centroid = geom_metric.Centroid()
        return centroid if geom_metric.Contains(centroid) else geom_metric.PointOnSurface()
    return inner
