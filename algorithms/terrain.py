"""Terrain geometry shared by slope correction and layover/shadow: look direction on a grid,
metric slopes for any CRS, DEM resampling onto a SAR grid, and resampling onto range lines.

Conventions (degrees unless said otherwise):

* heading: flight direction of the satellite, clockwise from **true** north (Sentinel-1
  annotation ``platformHeading``; ascending about -12, descending about -166 in the Alps).
* look azimuth: Sentinel-1 looks right, so the horizontal look direction (from the sensor
  towards far range) is ``heading + 90``. On a map grid that bearing must be expressed as a
  **grid** azimuth: ``look_grid = heading + 90 + c`` where ``c`` is the grid azimuth of true
  north at the grid centre (minus the meridian convergence; 1-2 deg in UTM, 0 on a lon/lat
  grid). :func:`true_north_grid_azimuth` measures ``c`` with osr by stepping along the meridian.
* ground range ``g``: metres along the look direction (grows away from the sensor).
* range slope ``tan(alpha_r) = grad(h) . u`` with ``u`` the unit look vector: positive on a
  slope that faces the sensor (Vollrath et al. 2020 sign convention).
* metric spacing: every CRS, geographic included, is measured in metres on the ellipsoid
  (:func:`metric_spacing`): slopes of a lon/lat DEM are never computed in degrees.

Range lines (:class:`RangeLines`): straight lines parallel to the look direction, one per grid
row (or column), sampled once per grid column (or row). Sampling is an exact bilinear
interpolation because every sample lies on a grid column: only the row coordinate is
fractional. Mapping back assigns each grid pixel the line sample on its own column that is at
most half a pixel away (:meth:`RangeLines.to_grid`), or interpolates linearly between the two
lines that bracket the pixel on its column (:meth:`RangeLines.interpolate_at`). Both passes are vectorised over all lines, with one Python iteration
per column of contiguous array work.

Sensor geometry along a line (:func:`line_sensor_geometry`): one flat-earth point sensor per
line, fitted to the incidence angles on that line, ``tan(theta(g)) = tan(theta0) +
kappa (g - g0)`` with ``kappa = 1/H`` (H = effective height). This keeps every comparison on
the line in one consistent ray geometry (the incidence changes by ~0.06 deg/km across an IW
swath) instead of mixing a different per-pixel angle into each comparison. With a constant
incidence ``kappa = 0`` and the geometry reduces exactly to parallel rays.
"""
import math
import os
import tempfile

import numpy as np
from osgeo import gdal, osr

from . import GlasarError
from .grid import Grid, warp_band

gdal.UseExceptions()

DEM_RESAMPLING = ("bilinear", "cubic")
_GATHER_BELOW = 1024  # range lines: below this many lines, resample with one gather
_FEET = {"ft", "feet", "foot", "us survey foot", "ftus"}
_FIT_SAMPLES = 1 << 16  # samples per block of lines in the per-line sensor fits
_TILE = 256  # tile edge of the blocked transposes (a tile of source and target stays in cache)


# --------------------------------------------------------------------------------------------
# CRS helpers
# --------------------------------------------------------------------------------------------
def _srs(wkt):
    if not wkt:
        raise GlasarError("raster has no coordinate reference system")
    srs = osr.SpatialReference()
    try:
        srs.ImportFromWkt(wkt)
    except RuntimeError as exc:
        raise GlasarError(f"cannot read the coordinate reference system: {exc}") from None
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _to_lonlat(srs):
    geo = srs.CloneGeogCS()
    geo.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return osr.CoordinateTransformation(srs, geo), osr.CoordinateTransformation(geo, srs), geo


def _radii(lat_deg, a, inv_f):
    """Meridional (M) and prime-vertical (N) radii of curvature of the ellipsoid (m)."""
    f = 1.0 / inv_f if inv_f else 0.0
    e2 = f * (2.0 - f)
    s2 = np.sin(np.radians(lat_deg)) ** 2
    w = np.sqrt(1.0 - e2 * s2)
    return a * (1.0 - e2) / w ** 3, a / w


def _local_metres(geo, lon0, lat0, lon, lat):
    """East/north metres of (lon, lat) from (lon0, lat0) on the ellipsoid (local, small offsets)."""
    m, n = _radii(lat0, geo.GetSemiMajor(), geo.GetInvFlattening())
    de = math.radians(lon - lon0) * n * math.cos(math.radians(lat0))
    dn = math.radians(lat - lat0) * m
    return de, dn


def is_geographic(srs_wkt):
    return bool(_srs(srs_wkt).IsGeographic())


