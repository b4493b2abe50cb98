"""Shared base class for GLaSAR Processing algorithms (thin glue, no science here)."""
import os

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

ICON_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "ui", "icons")


class GlasarAlgorithm(QgsProcessingAlgorithm):
    """Base: translation, instance creation, group icons, help text and error helpers.

    Subclasses define ``_name``, ``_display_name``, ``_group_id``, ``_group`` and ``_help``
    (HTML-free short help) and implement ``initAlgorithm``/``processAlgorithm``.
    """

    _name = ""
    _display_name = ""
    _group_id = ""
    _group = ""
    _help = ""
    _tags = ()
    _icon = "glasar.svg"

    def tr(self, text):
        return QCoreApplication.translate(type(self).__name__, text)

    def createInstance(self):  # noqa: N802 (QGIS API)
        return type(self)()

    def name(self):
        return self._name

    def displayName(self):  # noqa: N802
        return self.tr(self._display_name)

    def groupId(self):  # noqa: N802
        return self._group_id

    def group(self):
        return self.tr(self._group)

    def shortHelpString(self):  # noqa: N802
        return self.tr(self._help)

    def shortDescription(self):  # noqa: N802
        return self.tr(self._help.split("\n", 1)[0])

    def tags(self):
        return [self.tr(t) for t in self._tags]

    _GROUP_ICONS = {"sar": "sar.svg", "terrain": "terrain.svg", "fusion": "fusion.svg",
                     "extraction": "extraction.svg", "validation": "simulation.svg", "simulation": "simulation.svg",
                     "earthengine": "earthengine.svg"}

    def icon(self):
        return QIcon(self.svgIconPath())

    def svgIconPath(self):  # noqa: N802 (the Modeler draws algorithms from this path)
        name = self._icon if self._icon != "glasar.svg" else self._GROUP_ICONS.get(self._group_id, "glasar.svg")
        path = os.path.join(ICON_DIR, name)
        if not os.path.exists(path):
            path = os.path.join(ICON_DIR, "glasar.svg")
        return path

    def flags(self):
        return super().flags()

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """QGIS says '<file> not found' for a layer file that exists but cannot be read (a text
        file named .tif, a truncated download); say what is wrong instead."""
        ok, message = super().checkParameterValues(parameters, context)
        if not ok:
            message = self._unreadable_file_message(parameters, context) or message
        return ok, message

    def _unreadable_file_message(self, parameters, context):
        for p in self.parameterDefinitions():
            kind = _LAYER_KINDS.get(p.type())
            value = parameters.get(p.name())
            if kind is None or not isinstance(value, str):
                continue
            path = value.split("|", 1)[0]
            if not os.path.isfile(path) or p.checkValueIsAcceptable(value, context):
                continue
            return self.tr("{}: {} exists but cannot be read as a {} ({}): it is not a {} file or it is "
                           "truncated or corrupt").format(p.name(), path, kind, _gdal_complaint(path, kind), kind)
        return None

    # -- helpers for subclasses -------------------------------------------------
    def add_param(self, param, help_text, advanced=False):
        """Add a parameter with its help string (every parameter has one)."""
        param.setHelp(self.tr(help_text))
        if advanced:
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        self.addParameter(param)
        return param

    @staticmethod
    def fail(message):
        raise QgsProcessingException(message)


_LAYER_KINDS = {"raster": "raster", "source": "vector layer", "vector": "vector layer"}


def _gdal_complaint(path, kind):
    """GDAL's own words on why path does not open (for messages only)."""
    from osgeo import gdal

    gdal.ErrorReset()
    try:
        ds = gdal.Open(path) if kind == "raster" else gdal.OpenEx(path, gdal.OF_VECTOR)
    except RuntimeError as exc:
        return str(exc).strip()
    if ds is not None:
        return "GDAL opens it, QGIS does not"
    return gdal.GetLastErrorMsg().strip() or "GDAL does not recognise it"
