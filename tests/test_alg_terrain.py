"""glasar:slopecorrection and glasar:layovershadow through processing.run, qgis_process and a
Modeler model, on the real Oetztal DEM and an Earth-Engine-style raster over it."""
import csv
import json
import math
import os
import subprocess

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from glasar.algorithms import terrain_window
from glasar.algorithms import layover_shadow as ls, slope_correction as sc, terrain
from glasar.algorithms.grid import Grid, warp_band

from rasters import write_geotiff

HEADING = -165.6512  # S1B descending 2021-04-01 over the Oetztal (annotation platformHeading)


@pytest.fixture(scope="module")
def dem_path(sample_dir):
    return str(sample_dir / "dem" / "srtm_oetztal.tif")


def _utm_grid(lon=10.757, lat=46.984, size_m=3000.0, res=20.0):
    s = osr.SpatialReference()
    s.ImportFromEPSG(32632)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    geo = s.CloneGeogCS()
    geo.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x, y, _ = osr.CoordinateTransformation(geo, s).TransformPoint(lon, lat)
    x0, y0 = round(x - size_m / 2), round(y + size_m / 2)
    n = int(size_m / res)
    return Grid(s.ExportToWkt(), float(x0), float(y0), res, n, n)


@pytest.fixture(scope="module")
def ee_scene(tmp_path_factory, dem_path):
    """Earth-Engine-style sigma0 raster (bands VV, VH, angle; dB; HEADING/PASS tags) over the
    Oetztal, simulated with the volume model from gamma0_flat = -8 dB (VV), -15 dB (VH)."""
    grid = _utm_grid()
    dem = terrain.resample_dem(dem_path, grid, "bilinear").astype(np.float64)
    # HEADING is the platform heading (at nadir): the look direction at the scene is turned by the
    # meridians' convergence between nadir and scene (s1_metadata.local_from_platform_heading),
    # evaluated at the scene's median incidence as the algorithms do
    inc = np.full(grid.shape, 38.35)
    for _ in range(2):
        look = terrain_window.look_from_platform_heading(HEADING, grid.srs_wkt, *terrain.grid_centre(grid),
                                                         float(np.median(inc)))
        inc = terrain.incidence_near_far(grid.shape, terrain.grid_spacing(grid), look, 38.2, 38.5)
    tan_r, _ = terrain.range_azimuth_slopes(dem, terrain.grid_spacing(grid), look)
    t, a = np.radians(inc), np.arctan(tan_r)
    with np.errstate(invalid="ignore"):
        scf = np.tan(t) / np.tan(t - a)  # sigma0 = gamma0_flat * cos(theta) * SCF_volume
        vv = -8.0 + 10 * np.log10(np.cos(t) * scf)
        vh = -15.0 + 10 * np.log10(np.cos(t) * scf)
    vv = np.where(np.isfinite(vv), vv, -2.0)
    vh = np.where(np.isfinite(vh), vh, -9.0)
    folder = tmp_path_factory.mktemp("ee")
    path = write_geotiff(folder / "S1B_IW_20210401T052623_DSC_oetztal.tif", [vv, vh, inc], grid.geotransform,
                         epsg=32632, descriptions=["VV", "VH", "angle"],
                         tags={"HEADING": str(HEADING), "PASS": "DESCENDING",
                               "ACQUISITION_TIME": "2021-04-01T05:26:23Z"})
    notag = write_geotiff(folder / "noheading.tif", [vv, vh, inc], grid.geotransform, epsg=32632,
                          descriptions=["VV", "VH", "angle"])
    noangle = write_geotiff(folder / "noangle_VV.tif", vv, grid.geotransform, epsg=32632,
                            tags={"HEADING": str(HEADING)})
    return dict(path=path, notag=notag, noangle=noangle, grid=grid, dem=dem, look=look, inc=inc,
                vv=vv, vh=vh, tan_r=tan_r)


def run(alg, params):
    from qgis import processing

    return processing.run(f"glasar:{alg}", params)


def band1(path):
    ds = gdal.Open(str(path))  # keep the dataset alive while its band is read
    return ds.GetRasterBand(1).ReadAsArray()