def metric_spacing(geotransform, srs_wkt, size=None, per_row=False):
    """Pixel size in metres on the ellipsoid, ``(dx, dy)``, for a north-up raster in any CRS.

    Measured at the raster centre (``size = (xsize, ysize)``; the first pixel without it) by
    transforming one-pixel steps to lon/lat and converting the lon/lat differences to metres
    with the ellipsoid's radii of curvature (``dE = dlon N cos(lat)``, ``dN = dlat M``). So a
    projected grid gets its point scale factor (UTM 0.9996-1.0004, Web Mercator 1/cos(lat)) and
    a geographic grid its metres. With ``per_row`` on a geographic grid, ``dx`` is an array with
    one value per row (parallels shrink with latitude).
    """
    gt = geotransform
    if gt[2] != 0 or gt[4] != 0:
        raise GlasarError("rotated rasters are not supported: warp the raster north-up first")
    srs = _srs(srs_wkt)
    xs, ys = (1, 1) if size is None else (int(size[0]), int(size[1]))
    cx, cy = gt[0] + gt[1] * xs / 2.0, gt[3] + gt[5] * ys / 2.0
    if srs.IsGeographic():
        a, inv_f = srs.GetSemiMajor(), srs.GetInvFlattening()
        lat = gt[3] + gt[5] * (np.arange(ys) + 0.5) if per_row else np.array(cy)
        if np.any(np.abs(lat) > 89.0):
            raise GlasarError("geographic raster reaches the poles: reproject it to a polar CRS first")
        m, n = _radii(lat, a, inv_f)
        dx = np.radians(abs(gt[1])) * n * np.cos(np.radians(lat))
        dy = float(np.radians(abs(gt[5])) * np.mean(m))
        return (float(dx) if dx.ndim == 0 else dx), dy
    if srs.IsLocal() or not srs.IsProjected():
        unit = srs.GetLinearUnits() or 1.0
        return abs(gt[1]) * unit, abs(gt[5]) * unit
    to_ll, _, geo = _to_lonlat(srs)
    lon0, lat0, _ = to_ll.TransformPoint(cx, cy)
    lon1, lat1, _ = to_ll.TransformPoint(cx + gt[1], cy)
    lon2, lat2, _ = to_ll.TransformPoint(cx, cy + gt[5])
    dx = math.hypot(*_local_metres(geo, lon0, lat0, lon1, lat1))
    dy = math.hypot(*_local_metres(geo, lon0, lat0, lon2, lat2))
    return dx, dy


def grid_spacing(grid, per_row=False):
    """Metric spacing ``(dx, dy)`` of an :class:`algorithms.grid.Grid` at its centre
    (``dx`` per row for a geographic grid when ``per_row``)."""
    return metric_spacing(grid.geotransform, grid.srs_wkt, (grid.cols, grid.rows), per_row)


def grid_centre(grid):
    x0, y0, x1, y1 = grid.bounds
    return 0.5 * (x0 + x1), 0.5 * (y0 + y1)


def centre_lonlat(srs_wkt, x, y):
    srs = _srs(srs_wkt)
    if srs.IsGeographic():
        return x, y
    to_ll, _, _ = _to_lonlat(srs)
    lon, lat, _ = to_ll.TransformPoint(x, y)
    return lon, lat


def true_north_grid_azimuth(srs_wkt, x, y, step_deg=1e-3):
    """Grid azimuth of true north at (x, y) in the CRS (deg, clockwise from grid north).

    This is minus the meridian convergence gamma (the angle from true north to grid north):
    a bearing B relative to true north has grid azimuth ``B + true_north_grid_azimuth``. In UTM
    ``gamma ~ atan(tan(lon - lon0) sin(lat))``, about +1.36 deg at 10.86 E 46.84 N in zone 32N.
    Measured with osr by stepping ``step_deg`` north along the meridian; 0 on a lon/lat grid.
    """
    srs = _srs(srs_wkt)
    if srs.IsGeographic():
        return 0.0
    to_ll, to_xy, _ = _to_lonlat(srs)
    lon, lat, _ = to_ll.TransformPoint(x, y)
    lat_a, lat_b = lat - step_deg / 2, lat + step_deg / 2
    xa, ya, _ = to_xy.TransformPoint(lon, lat_a)
    xb, yb, _ = to_xy.TransformPoint(lon, lat_b)
    return math.degrees(math.atan2(xb - xa, yb - ya))


def look_azimuth(heading_deg, srs_wkt=None, x=None, y=None, looking="right"):
    """Grid azimuth of the horizontal look direction (sensor -> far range), in [0, 360).

    ``heading + 90`` for a right-looking sensor such as Sentinel-1 (``- 90`` for left),
    converted from true north to grid north at (x, y) when a projected CRS is given.
    """
    if heading_deg is None or not np.isfinite(heading_deg):
        raise GlasarError("the pass heading is unknown: give HEADING (deg from true north, e.g. "
                          "-166 for a Sentinel-1 descending pass, -14 for ascending)")
    side = {"right": 90.0, "left": -90.0}[looking]
    conv = 0.0 if srs_wkt is None else true_north_grid_azimuth(srs_wkt, x, y)
    return float((heading_deg + side + conv) % 360.0)


