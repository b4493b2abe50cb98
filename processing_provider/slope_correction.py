"""glasar:slopecorrection - Radiometric slope correction of Sentinel-1 sigma0 with a DEM."""
import numpy as np
from osgeo import gdal
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ..algorithms import GlasarError, slope_correction, terrain, units
from ..algorithms.grid import warp_band
from .base import GlasarAlgorithm
from .layover_shadow import scene_inputs
from .styling import style_on_completion

_POLS = ("VV", "VH", "HH", "HV")


class SlopeCorrectionAlgorithm(GlasarAlgorithm):
    INPUT = "INPUT"
    DEM = "DEM"
    MODEL = "MODEL"
    UNITS = "UNITS"
    HEADING = "HEADING"
    INCIDENCE_NEAR = "INCIDENCE_NEAR"
    INCIDENCE_FAR = "INCIDENCE_FAR"
    DEM_RESAMPLING = "DEM_RESAMPLING"
    OUTPUT = "OUTPUT"

    _name = "slopecorrection"
    _display_name = "Slope correction (terrain flattening)"
    _group_id = "terrain"
    _group = "Terrain"
    _icon = "terrain.svg"
    _tags = ("sentinel-1", "sar", "slope correction", "terrain flattening", "gamma0", "rtc", "vollrath", "small",
             "dem", "layover", "shadow")
    _help = (
        "Corrects Sentinel-1 backscatter for terrain: sigma0 -> gamma0 -> terrain-flattened gamma0, on the "
        "INPUT raster's grid, with the DEM resampled onto it.\n\n"
        "Geometry: look direction = heading + 90 deg (Sentinel-1 looks right; heading from the raster's "
        "LOOK_AZIMUTH, HEADING_LOCAL or HEADING tag, or the HEADING parameter: the platform heading from true "
        "north, turned to the along-track direction at the scene and to grid north); range slope alpha_r "
        "and azimuth slope alpha_az from the metric DEM gradient (positive alpha_r = facing the sensor); "
        "incidence theta from the angle band (or INCIDENCE_NEAR/INCIDENCE_FAR).\n\n"
        "MODEL: volume, gamma0_flat = gamma0 tan(theta - alpha_r)/tan(theta); surface, gamma0_flat = gamma0 "
        "cos(alpha_az) sin(theta - alpha_r)/sin(theta) (Vollrath et al. 2020, Remote Sensing 12, 1867); area, "
        "terrain flattening by projected illuminated area along range lines (Small 2011, IEEE TGRS 49, "
        "3081): each slant-range bin is normalised by the sum of the illuminated ground areas that fold into "
        "it, so layover keeps finite values and shadow has none.\n\n"
        "OUTPUT bands (named as in the original workflow): VV_sigma0, VH_sigma0 (dB), incAngle, localIncAngle "
        "(deg), VV_gamma0, VH_gamma0, VV_gamma0_flatDB, VH_gamma0_flatDB (dB), layover and shadow (angle tests "
        "alpha_r > theta and alpha_r < -(90 - theta), 1 = distorted); only the polarisations present. NaN is "
        "nodata. The raster keeps the input's HEADING, PASS and ACQUISITION_TIME tags so it chains into "
        "glasar:layovershadow and the lake algorithms."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_param(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Sentinel-1 raster (sigma0)")),
                       "Sentinel-1 sigma0 raster: Earth Engine export (bands VV, VH, angle; dB) or any GeoTIFF with "
                       "VV/VH bands; single-band rasters are taken as VV.")
        self.add_param(QgsProcessingParameterRasterLayer(self.DEM, self.tr("DEM")),
                       "Digital elevation model in metres (any CRS); resampled onto the INPUT grid.")
        p = QgsProcessingParameterEnum(self.MODEL, self.tr("Model"), options=list(slope_correction.MODELS),
                                       defaultValue="volume")
        p.setUsesStaticStrings(True)
        self.add_param(p, "volume (Vollrath, vegetation/volume scattering, as in the paper), surface (Vollrath, "
                          "surface scattering) or area (Small 2011 projected-area terrain flattening, handles "
                          "layover).")
        p = QgsProcessingParameterEnum(self.UNITS, self.tr("Backscatter units"), options=list(units.UNITS),
                                       defaultValue="auto")
        p.setUsesStaticStrings(True)
        self.add_param(p, "Units of the INPUT bands: auto (detected), db, power or amplitude.", advanced=True)
        self.add_param(QgsProcessingParameterNumber(self.HEADING, self.tr("Heading (deg from true north)"),
                                                    QgsProcessingParameterNumber.Type.Double, optional=True,
                                                    minValue=-360.0, maxValue=360.0),
                       "Flight direction of the pass, clockwise from true north (Sentinel-1 annotation "
                       "platformHeading, at the nadir track; turned to the scene by the meridians' convergence); "
                       "overrides the raster's tags (required when the raster has none).", advanced=True)
        self.add_param(QgsProcessingParameterNumber(self.INCIDENCE_NEAR, self.tr("Incidence at near range (deg)"),
                                                    QgsProcessingParameterNumber.Type.Double, optional=True,
                                                    minValue=1.0, maxValue=89.0),
                       "Ellipsoid incidence at the near-range edge; only used when the raster has no angle band.",
                       advanced=True)
        self.add_param(QgsProcessingParameterNumber(self.INCIDENCE_FAR, self.tr("Incidence at far range (deg)"),
                                                    QgsProcessingParameterNumber.Type.Double, optional=True,
                                                    minValue=1.0, maxValue=89.0),
                       "Ellipsoid incidence at the far-range edge; only used when the raster has no angle band.",
                       advanced=True)
        p = QgsProcessingParameterEnum(self.DEM_RESAMPLING, self.tr("DEM resampling"),
                                       options=list(terrain.DEM_RESAMPLING), defaultValue="bilinear")
        p.setUsesStaticStrings(True)
        self.add_param(p, "Interpolation of the DEM onto the SAR grid: bilinear or cubic.", advanced=True)
        self.add_param(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Slope-corrected raster")),
                       "Float32 raster with the bands listed in the help (NaN nodata).")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.INPUT))
        dem_layer = self.parameterAsRasterLayer(parameters, self.DEM, context)
        if dem_layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.DEM))
        model = self.parameterAsEnumString(parameters, self.MODEL, context)
        declared = self.parameterAsEnumString(parameters, self.UNITS, context)
        resampling = self.parameterAsEnumString(parameters, self.DEM_RESAMPLING, context)
        try:
            s = scene_inputs(self, parameters, context, feedback, self.INPUT, self.HEADING, self.INCIDENCE_NEAR,
                             self.INCIDENCE_FAR, dem_layer.source(), resampling)
            scene, grid = s["scene"], s["grid"]
            hint = scene.units_hint.lower()
            if "gamma0" in hint or "rtc" in hint:
                feedback.pushWarning(self.tr("{} looks terrain-corrected already (gamma0/RTC in its name or "
                                             "metadata); slope correction expects sigma0.").format(scene.name))
            bands = {}
            for pol in _POLS:
                if pol not in scene.bands:
                    continue
                try:
                    raw = warp_band(scene.path, scene.bands[pol], grid, resampling="nearest")
                except RuntimeError as exc:  # header readable, pixels not: a truncated download
                    raise GlasarError(f"{scene.name}: GDAL cannot read its pixels, the file is truncated or "
                                      f"corrupt ({exc})") from None
                unit = declared
                try:
                    if unit == "auto":
                        unit, reason = units.detect_units(raw, scene.units_hint)
                        feedback.pushInfo(self.tr("{}: {}").format(pol, reason))
                    units.check_units(raw, unit)
                except GlasarError as exc:  # e.g. an all-nodata band: say which file and band
                    raise GlasarError(f"{scene.name}, band {pol}: {exc}") from None
                bands[pol] = units.to_db(raw, unit)
            feedback.pushInfo(self.tr("Bands {}; look azimuth {:.2f} deg (grid); model {}").format(
                ", ".join(bands), s["look"], model))
            feedback.setProgress(30)
            if feedback.isCanceled():
                raise QgsProcessingException(self.tr("Canceled: no output was written."))
            out = slope_correction.slope_correct(bands, s["incidence"], s["dem"], s["spacing"], s["look"], model)
        except GlasarError as exc:
            raise QgsProcessingException(str(exc)) from None
        feedback.setProgress(80)
        if feedback.isCanceled():
            raise QgsProcessingException(self.tr("Canceled: no output was written."))
        valid = np.isfinite(out["layover"])
        n = max(1, int(valid.sum()))
        feedback.pushInfo(self.tr("Angle tests: {:.2f} % layover, {:.2f} % shadow").format(
            100.0 * np.nansum(out["layover"]) / n, 100.0 * np.nansum(out["shadow"]) / n))
        meta = {k: v for k, v in scene.metadata.items() if k.upper() in ("PASS", "ACQUISITION_TIME")}
        meta.update({"HEADING": f"{s['heading']:.6f}", "LOOK_AZIMUTH_GRID": f"{s['look']:.6f}",
                     "SLOPE_CORRECTION_MODEL": model, "UNITS": "dB (backscatter), degrees (angles)"})
        if scene.orbit_pass:
            meta["PASS"] = scene.orbit_pass
        if scene.acquisition_time:
            meta["ACQUISITION_TIME"] = scene.acquisition_time
        out_path = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        try:
            terrain.write_raster(out_path, [np.asarray(v, dtype=np.float32) for v in out.values()],
                                 grid.geotransform, grid.srs_wkt, dtype=gdal.GDT_Float32, nodata=float("nan"),
                                 names=list(out), metadata=meta)
        except (GlasarError, RuntimeError, OSError) as exc:
            raise QgsProcessingException(self.tr("Could not write {}: {}").format(out_path, exc)) from None
        feedback.setProgress(100)
        style_on_completion(context, out_path, "backscatter_db.qml")  # band 1: sigma0 in dB
        return {self.OUTPUT: out_path}


__all__ = ["SlopeCorrectionAlgorithm"]
