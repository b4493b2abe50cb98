"""PASSES of maplakes: map from one pass alone (no fusion), to compare with the fused result."""
import csv

import pytest
from osgeo import ogr, osr

from glasar.algorithms import GlasarError
from glasar.algorithms import lake_geometry as lg
from glasar.algorithms import pipeline as P

TSHO_ROLPA = "GL086863E28114N"


@pytest.fixture(scope="module")
def sim(sample_dir):
    d = sample_dir / "simulated"
    ds = ogr.Open(str(d / "inventory.gpkg"))
    layer = ds.GetLayer(0)
    srs = layer.GetSpatialRef()
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lakes = [P.LakeInput(str(f["lake_id"]), bytes(lg.transform_geometry(f.GetGeometryRef(), srs, lg.WGS84)
                                                  .ExportToWkb())) for f in layer]
    return {"asc": str(d / "sim_2_ASC.tif"), "desc": str(d / "sim_2_DSC.tif"), "dem": str(d / "dem_30m.tif"),
            "lakes": lakes}


def run(sim, **kw):
    return {r.lake_id: r for r in P.map_lakes(sim["lakes"], sim["asc"], sim["desc"],
                                              P.Options(dem_path=sim["dem"], **kw))}


def test_single_pass_uses_only_that_pass(sim):
    fused, asc, desc = run(sim), run(sim, passes="ascending"), run(sim, passes="descending")
    # Lake 1 lies wholly in ascending layover: the fused run drops the ascending pass itself, so
    # the descending-only run is the same computation and gives the same outline.
    assert fused["1"].fields["passes"] == "descending"
    assert desc["1"].fields["passes"] == "descending" and desc["1"].status.endswith("descending pass only")
    assert desc["1"].fields["iou"] == fused["1"].fields["iou"]
    assert desc["1"].wkb == fused["1"].wkb
    # The ascending pass alone sees the layover, not the lake: it maps much less of it (or nothing).
    assert asc["1"].fields["passes"] == "ascending"
    assert (asc["1"].fields["iou"] or 0.0) < fused["1"].fields["iou"] - 0.2
    # Lake 3 is clean in both passes: each pass alone maps it, the fused run uses both.
    assert fused["3"].fields["passes"] == "ascending+descending"
    for one in (asc, desc):
        assert P.is_mapped(one["3"].status) and one["3"].fields["iou"] > 0.5
    # Single pass: nothing is left to fill the pass's gaps, so the distortion after "fusion" is
    # the pass's own (nodata or DEM-flagged; no brightening rule without a second pass).
    for lake_id in ("1", "2", "3"):
        f = asc[lake_id].fields
        assert f["distorted_fused"] == pytest.approx(f["distorted_asc"], abs=1e-4), lake_id
        assert f["distorted_desc"] == 1.0  # the ignored pass counts as missing


def test_unknown_passes_is_an_error(sim):
    with pytest.raises(GlasarError, match="unknown passes"):
        run(sim, passes="left")


def test_passes_parameter_through_processing(glasar_provider, tsho_rolpa, tmp_path):
    from qgis import processing

    rows = {}
    for passes in ("both", "ascending", "descending"):
        table = tmp_path / f"{passes}.csv"
        processing.run("glasar:maplakes", {
            "ASCENDING": tsho_rolpa["asc_2022"], "DESCENDING": tsho_rolpa["desc_2022"],
            "INVENTORY": tsho_rolpa["inventory"], "LAKE_ID_FIELD": "GLIMS_ID", "PASSES": passes, "WORKERS": 1,
            "OUTPUT": str(tmp_path / f"{passes}.gpkg"), "TABLE": str(table)})
        with open(table, newline="") as fh:
            rows[passes] = next(r for r in csv.DictReader(fh) if r["lake_id"] == TSHO_ROLPA)
    assert rows["both"]["passes"] == "ascending+descending"
    assert rows["ascending"]["passes"] == "ascending" and rows["descending"]["passes"] == "descending"
    # The ascending pass lays the valley wall over the lake's north-east shore: alone it maps that
    # strip as land; fusion takes the descending pass there (README: 0.82-0.85 vs 0.90).
    assert float(rows["ascending"]["iou"]) < float(rows["both"]["iou"]) - 0.02
    assert float(rows["ascending"]["distorted_fused"]) == pytest.approx(float(rows["ascending"]["distorted_asc"]))
    assert float(rows["both"]["distorted_fused"]) < float(rows["ascending"]["distorted_asc"])


def test_lake_not_darker_than_its_shore_in_any_pass_is_not_mapped(tmp_path):
    # A drained (or spurious) inventory lake on land, with a dark patch (wet snow, -17 dB) beside it
    # and reaching into it: the threshold finds the patch, but the lake itself is not darker than its
    # shore in either pass, so it is reported as not found rather than mapped onto the patch.
    import numpy as np
    from osgeo import ogr as _ogr

    from rasters import rect_wkt, utm_to_wgs84_wkt, write_geotiff

    x0, y0, res = 440000.0, 3080000.0, 20.0
    gt = (x0, res, 0, y0, 0, -res)
    rng = np.random.default_rng(3)
    mean_db = np.full((120, 120), -7.0)
    mean_db[40:80, 76:100] = -17.0  # a dark patch east of the lake ...
    mean_db[57:63, 45:76] = -17.0  # ... with a tongue reaching the lake's centre
    paths = []
    for name in ("S1A_20230801T121000_ASC_VV.tif", "S1A_20230804T001000_DSC_VV.tif"):
        power = 10 ** (mean_db / 10) * rng.gamma(18, 1 / 18, size=mean_db.shape)
        paths.append(write_geotiff(tmp_path / name, power.astype(np.float32), gt, nodata=0))
    lake = _ogr.CreateGeometryFromWkt(utm_to_wgs84_wkt(rect_wkt(x0 + 30 * res, y0 - 80 * res, x0 + 73 * res,
                                                                 y0 - 40 * res)))
    lake_input = P.LakeInput("drained", bytes(lake.ExportToWkb()))
    for passes, where in (("both", "either pass"), ("descending", "the descending pass")):
        (res_,) = P.map_lakes([lake_input], *paths, P.Options(speckle_filter="none", passes=passes))
        assert res_.status.startswith("no water found: the lake is not at least 3 dB darker than its shore in "
                                      + where), res_.status
        assert res_.wkb is None and res_.fields["iou"] is None
    # The same window with the lake full of water (-20 dB) is mapped as usual.
    mean_db[40:80, 30:73] = -20.0
    for name, path in zip(("a", "d"), paths):
        power = 10 ** (mean_db / 10) * rng.gamma(18, 1 / 18, size=mean_db.shape)
        write_geotiff(tmp_path / f"{name}.tif", power.astype(np.float32), gt, nodata=0)
    (ok,) = P.map_lakes([lake_input], str(tmp_path / "a.tif"), str(tmp_path / "d.tif"),
                        P.Options(speckle_filter="none"))
    assert ok.status == "ok" and ok.fields["contrast_asc"] > 10 and ok.fields["recall"] > 0.95
