"""glasar:eesentinel1 - Fetch a Sentinel-1 pair per lake from Earth Engine (optional data source).

Thin glue over ``algorithms/earthengine.py``; ``ee`` is imported only inside processAlgorithm
(never at provider load), authentication is never interactive.
"""
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsSettings,
    QgsWkbTypes,
)

from ..algorithms import GlasarError
from ..algorithms import earthengine as eeg
from ..algorithms import lake_geometry as lg
from .base import GlasarAlgorithm

AUTH_PARAM_HELP = {
    "PROJECT": "Google Cloud project registered for Earth Engine. Empty: the QGIS setting glasar/ee_project, then "
               "the environment variable EARTHENGINE_PROJECT or GOOGLE_CLOUD_PROJECT, then the project stored by "
               "`earthengine set_project`.",
    "CREDENTIALS": "Optional service-account key file (JSON). Empty: the QGIS setting glasar/ee_service_account_key, "
                   "GOOGLE_APPLICATION_CREDENTIALS, or the credentials stored by `earthengine authenticate`. Never "
                   "logged.",
}


class EarthEngineMixin:
    """Shared parameters and helpers of the Earth Engine algorithms."""

    INVENTORY = "INVENTORY"
    LAKE_ID_FIELD = "LAKE_ID_FIELD"
    EXTENT = "EXTENT"
    PROJECT = "PROJECT"
    CREDENTIALS = "CREDENTIALS"
    BUFFER_SCALE = "BUFFER_SCALE"
    MAX_PARALLEL = "MAX_PARALLEL"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    MANIFEST = "MANIFEST"
    N_FILES = "N_FILES"

    @staticmethod
    def settings():
        s = QgsSettings()
        return (str(s.value(eeg.SETTING_PROJECT, "") or ""), str(s.value(eeg.SETTING_KEY_FILE, "") or ""))

    def canExecute(self):  # noqa: N802 (QGIS API)
        """False with the exact instructions when ee is missing or no credential is stored.
        (QGIS 3.22 checks this only in the toolbox; processAlgorithm checks again.)"""
        _, key_file = self.settings()
        ok, message = eeg.readiness(setting_key_file=key_file)
        return ok, message

    def add_area_params(self):
        self.add_param(
            QgsProcessingParameterFeatureSource(self.INVENTORY, self.tr("Glacial lake inventory"),
                                                [QgsProcessing.SourceType.TypeVectorPolygon], optional=True),
            "Polygon layer of lakes (any CRS): one window per lake (bounding box grown by 1200*log5(A+1)+100 m, "
            "the same window glasar:maplakes uses). 'Selected features only' works. Empty: use EXTENT.",
        )
        self.add_param(
            QgsProcessingParameterField(self.LAKE_ID_FIELD, self.tr("Lake id field"),
                                        parentLayerParameterName=self.INVENTORY, optional=True),
            "Field that names each lake in file names and tags (e.g. GLIMS_ID); the feature id when empty.",
        )
        self.add_param(
            QgsProcessingParameterExtent(self.EXTENT, self.tr("Extent (when no inventory)"), optional=True),
            "One window covering this extent (any CRS), used when no inventory is given.",
        )

    def add_auth_params(self):
        self.add_param(QgsProcessingParameterString(self.PROJECT, self.tr("Google Cloud project"), optional=True),
                       AUTH_PARAM_HELP["PROJECT"])
        self.add_param(
            QgsProcessingParameterFile(self.CREDENTIALS, self.tr("Service-account key file"),
                                       extension="json", optional=True),
            AUTH_PARAM_HELP["CREDENTIALS"],
        )

    def add_tuning_params(self):
        self.add_param(
            QgsProcessingParameterNumber(self.BUFFER_SCALE, self.tr("Window margin scale"),
                                         QgsProcessingParameterNumber.Type.Double, 1.0, minValue=0.1, maxValue=10.0),
            "Multiplies the window margin 1200*log5(A+1)+100 m (keep it equal to glasar:maplakes' BUFFER_SCALE).",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterNumber(self.MAX_PARALLEL, self.tr("Parallel requests"),
                                         QgsProcessingParameterNumber.Type.Integer, 4, minValue=1, maxValue=8),
            "Lakes fetched at the same time. Requests that hit the quota (HTTP 429) or a server error are retried "
            "with exponential backoff; lower this if quota errors persist.",
            advanced=True,
        )

    def add_outputs(self, folder_help):
        self.add_param(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")),
                       folder_help)
        self.addOutput(QgsProcessingOutputFile(self.MANIFEST, self.tr("Per-lake manifest (CSV)")))
        self.addOutput(QgsProcessingOutputNumber(self.N_FILES, self.tr("Files written")))

    def read_windows(self, parameters, context, feedback, res):
        """Lake windows (inventory) or one extent window, in inventory order."""
        buffer_scale = self.parameterAsDouble(parameters, self.BUFFER_SCALE, context)
        wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
        source = self.parameterAsSource(parameters, self.INVENTORY, context)
        if source is not None:
            if QgsWkbTypes.geometryType(source.wkbType()) != QgsWkbTypes.PolygonGeometry:
                raise QgsProcessingException(self.tr("The inventory must be a polygon layer."))
            id_field = self.parameterAsString(parameters, self.LAKE_ID_FIELD, context)
            request = QgsFeatureRequest().setDestinationCrs(wgs84, context.transformContext())
            lakes = []
            # Empty or invalid polygons are skipped per lake below; QGIS's own check would stop the run.
            for feat in source.getFeatures(request, QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks):
                lake_id = str(feat[id_field]) if id_field else str(feat.id())
                geom = feat.geometry()
                lakes.append((lake_id, bytes(geom.asWkb()) if geom is not None and not geom.isNull() else b""))
            if not lakes:
                raise QgsProcessingException(self.tr("The inventory has no features (or none selected)."))
            windows = []
            file_ids = eeg.unique_file_ids([i for i, _ in lakes])
            for (lake_id, wkb), file_id in zip(lakes, file_ids):
                try:
                    g = lg.geometry_from_wkb(wkb)
                    windows.append(eeg.lake_window(lake_id, g, file_id, buffer_scale, res))
                except GlasarError as exc:
                    feedback.pushWarning(self.tr("lake {}: skipped ({})").format(lake_id, exc))
            if not windows:
                raise QgsProcessingException(self.tr("No inventory lake has a usable polygon."))
            return windows
        if parameters.get(self.EXTENT) is None:
            raise QgsProcessingException(self.tr("Give an inventory (INVENTORY) or an extent (EXTENT)."))
        extent = self.parameterAsExtent(parameters, self.EXTENT, context, wgs84)
        crs = self.parameterAsExtentCrs(parameters, self.EXTENT, context)
        if crs.isValid() and crs != wgs84:
            extent = QgsCoordinateTransform(crs, wgs84, context.transformContext()).transformBoundingBox(extent)
        if extent.isNull() or extent.isEmpty():
            raise QgsProcessingException(self.tr("The extent is empty."))
        try:
            return [eeg.extent_window("extent", extent.xMinimum(), extent.yMinimum(), extent.xMaximum(),
                                      extent.yMaximum(), res)]
        except GlasarError as exc:
            raise QgsProcessingException(str(exc)) from None

    def connect(self, parameters, context, feedback):
        """Connect to Earth Engine (never interactive); clear errors, no secrets."""
        setting_project, setting_key = self.settings()
        try:
            conn = eeg.connect(
                project=self.parameterAsString(parameters, self.PROJECT, context),
                key_file=self.parameterAsFile(parameters, self.CREDENTIALS, context),
                setting_project=setting_project, setting_key_file=setting_key,
                log=lambda m: feedback.pushInfo(eeg.redact(m)),
            )
        except GlasarError as exc:
            raise QgsProcessingException(eeg.redact(exc)) from None
        feedback.pushInfo(self.tr("Connected: {}").format(eeg.redact(conn.describe())))
        return conn