def tagged_look_azimuth(metadata, srs_wkt, x, y):
    """Look direction from a raster's own geometry tags, or None when it has neither:

    * ``LOOK_AZIMUTH``: grid azimuth of the look direction in the raster's own CRS (written by
      the GLaSAR simulator), used as it is;
    * ``HEADING_LOCAL``: the along-track direction at the scene, deg from true north (written by
      the scene catalogue and the Earth Engine export), converted to grid north at (x, y).

    ``HEADING`` is the platform heading (Sentinel-1 annotation ``platformHeading``, at the nadir
    track) and is not read here. Returns (look azimuth, tag name)."""
    md = {str(k).upper(): v for k, v in (metadata or {}).items()}
    for key in ("LOOK_AZIMUTH", "HEADING_LOCAL"):
        try:
            v = float(md.get(key, ""))
        except ValueError:
            continue
        if math.isfinite(v):
            if key == "LOOK_AZIMUTH":
                return float(v % 360.0), key
            return look_azimuth(v, srs_wkt, x, y), key
    return None


# --------------------------------------------------------------------------------------------
# Slopes
# --------------------------------------------------------------------------------------------
def _spacing_arrays(spacing, rows):
    """Normalise spacing (scalar, (dx, dy), dx per row) to (dx column vector, dy scalar)."""
    if np.isscalar(spacing):
        dx, dy = float(spacing), float(spacing)
    else:
        dx, dy = spacing
    dx = np.asarray(dx, dtype=np.float64)
    if dx.ndim == 0:
        dx = np.full((rows, 1), float(dx))
    else:
        if dx.shape[0] != rows:
            raise GlasarError("per-row spacing does not match the DEM rows")
        dx = dx.reshape(rows, 1)
    dy = float(dy)
    if not (np.all(dx > 0) and dy > 0):
        raise GlasarError("pixel spacing must be positive")
    return dx, dy


def mean_spacing(spacing):
    """Scalar (dx, dy) from any accepted spacing (the mean of a per-row dx)."""
    if np.isscalar(spacing):
        return float(spacing), float(spacing)
    dx, dy = spacing
    return float(np.mean(dx)), float(dy)


def gradient(dem, spacing):
    """Metric gradient ``(dh/dE, dh/dN)`` of a north-up DEM (rows go south), central
    differences of the 4 neighbours (as ``ee.Terrain.slope``), one-sided at the edges.

    spacing: metres, scalar or (dx, dy); dx may have one value per row (lon/lat grids).
    """
    h = np.asarray(dem, dtype=np.float64)
    if h.ndim != 2 or min(h.shape) < 2:
        raise GlasarError("the DEM window must be a 2-D array of at least 2 x 2 pixels")
    dx, dy = _spacing_arrays(spacing, h.shape[0])
    d_row, d_col = np.gradient(h)
    return d_col / dx, -d_row / dy


def slope_aspect(dem, spacing):
    """Slope (deg from horizontal) and aspect (deg clockwise from grid north, the direction
    the slope faces = downhill) of a DEM on a metric or lon/lat grid."""
    he, hn = gradient(dem, spacing)
    slope = np.degrees(np.arctan(np.hypot(he, hn)))
    aspect = np.degrees(np.arctan2(-he, -hn)) % 360.0
    return slope, aspect


def range_azimuth_slopes(dem, spacing, look_azimuth_deg):
    """tan of the range slope and of the azimuth slope for a look direction (grid azimuth).

    ``tan(alpha_r) = dh/dE sin(phi) + dh/dN cos(phi)`` (positive = facing the sensor, since
    the terrain rises away from it); ``tan(alpha_az) = dh/dE cos(phi) - dh/dN sin(phi)``.
    Equal to Vollrath et al. (2020) ``tan(alpha_s) cos(phi_i - phi_s)`` and
    ``tan(alpha_s) sin(phi_i - phi_s)`` with phi_i = bearing to the sensor, phi_s = aspect.
    """
    he, hn = gradient(dem, spacing)
    phi = math.radians(look_azimuth_deg)
    return he * math.sin(phi) + hn * math.cos(phi), he * math.cos(phi) - hn * math.sin(phi)


# --------------------------------------------------------------------------------------------
# DEM input
# --------------------------------------------------------------------------------------------
def _height_scale(band):
    unit = (band.GetUnitType() or "").strip().lower()
    if unit in _FEET:
        return 0.3048
    return 1.0


def resample_dem(path, grid, resampling="bilinear"):
    """DEM heights (m, float32, NaN = nodata) resampled onto ``grid`` (any DEM CRS).

    GDAL warps only the source blocks that overlap the grid, with bilinear or cubic
    interpolation (``resampling``). Heights in feet (band unit type) are converted to metres.
    Raises GlasarError if the DEM does not cover the grid at all.
    """
    if resampling not in DEM_RESAMPLING:
        raise GlasarError(f"DEM resampling must be one of {', '.join(DEM_RESAMPLING)}")
    h = warp_band(path, 1, grid, resampling=resampling)
    if not np.isfinite(h).any():
        raise GlasarError(f"the DEM {os.path.basename(str(path))} has no valid height on the analysis grid: it does "
                          "not cover the grid, or it is all nodata there")
    ds = gdal.Open(str(path))
    return h * np.float32(_height_scale(ds.GetRasterBand(1)))


