"""The shipped Modeler model glasar:maplakeschain (ui/models/maplakeschain.model3): registered by the
provider, a valid chain of GLaSAR steps, and on the bundled simulated scene with its DEM (where the
terrain steps matter: the ascending pass lays the valley wall over lake 1) it maps the same lakes
as glasar:maplakes with the equivalent options, through processing.run and qgis_process."""
import csv
import json
import subprocess

import pytest
from osgeo import ogr

MODEL_ID = "glasar:maplakeschain"
CHAIN = ["area", "select", "speckle_asc", "speckle_desc", "slope_asc", "slope_desc", "mask_asc", "mask_desc",
         "fuse", "extract"]
# Equivalent options of the two runs (the model's defaults).
OPTIONS = {"SPECKLE_FILTER": "refined_lee", "SLOPE_MODEL": "volume", "METHOD": "otsu"}


@pytest.fixture(scope="module")
def sim(sample_dir):
    d = sample_dir / "simulated"
    return {"folder": str(d), "inventory": str(d / "inventory.gpkg"), "dem": str(d / "dem_30m.tif"),
            "asc": str(d / "sim_2_ASC.tif"), "desc": str(d / "sim_2_DSC.tif"),
            "truth_asc": str(d / "layover_shadow_asc.tif"), "truth_lakes": str(d / "lakes_truth.gpkg")}


def _model():
    from qgis.core import QgsApplication

    return QgsApplication.processingRegistry().algorithmById(MODEL_ID)


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["lake_id"]: r for r in csv.DictReader(fh)}


def _polygons(path):
    ds = ogr.Open(str(path))
    layer = ds.GetLayer(0)
    out = {}
    for feat in layer:
        geom = feat.GetGeometryRef()
        if geom is not None and not geom.IsEmpty():
            out[str(feat.GetField("lake_id"))] = geom.Clone()
    return out


def _iou(a, b):
    return a.Intersection(b).GetArea() / a.Union(b).GetArea()


def _model_params(sim, tmp_path, prefix="m"):
    return {"SCENES": sim["folder"], "INVENTORY": sim["inventory"], "LAKE_ID_FIELD": "lake_id", "DEM": sim["dem"],
            "START": "2023-07-01", "END": "2023-08-31", **OPTIONS,
            "extract:LAKES": str(tmp_path / f"{prefix}_lakes.gpkg"), "extract:TABLE": str(tmp_path / f"{prefix}.csv"),
            "fuse:FUSED": str(tmp_path / f"{prefix}_fused.tif"), "fuse:SOURCE": str(tmp_path / f"{prefix}_source.tif"),
            "mask_asc:MASK_ASC": str(tmp_path / f"{prefix}_mask_asc.tif"),
            "mask_desc:MASK_DESC": str(tmp_path / f"{prefix}_mask_desc.tif"),
            "select:CATALOG": str(tmp_path / f"{prefix}_catalog.csv")}


# ------------------------------------------------------------------------------------------
def test_model_is_registered_with_help_and_icon(glasar_provider):
    from qgis.core import QgsProcessingParameterEnum

    alg = _model()
    assert alg is not None, "the provider did not load ui/models/maplakeschain.model3"
    assert alg.provider().id() == "glasar" and alg.id() == MODEL_ID
    assert alg.displayName() == "Map glacial lakes step by step (model)"
    assert alg.groupId() == "models" and alg.group() == "Models"
    assert not alg.icon().isNull() and alg.svgIconPath().endswith("glasar.svg")
    help_text = alg.shortHelpString()
    assert "glasar:selectscenes" in help_text and "Wu et al. (2025)" in help_text
    assert alg.shortDescription()
    inputs = {p.name(): p for p in alg.parameterDefinitions() if not p.isDestination()}
    assert set(inputs) == {"SCENES", "INVENTORY", "LAKE_ID_FIELD", "DEM", "START", "END", "SPECKLE_FILTER",
                           "SLOPE_MODEL", "METHOD"}
    for p in inputs.values():
        assert p.help(), p.name()
        if isinstance(p, QgsProcessingParameterEnum):
            assert p.usesStaticStrings(), p.name()
    assert inputs["SPECKLE_FILTER"].defaultValue() == "refined_lee"
    assert inputs["METHOD"].defaultValue() == "otsu" and "kmeans" in inputs["METHOD"].options()
    # Only the mapped lakes must be named; the other outputs default to temporary files.
    outputs = {p.name(): p for p in alg.destinationParameterDefinitions()}
    assert set(outputs) == {"extract:LAKES", "extract:TABLE", "fuse:FUSED", "fuse:SOURCE", "mask_asc:MASK_ASC",
                            "mask_desc:MASK_DESC", "select:CATALOG"}
    for name, p in outputs.items():
        assert bool(p.flags() & p.FlagOptional) == (name != "extract:LAKES"), name
    # A new instance (what dialogs and qgis_process run) is the same model.
    copy = alg.create({})
    assert copy.id() == MODEL_ID and len(copy.parameterDefinitions()) == len(alg.parameterDefinitions())


