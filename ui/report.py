"""Self-contained HTML report of a lake-mapping run (the ``REPORT`` output of ``glasar:maplakes``).

Pure Python + numpy + matplotlib (Agg canvas, object API: no pyplot state, safe in a Processing
worker thread, never switches the backend of a QGIS session); no qgis import. The report is one
HTML file with every image embedded as a base64 PNG, so it opens the same in QGIS's results
viewer, any browser, or as an e-mail attachment.

Contents
--------
* run information (inputs and options, as given by the caller);
* summary: number of lakes (mapped / no water found / skipped), the IoU distribution of the
  mapped lakes (median, quartiles, min, max and a 0.1-wide histogram), precision/recall/F1
  medians, total mapped vs reference area, the distortion fractions (fields ``distorted_asc``,
  ``distorted_desc``, ``distorted_fused``: share of each lake's inventory pixels that are nodata or
  flagged distorted in that pass / in the fused image) when present, and every skipped lake
  grouped by reason;
* a per-lake table of all result fields;
* per mapped lake (with window arrays), small images side by side on the analysis grid:
  ascending, descending and fused backscatter (dB, gray, -25..0 dB), the fusion source classes,
  the layover/shadow class of each pass (arrays ``ls_asc``/``ls_desc``: the bitmask of
  ``algorithms.fusion``, shown by severity), the mapped outline over the inventory outline, and
  the histogram of the fused window with the chosen threshold or cluster split.

Memory: ``ReportBuilder.add`` renders a lake's images at once, so the caller can drop the lake's
window arrays right after (``glasar:maplakes`` does), and at most ``max_panels`` lakes get images.

Method context: Wu et al. (2025), Int. J. Appl. Earth Obs. Geoinf. 136, 104329 (dual-orbit
Sentinel-1 fusion for glacial lakes); IoU = |A∩B| / |A∪B| of the mapped and inventory polygons.
"""
import base64
import collections
import datetime
import html
import io
import math
import os
import uuid

import numpy as np

from ..algorithms import __version__ as GLASAR_VERSION
from ..algorithms.clustering import CLUSTER_METHODS
from ..algorithms.fusion import (
    SOURCE_ASC, SOURCE_BOTH, SOURCE_DESC, SOURCE_DISTORTED, SOURCE_NODATA, severity,
)

DB_RANGE = (-25.0, 0.0)  # display stretch of backscatter in dB (water ~ -20, rock/ice -10..0)
NODATA_COLOR = "#f4b6c2"  # pink: nodata in the backscatter images
MAPPED_COLOR = "#00e5ff"  # cyan: mapped outline
INVENTORY_COLOR = "#ffb300"  # amber: inventory outline
THRESHOLD_COLOR = "#d50000"
IOU_BINS = np.arange(11) / 10.0  # 0, 0.1, ..., 1 (each edge the double nearest k/10); last bin includes 1
DISTORTION_FIELDS = (
    ("distorted_asc", "ascending pass"),
    ("distorted_desc", "descending pass"),
    ("distorted_fused", "fused image"),
)
# Fusion source classes (algorithms.fusion) and their colours; ui/styles/fusion_source.qml uses the same.
SOURCE_CLASSES = (
    (SOURCE_NODATA, "#ffffff", "nodata"),
    (SOURCE_ASC, "#1f78b4", "ascending only"),
    (SOURCE_DESC, "#ff7f00", "descending only"),
    (SOURCE_BOTH, "#b2df8a", "both passes"),
    (SOURCE_DISTORTED, "#e31a1c", "both distorted / disagreeing"),
)
# Layover/shadow severity (algorithms.fusion.severity of the bitmask).
SEVERITY_CLASSES = (
    (0, "#ffffff", "clean"),
    (1, "#fdae6b", "passive layover or brightened"),
    (2, "#e6550d", "active layover"),
    (3, "#54278f", "shadow"),
)
TABLE_COLUMNS = (
    ("lake_id", "lake", None), ("status", "status", None), ("iou", "IoU", 3), ("precision", "precision", 3),
    ("recall", "recall", 3), ("f1", "F1", 3), ("area_pred_km2", "mapped km²", 3),
    ("area_ref_km2", "inventory km²", 3), ("threshold_db", "threshold dB", 2),
    ("valid_fraction", "valid", 2), ("passes", "passes", None), ("contrast_asc", "contrast asc dB", 1),
    ("contrast_desc", "contrast desc dB", 1), ("distorted_asc", "distorted asc", 2),
    ("distorted_desc", "distorted desc", 2), ("distorted_fused", "distorted fused", 2),
)


