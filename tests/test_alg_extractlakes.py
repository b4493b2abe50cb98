"""glasar:extractlakes, and the chain fuseascdesc -> extractlakes against maplakes."""
import csv
import subprocess

import pytest
from qgis.core import QgsProcessingException

from rasters import many_lakes_scene, write_geotiff


def run(alg, params):
    from qgis import processing

    return processing.run(alg, params)


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_fused_chain_reproduces_maplakes_on_tsho_rolpa(glasar_provider, tsho_rolpa, tmp_path):
    """fuseascdesc (median offset, brightening rule as maplakes, no speckle filter) then
    extractlakes gives maplakes' result for Tsho Rolpa."""
    fused = run("glasar:fuseascdesc", {
        "ASCENDING": tsho_rolpa["asc_2022"], "DESCENDING": tsho_rolpa["desc_2022"],
        "NORMALIZATION": "median_offset", "COMBINE": "mean", "BRIGHTENING_TOLERANCE": 6.0,
        "OUTPUT": str(tmp_path / "fused.tif"), "SOURCE": str(tmp_path / "source.tif")})
    ext = run("glasar:extractlakes", {
        "INPUT": fused["OUTPUT"], "INVENTORY": tsho_rolpa["inventory"], "LAKE_ID_FIELD": "GLIMS_ID",
        "METHOD": "otsu", "OUTPUT": str(tmp_path / "ext.gpkg"), "TABLE": str(tmp_path / "ext.csv")})
    mapped = run("glasar:maplakes", {
        "ASCENDING": tsho_rolpa["asc_2022"], "DESCENDING": tsho_rolpa["desc_2022"],
        "INVENTORY": tsho_rolpa["inventory"], "LAKE_ID_FIELD": "GLIMS_ID", "SPECKLE_FILTER": "none",
        "WORKERS": 1, "OUTPUT": str(tmp_path / "map.gpkg"), "TABLE": str(tmp_path / "map.csv")})
    e = {r["lake_id"]: r for r in rows(ext["TABLE"])}["GL086863E28114N"]
    m = {r["lake_id"]: r for r in rows(mapped["TABLE"])}["GL086863E28114N"]
    assert e["status"] == "ok" and float(e["iou"]) >= 0.87
    # The window of the fused raster is the clip itself (the lake window extends beyond it):
    # both read the same pixels, so the outlines agree closely.
    assert float(e["iou"]) == pytest.approx(float(m["iou"]), abs=0.01)
    assert len(rows(ext["TABLE"])) == 83


def test_extract_every_lake_of_a_synthetic_scene(glasar_provider, tmp_path):
    asc, _, inv, n = many_lakes_scene(tmp_path, n_side=3)
    for method in ("otsu", "kmeans"):
        res = run("glasar:extractlakes", {"INPUT": asc, "INVENTORY": inv, "LAKE_ID_FIELD": "lake_id",
                                          "METHOD": method, "OUTPUT": str(tmp_path / f"{method}.gpkg"),
                                          "TABLE": str(tmp_path / f"{method}.csv")})
        table = rows(res["TABLE"])
        assert len(table) == n and all(r["status"] == "ok" for r in table)
        assert min(float(r["iou"]) for r in table) > 0.75


def test_bad_band_and_qgis_process(glasar_provider, qgis_process_env, tsho_rolpa, tmp_path):
    with pytest.raises(QgsProcessingException, match="no band 'VH'"):
        run("glasar:extractlakes", {"INPUT": tsho_rolpa["desc_2022"], "INVENTORY": tsho_rolpa["inventory"],
                                    "BANDS": "VH", "OUTPUT": str(tmp_path / "x.gpkg")})
    exe, env = qgis_process_env
    proc = subprocess.run([exe, "run", "glasar:extractlakes", "--", f"INPUT={tsho_rolpa['desc_2024']}",
                           f"INVENTORY={tsho_rolpa['inventory']}", "LAKE_ID_FIELD=GLIMS_ID", "METHOD=kmeans",
                           f"OUTPUT={tmp_path / 'q.gpkg'}", f"TABLE={tmp_path / 'q.csv'}"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    r = {x["lake_id"]: x for x in rows(tmp_path / "q.csv")}["GL086863E28114N"]
    assert float(r["iou"]) > 0.8  # descending pass alone
