"""glasar:selectscenes through processing.run, qgis_process and the Graphical Modeler."""
import csv
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from osgeo import gdal

gdal.UseExceptions()


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tsho_dir(tsho_rolpa):
    return os.path.dirname(tsho_rolpa["aoi"])


def _params(tsho_dir, tsho_rolpa, tmp_path, **extra):
    p = {"INPUT": tsho_dir, "AREA": tsho_rolpa["aoi"], "START": "2021-07-01", "END": "2024-08-31",
         "WINDOW": "extent", "MAX_NODATA": 5, "OUTPUT_FOLDER": str(tmp_path / "out"),
         "CATALOG": str(tmp_path / "catalog.csv")}
    p.update(extra)
    return p


def test_processing_run_tsho_rolpa(glasar_provider, tsho_rolpa, tsho_dir, tmp_path):
    from qgis import processing

    res = processing.run("glasar:selectscenes", _params(tsho_dir, tsho_rolpa, tmp_path))
    out = tmp_path / "out"
    assert res["ASCENDING"] == str(out / "0_ASC_20220725T122232.tif")
    assert res["DESCENDING"] == str(out / "0_DSC_synthesis.tif")
    assert sorted(os.listdir(out)) == ["0_ASC_20220725T122232.tif", "0_DSC_synthesis.tif"]  # no staging left
    ds = gdal.Open(res["ASCENDING"])
    md = ds.GetMetadata()
    assert md["PASS"] == "ASCENDING" and md["SYNTHESIS"] == "0" and md["NODATA_COUNT"] == "816"
    assert md["ACQUISITION_TIME"] == "2022-07-25T12:22:32Z" and md["RELATIVE_ORBIT"] == "85"
    assert md["SOURCE"] == "S1A_20220725T122232_ASC_RTC20_gamma0_tshoRolpa"
    assert float(md["HEADING"]) == pytest.approx(-12.65, abs=0.01)
    assert ds.GetRasterBand(1).GetDescription() == "VV"
    # the crop holds the source values (same lattice: an exact copy, nodata 0 -> NaN)
    src = gdal.Open(tsho_rolpa["asc_2022"])
    a = src.GetRasterBand(1).ReadAsArray()
    gt, sgt = ds.GetGeoTransform(), src.GetGeoTransform()
    c0, r0 = int(round((gt[0] - sgt[0]) / 20)), int(round((sgt[3] - gt[3]) / 20))
    got = ds.GetRasterBand(1).ReadAsArray()
    rows, cols = min(got.shape[0], a.shape[0] - r0), min(got.shape[1], a.shape[1] - c0)
    ref = a[r0:r0 + rows, c0:c0 + cols].astype(np.float32)
    ref[ref == 0] = np.nan
    np.testing.assert_array_equal(got[:rows, :cols], ref)
    md = gdal.Open(res["DESCENDING"]).GetMetadata()
    assert md["SYNTHESIS"] == "1" and md["NODATA_COUNT"] == "3125" and len(md["SOURCE"].split(";")) == 3
    rows = _read_csv(res["CATALOG"])
    assert len(rows) == 6
    by_status = sorted((r["status"], r["acquisition_time"][:10]) for r in rows)
    assert by_status == [("chosen", "2022-07-25"), ("in synthesis", "2021-07-21"), ("in synthesis", "2022-07-28"),
                         ("in synthesis", "2024-07-29"), ("not chosen", "2021-07-25"), ("not chosen", "2024-07-26")]
    assert {r["pass_source"] for r in rows} == {"file name"}


