"""The GLaSAR Processing provider (id ``glasar``)."""
import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .base import ICON_DIR


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