def read_dem(path):
    """Whole DEM as float64 metres with NaN nodata, plus (geotransform, srs_wkt)."""
    try:
        ds = gdal.Open(str(path))
    except RuntimeError as exc:
        raise GlasarError(f"cannot open DEM {path}: {exc}") from None
    if not ds.GetProjection():
        raise GlasarError(f"DEM {path} has no coordinate reference system")
    band = ds.GetRasterBand(1)
    h = band.ReadAsArray().astype(np.float64)
    nod = band.GetNoDataValue()
    if nod is not None:
        h[h == nod] = np.nan
    h[~np.isfinite(h)] = np.nan
    if not np.isfinite(h).any():
        raise GlasarError(f"DEM {path} has no valid heights")
    return h * _height_scale(band), tuple(ds.GetGeoTransform()), ds.GetProjection()


def scene_grid(geotransform, size, srs_wkt):
    """:class:`Grid` of a north-up raster with square pixels (a SAR scene or a DEM)."""
    gt = geotransform
    if gt[2] != 0 or gt[4] != 0:
        raise GlasarError("rotated rasters are not supported: warp the raster north-up first")
    if not math.isclose(abs(gt[1]), abs(gt[5]), rel_tol=1e-6):
        raise GlasarError("the raster's pixels are not square; warp it to square pixels first")
    if gt[1] <= 0 or gt[5] >= 0:
        raise GlasarError("the raster is not north-up (negative x or positive y pixel size)")
    return Grid(srs_wkt, gt[0], gt[3], abs(gt[1]), int(size[1]), int(size[0]))


# --------------------------------------------------------------------------------------------
# Incidence
# --------------------------------------------------------------------------------------------
def ground_range(shape, spacing, look_azimuth_deg):
    """Ground-range coordinate (m) of every pixel centre along the look direction."""
    rows, cols = shape
    dx, dy = mean_spacing(spacing)
    phi = math.radians(look_azimuth_deg)
    x = (np.arange(cols) + 0.5) * dx
    y = -(np.arange(rows) + 0.5) * dy
    return x[None, :] * math.sin(phi) + y[:, None] * math.cos(phi)


def incidence_near_far(shape, spacing, look_azimuth_deg, near_deg, far_deg):
    """Incidence field (deg) growing linearly in ground range from ``near_deg`` at the grid's
    near-range corner to ``far_deg`` at its far-range corner (constant if they are equal)."""
    for v in (near_deg, far_deg):
        if not (0.0 < v < 90.0):
            raise GlasarError("incidence angles must lie between 0 and 90 degrees")
    if far_deg < near_deg:
        raise GlasarError("the far-range incidence must not be smaller than the near-range incidence")
    g = ground_range(shape, spacing, look_azimuth_deg)
    span = float(g.max() - g.min())
    if span <= 0 or near_deg == far_deg:
        return np.full(shape, float(near_deg))
    return near_deg + (far_deg - near_deg) * (g - g.min()) / span


def check_incidence(incidence_deg):
    """Incidence as float64 degrees (scalar or array) inside (0, 90), or GlasarError."""
    inc = np.asarray(incidence_deg, dtype=np.float64)
    # NaN-skipping extremes in one pass each (no copy of the finite values of a large field).
    lo, hi = (float(np.fmin.reduce(inc, axis=None)), float(np.fmax.reduce(inc, axis=None))) if inc.size else \
        (math.nan, math.nan)
    if not (math.isfinite(lo) and math.isfinite(hi)):  # all NaN, or +-inf among the values
        finite = inc[np.isfinite(inc)]
        if finite.size == 0:
            raise GlasarError("no valid incidence angle")
        lo, hi = float(finite.min()), float(finite.max())
    if lo <= 0.0 or hi >= 90.0:
        raise GlasarError(f"incidence angles must lie in (0, 90) degrees (got {lo:.3g}.."
                          f"{hi:.3g}); radians given by mistake?")
    if hi <= 0.5 * math.pi:
        raise GlasarError(f"incidence angles {lo:.3g}..{hi:.3g} look like radians; give degrees")
    return inc


