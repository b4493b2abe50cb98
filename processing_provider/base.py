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
        name = self._icon if self._icon != "glasar.svg" else self._GROUP_ICONS.get(self._group_id, "glasar.svg")
        path = os.path.join(ICON_DIR, name)
        if not os.path.exists(path):
            path = os.path.join(ICON_DIR, "glasar.svg")
        return QIcon(path)

    def flags(self):
        return super().flags()

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
