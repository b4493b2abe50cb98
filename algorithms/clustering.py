"""Unsupervised clustering of pixels into water (the dark cluster) and land.

Methods (the `METHOD` static strings): ``kmeans``, ``xmeans``, ``cascade_kmeans``, ``lvq``,
``gmm``. All take features (n_pixels, n_features) whose first column is the band water is
dark in (VV dB, or VH when only VH is used), min-max normalise every column (the original's
`minmax_norm` before Weka clustering), train on a random sample of at most max_samples pixels
(fixed seed; the original samples 1000), and label every pixel.

Water rule (`water_clusters`): sort the cluster centres by their first feature; the water
clusters are those below the largest gap between consecutive sorted centres. With k = 2 this is
the darker cluster; with k > 2 a water body split into a dark and a darker cluster stays whole
while a separate land class (wet snow, moraine) stays land.
"""
import contextlib
import functools

import numpy as np

from . import GlasarError

CLUSTER_METHODS = ("kmeans", "xmeans", "cascade_kmeans", "lvq", "gmm")
DEFAULT_MAX_SAMPLES = 20000


def minmax_normalise(features):
    """Scale each feature column to [0, 1] (the original's minmax_norm before clustering)."""
    f = np.asarray(features, dtype=np.float64)
    lo = f.min(axis=0)
    span = f.max(axis=0) - lo
    span[span == 0] = 1.0
    return (f - lo) / span


def _prepare(features, seed, max_samples):
    f = np.asarray(features, dtype=np.float64)
    if f.ndim == 1:
        f = f[:, None]
    if f.ndim != 2 or f.shape[0] < 2:
        raise GlasarError("clustering needs a (pixels, features) array with at least 2 pixels")
    if not np.isfinite(f).all():
        raise GlasarError("clustering features must be finite (pass only valid pixels)")
    if np.all(np.ptp(f, axis=0) == 0):
        raise GlasarError("constant image: clustering needs two distinct values")
    f = minmax_normalise(f)
    rng = np.random.default_rng(seed)
    if f.shape[0] <= max_samples:
        train = f
    else:
        train = f[rng.choice(f.shape[0], int(max_samples), replace=False)]
    return f, train, rng


@functools.lru_cache(maxsize=None)
def _threadpools():
    """threadpoolctl's view of the loaded OpenMP/BLAS libraries, made once per process (scanning
    them costs ~3 ms, once per lake otherwise); scikit-learn's own are loaded by then."""
    try:
        import sklearn.cluster  # noqa: F401 (loads the OpenMP runtime the controller must see)
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return None
    return ThreadpoolController()


def single_thread():
    """Context running scikit-learn's OpenMP/BLAS code on one thread. On a per-lake window
    (<= 20000 training pixels) threads buy nothing, and when the cores are busy OpenMP's
    spinning threads make k-means 10-50 times slower (measured: 6 ms vs 40-400 ms)."""
    controller = _threadpools()
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1)


def water_clusters(centres_first):
    """Boolean per cluster: True for the clusters whose first-feature centre lies below the
    largest gap between consecutive sorted centres (ties: the lowest gap)."""
    c = np.asarray(centres_first, dtype=np.float64)
    if c.size < 2:
        raise GlasarError("at least two clusters are needed to tell water from land")
    order = np.argsort(c, kind="stable")
    gaps = np.diff(c[order])
    cut = int(np.argmax(gaps))
    water = np.zeros(c.size, dtype=bool)
    water[order[: cut + 1]] = True
    return water


def _kmeans(train, k, seed, n_init=4, sample_weight=None):
    from sklearn.cluster import KMeans

    with single_thread():
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(train, sample_weight=sample_weight)


def kmeans_water(features, seed=0, max_samples=DEFAULT_MAX_SAMPLES, sample_weight=None):
    """k-means with k = 2 (scikit-learn; MacQueen 1967, Lloyd 1982) on features
    (n_pixels, n_features; first column VV dB). Trained on at most max_samples pixels, then
    applied to all; water is the cluster with the lower mean of the first feature.
    sample_weight (n_pixels,) weights the pixels (e.g. superpixel sizes) and disables
    subsampling. Returns a boolean array (n_pixels,)."""
    if sample_weight is not None:
        f, _, _ = _prepare(features, seed, np.inf)
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (f.shape[0],) or np.any(w < 0) or w.sum() <= 0:
            raise GlasarError("sample_weight must be one non-negative weight per row")
        model = _kmeans(f, 2, seed, sample_weight=w)
        labels = model.labels_
    else:
        f, train, _ = _prepare(features, seed, max_samples)
        model = _kmeans(train, 2, seed)
        with single_thread():
            labels = model.predict(f)
    water = water_clusters(model.cluster_centers_[:, 0])
    return water[labels]


