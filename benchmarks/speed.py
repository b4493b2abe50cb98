"""Speed of every step of GLaSAR and of the whole maplakes pipeline per lake, on one core.

Target (issue 8): the full pipeline (both passes, Refined Lee, slope correction, layover/shadow,
fusion, k-means, polygon, scores) <= 100 ms median per 2 x 2 km lake window at 10 m.

Data: a simulated Sentinel-1 pair with exact truth (``algorithms/simulate.py``, seeded; the
bundled SRTM ``sample_data/dem/hef_srtm.tif``, 6 x 6 km at 10 m, written to a temporary folder
and deleted afterwards): VV/VH sigma0 dB with an ``angle`` band, its 30 m DEM and a perturbed
inventory.

Per step (ns per pixel, CPU time, best of N after a warm-up) on the simulated scene, each next to
a baseline measured in the same run on the same pixels:
* speckle filters (linear power, window 7) - baseline: ``np.sort`` of the scene's pixels, and
  for Refined Lee its direct form (16 correlations);
* slope correction (volume, surface, area) - baseline ``np.sort``;
* layover/shadow (exact range-line method, one pass, both DEM -> lines and back) - baseline:
  METHOD=original (the peak-window method, vectorised) on the same DEM; see
  ``benchmarks/terrain_speed.py`` for the 4000 x 4000 figures and the per-peak loop;
* fusion (``fusion.fuse``: median offset, brightening bits, distortion-aware mean) - ``np.sort``;
* each extraction method on one 2 x 2 km lake window - baseline ``np.sort`` of the window's
  VV pixels.

Pipeline: ``pipeline.map_lake`` per inventory lake (the function ``glasar:maplakes`` calls for each
lake), with the DEM, ``METHOD=kmeans``, Refined Lee, volume slope correction. Each lake's window
is grown (``buffer_scale``) so that its *shorter* side is 2 km: every window is at least
2 x 2 km at 10 m. Median and maximum ms per lake (CPU), next to ``np.sort`` of a 200 x 200 window
and to the cost of reading the window's two VV bands alone (GDAL warp) in the same run; the
share of each stage comes from one cProfile run (which slows the run, so only the shares).

One core: the process pins itself to one CPU and BLAS/OpenMP threads are set to 1 before numpy
loads. Times are CPU time (``time.process_time``) so other jobs slow the wall clock, not the
figures.

Run:  .venv/bin/python benchmarks/speed.py [--seed 1] [--size-km 6] [--repeats 3] [--strict]
(--strict exits with status 1 when the pipeline target is missed.)
"""
import _bench  # noqa: F401 (first: one thread per process, glasar importable)

import os  # noqa: E402
import argparse  # noqa: E402
import cProfile  # noqa: E402
import glob  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
from osgeo import gdal, ogr, osr  # noqa: E402

from _bench import REPO, pin_one_core  # noqa: E402

from terrain_speed import timed  # noqa: E402

from glasar.algorithms import extraction, fusion, layover_shadow, pipeline, simulate, speckle  # noqa: E402
from glasar.algorithms import lake_geometry as lg, terrain, terrain_window, units  # noqa: E402
from glasar.algorithms.grid import rasterize, warp_band  # noqa: E402
from glasar.algorithms.raster_out import grid_of_raster  # noqa: E402
from glasar.algorithms.slope_correction import MODELS, slope_correct  # noqa: E402

gdal.UseExceptions()

PIPELINE_BUDGET_MS = 100.0
WINDOW_M = 2000.0
DEM = REPO / "sample_data" / "dem" / "hef_srtm.tif"
STAGES = (  # (label, function name in the profile)
    ("read + Refined Lee", "_read_pass"),
    ("DEM, incidence, layover/shadow", "window_terrain"),
    ("  of which layover/shadow", "layover_shadow_mask"),
    ("slope correction", "flatten"),
    ("fusion", "fuse"),
    ("k-means, polygon, scores", "extract_and_score"),
)


def simulated_scene(folder, seed, size_km):
    simulate.simulate_scene(str(DEM), folder, seed=seed, size_km=size_km)
    asc = glob.glob(os.path.join(folder, "sim_*_ASC.tif"))[0]
    desc = glob.glob(os.path.join(folder, "sim_*_DSC.tif"))[0]
    ds = ogr.Open(os.path.join(folder, "inventory.gpkg"))
    layer = ds.GetLayer(0)
    srs = layer.GetSpatialRef()
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lakes = [pipeline.LakeInput(str(f["lake_id"]),
                                bytes(lg.transform_geometry(f.GetGeometryRef(), srs, lg.WGS84).ExportToWkb()))
             for f in layer]
    return asc, desc, os.path.join(folder, "dem_30m.tif"), lakes