def test_catalogue_goes_beside_the_rasters_when_not_given(glasar_provider, tsho_rolpa, tsho_dir, tmp_path,
                                                          monkeypatch):
    """CATALOG left out (a model step that does not expose it): catalog.csv in the output folder, and no
    temporary file anywhere else."""
    from qgis import processing

    monkeypatch.chdir(tmp_path)
    params = _params(tsho_dir, tsho_rolpa, tmp_path)
    del params["CATALOG"]
    res = processing.run("glasar:selectscenes", params)
    out = tmp_path / "out"
    assert res["CATALOG"] == str(out / "catalog.csv")
    assert sorted(os.listdir(out)) == ["0_ASC_20220725T122232.tif", "0_DSC_synthesis.tif", "catalog.csv"]
    rows = _read_csv(res["CATALOG"])
    assert {r["status"] for r in rows} >= {"chosen", "in synthesis"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_per_lake_with_inventory_and_track_filter(glasar_provider, tsho_rolpa, tsho_dir, tmp_path):
    from qgis import processing

    res = processing.run("glasar:selectscenes", _params(
        tsho_dir, tsho_rolpa, tmp_path, AREA=tsho_rolpa["inventory"], AREA_ID_FIELD="GLIMS_ID", WINDOW="lake",
        MAX_NODATA=0, RELATIVE_ORBIT=85))
    names = sorted(os.listdir(tmp_path / "out"))
    # only lakes whose window reaches the clips get rasters; Tsho Rolpa's lake window is larger
    # than the clip (nodata): synthesis of the two track-85 ascending scenes
    assert "GL086863E28114N_ASC_synthesis.tif" in names and "GL086863E28114N_DSC_synthesis.tif" not in names
    md = gdal.Open(str(tmp_path / "out" / "GL086863E28114N_ASC_synthesis.tif")).GetMetadata()
    assert md["RELATIVE_ORBIT"] == "85" and len(md["SOURCE"].split(";")) == 2
    rows = _read_csv(res["CATALOG"])
    n_lakes = len({r["area_id"] for r in rows})
    assert n_lakes == 83 and len(rows) == 6 * 83  # repeated GLIMS_IDs are made unique with the feature id
    tr = [r for r in rows if r["area_id"] == "GL086863E28114N"]
    reasons = {r["acquisition_time"][:10]: r["reason"] for r in tr}
    assert reasons["2021-07-25"] == "relative orbit 12, not 85"
    assert reasons["2022-07-28"] == "relative orbit 121, not 85"
    far = [r for r in rows if r["area_id"] != "GL086863E28114N" and r["reason"] == "does not reach the window"]
    assert far  # lakes outside the clips


def test_bad_inputs_give_clear_messages(glasar_provider, tsho_rolpa, tsho_dir, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(QgsProcessingException, match="no raster file"):
        processing.run("glasar:selectscenes", _params(str(empty), tsho_rolpa, tmp_path))
    with pytest.raises(QgsProcessingException, match="No usable scene between 2019-01-01 and 2019-12-31"):
        processing.run("glasar:selectscenes", _params(tsho_dir, tsho_rolpa, tmp_path, START="2019-01-01",
                                                      END="2019-12-31"))
    with pytest.raises(QgsProcessingException, match="before START"):
        processing.run("glasar:selectscenes", _params(tsho_dir, tsho_rolpa, tmp_path, START="2024-01-01",
                                                      END="2023-01-01"))
    # an unreadable file and a scene without pass among good ones: reported, the rest is used
    mixed = tmp_path / "mixed"
    shutil.copytree(tsho_dir, mixed)
    (mixed / "broken_VV.tif").write_bytes(b"\x00garbage")
    src = gdal.Open(tsho_rolpa["asc_2022"])
    gdal.Translate(str(mixed / "nopass_VV.tif"), src)  # no time, no pass anywhere
    res = processing.run("glasar:selectscenes", _params(str(mixed), tsho_rolpa, tmp_path / "m"))
    assert os.path.basename(res["ASCENDING"]) == "0_ASC_20220725T122232.tif"
    rows = {r["scene_id"]: r for r in _read_csv(res["CATALOG"])}
    assert rows["broken"]["status"] == "excluded" and "cannot" in rows["broken"]["reason"]
    assert "no pass information" in rows["nopass"]["reason"]


def test_qgis_process(qgis_process_env, tsho_rolpa, tsho_dir, tmp_path):
    exe, env = qgis_process_env
    out = subprocess.run(
        [exe, "--json", "run", "glasar:selectscenes", "--", f"INPUT={tsho_dir}", f"AREA={tsho_rolpa['aoi']}",
         "START=2021-07-01", "END=2024-08-31", "WINDOW=extent", "MAX_NODATA=5", "PLATFORM=S1A",
         f"OUTPUT_FOLDER={tmp_path / 'qp'}", f"CATALOG={tmp_path / 'qp.csv'}"],
        env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads(out.stdout)["results"]
    assert os.path.basename(result["ASCENDING"]) == "0_ASC_20220725T122232.tif"
    assert os.path.exists(result["DESCENDING"]) and len(_read_csv(tmp_path / "qp.csv")) == 6


def _model(child_id, child_params, child_output="OUTPUT"):
    """selectscenes -> <child_id> model whose child reads the ASCENDING (and DESCENDING) output."""
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource as Src,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterFile,
        QgsProcessingParameterVectorLayer,
    )

    model = QgsProcessingModelAlgorithm("select_then_" + child_id.split(":")[1], "tests")
    folder = QgsProcessingParameterFile("scenes", "scenes", behavior=QgsProcessingParameterFile.Behavior.Folder)
    model.addModelParameter(folder, QgsProcessingModelParameter("scenes"))
    model.addModelParameter(QgsProcessingParameterVectorLayer("area", "area"), QgsProcessingModelParameter("area"))
    sel = QgsProcessingModelChildAlgorithm("glasar:selectscenes")
    sel.setChildId("select")
    sel.addParameterSources("INPUT", [Src.fromModelParameter("scenes")])
    sel.addParameterSources("AREA", [Src.fromModelParameter("area")])
    for k, v in {"START": "2021-07-01", "END": "2024-08-31", "WINDOW": "extent", "MAX_NODATA": 5}.items():
        sel.addParameterSources(k, [Src.fromStaticValue(v)])
    model.addChildAlgorithm(sel)
    nxt = QgsProcessingModelChildAlgorithm(child_id)
    nxt.setChildId("next")
    for key, output in child_params.items():
        nxt.addParameterSources(key, [Src.fromChildOutput("select", output)])
    out = QgsProcessingModelOutput("result", "result")
    out.setChildId("next")
    out.setChildOutputName(child_output)
    nxt.setModelOutputs({"result": out})
    model.addChildAlgorithm(nxt)
    return model


def _run_model(model, tsho_dir, tsho_rolpa, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    params = {"scenes": tsho_dir, "area": tsho_rolpa["aoi"], "next:result": str(tmp_path / "result.tif")}
    ok, errors = model.checkParameterValues(params, QgsProcessingContext())
    assert ok, errors
    return processing.run(model, params, feedback=QgsProcessingFeedback())


def test_model_selectscenes_then_specklefilter(glasar_provider, tsho_rolpa, tsho_dir, tmp_path):
    """The model's filtered raster is exactly specklefilter run by hand on selectscenes' ascending crop."""
    from qgis import processing

    crop = processing.run("glasar:selectscenes", _params(tsho_dir, tsho_rolpa, tmp_path / "byhand"))["ASCENDING"]
    by_hand = processing.run("glasar:specklefilter", {"INPUT": crop, "OUTPUT": str(tmp_path / "byhand.tif")})["OUTPUT"]
    expected, raw = gdal.Open(by_hand).ReadAsArray(), gdal.Open(crop).ReadAsArray()
    res = _run_model(_model("glasar:specklefilter", {"INPUT": "ASCENDING"}, "OUTPUT"), tsho_dir, tsho_rolpa,
                     tmp_path)
    ds = gdal.Open(res["next:result"])
    assert ds.RasterXSize == 145 and ds.RasterYSize == 136  # the selected window's grid
    model_out = ds.ReadAsArray()
    np.testing.assert_array_equal(model_out, expected)
    valid = np.isfinite(raw) & np.isfinite(model_out)
    assert valid.mean() > 0.8 and not np.allclose(model_out[valid], raw[valid])  # filtered, not copied


def test_model_selectscenes_then_fuse(glasar_provider, tsho_rolpa, tsho_dir, tmp_path):
    res = _run_model(_model("glasar:fuseascdesc", {"ASCENDING": "ASCENDING", "DESCENDING": "DESCENDING"}),
                     tsho_dir, tsho_rolpa, tmp_path)
    ds = gdal.Open(res["next:result"])
    assert (ds.RasterXSize, ds.RasterYSize) == (145, 136)
    assert np.isfinite(ds.GetRasterBand(1).ReadAsArray()).mean() > 0.8


def test_cancel_writes_nothing(glasar_provider, tsho_rolpa, tsho_dir, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    feedback.cancel()
    with pytest.raises(QgsProcessingException, match="[Cc]ancel"):
        processing.run("glasar:selectscenes", _params(tsho_dir, tsho_rolpa, tmp_path), feedback=feedback)
    out = tmp_path / "out"
    assert not out.exists() or os.listdir(out) == []
    assert not (tmp_path / "catalog.csv").exists()