def read(path):
    ds = gdal.Open(path)
    bands = {ds.GetRasterBand(i).GetDescription(): ds.GetRasterBand(i).ReadAsArray()
             for i in range(1, ds.RasterCount + 1)}
    return ds, bands


# ------------------------------------------------------------------------------------------
def test_metadata(glasar_provider):
    from qgis.core import QgsApplication, QgsProcessingParameterEnum

    for alg_id, keys in (("glasar:slopecorrection", {"INPUT", "DEM", "MODEL", "OUTPUT"}),
                         ("glasar:layovershadow", {"DEM", "INPUT", "HEADING", "INCIDENCE_NEAR", "INCIDENCE_FAR",
                                                   "METHOD", "INVENTORY", "OUTPUT", "STATISTICS"})):
        alg = QgsApplication.processingRegistry().algorithmById(alg_id)
        assert alg is not None and alg.shortHelpString() and alg.group() == "Terrain"
        names = {p.name() for p in alg.parameterDefinitions()}
        assert keys <= names
        for p in alg.parameterDefinitions():
            assert p.help(), f"{alg_id} {p.name()} has no help"
            assert p.name() == p.name().upper()
            if isinstance(p, QgsProcessingParameterEnum):
                assert p.usesStaticStrings()
        flags = alg.flags()
        assert flags & alg.FlagSupportsBatch and flags & alg.FlagCanCancel
    alg = QgsApplication.processingRegistry().algorithmById("glasar:slopecorrection")
    assert alg.parameterDefinition("MODEL").options() == ["volume", "surface", "area"]
    alg = QgsApplication.processingRegistry().algorithmById("glasar:layovershadow")
    assert alg.parameterDefinition("METHOD").options() == ["exact", "original"]


def test_slopecorrection_volume_recovers_the_simulated_gamma0(glasar_provider, ee_scene, dem_path, tmp_path):
    res = run("slopecorrection", {"INPUT": ee_scene["path"], "DEM": dem_path, "MODEL": "volume",
                                  "OUTPUT": str(tmp_path / "sc.tif")})
    ds, b = read(res["OUTPUT"])
    assert list(b) == ["VV_sigma0", "VH_sigma0", "incAngle", "localIncAngle", "VV_gamma0", "VH_gamma0",
                       "VV_gamma0_flatDB", "VH_gamma0_flatDB", "layover", "shadow"]
    assert ds.GetGeoTransform() == ee_scene["grid"].geotransform
    md = ds.GetMetadata()
    assert float(md["HEADING"]) == pytest.approx(HEADING) and md["PASS"] == "DESCENDING"
    assert float(md["LOOK_AZIMUTH_GRID"]) == pytest.approx(ee_scene["look"], abs=1e-5)
    clean = (b["layover"] == 0) & (b["shadow"] == 0)
    assert clean.mean() > 0.8 and (b["layover"] == 1).sum() > 100  # rugged real terrain
    assert np.allclose(b["VV_gamma0_flatDB"][clean], -8.0, atol=2e-3)
    assert np.allclose(b["VH_gamma0_flatDB"][clean], -15.0, atol=2e-3)
    assert np.isnan(b["VV_gamma0_flatDB"][b["layover"] == 1]).all()
    # Identical to the pure functions on the same inputs.
    direct = sc.slope_correct({"VV": ee_scene["vv"], "VH": ee_scene["vh"]}, ee_scene["inc"], ee_scene["dem"],
                              terrain.grid_spacing(ee_scene["grid"]), ee_scene["look"], "volume")
    assert np.allclose(b["VV_gamma0"], direct["VV_gamma0"], atol=1e-5, equal_nan=True)
    assert np.array_equal(b["layover"], direct["layover"])