def bic_kmeans(x, labels, centres):
    """Bayesian information criterion of a k-means partition (Pelleg and Moore 2000,
    X-means, ICML), higher is better: identical spherical Gaussians with the pooled ML variance
    s^2 = sum ||x - c||^2 / (d (R - K)), log-likelihood
    l = sum_j R_j ln(R_j / R) - R d / 2 ln(2 pi s^2) - d (R - K) / 2, and
    p = (K - 1) + K d + 1 free parameters: BIC = l - p / 2 ln R."""
    x = np.asarray(x, dtype=np.float64)
    r, d = x.shape
    k = centres.shape[0]
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    sse = float(((x - centres[labels]) ** 2).sum())
    if r <= k:
        return -np.inf
    var = max(sse / (d * (r - k)), 1e-12)
    nz = sizes[sizes > 0]
    loglik = float((nz * np.log(nz / r)).sum()) - r * d / 2.0 * np.log(2 * np.pi * var) - d * (r - k) / 2.0
    p = (k - 1) + k * d + 1
    return loglik - p / 2.0 * np.log(r)


def _select_k(train, seed, kmax, score, n_init):
    best = None
    for k in range(2, int(kmax) + 1):
        if k >= train.shape[0]:
            break
        model = _kmeans(train, k, seed, n_init=n_init)
        if np.unique(model.labels_).size < k:
            continue  # fewer distinct points than k: larger k cannot do better
        s = score(train, model)
        if best is None or s > best[0]:
            best = (s, k, model)
    if best is None:
        raise GlasarError("constant image: clustering needs two distinct values")
    return best


def xmeans_water(features, seed=0, max_samples=DEFAULT_MAX_SAMPLES, kmax=4, return_info=False):
    """X-means (Pelleg and Moore 2000): k chosen by BIC (`bic_kmeans`) over k in [2, kmax],
    each k fitted by scikit-learn k-means; a global-BIC version of X-means' recursive
    splitting. (The original calls Weka XMeans with maxClusters = 2, i.e. always k = 2;
    kmax = 2 reproduces that.) Water by `water_clusters`."""
    f, train, _ = _prepare(features, seed, max_samples)
    score, k, model = _select_k(train, seed, kmax, lambda x, m: bic_kmeans(x, m.labels_, m.cluster_centers_), 4)
    with single_thread():
        labels = model.predict(f)
    water = water_clusters(model.cluster_centers_[:, 0])[labels]
    return (water, {"k": k, "bic": score}) if return_info else water


def cascade_kmeans_water(features, seed=0, max_samples=DEFAULT_MAX_SAMPLES, kmax=4, restarts=10,
                         return_info=False):
    """Cascade k-means (Weka CascadeSimpleKMeans): k-means for every k in [2, kmax] with
    `restarts` initialisations each, keeping the k with the largest Calinski-Harabasz index
    CH = [B / (k - 1)] / [W / (n - k)] (Calinski and Harabasz 1974, Commun. Stat. 3(1):1-27;
    B, W between- and within-cluster dispersion). Water by `water_clusters`."""
    from sklearn.metrics import calinski_harabasz_score

    f, train, _ = _prepare(features, seed, max_samples)
    score, k, model = _select_k(train, seed, kmax, lambda x, m: calinski_harabasz_score(x, m.labels_), restarts)
    with single_thread():
        labels = model.predict(f)
    water = water_clusters(model.cluster_centers_[:, 0])[labels]
    return (water, {"k": k, "calinski_harabasz": score}) if return_info else water


