"""Bad input, tried systematically on every algorithm of the provider through processing.run.

Classes (tests/bad_inputs.py builds each as real files from one base case): wrong CRS, no CRS,
no overlap, missing bands, dB/linear confusion, NaN/inf values, constant images, tiny windows,
huge windows, empty/invalid/multi-part/3D geometries, lakes crossing the scene edge and
unreadable files. Every case ends in a QgsProcessingException whose words say what is wrong
(never a Python traceback), or in a specific per-lake status with the right numbers; a failed
run leaves no output and no temporary file behind.

Already covered elsewhere and not repeated here: maplakes with dB declared as power, rasters
that do not overlap, a point or empty inventory, a bow-tie and a null geometry
(test_alg_maplakes.py); fuseascdesc without overlap or with a missing band
(test_alg_fuseascdesc.py); specklefilter with dB declared power or all nodata
(test_alg_specklefilter.py); selectscenes with an empty folder or a broken file among good ones
(test_alg_selectscenes.py); the Earth Engine algorithms without credentials or with bad dates
(test_alg_earthengine.py).
"""
import csv
import os
import re

import numpy as np
import pytest
from osgeo import gdal, ogr
from qgis.core import QgsProcessingException, QgsVectorLayer

import bad_inputs as B
from rasters import write_geotiff

gdal.UseExceptions()
SCENE_DATES = {"START": "2023-07-01", "END": "2023-08-30"}


def run(alg, params):
    from qgis import processing

    return processing.run(f"glasar:{alg}", params)


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["lake_id"]: r for r in csv.DictReader(fh)}


class Files:
    """Every input file of the module, built once (a few MB in a temporary folder)."""

    def __init__(self, root):
        d = lambda name: root / name  # noqa: E731
        self.asc, self.desc = B.pair(d("base"))
        self.inventory = B.base_inventory(d("base"))
        power = B.scene_power(1)
        # raster classes
        self.geo_asc, self.geo_desc = B.geographic_pair(d("geographic"))
        self.no_crs = B.no_crs_raster(d("nocrs"))
        self.far = B.far_raster(d("far"))
        self.db = B.db_raster(d("db"))
        self.two_band_asc = B.two_band_raster(d("twoband"))
        self.two_band_desc = B.two_band_raster(d("twoband"), name="S1A_20230804T001000_DSC_vvvh.tif", seed=2)
        self.sigma0 = B.sigma0_scene(d("sigma0"))
        self.nan_lake_asc = B.pair(d("nanlake"), asc=B.nan_hole(power, slice(40, 80), slice(30, 90)))[0]
        lake_rows, lake_cols = slice(30, 90), slice(20, 100)  # the lake and a ring of shore
        self.nan_lake_both = B.pair(d("nanboth"), asc=B.nan_hole(power, lake_rows, lake_cols),
                                    desc=B.nan_hole(B.scene_power(2), lake_rows, lake_cols))
        self.all_nan = B.pair(d("allnan"), asc=B.nan_hole(power, slice(None), slice(None)))[0]
        self.inf_asc = B.pair(d("inf"), asc=B.nan_hole(power, slice(50, 60), slice(40, 50), np.inf))[0]
        self.constant = B.pair(d("constant"), asc=B.constant_power(), desc=B.constant_power())
        self.land_only = B.pair(d("land"), asc=B.land_only_scene(1), desc=B.land_only_scene(2))
        self.tiny_scene = B.pair(d("tiny"), asc=B.tiny_lake_scene(1), desc=B.tiny_lake_scene(2))
        self.two_lakes = B.pair(d("twolakes"), asc=B.two_lakes_scene(1), desc=B.two_lakes_scene(2))
        self.edge_scene = B.pair(d("edge"), asc=B.edge_scene(1), desc=B.edge_scene(2))
        # unreadable files, each alone in its folder (selectscenes and SCENES take folders)
        self.text_tif = B.text_tif(d("text"))
        self.truncated = B.truncated_tif(d("truncated"))
        self.truncated_in_folder = B.truncated_tif(d("truncfolder"))  # beside a good descending scene
        write_geotiff(os.path.join(d("truncfolder"), B.DSC_NAME), B.scene_power(2), B.GT, nodata=0)
        self.header_only = B.header_only_tif(d("header"))
        self.text_dem = B.text_tif(d("textdem"), name="dem.tif")
        # DEMs
        self.dem = B.ramp_dem(d("dem"))
        self.nan_dem = B.ramp_dem(d("nandem"), values=np.full(B.DEM_SHAPE, np.nan, np.float32))
        self.flat_dem = B.ramp_dem(d("flatdem"), values=np.full(B.DEM_SHAPE, 4500.0, np.float32))
        self.far_dem = B.ramp_dem(d("fardem"), gt=(B.X0 + 5e5, 30.0, 0, B.Y0, 0, -30.0))
        # inventories (EPSG:4326 unless said)
        inv = lambda name, wkts, **kw: B.inventory(d("inv"), wkts, name=name, **kw)  # noqa: E731
        self.inv_utm = inv("utm.gpkg", [B.LAKE_UTM], epsg=32645, ids=["lake"])
        self.inv_tiny = inv("tiny.gpkg", [B.tiny_lake_wkt()], ids=["tiny"])
        self.inv_huge = inv("huge.gpkg", [B.huge_lake_wkt()], ids=["huge"])
        self.inv_empty = B.empty_polygon_layer(d("inv"))
        self.inv_bowtie = inv("bowtie.gpkg", [B.bowtie_wkt()], ids=["bowtie"])
        self.inv_multi = inv("multi.gpkg", [B.multipart_wkt()], ids=["multi"], geom_type=ogr.wkbMultiPolygon)
        self.inv_3d = inv("z.gpkg", [B.polygon_z_wkt()], ids=["z"], geom_type=ogr.wkbPolygon25D)
        self.inv_edge = inv("edge.gpkg", [B.edge_lake_wkt()], ids=["edge"])
        self.inv_outside = inv("outside.gpkg", [B.outside_lake_wkt()], ids=["outside"])
        self.inv_points = inv("points.gpkg", ["POINT(86.4 27.8)"], ids=["p"], geom_type=ogr.wkbPoint)


