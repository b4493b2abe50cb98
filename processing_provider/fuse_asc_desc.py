"""glasar:fuseascdesc - Fuse ascending and descending passes."""
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..algorithms import GlasarError, fusion, units
from ..algorithms.fuse_rasters import fuse_rasters
from .base import GlasarAlgorithm
from .styling import style_on_completion


class FuseAscDescAlgorithm(GlasarAlgorithm):
    ASCENDING = "ASCENDING"
    DESCENDING = "DESCENDING"
    ASC_MASK = "ASC_MASK"
    DESC_MASK = "DESC_MASK"
    BANDS = "BANDS"
    UNITS = "UNITS"
    NORMALIZATION = "NORMALIZATION"
    COMBINE = "COMBINE"
    BRIGHTENING_TOLERANCE = "BRIGHTENING_TOLERANCE"
    OUTPUT = "OUTPUT"
    SOURCE = "SOURCE"

    _name = "fuseascdesc"
    _display_name = "Fuse ascending and descending"
    _group_id = "fusion"
    _group = "Fusion"
    _icon = "fusion.svg"
    _tags = ("sentinel-1", "ascending", "descending", "fusion", "layover", "shadow", "histogram matching")
    _help = (
        "Fuses an ascending and a descending Sentinel-1 raster (any band set, e.g. after slope correction) so "
        "that each pass fills the other's layover, shadow and nodata gaps.\n\n"
        "The descending raster is resampled onto the ascending grid. Each band is converted to dB, the ascending "
        "pass is normalised onto the descending one (none; median offset over pixels valid and undistorted in "
        "both; z-score per pass; z-score then CDF histogram matching), then per pixel: where one pass is "
        "distorted (layover/shadow bits of its mask) or nodata and the other is clean, the clean one; where both "
        "are clean, their mean, max or min; where neither is clean, the less distorted one (shadow worse than "
        "active layover worse than passive layover), flagged.\n\n"
        "Outputs: OUTPUT with bands <band>_mean/_max/_min (dB; z-scores after z-score normalisation) and SOURCE, "
        "a UInt8 raster: 0 nodata, 1 ascending only, 2 descending only, 3 both, 4 no clean pass.\n\n"
        "After Wu et al. (2025), Int. J. Appl. Earth Obs. Geoinf. 136, 104329."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_param(QgsProcessingParameterRasterLayer(self.ASCENDING, self.tr("Ascending raster")),
                       "Ascending-pass raster; its grid is the output grid.")
        self.add_param(QgsProcessingParameterRasterLayer(self.DESCENDING, self.tr("Descending raster")),
                       "Descending-pass raster with the same band names; resampled onto the ascending grid.")
        self.add_param(QgsProcessingParameterRasterLayer(self.ASC_MASK, self.tr("Ascending layover/shadow mask"),
                                                         optional=True),
                       "UInt8 bitmask of the ascending pass (1 active layover, 2 passive layover, 4 active shadow, "
                       "8 passive shadow), e.g. from glasar:layovershadow. Without it nodata is the only gap.")
        self.add_param(QgsProcessingParameterRasterLayer(self.DESC_MASK, self.tr("Descending layover/shadow mask"),
                                                         optional=True),
                       "UInt8 bitmask of the descending pass, same codes.")
        self.add_param(QgsProcessingParameterString(self.BANDS, self.tr("Bands to fuse (comma-separated)"),
                                                    optional=True),
                       "Band names (descriptions) to fuse, e.g. VV_gamma0_flatDB,VH_gamma0_flatDB; empty: every "
                       "backscatter band the two rasters share (angle and mask bands are never fused).")
        p = QgsProcessingParameterEnum(self.UNITS, self.tr("Backscatter units"), options=list(units.UNITS),
                                       defaultValue="auto")
        p.setUsesStaticStrings(True)
        self.add_param(p, "Units of the bands: auto (per band), db, power or amplitude.", advanced=True)
        p = QgsProcessingParameterEnum(self.NORMALIZATION, self.tr("Normalisation"),
                                       options=list(fusion.NORMALISATIONS), defaultValue="median_offset")
        p.setUsesStaticStrings(True)
        self.add_param(p, "How the ascending pass is aligned to the descending one before combining.")
        p = QgsProcessingParameterEnum(self.COMBINE, self.tr("Combination where both are clean"),
                                       options=list(fusion.COMBINATIONS), defaultValue="mean")
        p.setUsesStaticStrings(True)
        self.add_param(p, "mean, max or min of the two passes where both are clean; 'all' writes all three.")
        self.add_param(
            QgsProcessingParameterNumber(self.BRIGHTENING_TOLERANCE, self.tr("Brightening tolerance (dB, 0 = off)"),
                                         QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0, maxValue=100.0),
            "When > 0, a pass more than this many dB brighter than the other at a pixel is treated as distorted "
            "(layover only brightens): GLaSAR's rule when no DEM mask is available (maplakes uses 6 dB).",
            advanced=True,
        )
        self.add_param(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Fused raster")),
                       "Fused bands <band>_mean, _max, _min.")
        self.add_param(QgsProcessingParameterRasterDestination(self.SOURCE, self.tr("Fusion source"), optional=True,
                                                               createByDefault=True),
                       "UInt8: 0 nodata, 1 ascending only, 2 descending only, 3 both, 4 no clean pass.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        layers = {}
        for key in (self.ASCENDING, self.DESCENDING, self.ASC_MASK, self.DESC_MASK):
            layer = self.parameterAsRasterLayer(parameters, key, context)
            if layer is None and key in (self.ASCENDING, self.DESCENDING):
                raise QgsProcessingException(self.invalidRasterError(parameters, key))
            layers[key] = layer.source() if layer is not None else None
        bands = [b.strip() for b in self.parameterAsString(parameters, self.BANDS, context).split(",") if b.strip()]
        tolerance = self.parameterAsDouble(parameters, self.BRIGHTENING_TOLERANCE, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        source = self.parameterAsOutputLayer(parameters, self.SOURCE, context) or None
        try:
            summary = fuse_rasters(
                layers[self.ASCENDING], layers[self.DESCENDING], out, source,
                layers[self.ASC_MASK], layers[self.DESC_MASK], bands or None,
                self.parameterAsEnumString(parameters, self.NORMALIZATION, context),
                self.parameterAsEnumString(parameters, self.COMBINE, context),
                self.parameterAsEnumString(parameters, self.UNITS, context),
                tolerance if tolerance > 0 else None,
                progress=lambda f: feedback.setProgress(100 * f),
            )
        except GlasarError as exc:
            raise QgsProcessingException(str(exc)) from None
        counts = summary["source_counts"]
        feedback.pushInfo(self.tr("Fused bands: {}").format(", ".join(summary["bands"])))
        feedback.pushInfo(self.tr("Pixels: {} both, {} ascending only, {} descending only, {} no clean pass, "
                                  "{} nodata").format(counts[3], counts[1], counts[2], counts[4], counts[0]))
        outputs = {self.OUTPUT: out}
        if self.parameterAsEnumString(parameters, self.NORMALIZATION, context) in ("none", "median_offset"):
            style_on_completion(context, out, "backscatter_db.qml")  # dB; z-scores need another stretch
        if source:
            outputs[self.SOURCE] = source
            style_on_completion(context, source, "fusion_source.qml")
        return outputs
