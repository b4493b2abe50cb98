"""glasar:maplakes through QGIS Processing and qgis_process, on real data and bad input."""
import csv
import json
import os
import subprocess

import numpy as np
import pytest
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsVectorLayer,
)

from rasters import lake_scene, rect_wkt, utm_to_wgs84_wkt, write_geotiff, write_polygons

X0, Y0, RES = 440000.0, 3080000.0, 20.0
GT = (X0, RES, 0, Y0, 0, -RES)
LAKE_UTM = rect_wkt(X0 + 30 * RES, Y0 - 80 * RES, X0 + 90 * RES, Y0 - 40 * RES)


def run(params):
    from qgis import processing

    return processing.run("glasar:maplakes", params)


def tsho_params(tsho_rolpa, year, tmp_path, **extra):
    p = {
        "ASCENDING": tsho_rolpa[f"asc_{year}"], "DESCENDING": tsho_rolpa[f"desc_{year}"],
        "INVENTORY": tsho_rolpa["inventory"], "LAKE_ID_FIELD": "GLIMS_ID",
        "OUTPUT": str(tmp_path / f"lakes_{year}.gpkg"), "TABLE": str(tmp_path / f"lakes_{year}.csv"),
    }
    p.update(extra)
    return p


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_provider_and_algorithm_metadata(glasar_provider):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById("glasar:maplakes")
    assert alg is not None and alg.displayName() == "Map glacial lakes"
    assert glasar_provider.name() == "GLaSAR"
    assert alg.shortHelpString()
    for p in alg.parameterDefinitions():
        assert p.help(), f"parameter {p.name()} has no help"
        assert p.name() == p.name().upper()
    flags = alg.flags()
    assert flags & alg.FlagSupportsBatch and flags & alg.FlagCanCancel


@pytest.mark.parametrize("year", ["2022", "2024"])
def test_tsho_rolpa_both_pairs(glasar_provider, tsho_rolpa, tmp_path, year):
    res = run(tsho_params(tsho_rolpa, year, tmp_path))
    layer = QgsVectorLayer(res["OUTPUT"], "out", "ogr")
    assert layer.isValid() and layer.featureCount() == 83  # one feature per inventory lake
    table = read_csv(res["TABLE"])
    assert len(table) == 83  # the inventory repeats some GLIMS ids: rows follow features
    rows = {r["lake_id"]: r for r in table}
    tsho = rows["GL086863E28114N"]
    assert tsho["status"] == "ok" and float(tsho["iou"]) >= 0.87
    assert tsho["asc_time"].startswith(f"{year}-07-2") and tsho["desc_time"].startswith(f"{year}-07-2")
    feats = {f["lake_id"]: f for f in layer.getFeatures()}
    g = feats["GL086863E28114N"].geometry()
    assert not g.isNull() and layer.crs().authid() == "EPSG:4326"
    # Mapped polygon lies on the lake: its centroid is inside the inventory polygon's bounding box.
    c = g.centroid().asPoint()
    assert 86.462 < c.x() < 86.492 and 27.847 < c.y() < 27.872
    statuses = {r["status"] for r in rows.values()}
    assert "skipped: lake outside both scenes" in statuses


@pytest.mark.parametrize("normalization, combine", [("none", "max"), ("median_offset", "mean"), ("zscore", "min"),
                                                    ("histogram_matching", "mean")])
def test_fusion_options(glasar_provider, tsho_rolpa, tmp_path, normalization, combine):
    """NORMALIZATION and COMBINE as static strings: every normalisation keeps the fused image on the
    descending pass's dB scale (threshold in the plausible dB range) and maps Tsho Rolpa with both passes."""
    res = run(tsho_params(tsho_rolpa, "2022", tmp_path, NORMALIZATION=normalization, COMBINE=combine))
    tsho = {r["lake_id"]: r for r in read_csv(res["TABLE"])}["GL086863E28114N"]
    assert tsho["status"] == "ok" and tsho["passes"] == "ascending+descending"
    assert float(tsho["iou"]) >= 0.84, tsho
    assert -30.0 < float(tsho["threshold_db"]) < -8.0