# -- status and numbers ------------------------------------------------------------------------
def is_mapped(status):
    """True for a mapped lake: status 'ok' or 'ok: <note>' (e.g. a dropped pass)."""
    s = (status or "").strip()
    return s == "ok" or s.startswith("ok:") or s.startswith("ok ")


def _num(v):
    """float(v), or None for None/''/NaN/non-numbers."""
    if v is None or v == "":
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _stats(values):
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return None
    q25, med, q75 = np.percentile(a, [25, 50, 75])
    return {"n": int(a.size), "median": float(med), "mean": float(a.mean()), "min": float(a.min()),
            "max": float(a.max()), "q25": float(q25), "q75": float(q75)}


def summarize(fields_list):
    """Summary numbers of a run from the per-lake field dicts.

    Returns a dict: n_lakes, n_mapped, n_no_water, n_skipped; iou (stats dict: n, median, mean,
    min, max, q25, q75 over mapped lakes with an IoU, or None), iou_hist (counts in the bins
    IOU_BINS = 0, 0.1, ..., 1; the last bin includes 1), precision/recall/f1 medians,
    area_pred_km2/area_ref_km2 (sums over mapped lakes), distortion ({field: stats over lakes
    with a value}, only fields present), reasons (list of (status, count, [lake ids]) for lakes
    not mapped, most frequent first).
    """
    fields_list = list(fields_list)
    mapped = [f for f in fields_list if is_mapped(f.get("status"))]
    not_mapped = [f for f in fields_list if not is_mapped(f.get("status"))]
    ious = [x for x in (_num(f.get("iou")) for f in mapped) if x is not None]
    out = {
        "n_lakes": len(fields_list),
        "n_mapped": len(mapped),
        "n_no_water": sum(1 for f in not_mapped if str(f.get("status", "")).startswith("no water")),
        "n_skipped": sum(1 for f in not_mapped if not str(f.get("status", "")).startswith("no water")),
        "iou": _stats(ious),
        "iou_hist": np.histogram(np.clip(ious, 0.0, 1.0), bins=IOU_BINS)[0].tolist() if ious else [0] * 10,
    }
    for key in ("precision", "recall", "f1"):
        vals = [x for x in (_num(f.get(key)) for f in mapped) if x is not None]
        out[key + "_median"] = float(np.median(vals)) if vals else None
    for key in ("area_pred_km2", "area_ref_km2"):
        vals = [x for x in (_num(f.get(key)) for f in mapped) if x is not None]
        out[key] = float(np.sum(vals)) if vals else None
    distortion = {}
    for key, _label in DISTORTION_FIELDS:
        if any(key in f for f in fields_list):
            distortion[key] = _stats([x for x in (_num(f.get(key)) for f in fields_list) if x is not None])
    out["distortion"] = distortion
    groups = collections.OrderedDict()
    for f in not_mapped:
        groups.setdefault(str(f.get("status") or "unknown"), []).append(str(f.get("lake_id", "")))
    out["reasons"] = sorted(((s, len(ids), ids) for s, ids in groups.items()), key=lambda t: (-t[1], t[0]))
    return out


# -- figures -------------------------------------------------------------------------------------
def _new_figure(width_in, height_in, dpi):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    return buf.getvalue()


def _data_uri(png_bytes):
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def _stride(shape, max_side):
    return max(1, int(math.ceil(max(shape) / float(max_side))))


def _extent_km(arrays, shape):
    """imshow extent in km from the window's top-left corner (pixel size from the grid, else 1 px)."""
    grid = arrays.get("grid")
    res = float(getattr(grid, "res", 0.0) or 0.0)
    rows, cols = shape
    if res > 0:
        return (0.0, cols * res / 1000.0, 0.0, rows * res / 1000.0), "km"
    return (0.0, float(cols), 0.0, float(rows)), "px"


