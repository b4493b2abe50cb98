"""HTML report (ui/report.py): summary numbers worked by hand, exact pixel values of the dB stretch,
a self-contained file on the real Tsho Rolpa run, atomic writing, and the REPORT output of
glasar:maplakes."""
import base64
import io
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from glasar.algorithms import pipeline
from glasar.algorithms.grid import Grid
from glasar.ui import report

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fields(lake_id, status, iou=None, **extra):
    f = {"lake_id": lake_id, "status": status, "iou": iou, "method": "otsu", "band": "VV"}
    f.update(extra)
    return f


# -- summary numbers -----------------------------------------------------------------------------
def test_summarize_hand_worked():
    fields = [
        _fields("a", "ok", 0.2, precision=0.5, recall=0.3, f1=0.375, area_pred_km2=0.1, area_ref_km2=0.2,
                distorted_asc=0.1, distorted_desc=0.0, distorted_fused=0.0),
        _fields("b", "ok", 0.5, precision=0.7, recall=0.6, f1=0.6, area_pred_km2=0.5, area_ref_km2=0.4,
                distorted_asc=0.3, distorted_desc=0.2, distorted_fused=0.05),
        _fields("c", "ok: ascending pass dropped (lake not dark in it, contrast 0.4 dB)", 0.9, precision=0.95,
                recall=0.9, f1=0.92, area_pred_km2=1.0, area_ref_km2=1.1, distorted_asc=0.9, distorted_desc=0.1,
                distorted_fused=0.1),
        _fields("d", "ok", 1.0, precision=1.0, recall=1.0, f1=1.0, area_pred_km2=2.0, area_ref_km2=2.0),
        _fields("e", "no water found: threshold -3.0 dB outside [-30, -8] dB", distorted_asc=0.5),
        _fields("f", "skipped: lake outside both scenes"),
        _fields("g", "skipped: lake outside both scenes"),
        _fields("h", "skipped: lake smaller than the minimum area (0.01 km2)"),
    ]
    s = report.summarize(fields)
    assert (s["n_lakes"], s["n_mapped"], s["n_no_water"], s["n_skipped"]) == (8, 4, 1, 3)
    iou = s["iou"]
    assert iou["n"] == 4
    assert iou["median"] == pytest.approx(0.7)  # (0.5 + 0.9) / 2
    assert iou["mean"] == pytest.approx(0.65)  # 2.6 / 4
    assert (iou["min"], iou["max"]) == (0.2, 1.0)
    assert iou["q25"] == pytest.approx(0.425)  # 0.2 + 0.75 * (0.5 - 0.2), linear interpolation
    assert iou["q75"] == pytest.approx(0.925)  # 0.9 + 0.25 * (1.0 - 0.9)
    # 0.2 -> [0.2, 0.3), 0.5 -> [0.5, 0.6), 0.9 and 1.0 -> [0.9, 1.0] (the last bin is closed)
    assert s["iou_hist"] == [0, 0, 1, 0, 0, 1, 0, 0, 0, 2]
    assert s["precision_median"] == pytest.approx(0.825)
    assert s["recall_median"] == pytest.approx(0.75)
    assert s["f1_median"] == pytest.approx(0.76)
    assert s["area_pred_km2"] == pytest.approx(3.6)
    assert s["area_ref_km2"] == pytest.approx(3.7)
    # distortion over every lake with a value (the no-water lake too): asc 0.1, 0.3, 0.9, 0.5
    d = s["distortion"]
    assert d["distorted_asc"]["n"] == 4 and d["distorted_asc"]["median"] == pytest.approx(0.4)
    assert (d["distorted_asc"]["min"], d["distorted_asc"]["max"]) == (0.1, 0.9)
    assert d["distorted_fused"]["median"] == pytest.approx(0.05)
    assert s["reasons"] == [
        ("skipped: lake outside both scenes", 2, ["f", "g"]),
        ("no water found: threshold -3.0 dB outside [-30, -8] dB", 1, ["e"]),
        ("skipped: lake smaller than the minimum area (0.01 km2)", 1, ["h"]),
    ]


def test_summarize_without_mapped_lakes_or_distortion_fields():
    s = report.summarize([{"lake_id": "x", "status": "skipped: lake outside both scenes"}])
    assert s["iou"] is None and s["iou_hist"] == [0] * 10
    assert s["distortion"] == {} and s["area_pred_km2"] is None
    html = report.ReportBuilder(run_info={"method": "otsu"}).html()
    assert "No lake was mapped" in html and "Distortion fractions" not in html


def test_is_mapped():
    assert report.is_mapped("ok") and report.is_mapped("ok: descending pass dropped (contrast 1.0 dB)")
    assert not report.is_mapped("no water found: x") and not report.is_mapped("skipped: ok-ish")
    assert not report.is_mapped(None)


# -- figures: exact pixel values -------------------------------------------------------------------
def _rgba(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)


