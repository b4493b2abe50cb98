"""glasar:simulatescene - Simulate an ascending/descending Sentinel-1 pair with exact truth."""
from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from ..algorithms import GlasarError
from ..algorithms import simulate
from .base import GlasarAlgorithm


class SimulateSceneAlgorithm(GlasarAlgorithm):
    DEM = "DEM"
    SEED = "SEED"
    SIZE_KM = "SIZE_KM"
    RESOLUTION = "RESOLUTION"
    N_LAKES = "N_LAKES"
    ENL = "ENL"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    # outputs (written file paths)
    ASC_SCENE = "ASC_SCENE"
    DSC_SCENE = "DSC_SCENE"
    DEM_30M = "DEM_30M"
    LAKES_TRUTH = "LAKES_TRUTH"
    INVENTORY = "INVENTORY"
    LAYOVER_SHADOW_ASC = "LAYOVER_SHADOW_ASC"
    LAYOVER_SHADOW_DSC = "LAYOVER_SHADOW_DSC"
    CLASSES = "CLASSES"
    SUMMARY = "SUMMARY"

    _OUTPUT_KEYS = {
        "scene_asc": ASC_SCENE, "scene_dsc": DSC_SCENE, "dem": DEM_30M, "lakes_truth": LAKES_TRUTH,
        "inventory": INVENTORY, "layover_shadow_asc": LAYOVER_SHADOW_ASC,
        "layover_shadow_dsc": LAYOVER_SHADOW_DSC, "classes": CLASSES, "summary": SUMMARY,
    }

    _name = "simulatescene"
    _display_name = "Simulate Sentinel-1 scenes with exact truth"
    _group_id = "simulation"
    _group = "Simulation and validation"
    _icon = "simulation.svg"
    _tags = ("simulation", "simulator", "synthetic", "sentinel-1", "sar", "layover", "shadow", "truth",
             "validation", "dem", "glacial lake", "speckle")
    _help = (
        "Builds an ascending and a descending Sentinel-1-like scene over a real DEM, with the exact truth that "
        "produced them, to validate lake mapping and layover/shadow detection where real data cannot.\n\n"
        "A SIZE_KM square at the DEM's centre is taken in its UTM zone (plus up to 1 km of margin for terrain that "
        "casts layover/shadow into it). Lakes are flooded into valley floors (flat water held by moraine dams), "
        "several beside walls that lay over or shadow part of them; surfaces are rock, glacier, dark wet snow, calm "
        "water and wind-roughened water. Each pass (heading about 347 / 193 deg, right-looking, incidence 33-44 deg "
        "at the scene centre, varying slowly across range as in the IW swath) is formed along range lines: ground "
        "samples are binned by slant range, so foreslopes are bright, layover mixes and shadow sits at the noise "
        "floor (NESZ -26.5 dB), with gamma speckle per bin (ENL 4.4).\n\n"
        "Written to OUTPUT_FOLDER: sim_<seed>_ASC.tif and sim_<seed>_DSC.tif (bands VV, VH, angle; sigma0 dB, "
        "Float32, nodata NaN; tags PASS, HEADING, ACQUISITION_TIME), dem_30m.tif, lakes_truth.gpkg (true lake "
        "polygons), inventory.gpkg (a perturbed 'historical' inventory with lake_id: shifted, buffered and "
        "simplified to IoU 0.7-0.9, one lake missing and one spurious), layover_shadow_asc.tif and "
        "layover_shadow_dsc.tif (UInt8 bits: 1 active layover, 2 passive layover, 4 active shadow, 8 passive "
        "shadow), classes_truth.tif and simulation.json. The same SEED gives the same files. A 6 x 6 km scene at "
        "10 m takes a few seconds.\n\n"
        "Geometry after Schreier (1993), SAR Geocoding: Data and Systems, ch. 7, and Small (2011), IEEE TGRS 49, "
        "3081; wet snow after Nagler et al. (2016), Remote Sens. 8, 348."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_param(
            QgsProcessingParameterRasterLayer(self.DEM, self.tr("DEM")),
            "Digital elevation model (any CRS, metres; e.g. SRTM). The scene is cut from its centre.",
        )
        self.add_param(
            QgsProcessingParameterNumber(self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Type.Integer,
                                         0, minValue=0),
            "Seed of every random choice (lakes, surfaces, pass geometry, speckle): the same seed gives the same "
            "scenes. It also names the output files (sim_<seed>_ASC.tif).",
        )
        self.add_param(
            QgsProcessingParameterNumber(self.SIZE_KM, self.tr("Scene size (km)"),
                                         QgsProcessingParameterNumber.Type.Double, 6.0, minValue=0.1, maxValue=100.0),
            "Side of the square scene, cut from the DEM's centre; the DEM must cover it.",
        )
        self.add_param(
            QgsProcessingParameterNumber(self.RESOLUTION, self.tr("Pixel size (m)"),
                                         QgsProcessingParameterNumber.Type.Double, 10.0, minValue=1.0, maxValue=200.0),
            "Pixel size of the simulated scenes and truth masks (Sentinel-1 GRD: 10 m). The range lines are "
            "sampled at half of it.",
        )
        self.add_param(
            QgsProcessingParameterNumber(self.N_LAKES, self.tr("Number of lakes (0 = one per 5 km2, 3 to 10)"),
                                         QgsProcessingParameterNumber.Type.Integer, 0, minValue=0, maxValue=50),
            "How many lakes to flood; fewer are made when the terrain has too few valley floors.",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterNumber(self.ENL, self.tr("Equivalent number of looks"),
                                         QgsProcessingParameterNumber.Type.Double, simulate.DEFAULT_ENL,
                                         minValue=0.5, maxValue=1000.0),
            "Shape of the gamma speckle per slant-range bin (Sentinel-1 IW GRDH: about 4.4).",
            advanced=True,
        )
        self.add_param(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")),
            "Folder for the scenes and the truth; existing files of the same names are replaced.",
        )
        for key, label, cls in (
            (self.ASC_SCENE, "Ascending scene", QgsProcessingOutputRasterLayer),
            (self.DSC_SCENE, "Descending scene", QgsProcessingOutputRasterLayer),
            (self.DEM_30M, "DEM at 30 m", QgsProcessingOutputRasterLayer),
            (self.LAKES_TRUTH, "True lake polygons", QgsProcessingOutputVectorLayer),
            (self.INVENTORY, "Perturbed lake inventory", QgsProcessingOutputVectorLayer),
            (self.LAYOVER_SHADOW_ASC, "True layover/shadow, ascending", QgsProcessingOutputRasterLayer),
            (self.LAYOVER_SHADOW_DSC, "True layover/shadow, descending", QgsProcessingOutputRasterLayer),
            (self.CLASSES, "True surface classes", QgsProcessingOutputRasterLayer),
            (self.SUMMARY, "Simulation summary (JSON)", QgsProcessingOutputFile),
        ):
            self.addOutput(cls(key, self.tr(label)))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        dem_layer = self.parameterAsRasterLayer(parameters, self.DEM, context)
        if dem_layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.DEM))
        seed = self.parameterAsInt(parameters, self.SEED, context)
        size_km = self.parameterAsDouble(parameters, self.SIZE_KM, context)
        res = self.parameterAsDouble(parameters, self.RESOLUTION, context)
        n_lakes = self.parameterAsInt(parameters, self.N_LAKES, context)
        enl = self.parameterAsDouble(parameters, self.ENL, context)
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        if not folder:
            raise QgsProcessingException(self.tr("No output folder given."))
        feedback.pushInfo(self.tr("Simulating {:g} x {:g} km at {:g} m from {} (seed {})").format(
            size_km, size_km, res, dem_layer.source(), seed))
        try:
            paths = simulate.simulate_scene(
                dem_layer.source(), folder, seed=seed, size_km=size_km, resolution=res,
                n_lakes=n_lakes or None, enl=enl,
                progress=feedback.setProgress, is_canceled=feedback.isCanceled, log=feedback.pushInfo,
            )
        except GlasarError as exc:
            if feedback.isCanceled():
                raise QgsProcessingException(self.tr("Canceled: no file was written.")) from None
            raise QgsProcessingException(str(exc)) from None
        feedback.setProgress(100)
        results = {self.OUTPUT_FOLDER: folder}
        for key, out_key in self._OUTPUT_KEYS.items():
            results[out_key] = paths[key]
            feedback.pushInfo(f"{out_key}: {paths[key]}")
        return results
