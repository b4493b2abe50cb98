"""Histogram thresholds against hand-worked histograms, analytic two-Gaussian mixtures and the
bundled Tsho Rolpa clips.

Analytic references: for a mixture of normals N(mu_j, s_j) with weights P_j the moments below t
are A(t) = sum P_j Phi(z_j), M(t) = sum P_j (mu_j Phi(z_j) - s_j phi(z_j)) and
S(t) = sum P_j ((mu_j^2 + s_j^2) Phi(z_j) - s_j (mu_j + t) phi(z_j)), z_j = (t - mu_j) / s_j.
"""
import math

import numpy as np
import pytest
from scipy import stats

from glasar.algorithms import GlasarError
from glasar.algorithms import thresholds as T
from glasar.algorithms.extraction import NoWaterFound

# Unbalanced, unequal variances (a small lake in a large window); equal classes; very unbalanced.
MIXTURES = {
    "unbalanced": [(0.3, -22.0, 1.5), (0.7, -12.0, 3.0)],
    "symmetric": [(0.5, -20.0, 2.0), (0.5, -12.0, 2.0)],
    "small_lake": [(0.1, -22.0, 1.5), (0.9, -10.0, 3.0)],
}
LO, HI, NBINS = -40.0, 5.0, 2250  # 0.02 dB bins
WIDTH = (HI - LO) / NBINS


def mixture_histogram(comps, n=1e6):
    edges = np.linspace(LO, HI, NBINS + 1)
    cdf = sum(p * stats.norm.cdf(edges, m, s) for p, m, s in comps)
    return n * np.diff(cdf), 0.5 * (edges[:-1] + edges[1:]), edges


def moments_below(comps, t):
    a = m = s2 = 0.0
    for p, mu, s in comps:
        z = (t - mu) / s
        a = a + p * stats.norm.cdf(z)
        m = m + p * (mu * stats.norm.cdf(z) - s * stats.norm.pdf(z))
        s2 = s2 + p * ((mu * mu + s * s) * stats.norm.cdf(z) - s * (mu + t) * stats.norm.pdf(z))
    mt = sum(p * mu for p, mu, s in comps)
    st = sum(p * (mu * mu + s * s) for p, mu, s in comps)
    return a, m, s2, mt, st


def class_means(comps, t):
    a, m, _, mt, _ = moments_below(comps, t)
    return m / a, (mt - m) / (1 - a)


def analytic_otsu(comps):
    t = np.linspace(-25, -8, 17001)
    a = moments_below(comps, t)[0]
    m1, m2 = class_means(comps, t)
    return t[np.argmax(a * (1 - a) * (m1 - m2) ** 2)]


def analytic_ki(comps):
    t = np.linspace(-25, -8, 17001)
    a, m, s2, mt, st = moments_below(comps, t)
    m1, m2 = m / a, (mt - m) / (1 - a)
    v1, v2 = s2 / a - m1 ** 2, (st - s2) / (1 - a) - m2 ** 2
    j = 1 + a * np.log(v1) + (1 - a) * np.log(v2) - 2 * (a * np.log(a) + (1 - a) * np.log(1 - a))
    return t[np.argmin(j)]


def bayes_boundary(comps):
    """Root between the means of P1 N(t; m1, s1) = P2 N(t; m2, s2): a t^2 + b t + c = 0."""
    (p1, m1, s1), (p2, m2, s2) = comps
    a = 1 / (2 * s1 ** 2) - 1 / (2 * s2 ** 2)
    b = -m1 / s1 ** 2 + m2 / s2 ** 2
    c = m1 ** 2 / (2 * s1 ** 2) - m2 ** 2 / (2 * s2 ** 2) - math.log(p1 * s2 / (p2 * s1))
    if abs(a) < 1e-15:
        return -c / b
    roots = np.roots([a, b, c]).real
    return float(roots[(roots > m1) & (roots < m2)][0])


def density_valley(comps):
    t = np.linspace(comps[0][1], comps[1][1], 20001)
    dens = sum(p * stats.norm.pdf(t, m, s) for p, m, s in comps)
    return t[np.argmin(dens)]


