"""Speed of every lake-extraction method on one lake window of 200 x 200 pixels.

Budgets (issue 6): every threshold method <= 20 ms, k-means <= 50 ms, SNIC + k-means <= 300 ms.
The window is synthetic but SAR-like: a round lake (radius 35 px) in land, VV and VH dB from
gamma-distributed speckle (4.4 looks, as a boxcar-free GRD) around sigma0 of -22 / -29 dB
(water) and -10 / -17 dB (land), with 2 % nodata. Each figure is the median of several runs
after one warm-up (imports, first-call set-up); the baseline is np.histogram(VV, 256) of the
same window in the same run, and every method is also given as a multiple of it, which varies
less from machine to machine than milliseconds.

Run:  .venv/bin/python benchmarks/extraction_speed.py [--repeats N] [--strict]
(--strict exits with status 1 when a budget is exceeded.)
"""
import _bench  # noqa: F401 (first: one thread per process, glasar importable)

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from _bench import pin_one_core  # noqa: E402

from glasar.algorithms import clustering, snic, thresholds  # noqa: E402

THRESHOLD_BUDGET_MS = 20.0
KMEANS_BUDGET_MS = 50.0
SNIC_BUDGET_MS = 300.0


def sar_window(size=200, radius=35, looks=4.4, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    lake = (yy - size / 2) ** 2 + (xx - size / 2 + 10) ** 2 < radius ** 2
    bands = []
    for water_db, land_db in ((-22.0, -10.0), (-29.0, -17.0)):
        sigma0 = 10 ** (np.where(lake, water_db, land_db) / 10)
        speckle = rng.gamma(looks, 1.0 / looks, lake.shape)
        bands.append(10 * np.log10(sigma0 * speckle))
    valid = rng.random(lake.shape) > 0.02
    for b in bands:
        b[~valid] = np.nan
    return bands, valid, lake


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.process_time()  # CPU time: other jobs on the machine do not inflate it
        result = fn()
        times.append((time.process_time() - t0) * 1e3)
    return statistics.median(times), min(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is exceeded")
    args = parser.parse_args(argv)
    pin_one_core()  # one core, like a worker process of a whole-inventory run

    bands, valid, lake = sar_window()
    vv = bands[0]
    vv_valid = vv[valid]
    features = np.stack([b[valid] for b in bands], axis=1)
    base_ms, _, _ = timed(lambda: np.histogram(vv_valid, 256), max(args.repeats, 20))

    rows = []  # (name, budget, median ms, min ms, accuracy)

    def accuracy(water):
        return float(np.mean(water[valid] == lake[valid]))

    for method in thresholds.ALL_THRESHOLD_METHODS:
        med, best, t = timed(lambda m=method: thresholds.threshold_image(vv, valid, m, lake_mask=lake), args.repeats)
        rows.append((method, THRESHOLD_BUDGET_MS, med, best, accuracy(valid & (vv < t)), f"t = {t:.2f} dB"))
    for method in clustering.CLUSTER_METHODS:
        med, best, labels = timed(lambda m=method: clustering.cluster_water(features, m, seed=0), args.repeats)
        water = np.zeros_like(valid)
        water[valid] = labels
        budget = KMEANS_BUDGET_MS if method == "kmeans" else None
        rows.append((method, budget, med, best, accuracy(water), "VV+VH"))
    med, best, labels = timed(lambda: snic.snic(bands, valid, size=10, compactness=1.0), args.repeats)
    rows.append(("snic (segmentation only)", None, med, best, float("nan"), f"{labels.max() + 1} superpixels"))
    for name, with_bands in (("snic_kmeans", False), ("snic_kmeans_with_bands", True)):
        med, best, water = timed(lambda wb=with_bands: snic.snic_kmeans_water(bands, valid, with_bands=wb, seed=0),
                                 args.repeats)
        rows.append((name, SNIC_BUDGET_MS, med, best, accuracy(water), "VV+VH"))

    print(f"Lake window 200 x 200 px ({int(valid.sum())} valid), lake {int(lake.sum())} px; "
          f"median CPU time of {args.repeats} runs after a warm-up, one core")
    print(f"baseline np.histogram(VV, 256): {base_ms:.3f} ms")
    print(f"{'method':26s} {'median ms':>9s} {'min ms':>8s} {'x base':>8s} {'budget':>7s} {'ok':>4s} {'accuracy':>8s}  note")
    over = []
    for name, budget, med, best, acc, note in rows:
        ok = "" if budget is None else ("yes" if med <= budget else "NO")
        if ok == "NO":
            over.append(name)
        bud = "" if budget is None else f"{budget:.0f}"
        acc_s = "" if np.isnan(acc) else f"{acc:.4f}"
        print(f"{name:26s} {med:9.2f} {best:8.2f} {med / base_ms:8.1f} {bud:>7s} {ok:>4s} {acc_s:>8s}  {note}")
    if over:
        print("over budget: " + ", ".join(over))
    else:
        print("all budgets met")
    return 1 if (over and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
