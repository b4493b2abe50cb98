import math

import pytest
from osgeo import ogr

from glasar.algorithms import GlasarError
from glasar.algorithms import lake_geometry as lg


def test_original_window_and_interior_rules():
    # 1200*log5(4+1)+100 = 1300 m; 3000*log10(9+1)*c = 3000 c m.
    assert lg.aoi_buffer_m(4.0) == pytest.approx(1300.0)
    assert lg.aoi_buffer_m(0.0) == pytest.approx(100.0)
    assert lg.interior_shrink_m(9.0, 0.5) == pytest.approx(1500.0)


def test_circularity_and_interior():
    square = ogr.CreateGeometryFromWkt("POLYGON((0 0,1000 0,1000 1000,0 1000,0 0))")
    assert lg.circularity(square) == pytest.approx(math.pi / 4)
    # A = 1 km2: shrink 3000*log10(2)*pi/4 = 709.4 m > half side: interior vanishes -> centroid.
    inner = lg.lake_interior(square, 1.0)
    assert inner.GetGeometryName() == "POINT"
    assert (inner.GetX(), inner.GetY()) == pytest.approx((500.0, 500.0))
    big = ogr.CreateGeometryFromWkt("POLYGON((0 0,4000 0,4000 4000,0 4000,0 0))")
    inner = lg.lake_interior(big, 0.1)  # shrink 3000*log10(1.1)*pi/4 = 97.6 m
    assert inner.GetArea() == pytest.approx((4000 - 2 * 97.58) ** 2, rel=1e-3)


def test_utm_zone():
    assert lg.utm_epsg(86.47, 27.86) == 32645
    assert lg.utm_epsg(-70.0, -33.0) == 32719


def test_geometry_checks():
    with pytest.raises(GlasarError, match="not a polygon"):
        lg.geometry_from_wkb(ogr.CreateGeometryFromWkt("POINT(1 2)").ExportToWkb())
    with pytest.raises(GlasarError, match="empty"):
        lg.geometry_from_wkb(ogr.Geometry(ogr.wkbPolygon).ExportToWkb())
    bowtie = ogr.CreateGeometryFromWkt("POLYGON((0 0,2 2,2 0,0 2,0 0))")
    fixed = lg.geometry_from_wkb(bowtie.ExportToWkb())
    assert fixed.IsValid() and fixed.GetArea() == pytest.approx(2.0)
    z = ogr.CreateGeometryFromWkt("POLYGON Z((0 0 5,1 0 5,1 1 5,0 0 5))")
    assert lg.geometry_from_wkb(z.ExportToWkb()).GetCoordinateDimension() == 2