def test_model_chain_uses_existing_parameters(glasar_provider):
    """Every step resolves to a registered algorithm and only sets parameters it has, and the
    steps depend on each other in the documented order (a renamed key would break the model)."""
    alg = _model()
    ok, issues = alg.validate()  # QGIS's own check: required inputs linked, children found
    assert ok, issues
    children = alg.childAlgorithms()
    assert sorted(children) == sorted(CHAIN)
    assert {c: children[c].algorithmId() for c in ("select", "speckle_asc", "slope_asc", "mask_asc", "fuse",
                                                   "extract")} == {
        "select": "glasar:selectscenes", "speckle_asc": "glasar:specklefilter", "slope_asc": "glasar:slopecorrection",
        "mask_asc": "glasar:layovershadow", "fuse": "glasar:fuseascdesc", "extract": "glasar:extractlakes"}
    for child_id, child in children.items():
        child_alg = child.algorithm()
        assert child_alg is not None, child_id
        keys = {p.name() for p in child_alg.parameterDefinitions()}
        assert set(child.parameterSources()) <= keys, (child_id, set(child.parameterSources()) - keys)
    deps = {c: set(alg.dependsOnChildAlgorithms(c)) for c in CHAIN}
    assert deps["extract"] == set(CHAIN) - {"extract"}
    assert deps["fuse"] == set(CHAIN) - {"extract", "fuse"}
    assert deps["mask_asc"] == {"area", "select", "speckle_asc", "slope_asc"}
    assert deps["mask_desc"] == {"area", "select", "speckle_desc", "slope_desc"}
    assert deps["select"] == {"area"}


def test_model_matches_maplakes_on_the_simulated_scene(glasar_provider, sim, tmp_path):
    """processing.run of the model vs glasar:maplakes with the DEM and the same speckle filter,
    slope model and method: same lakes mapped, same statuses, IoUs within 0.01, outlines that
    overlap by more than 95 %."""
    from qgis import processing

    res = processing.run(MODEL_ID, _model_params(sim, tmp_path))
    mapped = processing.run("glasar:maplakes", {
        "ASCENDING": sim["asc"], "DESCENDING": sim["desc"], "DEM": sim["dem"], "INVENTORY": sim["inventory"],
        "LAKE_ID_FIELD": "lake_id", "WORKERS": 1, **OPTIONS,
        "VH_ROUGH_WATER": False,  # the model fuses and extracts VV alone
        "OUTPUT": str(tmp_path / "ml.gpkg"), "TABLE": str(tmp_path / "ml.csv")})
    model_rows, ref_rows = _rows(res["extract:TABLE"]), _rows(mapped["TABLE"])
    assert sorted(model_rows) == sorted(ref_rows) == ["1", "2", "3", "902"]
    # IoU floors: a little under what the chain gave when the model was added (0.658, 0.278, 0.623;
    # the inventory outlines are perturbed "historical" ones and a third of each true lake is
    # wind-roughened, so they are modest; 902 is not a lake at all). Better extraction may raise
    # them; the model-vs-maplakes checks below are the tight ones.
    floors = {"1": 0.62, "2": 0.25, "3": 0.59}
    for lake_id, floor in floors.items():
        m, r = model_rows[lake_id], ref_rows[lake_id]
        assert m["status"] == "ok" and r["status"].startswith("ok"), (lake_id, m["status"], r["status"])
        assert float(m["iou"]) >= floor, (lake_id, m["iou"])
        # 0.02: the chains' window thresholds differ by up to 0.6 dB, and the lake's own split
        # (extraction.split_lake_region, lake 2 beside wet snow) follows them: 0.470 vs 0.460.
        assert float(m["iou"]) == pytest.approx(float(r["iou"]), abs=0.02), lake_id
        assert float(m["area_ref_km2"]) == pytest.approx(float(r["area_ref_km2"]), abs=1e-6)
    for row in (model_rows["902"], ref_rows["902"]):
        assert row["status"].startswith("no water found"), row["status"]
    model_polys, ref_polys = _polygons(res["extract:LAKES"]), _polygons(mapped["OUTPUT"])
    assert sorted(model_polys) == sorted(ref_polys) == ["1", "2", "3"]
    for lake_id in floors:
        assert _iou(model_polys[lake_id], ref_polys[lake_id]) > 0.95, lake_id  # 0.97-0.998
    # The terrain steps ran: the ascending mask is the simulator's true layover (lake 1 lies in it).
    mask, truth, lake1 = _mask_vs_truth(res["mask_asc:MASK_ASC"], sim["truth_asc"], sim["truth_lakes"], 1)
    layover, true_layover = (mask & 3) > 0, (truth & 3) > 0
    assert layover.sum() > 3000 and (layover & true_layover).sum() / layover.sum() > 0.99  # precision 0.9998
    assert (layover & true_layover).sum() / true_layover.sum() > 0.85  # recall 0.878: ridges outside the window
    assert lake1.sum() == 401 and layover[lake1].mean() > 0.95  # 0.983 (truth: 1.0)