# --------------------------------------------------------------------------- hand-worked
# counts 0 5 10 5 0 0 5 10 5 0 at centres 0..9 (edges -0.5..9.5); p = counts / 40.
HAND_COUNTS = np.array([0, 5, 10, 5, 0, 0, 5, 10, 5, 0], dtype=float)
HAND_CENTRES = np.arange(10.0)


def test_otsu_hand_worked():
    # mu_T = 4.5. k = 3: w = 0.5, mu = (5*1 + 10*2 + 5*3)/40 = 1.0,
    # sigma_B^2 = (4.5*0.5 - 1)^2 / 0.25 = 6.25; k = 2: w = 0.375, mu = 0.625 -> 4.817;
    # k = 3, 4, 5 tie (empty bins 4, 5) and the first is kept.
    assert T.otsu_from_histogram(HAND_COUNTS, HAND_CENTRES) == 3
    # The same values through the sample API: range [1, 8] in 8 bins of 0.875 gives counts
    # 5 10 5 0 0 5 10 5; the first best split is after bin 2, at 1 + 3 * 0.875 = 3.625.
    values = np.repeat(HAND_CENTRES, HAND_COUNTS.astype(int))
    assert T.otsu(values, bins=8) == pytest.approx(3.625)


def test_isodata_hand_worked():
    # L_k, H_k = mean of bins <= k, > k (total intensity 180, total count 40):
    # k=1: L=1, H=175/35=5, D=(1+5)/2-1=2;   k=2: L=25/15, H=155/25=6.2, D=1.933;
    # k=3: L=2, H=7, D=1.5;   k=4: L=2, H=7, D=0.5 in [0, 1): the first fixed point.
    assert T.isodata_from_histogram(HAND_COUNTS, HAND_CENTRES) == 4


def test_yen_hand_worked():
    # p^2 sums: Q1(k=1)=1/64, Q2=11/64 -> crit = 2 ln(0.125*0.875) - ln(11/4096) = 1.494;
    # k=2: 2 ln(0.375*0.625) - ln(35/4096) = 1.861; k=3..5: 2 ln(0.25) - ln(36/4096) = 1.962.
    assert T.yen_from_histogram(HAND_COUNTS, HAND_CENTRES) == 3


def test_kittler_illingworth_hand_worked():
    # k = 3: both classes P = 0.5, variance (5*1 + 5*1)/20 = 0.5 plus width^2/12 = 1/12,
    # J = 1 + ln(7/12) - 2 ln(0.5) = 1.84730; k = 2: class 1 = {1: 5, 2: 10}, mean 5/3,
    # variance 2/9 + 1/12, P = 0.375; class 2 = {3: 5, 6: 5, 7: 10, 8: 5}, mean 6.2, var 2.96 + 1/12.
    j = T.kittler_illingworth_criterion(HAND_COUNTS, HAND_CENTRES)
    assert j[3] == pytest.approx(1 + math.log(7 / 12) + 2 * math.log(2), abs=1e-12)
    p1, p2 = 0.375, 0.625
    j2 = 1 + p1 * math.log(2 / 9 + 1 / 12) + p2 * math.log(2.96 + 1 / 12) - 2 * (p1 * math.log(p1) + p2 * math.log(p2))
    assert j[2] == pytest.approx(j2, abs=1e-12)
    assert np.isnan(j[0]) and np.isnan(j[-1]) and np.isnan(j[-2])  # empty class 1 / class 2
    assert T.kittler_illingworth_from_histogram(HAND_COUNTS, HAND_CENTRES) == 3


def test_minimum_hand_worked():
    # One 3-tap smoothing (reflect): 1.67 5 6.67 5 1.67 1.67 5 6.67 5 1.67 -> maxima at 2 and 7,
    # the valley 1.67 first reached at bin 4.
    assert list(T.local_maxima(HAND_COUNTS)) == [2, 7]
    assert T.minimum_from_histogram(HAND_COUNTS, HAND_CENTRES) in (4, 5)


def test_local_maxima_plateaus_and_edges():
    # skimage rule: direction starts 'up'; a plateau's maximum is its last index.
    assert list(T.local_maxima(np.array([3.0, 1, 2, 2, 2, 1, 4, 4]))) == [0, 4]
    assert list(T.local_maxima(np.array([1.0, 2, 3]))) == []