def _pixel(img, fig, ax, fx, fy):
    """RGB at the fraction (fx, fy) of ax's data area (fy from the top)."""
    bb = ax.get_window_extent()
    x = int(round(bb.x0 + fx * bb.width))
    y = int(round(fig.bbox.height - (bb.y1 - fy * bb.height)))
    return img[y, x]


def test_db_panel_stretch_is_minus25_to_0_gray_and_nodata_pink():
    """Four quadrants: -20 dB -> gray 255*(5/25) = 51, -5 dB -> 204, -30 dB clipped to black, NaN -> pink."""
    a = np.full((40, 40), -20.0, dtype=np.float32)
    a[:20, 20:] = -5.0
    a[20:, :20] = -30.0
    a[20:, 20:] = np.nan
    fig = report.lake_figure({"asc_db": a, "grid": Grid("", 0.0, 0.0, 20.0, 40, 40)}, {})
    assert [ax.get_title() for ax in fig.axes] == ["Ascending (dB)"]
    img, ax = _rgba(fig), fig.axes[0]
    assert np.abs(_pixel(img, fig, ax, 0.25, 0.25) - 51).max() <= 1
    assert np.abs(_pixel(img, fig, ax, 0.75, 0.25) - 204).max() <= 1
    assert np.abs(_pixel(img, fig, ax, 0.25, 0.75) - 0).max() <= 1
    pink = np.array([int(report.NODATA_COLOR[i:i + 2], 16) for i in (1, 3, 5)])
    assert np.abs(_pixel(img, fig, ax, 0.75, 0.75) - pink).max() <= 1
    # the axes are in km: 40 px of 20 m = 0.8 km
    assert ax.get_xlim() == pytest.approx((0.0, 0.8))


def test_full_panel_set_and_threshold_line():
    rng = np.random.default_rng(0)
    fused = np.where(np.arange(60)[None, :] < 30, -20.0, -6.0) + rng.normal(0, 1, (60, 60))
    lake = np.zeros((60, 60), bool)
    lake[10:50, 5:28] = True
    arrays = {"grid": Grid("", 0.0, 0.0, 10.0, 60, 60), "asc_db": fused, "desc_db": fused, "fused_db": fused,
              "source": np.full((60, 60), 3, np.uint8), "mapped": lake.copy(), "lake_mask": lake,
              "ls_asc": np.zeros((60, 60), np.uint8), "ls_desc": np.full((60, 60), 4, np.uint8)}
    fig = report.lake_figure(arrays, {"threshold_db": -13.0, "method": "kmeans"})
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["Ascending (dB)", "Descending (dB)", "Fused (dB)", "Mapped vs inventory", "Fusion source",
                      "Layover/shadow asc", "Layover/shadow desc", "Histogram (fused)"]
    hist = [ax for ax in fig.axes if ax.get_title() == "Histogram (fused)"][0]
    lines = [ln for ln in hist.get_lines() if ln.get_label().startswith("cluster split")]
    assert len(lines) == 1 and lines[0].get_xdata()[0] == pytest.approx(-13.0)
    # the histogram's bars hold every finite fused pixel once
    bars = sum(p.get_height() for p in hist.patches if p.get_label() != "inventory lake" and p.get_width() < 1)
    assert bars == 3600
    # the shadow class (bit 4 -> severity 3) is drawn in the shadow colour
    img = _rgba(fig)
    ls_desc = [ax for ax in fig.axes if ax.get_title() == "Layover/shadow desc"][0]
    shadow = np.array([int(report.SEVERITY_CLASSES[3][1][i:i + 2], 16) for i in (1, 3, 5)])
    assert np.abs(_pixel(img, fig, ls_desc, 0.5, 0.5) - shadow).max() <= 1
    # outline panel zooms on the lake: rows 10..50 and columns 5..28 grown by 25 % of 40 px
    outline = [ax for ax in fig.axes if ax.get_title() == "Mapped vs inventory"][0]
    (r0, r1), (c0, c1) = report._zoom_box(arrays, (60, 60))
    assert (r0, r1, c0, c1) == (0, 60, 0, 47)
    assert outline.get_xlim() == pytest.approx((0.0, 0.47))


# -- the whole report on real data ------------------------------------------------------------------
@pytest.fixture(scope="module")
def tsho_results(tsho_rolpa):
    from osgeo import ogr

    asc = pipeline.prepare_scene(tsho_rolpa["asc_2022"])
    desc = pipeline.prepare_scene(tsho_rolpa["desc_2022"])
    footprints = pipeline.check_overlap(asc, desc)
    ds = ogr.Open(tsho_rolpa["inventory"])
    results = []
    for feat in ds.GetLayer(0):
        geom = feat.GetGeometryRef().Clone()
        geom.FlattenTo2D()
        lake = pipeline.LakeInput(feat.GetField("GLIMS_ID"), bytes(geom.ExportToWkb()))
        results.append(pipeline.map_lake(lake, asc, desc, pipeline.Options(), footprints, keep_arrays=True))
    return results


