"""Unsupervised clustering of pixels into water (the dark cluster) and land."""
import numpy as np

from . import GlasarError

CLUSTER_METHODS = ("kmeans",)


def minmax_normalise(features):
    """Scale each feature column to [0, 1] (the original's minmax_norm before clustering)."""
    f = np.asarray(features, dtype=np.float64)
    lo = f.min(axis=0)
    span = f.max(axis=0) - lo
    span[span == 0] = 1.0
    return (f - lo) / span


def kmeans_water(features, seed=0, max_samples=20000):
    """k-means with k = 2 (scikit-learn) on features (n_pixels, n_features; first column VV dB).

    Trained on at most max_samples pixels (the original samples 1000) then applied to all;
    the water cluster is the one with the lower mean of the first feature.
    Returns a boolean array (n_pixels,).
    """
    from sklearn.cluster import KMeans

    f = minmax_normalise(features)
    if f.shape[0] < 2 or np.all(np.ptp(f, axis=0) == 0):
        raise GlasarError("constant image: k-means needs two distinct values")
    rng = np.random.default_rng(seed)
    train = f if f.shape[0] <= max_samples else f[rng.choice(f.shape[0], max_samples, replace=False)]
    model = KMeans(n_clusters=2, n_init=4, random_state=seed).fit(train)
    labels = model.predict(f)
    dark = int(np.argmin(model.cluster_centers_[:, 0]))
    return labels == dark