# --------------------------------------------------------------------------- analytic mixtures
@pytest.mark.parametrize("name", list(MIXTURES))
def test_otsu_lands_on_analytic_maximum(name):
    comps = MIXTURES[name]
    counts, centres, edges = mixture_histogram(comps)
    t = edges[T.otsu_from_histogram(counts, centres) + 1]
    assert t == pytest.approx(analytic_otsu(comps), abs=WIDTH + 1e-9)
    # Otsu's optimum is a fixed point t = (m1(t) + m2(t)) / 2 of the class means.
    m1, m2 = class_means(comps, t)
    assert t == pytest.approx((m1 + m2) / 2, abs=2 * WIDTH)


def test_otsu_symmetric_mixture_is_the_midpoint():
    counts, centres, edges = mixture_histogram(MIXTURES["symmetric"])
    assert edges[T.otsu_from_histogram(counts, centres) + 1] == pytest.approx(-16.0, abs=1e-9)


@pytest.mark.parametrize("name", list(MIXTURES))
def test_kittler_illingworth_lands_on_analytic_minimum_and_bayes(name):
    comps = MIXTURES[name]
    counts, centres, edges = mixture_histogram(comps)
    t = edges[T.kittler_illingworth_from_histogram(counts, centres) + 1]
    assert t == pytest.approx(analytic_ki(comps), abs=WIDTH + 1e-9)
    # Well-separated Gaussians: the minimum-error threshold is the Bayes boundary.
    assert t == pytest.approx(bayes_boundary(comps), abs=0.12)


def test_kittler_illingworth_beats_otsu_for_unequal_classes():
    comps = MIXTURES["small_lake"]
    counts, centres, edges = mixture_histogram(comps)
    bayes = bayes_boundary(comps)  # -18.585
    t_ki = edges[T.kittler_illingworth_from_histogram(counts, centres) + 1]
    t_otsu = edges[T.otsu_from_histogram(counts, centres) + 1]  # about -14.94, pulled to the big class
    assert abs(t_ki - bayes) < 0.1
    assert abs(t_otsu - bayes) > 3.0


@pytest.mark.parametrize("name", list(MIXTURES))
def test_isodata_is_an_intermeans_fixed_point(name):
    comps = MIXTURES[name]
    counts, centres, edges = mixture_histogram(comps)
    k = T.isodata_from_histogram(counts, centres)
    m1, m2 = class_means(comps, edges[k + 1])
    assert (m1 + m2) / 2 == pytest.approx(centres[k], abs=2 * WIDTH)
    assert comps[0][1] < centres[k] < comps[1][1]


@pytest.mark.parametrize("name", list(MIXTURES))
def test_minimum_lands_on_the_density_valley(name):
    comps = MIXTURES[name]
    counts, centres, edges = mixture_histogram(comps)
    t = edges[T.minimum_from_histogram(counts, centres) + 1]
    assert t == pytest.approx(density_valley(comps), abs=2 * WIDTH)


def test_yen_symmetric_mixture_is_the_midpoint():
    counts, centres, edges = mixture_histogram(MIXTURES["symmetric"])
    assert edges[T.yen_from_histogram(counts, centres) + 1] == pytest.approx(-16.0, abs=WIDTH + 1e-9)


# --------------------------------------------------------------------------- samples
def two_class_sample(n_water=8000, n_land=32000, seed=1):
    rng = np.random.default_rng(seed)
    water = rng.normal(-22.0, 1.5, n_water)
    land = rng.normal(-11.0, 2.5, n_land)
    return np.concatenate([water, land]), np.r_[np.ones(n_water, bool), np.zeros(n_land, bool)]


# Least accuracy on the sample below. The Bayes boundary is -18.18 dB (accuracy 0.9976):
# minimum and Kittler-Illingworth reach it; Otsu and ISODATA (-16.3 dB) are pulled towards the
# larger, wider land class; Yen (-14.4 dB) more so, as known for unbalanced classes.
SAMPLE_ACCURACY = {"otsu": 0.985, "isodata": 0.985, "minimum": 0.995, "yen": 0.92,
                   "kittler_illingworth": 0.995}