def _images(html):
    return [base64.b64decode(m) for m in re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)]


def test_report_on_tsho_rolpa_is_self_contained(tsho_results, tmp_path):
    from matplotlib import image as mpimg

    mapped = [r for r in tsho_results if report.is_mapped(r.status)]
    assert len(tsho_results) == 83 and len(mapped) >= 1  # Tsho Rolpa is mapped in the 2022 pair
    out = tmp_path / "report.html"
    assert report.write_report(str(out), tsho_results, run_info={"ascending": "S1A_20220725", "method": "otsu"}) == str(out)
    html = out.read_text(encoding="utf-8")
    # self-contained: no external resource of any kind
    assert not re.search(r"(src|href)\s*=\s*['\"](?!data:|#)", html)
    assert "<script" not in html and "<link" not in html
    s = report.summarize([r.fields for r in tsho_results])
    assert s["n_mapped"] == len(mapped) and s["n_mapped"] + s["n_no_water"] + s["n_skipped"] == 83
    assert f"<th>lakes in the inventory</th><td class='n'>83</td>" in html
    for r in mapped:
        assert f"id='{report._anchor(r.lake_id)}'" in html
        assert f"IoU {r.fields['iou']:.3f}" in html
    for status, n, _ids in s["reasons"]:
        assert f"<td class='n'>{n}</td><td>{status}</td>" in html.replace("&#x27;", "'")
    images = _images(html)
    assert len(images) == 1 + len(mapped)  # IoU histogram + one panel figure per mapped lake
    lake_png = mpimg.imread(io.BytesIO(images[1]), format="png")
    # 2 rows x 4 columns of 2.45-inch panels at 90 dpi (asc, desc, fused, outline / source, histogram)
    assert lake_png.shape[:2] == (round(2 * 2.45 * 90), round(4 * 2.45 * 90))
    assert "Distortion fractions" in html and "S1A_20220725" in html


def test_write_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "r.html"
    out.write_text("old report")
    builder = report.ReportBuilder()
    builder.add(SimpleNamespace(fields=_fields("a", "ok", 0.8), arrays={}))

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(report.os, "replace", boom)
    with pytest.raises(OSError):
        builder.write(str(out))
    assert out.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary file left
    monkeypatch.undo()
    builder.write(str(out))
    assert "IoU" in out.read_text() and sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
    assert (out.stat().st_mode & 0o777) == (0o666 & ~_umask())


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_max_panels_limits_images(tsho_results):
    mapped = [r for r in tsho_results if r.arrays]
    builder = report.ReportBuilder(max_panels=0)
    for r in tsho_results:
        builder.add(r)
    html = builder.html()
    assert len(_images(html)) == 1 and builder.panels_left_out == len(mapped)
    assert f"{len(mapped)} more lake" in html and "images left out (at most 0 per report)" in html


def test_report_module_imports_neither_qgis_nor_pyplot():
    """Pure module: no qgis; matplotlib's object API only (pyplot would switch a QGIS session's backend)."""
    code = (
        "import sys, numpy as np; sys.path.insert(0, %r)\n"
        "from glasar.ui import report\n"
        "report.render_lake_png({'fused_db': np.zeros((8, 8))}, {'threshold_db': -1})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'qgis' or m == 'matplotlib.pyplot'))\n"
    ) % os.path.join(REPO, "build", "pluginpath")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- glasar:maplakes REPORT ---------------------------------------------------------------------------
def test_maplakes_report_output(glasar_provider, tsho_rolpa, tmp_path):
    from qgis import processing
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById("glasar:maplakes")
    out = tmp_path / "tsho.html"
    res = processing.run("glasar:maplakes", {
        "ASCENDING": tsho_rolpa["asc_2022"], "DESCENDING": tsho_rolpa["desc_2022"],
        "INVENTORY": tsho_rolpa["inventory"], "LAKE_ID_FIELD": "GLIMS_ID",
        "OUTPUT": str(tmp_path / "tsho.gpkg"), "REPORT": str(out)})
    assert res["REPORT"] == str(out)
    html = out.read_text(encoding="utf-8")
    assert "GL086863E28114N" in html and "<th>lakes in the inventory</th><td class='n'>83</td>" in html
    assert len(_images(html)) >= 2
    # the REPORT destination is an HTML output, so the GUI adds it to the results viewer
    assert alg.outputDefinition("REPORT").type() == "outputHtml"
    # without REPORT no report is written
    res = processing.run("glasar:maplakes", {
        "ASCENDING": tsho_rolpa["asc_2022"], "DESCENDING": tsho_rolpa["desc_2022"],
        "INVENTORY": tsho_rolpa["inventory"], "OUTPUT": str(tmp_path / "b.gpkg")})
    assert not res.get("REPORT")
    assert sorted(p.suffix for p in tmp_path.iterdir() if p.suffix == ".html") == [".html"]
