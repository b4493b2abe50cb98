"""QGIS plugin shell: registers the GLaSAR Processing provider.

Works with ``iface=None`` (qgis_process, tests): only ``initProcessing`` is needed there.
"""
from qgis.core import QgsApplication


class GlasarPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS API name)
        from .processing_provider.provider import GlasarProvider

        if self.provider is None:
            self.provider = GlasarProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API name)
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