@pytest.mark.parametrize("method", T.THRESHOLD_METHODS)
def test_every_histogram_method_separates_a_sample(method):
    values, truth = two_class_sample()
    t = T.threshold(values, method)
    assert -19.0 < t < -14.0
    assert np.mean((values < t) == truth) > SAMPLE_ACCURACY[method]
    if method in ("minimum", "kittler_illingworth"):
        assert t == pytest.approx(bayes_boundary([(0.2, -22.0, 1.5), (0.8, -11.0, 2.5)]), abs=0.3)


def test_minimum_on_a_noisy_sample_near_the_valley():
    rng = np.random.default_rng(3)
    comps = MIXTURES["unbalanced"]
    values = np.concatenate([rng.normal(m, s, int(p * 40000)) for p, m, s in comps])
    assert T.minimum(values) == pytest.approx(density_valley(comps), abs=0.6)


def test_unimodal_histogram_has_no_water():
    values = np.random.default_rng(4).normal(-10.0, 3.0, 40000)
    with pytest.raises(NoWaterFound, match="not bimodal"):
        T.minimum(values)
    with pytest.raises(NoWaterFound):
        T.minimum_from_histogram(*mixture_histogram([(1.0, -10.0, 3.0)])[:2])


def test_degenerate_input_raises_glasar_error():
    for method in T.THRESHOLD_METHODS:
        with pytest.raises(GlasarError):
            T.threshold(np.full(100, -12.0), method)
        with pytest.raises(GlasarError):
            T.threshold(np.array([np.nan, 1.0]), method)
    with pytest.raises(GlasarError, match="unknown"):
        T.threshold(np.arange(10.0), "triangle")
    with pytest.raises(GlasarError, match="threshold_image"):
        T.threshold(np.arange(10.0), "bmax_otsu")


def test_histogram_trim_spans_the_quantiles():
    values = np.arange(3000.0)
    counts, centres, edges = T.histogram(values, bins=10, trim=0.01)
    assert edges[0] == pytest.approx(np.quantile(values, 0.01))
    assert edges[-1] == pytest.approx(np.quantile(values, 0.99))
    assert counts.sum() == pytest.approx(3000 - 2 * 30, abs=2)