@pytest.fixture(scope="module")
def F(tmp_path_factory):  # noqa: N802
    return Files(tmp_path_factory.mktemp("bad_inputs"))


def folder_of(path):
    return os.path.dirname(path)


# -- per-algorithm parameter builders: F, out folder, overrides -> parameters -------------------
def maplakes(F, out, **kw):
    p = {"ASCENDING": F.asc, "DESCENDING": F.desc, "INVENTORY": F.inventory, "LAKE_ID_FIELD": "lake_id",
         "WORKERS": 1, "OUTPUT": str(out / "lakes.gpkg"), "TABLE": str(out / "lakes.csv")}
    p.update(kw)
    return p


def extractlakes(F, out, **kw):
    p = {"INPUT": F.asc, "INVENTORY": F.inventory, "LAKE_ID_FIELD": "lake_id",
         "OUTPUT": str(out / "lakes.gpkg"), "TABLE": str(out / "lakes.csv")}
    p.update(kw)
    return p


def specklefilter(F, out, **kw):
    p = {"INPUT": F.asc, "FILTER": "boxcar", "OUTPUT": str(out / "filtered.tif")}
    p.update(kw)
    return p


def fuseascdesc(F, out, **kw):
    p = {"ASCENDING": F.asc, "DESCENDING": F.desc, "OUTPUT": str(out / "fused.tif"),
         "SOURCE": str(out / "source.tif")}
    p.update(kw)
    return p


def slopecorrection(F, out, **kw):
    p = {"INPUT": F.sigma0, "DEM": F.dem, "OUTPUT": str(out / "flat.tif")}
    p.update(kw)
    return p


def layovershadow(F, out, **kw):
    p = {"DEM": F.dem, "HEADING": -12.0, "OUTPUT": str(out / "mask.tif")}
    p.update(kw)
    return p


def selectscenes(F, out, **kw):
    p = {"INPUT": folder_of(F.asc), "AREA": F.inventory, **SCENE_DATES,
         "OUTPUT_FOLDER": str(out / "scenes"), "CATALOG": str(out / "catalogue.csv")}
    p.update(kw)
    return p


def simulatescene(F, out, **kw):
    p = {"DEM": F.dem, "SIZE_KM": 1.0, "RESOLUTION": 20.0, "OUTPUT_FOLDER": str(out / "sim")}
    p.update(kw)
    return p