def _categorical(colors):
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap(list(colors))
    norm = BoundaryNorm(np.arange(len(colors) + 1) - 0.5, len(colors))
    return cmap, norm


def _style_axis(ax, title, unit):
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6, length=2)
    ax.set_xlabel(unit, fontsize=6, labelpad=1)


def render_lake_png(arrays, fields, dpi=90, max_side=400):
    """PNG (bytes) of one lake's panels (see lake_figure), or None if arrays hold no image."""
    fig = lake_figure(arrays, fields, dpi, max_side)
    return None if fig is None else _png(fig)


def lake_figure(arrays, fields, dpi=90, max_side=400):
    """Matplotlib Figure (Agg canvas) of one lake's panels, or None if arrays hold no image.

    Panels (each only when its arrays exist): ascending, descending, fused (dB, gray, DB_RANGE),
    mapped outline (cyan) over the inventory outline (amber) on the fused image, fusion source
    classes, layover/shadow severity of each pass, histogram of the fused window (gray), of the
    inventory lake's pixels (blue) and the threshold / cluster split (red dashed line).
    """
    import matplotlib

    fused = arrays.get("fused_db")
    base = fused if fused is not None else arrays.get("asc_db", arrays.get("desc_db"))
    if base is None:
        return None
    shape = np.shape(base)
    s = _stride(shape, max_side)
    extent, unit = _extent_km(arrays, shape)
    gray = matplotlib.colormaps["gray"].copy()
    gray.set_bad(NODATA_COLOR)

    panels = []
    for key, title in (("asc_db", "Ascending (dB)"), ("desc_db", "Descending (dB)"), ("fused_db", "Fused (dB)")):
        if arrays.get(key) is not None:
            panels.append(("db", key, title))
    if fused is not None or arrays.get("mapped") is not None or arrays.get("lake_mask") is not None:
        panels.append(("outline", None, "Mapped vs inventory"))
    if arrays.get("source") is not None:
        panels.append(("source", "source", "Fusion source"))
    for key, title in (("ls_asc", "Layover/shadow asc"), ("ls_desc", "Layover/shadow desc")):
        if arrays.get(key) is not None:
            panels.append(("ls", key, title))
    if fused is not None:
        panels.append(("hist", None, "Histogram (fused)"))

    ncols = min(4, len(panels))
    nrows = int(math.ceil(len(panels) / ncols))
    fig = _new_figure(2.45 * ncols, 2.45 * nrows, dpi)
    fig.subplots_adjust(left=0.05, right=0.97, bottom=0.09, top=0.92, wspace=0.32, hspace=0.42)
    for i, (kind, key, title) in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        if kind == "db":
            a = np.asarray(arrays[key], dtype=np.float32)[::s, ::s]
            im = ax.imshow(np.ma.masked_invalid(a), cmap=gray, vmin=DB_RANGE[0], vmax=DB_RANGE[1],
                           extent=extent, interpolation="nearest")
            _style_axis(ax, title, unit)
            if key == "fused_db":
                cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
                cb.ax.tick_params(labelsize=6, length=2)
        elif kind == "outline":
            # Zoomed on the lake: the bounding box of both outlines grown by 25 % (at least 5 px).
            rows, cols = _zoom_box(arrays, shape)
            sub = (slice(*rows), slice(*cols))
            s2 = _stride((rows[1] - rows[0], cols[1] - cols[0]), max_side)
            sub_extent = _sub_extent(extent, shape, rows, cols)
            if fused is not None:
                ax.imshow(np.ma.masked_invalid(np.asarray(fused, dtype=np.float32)[sub][::s2, ::s2]), cmap=gray,
                          vmin=DB_RANGE[0], vmax=DB_RANGE[1], extent=sub_extent, interpolation="nearest")
            for mkey, color, style in (("lake_mask", INVENTORY_COLOR, "--"), ("mapped", MAPPED_COLOR, "-")):
                m = arrays.get(mkey)
                if m is not None and np.any(np.asarray(m)[sub]):
                    ax.contour(np.asarray(m, dtype=np.float32)[sub][::s2, ::s2], levels=[0.5], colors=[color],
                               linewidths=1.3, linestyles=style, extent=sub_extent, origin="upper")
            ax.set_xlim(sub_extent[0], sub_extent[1])
            ax.set_ylim(sub_extent[2], sub_extent[3])
            _style_axis(ax, title, unit)
        elif kind == "source":
            cmap, norm = _categorical([c for _, c, _ in SOURCE_CLASSES])
            ax.imshow(np.asarray(arrays[key])[::s, ::s], cmap=cmap, norm=norm, extent=extent, interpolation="nearest")
            _style_axis(ax, title, unit)
        elif kind == "ls":
            cmap, norm = _categorical([c for _, c, _ in SEVERITY_CLASSES])
            ax.imshow(severity(np.asarray(arrays[key]))[::s, ::s], cmap=cmap, norm=norm, extent=extent,
                      interpolation="nearest")
            _style_axis(ax, title, unit)
        elif kind == "hist":
            _histogram(ax, arrays, fields)
    return fig