# --------------------------------------------------------------------------- Bmax Otsu
def lake_image(radius=20, centre=(100, 90), shape=(200, 200), seed=5, water=(-22.0, 1.5), land=(-11.0, 2.5)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    lake = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 < radius ** 2
    img = np.where(lake, rng.normal(water[0], water[1], shape), rng.normal(land[0], land[1], shape))
    return img, lake


def test_tile_bmax_analytic_values():
    # A tile half -20 dB, half -10 dB (no within-class spread): B = 1.
    img = np.full((16, 32), -10.0)
    img[:, :8] = -20.0
    img[:, 16:] = np.random.default_rng(6).normal(-10.0, 2.0, (16, 16))
    bmax = T.tile_bmax(img, None, 16, bins=64)[0]
    assert bmax.shape == (1, 2)
    assert bmax[0, 0] == pytest.approx(1.0, abs=1e-9)
    # A single Gaussian split at its best point: B = 2 / pi (class means +-s sqrt(2/pi)).
    noise = np.random.default_rng(7).normal(0.0, 1.0, (400, 400))
    b = T.tile_bmax(noise, None, 400, bins=256)[0][0, 0]
    assert b == pytest.approx(2 / math.pi, abs=0.01)


def test_tile_bmax_fixed_initial_threshold_is_below_the_maximum():
    img, _ = lake_image()
    b_max = T.tile_bmax(img, None, 40)[0]
    b_t0 = T.tile_bmax(img, None, 40, initial_threshold=-16.0)[0]
    ok = np.isfinite(b_max)
    assert np.all(b_t0[ok] <= b_max[ok] + 1e-12)
    assert np.nanmax(b_t0) > 0.75


def test_bmax_otsu_on_a_small_lake():
    # Water 3 % of the window. The kept shore tiles are roughly balanced, so the threshold is
    # near Otsu's for a balanced mixture of the two classes (-16.5 dB), not the whole window's.
    img, lake = lake_image()
    t, info = T.bmax_otsu(img, None, return_info=True)
    assert info["b_min_kept"] > 0.75 and info["b_max"] >= info["b_min_kept"]
    assert t == pytest.approx(analytic_otsu([(0.5, -22.0, 1.5), (0.5, -11.0, 2.5)]), abs=1.0)
    assert np.mean((img < t) == lake) > 0.98


def test_bmax_otsu_keeps_the_best_tiles_first():
    # Left tile: strong contrast (B near 1); right tile: weaker but qualifying contrast with a
    # different Otsu split. max_tiles=1 must give the left tile's own Otsu threshold.
    rng = np.random.default_rng(8)
    img = np.empty((32, 64))
    img[:, :32] = np.where(np.arange(32) < 16, rng.normal(-24, 0.5, (32, 32)), rng.normal(-8, 0.5, (32, 32)))
    img[:, 32:] = np.where(np.arange(32) < 16, rng.normal(-18, 1.0, (32, 32)), rng.normal(-12, 1.0, (32, 32)))
    bmax, counts, centres, edges = T.tile_bmax(img, None, 32)
    assert bmax[0, 0] > bmax[0, 1] > 0.75
    t1 = T.bmax_otsu(img, None, tile=32, max_tiles=1)
    assert t1 == pytest.approx(edges[T.otsu_from_histogram(counts[0], centres) + 1])
    assert -23.0 < t1 < -9.0
    t2 = T.bmax_otsu(img, None, tile=32, max_tiles=2)
    assert t2 == pytest.approx(edges[T.otsu_from_histogram(counts[0] + counts[1], centres) + 1])


def test_bmax_otsu_halves_tiles_for_a_tiny_lake():
    img, lake = lake_image(radius=6, centre=(56, 56), shape=(128, 128))
    t, info = T.bmax_otsu(img, None, tile=64, min_tile=16, return_info=True)
    assert info["tile_px"] < 64
    assert -20.0 < t < -14.0


def test_bmax_otsu_without_bimodal_tiles_finds_no_water():
    noise = np.random.default_rng(9).normal(-10.0, 3.0, (128, 128))
    with pytest.raises(NoWaterFound, match="no bimodal tile"):
        T.bmax_otsu(noise, None)


# --------------------------------------------------------------------------- edge Otsu
def test_outline_buffer_pixel_counts():
    lake = np.zeros((30, 30), bool)
    lake[10:20, 10:20] = True
    # Outline = the 36 boundary pixels of the 10x10 square + the 40 outside 4-neighbours.
    assert T.outline_buffer(lake, 0).sum() == 36 + 40
    # 1 px more: the next inner ring (8x8 - 6x6 = 28), the next outer ring (40) and the
    # 4 outside corners (1 px from two outline pixels).
    assert T.outline_buffer(lake, 1).sum() == 76 + 28 + 40 + 4


def test_default_edge_buffer():
    lake = np.zeros((100, 100), bool)
    lake[:40, :40] = True  # 1600 px: r_eq = sqrt(1600 / pi) = 22.57 -> 11.28 px
    assert T.default_edge_buffer(lake) == pytest.approx(0.5 * math.sqrt(1600 / math.pi))
    lake[:] = False
    lake[0, 0] = True
    assert T.default_edge_buffer(lake) == 2.0


def test_edge_otsu_with_an_outdated_outline():
    # The lake grew from radius 20 to 24 px since the inventory: the band around the old
    # outline still holds both classes, about balanced, so Otsu lands near the midpoint.
    img, lake_now = lake_image(radius=24)
    _, inventory = lake_image(radius=20)
    t, info = T.edge_otsu(img, None, inventory, return_info=True)
    assert info["buffer_px"] == pytest.approx(0.5 * math.sqrt(inventory.sum() / math.pi))
    assert -19.0 < t < -14.0
    assert np.mean((img < t) == lake_now) > 0.98
    # Whole-window Otsu on this unbalanced window (water 4.5 %) is pulled towards land.
    assert T.otsu(img.ravel()) > t


def test_edge_otsu_errors():
    img, lake = lake_image()
    with pytest.raises(GlasarError):
        T.edge_otsu(img, None, None)
    with pytest.raises(GlasarError, match="empty"):
        T.edge_otsu(img, None, np.zeros_like(lake))
    valid = np.ones_like(lake)
    valid[60:140, 50:130] = False  # nodata over the lake and its surroundings
    with pytest.raises(NoWaterFound):
        T.edge_otsu(img, valid, lake, buffer_px=3)


@pytest.mark.parametrize("method", T.ALL_THRESHOLD_METHODS)
def test_threshold_image_dispatches_every_method(method):
    img, lake = lake_image(radius=30)
    valid = np.ones_like(lake)
    valid[:5] = False
    img[:5] = np.nan
    t = T.threshold_image(img, valid, method, lake_mask=lake)
    # Bayes boundary -18.9 dB (water 7 %); Otsu-like methods land near -15.5 dB.
    assert -19.5 < t < -15.0
    assert np.mean((img[valid] < t) == lake[valid]) > 0.95


# --------------------------------------------------------------------------- real data
def _clip_db_and_lake(tif, inventory):
    from osgeo import gdal, ogr, osr

    ds = gdal.Open(tif)
    a = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
    a[a <= 0] = np.nan  # nodata 0 (layover/shadow)
    db = 10 * np.log10(a)
    wgs = osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst = osr.SpatialReference(wkt=ds.GetProjection())
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(wgs, dst)
    gt, w, h = ds.GetGeoTransform(), ds.RasterXSize, ds.RasterYSize
    x0, y0, x1, y1 = gt[0], gt[3], gt[0] + w * gt[1], gt[3] + h * gt[5]
    extent = ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")
    best = None
    src = ogr.Open(inventory)  # keep the data source alive while its layer is read
    for f in src.GetLayer(0):
        g = f.GetGeometryRef().Clone()
        g.FlattenTo2D()
        g.Transform(ct)
        if g.Intersects(extent) and (best is None or g.GetArea() > best.GetArea()):
            best = g  # Tsho Rolpa, the largest lake in the clip
    mem = gdal.GetDriverByName("MEM").Create("", w, h, 1, gdal.GDT_Byte)
    mem.SetGeoTransform(gt)
    mem.SetProjection(ds.GetProjection())
    vds = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = vds.CreateLayer("lake", dst, ogr.wkbPolygon)
    feat = ogr.Feature(layer.GetLayerDefn())
    feat.SetGeometry(best)
    layer.CreateFeature(feat)
    gdal.RasterizeLayer(mem, [1], layer, burn_values=[1])
    return db, mem.GetRasterBand(1).ReadAsArray().astype(bool)


def test_real_tsho_rolpa_descending_2022(tsho_rolpa):
    """Unfiltered 20 m VV clip (lake about -19 dB, land about -7 dB): every threshold maps the
    inventory lake with F1 >= 0.8 and lands between the two classes."""
    db, lake = _clip_db_and_lake(tsho_rolpa["desc_2022"], tsho_rolpa["inventory"])
    valid = np.isfinite(db)
    assert lake.sum() > 3000
    for method in T.ALL_THRESHOLD_METHODS:
        t = T.threshold_image(db, valid, method, lake_mask=lake)
        water = valid & (db < t)
        tp = np.sum(water & lake)
        precision, recall = tp / water.sum(), tp / np.sum(valid & lake)
        f1 = 2 * precision * recall / (precision + recall)
        assert -16.5 < t < -10.0, method
        assert f1 >= 0.8, (method, f1)


def test_real_tsho_rolpa_ascending_2021_lake_not_dark(tsho_rolpa):
    """The 2021 ascending pass never shows the lake dark: the histogram split lands in land
    backscatter (above the -8 dB plausibility limit of the pipeline)."""
    db, lake = _clip_db_and_lake(tsho_rolpa["asc_2021"], tsho_rolpa["inventory"])
    valid = np.isfinite(db)
    assert abs(np.nanmean(db[lake]) - np.nanmean(db[~lake])) < 1.0
    for method in ("otsu", "isodata", "edge_otsu"):
        assert T.threshold_image(db, valid, method, lake_mask=lake) > -8.0
    # The minimum method's smoothing stops at a main peak and a shoulder (valley 95 % of the
    # lower peak): not bimodal.
    with pytest.raises(NoWaterFound, match="not bimodal"):
        T.threshold_image(db, valid, "minimum")