# --------------------------------------------------------------------------------------------
# Range lines
# --------------------------------------------------------------------------------------------
class RangeLines:
    """Straight lines parallel to the look direction through a north-up grid.

    The grid is first brought to a canonical orientation (transposed when the look direction
    is closer to north-south than to east-west on the pixel lattice, flipped so that the sample
    index grows with ground range, i.e. **near range first**). Line ``k`` passes through
    across-coordinate ``k + j t`` at along-index ``j`` (``|t| <= 1`` pixels per step), so each
    sample sits on a grid column and its bilinear interpolation is a 1-D linear interpolation
    between two pixels of that column. Samples are ``step`` metres apart on the ground.

    :meth:`to_lines` returns ``(n_along, n_lines)`` arrays (built one contiguous row per
    sample index); the line computations take blocks of lines transposed to
    ``(lines, n_along)`` so that running maxima are cache-friendly ``accumulate(axis=1)``.
    """

    def __init__(self, shape, spacing, look_azimuth_deg):
        rows, cols = (int(shape[0]), int(shape[1]))
        if rows < 1 or cols < 2:
            raise GlasarError("the grid is too small for range lines")
        dx, dy = mean_spacing(spacing)
        phi = math.radians(float(look_azimuth_deg) % 360.0)
        ue, un = math.sin(phi), math.cos(phi)
        if abs(ue) / dx >= abs(un) / dy:
            self.transpose, self.flip = False, ue < 0
            self.step = dx / abs(ue)
            self.t = -(dx * un / abs(ue)) / dy
            n_across, n_along = rows, cols
        else:
            self.transpose, self.flip = True, un > 0
            self.step = dy / abs(un)
            self.t = (dy * ue / abs(un)) / dx
            n_across, n_along = cols, rows
        self.shape = (rows, cols)
        self.n_across, self.n_along = n_across, n_along
        jt = np.arange(n_along) * self.t
        n = np.floor(jt).astype(np.int64)
        f = jt - n
        f[f > 1.0 - 1e-12] = 0.0  # guard against floor rounding just below an integer
        n[jt - n > 1.0 - 1e-12] += 1
        r = (f >= 0.5).astype(np.int64)
        kk = -n - r
        self._n, self._f, self._r = n, f, r
        self.k_lo = int(kk.min())
        self.n_lines = int(n_across - 1 + kk.max() - self.k_lo + 1)
        self._back = kk - self.k_lo  # start of each column's pixels in its line array row
        self._pad = int(n.max() - n.min()) + 3
        self.g = np.arange(n_along, dtype=np.float64) * self.step  # ground range along a line

    # canonical orientation -------------------------------------------------------------
    def _canon(self, a):
        a = a.T if self.transpose else a
        return a[:, ::-1] if self.flip else a

    def _uncanon(self, c):
        c = c[:, ::-1] if self.flip else c
        return c.T if self.transpose else c

    def _window_canon(self, window):
        """Grid window (row0, row1, col0, col1) -> canonical (a0, a1, j0, j1)."""
        r0, r1, c0, c1 = (int(v) for v in window)
        rows, cols = self.shape
        if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
            raise GlasarError("the window lies outside the range-line grid")
        (a0, a1), (j0, j1) = ((c0, c1), (r0, r1)) if self.transpose else ((r0, r1), (c0, c1))
        n = self.n_along
        if self.flip:
            j0, j1 = n - j1, n - j0
        return a0, a1, j0, j1

    def window_lines(self, window):
        """(first, stop) indices of the lines that hold the pixels of a grid window
        (row0, row1, col0, col1): only these are needed for the window (each pixel depends on
        its own line only)."""
        a0, a1, j0, j1 = self._window_canon(window)
        back = self._back[j0:j1]
        return int(back.min() + a0), int(back.max() + a1)

    def to_lines(self, arr, dtype=np.float32, along=None, lines=None):
        """Sample a grid array (``shape``) onto the lines: array ``(n_along, n_lines)``, NaN
        where a line runs more than one pixel outside the grid (within one pixel the edge is
        extrapolated linearly).
        ``along``: optional subset of along-line indices (rows of the result), e.g. every
        8th sample for a smooth field. ``lines``: optional (first, stop) range of lines
        (columns of the result), e.g. :meth:`window_lines`."""
        a = np.asarray(arr)
        if a.shape != self.shape:
            raise GlasarError("array shape does not match the range-line grid")
        c = self._canon(a)
        p = self._pad
        js = np.arange(self.n_along) if along is None else np.asarray(along, dtype=np.int64)
        cp = np.empty((js.size, self.n_across + 2 * p + 2), dtype=dtype)
        cp[:, :p] = np.nan  # NaN beyond the extrapolated pixels; the body is overwritten
        cp[:, p + 2 + self.n_across:] = np.nan
        body = cp[:, p + 1: p + 1 + self.n_across]
        copy_transposed(body, c if along is None else c[:, js])
        # One pixel beyond each edge, extrapolated linearly (exact for planes), so that samples
        # up to half a pixel outside the grid (mapped back onto edge pixels) are defined.
        if self.n_across > 1:
            np.subtract(2 * body[:, 0], body[:, 1], out=cp[:, p])
            np.subtract(2 * body[:, -1], body[:, -2], out=cp[:, p + 1 + self.n_across])
        else:
            cp[:, p] = body[:, 0]
            cp[:, p + 1 + self.n_across] = body[:, -1]
        l0, l1 = (0, self.n_lines) if lines is None else (int(lines[0]), int(lines[1]))
        if not 0 <= l0 < l1 <= self.n_lines:
            raise GlasarError("line range outside the range lines")
        out = np.empty((js.size, l1 - l0), dtype=dtype)
        start = self.k_lo + self._n[js] + p + 1 + l0
        frac = self._f[js]
        nl = l1 - l0
        if nl < _GATHER_BELOW:  # few lines: one gather beats one call per sample index
            idx = start[:, None] + np.arange(nl)[None, :]
            lo = np.take_along_axis(cp, idx, axis=1)
            idx += 1
            np.subtract(np.take_along_axis(cp, idx, axis=1), lo, out=out)
            out *= frac.astype(dtype)[:, None]
            out += lo
            flat = frac == 0.0
            out[flat] = lo[flat]
            return out
        for i in range(js.size):
            s, fj = start[i], frac[i]
            row = cp[i]
            if fj == 0.0:
                out[i] = row[s: s + nl]
            else:
                lo = row[s: s + nl]
                np.subtract(row[s + 1: s + 1 + nl], lo, out=out[i])
                out[i] *= dtype(fj)
                out[i] += lo
        return out

    def to_grid(self, lines, window=None, first_line=0, other=False, canonical=False):
        """Map a line array back onto the grid: each pixel takes the sample of its own column
        on the nearest line (at most half a pixel away).
        ``window``: (row0, row1, col0, col1) to map only that part of the grid, from a line
        array that starts at line ``first_line`` (e.g. lines from :meth:`window_lines`).
        ``other``: take the other line that brackets the pixel on its column instead (the
        nearest one where the pixel lies on a line or the other is not in the array).
        ``canonical``: return the result in the lines' orientation, (along, across) = (j, a)
        (see :meth:`from_canonical`, :meth:`bracket_canonical`)."""
        la = np.asarray(lines)
        if window is None:
            a0, a1, j0, j1 = 0, self.n_across, 0, self.n_along
        else:
            a0, a1, j0, j1 = self._window_canon(window)
        need = self._back[j0:j1]
        if la.shape[0] != self.n_along or first_line > need.min() + a0 or \
                first_line + la.shape[1] < need.max() + a1:
            raise GlasarError("line array shape does not match the range lines")
        out_t = np.empty((j1 - j0, a1 - a0), dtype=la.dtype)
        na, width = a1 - a0, la.shape[1]
        for i, j in enumerate(range(j0, j1)):
            s = self._back[j] + a0 - first_line
            out_t[i] = la[j, s: s + na]
            if other and self._f[j] != 0.0:
                o = s + (1 if self._r[j] else -1)  # below (r = 1) or above (r = 0) the nearest
                lo, hi = max(o, 0), min(o + na, width)
                out_t[i, lo - o: hi - o] = la[j, lo:hi]
        return out_t if canonical else self.from_canonical(out_t)

    def from_canonical(self, out_t):
        """A (j, a) array from ``to_grid(..., canonical=True)`` in grid orientation."""
        out_t = np.asarray(out_t)
        if not self.transpose:  # out_t.T flipped: a transposed copy
            src = out_t[::-1] if self.flip else out_t
            return copy_transposed(np.empty(out_t.shape[::-1], dtype=out_t.dtype), src)
        return np.ascontiguousarray(self._uncanon(out_t.T))

    def bracket(self, rows, cols, window=None, first_line=0):
        """For grid pixels (rows, cols; relative to ``window``): the along-line sample index
        ``j``, the line ``below`` (in an array that starts at line ``first_line``) that crosses
        the pixel's column ``f`` pixels from its centre, and ``f``; the other bracketing line
        is ``below - 1``, ``1 - f`` pixels away on the other side."""
        if window is None:
            j0, j1 = 0, self.n_along
        else:
            _, _, j0, j1 = self._window_canon(window)
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        a, jf = (cols, rows) if self.transpose else (rows, cols)
        return self.bracket_canonical((j1 - j0 - 1) - jf if self.flip else jf, a, window, first_line)

    def bracket_canonical(self, j_rel, a_rel, window=None, first_line=0):
        """As :meth:`bracket` for indices (j_rel, a_rel) of a ``to_grid(..., canonical=True)``
        array."""
        a0, j0 = (0, 0) if window is None else self._window_canon(window)[0::2]
        j = j0 + np.asarray(j_rel, dtype=np.int64)
        below = self._back[j] + self._r[j] + (np.asarray(a_rel, dtype=np.int64) + (a0 - first_line))
        return j, below, self._f[j]

    @staticmethod
    def interpolate_bracket(lines, j, below, f):
        """Values of a float line array between the two lines of :meth:`bracket`:
        ``(1 - f) v_below + f v_above``; where one of the two is NaN or not in the array the
        other is taken."""
        la = np.asarray(lines)
        width = la.shape[1]
        flat_la = la.ravel() if la.flags.c_contiguous else np.ascontiguousarray(la).ravel()
        row = np.asarray(j, dtype=np.int64) * width

        def pick(idx):  # one flat gather (2-D fancy indexing is ~3x slower)
            outside = (idx < 0) | (idx >= width)
            v = np.take(flat_la, row + np.clip(idx, 0, width - 1))
            if outside.any():
                v[outside] = np.nan
            return v

        vb, va = pick(below), pick(below - 1)
        out = vb * (1.0 - f)
        out += va * f
        gap = np.isnan(out)
        if gap.any():
            out[gap] = np.where(np.isnan(vb[gap]), va[gap], vb[gap])
        flat = f == 0.0
        out[flat] = vb[flat]
        return out

    def interpolate_at(self, lines, rows, cols, window=None, first_line=0):
        """Values of a float line array at grid pixels (rows, cols; relative to ``window``),
        interpolated linearly between the two lines that bracket each pixel on its own column
        (they cross it ``f`` and ``1 - f`` pixels from its centre): ``(1 - f) v_below +
        f v_above``; where one of the two is NaN or not in the array the other is taken.
        Exact for a field that is linear along the columns. Arguments as for :meth:`to_grid`."""
        return self.interpolate_bracket(lines, *self.bracket(rows, cols, window, first_line))


