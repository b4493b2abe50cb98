"""Sentinel-1-like scene simulator with exact truth: a forward model over a real DEM.

Real scenes say little about layover/shadow truth and nothing about rare cases; a forward
model over real terrain does. From a DEM this module builds an ascending and a descending
scene (VV, VH, incidence angle; sigma0 in dB) together with the truth that produced them:
lakes flooded into valley floors, surface classes, and layover/shadow bitmasks.

Geometry (flat-earth, zero-Doppler, right-looking side-looking radar; Schreier 1993,
"SAR Geocoding: Data and Systems", ch. 7; Small 2011, IEEE TGRS 49(8)):
  The sensor flies along heading psi at height H above a reference surface (the scene's
  median DEM height). It looks at azimuth psi + 90 deg. A ground point at ground range G
  from the nadir track and height h (above the reference) lies at slant range
  ``r = sqrt(G^2 + (H - h)^2)`` and look angle ``beta = atan2(G, H - h)``. Incidence on the
  reference surface is ``theta = atan(G / H)``; H is chosen so that the Sentinel-1 IW swath
  (30.4 to 46.2 deg) spans 250 km of ground range, so theta varies slowly across range
  (about 0.064 deg/km), as in a real scene. Locally ``dr = dg sin(theta) - dh cos(theta)``
  and ``d beta ~ (dg cos(theta) + dh sin(theta)) / r``, the plane-wave forms.

Truth along each range line (ground samples ordered near -> far):
  - layover: the level set {g: r(g) = r(g_k)} has more than one point, i.e. some earlier
    sample has a larger slant range or some later sample a smaller one (two passes with a
    running max / min, Schreier 1993 sec. 7.4). Active where dr/dg < 0 (the facet itself
    is steeper than the incidence), passive otherwise (the ground sharing its slant range).
    The truth bitmasks hold this point-level truth at each pixel centre (the margins
    ``max r_before - r`` etc. interpolated between the lattice samples, bits_at_pixels):
    issue 4's geometric definition, which a DEM forecast can know. In the images, a sample
    is also contaminated when its slant-range bin receives energy from more than one disjoint
    ground segment: the point-level set widened to the bins it shares (at most one bin at
    each end of a folded interval; layover_by_bins; PassResult.image_bits), which depends on
    where the bin edges fall.
  - shadow: the sample is not visible from the sensor, i.e. an earlier sample has a larger
    look angle (beta below its running max). Active where d beta/dg < 0 (the facet faces
    away more steeply than the ray), passive otherwise (in the shadow cast by a ridge).
  Bits: 1 active layover, 2 passive layover, 4 active shadow, 8 passive shadow.

Image formation along each range line: the ground between consecutive samples is a segment
whose backscattered power ``P = sigma0_class(theta_loc) * A_true`` is spread uniformly over
its slant-range interval and deposited, by exact overlap, into slant-range bins (width
``res * sin(theta_centre)``, so a bin is one pixel of ground at the scene centre). Shadowed
samples send nothing. The bin's power divided by the flat-reference area of the bin
(``delta_r / sin(theta) * delta_az``, the sigma0 ellipsoid convention) is its sigma0; thermal
noise (NESZ) is added and gamma speckle (shape ENL, mean 1) multiplies it, one draw per bin.
Every ground sample then takes its bin's value: foreslopes are bright (many samples in few
bins), layover mixes, shadow sits at the noise floor.

Backscatter per class: ``sigma0(theta_loc) = sigma0_35 * (cos theta_loc / cos 35 deg)^n``
per unit true area (n = 1 is the constant-gamma volume law; larger n are more specular),
theta_loc the local incidence angle from the DEM normal. The class values are typical
C-band VV levels of glacial terrain, model settings rather than fits to data (wet snow is
dark because liquid water absorbs, cf. Nagler et al. 2016, Remote Sens. 8, 348; calm water
is specular, wind roughens it): land/rock -8, glacier -10, dark wet snow -18, calm water
-24.5 (plus noise: about -22.4 observed), wind-roughened water -13.5 dB; VH 7-7.5 dB lower,
except wind-roughened water, whose VH stays at -31 dB, below the noise (Vachon and Wolfe 2011).
"""
import datetime as _dt
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, ogr, osr
from scipy import ndimage

from . import GlasarError, __version__
from . import s1_metadata as s1
from . import terrain
from .grid import Grid, polygonize, warp_band
from .lake_geometry import WGS84, srs_from_epsg, srs_from_wkt, utm_epsg

gdal.UseExceptions()
ogr.UseExceptions()

# Layover/shadow bits (same convention as the detector, which is validated against these).
LAYOVER_ACTIVE, LAYOVER_PASSIVE, SHADOW_ACTIVE, SHADOW_PASSIVE = 1, 2, 4, 8
LAYOVER = LAYOVER_ACTIVE | LAYOVER_PASSIVE
SHADOW = SHADOW_ACTIVE | SHADOW_PASSIVE

# Surface classes of the truth map.
LAND, GLACIER, WET_SNOW, WATER, ROUGH_WATER = 0, 1, 2, 3, 4
CLASS_NAMES = ("land", "glacier", "wet_snow", "water", "rough_water")

REFERENCE_INCIDENCE_DEG = 35.0
NESZ_DB = -26.5  # Sentinel-1 IW noise-equivalent sigma0 is about -22 to -28 dB
DEFAULT_ENL = 4.4  # Sentinel-1 IW GRDH equivalent number of looks

# Sentinel-1 IW: incidence 30.4 .. 46.2 deg across about 250 km of ground range. The
# flat-earth sensor height that reproduces this (the real orbit is higher; Earth curvature).
IW_INCIDENCE_DEG = (30.4, 46.2)
IW_SWATH_M = 250_000.0
SENSOR_HEIGHT_M = IW_SWATH_M / (math.tan(math.radians(IW_INCIDENCE_DEG[1])) - math.tan(math.radians(IW_INCIDENCE_DEG[0])))


@dataclass(frozen=True)
class Backscatter:
    """sigma0 of a class on flat ground at 35 deg (dB), its cos^n exponent and texture (dB std)."""

    vv_db: float
    vh_db: float
    n: float
    texture_db: float


BACKSCATTER = {
    LAND: Backscatter(-8.0, -15.0, 1.5, 1.0),
    GLACIER: Backscatter(-10.0, -17.5, 2.0, 0.7),
    WET_SNOW: Backscatter(-18.0, -25.0, 2.0, 0.7),
    WATER: Backscatter(-24.5, -32.0, 5.0, 0.0),
    # Wind roughens water by short (Bragg) waves that hardly depolarise: VV -13.5 dB at 35 deg is
    # about 7-9 m/s (CMOD5), where C-band VH is 0.58 U10 - 35.65 dB ~ -31 dB, incidence-independent
    # (Vachon and Wolfe 2011, IEEE GRSL 8, 456): below the NESZ, unlike land's VH.
    ROUGH_WATER: Backscatter(-13.5, -31.0, 3.0, 0.0),
}


@dataclass(frozen=True)
class PassGeometry:
    """One pass: orbit direction, heading (deg from true north), incidence at the scene centre."""

    orbit_pass: str  # 'ASCENDING' or 'DESCENDING'
    heading_deg: float
    incidence_deg: float
    acquisition_time: str = ""
    sensor_height_m: float = SENSOR_HEIGHT_M

    @property
    def look_azimuth_deg(self):
        """Right-looking: the radar looks 90 deg clockwise from the flight heading."""
        return (self.heading_deg + 90.0) % 360.0

    def unit_vectors(self):
        """(u, v): unit vectors (east, north) of the look (range) and flight (azimuth) directions."""
        a = math.radians(self.look_azimuth_deg)
        h = math.radians(self.heading_deg)
        return np.array([math.sin(a), math.cos(a)]), np.array([math.sin(h), math.cos(h)])


# --------------------------------------------------------------------------------------
# Truth along range lines
# --------------------------------------------------------------------------------------
def slant_geometry(ground_range, height, sensor_height=SENSOR_HEIGHT_M):
    """Slant range r and look angle beta (rad) of ground samples (broadcast arrays, metres).

    ``r = sqrt(G^2 + (H - h)^2)``, ``beta = atan2(G, H - h)``; NaN heights stay NaN.
    """
    G = np.asarray(ground_range, dtype=np.float64)
    z = sensor_height - np.asarray(height, dtype=np.float64)
    return np.hypot(G, z), np.arctan2(G, z)