def eesentinel1(F, out, **kw):
    p = {"INVENTORY": F.inventory, **SCENE_DATES, "OUTPUT_FOLDER": str(out / "ee")}
    p.update(kw)
    return p


def eedem(F, out, **kw):
    p = {"INVENTORY": F.inventory, "OUTPUT_FOLDER": str(out / "ee")}
    p.update(kw)
    return p


BUILDERS = {f.__name__: f for f in (maplakes, extractlakes, specklefilter, fuseascdesc, slopecorrection,
                                    layovershadow, selectscenes, simulatescene, eesentinel1, eedem)}
SAR_INCIDENCE = {"HEADING": -12.0, "INCIDENCE_NEAR": 36.0, "INCIDENCE_FAR": 40.0}  # scenes without an angle band


def geometry_for(alg):
    """The pass geometry the terrain algorithms need for a raster without angle band or heading."""
    return SAR_INCIDENCE if alg in ("slopecorrection", "layovershadow") else {}

# (case id, algorithm, overrides: F -> dict, words the message must contain (regex))
ERRORS = [
    # unreadable files: QGIS itself would only say "not found"
    *[(f"text-file-{a}-{k}", a, (lambda k: lambda F: {k: F.text_tif})(k), r"exists but cannot be read as a raster.*"
       r"not recognized as a supported file format")
      for a, k in (("maplakes", "ASCENDING"), ("maplakes", "DESCENDING"), ("extractlakes", "INPUT"),
                   ("specklefilter", "INPUT"), ("fuseascdesc", "ASCENDING"), ("slopecorrection", "INPUT"),
                   ("layovershadow", "INPUT"))],
    *[(f"text-dem-{a}", a, lambda F: {"DEM": F.text_dem}, "DEM: .*exists but cannot be read as a raster")
      for a in ("slopecorrection", "layovershadow", "simulatescene", "maplakes")],
    *[(f"header-only-{a}", a, (lambda k: lambda F: {k: F.header_only})(k), "exists but cannot be read as a raster "
       r"\(.*Failed to read directory")
      for a, k in (("maplakes", "ASCENDING"), ("extractlakes", "INPUT"), ("specklefilter", "INPUT"))],
    *[(f"truncated-{a}-{k}", a, (lambda k, a: lambda F: {k: F.truncated, **geometry_for(a)})(k, a),
       "(file is truncated or corrupt|GDAL could not read a window).*IReadBlock failed")
      for a, k in (("maplakes", "ASCENDING"), ("maplakes", "DESCENDING"), ("extractlakes", "INPUT"),
                   ("specklefilter", "INPUT"), ("fuseascdesc", "ASCENDING"), ("slopecorrection", "INPUT"))],
    ("text-file-selectscenes", "selectscenes", lambda F: {"INPUT": folder_of(F.text_tif)},
     "No usable Sentinel-1 scene: .*not recognized as a supported file format"),
    ("text-file-maplakes-SCENES", "maplakes",
     lambda F: {"ASCENDING": None, "DESCENDING": None, "SCENES": folder_of(F.text_tif), **SCENE_DATES},
     "no usable Sentinel-1 scene in"),
    # no coordinate reference system
    *[(f"no-crs-{a}-{k}", a, (lambda k, a: lambda F: {k: F.no_crs, **geometry_for(a)})(k, a),
       "has no coordinate reference system")
      for a, k in (("maplakes", "ASCENDING"), ("extractlakes", "INPUT"), ("fuseascdesc", "ASCENDING"),
                   ("fuseascdesc", "DESCENDING"), ("slopecorrection", "INPUT"), ("layovershadow", "INPUT"))],
    ("no-crs-selectscenes", "selectscenes", lambda F: {"INPUT": folder_of(F.no_crs)},
     "No usable Sentinel-1 scene: .*has no coordinate reference system"),
    # no overlap
    ("no-overlap-selectscenes", "selectscenes", lambda F: {"INPUT": folder_of(F.far)}, "No scene reaches any area"),
    ("dem-elsewhere-slopecorrection", "slopecorrection", lambda F: {"DEM": F.far_dem},
     "DEM dem.tif has no valid height on the analysis grid: it does not cover the grid"),
    ("dem-elsewhere-layovershadow", "layovershadow", lambda F: {"DEM": F.far_dem, "INPUT": F.sigma0},
     "DEM dem.tif has no valid height on the analysis grid: it does not cover the grid"),
    ("area-elsewhere-selectscenes", "selectscenes", lambda F: {"AREA": F.inv_outside}, "No scene reaches any area"),
    # missing bands
    ("no-VH-maplakes", "maplakes", lambda F: {"BAND": "VH"}, r"bad_VV.tif has no VH band \(it has VV\)"),
    ("no-VH-extractlakes", "extractlakes", lambda F: {"BANDS": "VH"}, "has no band 'VH'"),
    ("no-angle-band-slopecorrection", "slopecorrection", lambda F: {"INPUT": F.asc, "HEADING": -12.0},
     "no incidence-angle band: give INCIDENCE_NEAR and INCIDENCE_FAR"),
    ("no-heading-slopecorrection", "slopecorrection", lambda F: {"INPUT": F.asc, **SAR_INCIDENCE, "HEADING": None},
     "the pass heading is unknown: give HEADING"),
    # dB / linear confusion (declared units the values contradict)
    ("power-declared-dB-maplakes", "maplakes", lambda F: {"UNITS": "db"},
     "values declared as dB are all positive.*look like linear power"),
    ("dB-declared-amplitude-maplakes", "maplakes", lambda F: {"ASCENDING": F.db, "UNITS": "amplitude"},
     "ascending raster S1A_20230801T121000_ASC_db.tif: values declared as linear amplitude.*look like dB"),
    ("dB-declared-power-extractlakes", "extractlakes", lambda F: {"INPUT": F.db, "UNITS": "power"},
     "declared as linear power.*look like dB"),
    ("dB-declared-power-fuseascdesc", "fuseascdesc", lambda F: {"ASCENDING": F.db, "DESCENDING": F.db,
                                                                 "UNITS": "power"}, "look like dB"),
    ("dB-declared-power-slopecorrection", "slopecorrection", lambda F: {"UNITS": "power"}, "look like dB"),
    ("power-declared-dB-specklefilter", "specklefilter", lambda F: {"UNITS": "db"}, "look like linear power"),
    # all nodata (NaN everywhere)
    ("all-nan-maplakes", "maplakes", lambda F: {"ASCENDING": F.all_nan},
     "ascending raster S1A_20230801T121000_ASC_bad_VV.tif: cannot detect units: the raster has no valid"),
    ("all-nan-extractlakes", "extractlakes", lambda F: {"INPUT": F.all_nan}, "band VV: cannot detect units: .*no valid"),
    ("all-nan-fuseascdesc", "fuseascdesc", lambda F: {"ASCENDING": F.all_nan},
     r"the ascending raster .* has no valid pixel in band VV \(all nodata\)"),
    ("all-nan-slopecorrection", "slopecorrection", lambda F: {"INPUT": F.all_nan, **SAR_INCIDENCE},
     r"S1A_20230801T121000_ASC_bad_VV.tif, band VV: cannot detect units: .*no valid"),
    ("all-nan-dem-layovershadow", "layovershadow", lambda F: {"DEM": F.nan_dem}, "has no valid heights"),
    ("all-nan-dem-simulatescene", "simulatescene", lambda F: {"DEM": F.nan_dem}, "100% no-data"),
    ("all-nan-dem-slopecorrection", "slopecorrection", lambda F: {"DEM": F.nan_dem},
     "DEM dem.tif has no valid height on the analysis grid: .*or it is all nodata"),
    # geometry classes where an algorithm needs at least one polygon
    ("no-polygon-selectscenes", "selectscenes", lambda F: {"AREA": F.inv_empty}, "AREA has no usable polygon"),
    ("no-polygon-eesentinel1", "eesentinel1", lambda F: {"INVENTORY": F.inv_empty},
     "No inventory lake has a usable polygon"),
    ("no-polygon-eedem", "eedem", lambda F: {"INVENTORY": F.inv_empty}, "No inventory lake has a usable polygon"),
    ("points-selectscenes", "selectscenes", lambda F: {"AREA": F.inv_points}, "must be a polygon layer"),
    ("points-eesentinel1", "eesentinel1", lambda F: {"INVENTORY": F.inv_points}, "must be a polygon layer"),
    ("points-extractlakes", "extractlakes", lambda F: {"INVENTORY": F.inv_points}, "must be a polygon layer"),
    # a scene larger than its DEM
    ("scene-larger-than-dem-simulatescene", "simulatescene", lambda F: {"SIZE_KM": 50.0},
     "does not cover a 50 km scene"),
]


