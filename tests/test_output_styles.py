"""Every raster and vector output of the step algorithms is styled when QGIS loads it
(processing.runAndLoadResults, what the dialog does), on the bundled simulated pair; a power
raster keeps QGIS's own stretch (the dB style would be wrong for it)."""
import contextlib

import pytest


@pytest.fixture(scope="module")
def sim(sample_dir):
    d = sample_dir / "simulated"
    return {"asc": str(d / "sim_2_ASC.tif"), "desc": str(d / "sim_2_DSC.tif"), "dem": str(d / "dem_30m.tif"),
            "inventory": str(d / "inventory.gpkg")}


@contextlib.contextmanager
def _run_and_load(alg_id, params):
    """Run as the dialog does; yield (results, {layer source path: layer} of the layers it loaded),
    and remove those layers from the project afterwards."""
    from qgis import processing
    from qgis.core import QgsProject

    project = QgsProject.instance()
    before = set(project.mapLayers())
    res = processing.runAndLoadResults(alg_id, params)
    loaded = {project.mapLayer(i).source().split("|")[0]: project.mapLayer(i)
              for i in set(project.mapLayers()) - before}
    try:
        yield res, loaded
    finally:
        for layer in loaded.values():
            project.removeMapLayer(layer.id())


def _is_db_stretch(layer):
    r = layer.renderer()
    ce = r.contrastEnhancement()
    return r.type() == "singlebandgray" and (ce.minimumValue(), ce.maximumValue()) == (-25.0, 0.0)


def test_fused_raster_and_source_are_styled(glasar_provider, sim, tmp_path):
    with _run_and_load("glasar:fuseascdesc", {
        "ASCENDING": sim["asc"], "DESCENDING": sim["desc"], "BANDS": "VV", "NORMALIZATION": "median_offset",
        "OUTPUT": str(tmp_path / "fused.tif"), "SOURCE": str(tmp_path / "source.tif")}) as (res, loaded):
        assert _is_db_stretch(loaded[res["OUTPUT"]])
        source = loaded[res["SOURCE"]].renderer()
        assert source.type() == "paletted"
        assert [c.label for c in source.classes()][1:] == [
            "ascending only", "descending only", "both passes", "both distorted / disagreeing"]
    with _run_and_load("glasar:fuseascdesc", {
        "ASCENDING": sim["asc"], "DESCENDING": sim["desc"], "BANDS": "VV", "NORMALIZATION": "zscore",
        "OUTPUT": str(tmp_path / "z.tif")}) as (res, loaded):
        assert not _is_db_stretch(loaded[res["OUTPUT"]])  # z-scores, not dB


def test_extracted_lakes_are_graduated_by_iou(glasar_provider, sim, tmp_path):
    with _run_and_load("glasar:extractlakes", {
        "INPUT": sim["desc"], "INVENTORY": sim["inventory"], "LAKE_ID_FIELD": "lake_id",
        "OUTPUT": str(tmp_path / "lakes.gpkg")}) as (res, loaded):
        (layer,) = [lyr for path, lyr in loaded.items() if path.endswith("lakes.gpkg")]
        r = layer.renderer()
        assert r.type() == "graduatedSymbol" and r.classAttribute() == "iou"
        assert r.rangeForValue(0.95).label().startswith("excellent")


def test_speckle_and_slope_outputs_in_db_are_styled(glasar_provider, sim, tmp_path):
    with _run_and_load("glasar:specklefilter", {"INPUT": sim["asc"], "FILTER": "boxcar",
                                                         "OUTPUT": str(tmp_path / "f.tif")}) as (res, loaded):
        assert _is_db_stretch(loaded[res["OUTPUT"]])
    with _run_and_load("glasar:slopecorrection", {"INPUT": sim["asc"], "DEM": sim["dem"],
                                                           "OUTPUT": str(tmp_path / "c.tif")}) as (res, loaded):
        assert _is_db_stretch(loaded[res["OUTPUT"]])


def test_speckle_output_in_power_keeps_the_default_stretch(glasar_provider, tsho_rolpa, tmp_path):
    with _run_and_load("glasar:specklefilter", {"INPUT": tsho_rolpa["desc_2022"], "FILTER": "boxcar",
                                                         "OUTPUT": str(tmp_path / "p.tif")}) as (res, loaded):
        assert not _is_db_stretch(loaded[res["OUTPUT"]])