def test_slopecorrection_area_and_surface(glasar_provider, ee_scene, dem_path, tmp_path):
    area = read(run("slopecorrection", {"INPUT": ee_scene["path"], "DEM": dem_path, "MODEL": "area",
                                        "OUTPUT": str(tmp_path / "a.tif")})["OUTPUT"])[1]
    surf = read(run("slopecorrection", {"INPUT": ee_scene["path"], "DEM": dem_path, "MODEL": "surface",
                                        "DEM_RESAMPLING": "cubic", "OUTPUT": str(tmp_path / "s.tif")})["OUTPUT"])[1]
    lay = area["layover"] == 1
    assert np.isfinite(area["VV_gamma0_flatDB"][lay]).mean() > 0.9  # the area model keeps layover
    clean = (area["layover"] == 0) & (area["shadow"] == 0)
    assert np.nanmedian(np.abs(area["VV_gamma0_flatDB"][clean] + 8.0)) < 0.3
    clean = (surf["layover"] == 0) & (surf["shadow"] == 0)  # its own (cubic DEM) angle tests
    assert np.isfinite(surf["VV_gamma0_flatDB"][clean]).all()
    assert np.isnan(surf["VV_gamma0_flatDB"][surf["layover"] == 1]).all()


def test_slopecorrection_heading_and_incidence_parameters(glasar_provider, ee_scene, dem_path, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="heading"):
        run("slopecorrection", {"INPUT": ee_scene["notag"], "DEM": dem_path, "OUTPUT": str(tmp_path / "x.tif")})
    assert not os.path.exists(tmp_path / "x.tif")
    res = run("slopecorrection", {"INPUT": ee_scene["notag"], "DEM": dem_path, "HEADING": HEADING,
                                  "OUTPUT": str(tmp_path / "h.tif")})
    assert float(gdal.Open(res["OUTPUT"]).GetMetadata()["HEADING"]) == pytest.approx(HEADING)
    with pytest.raises(QgsProcessingException, match="INCIDENCE_NEAR"):
        run("slopecorrection", {"INPUT": ee_scene["noangle"], "DEM": dem_path, "OUTPUT": str(tmp_path / "y.tif")})
    res = run("slopecorrection", {"INPUT": ee_scene["noangle"], "DEM": dem_path, "INCIDENCE_NEAR": 38.2,
                                  "INCIDENCE_FAR": 38.5, "OUTPUT": str(tmp_path / "n.tif")})
    b = read(res["OUTPUT"])[1]
    assert list(b)[0] == "VV_sigma0" and "VH_sigma0" not in b
    assert np.allclose(b["incAngle"], ee_scene["inc"], atol=1e-4)


def test_layovershadow_dem_only_on_the_dem_grid(glasar_provider, dem_path, tmp_path):
    res = run("layovershadow", {"DEM": dem_path, "HEADING": HEADING, "INCIDENCE_NEAR": 37.5,
                                "INCIDENCE_FAR": 38.5, "OUTPUT": str(tmp_path / "ls.tif")})
    ds = gdal.Open(res["OUTPUT"])
    mask = ds.GetRasterBand(1).ReadAsArray()
    assert ds.GetRasterBand(1).DataType == gdal.GDT_Byte and ds.GetRasterBand(1).GetNoDataValue() == 255
    dem, gt, wkt = terrain.read_dem(dem_path)
    assert mask.shape == dem.shape and ds.GetGeoTransform() == gt
    spacing = terrain.metric_spacing(gt, wkt, (dem.shape[1], dem.shape[0]))
    centre = gt[0] + gt[1] * dem.shape[1] / 2.0, gt[3] + gt[5] * dem.shape[0] / 2.0
    look = terrain_window.look_from_platform_heading(HEADING, wkt, *centre, 38.0)
    direct = ls.layover_shadow_mask(dem, spacing, look, terrain.incidence_near_far(dem.shape, spacing, look, 37.5,
                                                                                    38.5))
    assert np.array_equal(mask, direct)
    assert set(np.unique(mask)) <= {0, 1, 2, 4, 5, 6, 8, 9, 10}
    assert 0.05 < (mask > 0).mean() < 0.12
    # the geographic DEM's grid north is true north: heading + 90 = 284.3488 at nadir, turned by the
    # convergence of the meridians between nadir and the Oetztal (47 N): about 4.5 deg
    assert float(ds.GetMetadata()["LOOK_AZIMUTH_GRID"]) == pytest.approx(look, abs=1e-6)
    assert -4.7 < look - 284.3488 < -4.2
    assert os.path.exists(tmp_path / "ls.qml")  # the style travels with the file