class EESentinel1Algorithm(EarthEngineMixin, GlasarAlgorithm):
    START = "START"
    END = "END"
    RELATIVE_ORBITS = "RELATIVE_ORBITS"
    MIN_INCIDENCE = "MIN_INCIDENCE"

    _name = "eesentinel1"
    _display_name = "Fetch Sentinel-1 pair from Earth Engine"
    _group_id = "earthengine"
    _group = "Earth Engine"
    _icon = "earthengine.svg"
    _tags = ("earth engine", "gee", "sentinel-1", "download", "fetch", "ascending", "descending", "s1_grd")
    _help = (
        "Chooses, per lake window, one ascending and one descending Sentinel-1 scene on Earth Engine and fetches "
        "the window as GeoTIFF (bands VV, VH in sigma0 dB and angle) into the output folder, where "
        "glasar:maplakes and glasar:selectscenes read them. Earth Engine only chooses and delivers the data; "
        "the science runs locally.\n\n"
        "Selection (as the original workflow, Wu et al. 2025): COPERNICUS/S1_GRD, IW, VV and VH present, "
        "START..END (END included), optional relative orbits; per pass the number of masked pixels in the lake "
        "window is counted; among scenes covering the whole window the one closest to the middle date "
        "START + floor((END-START)/2) is taken; if none covers it, the per-pixel median of all scenes of that pass "
        "(SYNTHESIS=1). With MIN_INCIDENCE, scenes whose smallest incidence angle in the window is lower are "
        "left out (all are kept if none passes).\n\n"
        "Files: S1_<ASC|DSC>_<time>[_median]_<lake>.tif with tags PASS, ACQUISITION_TIME, HEADING (flight "
        "direction from the scene footprint), SOURCE (system:index), SYNTHESIS, NODATA_COUNT; "
        "ee_sentinel1_manifest.csv lists every lake and pass with its status (e.g. no scene in the dates).\n\n"
        "Needs earthengine-api in QGIS's Python and stored credentials (earthengine authenticate) or a "
        "service-account key; the Cloud project comes from PROJECT, the setting glasar/ee_project or "
        "EARTHENGINE_PROJECT. Requests that hit quota or server errors are retried with backoff."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_area_params()
        p = QgsProcessingParameterDateTime(self.START, self.tr("Start date"),
                                           QgsProcessingParameterDateTime.Type.Date)
        self.add_param(p, "First acquisition date searched (YYYY-MM-DD, UTC).")
        p = QgsProcessingParameterDateTime(self.END, self.tr("End date (included)"),
                                           QgsProcessingParameterDateTime.Type.Date)
        self.add_param(p, "Last acquisition date searched (YYYY-MM-DD, UTC, included). The scene closest to the "
                          "middle of START..END is preferred.")
        self.add_param(
            QgsProcessingParameterString(self.RELATIVE_ORBITS, self.tr("Relative orbits (optional)"), optional=True),
            "Keep only these Sentinel-1 relative orbits (1-175), comma separated, e.g. '12, 121'. A pass with none "
            "of them gets the status 'no scene'.",
        )
        self.add_param(
            QgsProcessingParameterNumber(self.MIN_INCIDENCE, self.tr("Minimum incidence angle (deg, 0 = off)"),
                                         QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0, maxValue=60.0),
            "Prefer scenes whose smallest incidence angle in the lake window is at least this (the later original "
            "code used 38); if no scene of a pass qualifies, all are used and the tag ANGLE_FILTER says so.",
        )
        self.add_auth_params()
        self.add_tuning_params()
        self.add_outputs("Folder for the GeoTIFFs and ee_sentinel1_manifest.csv (existing files of the same name "
                         "are replaced; nothing is written if the run fails or is cancelled).")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        start = self.parameterAsDateTime(parameters, self.START, context)
        end = self.parameterAsDateTime(parameters, self.END, context)
        if not start.isValid() or not end.isValid():
            raise QgsProcessingException(self.tr("START and END must be dates (YYYY-MM-DD)."))
        min_inc = self.parameterAsDouble(parameters, self.MIN_INCIDENCE, context)
        try:
            query = eeg.S1Query.make(start.date().toString("yyyy-MM-dd"), end.date().toString("yyyy-MM-dd"),
                                     self.parameterAsString(parameters, self.RELATIVE_ORBITS, context),
                                     min_inc if min_inc > 0 else None)
        except GlasarError as exc:
            raise QgsProcessingException(str(exc)) from None
        windows = self.read_windows(parameters, context, feedback, eeg.S1_RES)
        out_dir = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        conn = self.connect(parameters, context, feedback)
        feedback.pushInfo(self.tr("{} windows, {} to {} (middle {})").format(
            len(windows), query.start, parameters.get(self.END), query.middle))
        try:
            res = eeg.fetch_sentinel1(
                conn, windows, query, out_dir,
                max_parallel=self.parameterAsInt(parameters, self.MAX_PARALLEL, context),
                progress=lambda f: feedback.setProgress(100.0 * f), is_canceled=feedback.isCanceled,
                log=lambda m: feedback.pushInfo(eeg.redact(m)),
            )
        except eeg.Canceled:
            raise QgsProcessingException(self.tr("Canceled: no output was written.")) from None
        except GlasarError as exc:
            raise QgsProcessingException(eeg.redact(exc)) from None
        n_ok = sum(1 for r in res.rows if r.get("file"))
        feedback.pushInfo(self.tr("{} of {} lake passes fetched; manifest {}").format(n_ok, len(res.rows),
                                                                                      res.manifest))
        return {self.OUTPUT_FOLDER: out_dir, self.MANIFEST: res.manifest, self.N_FILES: len(res.files)}
