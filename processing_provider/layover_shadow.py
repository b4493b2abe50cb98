"""glasar:layovershadow - Layover and shadow mask of a pass from a DEM (no SAR image needed)."""
import math
import os
import shutil
import tempfile

import numpy as np
from osgeo import gdal, ogr
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QVariant

from ..algorithms import GlasarError, layover_shadow, sar_io, terrain, terrain_window
from ..algorithms.grid import warp_band
from .base import GlasarAlgorithm
from .styling import style_on_completion, style_path

STYLE = "layover_shadow.qml"


def _number(alg, parameters, key, context):
    """Optional number parameter: None when not set."""
    value = parameters.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return alg.parameterAsDouble(parameters, key, context)


def scene_inputs(alg, parameters, context, feedback, input_key, heading_key, near_key, far_key,
                 dem_path, resampling):
    """Grid, DEM heights, incidence, heading and metadata of a SAR INPUT (shared by the terrain
    algorithms). Returns a dict; raises GlasarError for bad input."""
    layer = alg.parameterAsRasterLayer(parameters, input_key, context)
    scene = sar_io.open_scene(layer.source())
    grid = terrain.scene_grid(scene.geotransform, scene.size, scene.srs_wkt)
    heading = _number(alg, parameters, heading_key, context)
    spacing = terrain.grid_spacing(grid)
    centre = terrain.grid_centre(grid)
    tagged = None if heading is not None else terrain.tagged_look_azimuth(scene.metadata, grid.srs_wkt, *centre)
    if tagged is not None:  # the raster's own look direction (same order as maplakes)
        look = tagged[0]
        heading = scene.heading if scene.heading is not None else \
            (look - 90.0 - terrain.true_north_grid_azimuth(grid.srs_wkt, *centre) + 180.0) % 360.0 - 180.0
        feedback.pushInfo(alg.tr("Look azimuth {:.3f} deg from the raster's {} tag").format(look, tagged[1]))
    angle = None
    if "angle" in scene.bands:
        angle = warp_band(scene.path, scene.bands["angle"], grid, resampling="nearest").astype(np.float64)
        feedback.pushInfo(alg.tr("Incidence from the raster's angle band ({:.2f}..{:.2f} deg)").format(
            float(np.nanmin(angle)), float(np.nanmax(angle))))
    else:
        near, far = _number(alg, parameters, near_key, context), _number(alg, parameters, far_key, context)
        if near is None or far is None:
            raise GlasarError(f"{scene.name} has no incidence-angle band: give {near_key} and {far_key}")
    if tagged is None:
        if heading is None:
            heading = scene.heading
            if heading is not None:
                feedback.pushInfo(alg.tr("Heading {:.2f} deg from the raster's HEADING tag").format(heading))
        if heading is None:
            terrain.look_azimuth(None)  # raises the message that says what to give
        mid_incidence = float(np.nanmedian(angle)) if angle is not None else 0.5 * (near + far)
        look = terrain_window.look_from_platform_heading(heading, grid.srs_wkt, *centre, mid_incidence)
        feedback.pushInfo(alg.tr("Look azimuth {:.3f} deg (grid) from the platform heading at the scene").format(look))
    inc = angle if angle is not None else terrain.incidence_near_far(grid.shape, spacing, look, near, far)
    dem = terrain.resample_dem(dem_path, grid, resampling)
    return dict(scene=scene, grid=grid, geotransform=grid.geotransform, srs_wkt=grid.srs_wkt, heading=heading,
                spacing=spacing, look=look, incidence=inc, dem=dem)