def test_selected_features_only_and_id_field(glasar_provider, tsho_rolpa, tmp_path):
    from qgis.core import QgsProcessingFeatureSourceDefinition

    layer = QgsVectorLayer(tsho_rolpa["inventory"], "inv", "ogr")
    ids = [f.id() for f in layer.getFeatures() if f["GLIMS_ID"] == "GL086863E28114N"]
    layer.selectByIds(ids)
    from qgis.core import QgsProject

    QgsProject.instance().addMapLayer(layer)
    try:
        src = QgsProcessingFeatureSourceDefinition(layer.id(), selectedFeaturesOnly=True)
        res = run(tsho_params(tsho_rolpa, "2022", tmp_path, INVENTORY=src, METHOD="kmeans"))
        rows = read_csv(res["TABLE"])
        assert [r["lake_id"] for r in rows] == ["GL086863E28114N"]
        assert rows[0]["method"] == "kmeans" and float(rows[0]["iou"]) >= 0.87
    finally:
        QgsProject.instance().removeMapLayer(layer.id())


@pytest.fixture
def synthetic(tmp_path):
    rng = np.random.default_rng(3)
    a = write_geotiff(tmp_path / "asc.tif", lake_scene(rng), GT, nodata=0)
    d = write_geotiff(tmp_path / "desc.tif", lake_scene(rng), GT, nodata=0)
    inv = write_polygons(tmp_path / "inv.gpkg", [utm_to_wgs84_wkt(LAKE_UTM)])
    return a, d, inv


def test_bad_inputs_raise_clear_errors(glasar_provider, synthetic, tmp_path):
    a, d, inv = synthetic
    base = {"ASCENDING": a, "DESCENDING": d, "INVENTORY": inv,
            "OUTPUT": str(tmp_path / "o.gpkg"), "TABLE": str(tmp_path / "o.csv")}
    # dB values declared as power
    rng = np.random.default_rng(0)
    db = write_geotiff(tmp_path / "db.tif", 10 * np.log10(lake_scene(rng)), GT)
    with pytest.raises(QgsProcessingException, match="look like dB"):
        run(dict(base, ASCENDING=db, UNITS="power"))
    # rasters that do not overlap
    far = write_geotiff(tmp_path / "far.tif", lake_scene(rng), (X0 + 5e5, RES, 0, Y0, 0, -RES), nodata=0)
    with pytest.raises(QgsProcessingException, match="do not overlap"):
        run(dict(base, DESCENDING=far))
    # inventory of points
    from osgeo import ogr

    pts = write_polygons(tmp_path / "pts.gpkg", ["POINT(86.4 27.8)"], geom_type=ogr.wkbPoint)
    with pytest.raises(QgsProcessingException):
        run(dict(base, INVENTORY=pts))
    # empty inventory
    empty = write_polygons(tmp_path / "empty.gpkg", [])
    with pytest.raises(QgsProcessingException, match="no features"):
        run(dict(base, INVENTORY=empty))
    for name in ("o.gpkg", "o.csv"):
        assert not os.path.exists(tmp_path / name), "a failed run must not leave outputs"


def test_invalid_and_outside_lakes_get_statuses(glasar_provider, synthetic, tmp_path):
    a, d, _ = synthetic
    bowtie = utm_to_wgs84_wkt(f"POLYGON(({X0 + 600} {Y0 - 800},{X0 + 1800} {Y0 - 1600},"
                              f"{X0 + 1800} {Y0 - 800},{X0 + 600} {Y0 - 1600},{X0 + 600} {Y0 - 800}))")
    outside = utm_to_wgs84_wkt(rect_wkt(X0 + 9e4, Y0 - 9e4, X0 + 9.1e4, Y0 - 8.9e4))
    inv = write_polygons(tmp_path / "inv2.gpkg", [utm_to_wgs84_wkt(LAKE_UTM), bowtie, outside, None],
                         ids=["good", "bowtie", "outside", "nogeom"])
    res = run({"ASCENDING": a, "DESCENDING": d, "INVENTORY": inv, "LAKE_ID_FIELD": "lake_id",
               "OUTPUT": str(tmp_path / "o.gpkg"), "TABLE": str(tmp_path / "o.csv")})
    rows = {r["lake_id"]: r["status"] for r in read_csv(res["TABLE"])}
    assert rows["good"] == "ok"
    assert rows["bowtie"] == "ok"  # repaired (MakeValid) and mapped
    assert rows["outside"] == "skipped: lake outside both scenes"
    assert rows["nogeom"] == "skipped: empty geometry"