def band(path, name):
    ds = gdal.Open(path)
    for i in range(1, ds.RasterCount + 1):
        if ds.GetRasterBand(i).GetDescription() == name:
            return ds.GetRasterBand(i).ReadAsArray().astype(np.float32)
    raise KeyError(name)


def two_km_options(lake, asc, base):
    """Options whose window around this lake is at least 2 x 2 km (shorter side 2 km)."""
    geom = lg.geometry_from_wkb(lake.wkb)
    _, _, metric, area = pipeline.analysis_grid(geom, asc, base)
    xmin, xmax, ymin, ymax = metric.GetEnvelope()
    scale = (WINDOW_M - min(xmax - xmin, ymax - ymin)) / (2 * lg.aoi_buffer_m(area))
    opts = pipeline.Options(**{**base.__dict__, "buffer_scale": max(scale, 0.0)})
    grid = pipeline.analysis_grid(geom, asc, opts)[0]
    return opts, grid


def step_rows(asc_path, desc_path, dem_path, lakes, asc, args):
    """(label, ns/px, baseline label, baseline ns/px) per step."""
    rows = []
    grid = grid_of_raster(asc_path)
    vv_db = {k: band(p, "VV") for k, p in (("asc", asc_path), ("desc", desc_path))}
    angle = band(asc_path, "angle")
    power = units.db_to_power(vv_db["asc"]).astype(np.float32)
    npx = power.size
    flat = np.nan_to_num(power.ravel())
    t_add, _ = timed(lambda: np.sort(flat), max(args.repeats, 10))
    ns = lambda t, n=npx: t / n * 1e9  # noqa: E731
    add_label = "np.sort (scene)"
    gap_free = np.where(np.isfinite(power), power, np.float32(np.nanmedian(power)))
    for name in speckle.FILTERS[1:]:
        t, _ = timed(lambda f=name: speckle.apply_speckle_filter(power, f, 7, 4.4), args.repeats)
        if name == "refined_lee":
            tb, _ = timed(lambda: speckle.refined_lee_direct(gap_free, masked=False), 1)
            rows.append((f"speckle: {name}", ns(t), "direct form (16 corr.)", ns(tb)))
        else:
            rows.append((f"speckle: {name}", ns(t), add_label, ns(t_add)))

    dem = terrain.resample_dem(dem_path, grid).astype(np.float64)
    look = {}
    for key, path in (("asc", asc_path), ("desc", desc_path)):
        scene = pipeline.prepare_scene(path)
        look[key] = terrain_window.pass_look_azimuth(scene, grid, "ascending" if key == "asc" else "descending",
                                                     float(np.nanmedian(angle)))[0]
    inc = np.where(np.isfinite(angle), angle, np.nanmedian(angle)).astype(np.float64)
    for model in MODELS:
        t, _ = timed(lambda m=model: slope_correct({"VV": vv_db["asc"]}, inc, dem, grid.res, look["asc"], m),
                     args.repeats)
        rows.append((f"slope correction: {model}", ns(t), add_label, ns(t_add)))
    t, masks = timed(lambda: layover_shadow.layover_shadow_mask(dem, grid.res, look["asc"], inc), args.repeats)
    tb, _ = timed(lambda: layover_shadow.layover_shadow_mask(dem, grid.res, look["asc"], inc, method="original"),
                  1)
    rows.append(("layover/shadow: exact, one pass", ns(t), "METHOD=original", ns(tb)))
    mask_d = layover_shadow.layover_shadow_mask(dem, grid.res, look["desc"], inc)
    t, _ = timed(lambda: fusion.fuse(vv_db["asc"], vv_db["desc"], masks, mask_d, brightening_tolerance_db=6.0),
                 args.repeats)
    rows.append(("fusion: fuse (median offset, mean)", ns(t), add_label, ns(t_add)))

    # Extraction methods on one 2 x 2 km lake window (the first lake's).
    opts, wgrid = two_km_options(lakes[0], asc, pipeline.Options())
    bands_db = [warp_band(asc_path, asc.scene.bands[p], wgrid) for p in ("VV", "VH")]
    valid = np.logical_and.reduce([np.isfinite(x) for x in bands_db])
    lake_geom = lg.transform_geometry(lg.geometry_from_wkb(lakes[0].wkb), lg.WGS84,
                                      lg.srs_from_wkt(wgrid.srs_wkt))
    lake_mask = rasterize(lake_geom, wgrid)
    wn = valid.size
    vv_valid = bands_db[0][valid]
    t_sort, _ = timed(lambda: np.sort(vv_valid), max(args.repeats, 10))
    for method in extraction.METHODS:
        def run(m=method):
            try:
                return extraction.classify_water(bands_db, valid, m, 0, lake_mask)
            except extraction.NoWaterFound:
                return None
        t, _ = timed(run, args.repeats)
        rows.append((f"extraction: {method}", ns(t, wn), "np.sort (window)", ns(t_sort, wn)))
    return rows, npx, wgrid.shape


