"""QML styles (ui/styles) and the load-on-completion post-processor (processing_provider/styling.py).

Each style is loaded onto a real layer and its renderer checked value by value; the post-processor is
exercised through QGIS's own result handler (processing.gui.Postprocessing.handleAlgorithmResults,
the code the algorithm dialog and runAndLoadResults run on completion)."""
import gc
import os

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from glasar.processing_provider import styling

STYLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ui", "styles")


def _lakes_gpkg(path, ious):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32645)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    lyr = ds.CreateLayer("lakes", srs, ogr.wkbMultiPolygon)
    lyr.CreateField(ogr.FieldDefn("lake_id", ogr.OFTString))
    lyr.CreateField(ogr.FieldDefn("iou", ogr.OFTReal))
    lyr.CreateField(ogr.FieldDefn("status", ogr.OFTString))
    for i, iou in enumerate(ious):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("lake_id", f"L{i}")
        f.SetField("iou", iou)
        f.SetField("status", "ok")
        x = 446000 + 300 * i
        f.SetGeometry(ogr.CreateGeometryFromWkt(
            f"MULTIPOLYGON((({x} 3080000,{x + 200} 3080000,{x + 200} 3080200,{x} 3080200,{x} 3080000)))"))
        lyr.CreateFeature(f)
    ds = None
    return str(path)


def _raster(path, values, dtype):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), values.shape[1], values.shape[0], 1, dtype)
    ds.SetGeoTransform((446000, 20, 0, 3081000, 0, -20))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32645)
    ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(values)
    ds = None
    return str(path)


def test_every_declared_style_exists_and_is_qgis_xml():
    own = [n for n in styling.STYLES if n != "layover_shadow.qml"]  # layover_shadow.qml comes from the terrain work
    for name in own:
        with open(styling.style_path(name), encoding="utf-8") as fh:
            assert fh.read(200).lstrip().startswith("<!DOCTYPE qgis")
    with pytest.raises(ValueError):
        styling.style_path("no_such_style.qml")


def test_iou_style_classes(qgis_app, tmp_path):
    from qgis.core import QgsGraduatedSymbolRenderer, QgsVectorLayer

    lyr = QgsVectorLayer(_lakes_gpkg(tmp_path / "l.gpkg", [0.3, 0.95]), "lakes", "ogr")
    msg, ok = lyr.loadNamedStyle(styling.style_path("mapped_lakes_iou.qml"))
    assert ok, msg
    r = lyr.renderer()
    assert isinstance(r, QgsGraduatedSymbolRenderer) and r.classAttribute() == "iou"
    bounds = [(round(x.lowerValue(), 3), round(x.upperValue(), 3)) for x in r.ranges()]
    assert bounds == [(0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0)]
    # value -> legend class and colour: red for poor, green for excellent; a boundary goes to the lower class
    assert r.rangeForValue(0.3).label().startswith("poor")
    assert r.rangeForValue(0.5).label().startswith("poor")
    assert r.rangeForValue(0.85).label().startswith("very good")
    assert r.rangeForValue(1.0).label().startswith("excellent")
    assert r.rangeForValue(0.95).symbol().color().name() == "#1a9641"
    assert r.rangeForValue(0.3).symbol().color().name() == "#d7191c"
    assert [item.label() for item in r.legendSymbolItems()] == [
        "poor: IoU ≤ 0.5", "fair: 0.5 – 0.7", "good: 0.7 – 0.8", "very good: 0.8 – 0.9", "excellent: 0.9 – 1"]
    assert lyr.labelsEnabled()


def test_raster_styles(qgis_app, tmp_path):
    from qgis.core import QgsPalettedRasterRenderer, QgsRasterLayer, QgsSingleBandGrayRenderer

    src = _raster(tmp_path / "src.tif", np.arange(5, dtype=np.uint8).reshape(1, 5), gdal.GDT_Byte)
    lyr = QgsRasterLayer(src, "source")
    msg, ok = lyr.loadNamedStyle(styling.style_path("fusion_source.qml"))
    assert ok, msg
    r = lyr.renderer()
    assert isinstance(r, QgsPalettedRasterRenderer) and r.band() == 1
    classes = {c.value: (c.label, c.color.name(), c.color.alpha()) for c in r.classes()}
    assert classes == {0: ("nodata", "#000000", 0), 1: ("ascending only", "#1f78b4", 255),
                       2: ("descending only", "#ff7f00", 255), 3: ("both passes", "#b2df8a", 255),
                       4: ("both distorted / disagreeing", "#e31a1c", 255)}
    # the report uses the same colours as the map
    from glasar.ui import report

    assert {v: c for v, c, _ in report.SOURCE_CLASSES if v} == {v: classes[v][1] for v in range(1, 5)}

    db = _raster(tmp_path / "db.tif", np.array([[-30, -25, -12.5, 0, 5]], np.float32), gdal.GDT_Float32)
    lyr = QgsRasterLayer(db, "dB")
    msg, ok = lyr.loadNamedStyle(styling.style_path("backscatter_db.qml"))
    assert ok, msg
    r = lyr.renderer()
    assert isinstance(r, QgsSingleBandGrayRenderer) and r.grayBand() == 1
    ce = r.contrastEnhancement()
    assert (ce.minimumValue(), ce.maximumValue()) == (-25.0, 0.0)
    # -12.5 dB is mid-gray, -30 dB clipped to black, +5 dB to white
    assert ce.enhanceContrast(-12.5) == pytest.approx(127.5, abs=1)
    assert ce.enhanceContrast(-30.0) == 0 and ce.enhanceContrast(5.0) == 255

    water = _raster(tmp_path / "w.tif", np.array([[0, 1]], np.uint8), gdal.GDT_Byte)
    lyr = QgsRasterLayer(water, "water")
    msg, ok = lyr.loadNamedStyle(styling.style_path("water_mask.qml"))
    assert ok, msg
    assert {c.value: (c.label, c.color.alpha()) for c in lyr.renderer().classes()} == {0: ("land", 0), 1: ("water", 255)}


