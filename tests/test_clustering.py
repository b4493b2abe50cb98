"""Clusterers: every method separates two-class synthetic images; k selection (BIC,
Calinski-Harabasz), the water rule, LVQ and GMM against hand-worked and analytic numbers."""
import math

import numpy as np
import pytest
from scipy import stats

from glasar.algorithms import GlasarError
from glasar.algorithms import clustering as C


def two_class_image(shape=(200, 200), radius=40, seed=0, water=((-22.0, 1.5), (-29.0, 1.5)),
                    land=((-11.0, 2.0), (-18.0, 2.0))):
    """VV and VH dB of a round lake in land; returns (features (n, 2), truth (n,))."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    lake = ((yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2 < radius ** 2).ravel()
    feats = np.empty((lake.size, 2))
    for j in range(2):
        feats[:, j] = np.where(lake, rng.normal(water[j][0], water[j][1], lake.size),
                               rng.normal(land[j][0], land[j][1], lake.size))
    return feats, lake


@pytest.mark.parametrize("method", C.CLUSTER_METHODS)
def test_every_clusterer_separates_a_two_class_image(method):
    feats, truth = two_class_image()
    water = C.cluster_water(feats, method, seed=0)
    assert water.dtype == bool and water.shape == truth.shape
    # The classes are 11 dB apart in both bands (>= 5 standard deviations): Bayes accuracy
    # is above 0.9999; every clusterer must reach 0.995.
    assert np.mean(water == truth) > 0.995


@pytest.mark.parametrize("method", C.CLUSTER_METHODS)
def test_every_clusterer_on_a_small_lake_and_one_band(method):
    feats, truth = two_class_image(radius=25)  # water 4.9 % of the pixels, VV only
    water = C.cluster_water(feats[:, :1], method, seed=1)
    assert np.mean(water[truth]) > 0.99  # recall
    assert np.sum(water & truth) / water.sum() > 0.9  # precision (land tail below the split)


def test_tiny_lake_splits_land_for_two_cluster_kmeans():
    """Water 1.7 %: for k = 2 the SSE gain of isolating the water, N p (1 - p) (11 dB)^2 =
    2.1 N, is below that of halving the land Gaussian, N (1 - p) (2/pi) (2 dB)^2 = 2.5 N, so
    k-means and LVQ split the land; X-means and cascade k-means (k > 2 and the largest-gap
    rule) and the Gaussian mixture keep the lake."""
    feats, truth = two_class_image(radius=15)
    p = truth.mean()
    assert p * (1 - p) * 11 ** 2 < (1 - p) * (2 / math.pi) * 2 ** 2
    for method in ("kmeans", "lvq"):
        water = C.cluster_water(feats, method, seed=1)
        assert np.sum(water & truth) / water.sum() < 0.1
    for method in ("xmeans", "cascade_kmeans", "gmm"):
        water = C.cluster_water(feats, method, seed=1)
        assert np.mean(water[truth]) > 0.99
        assert np.sum(water & truth) / water.sum() > 0.9


@pytest.mark.parametrize("method", C.CLUSTER_METHODS)
def test_clusterers_are_deterministic_for_a_seed(method):
    feats, _ = two_class_image(shape=(150, 150), seed=3)
    a = C.cluster_water(feats, method, seed=7, max_samples=5000)
    b = C.cluster_water(feats, method, seed=7, max_samples=5000)
    assert np.array_equal(a, b)


def test_water_rule_largest_gap():
    # Sorted centres 0.1, 0.15, 0.6, 0.9: gaps 0.05, 0.45, 0.30 -> the two darkest are water.
    assert C.water_clusters([0.6, 0.1, 0.9, 0.15]).tolist() == [False, True, False, True]
    assert C.water_clusters([0.8, 0.2]).tolist() == [False, True]
    # 0.1 | 0.5, 0.7: gaps 0.4, 0.2 -> only the darkest.
    assert C.water_clusters([0.5, 0.7, 0.1]).tolist() == [False, False, True]
    with pytest.raises(GlasarError):
        C.water_clusters([0.3])


def test_bic_hand_worked():
    # x = 0, 2 | 10, 12: centres 1, 11, SSE = 4, R = 4, d = 1, K = 2,
    # s^2 = 4 / (1 * 2) = 2, l = 4 ln(1/2) - 2 ln(2 pi 2) - 1, p = 1 + 2 + 1 = 4,
    # BIC = l - 2 ln 4.
    x = np.array([[0.0], [2.0], [10.0], [12.0]])
    bic = C.bic_kmeans(x, np.array([0, 0, 1, 1]), np.array([[1.0], [11.0]]))
    expected = 4 * math.log(0.5) - 2 * math.log(4 * math.pi) - 1 - 2 * math.log(4)
    assert bic == pytest.approx(expected, abs=1e-12)


def blobs(centres, n_per, sd, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(c, sd, (n_per, len(c))) for c in centres])
    y = np.repeat(np.arange(len(centres)), n_per)
    return x, y


@pytest.mark.parametrize("n_classes", [2, 3])
def test_xmeans_and_cascade_pick_the_true_k(n_classes):
    # VV dB of water, wet moraine and dry land; VH 7 dB lower. Spherical, equal spread.
    vv = [-24.0, -12.0, -4.0][:n_classes]
    x, y = blobs([(v, v - 7.0) for v in vv], 3000, 1.0)
    water_x, info_x = C.xmeans_water(x, kmax=5, return_info=True)
    water_c, info_c = C.cascade_kmeans_water(x, kmax=5, return_info=True)
    assert info_x["k"] == n_classes
    assert info_c["k"] == n_classes
    # Water = the darkest blob only (gaps 12 and 8 dB).
    for water in (water_x, water_c):
        assert np.array_equal(water, y == 0)


def test_xmeans_kmax_2_is_the_original_call():
    x, y = blobs([(-24.0, -31.0), (-12.0, -19.0), (-4.0, -11.0)], 2000, 1.0)
    water, info = C.xmeans_water(x, kmax=2, return_info=True)
    assert info["k"] == 2
    assert np.array_equal(water, y == 0)


def test_lvq_prototypes_converge_to_the_class_means():
    x, y = blobs([(0.2, 0.3), (0.8, 0.6)], 5000, 0.05, seed=2)
    rng = np.random.default_rng(0)
    protos = C.lvq_prototypes(x, rng, 2, epochs=10)
    protos = protos[np.argsort(protos[:, 0])]
    # With a linearly decaying rate the prototypes end at the running means of their
    # Voronoi cells; the blobs do not overlap, so those are the blob means.
    means = np.array([x[y == 0].mean(axis=0), x[y == 1].mean(axis=0)])
    assert np.abs(protos - means).max() < 0.01


def test_lvq_minibatch_update_equals_sequential_updates_for_equal_samples():
    # n equal samples x with rate eta move a prototype w to x + (1 - eta)^n (w - x).
    x = np.tile([[1.0, 1.0]], (4, 1))
    far = np.tile([[-10.0, -10.0]], (4, 1))
    data = np.concatenate([x, far])
    protos = C.lvq_prototypes(data, np.random.default_rng(0), 2, epochs=1, batch_size=8, learning_rate=0.5)
    # One step only, eta = 0.5: each prototype starts on a sample and stays there.
    assert sorted(protos[:, 0].tolist()) == [-10.0, 1.0]


def test_gmm_beats_kmeans_for_unequal_spreads():
    # Water tight (sd 0.8 dB), land broad (sd 4 dB), water 20 %: k-means splits near the
    # midpoint of the means, the mixture near the Bayes boundary.
    rng = np.random.default_rng(4)
    n_w, n_l = 8000, 32000
    vv = np.concatenate([rng.normal(-22.0, 0.8, n_w), rng.normal(-12.0, 4.0, n_l)])
    truth = np.r_[np.ones(n_w, bool), np.zeros(n_l, bool)]
    acc_gmm = np.mean(C.gmm_water(vv[:, None]) == truth)
    acc_km = np.mean(C.kmeans_water(vv[:, None]) == truth)
    # Bayes accuracy of this mixture, by numerical integration over the Bayes region.
    t = np.linspace(-40, 10, 200001)
    pw, pl = 0.2 * stats.norm.pdf(t, -22, 0.8), 0.8 * stats.norm.pdf(t, -12, 4.0)
    bayes_acc = np.trapz(np.maximum(pw, pl), t)
    assert acc_gmm > acc_km + 0.01
    assert acc_gmm == pytest.approx(bayes_acc, abs=0.006)


def test_kmeans_sample_weight_hand_worked():
    # Points 0, 5, 10. Weights 10, 1, 1: {0} | {5, 10} costs 2 * 2.5^2 = 12.5, {0, 5} | {10}
    # costs 10 (5/11)^2 + (5 - 5/11)^2 = 22.7 -> water = {0}. Weights 1, 1, 10: mirror image
    # -> water = {0, 5}.
    x = np.array([[0.0], [5.0], [10.0]])
    assert C.kmeans_water(x, sample_weight=[10, 1, 1]).tolist() == [True, False, False]
    assert C.kmeans_water(x, sample_weight=[1, 1, 10]).tolist() == [True, True, False]


def test_training_sample_is_bounded_and_all_pixels_are_labelled():
    feats, truth = two_class_image(shape=(300, 300), radius=60)
    water = C.cluster_water(feats, "kmeans", max_samples=2000)
    assert water.shape == (90000,)
    assert np.mean(water == truth) > 0.995


def test_minmax_normalise():
    f = C.minmax_normalise(np.array([[-20.0, 5.0], [-10.0, 5.0], [-15.0, 5.0]]))
    assert f[:, 0].tolist() == [0.0, 1.0, 0.5]
    assert f[:, 1].tolist() == [0.0, 0.0, 0.0]


def test_bad_input():
    with pytest.raises(GlasarError, match="constant"):
        C.cluster_water(np.full((100, 2), -12.0), "gmm")
    with pytest.raises(GlasarError, match="finite"):
        C.cluster_water(np.array([[1.0], [np.nan], [3.0]]), "kmeans")
    with pytest.raises(GlasarError, match="unknown"):
        C.cluster_water(np.arange(10.0)[:, None], "dbscan")


def test_equivalent_threshold_hand_worked():
    # Sorted values 1 2 3 4 5 6, water labels W W L W L L: splits after 0..6 cost
    # 3, 2, 1, 2, 1, 2, 3 -> the first minimum is after position 2 (between 2 and 3),
    # t = 2.5 (one error: the water pixel at 4).
    v = np.array([4.0, 1.0, 6.0, 2.0, 5.0, 3.0])
    w = np.array([True, True, False, True, False, False])
    assert C.equivalent_threshold(v, w) == 2.5
    # A clean split reproduces the labels exactly.
    feats, truth = two_class_image(shape=(100, 100), radius=30)
    t = C.equivalent_threshold(feats[:, 0], feats[:, 0] < -16.0)
    assert np.array_equal(feats[:, 0] < t, feats[:, 0] < -16.0)
    assert np.isnan(C.equivalent_threshold(v, np.zeros(6, bool)))
