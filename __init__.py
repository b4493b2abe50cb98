"""GLaSAR: glacial lake mapping from Sentinel-1 ascending and descending passes."""


def classFactory(iface):  # noqa: N802 (QGIS entry point name)
    """Lazy entry point QGIS calls when it loads the plugin (iface is None under qgis_process)."""
    from .plugin import GlasarPlugin

    return GlasarPlugin(iface)