def _handle(alg, context):
    from processing.gui.Postprocessing import handleAlgorithmResults
    from qgis.core import QgsProcessingFeedback

    return handleAlgorithmResults(alg, context, QgsProcessingFeedback())


def test_load_styled_applies_style_when_qgis_loads_the_layer(glasar_provider, tmp_path):
    from qgis.core import QgsApplication, QgsGraduatedSymbolRenderer, QgsProcessingContext, QgsProject

    path = _lakes_gpkg(tmp_path / "out.gpkg", [0.42, 0.88])
    alg = QgsApplication.processingRegistry().createAlgorithmById("glasar:maplakes")
    project = QgsProject.instance()
    context = QgsProcessingContext()
    context.setProject(project)
    # nothing queued: style_on_completion does not force a layer into the project
    assert styling.style_on_completion(context, path, "mapped_lakes_iou.qml") is False
    assert not context.willLoadLayerOnCompletion(path)
    processor = styling.load_styled(context, path, "Mapped lakes", "mapped_lakes_iou.qml")
    assert context.willLoadLayerOnCompletion(path)
    del processor
    gc.collect()  # the module keeps the post-processor alive: QGIS must still be able to call it
    before = set(project.mapLayers())
    assert _handle(alg, context)
    layers = [project.mapLayer(i) for i in set(project.mapLayers()) - before]
    assert len(layers) == 1 and layers[0].source().startswith(path)
    r = layers[0].renderer()
    assert isinstance(r, QgsGraduatedSymbolRenderer) and r.classAttribute() == "iou"
    assert r.rangeForValue(0.42).label().startswith("poor")
    project.removeMapLayer(layers[0].id())


def test_style_on_completion_keeps_the_queued_details(glasar_provider, tmp_path):
    from qgis.core import (QgsApplication, QgsPalettedRasterRenderer, QgsProcessingContext, QgsProject,
                           QgsProcessingUtils)

    path = _raster(tmp_path / "source.tif", np.array([[1, 2], [3, 4]], np.uint8), gdal.GDT_Byte)
    alg = QgsApplication.processingRegistry().createAlgorithmById("glasar:maplakes")
    project = QgsProject.instance()
    context = QgsProcessingContext()
    context.setProject(project)
    details = QgsProcessingContext.LayerDetails("Fusion source", project, "SOURCE")
    details.layerTypeHint = QgsProcessingUtils.LayerHint.Raster
    context.addLayerToLoadOnCompletion(path, details)
    assert styling.style_on_completion(context, path, "fusion_source.qml") is True
    kept = context.layerToLoadOnCompletionDetails(path)
    assert kept.name == "Fusion source" and kept.postProcessor() is not None
    before = set(project.mapLayers())
    assert _handle(alg, context)
    (layer,) = [project.mapLayer(i) for i in set(project.mapLayers()) - before]
    assert isinstance(layer.renderer(), QgsPalettedRasterRenderer)
    assert [c.label for c in layer.renderer().classes()][1:] == [
        "ascending only", "descending only", "both passes", "both distorted / disagreeing"]
    project.removeMapLayer(layer.id())


def test_maplakes_output_is_styled_by_iou_when_loaded(glasar_provider, tsho_rolpa, tmp_path):
    """End to end: runAndLoadResults (what the dialog does) loads OUTPUT graduated by IoU."""
    from qgis import processing
    from qgis.core import QgsGraduatedSymbolRenderer, QgsProject

    project = QgsProject.instance()
    before = set(project.mapLayers())
    res = processing.runAndLoadResults("glasar:maplakes", {
        "ASCENDING": tsho_rolpa["asc_2022"], "DESCENDING": tsho_rolpa["desc_2022"],
        "INVENTORY": tsho_rolpa["inventory"], "LAKE_ID_FIELD": "GLIMS_ID",
        "OUTPUT": str(tmp_path / "mapped.gpkg")})
    assert res["OUTPUT"]
    new = [project.mapLayer(i) for i in set(project.mapLayers()) - before]
    assert len(new) == 1
    r = new[0].renderer()
    assert isinstance(r, QgsGraduatedSymbolRenderer) and r.classAttribute() == "iou"
    tsho = [f for f in new[0].getFeatures() if f["lake_id"] == "GL086863E28114N"][0]
    assert r.rangeForValue(tsho["iou"]).label() in ("very good: 0.8 – 0.9", "excellent: 0.9 – 1")
    project.removeMapLayer(new[0].id())


def test_post_processor_reports_a_style_that_does_not_load(qgis_app, tmp_path):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsVectorLayer

    broken = tmp_path / "broken.qml"
    broken.write_text("<qgis><renderer-v2 this is not xml")
    lyr = QgsVectorLayer(_lakes_gpkg(tmp_path / "l.gpkg", [0.5]), "lakes", "ogr")
    errors = []

    class Feedback(QgsProcessingFeedback):
        def reportError(self, error, fatalError=False):  # noqa: N802
            errors.append(error)

    processor = styling.StylePostProcessor(str(broken))
    processor.postProcessLayer(lyr, QgsProcessingContext(), Feedback())
    assert processor.applied is False and len(errors) == 1 and "broken.qml" in errors[0]
    assert type(lyr.renderer()).__name__ == "QgsSingleSymbolRenderer"  # the layer keeps its default style
