"""Speed of the scene simulator (algorithms/simulate.py) on the bundled SRTM subset.

    /usr/bin/python3 benchmarks/simulate_speed.py [--sizes 3 6 12] [--repeat 2]

For each scene size (km, at 10 m) it prints the wall time of the whole simulation (lakes,
classes, both passes; no file writing) and, as baselines measured in the same run on the
same grid, the time of the layover/shadow truth alone for both passes (the 2-pass running
max/min along range lines) and of one bilinear resampling of the DEM onto the range-line
lattice (scipy.ndimage.map_coordinates). The requirement is a 6 x 6 km scene at 10 m in
under 30 s.
"""
import argparse
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "build", "pluginpath"))
if not os.path.exists(os.path.join(REPO, "build", "pluginpath", "glasar")):
    os.makedirs(os.path.join(REPO, "build", "pluginpath"), exist_ok=True)
    os.symlink(REPO, os.path.join(REPO, "build", "pluginpath", "glasar"), target_is_directory=True)

from scipy import ndimage  # noqa: E402

from glasar.algorithms import simulate as S  # noqa: E402
from glasar.algorithms.grid import warp_band  # noqa: E402

DEM = os.path.join(REPO, "sample_data", "dem", "hef_srtm.tif")


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", type=float, default=[3.0, 6.0, 12.0])
    ap.add_argument("--resolution", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    print(f"{'size':>6} {'pixels':>9} {'lattice':>11} {'simulate':>9} {'ns/px':>7} {'truth x2':>9} "
          f"{'resample':>9} {'sim/truth':>9} {'sim/resample':>12}")
    for size in args.sizes:
        grid, margin, lon, _ = S.scene_window(DEM, size, args.resolution)
        dem = warp_band(DEM, 1, grid, resampling="cubic").astype(np.float64)
        rng = np.random.default_rng(0)
        geoms = S.default_geometries(rng, lon)
        t_sim, sim = best_of(lambda: S.simulate_from_dem(dem, grid, margin, seed=1, lon=lon), args.repeat)
        t_truth, _ = best_of(lambda: [S.layover_shadow_truth(dem, grid, g) for g in geoms], args.repeat)
        lat = S.range_lattice(grid, geoms[0], spacing=grid.res / 2)
        coords = lat.grid_coords(grid)
        t_res, _ = best_of(lambda: ndimage.map_coordinates(dem, coords, order=1, cval=np.nan, prefilter=False),
                           args.repeat)
        n_px = sim.scene_grid.rows * sim.scene_grid.cols
        n_lat = lat.shape[0] * lat.shape[1]
        print(f"{size:>4g}km {n_px:>9d} {n_lat:>11d} {t_sim:>8.2f}s {1e9 * t_sim / n_px:>7.0f} {t_truth:>8.2f}s "
              f"{t_res:>8.2f}s {t_sim / t_truth:>9.1f} {t_sim / t_res:>12.1f}")
        if size == 6.0 and args.resolution == 10.0:
            print(f"       6 x 6 km at 10 m: {t_sim:.1f} s ({'meets' if t_sim < 30 else 'MISSES'} the 30 s target)")


if __name__ == "__main__":
    main()