class LayoverShadowAlgorithm(GlasarAlgorithm):
    DEM = "DEM"
    INPUT = "INPUT"
    HEADING = "HEADING"
    INCIDENCE_NEAR = "INCIDENCE_NEAR"
    INCIDENCE_FAR = "INCIDENCE_FAR"
    METHOD = "METHOD"
    INVENTORY = "INVENTORY"
    DEM_RESAMPLING = "DEM_RESAMPLING"
    WINDOW = "WINDOW"
    OUTPUT = "OUTPUT"
    STATISTICS = "STATISTICS"

    _name = "layovershadow"
    _display_name = "Layover and shadow mask"
    _group_id = "terrain"
    _group = "Terrain"
    _icon = "terrain.svg"
    _tags = ("sentinel-1", "sar", "layover", "shadow", "foreshortening", "dem", "range line", "geometry",
             "forecast", "ascending", "descending")
    _help = (
        "Forecasts where one Sentinel-1 pass sees layover and radar shadow, from a DEM and the pass geometry "
        "alone (no SAR image needed), so you can check before downloading which lakes a pass will see.\n\n"
        "Geometry: look direction = heading + 90 deg (Sentinel-1 looks right); the heading (relative to true "
        "north) is converted to the grid azimuth of the output CRS (meridian convergence at the grid centre). "
        "Slopes use metric spacing in any CRS, geographic included.\n\n"
        "METHOD=exact: the DEM is resampled onto lines parallel to the look direction (near range first). Along "
        "each line, with one sensor geometry per line (fitted to the incidence angles), slant range "
        "r = g sin(theta) - h cos(theta) and ray coordinate q = g cos(theta) + h sin(theta) (g ground range, h "
        "height). Layover where r is not monotonic (active: dr/dg < 0; passive: the ground sharing those slant "
        "ranges, in front of and behind the fold); shadow where q falls below its running maximum (active: "
        "dq/dg < 0; passive: occluded). Schreier (1993), SAR Geocoding, ch. 7.\n"
        "METHOD=original: the peak-window method of Wu et al. (Line_Correct, 900 m windows around every height "
        "peak), without its off-by-one quirks, to reproduce the paper and compare.\n\n"
        "Grid: the INPUT raster's grid when given (its look direction from the LOOK_AZIMUTH, HEADING_LOCAL or "
        "HEADING tag, in that order as in maplakes, and its angle band are used, the DEM is resampled onto it), "
        "otherwise the DEM's own grid with HEADING and INCIDENCE_NEAR/INCIDENCE_FAR.\n\n"
        "OUTPUT: UInt8 bitmask, 1 active layover, 2 passive layover, 4 active shadow, 8 passive shadow (bits "
        "combine, e.g. 6), 255 no DEM; styled when loaded. STATISTICS (with an INVENTORY): per lake, the fraction "
        "of its pixels in layover, in shadow and in each class."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_param(QgsProcessingParameterRasterLayer(self.DEM, self.tr("DEM")),
                       "Digital elevation model in metres (any CRS, e.g. SRTM or Copernicus GLO-30 in lon/lat).")
        self.add_param(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("SAR raster (optional)"), optional=True),
                       "Optional Sentinel-1 raster: gives the output grid, the heading (HEADING tag) and the incidence "
                       "(angle band). Without it the DEM grid and the parameters below are used.")
        self.add_param(QgsProcessingParameterNumber(self.HEADING, self.tr("Heading (deg from true north)"),
                                                    QgsProcessingParameterNumber.Type.Double, optional=True,
                                                    minValue=-360.0, maxValue=360.0),
                       "Flight direction of the pass, clockwise from true north (Sentinel-1 annotation "
                       "platformHeading, at the nadir track; turned to the scene by the meridians' convergence): about "
                       "-12 ascending, -168 descending at mid latitudes. Required without INPUT; with INPUT it "
                       "overrides the raster's tags.")
        self.add_param(QgsProcessingParameterNumber(self.INCIDENCE_NEAR, self.tr("Incidence at near range (deg)"),
                                                    QgsProcessingParameterNumber.Type.Double, 39.0,
                                                    minValue=1.0, maxValue=89.0),
                       "Ellipsoid incidence angle at the near-range edge of the area (used when INPUT has no angle "
                       "band). Sentinel-1 IW spans 30-46 deg; look up your track's value at the site.")
        self.add_param(QgsProcessingParameterNumber(self.INCIDENCE_FAR, self.tr("Incidence at far range (deg)"),
                                                    QgsProcessingParameterNumber.Type.Double, 39.0,
                                                    minValue=1.0, maxValue=89.0),
                       "Ellipsoid incidence angle at the far-range edge of the area; linear in ground range "
                       "between the two (equal values = constant).")
        p = QgsProcessingParameterEnum(self.METHOD, self.tr("Method"), options=list(layover_shadow.METHODS),
                                       defaultValue="exact")
        p.setUsesStaticStrings(True)
        self.add_param(p, "exact: range-line monotonicity of slant range and ray angle (active and passive, both "
                          "sides). original: the peak-window method of Wu et al. for comparison.")
        self.add_param(QgsProcessingParameterFeatureSource(self.INVENTORY, self.tr("Lake inventory (optional)"),
                                                           [QgsProcessing.SourceType.TypeVectorPolygon],
                                                           optional=True),
                       "Optional polygons (any CRS): STATISTICS gives, per lake, the fraction of its pixels in "
                       "layover and shadow for this pass.")
        p = QgsProcessingParameterEnum(self.DEM_RESAMPLING, self.tr("DEM resampling"),
                                       options=list(terrain.DEM_RESAMPLING), defaultValue="bilinear")
        p.setUsesStaticStrings(True)
        self.add_param(p, "Interpolation of the DEM onto the INPUT grid: bilinear or cubic.", advanced=True)
        self.add_param(QgsProcessingParameterNumber(self.WINDOW, self.tr("Peak window for METHOD=original (m)"),
                                                    QgsProcessingParameterNumber.Type.Double,
                                                    layover_shadow.ORIGINAL_WINDOW_M, minValue=1.0),
                       "Search distance on each side of a peak in the original method (900 m in the paper).",
                       advanced=True)
        self.add_param(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Layover/shadow mask")),
                       "UInt8 bitmask: 1 active layover, 2 passive layover, 4 active shadow, 8 passive shadow, "
                       "255 no DEM.")
        self.add_param(QgsProcessingParameterFeatureSink(self.STATISTICS, self.tr("Per-lake layover/shadow fractions"),
                                                         QgsProcessing.SourceType.TypeVectorPolygon, optional=True,
                                                         createByDefault=False),
                       "Inventory polygons with ls_pixels, ls_valid and the fractions frac_layover, frac_shadow, "
                       "frac_distorted and per class (GeoPackage, shapefile or CSV).")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        dem_layer = self.parameterAsRasterLayer(parameters, self.DEM, context)
        if dem_layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.DEM))
        method = self.parameterAsEnumString(parameters, self.METHOD, context)
        resampling = self.parameterAsEnumString(parameters, self.DEM_RESAMPLING, context)
        window = self.parameterAsDouble(parameters, self.WINDOW, context)
        source = self.parameterAsSource(parameters, self.INVENTORY, context)
        stats_wanted = parameters.get(self.STATISTICS) not in (None, "")
        if stats_wanted and source is None:
            raise QgsProcessingException(self.tr("STATISTICS needs an INVENTORY of lake polygons."))
        try:
            if self.parameterAsRasterLayer(parameters, self.INPUT, context) is not None:
                s = scene_inputs(self, parameters, context, feedback, self.INPUT, self.HEADING,
                                 self.INCIDENCE_NEAR, self.INCIDENCE_FAR, dem_layer.source(), resampling)
                dem, gt, wkt = s["dem"], s["geotransform"], s["srs_wkt"]
                spacing, look, inc, heading = s["spacing"], s["look"], s["incidence"], s["heading"]
                orbit_pass = s["scene"].orbit_pass
            else:
                dem, gt, wkt = terrain.read_dem(dem_layer.source())
                size = (dem.shape[1], dem.shape[0])
                spacing = terrain.metric_spacing(gt, wkt, size)
                heading = _number(self, parameters, self.HEADING, context)
                cx, cy = gt[0] + gt[1] * size[0] / 2.0, gt[3] + gt[5] * size[1] / 2.0
                near = self.parameterAsDouble(parameters, self.INCIDENCE_NEAR, context)
                far = self.parameterAsDouble(parameters, self.INCIDENCE_FAR, context)
                look = terrain_window.look_from_platform_heading(heading, wkt, cx, cy, 0.5 * (near + far))
                inc = terrain.incidence_near_far(dem.shape, spacing, look, near, far)
                orbit_pass = ""
            feedback.pushInfo(self.tr("Look azimuth {:.2f} deg (grid), pixel {:.2f} x {:.2f} m, {} x {} pixels, "
                                      "method {}").format(look, *terrain.mean_spacing(spacing), dem.shape[1],
                                                          dem.shape[0], method))
            feedback.setProgress(20)
            if feedback.isCanceled():
                raise QgsProcessingException(self.tr("Canceled: no output was written."))
            mask = layover_shadow.layover_shadow_mask(dem, spacing, look, inc, method=method, window_m=window)
        except GlasarError as exc:
            raise QgsProcessingException(str(exc)) from None
        feedback.setProgress(70)
        if feedback.isCanceled():
            raise QgsProcessingException(self.tr("Canceled: no output was written."))
        self._report(mask, feedback)

        rows = None
        if source is not None:
            rows = self._lake_rows(source, mask, gt, wkt, context, feedback)
        if feedback.isCanceled():
            raise QgsProcessingException(self.tr("Canceled: no output was written."))

        out_path = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        meta = {"HEADING": f"{heading:.6f}", "LOOK_AZIMUTH_GRID": f"{look:.6f}", "METHOD": method,
                "BITS": "1 active layover, 2 passive layover, 4 active shadow, 8 passive shadow, 255 no DEM"}
        if orbit_pass:
            meta["PASS"] = orbit_pass
        try:
            terrain.write_raster(out_path, [mask], gt, wkt, dtype=gdal.GDT_Byte, nodata=layover_shadow.NODATA,
                                 names=["layover_shadow"], metadata=meta)
        except (GlasarError, RuntimeError, OSError) as exc:
            raise QgsProcessingException(self.tr("Could not write {}: {}").format(out_path, exc)) from None
        self._sidecar_style(out_path)
        style_on_completion(context, out_path, STYLE)
        outputs = {self.OUTPUT: out_path}
        if rows is not None and stats_wanted:
            outputs[self.STATISTICS] = self._write_stats(parameters, context, source, rows, heading)
        feedback.setProgress(100)
        return outputs

    @staticmethod
    def _sidecar_style(out_path):
        """Copy the QML next to a GeoTIFF output (QGIS applies <name>.qml when it opens the file)."""
        base, ext = os.path.splitext(out_path)
        if ext.lower() not in (".tif", ".tiff"):
            return
        folder = os.path.dirname(os.path.abspath(out_path))
        fd, tmp = tempfile.mkstemp(prefix=".glasar_", suffix=".qml", dir=folder)
        os.close(fd)
        try:
            shutil.copyfile(style_path(STYLE), tmp)
            os.replace(tmp, base + ".qml")
        except OSError:
            if os.path.exists(tmp):
                os.remove(tmp)

    def _report(self, mask, feedback):
        valid = mask != layover_shadow.NODATA
        n = max(1, int(valid.sum()))
        parts = []
        for bit, name in ((1, "active layover"), (2, "passive layover"), (4, "active shadow"), (8, "passive shadow")):
            parts.append(f"{name} {100.0 * np.count_nonzero(valid & ((mask & bit) > 0)) / n:.2f} %")
        feedback.pushInfo(self.tr("Of {} pixels with a DEM: {}").format(n, ", ".join(parts)))

    def _lake_rows(self, source, mask, gt, wkt, context, feedback):
        crs = QgsCoordinateReferenceSystem.fromWkt(wkt)
        xform = QgsCoordinateTransform(source.sourceCrs(), crs, context.transformContext())
        feats, geoms = [], []
        for feat in source.getFeatures(QgsFeatureRequest(), QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks):
            g = feat.geometry()
            ogr_geom = None
            if g is not None and not g.isNull():
                g = type(g)(g)
                g.transform(xform)
                ogr_geom = ogr.CreateGeometryFromWkb(bytes(g.asWkb()))
            feats.append(feat)
            geoms.append(ogr_geom)
        fractions = layover_shadow.polygon_fractions(mask, gt, wkt, geoms)
        for feat, fr in zip(feats, fractions):
            if fr["frac_distorted"] is not None and fr["frac_distorted"] > 0:
                feedback.pushInfo(self.tr("feature {}: {:.1f} % layover, {:.1f} % shadow").format(
                    feat.id(), 100 * fr["frac_layover"], 100 * fr["frac_shadow"]))
        return list(zip(feats, fractions))

    def _write_stats(self, parameters, context, source, rows, heading):
        fields = QgsFields(source.fields())
        names = list(layover_shadow.STAT_FIELDS) + ["pixel_rule", "heading"]
        for name in names:
            if name in ("ls_pixels", "ls_valid"):
                fields.append(QgsField(name, QVariant.Int))
            elif name == "pixel_rule":
                fields.append(QgsField(name, QVariant.String))
            else:
                fields.append(QgsField(name, QVariant.Double))
        sink, dest_id = self.parameterAsSink(parameters, self.STATISTICS, context, fields, source.wkbType(),
                                             source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.STATISTICS))
        for feat, fr in rows:
            out = QgsFeature(fields)
            out.setGeometry(feat.geometry())
            values = dict(fr, heading=heading)
            out.setAttributes(list(feat.attributes()) + [
                None if values.get(n) is None or (isinstance(values.get(n), float) and math.isnan(values[n]))
                else values[n] for n in names])
            sink.addFeature(out, QgsFeatureSink.FastInsert)
        return dest_id


__all__ = ["LayoverShadowAlgorithm", "scene_inputs"]
