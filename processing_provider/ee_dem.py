"""glasar:eedem - Fetch a DEM window per lake from Earth Engine (optional data source)."""
from qgis.core import QgsProcessingException, QgsProcessingParameterEnum, QgsProcessingParameterNumber

from ..algorithms import GlasarError
from ..algorithms import earthengine as eeg
from .base import GlasarAlgorithm
from .ee_sentinel1 import EarthEngineMixin


class EEDemAlgorithm(EarthEngineMixin, GlasarAlgorithm):
    DATASET = "DATASET"
    RESOLUTION = "RESOLUTION"

    _name = "eedem"
    _display_name = "Fetch DEM from Earth Engine"
    _group_id = "earthengine"
    _group = "Earth Engine"
    _icon = "earthengine.svg"
    _tags = ("earth engine", "gee", "dem", "nasadem", "srtm", "alos", "aw3d30", "copernicus", "glo-30", "elevation")
    _help = (
        "Fetches a DEM window per lake from Earth Engine into the output folder: the same windows as "
        "glasar:eesentinel1 and glasar:maplakes (lake bounding box grown by 1200*log5(A+1)+100 m, plus a margin), "
        "in the lake's UTM zone, bilinear resampling, float32 metres, nodata NaN.\n\n"
        "Datasets: nasadem (NASA/NASADEM_HGT/001, the original workflow's DEM), srtm (USGS/SRTMGL1_003, 60N-56S), "
        "alos_aw3d30 (JAXA/ALOS/AW3D30/V4_1, band DSM), copernicus_glo30 (COPERNICUS/DEM/GLO30, band DEM, EGM2008).\n\n"
        "Files: DEM_<dataset>_<lake>.tif (band 'elevation'; tags DATASET, ASSET, VERTICAL_DATUM, LAKE_ID, "
        "NODATA_COUNT) and ee_dem_manifest.csv with a status per lake ('no data' where the dataset has no "
        "coverage). Authentication as glasar:eesentinel1: stored credentials or a service-account key, never "
        "interactive.\n\n"
        "The DEM feeds the layover/shadow masks and slope correction of Wu et al. (2025), Int. J. Appl. Earth "
        "Obs. Geoinf. 136, 104329."
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_area_params()
        p = QgsProcessingParameterEnum(self.DATASET, self.tr("DEM dataset"), options=list(eeg.DEM_DATASETS),
                                       defaultValue="nasadem")
        p.setUsesStaticStrings(True)
        self.add_param(p, "nasadem, srtm, alos_aw3d30 or copernicus_glo30 (see the help for the Earth Engine assets).")
        self.add_auth_params()
        self.add_param(
            QgsProcessingParameterNumber(self.RESOLUTION, self.tr("Pixel size (m)"),
                                         QgsProcessingParameterNumber.Type.Double, 30.0, minValue=5.0, maxValue=200.0),
            "Pixel size of the DEM window in the lake's UTM zone (the datasets are ~30 m; maplakes resamples it to "
            "the SAR grid).",
            advanced=True,
        )
        self.add_tuning_params()
        self.add_outputs("Folder for DEM_<dataset>_<lake>.tif and ee_dem_manifest.csv (may be the eesentinel1 "
                         "folder; nothing is written if the run fails or is cancelled).")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        dataset = self.parameterAsEnumString(parameters, self.DATASET, context)
        res = self.parameterAsDouble(parameters, self.RESOLUTION, context)
        windows = [eeg.regrid(w, res) for w in self.read_windows(parameters, context, feedback, eeg.S1_RES)]
        out_dir = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        conn = self.connect(parameters, context, feedback)
        feedback.pushInfo(self.tr("{} windows from {}").format(len(windows), eeg.DEM_DATASETS[dataset].asset))
        try:
            result = eeg.fetch_dem(
                conn, windows, dataset, out_dir,
                max_parallel=self.parameterAsInt(parameters, self.MAX_PARALLEL, context),
                progress=lambda f: feedback.setProgress(100.0 * f), is_canceled=feedback.isCanceled,
                log=lambda m: feedback.pushInfo(eeg.redact(m)),
            )
        except eeg.Canceled:
            raise QgsProcessingException(self.tr("Canceled: no output was written.")) from None
        except GlasarError as exc:
            raise QgsProcessingException(eeg.redact(exc)) from None
        return {self.OUTPUT_FOLDER: out_dir, self.MANIFEST: result.manifest, self.N_FILES: len(result.files)}
