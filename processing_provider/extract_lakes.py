"""glasar:extractlakes - Extract lakes from a (fused) raster over an inventory."""
from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..algorithms import GlasarError, extraction, pipeline, units
from ..algorithms.extract_raster import extract_lakes
from . import lake_io
from .base import GlasarAlgorithm
from .styling import style_on_completion


class ExtractLakesAlgorithm(GlasarAlgorithm):
    INPUT = "INPUT"
    INVENTORY = "INVENTORY"
    LAKE_ID_FIELD = "LAKE_ID_FIELD"
    METHOD = "METHOD"
    BANDS = "BANDS"
    UNITS = "UNITS"
    MIN_AREA = "MIN_AREA"
    BUFFER_SCALE = "BUFFER_SCALE"
    OUTPUT = "OUTPUT"
    TABLE = "TABLE"

    _name = "extractlakes"
    _display_name = "Extract lakes from a raster"
    _group_id = "extraction"
    _group = "Lake extraction"
    _icon = "extraction.svg"
    _tags = ("water", "lake", "otsu", "k-means", "snic", "threshold", "clustering", "iou", "inventory")
    _help = (
        "Extracts every inventory lake from one raster - a fused raster from 'Fuse ascending and descending' or a "
        "single Sentinel-1 pass - and scores each outline against the inventory polygon.\n\n"
        "Per lake: the window (bounding box grown by 1200*log5(A+1)+100 m) is read on the raster's grid, water is "
        "the dark class of METHOD (thresholds use the first band, clustering all chosen bands), the lake is the "
        "set of connected water regions touching the lake's shrunk interior (3000*log10(A+1)*circularity m), "
        "cleaned by a 3x3 opening and closing, polygonised and scored (IoU, precision, recall, F1).\n\n"
        "The raster should hold backscatter in dB, power or amplitude (not z-scores). Outputs as 'Map glacial "
        "lakes': one feature per inventory lake with the same attributes, and the CSV table.\n\n"
        "After Wu et al. (2025), Int. J. Appl. Earth Obs. Geoinf. 136, 104329."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_param(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Fused or single-pass raster")),
                       "Raster with backscatter bands, e.g. the OUTPUT of glasar:fuseascdesc.")
        self.add_param(QgsProcessingParameterFeatureSource(self.INVENTORY, self.tr("Glacial lake inventory"),
                                                           [QgsProcessing.SourceType.TypeVectorPolygon]),
                       "Polygon layer of lakes (any CRS); 'selected features only' works.")
        self.add_param(QgsProcessingParameterField(self.LAKE_ID_FIELD, self.tr("Lake id field"),
                                                   parentLayerParameterName=self.INVENTORY, optional=True),
                       "Field that identifies each lake in the output; the feature id when empty.")
        p = QgsProcessingParameterEnum(self.METHOD, self.tr("Water extraction method"),
                                       options=list(extraction.METHODS), defaultValue=extraction.METHODS[0])
        p.setUsesStaticStrings(True)
        self.add_param(p, "How water (the dark class) is separated from land in each lake window.")
        self.add_param(QgsProcessingParameterString(self.BANDS, self.tr("Bands (comma-separated)"), optional=True),
                       "Band names to use, e.g. VV_mean or VV_mean,VH_mean; empty: every backscatter band "
                       "(thresholds use the first).", advanced=True)
        p = QgsProcessingParameterEnum(self.UNITS, self.tr("Backscatter units"), options=list(units.UNITS),
                                       defaultValue="auto")
        p.setUsesStaticStrings(True)
        self.add_param(p, "Units of the bands: auto (per band), db, power or amplitude.", advanced=True)
        self.add_param(QgsProcessingParameterNumber(self.MIN_AREA, self.tr("Minimum lake area (km2)"),
                                                    QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0.0),
                       "Inventory lakes smaller than this are skipped (status says so).", advanced=True)
        self.add_param(QgsProcessingParameterNumber(self.BUFFER_SCALE, self.tr("Window margin scale"),
                                                    QgsProcessingParameterNumber.Type.Double, 1.0, minValue=0.1,
                                                    maxValue=10.0),
                       "Multiplies the original window margin 1200*log5(A+1)+100 m.", advanced=True)
        self.add_param(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Extracted lakes"),
                                                         QgsProcessing.SourceType.TypeVectorPolygon),
                       "One feature per inventory lake with the extracted outline and its accuracy figures.")
        self.add_param(QgsProcessingParameterFileDestination(self.TABLE, self.tr("Per-lake table (CSV)"),
                                                             "CSV files (*.csv)", optional=True, createByDefault=True),
                       "The same per-lake rows as a CSV table.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.INPUT))
        source = self.parameterAsSource(parameters, self.INVENTORY, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INVENTORY))
        lakes = lake_io.read_lakes(source, self.parameterAsString(parameters, self.LAKE_ID_FIELD, context), context)
        if not lakes:
            raise QgsProcessingException(self.tr("The inventory has no features (or none selected)."))
        options = pipeline.Options(
            method=self.parameterAsEnumString(parameters, self.METHOD, context),
            min_area_km2=self.parameterAsDouble(parameters, self.MIN_AREA, context),
            buffer_scale=self.parameterAsDouble(parameters, self.BUFFER_SCALE, context),
        )
        bands = [b.strip() for b in self.parameterAsString(parameters, self.BANDS, context).split(",") if b.strip()]
        try:
            results = extract_lakes(lakes, layer.source(), options, bands or None,
                                    self.parameterAsEnumString(parameters, self.UNITS, context),
                                    progress=lambda f: feedback.setProgress(100 * f),
                                    is_canceled=feedback.isCanceled, log=feedback.pushInfo)
        except GlasarError as exc:
            raise QgsProcessingException(str(exc)) from None
        if results is None or feedback.isCanceled():
            raise QgsProcessingException(self.tr("Canceled: no output was written."))
        for res in results:
            feedback.pushInfo(self.tr("lake {}: {}{}").format(
                res.lake_id, res.status, "" if res.fields.get("iou") is None else f", IoU {res.fields['iou']:.3f}"))
        outputs = lake_io.write_lake_outputs(self, parameters, context, source, results, self.OUTPUT, self.TABLE)
        style_on_completion(context, outputs[self.OUTPUT], "mapped_lakes_iou.qml")
        return outputs
