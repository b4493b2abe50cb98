"""Speed of every speckle filter on a 2000 x 2000 image, on one core.

Budgets (issue 3): Refined Lee <= 150 ns per pixel and at least 10x faster than the direct form
(sixteen 7 x 7 correlations: window mean and mean square for each of the 8 directional
windows, scipy.ndimage.correlate) measured in the same run; every other filter <= 100 ns/px.
The image is fully developed 4.4-look gamma speckle over a scene with edges (a step of +10 dB
and a bright square) and 1 % scattered nodata, float32 linear power; window 7 x 7.

One core: the process pins itself to one CPU (like ``taskset -c 0``) and BLAS/OpenMP threads
are set to 1 before numpy loads. Times are CPU time of this process (``time.process_time``),
so other jobs on the machine slow the wall clock but not the figure; the best of N runs after
a warm-up is reported, with the wall-clock time beside it. The Refined Lee speed-up and the
agreement of the two forms (pixels at least 3 from the edge) come from the same run.

Run:  .venv/bin/python benchmarks/speckle_speed.py [--size 2000] [--repeats 3] [--strict]
(--strict exits with status 1 when a budget is missed.)
"""
import _bench  # noqa: F401 (first: one thread per process, glasar importable)

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from _bench import pin_one_core  # noqa: E402

from glasar.algorithms import speckle  # noqa: E402

REFINED_LEE_BUDGET_NS = 150.0
REFINED_LEE_MIN_SPEEDUP = 10.0
OTHER_BUDGET_NS = 100.0


def scene(size, looks=4.4, seed=0):
    rng = np.random.default_rng(seed)
    truth = np.full((size, size), 0.02, np.float32)
    truth[:, size // 2:] *= 10.0  # +10 dB step edge
    q = size // 4
    truth[q:2 * q, q:2 * q] = 1.0  # a bright square
    img = truth * rng.gamma(looks, 1.0 / looks, truth.shape).astype(np.float32)
    img[rng.random(img.shape) < 0.01] = np.nan
    return img


def timed(fn, repeats):
    fn()  # warm-up: plans, caches, page faults
    best_cpu = best_wall = np.inf
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall, result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args()
    cpus = pin_one_core()
    img = scene(args.size)
    npx = img.size
    print(f"speckle filters on {args.size} x {args.size} float32 power, window 7, L = 4.4, one core "
          f"(CPU {cpus}), "
          f"best of {args.repeats}")
    print(f"{'filter':<28}{'ns/px (cpu)':>12}{'ns/px (wall)':>14}{'budget':>9}  verdict")
    failures = []
    results = {}
    for name in speckle.FILTERS[1:]:
        cpu, wall, out = timed(lambda: speckle.apply_speckle_filter(img, name, 7, 4.4), args.repeats)
        results[name] = (cpu, out)
        budget = REFINED_LEE_BUDGET_NS if name == "refined_lee" else OTHER_BUDGET_NS
        ns = cpu / npx * 1e9
        ok = ns <= budget
        failures += [] if ok else [f"{name} {ns:.0f} ns/px > {budget:.0f}"]
        print(f"{name:<28}{ns:>12.1f}{wall / npx * 1e9:>14.1f}{budget:>9.0f}  {'ok' if ok else 'OVER BUDGET'}")

    gap_free = np.where(np.isfinite(img), img, np.float32(0.02))  # the direct form needs no nodata
    fast_cpu, _, fast = timed(lambda: speckle.refined_lee(gap_free), args.repeats)
    direct_cpu, direct_wall, direct = timed(lambda: speckle.refined_lee_direct(gap_free, masked=False), args.repeats)
    speedup = direct_cpu / fast_cpu
    inner = (slice(3, -3), slice(3, -3))
    rel = np.abs(fast[inner] - direct[inner]) / np.abs(direct[inner])
    print(f"{'refined_lee direct (16 corr)':<28}{direct_cpu / npx * 1e9:>12.1f}{direct_wall / npx * 1e9:>14.1f}"
          f"{'':>9}  reference")
    print(f"refined_lee fast vs direct, same run: {fast_cpu / npx * 1e9:.1f} vs {direct_cpu / npx * 1e9:.1f} ns/px "
          f"= {speedup:.1f}x faster (budget >= {REFINED_LEE_MIN_SPEEDUP:.0f}x); identical results on "
          f"{100 * np.mean(rel < 1e-4):.4f} % of the pixels >= 3 from the edge (max relative difference elsewhere "
          f"{rel.max():.2g}: near-ties of the direction choice under float32 rounding)")
    if speedup < REFINED_LEE_MIN_SPEEDUP:
        failures.append(f"refined_lee speed-up {speedup:.1f}x < {REFINED_LEE_MIN_SPEEDUP:.0f}x")
    print("all budgets met" if not failures else "MISSED: " + "; ".join(failures))
    return 1 if (failures and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
