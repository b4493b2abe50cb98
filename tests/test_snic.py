"""SNIC superpixels: the optimised queue equals a plain transcription of Achanta and
Susstrunk's algorithm; segments are connected, sizes near the requested size, compactness
trades boundary adherence for compact shapes; SNIC + k-means separates two classes."""
import heapq

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from glasar.algorithms import GlasarError
from glasar.algorithms import clustering as C
from glasar.algorithms import snic as S

CROSS = ndimage.generate_binary_structure(2, 1)


def reference_snic(colours, valid, size, compactness, connectivity=4):
    """Plain SNIC as in Achanta's snic.c: every candidate pushed, no pruning, explicit
    bounds checks. colours: list of 2-D arrays (already scaled). One deliberate rule on top
    (as in glasar's snic): no candidate is pushed onto another seed's pixel, so with
    compactness 0 on a flat image a seed is never swallowed by its neighbour at distance 0."""
    h, w = valid.shape
    seeds = S.seed_grid(valid, size, connectivity)
    labels = -np.ones((h, w), dtype=int)
    nb = len(colours)
    k = len(seeds)
    sums = np.zeros((k, nb + 2))
    count = np.zeros(k)
    offs = [(0, -1), (0, 1), (-1, 0), (1, 0)]
    if connectivity == 8:
        offs += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    wt = (compactness / size) ** 2
    heap = [(0.0, int(i), j) for j, i in enumerate(seeds)]
    heapq.heapify(heap)
    seed_set = set(int(i) for i in seeds)
    while heap:
        _, i, j = heapq.heappop(heap)
        y, x = divmod(i, w)
        if labels[y, x] >= 0:
            continue
        labels[y, x] = j
        sums[j, :nb] += [c[y, x] for c in colours]
        sums[j, nb:] += (x, y)
        count[j] += 1
        mean = sums[j] / count[j]
        for dy, dx in offs:
            yy, xx = y + dy, x + dx
            if (0 <= yy < h and 0 <= xx < w and valid[yy, xx] and labels[yy, xx] < 0
                    and yy * w + xx not in seed_set):
                d = sum((mean[b] - colours[b][yy, xx]) ** 2 for b in range(nb))
                d += wt * ((mean[nb] - xx) ** 2 + (mean[nb + 1] - yy) ** 2)
                heapq.heappush(heap, (d, yy * w + xx, j))
    return labels


def components_per_label(labels, connectivity=4):
    """Number of connected components of every label (1 for a connected segment)."""
    structure = CROSS if connectivity == 4 else np.ones((3, 3), bool)
    out = []
    # find_objects skips 0, so entry j is the box of labels + 1 == j + 1, i.e. label j.
    for j, sl in enumerate(ndimage.find_objects(labels + 1)):
        out.append(0 if sl is None else ndimage.label(labels[sl] == j, structure=structure)[1])
    return np.array(out)