def test_cancel_writes_nothing(glasar_provider, synthetic, tmp_path):
    from qgis.core import QgsApplication

    a, d, inv = synthetic
    alg = QgsApplication.processingRegistry().createAlgorithmById("glasar:maplakes")
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    params = {"ASCENDING": a, "DESCENDING": d, "INVENTORY": inv,
              "OUTPUT": str(tmp_path / "c.gpkg"), "TABLE": str(tmp_path / "c.csv")}
    ok, _ = alg.run(params, QgsProcessingContext(), feedback)
    assert not ok
    assert not os.path.exists(tmp_path / "c.gpkg") and not os.path.exists(tmp_path / "c.csv")


def test_qgis_process_run(qgis_process_env, tsho_rolpa, tmp_path):
    exe, env = qgis_process_env
    out, table = tmp_path / "qp.gpkg", tmp_path / "qp.csv"
    proc = subprocess.run(
        [exe, "--json", "run", "glasar:maplakes", "--",
         f"ASCENDING={tsho_rolpa['asc_2024']}", f"DESCENDING={tsho_rolpa['desc_2024']}",
         f"INVENTORY={tsho_rolpa['inventory']}", "LAKE_ID_FIELD=GLIMS_ID", "METHOD=otsu", "UNITS=power",
         f"OUTPUT={out}", f"TABLE={table}"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert result["results"]["TABLE"] == str(table)
    rows = {r["lake_id"]: r for r in read_csv(table)}
    assert float(rows["GL086863E28114N"]["iou"]) >= 0.87
    # A bad declaration fails with exit code 1 and the message.
    bad = subprocess.run(
        [exe, "run", "glasar:maplakes", "--", f"ASCENDING={tsho_rolpa['asc_2024']}",
         f"DESCENDING={tsho_rolpa['desc_2024']}", f"INVENTORY={tsho_rolpa['inventory']}", "UNITS=db",
         f"OUTPUT={tmp_path / 'bad.gpkg'}"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert bad.returncode == 1 and "look like linear" in (bad.stdout + bad.stderr)


@pytest.mark.parametrize("year", ["2022", "2024"])
def test_folder_of_scenes_with_dates(glasar_provider, tsho_rolpa, tmp_path, year):
    """SCENES + START/END: the pair is chosen per lake from the bundled folder (6 scenes, 3 years)."""
    import os

    res = run({"SCENES": os.path.dirname(tsho_rolpa["asc_2022"]), "START": f"{year}-07-01", "END": f"{year}-07-31",
               "INVENTORY": tsho_rolpa["inventory"], "LAKE_ID_FIELD": "GLIMS_ID", "WORKERS": 2,
               "OUTPUT": str(tmp_path / "f.gpkg"), "TABLE": str(tmp_path / "f.csv")})
    row = {r["lake_id"]: r for r in read_csv(res["TABLE"])}["GL086863E28114N"]
    assert row["status"].startswith("ok") and float(row["iou"]) >= 0.87, row
    # The lake window reaches beyond the clips, so no scene covers it fully: each pass is the
    # per-pixel median of that month's single scene, marked as a synthesis.
    assert row["asc_scene"].startswith("synthesis of ") and f"{year}07" in row["asc_scene"].replace("-", "")
    assert row["asc_time"].startswith(f"{year}-07-2") and row["desc_time"].startswith(f"{year}-07-2")


def test_source_parameters_are_checked(glasar_provider, tsho_rolpa, tmp_path):
    base = {"INVENTORY": tsho_rolpa["inventory"], "OUTPUT": str(tmp_path / "x.gpkg")}
    with pytest.raises(QgsProcessingException, match="ASCENDING and a DESCENDING raster, or a SCENES"):
        run(dict(base, ASCENDING=tsho_rolpa["asc_2022"]))
    with pytest.raises(QgsProcessingException, match="START is required"):
        run(dict(base, SCENES=str(tmp_path)))
    with pytest.raises(QgsProcessingException, match="no raster file"):
        run(dict(base, SCENES=str(tmp_path), START="2022-01-01", END="2022-12-31"))
