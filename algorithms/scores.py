"""Accuracy of a mapped lake against a reference polygon.

IoU = |P n R| / |P u R|; precision = |P n R| / |P|; recall = |P n R| / |R|;
F1 = 2 precision recall / (precision + recall). Areas are planar, so pass geometries in an
equal-area or local metric (UTM) CRS; over a lake window the UTM area error is < 0.1 %.
"""
from dataclasses import dataclass


@dataclass
class Scores:
    area_pred_km2: float
    area_ref_km2: float
    iou: float
    precision: float
    recall: float
    f1: float


def overlap_scores(intersection, predicted, reference):
    """Scores from three areas (any unit); undefined ratios are 0."""
    union = predicted + reference - intersection
    iou = intersection / union if union > 0 else 0.0
    precision = intersection / predicted if predicted > 0 else 0.0
    recall = intersection / reference if reference > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return iou, precision, recall, f1


def polygon_scores(predicted, reference):
    """Scores of OGR polygons in one metric CRS (predicted may be None: nothing mapped)."""
    ref_area = reference.GetArea()
    if predicted is None or predicted.IsEmpty():
        return Scores(0.0, ref_area / 1e6, 0.0, 0.0, 0.0, 0.0)
    pred_area = predicted.GetArea()
    inter = predicted.Intersection(reference)
    inter_area = inter.GetArea() if inter is not None else 0.0
    iou, precision, recall, f1 = overlap_scores(inter_area, pred_area, ref_area)
    return Scores(pred_area / 1e6, ref_area / 1e6, iou, precision, recall, f1)
