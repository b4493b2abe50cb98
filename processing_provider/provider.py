"""The GLaSAR Processing provider (id ``glasar``)."""
import os

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMessageLog,
    QgsProcessingModelAlgorithm,
    QgsProcessingParameterDefinition,
    QgsProcessingProvider,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .base import ICON_DIR

MODEL_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "ui", "models")


def _algorithm_classes():
    """Every algorithm the provider offers, in Toolbox order (explicit list, stable ids)."""
    from .extract_lakes import ExtractLakesAlgorithm
    from .fuse_asc_desc import FuseAscDescAlgorithm
    from .layover_shadow import LayoverShadowAlgorithm
    from .slope_correction import SlopeCorrectionAlgorithm
    from .ee_dem import EEDemAlgorithm
    from .ee_sentinel1 import EESentinel1Algorithm
    from .map_lakes import MapLakesAlgorithm
    from .select_scenes import SelectScenesAlgorithm
    from .simulate_scene import SimulateSceneAlgorithm
    from .speckle_filter import SpeckleFilterAlgorithm

    return [
        MapLakesAlgorithm,
        SelectScenesAlgorithm,
        SpeckleFilterAlgorithm,
        FuseAscDescAlgorithm,
        ExtractLakesAlgorithm,
        EESentinel1Algorithm,
        EEDemAlgorithm,
        SimulateSceneAlgorithm,
        SlopeCorrectionAlgorithm,
        LayoverShadowAlgorithm,
    ]


class GlasarModelAlgorithm(QgsProcessingModelAlgorithm):
    """A Modeler model shipped in ui/models/<id>.model3. The file name is the stable id
    (glasar:<id>); the model's own name is its display name."""

    def __init__(self, path, definition=None):
        super().__init__()
        self._path = path
        if definition is not None:
            self.loadVariant(definition)
        elif not self.fromFile(path):
            raise ValueError(f"cannot read the GLaSAR model {path}")
        self.setSourceFilePath(path)
        self._update_outputs()

    def _update_outputs(self):
        self.updateDestinationParameters()
        # Outputs with a default (temporary file) need not be named; qgis_process 3.22 insists on
        # every non-optional destination, so they are flagged optional.
        for param in self.destinationParameterDefinitions():
            if param.defaultValue():
                param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagOptional)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        # An output left out gets its default (a temporary file): the model would otherwise hand
        # the child algorithm no destination at all.
        parameters = dict(parameters)
        for param in self.destinationParameterDefinitions():
            if parameters.get(param.name()) in (None, "") and param.defaultValue():
                parameters[param.name()] = param.defaultValue()
        return super().processAlgorithm(parameters, context, feedback)

    def resolve_children(self):
        """Reload once the child algorithms are registered: the model's outputs become
        destination parameters only when its children (GLaSAR's own algorithms) can be found."""
        self.loadVariant(self.toVariant())
        self._update_outputs()

    def name(self):
        return os.path.splitext(os.path.basename(self._path))[0]

    def displayName(self):  # noqa: N802
        return QCoreApplication.translate("GlasarModelAlgorithm", super().displayName())

    def group(self):
        return QCoreApplication.translate("GlasarModelAlgorithm", super().group())

    def groupId(self):  # noqa: N802
        return "models"

    def icon(self):
        return QIcon(self.svgIconPath())

    def svgIconPath(self):  # noqa: N802
        return os.path.join(ICON_DIR, "glasar.svg")

    def createInstance(self):  # noqa: N802
        return GlasarModelAlgorithm(self._path, self.toVariant())


def model_paths():
    """The shipped .model3 files, sorted (stable Toolbox order)."""
    if not os.path.isdir(MODEL_DIR):
        return []
    return sorted(os.path.join(MODEL_DIR, f) for f in os.listdir(MODEL_DIR) if f.endswith(".model3"))


class GlasarProvider(QgsProcessingProvider):
    def id(self):
        return "glasar"

    def name(self):
        return "GLaSAR"

    def longName(self):  # noqa: N802
        return "GLaSAR - glacial lakes from Sentinel-1 SAR"

    def icon(self):
        return QIcon(self.svgIconPath())

    def svgIconPath(self):  # noqa: N802
        return os.path.join(ICON_DIR, "glasar.svg")

    def versionInfo(self):  # noqa: N802
        from ..algorithms import __version__

        return __version__

    def loadAlgorithms(self):  # noqa: N802
        for cls in _algorithm_classes():
            self.addAlgorithm(cls())
        self._models = []
        for path in model_paths():
            try:
                model = GlasarModelAlgorithm(path)
            except ValueError as exc:  # a broken model must not hide the algorithms
                QgsMessageLog.logMessage(str(exc), "GLaSAR", Qgis.Warning)
                continue
            self.addAlgorithm(model)
            self._models.append(model)
        registry = QgsApplication.processingRegistry()
        if registry.providerById(self.id()) is self:  # refreshAlgorithms(): children already registered
            self._resolve_models(self.id())
        elif not self._waiting_for_registry:
            # The registry loads a provider before registering it, so the models' children
            # (glasar:...) resolve only once it is added.
            registry.providerAdded.connect(self._resolve_models)
            self._waiting_for_registry = True

    _waiting_for_registry = False

    def _resolve_models(self, provider_id):
        if provider_id == self.id():
            for model in getattr(self, "_models", []):
                model.resolve_children()