def _zoom_box(arrays, shape, grow=0.25, min_pad=5):
    """Row and column ranges around the inventory and mapped masks (whole window if both empty)."""
    union = np.zeros(shape, dtype=bool)
    for key in ("lake_mask", "mapped"):
        m = arrays.get(key)
        if m is not None and np.shape(m) == tuple(shape):
            union |= np.asarray(m, dtype=bool)
    if not union.any():
        return (0, shape[0]), (0, shape[1])
    rr = np.flatnonzero(union.any(axis=1))
    cc = np.flatnonzero(union.any(axis=0))
    h, w = rr[-1] - rr[0] + 1, cc[-1] - cc[0] + 1
    side = max(h, w)
    pad = max(min_pad, int(round(grow * side)))
    half = side // 2 + pad
    rc, cc_ = (rr[0] + rr[-1]) // 2, (cc[0] + cc[-1]) // 2
    r0, r1 = max(0, rc - half), min(shape[0], rc + half + 1)
    c0, c1 = max(0, cc_ - half), min(shape[1], cc_ + half + 1)
    return (int(r0), int(r1)), (int(c0), int(c1))


def _sub_extent(extent, shape, rows, cols):
    """extent of the sub-window rows x cols of an image whose full extent is extent (y up)."""
    x0, x1, y0, y1 = extent
    px = (x1 - x0) / shape[1]
    py = (y1 - y0) / shape[0]
    return (x0 + cols[0] * px, x0 + cols[1] * px, y1 - rows[1] * py, y1 - rows[0] * py)


def _histogram(ax, arrays, fields):
    fused = np.asarray(arrays["fused_db"], dtype=np.float64)
    finite = np.isfinite(fused)
    vals = fused[finite]
    if vals.size:
        lo, hi = np.percentile(vals, [0.5, 99.5])
        lo, hi = max(math.floor(lo) - 1.0, -45.0), min(math.ceil(hi) + 1.0, 15.0)
        bins = np.arange(lo, hi + 0.5, 0.5)
        ax.hist(vals, bins=bins, color="#9e9e9e", label="window")
        lake = arrays.get("lake_mask")
        if lake is not None:
            inside = fused[np.asarray(lake, dtype=bool) & finite]
            if inside.size:
                ax.hist(inside, bins=bins, histtype="step", color="#1565c0", linewidth=1.1, label="inventory lake")
    t = _num(fields.get("threshold_db"))
    if t is not None:
        split = "cluster split" if fields.get("method") in CLUSTER_METHODS else "threshold"
        ax.axvline(t, color=THRESHOLD_COLOR, linestyle="--", linewidth=1.2, label=f"{split} {t:.1f} dB")
    ax.set_title("Histogram (fused)", fontsize=8)
    ax.set_xlabel("dB", fontsize=6, labelpad=1)
    ax.tick_params(labelsize=6, length=2)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=5.5, loc="upper right", frameon=False)