@pytest.mark.parametrize("case, alg, overrides, words", ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_input_is_a_clear_error_and_writes_nothing(glasar_provider, F, tmp_path, case, alg, overrides, words):
    out = tmp_path / "out"
    out.mkdir()
    params = {k: v for k, v in BUILDERS[alg](F, out, **overrides(F)).items() if v is not None}
    with pytest.raises(QgsProcessingException) as err:
        run(alg, params)
    message = str(err.value)
    assert "Traceback" not in message, message
    assert re.search(words, message, re.S), message
    leftovers = [os.path.relpath(os.path.join(r, f), out) for r, _, fs in os.walk(out) for f in fs]
    if words.startswith("No scene reaches any area"):  # the message points to the catalogue: it is written
        with open(out / "catalogue.csv", newline="", encoding="utf-8") as fh:
            reasons = [r["reason"] for r in csv.DictReader(fh)]
        assert reasons and all(reasons), reasons
        leftovers.remove("catalogue.csv")
    assert leftovers == [], f"a failed run left {leftovers}"


# -- per-lake statuses: the run goes on, the lake says what happened, the numbers are right -----
def ok(iou=None, valid=1.0, area_pred=None, note=""):
    """Expectation of a mapped lake: status 'ok' + note, IoU (exact, or (lo, hi)), valid fraction."""
    return {"status": "ok" + note, "iou": iou, "valid_fraction": valid, "area_pred_km2": area_pred}


def status(text, area_ref=None):
    return {"status": text, "area_ref_km2": area_ref, "iou": None}


# The base lake is 60 x 40 px of 20 m = 0.96 km2; the scenes are noisy but the contrast is 13 dB, so a
# lake mapped on its own grid is all but exact (IoU >= 0.98: a few speckled shore pixels at most). A
# lake partly without data cannot score above its covered fraction. Each row changes one thing of the
# base case.
EXACT, AREA = (0.98, 1.0), (0.94, 0.98)
STATUSES = [
    # wrong CRS: geographic rasters are read in the lake's UTM zone at 10 m (resampled), an inventory in
    # another CRS is transformed; both still map the lake
    ("geographic-rasters", "maplakes", lambda F: {"ASCENDING": F.geo_asc, "DESCENDING": F.geo_desc}, "lake",
     ok(iou=(0.94, 0.98), area_pred=(0.90, 0.97))),
    ("geographic-raster", "extractlakes", lambda F: {"INPUT": F.geo_asc}, "lake",
     ok(iou=(0.94, 0.98), area_pred=(0.90, 0.97))),
    ("inventory-in-UTM", "maplakes", lambda F: {"INVENTORY": F.inv_utm}, "lake", ok(iou=EXACT, area_pred=AREA)),
    ("inventory-in-UTM", "extractlakes", lambda F: {"INVENTORY": F.inv_utm}, "lake", ok(iou=EXACT, area_pred=AREA)),
    # units: dB without any hint is detected; a two-band export maps on VH; BAND=both on single-band VV
    ("dB-detected", "maplakes", lambda F: {"ASCENDING": F.db}, "lake", ok(iou=EXACT)),
    ("two-band-VH", "maplakes", lambda F: {"ASCENDING": F.two_band_asc, "DESCENDING": F.two_band_desc,
                                           "BAND": "VH"}, "lake", ok(iou=EXACT)),
    ("both-on-VV-only", "maplakes", lambda F: {"BAND": "both"}, "lake", ok(iou=EXACT)),
    # NaN / inf: the other pass fills a hole in one; a hole in both is the lake's status
    ("nan-lake-in-one-pass", "maplakes", lambda F: {"ASCENDING": F.nan_lake_asc}, "lake",
     ok(iou=(0.99, 1.0), valid=1.0)),
    ("nan-lake-in-both-passes", "maplakes", lambda F: {"ASCENDING": F.nan_lake_both[0],
                                                       "DESCENDING": F.nan_lake_both[1]}, "lake",
     status("skipped: the lake itself is all nodata in both passes", area_ref=0.96)),
    ("nan-lake", "extractlakes", lambda F: {"INPUT": F.nan_lake_both[0]}, "lake",
     status("skipped: the lake itself is all nodata", area_ref=0.96)),
    ("inf-patch-in-one-pass", "maplakes", lambda F: {"ASCENDING": F.inf_asc}, "lake", ok(iou=EXACT)),
    # 10 x 10 px of +inf in the lake: invalid, 100 of 2400 lake pixels (valid 0.9583), not mapped there
    ("inf-patch", "extractlakes", lambda F: {"INPUT": F.inf_asc}, "lake",
     ok(iou=(0.94, 1 - 100 / 2400), valid=round(1 - 100 / 2400, 4), area_pred=(0.90, 0.93))),
    # constant images and land only: no water, said so
    ("constant", "maplakes", lambda F: {"ASCENDING": F.constant[0], "DESCENDING": F.constant[1]}, "lake",
     status("no water found: no dark water touches the lake interior", area_ref=0.96)),
    ("constant", "extractlakes", lambda F: {"INPUT": F.constant[0]}, "lake",
     status("skipped: constant image: a threshold needs two distinct values", area_ref=0.96)),
    ("land-only", "maplakes", lambda F: {"ASCENDING": F.land_only[0], "DESCENDING": F.land_only[1]}, "lake",
     status(r"no water found: otsu threshold -\d+\.\d+ dB is outside the plausible -30..-8 dB", area_ref=0.96)),
    # tiny lakes and windows under 5 px
    ("tiny-lake", "maplakes", lambda F: {"INVENTORY": F.inv_tiny, "ASCENDING": F.tiny_scene[0],
                                         "DESCENDING": F.tiny_scene[1]}, "tiny",
     status(r"skipped: lake smaller than the minimum area \(0.01 km2\)", area_ref=0.0009)),
    ("tiny-window-200m", "maplakes", lambda F: {"INVENTORY": F.inv_tiny, "MIN_AREA": 0.0, "RESOLUTION": 200.0,
                                                "BUFFER_SCALE": 0.1}, "tiny",
     status("skipped: fewer than 10 valid pixels in the window", area_ref=0.0009)),
    ("tiny-window", "extractlakes", lambda F: {"INVENTORY": F.inv_tiny, "MIN_AREA": 0.0, "BUFFER_SCALE": 0.1},
     "tiny", status("no water found: no dark water touches the lake interior", area_ref=0.0009)),
    # huge windows: a 10,000 km2 'lake' is not read
    ("huge-lake", "maplakes", lambda F: {"INVENTORY": F.inv_huge}, "huge",
     status("skipped: lake window larger than 25 million pixels", area_ref=10000.0)),
    ("huge-lake", "extractlakes", lambda F: {"INVENTORY": F.inv_huge}, "huge",
     status("skipped: lake window larger than 25 million pixels", area_ref=10000.0)),
    # geometries
    ("empty-polygon", "maplakes", lambda F: {"INVENTORY": F.inv_empty}, "empty", status("skipped: empty geometry")),
    ("empty-polygon", "extractlakes", lambda F: {"INVENTORY": F.inv_empty}, "empty",
     status("skipped: empty geometry")),
    ("null-geometry", "extractlakes", lambda F: {"INVENTORY": F.inv_empty}, "null", status("skipped: empty geometry")),
    # the bow-tie is repaired into its two triangles (0.48 km2); the mapped lake is the whole 0.96 km2 rectangle
    ("bow-tie", "extractlakes", lambda F: {"INVENTORY": F.inv_bowtie}, "bowtie", ok(iou=(0.48, 0.5), area_pred=AREA)),
    # one MULTIPOLYGON feature whose parts are two separate lakes: each part gets its own interior
    ("multi-part", "maplakes", lambda F: {"INVENTORY": F.inv_multi, "ASCENDING": F.two_lakes[0],
                                          "DESCENDING": F.two_lakes[1]}, "multi", ok(iou=(0.98, 1.0))),
    ("multi-part", "extractlakes", lambda F: {"INVENTORY": F.inv_multi, "INPUT": F.two_lakes[0]}, "multi",
     ok(iou=(0.98, 1.0))),
    ("polygon-Z", "maplakes", lambda F: {"INVENTORY": F.inv_3d}, "z", ok(iou=EXACT, area_pred=AREA)),
    ("polygon-Z", "extractlakes", lambda F: {"INVENTORY": F.inv_3d}, "z", ok(iou=EXACT, area_pred=AREA)),
    # lakes crossing the scene edge: 36 of 60 columns inside; the status says the IoU is capped
    ("edge-lake", "maplakes", lambda F: {"INVENTORY": F.inv_edge, "ASCENDING": F.edge_scene[0],
                                         "DESCENDING": F.edge_scene[1]}, "edge",
     ok(iou=(0.58, 0.6), valid=0.6, area_pred=(0.56, 0.60), note=": only 60% of the lake has SAR data")),
    ("edge-lake", "extractlakes", lambda F: {"INVENTORY": F.inv_edge, "INPUT": F.edge_scene[0]}, "edge",
     ok(iou=(0.58, 0.6), valid=0.6, area_pred=(0.56, 0.60), note=": only 60% of the lake has SAR data")),
    ("outside", "extractlakes", lambda F: {"INVENTORY": F.inv_outside}, "outside",
     status("skipped: lake outside the raster")),
    # a folder of scenes whose only ascending scene is truncated: the lake's status names the file and why
    ("truncated-in-SCENES", "maplakes",
     lambda F: {"ASCENDING": None, "DESCENDING": None, "SCENES": folder_of(F.truncated_in_folder), **SCENE_DATES},
     "lake", status(r"skipped: no ascending scene \(no ascending scene between .* reaches the window "
                    r"\(1 considered\); unreadable: S1A_20230801T121000_ASC_trunc.*: window unreadable: "
                    r"GDAL could not read a window of .*truncated or corrupt.*\)")),
]


def _close(value, expected):
    if isinstance(expected, tuple):
        return expected[0] <= value <= expected[1]
    return value == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("case, alg, overrides, lake_id, expect", STATUSES,
                         ids=[f"{c[0]}-{c[1]}" for c in STATUSES])
def test_bad_lake_or_scene_gets_a_status_and_right_numbers(glasar_provider, F, tmp_path, case, alg, overrides,
                                                           lake_id, expect):
    res = run(alg, BUILDERS[alg](F, tmp_path, **overrides(F)))
    rows = rows_of(res["TABLE"])
    row = rows[lake_id]
    assert re.fullmatch(expect["status"], row["status"]), row["status"]
    layer = QgsVectorLayer(res["OUTPUT"], "out", "ogr")
    assert layer.isValid() and layer.featureCount() == len(rows)
    geom = {f["lake_id"]: f.geometry() for f in layer.getFeatures()}[lake_id]
    if expect["iou"] is None:  # not mapped: no geometry, no scores
        assert (geom.isNull() or geom.isEmpty()) and row["iou"] == "" and row["area_pred_km2"] == ""
        if expect.get("area_ref_km2") is not None:
            assert float(row["area_ref_km2"]) == pytest.approx(expect["area_ref_km2"], rel=1e-3)
        return
    assert not geom.isNull() and not geom.isEmpty()
    assert _close(float(row["iou"]), expect["iou"]), row
    assert _close(float(row["valid_fraction"]), expect["valid_fraction"]), row
    if expect["area_pred_km2"] is not None:
        assert _close(float(row["area_pred_km2"]), expect["area_pred_km2"]), row


# -- raster algorithms on degenerate rasters: the numbers are right ---------------------------------
@pytest.mark.parametrize("name", ["boxcar", "lee", "refined_lee", "lee_sigma", "gamma_map", "frost", "kuan"])
def test_speckle_filters_return_a_constant_image_unchanged(glasar_provider, F, tmp_path, name):
    """Zero variance (C_i = 0) must not divide by zero: every mean-preserving filter returns the
    constant (the median is left out: it divides by the median/mean ratio of L-look speckle)."""
    res = run("specklefilter", specklefilter(F, tmp_path, INPUT=F.constant[0], FILTER=name, WINDOW=5))
    ds = gdal.Open(res["OUTPUT"])  # keep the dataset alive while its band is read
    out = ds.GetRasterBand(1).ReadAsArray()
    assert np.allclose(out, B.constant_power()[0, 0], rtol=1e-5, atol=0), (out.min(), out.max())


def test_speckle_filter_on_a_raster_without_crs_keeps_its_grid(glasar_provider, F, tmp_path):
    """Filtering needs no CRS (it works on pixels): the output keeps the input's geotransform, no CRS."""
    res = run("specklefilter", specklefilter(F, tmp_path, INPUT=F.no_crs))
    ds = gdal.Open(res["OUTPUT"])
    assert ds.GetGeoTransform() == pytest.approx(B.GT) and ds.GetProjection() == ""
    out = ds.GetRasterBand(1).ReadAsArray()
    r0, r1, c0, c1 = B.LAKE_PX  # boxcar 7x7 inside the lake: the mean of the lake level (-20 dB), +-1.5 dB
    assert 10 * np.log10(np.median(out[r0 + 4:r1 - 4, c0 + 4:c1 - 4])) == pytest.approx(-20.0, abs=1.5)


def test_layover_shadow_of_flat_terrain_is_empty(glasar_provider, F, tmp_path):
    """A constant DEM (flat ground) seen at 39 deg has neither layover nor shadow."""
    res = run("layovershadow", layovershadow(F, tmp_path, DEM=F.flat_dem))
    ds = gdal.Open(res["OUTPUT"])
    mask = ds.GetRasterBand(1).ReadAsArray()
    assert mask.shape == B.DEM_SHAPE and not np.any((mask > 0) & (mask != 255))


def test_layover_shadow_statistics_of_lakes_without_pixels(glasar_provider, F, tmp_path):
    """Empty, null and far-away lake polygons get rows with no pixels and no fractions, not errors."""
    from osgeo import ogr as _ogr

    inv = B.inventory(tmp_path / "inv", [None, B.outside_lake_wkt(), B.LAKE_WGS84], ids=["null", "outside", "lake"])
    res = run("layovershadow", layovershadow(F, tmp_path, INVENTORY=inv, STATISTICS=str(tmp_path / "stats.gpkg")))
    ds = _ogr.Open(res["STATISTICS"])
    layer = ds.GetLayer()
    rows = {f.GetField("lake_id"): f for f in layer}
    for lake_id in ("null", "outside"):
        f = rows[lake_id]
        assert f.GetField("ls_pixels") == 0 and f.GetField("pixel_rule") == "outside"
        assert not f.IsFieldSetAndNotNull("frac_distorted")
    lake = rows["lake"]  # 1200 x 800 m on the 30 m DEM: 40 x 26.7 px by pixel centres
    assert 1000 <= lake.GetField("ls_pixels") <= 1100 and lake.GetField("pixel_rule") == "centre"


def test_interior_of_u_shaped_and_multi_part_lakes_lies_on_the_lake():
    """The interior picks the lake's water: when the shrunk lake vanishes it falls back to the
    centroid, which for a U-shaped lake is on the shore (then a point on the surface is taken),
    and a multi-part lake gets one interior per part (its centroid lies between the parts)."""
    from glasar.algorithms import lake_geometry as lg

    # 2 x 2 km U with 500 m arms, 2.5 km2: shrink 3000 log10(3.5) c = 424 m > 250 m, nothing is left
    u_shape = ogr.CreateGeometryFromWkt("POLYGON((0 0,2000 0,2000 2000,1500 2000,1500 500,500 500,500 2000,"
                                        "0 2000,0 0))")
    assert not u_shape.Contains(u_shape.Centroid())
    inner = lg.lake_interior(u_shape, u_shape.GetArea() / 1e6)
    assert inner.GetGeometryName() == "POINT" and u_shape.Contains(inner)
    parts = ogr.CreateGeometryFromWkt("MULTIPOLYGON(((0 0,400 0,400 300,0 300,0 0)),((2000 0,2400 0,2400 300,2000 300,"
                                      "2000 0)))")
    inner = lg.lake_interior(parts, parts.GetArea() / 1e6)
    assert inner.GetGeometryCount() == 2
    for i in range(2):
        assert inner.GetGeometryRef(i).Within(parts.GetGeometryRef(i))
