"""GLaSAR science: pure Python on numpy, scipy, GDAL/OGR and scikit-learn (never imports qgis)."""

__version__ = "0.1.0"


class GlasarError(ValueError):
    """Bad input or an impossible request, with a message a user can act on."""
