"""Styles for Processing outputs, applied when QGIS loads them (never from processAlgorithm).

An algorithm asks for a style with ``load_styled(context, dest_id, name, "mapped_lakes_iou.qml")``
(or ``style_on_completion``): the output is queued with ``context.addLayerToLoadOnCompletion``
and carries a ``StylePostProcessor``. QGIS (the algorithm dialog, ``processing.runAndLoadResults``,
models) loads the layer into the project after the algorithm has finished, on the main thread,
then calls ``postProcessLayer``, which loads the QML. ``qgis_process`` and ``processing.run``
load nothing, so they never style anything and the outputs stay plain files.

Post-processors are Python objects handed to C++ (which deletes them with the context); a module
level list keeps each Python wrapper alive until then, otherwise the garbage collector would
drop it and QGIS would call a dead object (see ``_LIVE``).
"""
import os

from qgis.core import QgsProcessingContext, QgsProcessingLayerPostProcessorInterface
from qgis.PyQt.QtCore import QCoreApplication

STYLE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ui", "styles")

# QML files of ui/styles (layover_shadow.qml is the layover/shadow bitmask style).
STYLES = {
    "mapped_lakes_iou.qml": "mapped lakes graduated by IoU (vector polygons, field 'iou')",
    "fusion_source.qml": "fusion source classes 0 nodata, 1 ascending only, 2 descending only, 3 both, "
                         "4 both distorted / disagreeing (raster)",
    "backscatter_db.qml": "backscatter in dB, gray stretch -25..0 dB (raster, band 1)",
    "water_mask.qml": "water mask 0 land (transparent), 1 water (raster)",
    "layover_shadow.qml": "layover/shadow bitmask classes (raster)",
}

_LIVE = []  # Python wrappers of post-processors handed to QGIS (see module docstring)


def style_path(qml_name):
    """Absolute path of a QML file in ui/styles (ValueError if it does not exist)."""
    path = os.path.join(STYLE_DIR, os.path.basename(qml_name))
    if not os.path.isfile(path):
        raise ValueError(f"unknown style {qml_name!r}: no file {path}")
    return path


class StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Loads a QML style onto an output layer once QGIS has loaded it (main thread)."""

    def __init__(self, qml_path):
        super().__init__()
        self.qml_path = qml_path
        self.applied = False
        self.message = ""

    @classmethod
    def create(cls, qml_path):
        """A new post-processor, kept referenced in this module (use this, not the constructor)."""
        _prune()
        processor = cls(qml_path)
        _LIVE.append(processor)
        return processor

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API name)
        if layer is None or not layer.isValid():
            return
        message, ok = layer.loadNamedStyle(self.qml_path)
        self.applied, self.message = bool(ok), message
        if not ok and feedback is not None:
            feedback.reportError(QCoreApplication.translate("StylePostProcessor", "Could not apply the style {}: {}")
                                 .format(os.path.basename(self.qml_path), message))
            return
        layer.triggerRepaint()
        if hasattr(layer, "emitStyleChanged"):
            layer.emitStyleChanged()


def _prune():
    """Forget post-processors whose C++ side QGIS has already deleted (their context is gone)."""
    try:
        from qgis.PyQt import sip
    except ImportError:  # pragma: no cover - PyQt always ships sip
        return
    _LIVE[:] = [p for p in _LIVE if not sip.isdeleted(p)]


def style_on_completion(context, layer_id_or_path, qml_name):
    """Attach the style to an output QGIS already queued for loading (e.g. a feature sink whose
    'Open output file after running algorithm' box is ticked). Returns True if attached, False if the
    output will not be loaded (the user did not ask for it; nothing is forced into the project)."""
    if not context.willLoadLayerOnCompletion(layer_id_or_path):
        return False
    processor = StylePostProcessor.create(style_path(qml_name))
    context.layerToLoadOnCompletionDetails(layer_id_or_path).setPostProcessor(processor)
    return True


def load_styled(context, layer_id_or_path, name, qml_name, output_name="", layer_type_hint=None):
    """Queue a layer for loading when the algorithm completes, styled with ui/styles/<qml_name>.

    If the output is already queued (sinks and raster destinations QGIS queues itself), its
    details are kept and only the post-processor is set; otherwise the layer is added under
    ``name`` in the context's project. Returns the post-processor.
    """
    processor = StylePostProcessor.create(style_path(qml_name))
    if context.willLoadLayerOnCompletion(layer_id_or_path):
        context.layerToLoadOnCompletionDetails(layer_id_or_path).setPostProcessor(processor)
        return processor
    details = QgsProcessingContext.LayerDetails(name, context.project(), output_name)
    if layer_type_hint is not None:
        details.layerTypeHint = layer_type_hint
    details.setPostProcessor(processor)
    context.addLayerToLoadOnCompletion(layer_id_or_path, details)
    return processor


__all__ = ["STYLE_DIR", "STYLES", "StylePostProcessor", "load_styled", "style_on_completion", "style_path"]
