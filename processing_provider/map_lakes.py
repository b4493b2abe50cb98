"""glasar:maplakes - Map glacial lakes (end to end, one feature per inventory lake)."""
import datetime as _dt
import os

from qgis.core import (
    Qgis,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsWkbTypes,
)

from ..algorithms import GlasarError
from ..algorithms import extraction, fusion, inventory_run, pipeline, speckle, units
from ..ui import report as html_report
from . import lake_io, styling
from .base import GlasarAlgorithm

class MapLakesAlgorithm(GlasarAlgorithm):
    ASCENDING = "ASCENDING"
    DESCENDING = "DESCENDING"
    UNITS = "UNITS"
    DEM = "DEM"
    INVENTORY = "INVENTORY"
    LAKE_ID_FIELD = "LAKE_ID_FIELD"
    METHOD = "METHOD"
    BAND = "BAND"
    SPECKLE_FILTER = "SPECKLE_FILTER"
    BUFFER_SCALE = "BUFFER_SCALE"
    MIN_AREA = "MIN_AREA"
    RESOLUTION = "RESOLUTION"
    FUSION_TOLERANCE = "FUSION_TOLERANCE"
    PASSES = "PASSES"
    NORMALIZATION = "NORMALIZATION"
    COMBINE = "COMBINE"
    VH_ROUGH_WATER = "VH_ROUGH_WATER"
    WORKERS = "WORKERS"
    SCENES = "SCENES"
    SLOPE_MODEL = "SLOPE_MODEL"
    INCIDENCE = "INCIDENCE"
    START = "START"
    END = "END"
    MAX_NODATA = "MAX_NODATA"
    OUTPUT = "OUTPUT"
    TABLE = "TABLE"
    REPORT = "REPORT"

    _name = "maplakes"
    _display_name = "Map glacial lakes"
    _group_id = ""
    _group = ""
    _tags = ("sentinel-1", "sar", "glacial lake", "glof", "water", "inventory", "iou", "ascending", "descending")
    _help = (
        "Maps every lake of a glacial-lake inventory from one ascending and one descending Sentinel-1 raster "
        "and scores each mapped outline against the inventory polygon.\n\n"
        "Per lake: a window around the lake (bounding box grown by 1200*log5(A+1)+100 m, A in km2) is read from "
        "both passes onto one grid (or, with SCENES, from the scenes chosen for that window), converted to linear "
        "power, speckle-filtered (Refined Lee by default) and converted to dB. A pass whose lake is not darker than "
        "its shore is dropped (it does not show the lake). The ascending pass is aligned to the descending one by "
        "the median dB offset; where one pass is distorted (DEM layover/shadow mask, or more than the fusion "
        "tolerance brighter than the other: layover only brightens) or nodata, the other is taken, else their "
        "mean. Water is the dark class (METHOD); the lake is the set of connected water regions touching the "
        "lake's shrunk interior (3000*log10(A+1)*circularity m), cleaned by a 3x3 opening and closing, "
        "polygonised with GDAL and scored (IoU, precision, recall, F1) in a metric CRS. Lakes run in WORKERS "
        "processes.\n\n"
        "Inputs: Earth Engine exports (bands VV, VH, angle; sigma0 dB) or ASF HyP3 RTC GeoTIFFs (gamma0 power, "
        "amplitude or dB; nodata 0). Units are detected unless UNITS is set; values that contradict the declared "
        "units stop the run.\n\n"
        "Outputs: OUTPUT, one feature per inventory lake (no geometry when the lake could not be mapped) with lake "
        "id, method, band, acquisition times, predicted and reference area, IoU, precision, recall, F1, the "
        "threshold, the valid fraction of the lake and a status ('ok' or why it was skipped); TABLE, the same "
        "rows as CSV; REPORT (optional), a self-contained HTML report with the IoU distribution, the "
        "distortion fractions, the lakes not mapped and why, and per lake the images and histogram. Nothing is "
        "written when the run is cancelled; a journal next to OUTPUT lets an interrupted run resume.\n\n"
        "Method after Wu et al. (2025), Int. J. Appl. Earth Obs. Geoinf. 136, 104329."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_param(
            QgsProcessingParameterRasterLayer(self.ASCENDING, self.tr("Ascending Sentinel-1 raster"), optional=True),
            "Ascending-pass Sentinel-1 raster: Earth Engine export (bands VV, VH, angle) or HyP3 RTC GeoTIFF. "
            "Give this and DESCENDING, or a SCENES folder with START and END.",
        )
        self.add_param(
            QgsProcessingParameterRasterLayer(self.DESCENDING, self.tr("Descending Sentinel-1 raster"), optional=True),
            "Descending-pass Sentinel-1 raster, same kinds as the ascending one.",
        )
        self.add_param(
            QgsProcessingParameterFile(self.SCENES, self.tr("Folder of Sentinel-1 scenes (instead of a pair)"),
                                       behavior=QgsProcessingParameterFile.Behavior.Folder, optional=True),
            "Folder (searched recursively) of Sentinel-1 scenes: per lake and pass GLaSAR takes the scene "
            "covering the lake window that is closest to the middle of START..END, else the per-pixel median of "
            "the pass (as glasar:selectscenes).",
        )
        self.add_param(
            QgsProcessingParameterDateTime(self.START, self.tr("Start date"), optional=True,
                                           type=QgsProcessingParameterDateTime.Type.Date),
            "First acquisition date considered with SCENES (inclusive).",
        )
        self.add_param(
            QgsProcessingParameterDateTime(self.END, self.tr("End date"), optional=True,
                                           type=QgsProcessingParameterDateTime.Type.Date),
            "Last acquisition date considered with SCENES (inclusive).",
        )
        self.add_param(
            QgsProcessingParameterNumber(self.MAX_NODATA, self.tr("Tolerated nodata in a lake window (%)"),
                                         QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0, maxValue=100.0),
            "With SCENES: a scene counts as covering a lake window when at most this share of it is nodata "
            "(0 as the original; steep terrain with RTC layover/shadow nodata may need a few percent).",
            advanced=True,
        )
        p = QgsProcessingParameterEnum(self.UNITS, self.tr("Backscatter units"), options=list(units.UNITS),
                                       defaultValue="auto")
        p.setUsesStaticStrings(True)
        self.add_param(p, "Units of both rasters: auto (detected from values and metadata), db, power or amplitude. "
                          "A declaration the values contradict (e.g. negative 'power') is an error.")
        self.add_param(
            QgsProcessingParameterRasterLayer(self.DEM, self.tr("DEM"), optional=True),
            "Optional DEM (any GDAL raster, any CRS; geographic DEMs are fine). Per lake and pass GLaSAR then "
            "computes the layover/shadow mask along range lines (with a 3 km margin so outside ridges count), "
            "uses it in the fusion, reports layover_shadow_asc/desc, and slope-corrects sigma0 scenes (RTC gamma0 "
            "products are already flattened and are left as they are).",
        )
        p = QgsProcessingParameterEnum(self.SLOPE_MODEL, self.tr("Slope correction model"),
                                       options=["volume", "surface", "area"], defaultValue="volume")
        p.setUsesStaticStrings(True)
        self.add_param(p, "With a DEM: volume or surface (Vollrath et al. 2020) or area (Small 2011 projected-area "
                          "flattening) for sigma0 scenes.", advanced=True)
        self.add_param(
            QgsProcessingParameterNumber(self.INCIDENCE, self.tr("Incidence for scenes without an angle band (deg)"),
                                         QgsProcessingParameterNumber.Type.Double, 39.0, minValue=20.0, maxValue=50.0),
            "With a DEM: ellipsoid incidence used for the layover/shadow geometry of scenes that carry no angle band "
            "(e.g. HyP3 RTC); Sentinel-1 IW spans 30-46 deg across the swath.",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterFeatureSource(self.INVENTORY, self.tr("Glacial lake inventory"),
                                                [QgsProcessing.SourceType.TypeVectorPolygon]),
            "Polygon layer of lakes (any CRS); each lake is mapped in its own window. 'Selected features only' works.",
        )
        self.add_param(
            QgsProcessingParameterField(self.LAKE_ID_FIELD, self.tr("Lake id field"), parentLayerParameterName=self.INVENTORY,
                                        optional=True),
            "Field that identifies each lake in the output (e.g. GLIMS_ID); the feature id when empty.",
        )
        p = QgsProcessingParameterEnum(self.METHOD, self.tr("Water extraction method"),
                                       options=list(extraction.METHODS), defaultValue=extraction.METHODS[0])
        p.setUsesStaticStrings(True)
        self.add_param(p, "How water (the dark class) is separated from land in each lake window.")
        p = QgsProcessingParameterEnum(self.BAND, self.tr("Polarisation"), options=list(pipeline.BANDS),
                                       defaultValue="VV")
        p.setUsesStaticStrings(True)
        self.add_param(p, "Band to classify: VV, VH or both (clustering uses both; thresholds use the first).")
        default_filter = "refined_lee" if "refined_lee" in speckle.FILTERS else "boxcar"
        p = QgsProcessingParameterEnum(self.SPECKLE_FILTER, self.tr("Speckle filter"), options=list(speckle.FILTERS),
                                       defaultValue=default_filter)
        p.setUsesStaticStrings(True)
        self.add_param(p, "Speckle filter applied to each lake window in linear power (with a margin so the window "
                          "edge is filtered as in the scene).")
        self.add_param(
            QgsProcessingParameterNumber(self.BUFFER_SCALE, self.tr("Window margin scale"),
                                         QgsProcessingParameterNumber.Type.Double, 1.0, minValue=0.1, maxValue=10.0),
            "Multiplies the original window margin 1200*log5(A+1)+100 m around each lake's bounding box.",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterNumber(self.MIN_AREA, self.tr("Minimum lake area (km2)"),
                                         QgsProcessingParameterNumber.Type.Double, 0.01, minValue=0.0),
            "Inventory lakes smaller than this are skipped (status says so): a few Sentinel-1 pixels are not a lake.",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterNumber(self.RESOLUTION, self.tr("Analysis resolution (m, 0 = native)"),
                                         QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0, maxValue=200.0),
            "Pixel size of the analysis grid; 0 uses the ascending raster's own grid (no resampling) when it is "
            "metric, else 10 m in the lake's UTM zone.",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterNumber(self.FUSION_TOLERANCE, self.tr("Fusion agreement tolerance (dB)"),
                                         QgsProcessingParameterNumber.Type.Double, 6.0, minValue=0.0, maxValue=100.0),
            "Where both passes are valid and differ by more than this, the darker pass is taken (layover brightens); "
            "otherwise their mean.",
            advanced=True,
        )
        p = QgsProcessingParameterEnum(self.NORMALIZATION, self.tr("Normalisation of the ascending pass"),
                                       options=list(fusion.NORMALISATIONS), defaultValue="median_offset")
        p.setUsesStaticStrings(True)
        self.add_param(p, "How the ascending pass is aligned to the descending one before fusion: median_offset "
                          "(default, as the published notebook: the median dB difference over pixels clean in both), "
                          "none, zscore (mean and standard deviation matched) or histogram_matching (z-score, then "
                          "CDF matching, as the older notebook). The fused image stays on the descending pass's dB "
                          "scale.", advanced=True)
        p = QgsProcessingParameterEnum(self.COMBINE, self.tr("Combination where both passes are clean"),
                                       options=list(pipeline.COMBINE_CHOICES), defaultValue="mean")
        p.setUsesStaticStrings(True)
        self.add_param(p, "mean (default), max or min of the two passes where both are valid and undistorted; "
                          "elsewhere the clean pass is taken.", advanced=True)
        p = QgsProcessingParameterEnum(self.PASSES, self.tr("Passes used"), options=list(pipeline.PASS_CHOICES),
                                       defaultValue="both")
        p.setUsesStaticStrings(True)
        self.add_param(p, "both (default): fuse the ascending and descending passes. ascending or descending: map "
                          "from that pass alone (no fusion, the pass is used even where it is distorted), to see "
                          "what a single pass gives.", advanced=True)
        self.add_param(
            QgsProcessingParameterBoolean(self.VH_ROUGH_WATER, self.tr("Recover wind-roughened water from VH"),
                                          defaultValue=True),
            "When both rasters also hold VH (BAND VV or both): pixels connected to the lake that are water in VH "
            "but not in VV and depolarise less than the land around (VV-VH above land's median) are added; wind "
            "brightens water in VV but hardly in VH. VV-only rasters are unaffected. Off: the VV band alone.",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterNumber(self.WORKERS, self.tr("Worker processes"),
                                         QgsProcessingParameterNumber.Type.Integer, os.cpu_count() or 1,
                                         minValue=1, maxValue=256),
            "Lakes are mapped in this many worker processes (default: the number of CPUs); results are the "
            "same as with one worker, in inventory order.",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Mapped lakes"), QgsProcessing.SourceType.TypeVectorPolygon),
            "One feature per inventory lake with the mapped outline and its accuracy figures.",
        )
        self.add_param(
            QgsProcessingParameterFileDestination(self.TABLE, self.tr("Per-lake table (CSV)"), "CSV files (*.csv)",
                                                  optional=True, createByDefault=True),
            "The same per-lake rows as a CSV table.",
        )
        self.add_param(
            QgsProcessingParameterFileDestination(self.REPORT, self.tr("HTML report"), self.tr("HTML files (*.html)"),
                                                  optional=True, createByDefault=False),
            "Optional self-contained HTML report (images embedded; QGIS's results viewer or any browser): lakes "
            "mapped, not mapped and why, the IoU distribution and distortion fractions, and per mapped lake the "
            "ascending, descending and fused images (dB, -25..0), the fusion source, the mapped outline over the "
            "inventory outline and the histogram with the threshold or cluster split.",
        )

    def read_options(self, parameters, context):
        method = self.parameterAsEnumString(parameters, self.METHOD, context)
        band = self.parameterAsEnumString(parameters, self.BAND, context)
        unit = self.parameterAsEnumString(parameters, self.UNITS, context)
        return pipeline.Options(
            method=method, band=band, units_asc=unit, units_desc=unit,
            speckle_filter=self.parameterAsEnumString(parameters, self.SPECKLE_FILTER, context),
            buffer_scale=self.parameterAsDouble(parameters, self.BUFFER_SCALE, context),
            min_area_km2=self.parameterAsDouble(parameters, self.MIN_AREA, context),
            resolution=self.parameterAsDouble(parameters, self.RESOLUTION, context),
            fusion_tolerance_db=self.parameterAsDouble(parameters, self.FUSION_TOLERANCE, context),
            dem_path=self._dem_path(parameters, context),
            slope_model=self.parameterAsEnumString(parameters, self.SLOPE_MODEL, context),
            incidence_deg=self.parameterAsDouble(parameters, self.INCIDENCE, context),
            passes=self.parameterAsEnumString(parameters, self.PASSES, context) or "both",
            normalisation=self.parameterAsEnumString(parameters, self.NORMALIZATION, context) or "median_offset",
            combine=self.parameterAsEnumString(parameters, self.COMBINE, context) or "mean",
            crosspol_rough_water=self.parameterAsBool(parameters, self.VH_ROUGH_WATER, context),
        )

    def _dem_path(self, parameters, context):
        layer = self.parameterAsRasterLayer(parameters, self.DEM, context)
        return layer.source() if layer is not None else ""

    def _date(self, parameters, key, context):
        d = self.parameterAsDateTime(parameters, key, context)
        if d is None or not d.isValid():
            raise QgsProcessingException(self.tr("{} is required with SCENES (a date, YYYY-MM-DD)").format(key))
        qd = d.date()
        return _dt.date(qd.year(), qd.month(), qd.day())

    def read_source(self, parameters, context):
        """A fixed pair (ASCENDING + DESCENDING) or a folder of scenes (SCENES + START + END)."""
        folder = self.parameterAsFile(parameters, self.SCENES, context)
        asc_layer = self.parameterAsRasterLayer(parameters, self.ASCENDING, context)
        desc_layer = self.parameterAsRasterLayer(parameters, self.DESCENDING, context)
        if folder:
            if asc_layer is not None or desc_layer is not None:
                raise QgsProcessingException(self.tr("Give either ASCENDING and DESCENDING, or SCENES, not both."))
            if not os.path.isdir(folder):
                raise QgsProcessingException(self.tr("SCENES is not a folder: {}").format(folder))
            start, end = self._date(parameters, self.START, context), self._date(parameters, self.END, context)
            if end < start:
                raise QgsProcessingException(self.tr("END ({}) is before START ({}).").format(end, start))
            return inventory_run.FolderSource(
                [folder], start.isoformat(), end.isoformat(),
                max_nodata_fraction=self.parameterAsDouble(parameters, self.MAX_NODATA, context) / 100.0)
        if asc_layer is None or desc_layer is None:
            raise QgsProcessingException(self.tr(
                "Give an ASCENDING and a DESCENDING raster, or a SCENES folder with START and END."))
        return inventory_run.PairSource(asc_layer.source(), desc_layer.source())

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        run_source = self.read_source(parameters, context)
        source = self.parameterAsSource(parameters, self.INVENTORY, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INVENTORY))
        if QgsWkbTypes.geometryType(source.wkbType()) != QgsWkbTypes.PolygonGeometry:
            raise QgsProcessingException(self.tr("The inventory must be a polygon layer."))
        id_field = self.parameterAsString(parameters, self.LAKE_ID_FIELD, context)
        options = self.read_options(parameters, context)
        if options.dem_path:
            feedback.pushInfo(self.tr("DEM: {} (slope model {})").format(options.dem_path, options.slope_model))

        lakes = lake_io.read_lakes(source, id_field, context)
        if not lakes:
            raise QgsProcessingException(self.tr("The inventory has no features (or none selected)."))
        feedback.pushInfo(self.tr("Mapping {} lakes with {} on {}").format(len(lakes), options.method, options.band))

        workers = self.parameterAsInt(parameters, self.WORKERS, context)
        report_path = self.parameterAsFileOutput(parameters, self.REPORT, context)
        journal = inventory_run.journal_path_for(self.parameterAsOutputLayer(parameters, self.OUTPUT, context))
        if journal:
            feedback.pushInfo(self.tr("Journal: {} (re-running with the same outputs resumes)").format(journal))
        try:
            results = inventory_run.run_inventory_source(
                lakes, run_source, options, workers=workers, journal_path=journal,
                progress=lambda f: feedback.setProgress(100.0 * f),
                is_canceled=feedback.isCanceled, log=feedback.pushInfo,
                keep_arrays=bool(report_path),  # window rasters only when a report will draw them
            )
        except GlasarError as exc:
            raise QgsProcessingException(str(exc)) from None
        if results is None or feedback.isCanceled():
            raise QgsProcessingException(self.tr("Canceled: no output was written (finished lakes are kept in the "
                                                 "journal; run again with the same outputs to resume)."))
        for res in results:
            f = res.fields
            if pipeline.is_mapped(res.status):
                feedback.pushInfo(self.tr("lake {}: IoU {:.3f}, area {:.3f} km2 (reference {:.3f}) {}").format(
                    res.lake_id, f["iou"], f["area_pred_km2"], f["area_ref_km2"], res.status[2:]))
            else:
                feedback.pushInfo(self.tr("lake {}: {}").format(res.lake_id, res.status))

        report = self.draw_report(results, parameters, context, feedback) if report_path else None

        # Outputs are created only now, after every lake is done, so a cancelled run leaves none.
        outputs = lake_io.write_lake_outputs(self, parameters, context, source, results, self.OUTPUT, self.TABLE)
        if report is not None:
            report.write(report_path)
            outputs[self.REPORT] = report_path
        # Graduated by IoU when QGIS loads OUTPUT (dialog, runAndLoadResults, models); nothing is forced to load.
        styling.style_on_completion(context, outputs[self.OUTPUT], "mapped_lakes_iou.qml")
        n_ok = sum(pipeline.is_mapped(r.status) for r in results)
        feedback.pushInfo(self.tr("{} of {} lakes mapped; {} skipped").format(n_ok, len(results), len(results) - n_ok))
        return outputs

    def draw_report(self, results, parameters, context, feedback):
        """Draw the HTML report (ui/report.py) before any output is written, dropping each lake's
        window arrays once its images are drawn; the file is written by the caller after OUTPUT."""
        feedback.pushInfo(self.tr("Drawing the HTML report"))
        run_info = []
        for p in self.parameterDefinitions():  # the inputs as run, in dialog order
            if p.isDestination() or parameters.get(p.name()) is None:
                continue
            text = p.valueAsPythonString(parameters[p.name()], context)
            if len(text) >= 2 and text[0] == text[-1] == "'":
                text = text[1:-1]
            run_info.append((p.description(), text))
        run_info.append((self.tr("QGIS version"), Qgis.QGIS_VERSION))
        try:
            builder = html_report.ReportBuilder(self.tr("GLaSAR glacial lake mapping report"), run_info)
            for res in results:
                if feedback.isCanceled():
                    raise QgsProcessingException(self.tr("Canceled: no output was written."))
                builder.add(res)
                res.arrays = {}
        except ImportError as exc:
            raise QgsProcessingException(self.tr("The HTML report needs matplotlib ({}): install python3-matplotlib "
                                                 "or leave REPORT empty.").format(exc)) from None
        return builder