def _mask_vs_truth(mask_path, truth_path, lakes_path, lake_id):
    """The model's mask, the true mask cropped to its grid (same 10 m lattice) and a lake's
    true footprint rasterised on it."""
    from osgeo import gdal

    m, t = gdal.Open(mask_path), gdal.Open(truth_path)
    gm, gt = m.GetGeoTransform(), t.GetGeoTransform()
    assert gm[1] == gt[1] == 10.0
    c0, r0 = int(round((gm[0] - gt[0]) / gm[1])), int(round((gt[3] - gm[3]) / gm[1]))
    mask = m.ReadAsArray()
    truth = t.ReadAsArray()[r0:r0 + mask.shape[0], c0:c0 + mask.shape[1]]
    assert truth.shape == mask.shape and (mask != 255).all()
    mem = gdal.GetDriverByName("MEM").Create("", mask.shape[1], mask.shape[0], 1, gdal.GDT_Byte)
    mem.SetGeoTransform(gm)
    mem.SetProjection(m.GetProjection())
    lakes = ogr.Open(lakes_path)
    layer = lakes.GetLayer(0)
    layer.SetAttributeFilter(f"lake_id = {int(lake_id)}")
    gdal.RasterizeLayer(mem, [1], layer, burn_values=[1])
    return mask, truth, mem.ReadAsArray() > 0


def test_model_outputs_load_styled(glasar_provider, sim, tmp_path):
    """Run as the dialog does (every output loaded): the steps' styles reach the model's layers."""
    from qgis import processing
    from qgis.core import QgsProject

    project = QgsProject.instance()
    before = set(project.mapLayers())
    params = _model_params(sim, tmp_path, prefix="styled")
    for key in ("fuse:FUSED", "fuse:SOURCE", "mask_asc:MASK_ASC", "mask_desc:MASK_DESC"):
        params[key] = "TEMPORARY_OUTPUT"
    processing.runAndLoadResults(MODEL_ID, params)
    loaded = {project.mapLayer(i).name(): project.mapLayer(i) for i in set(project.mapLayers()) - before}
    try:
        assert {"LAKES", "FUSED", "SOURCE", "MASK_ASC", "MASK_DESC"} <= set(loaded)
        lakes = loaded["LAKES"].renderer()
        assert lakes.type() == "graduatedSymbol" and lakes.classAttribute() == "iou"
        fused = loaded["FUSED"].renderer().contrastEnhancement()
        assert (fused.minimumValue(), fused.maximumValue()) == (-25.0, 0.0)
        assert [c.label for c in loaded["SOURCE"].renderer().classes()][1] == "ascending only"
        for key in ("MASK_ASC", "MASK_DESC"):
            assert [c.label for c in loaded[key].renderer().classes()][1] == "1 active layover"
    finally:
        for layer in loaded.values():
            project.removeMapLayer(layer.id())


