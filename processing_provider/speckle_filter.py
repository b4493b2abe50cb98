"""glasar:specklefilter - Speckle-filter a SAR raster in linear power."""
import os

from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsRasterFileWriter,
)

from ..algorithms import GlasarError, speckle, units
from .base import GlasarAlgorithm
from .styling import style_on_completion

FILTER_CHOICES = [f for f in speckle.FILTERS if f != "none"]


class SpeckleFilterAlgorithm(GlasarAlgorithm):
    INPUT = "INPUT"
    UNITS = "UNITS"
    FILTER = "FILTER"
    WINDOW = "WINDOW"
    LOOKS = "LOOKS"
    OUTPUT = "OUTPUT"

    _name = "specklefilter"
    _display_name = "Speckle filter"
    _group_id = "sar"
    _group = "SAR preparation"
    _icon = "speckle.svg"
    _tags = ("sentinel-1", "sar", "speckle", "filter", "refined lee", "lee sigma", "gamma map", "frost", "kuan",
             "median", "boxcar", "enl")
    _help = (
        "Reduces speckle in every SAR band of a raster (VV, VH, ...); an incidence-angle band ('angle') is "
        "copied untouched. Filters always work on linear power: the input is converted from its units "
        "(dB, power or amplitude; auto-detected or declared), filtered and converted back, so the output has "
        "the input's units, grid, CRS, bands, band names and nodata. Nodata never spreads: a window uses only "
        "its valid pixels and nodata stays nodata.\n\n"
        "Filters (window W x W, L = looks/ENL, C_u^2 = 1/L, C_i = std/mean of the window):\n"
        "- boxcar: window mean.\n"
        "- median: window median divided by the median/mean ratio of L-look speckle (keeps the mean level).\n"
        "- lee (Lee 1980): mean + W (z - mean), W = 1 - C_u^2/C_i^2 in [0, 1].\n"
        "- kuan (Kuan et al. 1985): W = (1 - C_u^2/C_i^2) / (1 + C_u^2).\n"
        "- gamma_map (Lopes et al. 1990): maximum a-posteriori estimate for gamma scene and speckle; the mean "
        "where C_i <= C_u, the pixel where C_i >= sqrt(2) C_u.\n"
        "- frost (Frost et al. 1982): weights exp(-2 C_i^2 d), d = distance from the centre.\n"
        "- refined_lee (Lee 1981): MMSE inside one of 8 edge-aligned 7 x 7 windows chosen from 3 x 3 "
        "sub-window gradients (WINDOW is ignored); speckle variance 1/L.\n"
        "- lee_sigma (Lee et al. 2009): pixels inside the sigma range [I1, I2] x a-priori 3 x 3 MMSE mean "
        "(sigma 0.9, range from the paper's look-up table for L looks), MMSE on them; point targets (>= 5 "
        "pixels above the 98th percentile in a 3 x 3 window) are kept.\n\n"
        "LOOKS: equivalent number of looks of the input, 4.4 for Sentinel-1 IW GRD; multi-looked products "
        "(e.g. 20 m RTC) have more. The output is Float32 (Float64 for Float64 input)."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_param(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("SAR raster")),
                       "Raster with one or more backscatter bands (e.g. VV, VH) and optionally an 'angle' band "
                       "(left untouched). A GDAL-readable file.")
        p = QgsProcessingParameterEnum(self.UNITS, self.tr("Input units"), options=list(units.UNITS),
                                       defaultValue="auto")
        p.setUsesStaticStrings(True)
        self.add_param(p, "Units of the backscatter bands: auto (negative values mean dB; else the file/band names; "
                          "else linear power), db, power or amplitude. A declaration the values contradict "
                          "(e.g. dB values declared power) is an error.", advanced=True)
        p = QgsProcessingParameterEnum(self.FILTER, self.tr("Filter"), options=FILTER_CHOICES,
                                       defaultValue="refined_lee")
        p.setUsesStaticStrings(True)
        self.add_param(p, "boxcar, median, lee, refined_lee, lee_sigma, gamma_map, frost or kuan (see the help).")
        self.add_param(QgsProcessingParameterNumber(self.WINDOW, self.tr("Window size (pixels, odd)"),
                                                    QgsProcessingParameterNumber.Type.Integer, 7, minValue=3,
                                                    maxValue=51),
                       "Side of the square moving window, odd (3, 5, 7, ...). refined_lee always uses 7.")
        self.add_param(QgsProcessingParameterNumber(self.LOOKS, self.tr("Equivalent number of looks (ENL)"),
                                                    QgsProcessingParameterNumber.Type.Double, speckle.DEFAULT_LOOKS,
                                                    minValue=0.5, maxValue=1000.0),
                       "ENL of the input intensity: 4.4 for Sentinel-1 IW GRD. Sets the speckle variance 1/L "
                       "used by lee, kuan, gamma_map, refined_lee, lee_sigma and the median's bias correction.",
                       advanced=True)
        self.add_param(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Filtered raster")),
                       "Filtered raster: same grid, CRS, bands, band names, units and nodata as the input.")

    def checkParameterValues(self, parameters, context):  # noqa: N802
        ok, message = super().checkParameterValues(parameters, context)
        if ok and self.parameterAsInt(parameters, self.WINDOW, context) % 2 == 0:
            return False, self.tr("WINDOW must be odd (3, 5, 7, ...)")
        return ok, message

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.INPUT))
        if layer.providerType() != "gdal":
            raise QgsProcessingException(self.tr("INPUT must be a GDAL raster file, not a '{}' layer")
                                         .format(layer.providerType()))
        source = layer.source()
        name = self.parameterAsEnumString(parameters, self.FILTER, context)
        declared = self.parameterAsEnumString(parameters, self.UNITS, context)
        window = self.parameterAsInt(parameters, self.WINDOW, context)
        looks = self.parameterAsDouble(parameters, self.LOOKS, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        driver = QgsRasterFileWriter.driverForExtension(os.path.splitext(out)[1]) or "GTiff"
        try:
            summary = speckle.filter_raster(
                source, out, name, window, looks, units=declared, driver=driver,
                progress=lambda f: feedback.setProgress(100.0 * f), canceled=feedback.isCanceled,
            )
        except GlasarError as exc:
            raise QgsProcessingException(str(exc)) from None
        if summary is None:  # canceled: nothing was written
            return {}
        feedback.pushInfo(self.tr("Units: {} ({})").format(summary["units"], summary["units_reason"]))
        feedback.pushInfo(self.tr("Filtered with {} (window {}, ENL {:g}): {}").format(
            name, summary["window"], summary["looks"], ", ".join(summary["filtered"])))
        if summary["untouched"]:
            feedback.pushInfo(self.tr("Copied untouched: {}").format(", ".join(summary["untouched"])))
        if summary["units"] == "db":  # the dB stretch only fits dB output (the input's units are kept)
            style_on_completion(context, out, "backscatter_db.qml")
        return {self.OUTPUT: out}