def lvq_prototypes(train, rng, n_prototypes=2, epochs=20, batch_size=256, learning_rate=1.0):
    """Unsupervised learning vector quantisation (competitive learning; Kohonen 1990,
    Proc. IEEE 78(9):1464-1480; Weka LVQ of the original: learning rate 1 decaying linearly).

    Prototypes start k-means++-style (a random sample, then samples drawn with probability
    proportional to the squared distance to the nearest prototype, so none starts dead).
    Each minibatch assigns its samples to the nearest prototype (winner takes all) and moves
    each winner j towards the mean xbar_j of its n_j samples by 1 - (1 - eta)^n_j, which is
    exactly what n_j sequential updates w <- w + eta (x - w) give when the samples are equal;
    eta decays linearly from learning_rate to 0 over all minibatches. Returns (P, d)."""
    n, d = train.shape
    protos = np.empty((n_prototypes, d))
    protos[0] = train[rng.integers(n)]
    for j in range(1, n_prototypes):
        d2 = ((train[:, None, :] - protos[None, :j, :]) ** 2).sum(axis=2).min(axis=1)
        total = d2.sum()
        idx = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
        protos[j] = train[idx]
    batches = max(1, -(-n // int(batch_size)))
    steps = int(epochs) * batches
    step = 0
    for _ in range(int(epochs)):
        order = rng.permutation(n)
        for b in range(batches):
            x = train[order[b * batch_size:(b + 1) * batch_size]]
            eta = learning_rate * (1.0 - step / steps)
            step += 1
            if eta <= 0 or x.size == 0:
                continue
            win = ((x[:, None, :] - protos[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
            cnt = np.bincount(win, minlength=n_prototypes).astype(np.float64)
            sums = np.stack([np.bincount(win, weights=x[:, j], minlength=n_prototypes) for j in range(d)], axis=1)
            hit = cnt > 0
            mean = sums[hit] / cnt[hit, None]
            rate = 1.0 - (1.0 - min(eta, 1.0)) ** cnt[hit]
            protos[hit] += rate[:, None] * (mean - protos[hit])
    return protos


def lvq_water(features, seed=0, max_samples=DEFAULT_MAX_SAMPLES, epochs=20, batch_size=256,
              learning_rate=1.0):
    """LVQ with 2 prototypes (`lvq_prototypes`) trained on the sample; every pixel takes its
    nearest prototype; water is the prototype with the lower first feature."""
    f, train, rng = _prepare(features, seed, max_samples)
    protos = lvq_prototypes(train, rng, 2, epochs, batch_size, learning_rate)
    d2 = ((f[:, None, :] - protos[None, :, :]) ** 2).sum(axis=2)
    labels = d2.argmin(axis=1)
    return water_clusters(protos[:, 0])[labels]


def gmm_water(features, seed=0, max_samples=DEFAULT_MAX_SAMPLES, return_info=False):
    """Gaussian mixture with 2 full-covariance components (scikit-learn GaussianMixture, EM;
    Dempster, Laird and Rubin 1977), trained on the sample; each pixel takes its most probable
    component; water is the component with the lower mean of the first feature."""
    from sklearn.mixture import GaussianMixture

    f, train, _ = _prepare(features, seed, max_samples)
    with single_thread():
        model = GaussianMixture(n_components=2, covariance_type="full", reg_covar=1e-6,
                                n_init=1, random_state=seed).fit(train)
        labels = model.predict(f)
    water = water_clusters(model.means_[:, 0])[labels]
    if return_info:
        return water, {"weights": model.weights_.tolist(), "converged": bool(model.converged_)}
    return water


def equivalent_threshold(values, water):
    """The threshold t that best reproduces a water labelling on one band: t minimises the
    disagreement #(v < t and land) + #(v >= t and water). For a clusterer's labels it is the
    split the clusters make along that band (its "threshold_db"), to be checked against the
    same plausible dB range as the histogram thresholds. Ties: the lowest such t, the
    midpoint between the two sorted values it falls between. NaN when all or none is water."""
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.asarray(water, dtype=bool).ravel()
    if v.shape != w.shape:
        raise GlasarError("values and water labels differ in size")
    keep = np.isfinite(v)
    v, w = v[keep], w[keep]
    if v.size == 0 or w.all() or not w.any():
        return float("nan")
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    # Split after position i (0..n): land below + water at or above.
    land_below = np.concatenate(([0], np.cumsum(~w)))
    water_above = w.sum() - np.concatenate(([0], np.cumsum(w)))
    cost = land_below + water_above
    # Only splits between distinct values are realisable.
    ok = np.ones(v.size + 1, dtype=bool)
    ok[1:-1] = v[1:] > v[:-1]
    i = int(np.argmin(np.where(ok, cost, np.iinfo(np.int64).max)))
    if i == 0:
        return float(v[0])
    if i == v.size:
        return float(np.nextafter(v[-1], np.inf))
    return float(0.5 * (v[i - 1] + v[i]))


def cluster_water(features, method="kmeans", seed=0, max_samples=DEFAULT_MAX_SAMPLES, **kwargs):
    """Water labels (bool, n_pixels) of features (n_pixels, n_features; first column the band
    water is dark in) by one of CLUSTER_METHODS; kwargs go to the method (kmax, restarts,
    epochs, ...)."""
    functions = {
        "kmeans": kmeans_water,
        "xmeans": xmeans_water,
        "cascade_kmeans": cascade_kmeans_water,
        "lvq": lvq_water,
        "gmm": gmm_water,
    }
    try:
        fn = functions[method]
    except KeyError:
        raise GlasarError(f"unknown clustering method {method!r}; choose one of {', '.join(CLUSTER_METHODS)}") from None
    return fn(features, seed=seed, max_samples=max_samples, **kwargs)