def pipeline_rows(asc_path, desc_path, dem_path, lakes, args):
    base = pipeline.Options(dem_path=dem_path, method="kmeans", speckle_filter="refined_lee", slope_model="volume")
    asc = pipeline.prepare_scene(asc_path)
    desc = pipeline.prepare_scene(desc_path)
    footprints = pipeline.check_overlap(asc, desc)
    per_lake = []
    for lake in lakes:
        opts, grid = two_km_options(lake, asc, base)
        cpu, res = timed(lambda: pipeline.map_lake(lake, asc, desc, opts, footprints), args.repeats)
        read, _ = timed(lambda: [warp_band(p, 1, grid) for p in (asc_path, desc_path)], args.repeats)
        window = grid.rows * grid.cols
        vals = np.random.default_rng(0).random(window).astype(np.float32)
        t_sort, _ = timed(lambda: np.sort(vals), max(args.repeats, 10))
        per_lake.append((lake.lake_id, grid.shape, cpu, read, t_sort, res.status, res.fields.get("iou")))
    prof = cProfile.Profile()
    prof.enable()
    for lake in lakes:
        opts, _ = two_km_options(lake, asc, base)
        pipeline.map_lake(lake, asc, desc, opts, footprints)
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = sum(v[3] for k, v in stats.items() if k[2] == "map_lake")
    shares = []
    for label, fname in STAGES:
        cum = sum(v[3] for k, v in stats.items() if k[2] == fname and "glasar" in k[0])
        shares.append((label, cum / total if total else float("nan")))
    return per_lake, shares, asc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size-km", type=float, default=6.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args(argv)
    cpus = pin_one_core()
    folder = tempfile.mkdtemp(prefix="glasar_speed_")
    try:
        asc_path, desc_path, dem_path, lakes = simulated_scene(folder, args.seed, args.size_km)
        per_lake, shares, asc = pipeline_rows(asc_path, desc_path, dem_path, lakes, args)
        rows, npx, wshape = step_rows(asc_path, desc_path, dem_path, lakes, asc, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"simulated scene seed {args.seed}, {args.size_km:g} x {args.size_km:g} km at 10 m ({npx} px), one core "
          f"(CPU {cpus}), CPU time, best of {args.repeats}")
    print(f"{'step':<38}{'ns/px':>9}  {'baseline':<24}{'ns/px':>9}{'x base':>8}")
    for label, ns, blabel, bns in rows:
        print(f"{label:<38}{ns:>9.1f}  {blabel:<24}{bns:>9.1f}{ns / bns:>8.1f}")
    print(f"(extraction on a {wshape[0]} x {wshape[1]} px lake window; other steps on the whole scene)")
    print()
    print(f"pipeline per lake (map_lake: both passes, Refined Lee, DEM + volume slope correction, layover/shadow, "
          f"fusion, k-means, polygon, scores); windows >= {WINDOW_M / 1000:g} x {WINDOW_M / 1000:g} km")
    print(f"{'lake':>6} {'window px':>11} {'ms':>8} {'read 2 VV ms':>13} {'np.sort ms':>11} {'x sort':>7}  status")
    for lake_id, shape, cpu, read, t_sort, status, iou in per_lake:
        iou_s = "" if iou is None else f" (IoU {iou:.2f})"
        print(f"{lake_id:>6} {shape[0]:>5}x{shape[1]:<5} {cpu * 1e3:>8.1f} {read * 1e3:>13.1f} {t_sort * 1e3:>11.2f} "
              f"{cpu / t_sort:>7.0f}  {status[:48]}{iou_s}")
    ms = [p[2] * 1e3 for p in per_lake]
    med = statistics.median(ms)
    print("share of the per-lake time (cProfile): " + ", ".join(f"{label.strip()} {100 * s:.0f} %"
                                                              for label, s in shares))
    ok = med <= PIPELINE_BUDGET_MS
    print(f"median {med:.1f} ms per lake (max {max(ms):.1f}), budget {PIPELINE_BUDGET_MS:.0f} ms: "
          f"{'ok' if ok else 'MISSED'}")
    return 1 if (not ok and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