def _central_difference(a):
    """a[k+1] - a[k-1] along the last axis (one-sided at the ends); NaN where undefined."""
    d = np.full(a.shape, np.nan)
    if a.shape[-1] < 2:
        return d
    d[..., 1:-1] = a[..., 2:] - a[..., :-2]
    d[..., 0] = a[..., 1] - a[..., 0]
    d[..., -1] = a[..., -1] - a[..., -2]
    return d


def _running_extremes(r, beta):
    """(valid, max_{j<k} r_j, min_{j>k} r_j, max_{j<k} beta_j) along range lines (last axis near ->
    far); samples without ground neither count nor bound (-inf / +inf)."""
    r = np.asarray(r, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    valid = np.isfinite(r) & np.isfinite(beta)
    lead = r.shape[:-1] + (1,)
    r_lo = np.where(valid, r, -np.inf)
    r_hi = np.where(valid, r, np.inf)
    prev_max = np.concatenate([np.full(lead, -np.inf), np.maximum.accumulate(r_lo, axis=-1)[..., :-1]], axis=-1)
    next_min = np.concatenate(
        [np.minimum.accumulate(r_hi[..., ::-1], axis=-1)[..., ::-1][..., 1:], np.full(lead, np.inf)], axis=-1)
    b_lo = np.where(valid, beta, -np.inf)
    prev_beta = np.concatenate([np.full(lead, -np.inf), np.maximum.accumulate(b_lo, axis=-1)[..., :-1]], axis=-1)
    return valid, prev_max, next_min, prev_beta


def layover_shadow_from_geometry(r, beta, eps_r=1e-6, eps_beta=1e-12):
    """Layover/shadow bits of range lines (last axis ordered near -> far) from r and beta.

    layover_k  <=>  r_k < max_{j<k} r_j  or  r_k > min_{j>k} r_j
    shadow_k   <=>  beta_k < max_{j<k} beta_j
    active layover where the central difference of r is negative (dr/dg < 0), active shadow
    where beta decreases (d beta/dg < 0) in shadow; the rest is passive. NaN samples (no
    ground) are neither partners nor occluders and get no bits.
    """
    r = np.asarray(r, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    valid, prev_max, next_min, prev_beta = _running_extremes(r, beta)
    layover = valid & ((r < prev_max - eps_r) | (r > next_min + eps_r))
    shadow = valid & (beta < prev_beta - eps_beta)
    with np.errstate(invalid="ignore"):
        active_l = layover & (_central_difference(r) < 0)
        active_s = shadow & (_central_difference(beta) < 0)
    bits = np.zeros(r.shape, dtype=np.uint8)
    bits[active_l] |= LAYOVER_ACTIVE
    bits[layover & ~active_l] |= LAYOVER_PASSIVE
    bits[active_s] |= SHADOW_ACTIVE
    bits[shadow & ~active_s] |= SHADOW_PASSIVE
    return bits


def truth_margins(r, beta):
    """Signed margins of layover and shadow along range lines (last axis near -> far):
    ``max(max_{j<k} r_j - r_k, r_k - min_{j>k} r_j)`` (m) and ``max_{j<k} beta_j - beta_k``
    (rad). Positive exactly where layover_shadow_from_geometry flags the sample (above its eps);
    continuous in position, so they can be interpolated to points between the samples
    (bits_at_pixels). NaN where there is no ground; clipped to +-1e9."""
    r = np.asarray(r, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    valid, prev_max, next_min, prev_beta = _running_extremes(r, beta)
    lay = np.maximum(prev_max - r, r - next_min)
    sh = prev_beta - beta
    for m in (lay, sh):
        np.clip(m, -1e9, 1e9, out=m)
        m[~valid] = np.nan
    return lay, sh


def bits_at_pixels(nearest_bits, lay_margin, sh_margin, coords, eps_r=1e-6, eps_beta=1e-12):
    """Point-level bits at pixel centres that lie between the lattice samples.

    The margins (truth_margins, on the lattice) are interpolated bilinearly at the pixels'
    fractional lattice coordinates ``coords`` = (row, col): a pixel is in layover / shadow
    when its interpolated margin is positive (beyond the eps of layover_shadow_from_geometry),
    active or passive as its nearest lattice sample (``nearest_bits``). Where a neighbour
    sample has no ground the nearest sample's bits are kept. Taking the nearest sample alone
    would judge a pixel at a point up to half a lattice spacing away along and across range,
    which moves the edges of thin shadow and layover bands by that much."""
    out = np.zeros(nearest_bits.shape, dtype=np.uint8)
    for margin, eps, active, passive in ((lay_margin, eps_r, LAYOVER_ACTIVE, LAYOVER_PASSIVE),
                                         (sh_margin, eps_beta, SHADOW_ACTIVE, SHADOW_PASSIVE)):
        m = ndimage.map_coordinates(margin, coords, order=1, mode="nearest", prefilter=False)
        near = (nearest_bits & (active | passive)) > 0
        with np.errstate(invalid="ignore"):
            on = np.where(np.isnan(m), near, m > eps)
        out[on] |= np.where((nearest_bits[on] & active) > 0, active, passive).astype(np.uint8)
    return out


def range_line_truth(ground_range, height, sensor_height=SENSOR_HEIGHT_M):
    """Layover/shadow bits of range lines: ground_range (m from the nadir track, increasing
    along the last axis) and height (m above the reference surface, NaN = no ground)."""
    r, beta = slant_geometry(ground_range, height, sensor_height)
    return layover_shadow_from_geometry(r, beta)


def layover_by_bins(bits, r, r0, bin_width):
    """Bin-level layover: a sample is in layover when its slant-range bin receives energy
    from more than one disjoint ground segment, i.e. when the bin also holds the slant range
    of a (point-level) layover sample of the same line. Adds LAYOVER_PASSIVE to the samples
    that share a bin with a layover but are not themselves in the folded interval (at most
    one bin beyond each end of it). bits and r: (lines, samples), near -> far."""
    bits = bits.copy()
    valid = np.isfinite(r)
    b = np.floor((np.where(valid, r, r0) - r0) / bin_width).astype(np.int64)
    if valid.any() and b[valid].min() < 0:
        raise GlasarError("slant-range bins start after the first sample (internal error)")
    n_bins = int(b.max()) + 1
    lay = (bits & LAYOVER) > 0
    line = np.broadcast_to(np.arange(r.shape[0])[:, None], r.shape)
    mixed = np.zeros((r.shape[0], n_bins), dtype=bool)
    mixed[line[lay], b[lay]] = True
    extra = mixed[line, b] & valid & ~lay
    bits[extra] |= LAYOVER_PASSIVE
    return bits


# --------------------------------------------------------------------------------------
# Image formation along range lines
# --------------------------------------------------------------------------------------
def deposit_segments(r, powers, r0, bin_width, n_bins):
    """Energy per slant-range bin of each range line (rows) from ground segments.

    The ground between samples k and k+1 of a line carries ``(P_k + P_{k+1}) / 2`` and is
    spread uniformly over its slant-range interval [min(r_k, r_k+1), max(...)]; each bin
    ``[r0 + b w, r0 + (b+1) w)`` receives the share that overlaps it (exact, so flat ground
    gives no aliasing stripes whatever the sample spacing). Returns one (lines, n_bins)
    array per power array. Vectorised: one bincount per bin offset a segment spans.
    """
    r = np.asarray(r, dtype=np.float64)
    ok = np.isfinite(r[:, :-1]) & np.isfinite(r[:, 1:])
    energies = [np.zeros(r.shape[0] * n_bins) for _ in powers]
    if not ok.any():
        return [e.reshape(r.shape[0], n_bins) for e in energies]
    line, k = np.nonzero(ok)
    ra, rb = r[line, k], r[line, k + 1]
    lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
    width = hi - lo
    seg_e = [0.5 * (np.nan_to_num(p[line, k]) + np.nan_to_num(p[line, k + 1])) for p in powers]
    b_lo = np.floor((lo - r0) / bin_width).astype(np.int64)
    b_hi = np.floor((hi - r0) / bin_width).astype(np.int64)
    if b_lo.min() < 0 or b_hi.max() >= n_bins:
        raise GlasarError("slant-range bins do not cover the scene (internal error)")
    span = b_hi - b_lo + 1
    base = line.astype(np.int64) * n_bins
    for t in range(int(span.max())):
        sel = slice(None) if t == 0 else np.nonzero(span > t)[0]
        b = b_lo[sel] + t
        edge_lo = r0 + b * bin_width
        overlap = np.minimum(hi[sel], edge_lo + bin_width) - np.maximum(lo[sel], edge_lo)
        w = width[sel]
        frac = np.where(w > 0, np.clip(overlap, 0.0, None) / np.where(w > 0, w, 1.0), 1.0)
        idx = base[sel] + b
        for e, se in zip(energies, seg_e):
            e += np.bincount(idx, weights=se[sel] * frac, minlength=e.size)
    return [e.reshape(r.shape[0], n_bins) for e in energies]


def reference_bin_area(r0, bin_width, n_bins, az_spacing, sensor_height=SENSOR_HEIGHT_M):
    """Flat-reference ground area of each slant-range bin: ``delta_r / sin(theta) * delta_az``
    with ``sin(theta) = G / r`` at the bin centre (the sigma0 normalisation of GRD products)."""
    rc = r0 + (np.arange(n_bins) + 0.5) * bin_width
    G = np.sqrt(np.maximum(rc ** 2 - sensor_height ** 2, 1e-6))
    return bin_width * rc / G * az_spacing


def local_incidence_cos(hg, ha, ground_range, height, sensor_height=SENSOR_HEIGHT_M):
    """cos of the local incidence angle: ``(hg sin(theta_s) + cos(theta_s)) / sqrt(1 + hg^2 + ha^2)``,
    hg/ha the slopes along range/azimuth, theta_s the look direction at the point."""
    r, _ = slant_geometry(ground_range, height, sensor_height)
    sin_s = np.asarray(ground_range) / r
    cos_s = (sensor_height - np.asarray(height)) / r
    return (hg * sin_s + cos_s) / np.sqrt(1.0 + hg * hg + ha * ha)


def class_backscatter(classes, texture_db, cos_loc, pol):
    """sigma0 (linear, per unit true area) of each sample from its class and local incidence."""
    table = np.array([getattr(BACKSCATTER[c], pol + "_db") for c in range(len(CLASS_NAMES))])
    expo = np.array([BACKSCATTER[c].n for c in range(len(CLASS_NAMES))])
    c = np.clip(classes, 0, len(CLASS_NAMES) - 1)
    ratio = np.clip(cos_loc, 0.0, None) / math.cos(math.radians(REFERENCE_INCIDENCE_DEG))
    return 10.0 ** ((table[c] + texture_db) / 10.0) * ratio ** expo[c]


@dataclass
class PassResult:
    geometry: PassGeometry
    vv_db: np.ndarray
    vh_db: np.ndarray
    angle: np.ndarray
    bits: np.ndarray
    clean_vv: np.ndarray = None  # noise-added sigma0 before speckle (linear), when asked
    clean_vh: np.ndarray = None
    info: dict = field(default_factory=dict)
    # bits: the point-level truth at each pixel centre (layover_shadow_truth); image_bits: the
    # pixel's nearest lattice sample with layover widened to the slant-range bins it shares
    # (what the pixel of the simulated image shows: its bin mixes energy from a fold)
    image_bits: np.ndarray = None


def _odd(n):
    n = max(1, int(round(n)))
    return n if n % 2 else n + 1


@dataclass
class RangeLattice:
    """Range lines over a north-up grid: each row is one range line (samples along the look
    direction, coordinate s, near -> far) and rows are stacked along the flight direction
    (coordinate t), both with spacing ``spacing``; s and t are measured from the grid
    centre (cx, cy). G is the ground range of each column
    from the nadir track, chosen so that the centre of the output grid sits at the pass's
    incidence_deg on the reference surface."""

    geometry: PassGeometry
    u: np.ndarray
    v: np.ndarray
    cx: float
    cy: float
    s: np.ndarray
    t: np.ndarray
    spacing: float
    G: np.ndarray
    G_centre: float
    s_scene: float

    @property
    def shape(self):
        return self.t.size, self.s.size

    def grid_coords(self, grid):
        """(row, col) fractional pixel coordinates of every lattice sample in grid."""
        X = self.cx + self.s[None, :] * self.u[0] + self.t[:, None] * self.v[0]
        Y = self.cy + self.s[None, :] * self.u[1] + self.t[:, None] * self.v[1]
        return np.stack([(grid.y0 - Y) / grid.res - 0.5, (X - grid.x0) / grid.res - 0.5])

    def nearest(self, out_grid):
        """Lattice (row, col) index of each out_grid pixel centre, and its range coordinate s."""
        xs, ys = out_grid.xy()
        OX, OY = np.meshgrid(xs - self.cx, ys - self.cy)
        so = OX * self.u[0] + OY * self.u[1]
        to = OX * self.v[0] + OY * self.v[1]
        jj = np.clip(np.rint((so - self.s[0]) / self.spacing).astype(np.int64), 0, self.s.size - 1)
        ii = np.clip(np.rint((to - self.t[0]) / self.spacing).astype(np.int64), 0, self.t.size - 1)
        return ii, jj, so

    def fractional(self, out_grid):
        """Fractional lattice (row, col) coordinates of each out_grid pixel centre."""
        xs, ys = out_grid.xy()
        OX, OY = np.meshgrid(xs - self.cx, ys - self.cy)
        so = OX * self.u[0] + OY * self.u[1]
        to = OX * self.v[0] + OY * self.v[1]
        return np.stack([(to - self.t[0]) / self.spacing, (so - self.s[0]) / self.spacing])

    def incidence_deg(self, s):
        """Incidence on the reference surface at range coordinate s: atan(G / H)."""
        H = self.geometry.sensor_height_m
        return np.degrees(np.arctan((self.G_centre + np.asarray(s) - self.s_scene) / H))


def range_lattice(grid, geometry, out_grid=None, spacing=None):
    """The range-line lattice of a pass covering grid (see RangeLattice)."""
    out_grid = grid if out_grid is None else out_grid
    ds = grid.res / 2.0 if spacing is None else float(spacing)
    u, v = geometry.unit_vectors()
    xmin, ymin, xmax, ymax = grid.bounds
    cx, cy = 0.5 * (xmin + xmax), 0.5 * (ymin + ymax)
    corners = np.array([[xmin, ymin], [xmin, ymax], [xmax, ymin], [xmax, ymax]]) - [cx, cy]
    s_c, t_c = corners @ u, corners @ v
    j0, j1 = int(math.floor(s_c.min() / ds)) - 1, int(math.ceil(s_c.max() / ds)) + 1
    i0, i1 = int(math.floor(t_c.min() / ds)) - 1, int(math.ceil(t_c.max() / ds)) + 1
    s = np.arange(j0, j1 + 1) * ds
    t = np.arange(i0, i1 + 1) * ds
    oxmin, oymin, oxmax, oymax = out_grid.bounds
    s_scene = (0.5 * (oxmin + oxmax) - cx) * u[0] + (0.5 * (oymin + oymax) - cy) * u[1]
    G_centre = geometry.sensor_height_m * math.tan(math.radians(geometry.incidence_deg))
    return RangeLattice(geometry, u, v, cx, cy, s, t, ds, G_centre + (s - s_scene), G_centre, s_scene)


def layover_shadow_truth(dem, grid, geometry, out_grid=None, oversample=2, reference_height=None,
                         bin_width=None, at_pixel_centres=True):
    """Layover/shadow bits of a DEM (metric, north-up grid) for one pass, on out_grid.

    The DEM is sampled (bilinear) along range lines spaced res/oversample and the bits come
    from the exact geometry (layover_shadow_from_geometry). Without bin_width this is the
    point-level truth at each out_grid pixel centre (bits_at_pixels: margins interpolated
    between the lattice samples; ``at_pixel_centres=False``: the nearest lattice sample's bits).
    With bin_width (m of slant range) it is the image-level truth: the nearest sample's bits
    with layover widened to the bins it shares (layover_by_bins), as in the simulated images.
    """
    out_grid = grid if out_grid is None else out_grid
    lat = range_lattice(grid, geometry, out_grid, grid.res / oversample)
    h = ndimage.map_coordinates(np.asarray(dem, dtype=np.float64), lat.grid_coords(grid), order=1,
                                mode="constant", cval=np.nan, prefilter=False)
    href = float(np.nanmedian(dem)) if reference_height is None else float(reference_height)
    r, beta = slant_geometry(lat.G[None, :], h - href, geometry.sensor_height_m)
    bits = layover_shadow_from_geometry(r, beta)
    ii, jj, _ = lat.nearest(out_grid)
    if bin_width is not None:
        bits = layover_by_bins(bits, r, float(np.nanmin(r)) - bin_width, bin_width)
        out = bits[ii, jj]
    elif at_pixel_centres:
        out = bits_at_pixels(bits[ii, jj], *truth_margins(r, beta), lat.fractional(out_grid))
    else:
        out = bits[ii, jj]
    out[~np.isfinite(h[ii, jj])] = 0
    return out


def simulate_pass(dem, grid, classes, texture_db, geometry, out_grid, rng, enl=DEFAULT_ENL,
                  nesz_db=NESZ_DB, oversample=2, reference_height=None, keep_clean=False):
    """Simulate one pass over dem (on grid, metric, north-up) and sample it onto out_grid.

    1. A lattice of range lines (rows along the look direction, spacing res/oversample in
       range and azimuth) is laid over the DEM (bilinear, scipy.ndimage.map_coordinates).
    2. Truth bits per sample from the exact geometry (layover_shadow_from_geometry); for the
       image, layover widened to the slant-range bins it shares (layover_by_bins).
    3. Power per sample from its class and local incidence; shadowed samples send nothing;
       segments deposited into slant-range bins (deposit_segments); sigma0 per bin; noise;
       gamma speckle (shape ENL, mean 1) per bin; each sample takes its bin's value.
    4. Each out_grid pixel takes its nearest lattice sample (nearest keeps the speckle
       statistics); the angle band is the reference-surface incidence atan(G / H). The truth
       bits are the point-level truth at each pixel centre (bits_at_pixels); image_bits the
       nearest sample's bin-widened bits.
    """
    if dem.shape != (grid.rows, grid.cols) or classes.shape != dem.shape or texture_db.shape != dem.shape:
        raise GlasarError("dem, classes and texture must share the simulation grid")
    if not enl > 0:
        raise GlasarError(f"ENL must be positive, got {enl}")
    H = geometry.sensor_height_m
    lat = range_lattice(grid, geometry, out_grid, grid.res / oversample)
    ds = lat.spacing
    u, v = lat.u, lat.v
    href = float(np.nanmedian(dem)) if reference_height is None else float(reference_height)

    coords = lat.grid_coords(grid)
    h = ndimage.map_coordinates(dem.astype(np.float64), coords, order=1, mode="constant", cval=np.nan,
                                prefilter=False)
    gy, gx = np.gradient(dem.astype(np.float64), grid.res)  # gy: d/d(row) = -d/d(north)
    dhdx = ndimage.map_coordinates(gx, coords, order=1, mode="nearest", prefilter=False)
    dhdy = -ndimage.map_coordinates(gy, coords, order=1, mode="nearest", prefilter=False)
    cls = ndimage.map_coordinates(classes.astype(np.float32), coords, order=0, mode="nearest", prefilter=False)
    tex = ndimage.map_coordinates(texture_db.astype(np.float32), coords, order=1, mode="nearest", prefilter=False)
    del coords, gx, gy
    cls = cls.astype(np.int16)
    G = lat.G
    hrel = h - href

    r, beta = slant_geometry(G[None, :], hrel, H)
    bits = layover_shadow_from_geometry(r, beta)
    margins = truth_margins(r, beta)
    del beta
    visible = (bits & SHADOW) == 0

    hg = dhdx * u[0] + dhdy * u[1]
    ha = dhdx * v[0] + dhdy * v[1]
    del dhdx, dhdy
    cos_loc = local_incidence_cos(hg, ha, G[None, :], hrel, H)
    true_area = np.sqrt(1.0 + hg * hg + ha * ha) * ds * ds
    del hg, ha
    powers = []
    for pol in ("vv", "vh"):
        p = class_backscatter(cls, tex, cos_loc, pol) * true_area
        p[~visible | ~np.isfinite(h)] = 0.0
        powers.append(p)
    del cos_loc, true_area, tex

    bin_width = out_grid.res * math.sin(math.radians(geometry.incidence_deg))
    rf = r[np.isfinite(r)]
    if rf.size == 0:
        raise GlasarError("the DEM has no valid heights in the simulation window")
    r0 = float(rf.min()) - bin_width
    n_bins = int(math.ceil((float(rf.max()) - r0) / bin_width)) + 2
    del rf
    energies = deposit_segments(r, powers, r0, bin_width, n_bins)
    del powers
    point_bits = bits
    bits = layover_by_bins(bits, r, r0, bin_width)
    area = reference_bin_area(r0, bin_width, n_bins, ds, H)
    noise = 10.0 ** (nesz_db / 10.0)
    sample_bin = np.floor((np.where(np.isfinite(r), r, r0) - r0) / bin_width).astype(np.int64)
    rows_idx = np.arange(r.shape[0])[:, None]

    ii, jj, so = lat.nearest(out_grid)
    out_valid = np.isfinite(h[ii, jj])
    out = {}
    for pol, e in zip(("vv", "vh"), energies):
        clean = e / area[None, :] + noise
        speckled = clean * rng.gamma(enl, 1.0 / enl, size=clean.shape)
        vals = speckled[rows_idx, sample_bin][ii, jj]
        db = np.full(out_grid.shape, np.nan, dtype=np.float32)
        db[out_valid] = (10.0 * np.log10(vals[out_valid])).astype(np.float32)
        out[pol] = db
        if keep_clean:
            c = clean[rows_idx, sample_bin][ii, jj]
            c[~out_valid] = np.nan
            out["clean_" + pol] = c
    angle = lat.incidence_deg(so).astype(np.float32)
    angle[~out_valid] = np.nan
    image_bits = bits[ii, jj]
    image_bits[~out_valid] = 0
    out_bits = bits_at_pixels(point_bits[ii, jj], *margins, lat.fractional(out_grid))
    out_bits[~out_valid] = 0
    del margins
    info = {
        "lattice_shape": list(r.shape),
        "sample_spacing_m": ds,
        "bin_width_m": bin_width,
        "n_bins": n_bins,
        "reference_height_m": href,
        "sensor_height_m": H,
        "ground_range_centre_m": lat.G_centre,
        "incidence_min_deg": float(np.nanmin(angle)) if out_valid.any() else float("nan"),
        "incidence_max_deg": float(np.nanmax(angle)) if out_valid.any() else float("nan"),
    }
    return PassResult(geometry, out["vv"], out["vh"], angle, out_bits,
                      out.get("clean_vv"), out.get("clean_vh"), info, image_bits)


# --------------------------------------------------------------------------------------
# Lakes and surface classes
# --------------------------------------------------------------------------------------
@dataclass
class Lake:
    lake_id: int
    row: int  # seed pixel on the simulation grid
    col: int
    level_m: float
    radius_m: float  # the dam: the lake is the flooded component inside this disc
    area_m2: float = 0.0
    rough_fraction: float = 0.0


def _smooth_noise(shape, sigma_px, rng):
    f = ndimage.gaussian_filter(rng.standard_normal(shape), max(sigma_px, 0.5), mode="reflect")
    sd = f.std()
    return f / sd if sd > 0 else f


def make_lakes(dem, grid, interior, rng, n_lakes, terrain_hint=None, min_area_m2=15_000.0,
               max_radius_m=550.0, min_spacing_m=700.0, dam_crest_m=2.0, dam_slope_deg=30.0):
    """Flood lakes into valley floors: returns (dem with flat lake surfaces, labels, lakes).

    Candidate seeds are gentle (< 15 deg), concave pixels (topographic position index, the
    height minus the 1.5 km window mean of a 60 m-smoothed DEM, below -5 m) inside
    ``interior``. They are scored by their closeness to ``terrain_hint`` (e.g. the layover/
    shadow of either pass on the dry DEM; full score at 0 m, none beyond 400 m), the relief
    within 600 m to the east or west
    (the look directions of both passes) and a random term; the best-scoring local maxima,
    at least min_spacing_m apart, are flooded in turn, so several lakes sit beside walls
    that lay over or shadow part of them. Each lake is dammed at its seed: the connected
    component of ``{h <= h_seed + d}`` containing the seed, upstream of an arcuate dam
    line through the seed (convex down-valley, like a terminal moraine) and inside an
    irregular disc of radius about R; d grows until the lake reaches a random target area (0.03-0.4 km2, log-uniform). The lake surface is set to
    the level (flat water; islands are flooded too) and where the ground beside it is lower
    a moraine dam (crest 2 m above the water, 30 deg face, at most 120 m high like the
    terminal moraines of Himalayan lakes; lakes that would need more, or more than 100 m
    of water at the dam, are not made) holds it, so the DEM has no
    cliff at the shore that would fake layover or shadow.
    """
    res = grid.res
    dem = dem.astype(np.float64).copy()
    labels = np.zeros(dem.shape, dtype=np.int32)
    lakes = []
    if n_lakes <= 0:
        return dem, labels, lakes
    hs = ndimage.gaussian_filter(dem, max(1.0, 60.0 / res))
    gy, gx = np.gradient(hs, res)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    tpi = hs - ndimage.uniform_filter(hs, _odd(1500.0 / res))
    relief_ew = ndimage.maximum_filter1d(hs, _odd(1200.0 / res), axis=1) - hs
    score = relief_ew / max(float(relief_ew.max()), 1.0) + rng.uniform(0.0, 0.3, dem.shape)
    cand = interior & (slope < 15.0) & (tpi < -5.0)
    if not cand.any():
        cand = interior & (tpi <= ndimage.minimum_filter(tpi, _odd(300.0 / res)) + 1e-9)
    tiers = []
    if terrain_hint is not None and terrain_hint.any():
        near = ndimage.distance_transform_edt(~terrain_hint) * res
        score += 1.5 * np.clip(1.0 - near / 400.0, 0.0, 1.0)
        # First half of the lakes: gentle ground in or at the edge of layover/shadow,
        # best where layover/shadow covers much of the 400 m around.
        beside = interior & (slope < 25.0) & (tpi < 0.0) & (near <= 1.5 * res)
        share = ndimage.uniform_filter(terrain_hint.astype(np.float32), _odd(400.0 / res))
        tiers.append((_pick_seeds(beside, share + rng.uniform(0.0, 0.05, dem.shape), min_spacing_m / res,
                                  3 * n_lakes), (n_lakes + 1) // 2))
    tiers.append((_pick_seeds(cand, score, min_spacing_m / res, 3 * n_lakes), n_lakes))
    free = interior.copy()
    dam_slope = math.tan(math.radians(dam_slope_deg))
    for seeds, quota in tiers:
        for pr, pc in seeds:
            if len(lakes) >= quota:
                break
            norm = math.hypot(gx[pr, pc], gy[pr, pc])
            downhill = (-gy[pr, pc] / norm, -gx[pr, pc] / norm) if norm > 1e-3 else None
            lake = _flood_lake(dem, labels, free, pr, pc, rng, res, min_area_m2, max_radius_m, dam_crest_m,
                               dam_slope, downhill)
            if lake is not None:
                lake.lake_id = len(lakes) + 1
                labels[labels == -1] = lake.lake_id
                lakes.append(lake)
    return dem, labels, lakes


def _pick_seeds(cand, score, spacing_px, max_n):
    """Local maxima of score among cand (300 m windows are enough: spacing is larger),
    best first, at least spacing_px apart (greedy over tens to hundreds of peaks)."""
    masked = np.where(cand, score, -np.inf)
    size = _odd(spacing_px / 2.0)
    peaks = cand & (masked >= ndimage.maximum_filter(masked, size))
    rr, cc = np.nonzero(peaks)
    picked = []
    for k in np.argsort(-score[rr, cc]):
        if len(picked) >= max_n:
            break
        if all((rr[k] - pr) ** 2 + (cc[k] - pc) ** 2 >= spacing_px ** 2 for pr, pc in picked):
            picked.append((int(rr[k]), int(cc[k])))
    return picked


def _flood_lake(dem, labels, free, pr, pc, rng, res, min_area_m2, max_radius_m, dam_crest_m, dam_slope,
                downhill=None, max_depth_m=100.0, max_dam_m=120.0):
    """Flood one lake dammed at seed (pr, pc), in place (dem, labels set to -1, free).

    The dam line is an arc through the seed across the down-valley direction ``downhill``
    (unit (row, col) vector; None on flat ground: no dam line), convex down-valley: water
    fills the valley upstream of it, up to the level, inside an irregular disc. Returns the Lake, or None when no lake fits.
    """
    radius = rng.uniform(0.45, 1.0) * max_radius_m
    depth = rng.uniform(4.0, 15.0)
    rp = int(math.ceil(1.25 * radius / res)) + 1
    r0, r1 = max(pr - rp, 0), min(pr + rp + 1, dem.shape[0])
    c0, c1 = max(pc - rp, 0), min(pc + rp + 1, dem.shape[1])
    win = dem[r0:r1, c0:c1]
    yy, xx = np.mgrid[r0:r1, c0:c1]
    dist = np.hypot(yy - pr, xx - pc) * res
    ang = np.arctan2(yy - pr, xx - pc)
    # An irregular dam line: radius modulated by two random harmonics (+-25 %).
    wobble = 1.0 + sum(rng.uniform(0.05, 0.125) * np.cos(k * ang + rng.uniform(0, 2 * np.pi)) for k in (2, 3))
    ok = free[r0:r1, c0:c1] & (dist <= radius * wobble)
    if downhill is not None:
        # Upstream of an arcuate dam through the seed, convex down-valley like a terminal
        # moraine: along + perp^2 / (2 Rc) <= 0 (along: metres down-valley of the seed).
        along = ((yy - pr) * downhill[0] + (xx - pc) * downhill[1]) * res
        perp = ((yy - pr) * downhill[1] - (xx - pc) * downhill[0]) * res
        ok &= along + perp ** 2 / (2.0 * rng.uniform(150.0, 400.0)) <= 0.5 * res
    # Raise the water (x1.25 steps) until the lake reaches a random target area
    # (log-uniform 0.03-0.4 km2) or the depth limit; keep the last level that fits.
    target = max(min_area_m2, math.exp(rng.uniform(math.log(3e4), math.log(4e5))))
    comp = level = None
    while depth <= max_depth_m:
        lab, _ = ndimage.label((win <= dem[pr, pc] + depth) & ok)
        if lab[pr - r0, pc - c0] == 0:
            break
        comp, level = lab == lab[pr - r0, pc - c0], dem[pr, pc] + depth
        if comp.sum() * res * res >= target:
            break
        depth *= 1.25
    if comp is None or comp.sum() * res * res < min_area_m2:
        return None
    if (ndimage.binary_dilation(comp) & ~free[r0:r1, c0:c1]).any():
        return None  # it would be cut straight by the scene edge or another lake's shore
    comp = ndimage.binary_fill_holes(comp) & ok
    lake = np.zeros(dem.shape, dtype=bool)
    lake[r0:r1, c0:c1] = comp
    # Moraine dam: wherever the ground beside the lake is lower than the water, a crest
    # dam_crest_m above the level (two pixels wide), then a dam_slope_deg face down to
    # the ground, so the DEM has no cliff at the shore that would fake layover/shadow.
    crest_w = max(2.0 * res, 20.0)
    d_edge = ndimage.distance_transform_edt(~lake) * res
    dam = level + dam_crest_m - np.clip(d_edge - crest_w, 0.0, None) * dam_slope
    raise_ = ~lake & (labels == 0) & (dam > dem)
    if raise_.any() and float((dam - dem)[raise_].max()) > max_dam_m:
        return None  # a lake perched on a valley step would need an implausible dam
    labels[lake] = -1
    dem[lake] = level
    dem[raise_] = dam[raise_]
    # keep later lakes off this one and its shore
    free &= ~ndimage.binary_dilation(lake, iterations=max(2, int(100.0 / res)))
    return Lake(0, pr, pc, float(level), float(radius), float(comp.sum() * res * res))


def make_surface(dem, labels, lakes, grid, rng):
    """Surface classes and a texture field (dB) for the simulation grid.

    Glacier above an irregular equilibrium line (70th height percentile +- 120 m of smooth
    noise) on slopes < 32 deg; dark wet snow in patches from 400 m below to 100 m above that
    line (the class that fools backscatter thresholds); rock/land elsewhere; lakes water, with
    wind-roughened patches covering 15-45 % of about half the lakes.
    """
    res = grid.res
    gy, gx = np.gradient(dem, res)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    ela = float(np.nanpercentile(dem, 70))
    f1 = _smooth_noise(dem.shape, 200.0 / res, rng)
    f2 = _smooth_noise(dem.shape, 150.0 / res, rng)
    classes = np.full(dem.shape, LAND, dtype=np.uint8)
    glacier = (dem + 120.0 * f1 > ela) & (slope < 32.0)
    snow = (dem > ela - 400.0) & (dem < ela + 100.0) & (f2 > 0.9) & (slope < 40.0) & ~glacier
    classes[glacier] = GLACIER
    classes[snow] = WET_SNOW
    water = labels > 0
    classes[water] = WATER
    rough_field = _smooth_noise(dem.shape, 30.0 / res, rng)
    for lake in lakes:
        if rng.uniform() < 0.5:
            continue
        m = labels == lake.lake_id
        frac = rng.uniform(0.15, 0.45)
        thr = np.quantile(rough_field[m], 1.0 - frac)
        rough = m & (rough_field > thr)
        classes[rough] = ROUGH_WATER
        lake.rough_fraction = float(rough.sum() / max(m.sum(), 1))
    std = np.array([BACKSCATTER[c].texture_db for c in range(len(CLASS_NAMES))])
    texture = (_smooth_noise(dem.shape, 25.0 / res, rng) * std[classes]).astype(np.float32)
    return classes, texture


# --------------------------------------------------------------------------------------
# The whole simulation (arrays), then files
# --------------------------------------------------------------------------------------
@dataclass
class Simulation:
    seed: int
    domain_grid: Grid
    scene_grid: Grid
    margin_px: int
    dem: np.ndarray  # simulation DEM on domain_grid, lakes flattened
    labels: np.ndarray  # lake id per pixel on scene_grid (0 = dry)
    classes: np.ndarray  # surface class on scene_grid
    lakes: list
    passes: dict  # 'ASCENDING' / 'DESCENDING' -> PassResult
    enl: float = DEFAULT_ENL
    timing: dict = field(default_factory=dict)


def acquisition_time(orbit_pass, lon, date=_dt.date(2023, 8, 1)):
    """UTC time of a Sentinel-1 pass: the orbit is sun-synchronous with the ascending node at
    18:00 local mean solar time (descending 06:00), so UTC = LMST - lon/15 h."""
    local = 18.0 if orbit_pass == "ASCENDING" else 6.0
    t = _dt.datetime.combine(date, _dt.time()) + _dt.timedelta(hours=local - lon / 15.0)
    if orbit_pass == "DESCENDING":
        t += _dt.timedelta(days=3)  # a neighbouring relative orbit, three days later
    return t.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_geometries(rng, lon=0.0):
    """Ascending (heading ~347 deg) and descending (~193 deg) passes at random swath positions."""
    asc = PassGeometry("ASCENDING", 347.0 + rng.uniform(-1.5, 1.5), rng.uniform(33.0, 44.0),
                       acquisition_time("ASCENDING", lon))
    dsc = PassGeometry("DESCENDING", 193.0 + rng.uniform(-1.5, 1.5), rng.uniform(33.0, 44.0),
                       acquisition_time("DESCENDING", lon))
    return asc, dsc


def simulate_from_dem(dem, domain_grid, margin_px, seed=0, n_lakes=None, enl=DEFAULT_ENL, geometries=None,
                      lon=0.0, progress=None, is_canceled=None):
    """Run the forward model on a DEM array (domain_grid = scene grid + margin_px on each side).

    Returns a Simulation with the simulation DEM (lakes flattened), truth maps on the scene
    grid and both passes. Deterministic for a given seed.
    """
    t_start = time.perf_counter()
    dem = np.asarray(dem, dtype=np.float64)
    if dem.shape != domain_grid.shape:
        raise GlasarError("DEM array and domain grid differ in shape")
    if not np.isfinite(dem).all():
        raise GlasarError("the DEM has no-data holes in the simulation window")
    m = int(margin_px)
    rows, cols = dem.shape[0] - 2 * m, dem.shape[1] - 2 * m
    if rows < 8 or cols < 8:
        raise GlasarError("the scene is too small (fewer than 8 x 8 pixels)")
    res = domain_grid.res
    scene_grid = Grid(domain_grid.srs_wkt, domain_grid.x0 + m * res, domain_grid.y0 - m * res, res, rows, cols)
    rng = np.random.default_rng(seed)
    if n_lakes is None:
        n_lakes = int(np.clip(round(rows * cols * res * res / 5e6), 3, 10))
    interior = np.zeros(dem.shape, dtype=bool)
    edge = m + max(1, int(round(250.0 / res)))
    interior[edge:dem.shape[0] - edge, edge:dem.shape[1] - edge] = True
    timing = {}
    if geometries is None:
        geometries = default_geometries(rng, lon)
    t0 = time.perf_counter()
    # Where either pass has layover/shadow on the dry DEM: lakes are placed beside it.
    hint = np.zeros(dem.shape, dtype=bool)
    for geom in geometries:
        hint |= layover_shadow_truth(dem, domain_grid, geom, oversample=1, at_pixel_centres=False) > 0
    dem_sim, labels, lakes = make_lakes(dem, domain_grid, interior, rng, n_lakes, terrain_hint=hint)
    classes, texture = make_surface(dem_sim, labels, lakes, domain_grid, rng)
    timing["lakes_and_classes_s"] = time.perf_counter() - t0
    passes = {}
    for k, geom in enumerate(geometries):
        if is_canceled is not None and is_canceled():
            raise GlasarError("the simulation was canceled")
        t0 = time.perf_counter()
        passes[geom.orbit_pass] = simulate_pass(dem_sim, domain_grid, classes, texture, geom, scene_grid, rng, enl=enl)
        timing[f"pass_{geom.orbit_pass.lower()}_s"] = time.perf_counter() - t0
        if progress is not None:
            progress(20 + 60 * (k + 1) / len(geometries))
    sl = (slice(m, m + rows), slice(m, m + cols))
    timing["total_s"] = time.perf_counter() - t_start
    return Simulation(int(seed), domain_grid, scene_grid, m, dem_sim, labels[sl].copy(), classes[sl].copy(),
                      lakes, passes, float(enl), timing)


def scene_window(dem_path, size_km, resolution, margin_m=1000.0):
    """UTM grids for a square scene of size_km centred on the DEM, plus the widest margin
    (<= margin_m) the DEM covers. Returns (domain_grid, margin_px, lon, lat)."""
    if not size_km > 0:
        raise GlasarError(f"SIZE_KM must be positive, got {size_km}")
    if not resolution > 0:
        raise GlasarError(f"RESOLUTION must be positive, got {resolution}")
    try:
        ds = gdal.Open(str(dem_path))
    except RuntimeError as exc:
        raise GlasarError(f"cannot open DEM {dem_path}: {exc}") from None
    if not ds.GetProjection():
        raise GlasarError(f"DEM {dem_path} has no coordinate reference system")
    gt = ds.GetGeoTransform()
    src = srs_from_wkt(ds.GetProjection())
    cxp, cyp = ds.RasterXSize / 2.0, ds.RasterYSize / 2.0
    cx = gt[0] + cxp * gt[1] + cyp * gt[2]
    cy = gt[3] + cxp * gt[4] + cyp * gt[5]
    to_wgs = osr.CoordinateTransformation(src, WGS84)
    lon, lat, _ = to_wgs.TransformPoint(cx, cy)
    utm = srs_from_epsg(utm_epsg(lon, lat))
    ux, uy, _ = osr.CoordinateTransformation(WGS84, utm).TransformPoint(lon, lat)
    # DEM footprint in UTM: the inscribed box of its transformed corners/edges.
    to_utm = osr.CoordinateTransformation(src, utm)
    nx, ny = ds.RasterXSize, ds.RasterYSize
    steps = np.linspace(0, 1, 17)
    edges = {"left": [(0, f * ny) for f in steps], "right": [(nx, f * ny) for f in steps],
             "top": [(f * nx, 0) for f in steps], "bottom": [(f * nx, ny) for f in steps]}
    ext = {}
    for name, pts in edges.items():
        xy = [to_utm.TransformPoint(gt[0] + px * gt[1] + py * gt[2], gt[3] + px * gt[4] + py * gt[5])[:2]
              for px, py in pts]
        xy = np.array(xy)
        ext[name] = xy[:, 0].max() if name == "left" else xy[:, 0].min() if name == "right" else \
            xy[:, 1].min() if name == "top" else xy[:, 1].max()
    res = float(resolution)
    n = int(round(size_km * 1000.0 / res))
    if n < 8:
        raise GlasarError(f"SIZE_KM {size_km} at RESOLUTION {res} m gives fewer than 8 pixels")
    half = n * res / 2.0
    x0 = math.floor((ux - half) / res) * res
    y0 = math.ceil((uy + half) / res) * res
    room = min(x0 - ext["left"], ext["right"] - (x0 + n * res), ext["top"] - y0, (y0 - n * res) - ext["bottom"])
    if room < 0:
        raise GlasarError(
            f"the DEM does not cover a {size_km:g} km scene around its centre "
            f"(short by {-room:.0f} m); use a smaller SIZE_KM"
        )
    margin_px = int(min(margin_m, room - 2 * res) // res) if room > 2 * res else 0
    grid = Grid(utm.ExportToWkt(), x0 - margin_px * res, y0 + margin_px * res, res, n + 2 * margin_px,
                n + 2 * margin_px)
    return grid, margin_px, lon, lat


def simulate_scene(dem_path, output_folder, seed=0, size_km=6.0, resolution=10.0, n_lakes=None,
                   enl=DEFAULT_ENL, margin_m=1000.0, progress=None, is_canceled=None, log=None, source_name=None):
    """Simulate an ascending and a descending scene from a DEM file and write them with truth.

    The scene is a size_km square at resolution metres, centred on the DEM, in the UTM zone of
    its centre; the DEM is read (cubic) over the scene plus a margin (<= margin_m, as far as
    the DEM reaches) so that terrain just outside casts its layover/shadow into the scene.
    Returns a dict of output paths (see write_simulation); source_name names the DEM in the
    outputs' metadata (default: the file name of dem_path).
    """
    grid, margin_px, lon, lat = scene_window(dem_path, size_km, resolution, margin_m)
    dem = warp_band(dem_path, 1, grid, resampling="cubic")
    if not np.isfinite(dem).all():
        bad = ~np.isfinite(dem)
        if bad.mean() > 0.05:
            raise GlasarError(f"the DEM has {100 * bad.mean():.0f}% no-data in the simulation window")
        idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
        dem = dem[tuple(idx)]
        if log:
            log(f"filled {int(bad.sum())} DEM no-data pixels with their nearest valid height")
    if progress:
        progress(10)
    sim = simulate_from_dem(dem, grid, margin_px, seed=seed, n_lakes=n_lakes, enl=enl, lon=lon,
                            progress=progress, is_canceled=is_canceled)
    if log:
        log(f"simulated {sim.scene_grid.cols} x {sim.scene_grid.rows} px at {resolution:g} m in "
            f"{sim.timing['total_s']:.1f} s; {len(sim.lakes)} lakes")
    return write_simulation(sim, output_folder, dem_path=source_name or dem_path, log=log)


# --------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------
def _write_tif(path, grid, bands, dtype, nodata=None, descriptions=None, metadata=None, units=None):
    drv = gdal.GetDriverByName("GTiff")
    opts = ["COMPRESS=DEFLATE", "PREDICTOR=3" if dtype == gdal.GDT_Float32 else "PREDICTOR=2", "TILED=YES"]
    ds = drv.Create(str(path), grid.cols, grid.rows, len(bands), dtype, options=opts)
    ds.SetGeoTransform(grid.geotransform)
    ds.SetProjection(grid.srs_wkt)
    for k, arr in enumerate(bands, start=1):
        b = ds.GetRasterBand(k)
        if nodata is not None:
            b.SetNoDataValue(nodata)
        if descriptions:
            b.SetDescription(descriptions[k - 1])
        if units:
            b.SetUnitType(units[k - 1])
        b.WriteArray(arr)
    if metadata:
        ds.SetMetadata({k: str(v) for k, v in metadata.items()})
    ds.FlushCache()
    ds = None


def _ogr_translate(geom, dx, dy):
    g = geom.Clone()

    def shift(part):
        if part.GetGeometryCount() == 0:
            for i in range(part.GetPointCount()):
                x, y = part.GetX(i), part.GetY(i)
                part.SetPoint_2D(i, x + dx, y + dy)
        else:
            for i in range(part.GetGeometryCount()):
                shift(part.GetGeometryRef(i))

    shift(g)
    return g


def polygon_iou(a, b):
    inter = a.Intersection(b)
    ia = inter.GetArea() if inter is not None and not inter.IsEmpty() else 0.0
    union = a.GetArea() + b.GetArea() - ia
    return ia / union if union > 0 else 0.0


def perturb_polygon(geom, rng, target_iou):
    """A historical-inventory version of geom: buffered, shifted and simplified so that its
    IoU with geom is about target_iou (scale found by bisection, 12 steps)."""
    area = geom.GetArea()
    req = math.sqrt(area / math.pi)
    ang = rng.uniform(0, 2 * math.pi)
    grow = rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.0)
    tol = rng.uniform(0.02, 0.06) * req

    def make(k):
        g = geom.Buffer(grow * k * 0.25 * req, 4)
        if g is None or g.IsEmpty():
            g = geom.Clone()
        g = g.SimplifyPreserveTopology(tol)
        return _ogr_translate(g, k * 0.35 * req * math.cos(ang), k * 0.35 * req * math.sin(ang))

    lo, hi = 0.0, 2.0
    best = make(hi)
    for _ in range(12):
        mid = 0.5 * (lo + hi)
        g = make(mid)
        if polygon_iou(g, geom) > target_iou:
            lo = mid
        else:
            hi, best = mid, g
    g = make(0.5 * (lo + hi))
    return g if g is not None and not g.IsEmpty() else best


def _write_gpkg(path, srs_wkt, layer_name, fields, rows):
    """rows: list of (geometry, {field: value}); fields: list of (name, ogr type)."""
    drv = ogr.GetDriverByName("GPKG")
    ds = drv.CreateDataSource(str(path))
    layer = ds.CreateLayer(layer_name, srs_from_wkt(srs_wkt), ogr.wkbMultiPolygon)
    for name, typ in fields:
        layer.CreateField(ogr.FieldDefn(name, typ))
    for geom, attrs in rows:
        f = ogr.Feature(layer.GetLayerDefn())
        g = geom
        if ogr.GT_Flatten(g.GetGeometryType()) == ogr.wkbPolygon:
            g = ogr.ForceToMultiPolygon(g)
        f.SetGeometry(g)
        for k, v in attrs.items():
            f.SetField(k, v)
        layer.CreateFeature(f)
    ds = None


def write_simulation(sim, output_folder, dem_path="", log=None):
    """Write a Simulation as a user would have it; every file appears whole or not at all.

    Files: sim_<seed>_ASC.tif / sim_<seed>_DSC.tif (bands VV, VH, angle; Float32 sigma0 dB;
    nodata NaN; tags PASS, HEADING (platform heading from true north, as Sentinel-1
    annotations), HEADING_LOCAL (true north, at the scene), LOOK_AZIMUTH (grid), ACQUISITION_TIME,
    UNITS=dB), dem_30m.tif (the simulation
    DEM with its lake surfaces, averaged to 30 m over scene + margin), lakes_truth.gpkg,
    inventory.gpkg (perturbed historical inventory, field lake_id), layover_shadow_asc.tif /
    layover_shadow_dsc.tif (UInt8 bits 1/2/4/8), classes_truth.tif and simulation.json.
    """
    os.makedirs(output_folder, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".glasar_sim_", dir=output_folder)
    try:
        paths = _write_all(sim, tmp, dem_path)
        final = {}
        for key, p in paths.items():
            dst = os.path.join(output_folder, os.path.basename(p))
            os.replace(p, dst)
            final[key] = dst
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if log:
        log(f"wrote {len(final)} files to {output_folder}")
    return final


def pass_headings(geometry, grid):
    """Headings of a pass for the scene's tags. The simulator flies along ``heading_deg`` in
    **grid** coordinates (its look azimuth is heading + 90 on the grid); Sentinel-1 metadata
    gives the heading from **true** north at the nadir track (annotation ``platformHeading``).
    Returns {'grid', 'local': true-north heading at the scene centre (grid heading minus the
    grid azimuth of true north there), 'platform': that local heading carried to the nadir
    track (:func:`s1_metadata.platform_from_local_heading`, at the pass's centre incidence)},
    the last two in (-180, 180] as in the annotation."""
    cx, cy = terrain.grid_centre(grid)
    local = s1.wrap180(geometry.heading_deg - terrain.true_north_grid_azimuth(grid.srs_wkt, cx, cy))
    lon, lat = terrain.centre_lonlat(grid.srs_wkt, cx, cy)
    platform = s1.platform_from_local_heading(local, lon, lat, geometry.incidence_deg)
    return {"grid": float(geometry.heading_deg), "local": local, "platform": platform}


def _write_all(sim, folder, dem_path):
    g = sim.scene_grid
    seed = sim.seed
    paths = {}
    summary = {"simulator": f"GLaSAR {__version__} algorithms.simulate", "seed": seed,
               "dem_source": os.path.basename(str(dem_path)), "crs": srs_from_wkt(g.srs_wkt).GetAuthorityCode(None),
               "resolution_m": g.res, "scene_bounds": list(g.bounds), "scene_shape": list(g.shape),
               "margin_px": sim.margin_px, "enl": sim.enl, "nesz_db": NESZ_DB,
               "backscatter_35deg": {CLASS_NAMES[c]: {"vv_db": b.vv_db, "vh_db": b.vh_db, "cos_exponent": b.n,
                                                     "texture_db": b.texture_db}
                                     for c, b in BACKSCATTER.items()},
               "classes": {name: int(np.sum(sim.classes == c)) for c, name in enumerate(CLASS_NAMES)},
               "layover_shadow_bits": {"1": "active layover", "2": "passive layover", "4": "active shadow",
                                       "8": "passive shadow"},
               "timing_s": {k: round(v, 3) for k, v in sim.timing.items()}, "passes": {}, "lakes": []}
    tags = {"ASCENDING": "ASC", "DESCENDING": "DSC"}
    for name, pr in sim.passes.items():
        geo = pr.geometry
        headings = pass_headings(geo, g)
        p = os.path.join(folder, f"sim_{seed}_{tags[name]}.tif")
        md = {"PASS": name, "HEADING": f"{headings['platform']:.4f}", "HEADING_LOCAL": f"{headings['local']:.4f}",
              "ACQUISITION_TIME": geo.acquisition_time,
              "UNITS": "dB", "QUANTITY": "sigma0", "PLATFORM": "simulated Sentinel-1 IW",
              "SIMULATOR": "GLaSAR algorithms.simulate", "SEED": seed,
              "INCIDENCE_CENTRE": f"{geo.incidence_deg:.3f}", "LOOK_AZIMUTH": f"{geo.look_azimuth_deg:.3f}"}
        _write_tif(p, g, [pr.vv_db, pr.vh_db, pr.angle], gdal.GDT_Float32, nodata=float("nan"),
                   descriptions=["VV", "VH", "angle"], metadata=md, units=["dB", "dB", "deg"])
        paths[f"scene_{tags[name].lower()}"] = p
        q = os.path.join(folder, f"layover_shadow_{tags[name].lower()}.tif")
        _write_tif(q, g, [pr.bits], gdal.GDT_Byte, descriptions=["layover_shadow"],
                   metadata={"PASS": name, "HEADING": f"{headings['platform']:.4f}",
                             "HEADING_LOCAL": f"{headings['local']:.4f}", "LOOK_AZIMUTH": f"{geo.look_azimuth_deg:.3f}",
                             "BITS": "1 active layover, 2 passive layover, 4 active shadow, 8 passive shadow"})
        paths[f"layover_shadow_{tags[name].lower()}"] = q
        summary["passes"][name] = {"heading_deg": geo.heading_deg, "heading_local_deg": headings["local"],
                                   "platform_heading_deg": headings["platform"], "look_azimuth_deg": geo.look_azimuth_deg,
                                   "incidence_centre_deg": geo.incidence_deg,
                                   "acquisition_time": geo.acquisition_time,
                                   "layover_fraction": float(np.mean((pr.bits & LAYOVER) > 0)),
                                   "shadow_fraction": float(np.mean((pr.bits & SHADOW) > 0)),
                                   **{k: v for k, v in pr.info.items()}}
    # DEM at 30 m (average of the simulation DEM over scene + margin).
    dg = sim.domain_grid
    mem = gdal.GetDriverByName("MEM").Create("", dg.cols, dg.rows, 1, gdal.GDT_Float32)
    mem.SetGeoTransform(dg.geotransform)
    mem.SetProjection(dg.srs_wkt)
    mem.GetRasterBand(1).WriteArray(sim.dem.astype(np.float32))
    p = os.path.join(folder, "dem_30m.tif")
    gdal.Warp(p, mem, options=gdal.WarpOptions(
        format="GTiff", xRes=30.0, yRes=30.0, outputBounds=dg.bounds, resampleAlg="average",
        outputType=gdal.GDT_Float32, creationOptions=["COMPRESS=DEFLATE", "PREDICTOR=3"]))
    ds = gdal.Open(p, gdal.GA_Update)
    ds.GetRasterBand(1).SetDescription("elevation")
    ds.GetRasterBand(1).SetUnitType("m")
    ds.SetMetadata({"SOURCE": f"{os.path.basename(str(dem_path))} (SRTM), lakes flooded by GLaSAR simulator"})
    ds = None
    paths["dem"] = p
    p = os.path.join(folder, "classes_truth.tif")
    _write_tif(p, g, [sim.classes], gdal.GDT_Byte, descriptions=["class"],
               metadata={"CLASSES": ", ".join(f"{c} {n}" for c, n in enumerate(CLASS_NAMES))})
    paths["classes"] = p

    # Lakes: truth polygons and the perturbed inventory.
    rng = np.random.default_rng([seed, 7])
    truth_rows, inv_rows = [], []
    drop = set()
    if len(sim.lakes) >= 4:
        drop.add(int(rng.choice([lk.lake_id for lk in sim.lakes])))
    for lk in sim.lakes:
        mask = sim.labels == lk.lake_id
        geom = polygonize(mask, g)
        if geom is None:
            continue
        stats = {}
        for name, pr in sim.passes.items():
            t = tags[name].lower()
            stats[f"layover_{t}"] = float(np.mean((pr.bits[mask] & LAYOVER) > 0))
            stats[f"shadow_{t}"] = float(np.mean((pr.bits[mask] & SHADOW) > 0))
        iou = -1.0
        if lk.lake_id not in drop:
            inv = perturb_polygon(geom, rng, rng.uniform(0.72, 0.88))
            iou = polygon_iou(inv, geom)
            inv_rows.append((inv, {"lake_id": lk.lake_id, "name": f"SIM{seed}_{lk.lake_id:03d}",
                                   "area_km2": inv.GetArea() / 1e6}))
        attrs = {"lake_id": lk.lake_id, "level_m": lk.level_m, "area_m2": geom.GetArea(),
                 "rough_frac": lk.rough_fraction, "in_inventory": int(lk.lake_id not in drop),
                 "inventory_iou": iou, **{k: v for k, v in stats.items()}}
        truth_rows.append((geom, attrs))
        summary["lakes"].append(attrs)
    # One spurious inventory lake on dry, gentle ground (the inventory is old and imperfect).
    dry = (sim.labels == 0) & ndimage.binary_erosion(np.ones(g.shape, bool), iterations=max(1, int(200 / g.res)))
    dry &= ~ndimage.binary_dilation(sim.labels > 0, iterations=max(1, int(300 / g.res)))
    if dry.any():
        rr, cc = np.nonzero(dry)
        k = int(rng.integers(rr.size))
        xs, ys = g.xy()
        pt = ogr.Geometry(ogr.wkbPoint)
        pt.AddPoint_2D(float(xs[cc[k]]), float(ys[rr[k]]))
        spurious = pt.Buffer(rng.uniform(60.0, 120.0), 8)
        inv_rows.append((spurious, {"lake_id": 900 + seed % 100, "name": f"SIM{seed}_spurious",
                                    "area_km2": spurious.GetArea() / 1e6}))
        summary["spurious_inventory_lake_id"] = 900 + seed % 100
    p = os.path.join(folder, "lakes_truth.gpkg")
    _write_gpkg(p, g.srs_wkt, "lakes_truth",
                [("lake_id", ogr.OFTInteger), ("level_m", ogr.OFTReal), ("area_m2", ogr.OFTReal),
                 ("rough_frac", ogr.OFTReal), ("in_inventory", ogr.OFTInteger), ("inventory_iou", ogr.OFTReal)]
                + [(f"{w}_{t}", ogr.OFTReal) for t in ("asc", "dsc") for w in ("layover", "shadow")],
                truth_rows)
    paths["lakes_truth"] = p
    p = os.path.join(folder, "inventory.gpkg")
    _write_gpkg(p, g.srs_wkt, "inventory",
                [("lake_id", ogr.OFTInteger), ("name", ogr.OFTString), ("area_km2", ogr.OFTReal)], inv_rows)
    paths["inventory"] = p
    p = os.path.join(folder, "simulation.json")
    with open(p, "w") as fh:
        json.dump(summary, fh, indent=1, default=float)
    paths["summary"] = p
    return paths