def _fit_tan_lines(th, g):
    """Least-squares line of tan(theta) against g on each column of th (see
    :func:`line_sensor_geometry`): (valid samples, g0, mean tan, clipped slope kappa)."""
    valid = np.isfinite(th)
    w = valid.astype(np.float64)
    y = np.zeros(th.shape)
    y[valid] = np.tan(np.radians(th[valid]))  # tan (the costly step) of the valid angles only
    n = w.sum(axis=0)
    n_safe = np.maximum(n, 1.0)
    g0 = (w * g).sum(axis=0) / n_safe
    y0 = y.sum(axis=0) / n_safe
    gc = (g - g0[None, :]) * w
    var = (gc * gc).sum(axis=0)
    cov = (gc * (y - y0[None, :] * w)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(var > 0, cov / np.where(var > 0, var, 1.0), 0.0)
    return n, g0, y0, np.clip(np.nan_to_num(kappa), 0.0, 1e-5)


def line_sensor_geometry(lines, theta_lines, g=None):
    """Per-line flat-earth point sensor fitted to the incidence sampled on each line.

    Least squares of ``tan(theta)`` against ground range ``g`` on every line:
    ``tan(theta) = tan(theta0) + kappa (g - g0)``, g0 = mean g of the valid samples. The sensor
    sits at height ``H = 1/kappa`` above ground-range ``g0 - H tan(theta0)``. kappa is clipped to
    [0, 1e-5] (H >= 100 km): a negative or wild fit (tiny windows, quantised angles) falls back
    to parallel rays. Lines without any valid angle take the global mean angle.
    ``g``: ground range of the rows of ``theta_lines`` when they are a subset of the samples.
    Returns (theta0_rad, g0, kappa), each of length n_lines.
    """
    th = np.asarray(theta_lines, dtype=np.float64)
    g = (lines.g if g is None else np.asarray(g, dtype=np.float64))[:, None]
    if th.ndim == 0:
        tan0 = np.full(lines.n_lines, math.tan(math.radians(float(th))))
        g0 = np.full(lines.n_lines, float(lines.g.mean()))
        return np.arctan(tan0), g0, np.zeros(lines.n_lines)
    # Each line's fit is independent: in blocks of lines (cache-sized temporaries).
    step = max(1, _FIT_SAMPLES // max(th.shape[0], 1))
    n, g0, y0, kappa = (np.concatenate(v) for v in
                        zip(*(_fit_tan_lines(th[:, a:a + step], g) for a in range(0, th.shape[1], step))))
    if (n == 0).any():
        if not (n > 0).any():
            raise GlasarError("no valid incidence angle on any range line")
        y0[n == 0] = np.tan(np.radians(np.nanmean(th)))
        g0[n == 0] = float(g.mean())
    return np.arctan(y0), g0, kappa


def slant_and_ray(g, h, tan0, g0, kappa, along_axis=1, out=None):
    """Monotone proxies of slant range and of the ray (look-angle) coordinate along lines.

    h: heights, shape (n_lines, n_along) (one line per row, near range first); g: ground range
    of the samples (n_along,); tan0, g0, kappa: per-line sensor geometry (n_lines,) from
    :func:`line_sensor_geometry`. For a flat-earth point sensor at height H = 1/kappa with
    incidence theta0 at g0, a point at ground range g and height h has, with ``g_rel = g - g0``:

    * ``r' = tan(theta0) g_rel - h + kappa/2 (g_rel^2 + h^2) = (R^2 - H^2/cos^2 theta0) / (2H)``,
      a strictly increasing function of the slant range R;
    * ``q' = (g_rel + h tan(theta0)) / (1 - kappa h) = (tan(psi) - tan(theta0)) / kappa``, a
      strictly increasing function of the look angle psi from the sensor's nadir.

    With kappa = 0 (parallel rays): ``r' = (g sin(theta) - h cos(theta)) / cos(theta)`` and
    ``q' = (g cos(theta) + h sin(theta)) / cos(theta)``, the range-line coordinates of
    Schreier (1993): layover where r' is not increasing along the line, shadow where q' falls
    below its running maximum. Constants per line are dropped from r' (and from q' when
    kappa = 0): only comparisons and differences along one line are meaningful.
    Computed in the dtype of ``h`` (float32 keeps ~4 mm over 40 km lines).
    ``along_axis=0`` takes h as (n_along, n_lines) (one line per column) and returns r, q in
    that layout, with the same arithmetic. ``out``: optional (r, q, scratch) arrays of h's
    shape and dtype to write into.
    """
    dt = h.dtype
    if along_axis == 1:
        per_sample, per_line = (lambda v: v[None, :]), (lambda v: v[:, None])
    else:
        per_sample, per_line = (lambda v: v[:, None]), (lambda v: v[None, :])
    gc = per_sample(np.asarray(g, dtype=dt))
    t0 = per_line(np.asarray(tan0, dtype=dt))
    k = np.asarray(kappa, dtype=np.float64)
    r, q, t = (None, None, None) if out is None else out
    if not np.any(k != 0):
        r = np.multiply(t0, gc, out=r)
        r -= h
        q = np.multiply(h, t0, out=q)
        q += gc
        return r, q
    kd = per_line(k.astype(dt))
    a = per_line(np.asarray(np.asarray(tan0) - k * np.asarray(g0), dtype=dt))
    half = kd * dt.type(0.5)
    r = np.multiply(half, gc, out=r)
    r += a
    r *= gc
    t = np.multiply(half, h, out=t)  # one scratch array for the three full-size intermediates
    np.subtract(1, t, out=t)
    t *= h
    r -= t  # r -= h (1 - half h)
    q = np.multiply(h, t0, out=q)
    np.subtract(gc, per_line(np.asarray(g0, dtype=dt)), out=t)
    q += t
    np.multiply(kd, h, out=t)
    np.subtract(1, t, out=t)
    q /= t
    return r, q


def copy_transposed(dst, src):
    """``dst[...] = src.T`` tile by tile: a plain transposed copy of a large array strides
    through memory a cache line per element; in tiles of 256 x 256 both sides stay in cache
    (~3x faster on 4000 x 4000). Returns dst."""
    n0, n1 = dst.shape
    if src.shape != (n1, n0):
        raise ValueError("copy_transposed: shapes do not match")
    if n0 * n1 < 4 * _TILE * _TILE:
        dst[...] = src.T
        return dst
    for i in range(0, n0, _TILE):
        for j in range(0, n1, _TILE):
            dst[i:i + _TILE, j:j + _TILE] = src[j:j + _TILE, i:i + _TILE].T
    return dst


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------
def _driver_for(path):
    ext = os.path.splitext(str(path))[1].lower().lstrip(".")
    if ext in ("", "tif", "tiff"):
        return "GTiff"
    for i in range(gdal.GetDriverCount()):
        drv = gdal.GetDriver(i)
        md = drv.GetMetadata() or {}
        if md.get("DCAP_RASTER") == "YES" and md.get("DCAP_CREATE") == "YES" and \
                ext in (md.get("DMD_EXTENSIONS") or "").split():
            return drv.ShortName
    return "GTiff"


def write_raster(path, bands, geotransform, srs_wkt, dtype=gdal.GDT_Float32, nodata=None,
                 names=None, metadata=None):
    """Write 2-D arrays as one multi-band raster, whole or not at all: GDAL writes a temporary
    file in the destination folder, which is then renamed onto ``path``."""
    arrays = list(bands)
    if not arrays:
        raise GlasarError("nothing to write")
    rows, cols = arrays[0].shape
    folder = os.path.dirname(os.path.abspath(str(path))) or "."
    os.makedirs(folder, exist_ok=True)
    ext = os.path.splitext(str(path))[1] or ".tif"
    fd, tmp = tempfile.mkstemp(prefix=".glasar_", suffix=ext, dir=folder)
    os.close(fd)
    driver = gdal.GetDriverByName(_driver_for(path))
    opts = ["COMPRESS=DEFLATE", "TILED=YES"] if driver.ShortName == "GTiff" else []
    try:
        ds = driver.Create(tmp, cols, rows, len(arrays), dtype, options=opts)
        ds.SetGeoTransform(tuple(geotransform))
        ds.SetProjection(srs_wkt)
        for i, arr in enumerate(arrays, start=1):
            b = ds.GetRasterBand(i)
            if nodata is not None:
                b.SetNoDataValue(nodata)
            b.WriteArray(arr)
            if names:
                b.SetDescription(names[i - 1])
        if metadata:
            ds.SetMetadata({str(k): str(v) for k, v in metadata.items()})
        ds.FlushCache()
        ds = None
        os.replace(tmp, str(path))
    except BaseException:
        for p in (tmp, tmp + ".aux.xml"):
            if os.path.exists(p):
                os.remove(p)
        raise
    return str(path)