def test_layovershadow_on_the_sar_grid_with_original_method(glasar_provider, ee_scene, dem_path, tmp_path):
    exact = gdal.Open(run("layovershadow", {"DEM": dem_path, "INPUT": ee_scene["path"],
                                            "OUTPUT": str(tmp_path / "e.tif")})["OUTPUT"])
    assert exact.GetGeoTransform() == ee_scene["grid"].geotransform
    m = exact.GetRasterBand(1).ReadAsArray()
    direct = ls.layover_shadow_mask(ee_scene["dem"], terrain.grid_spacing(ee_scene["grid"]), ee_scene["look"],
                                    ee_scene["inc"])
    assert np.array_equal(m, direct) and (m & 3).any() and (m & 12).any()
    orig = gdal.Open(run("layovershadow", {"DEM": dem_path, "INPUT": ee_scene["path"], "METHOD": "original",
                                           "OUTPUT": str(tmp_path / "o.tif")})["OUTPUT"])
    mo = orig.GetRasterBand(1).ReadAsArray()
    assert orig.GetMetadata()["METHOD"] == "original"
    # The original's active layover is the angle test inside its peak windows, so it lies within
    # the exact active layover; its 900 m windows miss the long Alpine slopes (a small part).
    act_e, act_o = (m & 1) > 0, (mo & 1) > 0
    assert act_o.sum() > 5 and (act_e & act_o).sum() / act_o.sum() > 0.9
    assert act_o.sum() < 0.5 * act_e.sum()


def _lakes(path, wkts_lonlat, driver="GPKG"):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds = ogr.GetDriverByName(driver).CreateDataSource(str(path))
    layer = ds.CreateLayer("lakes", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("lake_id", ogr.OFTString))
    for i, w in enumerate(wkts_lonlat):
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetField("lake_id", f"L{i}")
        f.SetGeometry(ogr.CreateGeometryFromWkt(w))
        layer.CreateFeature(f)
    ds = None
    return str(path)


def _box(lon0, lat0, lon1, lat1):
    return f"POLYGON(({lon0} {lat0},{lon1} {lat0},{lon1} {lat1},{lon0} {lat1},{lon0} {lat0}))"


