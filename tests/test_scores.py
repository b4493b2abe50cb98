import pytest
from osgeo import ogr

from glasar.algorithms.scores import overlap_scores, polygon_scores


def test_overlap_scores_by_hand():
    # P = 6, R = 8, P n R = 4: IoU 4/10, precision 4/6, recall 4/8, F1 = 2*(2/3*1/2)/(2/3+1/2) = 4/7.
    iou, p, r, f1 = overlap_scores(4.0, 6.0, 8.0)
    assert (iou, p, r, f1) == pytest.approx((0.4, 2 / 3, 0.5, 4 / 7))
    assert overlap_scores(0, 0, 5) == (0.0, 0.0, 0.0, 0.0)


def test_polygon_scores():
    ref = ogr.CreateGeometryFromWkt("POLYGON((0 0,2000 0,2000 1000,0 1000,0 0))")
    pred = ogr.CreateGeometryFromWkt("POLYGON((1000 0,3000 0,3000 1000,1000 1000,1000 0))")
    s = polygon_scores(pred, ref)
    assert s.iou == pytest.approx(1 / 3)
    assert s.area_pred_km2 == pytest.approx(2.0) and s.area_ref_km2 == pytest.approx(2.0)
    assert s.f1 == pytest.approx(0.5)
    assert polygon_scores(None, ref).iou == 0.0