def lake_scene(shape=(200, 200), radius=45, seed=0, water=-22.0, land=-11.0, sd=2.0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    lake = (yy - 96) ** 2 + (xx - 103) ** 2 < radius ** 2
    vv = np.where(lake, water, land) + rng.normal(0, sd, shape)
    vh = vv - 7.0 + rng.normal(0, sd, shape)
    return vv, vh, lake


# --------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("compactness", [0.0, 0.3, 1.0, 5.0])
def test_optimised_queue_equals_reference(connectivity, compactness):
    rng = np.random.default_rng(11)
    colours = [rng.random((37, 41)), rng.random((37, 41))]
    valid = np.ones((37, 41), bool)
    valid[10:14, 5:30] = False  # a nodata bar
    got = S.snic(colours, valid, size=6, compactness=compactness, connectivity=connectivity, normalise=False)
    want = reference_snic(colours, valid, 6, compactness, connectivity)
    assert np.array_equal(got, want)


def test_optimised_queue_equals_reference_three_bands():
    rng = np.random.default_rng(12)
    colours = [rng.random((30, 30)) for _ in range(3)]
    valid = np.ones((30, 30), bool)
    got = S.snic(colours, valid, size=5, compactness=0.5, normalise=False)
    assert np.array_equal(got, reference_snic(colours, valid, 5, 0.5))


@settings(max_examples=40, deadline=None)
@given(
    img=arrays(np.float64, st.tuples(st.integers(1, 25), st.integers(1, 25)),
               elements=st.floats(0, 1, allow_nan=False)),
    holes=st.integers(0, 2 ** 31 - 1),
    size=st.integers(1, 9),
    compactness=st.sampled_from([0.0, 0.5, 2.0]),
    connectivity=st.sampled_from([4, 8]),
)
def test_property_connected_complete_and_exact(img, holes, size, compactness, connectivity):
    valid = np.random.default_rng(holes).random(img.shape) > 0.2
    labels = S.snic([img], valid, size=size, compactness=compactness, connectivity=connectivity,
                    normalise=False)
    assert np.all(labels[valid] >= 0) and np.all(labels[~valid] == -1)
    if valid.any():
        assert np.all(components_per_label(labels, connectivity) == 1)
        assert np.array_equal(labels, reference_snic([img], valid, size, compactness, connectivity))


def test_one_row_step_edge_hand_worked():
    # 1 x 20 strip, values 0 for x < 8 and 1 from x = 8; size 10 -> seeds at x = 5 and 15.
    strip = np.zeros((1, 20))
    strip[0, 8:] = 1.0
    assert S.seed_grid(np.ones((1, 20), bool), 10).tolist() == [5, 15]
    # Colour only: every pixel reaches its own colour's seed at distance 0; the edge holds.
    lab0 = S.snic([strip], None, size=10, compactness=0.0)
    assert lab0.tolist() == [[0] * 8 + [1] * 12]
    # Space dominates (m/s = 100): the boundary is the midpoint between the seeds.
    lab_big = S.snic([strip], None, size=10, compactness=1000.0)
    assert lab_big.tolist() == [[0] * 10 + [1] * 10]


# --------------------------------------------------------------------------- properties
@pytest.mark.parametrize("compactness", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("connectivity", [4, 8])
def test_segments_are_connected(compactness, connectivity):
    vv, vh, _ = lake_scene(shape=(120, 140))
    valid = np.ones(vv.shape, bool)
    valid[40:44, :90] = False
    labels = S.snic([vv, vh], valid, size=10, compactness=compactness, connectivity=connectivity)
    assert np.all(labels[valid] >= 0) and np.all(labels[~valid] == -1)
    n = components_per_label(labels, connectivity)
    assert n.size == labels.max() + 1
    assert np.all(n == 1)


def test_sizes_near_the_requested_size_on_noise():
    rng = np.random.default_rng(1)
    noise = rng.normal(-11.0, 2.0, (200, 200))
    labels = S.snic([noise], None, size=10, compactness=1.0)
    sizes = np.bincount(labels.ravel())
    assert sizes.size == 400  # one superpixel per seed, 20 x 20 seeds
    assert sizes.mean() == pytest.approx(100.0)
    assert np.median(sizes) == pytest.approx(100, rel=0.2)
    lo, hi = np.percentile(sizes, [5, 95])  # 86 and 114 px on this image
    assert 70 <= lo and hi <= 130


def test_sizes_follow_the_size_parameter():
    rng = np.random.default_rng(2)
    noise = rng.normal(-11.0, 2.0, (150, 150))
    for size in (5, 10, 15):
        labels = S.snic([noise], None, size=size, compactness=1.0)
        sizes = np.bincount(labels.ravel())
        assert sizes.size == round(150 / size) ** 2
        assert np.median(sizes) == pytest.approx((150 / round(150 / size)) ** 2, rel=0.25)


def spread(labels):
    """Mean over segments of (var x + var y) / area: 1/6 for a square, larger when ragged."""
    lab = labels.ravel()
    yy, xx = np.indices(labels.shape)
    n = np.bincount(lab).astype(float)
    mx, my = np.bincount(lab, xx.ravel()) / n, np.bincount(lab, yy.ravel()) / n
    vx = np.bincount(lab, xx.ravel() ** 2.0) / n - mx ** 2
    vy = np.bincount(lab, yy.ravel() ** 2.0) / n - my ** 2
    return float(np.mean((vx + vy) / n))


def undersegmentation(labels, truth):
    """Share of pixels on the minority side of the segments they belong to."""
    lab = labels.ravel()
    n_in = np.bincount(lab, truth.ravel())
    n_all = np.bincount(lab).astype(float)
    return float(np.minimum(n_in, n_all - n_in).sum() / lab.size)


def test_compactness_trades_adherence_for_shape():
    vv, vh, lake = lake_scene(sd=1.0)
    results = {}
    for m in (0.05, 1.0, 20.0):
        labels = S.snic([vv, vh], None, size=10, compactness=m)
        results[m] = (spread(labels), undersegmentation(labels, lake))
    (s_lo, u_lo), (s_mid, u_mid), (s_hi, u_hi) = results[0.05], results[1.0], results[20.0]
    # More compact: smaller spatial spread, approaching the square's 1/6.
    assert s_lo > s_mid > s_hi
    assert s_hi == pytest.approx(1 / 6, rel=0.1)
    # Less compact: segments follow the lake edge (fewer pixels on the wrong side).
    assert u_lo <= u_mid < u_hi
    assert u_lo < 0.002


def test_seed_grid_moves_nodata_seeds_and_seeds_islands():
    # 20 x 20, size 10: grid positions (5, 5), (5, 15), (15, 5), (15, 15).
    valid = np.ones((20, 20), bool)
    valid[0, 1] = valid[1, 0] = valid[1, 1] = False  # pixel (0, 0) becomes a 4-connected island
    valid[15, 15] = False  # a grid position on nodata
    seeds = S.seed_grid(valid, 10)
    # (15, 15) moves to its cell's nearest valid pixel, the first in raster order at
    # distance 1: (14, 15); the island (0, 0) gets its own seed.
    assert seeds.tolist() == sorted([0, 5 * 20 + 5, 5 * 20 + 15, 15 * 20 + 5, 14 * 20 + 15])
    # Under 8-connectivity (0, 0) touches (1, 1)? No: (1, 1) is nodata too, so still an island.
    assert 0 in S.seed_grid(valid, 10, connectivity=8).tolist()


def test_nodata_and_islands_are_segmented():
    img = np.random.default_rng(3).random((60, 60))
    valid = np.ones((60, 60), bool)
    valid[:, 20:23] = False  # a nodata band over the grid positions x = 21
    valid[36:50, 36:50] = False
    valid[40:42, 40:42] = True  # a 2x2 island inside the nodata square
    seeds = S.seed_grid(valid, 6)
    assert np.all(valid.ravel()[seeds])
    labels = S.snic([img], valid, size=6, compactness=1.0)
    assert np.all(labels[valid] >= 0) and np.all(labels[~valid] == -1)
    assert np.all(components_per_label(labels) == 1)
    island = labels[40:42, 40:42]
    assert np.unique(island).size == 1 and np.sum(labels == island[0, 0]) == 4


def test_superpixel_means():
    labels = np.array([[0, 0, 1], [2, 1, 1], [-1, 2, 2]])
    band = np.array([[1.0, 3.0, 10.0], [5.0, 20.0, 30.0], [99.0, 7.0, 9.0]])
    means, sizes = S.superpixel_means(labels, [band])
    assert sizes.tolist() == [2, 3, 3]
    assert means[:, 0].tolist() == [2.0, 20.0, 7.0]


def test_bad_input():
    with pytest.raises(GlasarError):
        S.snic([np.zeros((5, 5)), np.zeros((4, 5))])
    with pytest.raises(GlasarError, match="connectivity"):
        S.snic([np.zeros((5, 5))], connectivity=6)
    with pytest.raises(GlasarError, match="compactness"):
        S.snic([np.zeros((5, 5))], compactness=-1)
    with pytest.raises(GlasarError, match="one superpixel"):
        S.snic_kmeans_water([np.random.default_rng(0).random((6, 6))], None, size=10)


# --------------------------------------------------------------------------- SNIC + k-means
@pytest.mark.parametrize("with_bands", [False, True])
def test_snic_kmeans_separates_a_two_class_image(with_bands):
    vv, vh, lake = lake_scene()
    valid = np.ones(vv.shape, bool)
    valid[:, :4] = False
    water = S.snic_kmeans_water([vv, vh], valid, with_bands=with_bands, seed=0)
    assert water.shape == vv.shape and not water[~valid].any()
    assert np.mean(water[valid] == lake[valid]) > 0.995


def test_superpixels_beat_pixel_kmeans_in_heavy_speckle():
    # Classes 6 dB apart with 3 dB speckle in both bands: pixel k-means misclassifies about
    # 30 % of the pixels (the split is pulled into the larger land class); superpixel means
    # (about 100 px each) cut the speckle tenfold and SNIC + k-means reaches 0.99.
    vv, vh, lake = lake_scene(water=-18.0, land=-12.0, sd=3.0)
    pixel = C.kmeans_water(np.stack([vv.ravel(), vh.ravel()], axis=1)).reshape(vv.shape)
    sp = S.snic_kmeans_water([vv, vh], None, with_bands=False)
    acc_pixel = np.mean(pixel == lake)
    acc_sp = np.mean(sp == lake)
    assert acc_pixel < 0.9
    assert acc_sp > 0.97


def test_real_tsho_rolpa_descending_2022(tsho_rolpa):
    from test_thresholds import _clip_db_and_lake

    db, lake = _clip_db_and_lake(tsho_rolpa["desc_2022"], tsho_rolpa["inventory"])
    valid = np.isfinite(db)
    for with_bands in (False, True):
        water = S.snic_kmeans_water([db], valid, with_bands=with_bands)
        tp = np.sum(water & lake)
        precision, recall = tp / water.sum(), tp / np.sum(valid & lake)
        assert 2 * precision * recall / (precision + recall) > 0.85