def test_layovershadow_per_lake_statistics(glasar_provider, ee_scene, dem_path, tmp_path):
    from qgis.core import QgsVectorLayer

    inv = _lakes(tmp_path / "lakes.gpkg", [_box(10.740, 46.975, 10.747, 46.980), _box(10.760, 46.975, 10.764, 46.979),
                                           _box(11.5, 47.5, 11.51, 47.51)])
    res = run("layovershadow", {"DEM": dem_path, "INPUT": ee_scene["path"], "INVENTORY": inv,
                                "OUTPUT": str(tmp_path / "m.tif"), "STATISTICS": str(tmp_path / "stats.csv")})
    with open(res["STATISTICS"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["lake_id"] for r in rows] == ["L0", "L1", "L2"]
    # Same numbers as the pure function on the mask, lakes transformed to the grid CRS.
    ds = gdal.Open(res["OUTPUT"])
    mask = ds.GetRasterBand(1).ReadAsArray()
    src = osr.SpatialReference()
    src.ImportFromEPSG(4326)
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst = osr.SpatialReference(wkt=ds.GetProjection())
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    geoms = []
    for w in (_box(10.740, 46.975, 10.747, 46.980), _box(10.760, 46.975, 10.764, 46.979), _box(11.5, 47.5, 11.51, 47.51)):
        g = ogr.CreateGeometryFromWkt(w)
        g.Transform(osr.CoordinateTransformation(src, dst))
        geoms.append(g)
    expected = ls.polygon_fractions(mask, ds.GetGeoTransform(), ds.GetProjection(), geoms)
    for row, exp in zip(rows, expected):
        assert int(row["ls_pixels"]) == exp["ls_pixels"]
        if exp["frac_layover"] is None:
            assert row["frac_layover"] == ""
        else:
            assert float(row["frac_layover"]) == pytest.approx(exp["frac_layover"])
            assert float(row["frac_shadow"]) == pytest.approx(exp["frac_shadow"])
            assert float(row["heading"]) == pytest.approx(HEADING)
    assert int(rows[0]["ls_pixels"]) > 500 and float(rows[0]["frac_distorted"]) > 0.05
    assert rows[2]["pixel_rule"] == "outside"
    res = run("layovershadow", {"DEM": dem_path, "INPUT": ee_scene["path"], "INVENTORY": inv,
                                "OUTPUT": str(tmp_path / "m2.tif"), "STATISTICS": str(tmp_path / "stats.gpkg")})
    layer = QgsVectorLayer(res["STATISTICS"], "s", "ogr")
    assert layer.isValid() and layer.featureCount() == 3 and "frac_passive_shadow" in layer.fields().names()


def test_layovershadow_errors(glasar_provider, dem_path, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="heading"):
        run("layovershadow", {"DEM": dem_path, "OUTPUT": str(tmp_path / "x.tif")})
    with pytest.raises(QgsProcessingException, match="far-range"):
        run("layovershadow", {"DEM": dem_path, "HEADING": HEADING, "INCIDENCE_NEAR": 40, "INCIDENCE_FAR": 35,
                              "OUTPUT": str(tmp_path / "y.tif")})
    with pytest.raises(QgsProcessingException, match="INVENTORY"):
        run("layovershadow", {"DEM": dem_path, "HEADING": HEADING, "OUTPUT": str(tmp_path / "z.tif"),
                              "STATISTICS": str(tmp_path / "s.csv")})
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tif")]


def test_cancel_writes_nothing(glasar_provider, dem_path, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    fb = QgsProcessingFeedback()
    fb.cancel()
    with pytest.raises(QgsProcessingException, match="Cancel"):
        processing.run("glasar:layovershadow", {"DEM": dem_path, "HEADING": HEADING,
                                                "OUTPUT": str(tmp_path / "c.tif")}, feedback=fb)
    assert os.listdir(tmp_path) == []


def test_style_loads(qgis_processing, dem_path, tmp_path):
    from qgis.core import QgsRasterLayer

    from glasar.processing_provider.styling import style_path

    out = tmp_path / "m.tif"
    terrain.write_raster(out, [np.array([[0, 1, 2], [4, 8, 6]], np.uint8)], (0, 1, 0, 2, 0, -1),
                         osr.SRS_WKT_WGS84_LAT_LONG, dtype=gdal.GDT_Byte, nodata=255)
    layer = QgsRasterLayer(str(out), "m")
    msg, ok = layer.loadNamedStyle(style_path("layover_shadow.qml"))
    assert ok, msg
    classes = layer.renderer().classes()
    assert layer.renderer().type() == "paletted"
    assert [c.value for c in classes] == [0, 1, 2, 4, 8, 5, 6, 9, 10]
    assert classes[1].label == "1 active layover"


def test_qgis_process_both_algorithms(qgis_process_env, ee_scene, dem_path, tmp_path):
    exe, env = qgis_process_env
    out = subprocess.run([exe, "--json", "run", "glasar:slopecorrection", "--", f"INPUT={ee_scene['path']}",
                          f"DEM={dem_path}", "MODEL=area", f"OUTPUT={tmp_path / 'sc.tif'}"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads(out.stdout)["results"]
    assert gdal.Open(result["OUTPUT"]).RasterCount == 10
    out = subprocess.run([exe, "--json", "run", "glasar:layovershadow", "--", f"DEM={dem_path}",
                          f"HEADING={HEADING}", "INCIDENCE_NEAR=37.5", "INCIDENCE_FAR=38.5", "METHOD=exact",
                          f"OUTPUT={tmp_path / 'ls.tif'}"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    mask = band1(json.loads(out.stdout)["results"]["OUTPUT"])
    assert mask.shape == (444, 582) and (mask & 1).any()
    out = subprocess.run([exe, "run", "glasar:layovershadow", "--", f"DEM={dem_path}",
                          f"OUTPUT={tmp_path / 'bad.tif'}"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "heading" in (out.stdout + out.stderr)


def _chain_model():
    """slopecorrection -> layovershadow: the corrected raster (its HEADING tag and incAngle band)
    drives the layover/shadow mask on its own grid."""
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource as Src,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterRasterLayer,
    )

    model = QgsProcessingModelAlgorithm("slope_then_layover", "tests")
    for name in ("sar", "dem"):
        model.addModelParameter(QgsProcessingParameterRasterLayer(name, name), QgsProcessingModelParameter(name))
    corr = QgsProcessingModelChildAlgorithm("glasar:slopecorrection")
    corr.setChildId("correct")
    corr.addParameterSources("INPUT", [Src.fromModelParameter("sar")])
    corr.addParameterSources("DEM", [Src.fromModelParameter("dem")])
    corr.addParameterSources("MODEL", [Src.fromStaticValue("area")])
    o1 = QgsProcessingModelOutput("corrected", "corrected")
    o1.setChildId("correct")
    o1.setChildOutputName("OUTPUT")
    corr.setModelOutputs({"corrected": o1})
    model.addChildAlgorithm(corr)
    lsh = QgsProcessingModelChildAlgorithm("glasar:layovershadow")
    lsh.setChildId("mask")
    lsh.addParameterSources("INPUT", [Src.fromChildOutput("correct", "OUTPUT")])
    lsh.addParameterSources("DEM", [Src.fromModelParameter("dem")])
    lsh.addParameterSources("METHOD", [Src.fromStaticValue("exact")])
    o2 = QgsProcessingModelOutput("mask", "mask")
    o2.setChildId("mask")
    o2.setChildOutputName("OUTPUT")
    lsh.setModelOutputs({"mask": o2})
    model.addChildAlgorithm(lsh)
    return model


def test_modeler_chain_slopecorrection_then_layovershadow(glasar_provider, qgis_process_env, ee_scene, dem_path,
                                                          tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    model = _chain_model()
    params = {"sar": ee_scene["path"], "dem": dem_path, "correct:corrected": str(tmp_path / "corr.tif"),
              "mask:mask": str(tmp_path / "mask.tif")}
    ok, errors = model.checkParameterValues(params, QgsProcessingContext())
    assert ok, errors
    res = processing.run(model, params, feedback=QgsProcessingFeedback())
    mask = band1(res["mask:mask"])
    # The chained mask equals a direct run on the original scene (same heading, same incidence).
    direct = ls.layover_shadow_mask(ee_scene["dem"], terrain.grid_spacing(ee_scene["grid"]), ee_scene["look"],
                                    warp_band(ee_scene["path"], 3, ee_scene["grid"], "nearest").astype(np.float64))
    assert np.array_equal(mask, direct)
    # The same model file through qgis_process.
    model_path = tmp_path / "chain.model3"
    assert model.toFile(str(model_path))
    exe, env = qgis_process_env
    out = subprocess.run([exe, "--json", "run", str(model_path), "--", f"sar={ee_scene['path']}", f"dem={dem_path}",
                          f"correct:corrected={tmp_path / 'qc.tif'}", f"mask:mask={tmp_path / 'qm.tif'}"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert np.array_equal(band1(str(tmp_path / "qm.tif")), mask)


def test_layovershadow_reads_the_simulated_scenes_look_azimuth_tag(glasar_provider, sample_dir, tmp_path):
    """The simulator tags HEADING as the platform heading from true north (Sentinel-1
    annotation convention, ~5 deg from the heading at the scene at 47 N) and LOOK_AZIMUTH as
    the exact grid azimuth: the forecast uses LOOK_AZIMUTH (as maplakes), keeps HEADING, and with
    the simulation's own geometry matches its truth bitmask."""
    d = sample_dir / "simulated"
    scene = str(d / "sim_2_ASC.tif")
    md = gdal.Open(scene).GetMetadata()
    res = run("layovershadow", {"INPUT": scene, "DEM": str(d / "dem_30m.tif"), "OUTPUT": str(tmp_path / "ls.tif")})
    out = gdal.Open(res["OUTPUT"])
    assert float(out.GetMetadata()["LOOK_AZIMUTH_GRID"]) == pytest.approx(float(md["LOOK_AZIMUTH"]), abs=1e-6)
    assert float(out.GetMetadata()["HEADING"]) == pytest.approx(float(md["HEADING"]), abs=1e-6)
    mask = out.GetRasterBand(1).ReadAsArray()
    truth = gdal.Open(str(d / "layover_shadow_asc.tif")).ReadAsArray()
    a, b = (mask & 3) > 0, (truth & 3) > 0
    assert b.mean() > 0.1  # the sample's ascending pass: layover on the valley wall
    assert (a & b).sum() / (a | b).sum() > 0.9  # 0.931 from the 30 m DEM
