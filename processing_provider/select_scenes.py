"""glasar:selectscenes - Select Sentinel-1 scenes per pass (one ascending, one descending per area)."""
import datetime as _dt
import os
import tempfile

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputRasterLayer,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)

from ..algorithms import GlasarError
from ..algorithms import lake_geometry as lg
from ..algorithms import scenes
from .base import GlasarAlgorithm


class SelectScenesAlgorithm(GlasarAlgorithm):
    INPUT = "INPUT"
    SCENES = "SCENES"
    AREA = "AREA"
    AREA_ID_FIELD = "AREA_ID_FIELD"
    START = "START"
    END = "END"
    RELATIVE_ORBIT = "RELATIVE_ORBIT"
    PLATFORM = "PLATFORM"
    WINDOW = "WINDOW"
    BUFFER_SCALE = "BUFFER_SCALE"
    MAX_NODATA = "MAX_NODATA"
    RESOLUTION = "RESOLUTION"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    CATALOG = "CATALOG"
    ASCENDING = "ASCENDING"
    DESCENDING = "DESCENDING"
    OUTPUT_LAYERS = "OUTPUT_LAYERS"

    _name = "selectscenes"
    _display_name = "Select Sentinel-1 scenes per pass"
    _group_id = "sar"
    _group = "SAR preparation"
    _icon = "sar.svg"
    _tags = ("sentinel-1", "sar", "scene", "selection", "catalogue", "ascending", "descending", "median",
             "synthesis", "coverage", "hyp3", "earth engine")
    _help = (
        "Chooses, for every polygon of AREA (lake by lake), one ascending and one descending Sentinel-1 raster "
        "from a folder of scenes, as the original workflow does, and writes them cropped to the window.\n\n"
        "Catalogue: every raster under INPUT (recursive) or in SCENES is described once from its metadata: Earth "
        "Engine exports (bands VV, VH, angle; tags such as orbitProperties_pass, system:time_start), ASF HyP3 RTC "
        "products (*_VV.tif, *_VH.tif, *_inc_map.tif grouped into one scene; README/XML naming the granule), "
        "GeoTIFFs with tags PASS / ACQUISITION_TIME / HEADING, and Sentinel-1 file names. The pass comes from the "
        "metadata, else the file name (ASC/DSC), else the local solar time of the acquisition (UTC + lon/15; "
        "Sentinel-1 ascends near 18:00 and descends near 06:00 local time); a scene whose pass cannot be told is "
        "left out and the catalogue says why. The heading comes from the metadata, else the gradient of the "
        "incidence-angle band, else the pass and the latitude.\n\n"
        "Choice per pass and window (window = lake bounding box grown by 1200*log5(A+1)+100 m, or the polygon's "
        "extent): the nodata pixels of each scene inside the window are counted; among the scenes without nodata "
        "the one closest to the middle of START..END is taken; if no scene covers the window fully, the per-pixel "
        "median of all the pass's scenes is used and marked as a synthesis.\n\n"
        "Outputs: OUTPUT_FOLDER holds <area>_ASC_<time>.tif and <area>_DSC_<time or synthesis>.tif (bands VV, VH, "
        "angle as available; NaN nodata; tags PASS, ACQUISITION_TIME, HEADING, SOURCE, SYNTHESIS, NODATA_COUNT); "
        "CATALOG lists every scene for every area with its status and the reason. ASCENDING and DESCENDING give the "
        "first area's rasters for chaining in models. Unreadable files, scenes without time or pass, mixed CRSs "
        "and files outside the dates are reported; the rest of the folder is still used.\n\n"
        "Method after Wu et al. (2025), Int. J. Appl. Earth Obs. Geoinf. 136, 104329."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_param(
            QgsProcessingParameterFile(self.INPUT, self.tr("Folder of Sentinel-1 scenes"),
                                       behavior=QgsProcessingParameterFile.Behavior.Folder, optional=True),
            "Folder searched recursively for rasters (.tif, .tiff, .vrt, .img): Earth Engine exports, HyP3 RTC "
            "products or tagged GeoTIFFs. Give this or SCENES.",
        )
        self.add_param(
            QgsProcessingParameterMultipleLayers(self.SCENES, self.tr("Scene rasters"),
                                                 QgsProcessing.SourceType.TypeRaster, optional=True),
            "A list of scene rasters, instead of or in addition to the folder.",
        )
        self.add_param(
            QgsProcessingParameterFeatureSource(self.AREA, self.tr("Areas (lakes)"),
                                                [QgsProcessing.SourceType.TypeVectorPolygon]),
            "Polygon layer (any CRS): the selection is made for each polygon's window (a lake inventory gives one "
            "ascending and one descending raster per lake).",
        )
        self.add_param(
            QgsProcessingParameterField(self.AREA_ID_FIELD, self.tr("Area id field"),
                                        parentLayerParameterName=self.AREA, optional=True),
            "Field naming each area in the output files and the catalogue (e.g. GLIMS_ID); the feature id when empty.",
        )
        self.add_param(
            QgsProcessingParameterDateTime(self.START, self.tr("Start date"),
                                           type=QgsProcessingParameterDateTime.Type.Date),
            "First acquisition date considered (inclusive).",
        )
        self.add_param(
            QgsProcessingParameterDateTime(self.END, self.tr("End date"),
                                           type=QgsProcessingParameterDateTime.Type.Date),
            "Last acquisition date considered (inclusive). The scene closest to the middle of START..END is preferred.",
        )
        self.add_param(
            QgsProcessingParameterNumber(self.RELATIVE_ORBIT, self.tr("Relative orbit (0 = any)"),
                                         QgsProcessingParameterNumber.Type.Integer, 0, optional=True,
                                         minValue=0, maxValue=175),
            "Keep only scenes of this Sentinel-1 track (1-175), read from metadata, the product name's absolute "
            "orbit or the acquisition time; 0 keeps all tracks.",
            advanced=True,
        )
        p = QgsProcessingParameterEnum(self.PLATFORM, self.tr("Platform"), options=list(scenes.PLATFORMS),
                                       defaultValue="any")
        p.setUsesStaticStrings(True)
        self.add_param(p, "Keep only scenes of this satellite (S1A, S1B, S1C, S1D) or any.", advanced=True)
        p = QgsProcessingParameterEnum(self.WINDOW, self.tr("Window"), options=list(scenes.WINDOW_RULES),
                                       defaultValue="lake")
        p.setUsesStaticStrings(True)
        self.add_param(p, "lake: each polygon's bounding box grown by 1200*log5(A+1)+100 m (the original's lake "
                          "window); extent: the polygon's bounding box as it is (for an area of interest).",
                       advanced=True)
        self.add_param(
            QgsProcessingParameterNumber(self.BUFFER_SCALE, self.tr("Window margin scale"),
                                         QgsProcessingParameterNumber.Type.Double, 1.0, minValue=0.1, maxValue=10.0),
            "Multiplies the lake window margin 1200*log5(A+1)+100 m (WINDOW=lake only).",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterNumber(self.MAX_NODATA, self.tr("Tolerated nodata in the window (%)"),
                                         QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0, maxValue=99.0),
            "A scene counts as covering the window when at most this share of its window pixels is nodata; 0 is "
            "the original rule (full coverage). HyP3 products mark layover/shadow as nodata, so a few percent "
            "avoids needless syntheses in steep terrain.",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterNumber(self.RESOLUTION, self.tr("Output resolution (m, 0 = native)"),
                                         QgsProcessingParameterNumber.Type.Double, 0.0, minValue=0.0, maxValue=200.0),
            "Pixel size of the output grid; 0 keeps the scenes' own grid (most common CRS) when it is metric, "
            "else 10 m in the area's UTM zone.",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")),
            "Folder receiving one ascending and one descending GeoTIFF per area.",
        )
        self.add_param(
            QgsProcessingParameterFileDestination(self.CATALOG, self.tr("Scene catalogue (CSV)"), "CSV files (*.csv)",
                                                 optional=True, createByDefault=True),
            "Every scene seen, per area: pass (and how it was found), time, track, heading (and how), nodata count "
            "in the window, status (chosen, in synthesis, not chosen, excluded) and the reason. Not given: catalog.csv "
            "in the output folder.",
        )
        self.addOutput(QgsProcessingOutputRasterLayer(self.ASCENDING, self.tr("Ascending raster (first area)")))
        self.addOutput(QgsProcessingOutputRasterLayer(self.DESCENDING, self.tr("Descending raster (first area)")))
        self.addOutput(QgsProcessingOutputMultipleLayers(self.OUTPUT_LAYERS, self.tr("All selected rasters")))

    # -- helpers ------------------------------------------------------------------------------
    def _date(self, parameters, key, context):
        d = self.parameterAsDateTime(parameters, key, context)
        if d is None or not d.isValid():
            raise QgsProcessingException(self.tr("{} is not a valid date (use YYYY-MM-DD)").format(key))
        qd = d.date()
        return _dt.date(qd.year(), qd.month(), qd.day())

    def _areas(self, source, id_field, context, feedback):
        wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
        request = QgsFeatureRequest().setDestinationCrs(wgs84, context.transformContext())
        areas, seen = [], set()
        for feat in source.getFeatures(request, QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks):
            area_id = str(feat[id_field]) if id_field else str(feat.id())
            if area_id in seen:  # repeated ids (inventories have them) would overwrite outputs
                area_id = f"{area_id}_{feat.id()}"
            seen.add(area_id)
            geom = feat.geometry()
            if geom is None or geom.isNull() or geom.isEmpty():
                feedback.pushWarning(self.tr("area {}: no geometry, skipped").format(area_id))
                continue
            try:
                areas.append((area_id, lg.geometry_from_wkb(bytes(geom.asWkb()))))
            except GlasarError as exc:
                feedback.pushWarning(self.tr("area {}: {}, skipped").format(area_id, exc))
        return areas

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        folder = self.parameterAsFile(parameters, self.INPUT, context)
        layers = self.parameterAsLayerList(parameters, self.SCENES, context) or []
        inputs = ([folder] if folder else []) + [lyr.source().split("|")[0] for lyr in layers]
        if not inputs:
            raise QgsProcessingException(self.tr("Give a folder of scenes (INPUT) or a list of rasters (SCENES)."))
        if folder and not os.path.isdir(folder):
            raise QgsProcessingException(self.tr("INPUT {} is not a folder.").format(folder))
        source = self.parameterAsSource(parameters, self.AREA, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.AREA))
        if QgsWkbTypes.geometryType(source.wkbType()) != QgsWkbTypes.PolygonGeometry:
            raise QgsProcessingException(self.tr("AREA must be a polygon layer."))
        id_field = self.parameterAsString(parameters, self.AREA_ID_FIELD, context)
        start = self._date(parameters, self.START, context)
        end = self._date(parameters, self.END, context)
        if end < start:
            raise QgsProcessingException(self.tr("END ({}) is before START ({}).").format(end, start))
        rel = self.parameterAsInt(parameters, self.RELATIVE_ORBIT, context) or None
        platform = self.parameterAsEnumString(parameters, self.PLATFORM, context) or "any"
        rule = self.parameterAsEnumString(parameters, self.WINDOW, context) or "lake"
        buffer_scale = self.parameterAsDouble(parameters, self.BUFFER_SCALE, context)
        max_nodata = self.parameterAsDouble(parameters, self.MAX_NODATA, context) / 100.0
        resolution = self.parameterAsDouble(parameters, self.RESOLUTION, context)
        out_dir = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        catalog_path = self.parameterAsFileOutput(parameters, self.CATALOG, context)
        if not catalog_path:  # not given (e.g. a model step whose catalogue is not exposed): beside the rasters
            catalog_path = os.path.join(out_dir, "catalog.csv")

        def log(msg):
            if msg.startswith("Warning: "):
                feedback.pushWarning(msg[len("Warning: "):])
            else:
                feedback.pushInfo(msg)

        # 1. catalogue (metadata only)
        try:
            catalogue = scenes.build_catalogue(inputs, log=log, exclude_dirs=[out_dir])
        except GlasarError as exc:
            raise QgsProcessingException(str(exc)) from None
        usable = [r for r in catalogue if r.usable]
        feedback.pushInfo(self.tr("{} scenes found, {} usable ({} ascending, {} descending)").format(
            len(catalogue), len(usable), sum(r.orbit_pass == "ASCENDING" for r in usable),
            sum(r.orbit_pass == "DESCENDING" for r in usable)))
        if not usable:
            details = "; ".join(f"{r.scene_id}: {', '.join(r.problems)}" for r in catalogue[:10])
            raise QgsProcessingException(self.tr("No usable Sentinel-1 scene: {}").format(details))
        in_range = scenes.candidates_for(catalogue, start, end, None, rel, platform)
        if not in_range:
            times = sorted(r.acquisition for r in usable)
            raise QgsProcessingException(self.tr(
                "No usable scene between {} and {} (with the orbit/platform filters); the usable scenes span {} to {}."
            ).format(start, end, times[0].date(), times[-1].date()))
        feedback.setProgress(10)

        areas = self._areas(source, id_field, context, feedback)
        if not areas:
            raise QgsProcessingException(self.tr("AREA has no usable polygon (or none selected)."))

        # 2. per area: both passes, written to a staging folder, moved into place at the end
        os.makedirs(out_dir, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".glasar_staging_", dir=out_dir)
        written, first = [], {}
        area_selections = []
        try:
            for i, (area_id, geom) in enumerate(areas):
                if feedback.isCanceled():
                    raise QgsProcessingException(self.tr("Canceled: no output was written."))
                try:
                    sels = scenes.select_area(
                        catalogue, geom, start, end, relative_orbit=rel, platform=platform,
                        max_nodata_fraction=max_nodata, rule=rule, buffer_scale=buffer_scale,
                        resolution=resolution, log=log, is_canceled=feedback.isCanceled)
                except GlasarError as exc:
                    if feedback.isCanceled():
                        raise QgsProcessingException(self.tr("Canceled: no output was written.")) from None
                    feedback.pushWarning(self.tr("area {}: {}").format(area_id, exc))
                    continue
                area_selections.append((area_id, sels))
                for p, sel in sels.items():
                    if sel.status == "none":
                        feedback.pushWarning(self.tr("area {} {}: {}").format(area_id, p.lower(), sel.message))
                        continue
                    name = scenes.output_name(area_id, sel)
                    path = scenes.write_selection(sel, os.path.join(staging, name), extra_tags={"LAKE_ID": area_id})
                    sel.release()
                    written.append(path)
                    first.setdefault(p, os.path.join(out_dir, name))
                    feedback.pushInfo(self.tr("area {} {}: {}").format(area_id, p.lower(), sel.message))
                feedback.setProgress(10 + 85 * (i + 1) / len(areas))
            if feedback.isCanceled():
                raise QgsProcessingException(self.tr("Canceled: no output was written."))
            final = scenes.move_outputs(staging, written, out_dir)
        except BaseException:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
            raise
        scenes.write_csv(catalog_path, scenes.catalogue_rows(catalogue, area_selections))
        feedback.setProgress(100)
        if not final:
            raise QgsProcessingException(self.tr(
                "No scene reaches any area between {} and {}; see the catalogue {} for the reason per scene."
            ).format(start, end, catalog_path))
        n_syn = sum(sel.synthesis for _, sels in area_selections for sel in sels.values())
        feedback.pushInfo(self.tr("{} rasters written for {} areas ({} syntheses)").format(
            len(final), len(area_selections), n_syn))
        outputs = {self.OUTPUT_FOLDER: out_dir, self.CATALOG: catalog_path, self.OUTPUT_LAYERS: final}
        outputs[self.ASCENDING] = first.get("ASCENDING")
        outputs[self.DESCENDING] = first.get("DESCENDING")
        return outputs