def render_iou_histogram_png(iou_hist, dpi=72):
    """Bar chart of the IoU histogram (counts in the bins 0-0.1, ..., 0.9-1)."""
    fig = _new_figure(4.2, 2.0, dpi)
    fig.subplots_adjust(left=0.12, right=0.98, bottom=0.24, top=0.9)
    ax = fig.add_subplot(1, 1, 1)
    centres = (IOU_BINS[:-1] + IOU_BINS[1:]) / 2.0
    ax.bar(centres, iou_hist, width=0.09, color="#2e7d32")
    ax.set_xlim(0, 1)
    ax.set_xticks(IOU_BINS)
    ax.set_xlabel("IoU", fontsize=7)
    ax.set_ylabel("lakes", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("IoU of the mapped lakes", fontsize=8)
    return _png(fig)


# -- HTML ----------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:1.2em;color:#212121;}
h1{font-size:1.4em;margin-bottom:0.2em} h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.6em}
h3{font-size:1em;margin:1.2em 0 0.3em} .muted{color:#666;font-size:0.85em}
table{border-collapse:collapse;font-size:0.82em;margin:0.4em 0} th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}
th{background:#eceff1} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap} td.id{white-space:nowrap}
tr.skip td{color:#777} div.wide{overflow-x:auto} .lake{margin-bottom:1.5em} .lake img{max-width:100%;border:1px solid #ddd}
.key span.sw{display:inline-block;width:0.9em;height:0.9em;border:1px solid #999;vertical-align:middle;margin:0 0.25em 0 0.8em}
.key span.ln{display:inline-block;width:1.6em;height:0;border-top-width:2px;vertical-align:middle;margin:0 0.25em 0 0.8em}
"""


def _e(x):
    return html.escape("" if x is None else str(x))


def _fmt(v, digits):
    x = _num(v)
    if x is None:
        return "–" if (v is None or v == "") else _e(v)
    return f"{x:.{digits}f}"


def _anchor(lake_id):
    return "lake-" + "".join(c if c.isalnum() else "_" for c in str(lake_id))


class ReportBuilder:
    """Collects lake results (``add``), renders each mapped lake's panels at once, writes the HTML.

    title: report heading; run_info: mapping (or list of pairs) shown as the run table;
    max_panels: lakes that get images (inventory order), the rest appear in the tables only;
    dpi: resolution of the embedded PNGs.
    """

    def __init__(self, title="GLaSAR glacial lake mapping report", run_info=None, max_panels=100, dpi=90):
        self.title = title
        self.run_info = list(run_info.items()) if hasattr(run_info, "items") else list(run_info or [])
        self.max_panels = int(max_panels)
        self.dpi = dpi
        self.fields = []
        self.panels = []  # (lake_id, fields, data uri)
        self.panels_left_out = 0

    def add(self, result):
        """Add one LakeResult-like object (``.fields`` dict, optional ``.arrays`` dict)."""
        fields = dict(getattr(result, "fields", None) or {})
        if "lake_id" not in fields and getattr(result, "lake_id", None) is not None:
            fields["lake_id"] = result.lake_id
        if "status" not in fields and getattr(result, "status", None) is not None:
            fields["status"] = result.status
        self.fields.append(fields)
        arrays = getattr(result, "arrays", None) or {}
        if arrays:
            if len(self.panels) >= self.max_panels:
                self.panels_left_out += 1
                return
            png = render_lake_png(arrays, fields, dpi=self.dpi)
            if png is not None:
                self.panels.append((fields.get("lake_id"), fields, _data_uri(png)))

    # sections
    def _run_section(self):
        rows = [("generated", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
                ("GLaSAR version", GLASAR_VERSION)] + [(k, v) for k, v in self.run_info]
        body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
        return f"<h2>Run</h2><table>{body}</table>"

    def _summary_section(self, s):
        parts = ["<h2>Summary</h2><table>"]
        parts.append(f"<tr><th>lakes in the inventory</th><td class='n'>{s['n_lakes']}</td></tr>")
        parts.append(f"<tr><th>mapped</th><td class='n'>{s['n_mapped']}</td></tr>")
        parts.append(f"<tr><th>no water found</th><td class='n'>{s['n_no_water']}</td></tr>")
        parts.append(f"<tr><th>skipped</th><td class='n'>{s['n_skipped']}</td></tr>")
        if s["area_pred_km2"] is not None:
            parts.append(f"<tr><th>mapped area / inventory area (mapped lakes)</th><td class='n'>"
                         f"{s['area_pred_km2']:.3f} / {_fmt(s['area_ref_km2'], 3)} km²</td></tr>")
        for key, label in (("precision", "precision"), ("recall", "recall"), ("f1", "F1")):
            if s[key + "_median"] is not None:
                parts.append(f"<tr><th>median {label}</th><td class='n'>{s[key + '_median']:.3f}</td></tr>")
        parts.append("</table>")
        iou = s["iou"]
        parts.append("<h3>IoU distribution (mapped lakes)</h3>")
        if iou is None:
            parts.append("<p>No lake was mapped: no IoU to summarise.</p>")
        else:
            parts.append(
                "<table><tr><th>lakes</th><th>median</th><th>mean</th><th>min</th><th>25 %</th><th>75 %</th>"
                f"<th>max</th></tr><tr><td class='n'>{iou['n']}</td><td class='n'>{iou['median']:.3f}</td>"
                f"<td class='n'>{iou['mean']:.3f}</td><td class='n'>{iou['min']:.3f}</td>"
                f"<td class='n'>{iou['q25']:.3f}</td><td class='n'>{iou['q75']:.3f}</td>"
                f"<td class='n'>{iou['max']:.3f}</td></tr></table>")
            parts.append(f"<img alt='IoU histogram' src='{_data_uri(render_iou_histogram_png(s['iou_hist'], self.dpi))}'>")
        if s["distortion"]:
            parts.append("<h3>Distortion fractions</h3><p class='muted'>Share of each lake's inventory pixels that "
                         "are nodata or flagged distorted (layover, shadow, or much brighter than the other pass) "
                         "in each pass, and left without a clean pass in the fused image.</p>")
            parts.append("<table><tr><th>image</th><th>lakes</th><th>median</th><th>min</th><th>max</th></tr>")
            for key, label in DISTORTION_FIELDS:
                if key in s["distortion"]:
                    st = s["distortion"][key]
                    if st is None:
                        parts.append(f"<tr><td>{label}</td><td class='n'>0</td><td>–</td><td>–</td><td>–</td></tr>")
                    else:
                        parts.append(f"<tr><td>{label}</td><td class='n'>{st['n']}</td><td class='n'>{st['median']:.3f}"
                                     f"</td><td class='n'>{st['min']:.3f}</td><td class='n'>{st['max']:.3f}</td></tr>")
            parts.append("</table>")
        parts.append("<h3>Lakes not mapped, and why</h3>")
        if not s["reasons"]:
            parts.append("<p>Every lake was mapped.</p>")
        else:
            parts.append("<table><tr><th>lakes</th><th>reason</th><th>lake ids</th></tr>")
            for status, n, ids in s["reasons"]:
                shown = ", ".join(_e(i) for i in ids[:12])
                if len(ids) > 12:  # all ids stay in the file, the long tail folded
                    shown += (f" <details><summary>and {len(ids) - 12} more</summary>"
                              + ", ".join(_e(i) for i in ids[12:]) + "</details>")
                parts.append(f"<tr><td class='n'>{n}</td><td>{_e(status)}</td><td>{shown}</td></tr>")
            parts.append("</table>")
        return "".join(parts)

    def _lake_table(self):
        """Table of the lakes that were processed (mapped or no water found); skipped lakes are listed
        by reason in the summary. Columns with no value in any row are left out."""
        shown = [f for f in self.fields if is_mapped(f.get("status")) or str(f.get("status", "")).startswith("no water")]
        if not shown:
            return ""
        cols = [(k, lab, d) for k, lab, d in TABLE_COLUMNS if k != "status"
                and any(f.get(k) not in (None, "") for f in shown)] + [("status", "status", None)]
        with_panel = {str(lid) for lid, _, _ in self.panels}
        head = "".join(f"<th>{_e(lab)}</th>" for _, lab, _ in cols)
        rows = []
        for f in shown:
            cells = []
            for k, _, d in cols:
                v = f.get(k)
                if k == "lake_id" and str(v) in with_panel:
                    cells.append(f"<td class='id'><a href='#{_anchor(v)}'>{_e(v)}</a></td>")
                elif k == "lake_id":
                    cells.append(f"<td class='id'>{_e(v)}</td>")
                elif d is None:
                    cells.append(f"<td>{_e(v) if v not in (None, '') else '–'}</td>")
                else:
                    cells.append(f"<td class='n'>{_fmt(v, d)}</td>")
            cls = "" if is_mapped(f.get("status")) else " class='skip'"
            rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
        return (f"<h2>Per-lake results</h2><p class='muted'>Lakes mapped or searched without finding water "
                f"({len(shown)} of {len(self.fields)}); skipped lakes are listed by reason above.</p>"
                f"<div class='wide'><table><tr>{head}</tr>{''.join(rows)}</table></div>")

    def _key(self):
        def sw(color, label):
            return f"<span class='sw' style='background:{color}'></span>{_e(label)}"

        def ln(color, style, label):
            return f"<span class='ln' style='border-top:2px {style} {color}'></span>{_e(label)}"

        return (
            "<div class='key muted'><p><b>Backscatter</b>: gray from "
            f"{DB_RANGE[0]:g} dB (black) to {DB_RANGE[1]:g} dB (white);{sw(NODATA_COLOR, 'nodata')}</p>"
            f"<p><b>Outlines</b>:{ln(MAPPED_COLOR, 'solid', 'mapped')}{ln(INVENTORY_COLOR, 'dashed', 'inventory')}</p>"
            "<p><b>Fusion source</b>:" + "".join(sw(c, lab) for _, c, lab in SOURCE_CLASSES) + "</p>"
            "<p><b>Layover/shadow</b>:" + "".join(sw(c, lab) for _, c, lab in SEVERITY_CLASSES) + "</p>"
            "<p><b>Histogram</b>: fused window (gray), inventory lake pixels (blue line), the threshold or "
            "cluster split (red dashed line).</p></div>"
        )

    def _lake_sections(self):
        if not self.panels and not self.panels_left_out:
            return ""
        parts = ["<h2>Mapped lakes</h2>", self._key()]
        for lake_id, f, uri in self.panels:
            figures = ", ".join(
                f"{lab} {_fmt(f.get(k), 3)}" for k, lab in (("iou", "IoU"), ("precision", "precision"),
                                                             ("recall", "recall"), ("f1", "F1")) if k in f)
            area = (f"mapped {_fmt(f.get('area_pred_km2'), 3)} km², inventory {_fmt(f.get('area_ref_km2'), 3)} km²"
                    if "area_pred_km2" in f else "")
            status = str(f.get("status") or "")
            note = f" <span class='muted'>({_e(status)})</span>" if status not in ("", "ok") else ""
            parts.append(
                f"<div class='lake' id='{_anchor(lake_id)}'><h3>{_e(lake_id)}{note}</h3>"
                f"<p class='muted'>{_e(figures)}; {_e(area)}; method {_e(f.get('method'))}, band {_e(f.get('band'))}"
                f"</p><img alt='{_e(lake_id)} panels' src='{uri}'></div>")
        if self.panels_left_out:
            n = self.panels_left_out
            parts.append(f"<p class='muted'>{n} more {'lake has its' if n == 1 else 'lakes have their'} images "
                         f"left out (at most {self.max_panels} per report); the figures are in the table above.</p>")
        return "".join(parts)

    def html(self):
        s = summarize(self.fields)
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{_e(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{_e(self.title)}</h1><p class='muted'>Sentinel-1 ascending + descending lake mapping scored "
            "against the inventory (IoU = |mapped ∩ inventory| / |mapped ∪ inventory|). Method after Wu et al. "
            "(2025), Int. J. Appl. Earth Obs. Geoinf. 136, 104329.</p>"
            + self._run_section() + self._summary_section(s) + self._lake_table() + self._lake_sections()
            + "</body></html>"
        )

    def write(self, path):
        """Write the report atomically (temporary file in the same folder, then rename); returns path."""
        text = self.html()
        folder = os.path.dirname(os.path.abspath(path)) or "."
        os.makedirs(folder, exist_ok=True)
        # open(..., "x") (not mkstemp, which makes 0600 files) so the report gets the usual umask mode.
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "x", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return path


def write_report(path, results, title="GLaSAR glacial lake mapping report", run_info=None, max_panels=100):
    """Write the self-contained HTML report of ``results`` (LakeResult-like: ``.fields`` and optional
    ``.arrays``) to ``path`` atomically; returns path."""
    builder = ReportBuilder(title, run_info, max_panels=max_panels)
    for r in results:
        builder.add(r)
    return builder.write(path)