def test_every_algorithm_draws_its_group_icon(glasar_provider):
    """Toolbox (icon) and Modeler (svgIconPath) show the same ui/icons file for each algorithm."""
    import os

    for alg in glasar_provider.algorithms():
        path = alg.svgIconPath()
        assert os.path.isfile(path) and os.path.dirname(path).endswith(os.path.join("ui", "icons")), alg.id()
        assert not alg.icon().isNull(), alg.id()
    icons = {a.groupId(): os.path.basename(a.svgIconPath()) for a in glasar_provider.algorithms()}
    assert icons["terrain"] == "terrain.svg" and icons["fusion"] == "fusion.svg" and icons["models"] == "glasar.svg"


def test_every_algorithm_has_help_a_reference_and_parameter_help(glasar_provider):
    """Issue 9's help rule across the provider: a short help naming a paper, a short description,
    help on every parameter, upper-case keys (model outputs are child:KEY)."""
    import re

    for alg in glasar_provider.algorithms():
        text = alg.shortHelpString()
        assert len(text) > 300 and alg.shortDescription(), alg.id()
        assert re.search(r"[A-Z][a-z]+(?: et al\.)? \(?(19|20)\d\d\)?", text), f"{alg.id()} cites no paper"
        for p in alg.parameterDefinitions():
            assert p.help(), f"{alg.id()} {p.name()} has no help"
            assert p.name().split(":")[-1] == p.name().split(":")[-1].upper(), (alg.id(), p.name())


def test_model_runs_through_qgis_process(glasar_provider, qgis_process_env, sim, tmp_path):
    """`qgis_process run glasar:maplakeschain` with only the inputs and LAKES/TABLE named gives the
    table processing.run gives."""
    from qgis import processing

    exe, env = qgis_process_env
    args = [exe, "--json", "run", MODEL_ID, "--", f"SCENES={sim['folder']}", f"INVENTORY={sim['inventory']}",
            "LAKE_ID_FIELD=lake_id", f"DEM={sim['dem']}", "START=2023-07-01", "END=2023-08-31",
            f"extract:LAKES={tmp_path / 'qp.gpkg'}", f"extract:TABLE={tmp_path / 'qp.csv'}"]
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = json.loads(out.stdout[out.stdout.index("{"):])["results"]
    assert results["extract:TABLE"] == str(tmp_path / "qp.csv")
    for key in ("fuse:FUSED", "mask_asc:MASK_ASC", "mask_desc:MASK_DESC"):  # temporary files, not named
        assert results[key].endswith(".tif") and str(tmp_path) not in results[key], key
    ref = processing.run(MODEL_ID, _model_params(sim, tmp_path, prefix="ref"))
    got, want = _rows(tmp_path / "qp.csv"), _rows(ref["extract:TABLE"])
    assert sorted(got) == sorted(want)
    for lake_id in want:
        assert (got[lake_id]["status"], got[lake_id]["iou"]) == (want[lake_id]["status"], want[lake_id]["iou"])


def test_model_file_is_what_make_model_writes(glasar_provider, tmp_path):
    """scripts/make_model.py rebuilds the shipped file: same steps, parameters and outputs."""
    import importlib.util

    from glasar.processing_provider.provider import model_paths

    assert [p.rsplit("/", 1)[-1] for p in model_paths()] == ["maplakeschain.model3"]
    spec = importlib.util.spec_from_file_location("make_model", str(_repo() / "scripts" / "make_model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build_model()
    shipped = _model()
    assert built.toVariant()["children"].keys() == shipped.toVariant()["children"].keys()
    for child_id, child in built.childAlgorithms().items():
        other = shipped.childAlgorithms()[child_id]
        assert child.algorithmId() == other.algorithmId()
        assert {k: [s.toVariant() for s in v] for k, v in child.parameterSources().items()} == \
            {k: [s.toVariant() for s in v] for k, v in other.parameterSources().items()}, child_id
    assert built.helpContent() == shipped.helpContent()


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]
