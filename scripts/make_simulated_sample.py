"""Make the bundled simulated scene pair (sample_data/simulated/) from the bundled SRTM subset.

    /usr/bin/python3 scripts/make_simulated_sample.py            # rewrite sample_data/simulated
    /usr/bin/python3 scripts/make_simulated_sample.py --out /tmp/sim --seed 7 --centre 10.7405 46.8225

The DEM is cropped around --centre (lon lat, WGS 84; default: a rugged 3 km window of the
Oetztal Alps, south-east of the DEM's centre, where valley floors lie beside 40-50 deg walls)
and algorithms.simulate.simulate_scene runs on the crop. The script prints each lake's
layover/shadow share and the folder's size, and refuses to keep a folder above --max-mb.
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile

from osgeo import gdal

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "build", "pluginpath"))
if not os.path.exists(os.path.join(REPO, "build", "pluginpath", "glasar")):
    os.makedirs(os.path.join(REPO, "build", "pluginpath"), exist_ok=True)
    os.symlink(REPO, os.path.join(REPO, "build", "pluginpath", "glasar"), target_is_directory=True)

from glasar.algorithms import simulate  # noqa: E402

gdal.UseExceptions()

DEFAULT_DEM = os.path.join(REPO, "sample_data", "dem", "hef_srtm.tif")
DEFAULT_OUT = os.path.join(REPO, "sample_data", "simulated")


def crop_dem(dem, lon, lat, half_km, folder):
    """A VRT window of dem centred on (lon, lat), half_km on each side (WGS 84 DEMs)."""
    dlat = half_km / 111.32
    dlon = half_km / (111.32 * math.cos(math.radians(lat)))
    path = os.path.join(folder, "dem_window.vrt")
    gdal.Translate(path, dem, format="VRT", projWin=[lon - dlon, lat + dlat, lon + dlon, lat - dlat])
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dem", default=DEFAULT_DEM)
    ap.add_argument("--centre", nargs=2, type=float, default=(10.7705, 46.8604), metavar=("LON", "LAT"))
    ap.add_argument("--size-km", type=float, default=3.0)
    ap.add_argument("--resolution", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--margin-m", type=float, default=1000.0)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--max-mb", type=float, default=2.0)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        window = crop_dem(args.dem, args.centre[0], args.centre[1], args.size_km / 2 + args.margin_m / 1000 + 0.5,
                          tmp)
        staging = os.path.join(tmp, "out")
        paths = simulate.simulate_scene(window, staging, seed=args.seed, size_km=args.size_km,
                                        resolution=args.resolution, margin_m=args.margin_m, log=print,
                                        source_name=os.path.basename(args.dem))
        with open(paths["summary"]) as fh:
            summary = json.load(fh)
        summary["dem_window_centre_lonlat"] = list(args.centre)
        with open(paths["summary"], "w") as fh:
            json.dump(summary, fh, indent=1)
        size = sum(os.path.getsize(p) for p in paths.values()) / 1e6
        for name, p in summary["passes"].items():
            print(f"{name}: heading {p['heading_deg']:.1f}, incidence {p['incidence_centre_deg']:.1f} deg, "
                  f"{p['acquisition_time']}, layover {100 * p['layover_fraction']:.1f} %, "
                  f"shadow {100 * p['shadow_fraction']:.1f} %")
        for lk in summary["lakes"]:
            print(f"lake {lk['lake_id']}: {lk['area_m2'] / 1e6:.3f} km2 at {lk['level_m']:.0f} m, rough "
                  f"{100 * lk['rough_frac']:.0f} %, layover/shadow asc {100 * lk['layover_asc']:.0f}/"
                  f"{100 * lk['shadow_asc']:.0f} %, dsc {100 * lk['layover_dsc']:.0f}/{100 * lk['shadow_dsc']:.0f} %,"
                  f" inventory IoU {lk['inventory_iou']:.2f}")
        print(f"{len(paths)} files, {size:.2f} MB")
        if size > args.max_mb:
            raise SystemExit(f"the sample is {size:.2f} MB, above --max-mb {args.max_mb}: not kept")
        os.makedirs(args.out, exist_ok=True)
        for p in paths.values():
            shutil.copy2(p, os.path.join(args.out, os.path.basename(p)))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
