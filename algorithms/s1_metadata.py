"""Sentinel-1 acquisition geometry from metadata: heading, pass, relative orbit, annotation XML.

Pure Python + numpy (no GDAL, no qgis). Conventions: angles in degrees; the *heading* is the
flight direction of the satellite over the ground, clockwise from true north, in (-180, 180]
(the convention of the Sentinel-1 annotation ``platformHeading``: ascending about -10 to -15,
descending about -165 to -170 at mid latitudes). Sentinel-1 looks right, so the look direction
(ground towards far range) is ``heading + 90`` and the direction towards the sensor is
``heading - 90``.

Three ways to the heading, best first (``resolve`` order used by the scene catalogue):

1. metadata: annotation ``platformHeading`` or a HEADING tag;
2. the gradient of the incidence-angle field (:func:`heading_from_incidence`): on the
   ellipsoid the incidence angle grows monotonically from near to far range, so its gradient
   points along the look direction and the *local* along-track direction is
   ``bearing(grad theta) - 90``. That local direction differs from the platform heading (at the
   nadir track, some 300-600 km away) by the meridian convergence, about 5 deg at 50 N; it is
   carried back to the nadir along the zero-Doppler great circle
   (:func:`platform_from_local_heading`, nadir distance from the incidence angle);
3. the pass and the latitude (:func:`heading_from_pass_latitude`): circular sun-synchronous
   orbit, inclination i = 98.18 deg, 175 orbits in 12 days. The inertial track azimuth beta at
   latitude phi satisfies ``sin(beta) = cos(i) / cos(phi)`` (ascending; descending is
   ``180 - beta``); the Earth turning east under the satellite subtracts ``omega_E cos(phi)`` from
   the eastward ground-track rate::

       heading = atan2(n sin(beta) - omega_E cos(phi), n cos(beta))

   with n = 2 pi / T the orbital angular rate (T = 12 d / 175 = 5924.6 s) and omega_E the
   Earth's rotation relative to the sun-fixed orbit plane (2 pi / 86400 s). Good to a few
   tenths of a degree (checked against the two real annotations in sample_data/s1_annotation).

Pass from the local solar time (no pass metadata): Sentinel-1 is a dawn-dusk orbit with the
ascending node at 18:00 local mean solar time. The sub-satellite point at argument of latitude u
(``sin(phi) = sin(i) sin(u)``) lies ``dlon = atan2(cos(i) sin(u), cos(u))`` east of the node in the
sun-fixed frame, so its local solar time is ``18 h + dlon / 15``; the imaged point lies about
470 km (mid IW swath) to the right of the track, which adds ``d sin(heading + 90) / (R cos(phi))``
of longitude. Local solar time of an acquisition = UTC + longitude / 15 h. At Tsho Rolpa (27.9 N)
this gives ascending about 18:01 and descending about 05:59 (observed 18:08 and 05:57).

Relative orbit: from the absolute orbit number (S1A: ``(abs - 73) mod 175 + 1``, S1B:
``(abs - 27) mod 175 + 1``, ESA Sentinel-1 product specification) or, without one, from the
acquisition time and one real ascending-node reference per platform (orbits are kept in a tube
of about 100 m, so the nominal period T holds to seconds over years).

References: ESA Sentinel-1 Product Specification (S1-RS-MDA-52-7441) for the annotation and
orbit numbering; Vollrath et al. (2020), Remote Sens. 12, 1867 (heading in slope correction);
Wu et al. (2025) for the per-pass scene choice this feeds.
"""
import datetime as _dt
import gzip
import lzma
import math
import os
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np

from . import GlasarError

ASCENDING = "ASCENDING"
DESCENDING = "DESCENDING"
PASSES = (ASCENDING, DESCENDING)

INCLINATION_DEG = 98.18  # Sentinel-1 reference orbit
ORBITS_PER_CYCLE = 175
CYCLE_DAYS = 12
ORBIT_PERIOD_S = CYCLE_DAYS * 86400.0 / ORBITS_PER_CYCLE  # 5924.57 s (nodal period)
EARTH_RATE_SUN_FIXED = 2.0 * math.pi / 86400.0  # rad/s: Earth relative to a sun-synchronous plane
EARTH_RADIUS_M = 6371008.8
ORBIT_ALTITUDE_M = 693e3  # Sentinel-1 reference orbit altitude
LTAN_HOURS = 18.0  # local time of the ascending node
MID_SWATH_GROUND_RANGE_M = 470e3  # IW mid swath (incidence ~38 deg) from the nadir track
LOCAL_TIME_TOLERANCE_H = 2.0

# (absolute orbit, ascending-node time UTC) read from real annotations (sample_data/s1_annotation):
# S1A_IW_GRDH_1SDV_20150222T170725_..._004739 and S1B_IW_GRDH_1SDV_20210401T052623_..._026269.
ANX_REFERENCE = {
    "S1A": (4739, _dt.datetime(2015, 2, 22, 16, 54, 7, 266587, tzinfo=_dt.timezone.utc)),
    "S1B": (26269, _dt.datetime(2021, 4, 1, 4, 49, 55, 637823, tzinfo=_dt.timezone.utc)),
}
RELATIVE_ORBIT_OFFSET = {"S1A": 73, "S1B": 27}

# Sentinel-1 product names. SAFE / Earth Engine system:index:
# S1A_IW_GRDH_1SDV_20150222T170725_20150222T170750_004739_005DD8_CEAB
SAFE_NAME = re.compile(
    r"(?P<platform>S1[A-D])_(?P<mode>IW|EW|SM|S[1-6]|WV)_(?P<product>GRD[FHM]?|SLC_?|RAW_?|OCN_?)_?"
    r"(?P<level>[0-9A-Z]{4})_(?P<start>\d{8}T\d{6})_(?P<stop>\d{8}T\d{6})_(?P<orbit>\d{6})_"
    r"(?P<take>[0-9A-F]{6})_(?P<uid>[0-9A-F]{4})", re.IGNORECASE)
# ASF HyP3 RTC: S1A_IW_20180128T161201_DVP_RTC30_G_gpuned_FD6A (+ _VV.tif, _inc_map.tif, ...)
HYP3_NAME = re.compile(
    r"(?P<platform>S1[A-D])_(?P<mode>IW|EW|SM)_(?P<start>\d{8}T\d{6})_(?P<pol>[DS][VH]|[VH]{2})(?P<orbit_type>[PRO])_"
    r"RTC(?P<res>\d+)_(?P<engine>[GS])_(?P<flags>[a-z]{6})_(?P<uid>[0-9A-F]{4})", re.IGNORECASE)
PLATFORM_RE = re.compile(r"(?:^|[^A-Za-z0-9])(S1[A-D])(?=_|[^A-Za-z0-9]|$)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# angles and orbit geometry
# --------------------------------------------------------------------------------------------
def wrap180(angle_deg):
    """Angle in (-180, 180]."""
    a = (float(angle_deg) + 180.0) % 360.0 - 180.0
    return 180.0 if a == -180.0 else a


def _argument_of_latitude(lat_deg):
    """u in [0, 90] deg of the ascending half-orbit at latitude lat (clipped at the turn)."""
    s = math.sin(math.radians(lat_deg)) / math.sin(math.radians(INCLINATION_DEG))
    return math.degrees(math.asin(max(-1.0, min(1.0, s))))


def heading_from_pass_latitude(orbit_pass, lat_deg):
    """Ground-track heading (deg from north, clockwise, in (-180, 180]) of Sentinel-1 at latitude.

    ``heading = atan2(n sin(beta) - omega_E cos(phi), n cos(beta))`` with ``sin(beta) =
    cos(i)/cos(phi)`` (ascending) or ``beta_d = 180 - beta`` (descending); see the module text.
    """
    orbit_pass = normalise_pass(orbit_pass)
    if orbit_pass not in PASSES:
        raise GlasarError("heading from the pass needs ASCENDING or DESCENDING")
    phi = math.radians(lat_deg)
    cos_phi = math.cos(phi)
    if cos_phi < 1e-6:
        raise GlasarError("no heading at the pole")
    s = math.cos(math.radians(INCLINATION_DEG)) / cos_phi
    if abs(s) > 1.0:
        raise GlasarError(f"latitude {lat_deg:.2f} is beyond the Sentinel-1 ground track "
                          f"(|lat| <= {180 - INCLINATION_DEG:.2f})")
    beta = math.asin(s)
    if orbit_pass == DESCENDING:
        beta = math.pi - beta
    n = 2.0 * math.pi / ORBIT_PERIOD_S
    north = n * math.cos(beta)
    east = n * math.sin(beta) - EARTH_RATE_SUN_FIXED * cos_phi
    return wrap180(math.degrees(math.atan2(east, north)))


def _ecef(lon_deg, lat_deg, h=0.0):
    a, f = 6378137.0, 1.0 / 298.257223563
    e2 = f * (2.0 - f)
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    n = a / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
    return ((n + h) * np.cos(lat) * np.cos(lon), (n + h) * np.cos(lat) * np.sin(lon),
            (n * (1.0 - e2) + h) * np.sin(lat))


def local_east_north(lon_deg, lat_deg, lon0=None, lat0=None):
    """East/north metres of points in the tangent plane (ENU, WGS 84) at (lon0, lat0)."""
    lon = np.asarray(lon_deg, dtype=np.float64)
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon0 = float(np.mean(lon)) if lon0 is None else lon0
    lat0 = float(np.mean(lat)) if lat0 is None else lat0
    x, y, z = _ecef(lon, lat)
    x0, y0, z0 = _ecef(lon0, lat0)
    dx, dy, dz = x - x0, y - y0, z - z0
    lo, la = math.radians(lon0), math.radians(lat0)
    east = -math.sin(lo) * dx + math.cos(lo) * dy
    north = -math.sin(la) * math.cos(lo) * dx - math.sin(la) * math.sin(lo) * dy + math.cos(la) * dz
    return east, north


def nadir_offset_m(incidence_deg, altitude_m=ORBIT_ALTITUDE_M, radius_m=EARTH_RADIUS_M):
    """Ground distance from the nadir track to a point seen at incidence theta (spherical Earth).

    Look angle alpha from ``sin(alpha) = R sin(theta) / (R + H)``; Earth-central angle
    ``gamma = theta - alpha``; distance ``R gamma`` (about 475 km at theta = 38 deg).
    """
    theta = np.radians(incidence_deg)
    alpha = np.arcsin(radius_m * np.sin(theta) / (radius_m + altitude_m))
    return radius_m * (theta - alpha)


def _travel(lon_deg, lat_deg, bearing_deg, distance_m):
    """Great-circle destination (lon, lat) and the forward bearing on arrival (deg)."""
    lon1, lat1, b = math.radians(lon_deg), math.radians(lat_deg), math.radians(bearing_deg)
    d = distance_m / EARTH_RADIUS_M
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(b))
    lon2 = lon1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(lat1),
                             math.cos(d) - math.sin(lat1) * math.sin(lat2))
    # forward azimuth at the destination = reverse of the initial bearing from there back, + 180
    back = math.atan2(math.sin(lon1 - lon2) * math.cos(lat1),
                      math.cos(lat2) * math.sin(lat1) - math.sin(lat2) * math.cos(lat1) * math.cos(lon1 - lon2))
    return math.degrees(lon2), math.degrees(lat2), wrap180(math.degrees(back) + 180.0)


def platform_from_local_heading(local_heading, lon_deg, lat_deg, incidence_deg):
    """Platform heading (at the nadir track, annotation convention) from the local azimuth
    direction at a ground point seen at incidence theta.

    The zero-Doppler plane through the point holds the sensor and its nadir: go from the point
    towards the sensor (bearing ``local - 90``) by the nadir offset (:func:`nadir_offset_m`);
    there the look direction is the forward bearing + 180 and the heading is that - 90. The
    difference is the meridian convergence, about 5 deg at 50 N for mid swath.
    """
    d = float(nadir_offset_m(incidence_deg))
    _, _, fwd = _travel(lon_deg, lat_deg, local_heading - 90.0, d)
    return wrap180(fwd + 180.0 - 90.0)


def local_from_platform_heading(platform_heading, lon_deg, lat_deg, incidence_deg):
    """Azimuth (along-track) direction at a ground point from the platform heading: the inverse
    of :func:`platform_from_local_heading` (fixed-point iteration, converges in 3-4 steps)."""
    local = float(platform_heading)
    for _ in range(8):
        err = wrap180(platform_from_local_heading(local, lon_deg, lat_deg, incidence_deg) - platform_heading)
        local = wrap180(local - err)
        if abs(err) < 1e-9:
            break
    return local


def heading_from_incidence(lon_deg, lat_deg, incidence, min_r2=0.9):
    """Platform heading from the gradient of an incidence-angle field sampled at (lon, lat).

    Least-squares plane ``theta = a E + b N + c`` in the local tangent plane (east E, north N)
    at the samples' centre; the gradient (a, b) points to far range, i.e. along the look
    direction, so the local along-track direction is ``atan2(a, b) - 90`` (Sentinel-1 looks
    right). That local direction is carried to the nadir track with
    :func:`platform_from_local_heading` (incidence c at the centre), giving the platform heading
    in the annotation's convention. Incidence in radians (all values < 1.6) is converted.

    Returns ``(platform_heading, local_heading, r2)``. Raises GlasarError with fewer than 3
    usable points or when the plane explains less than ``min_r2`` of the variance (a *local*
    incidence map that follows the terrain, such as HyP3 ``inc_map`` in mountains).
    """
    lon = np.asarray(lon_deg, dtype=np.float64).ravel()
    lat = np.asarray(lat_deg, dtype=np.float64).ravel()
    inc = np.asarray(incidence, dtype=np.float64).ravel()
    ok = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(inc) & (inc > 0)
    lon, lat, inc = lon[ok], lat[ok], inc[ok]
    if inc.size < 3:
        raise GlasarError("fewer than 3 valid incidence-angle samples")
    if np.nanmax(inc) < 1.6:  # radians (HyP3 inc_map)
        inc = np.degrees(inc)
    lon0, lat0 = float(np.mean(lon)), float(np.mean(lat))
    east, north = local_east_north(lon, lat, lon0, lat0)
    design = np.column_stack([east, north, np.ones_like(east)])
    if np.linalg.matrix_rank(design) < 3:
        raise GlasarError("incidence-angle samples are collinear")
    coef, *_ = np.linalg.lstsq(design, inc, rcond=None)
    fitted = design @ coef
    ss_tot = float(np.sum((inc - inc.mean()) ** 2))
    if ss_tot <= 0:
        raise GlasarError("the incidence angle is constant: no gradient")
    r2 = 1.0 - float(np.sum((inc - fitted) ** 2)) / ss_tot
    if r2 < min_r2:
        raise GlasarError(f"the incidence angle is not a plane (R2 = {r2:.2f} < {min_r2}): "
                          "a local (terrain) incidence map has no usable range gradient")
    a, b, c = (float(v) for v in coef)
    local = wrap180(math.degrees(math.atan2(a, b)) - 90.0)
    return platform_from_local_heading(local, lon0, lat0, c), local, r2


# --------------------------------------------------------------------------------------------
# pass from the local solar time
# --------------------------------------------------------------------------------------------
def normalise_pass(text):
    t = (text or "").strip().upper()
    if t in ("A", "ASC", "ASCENDING"):
        return ASCENDING
    if t in ("D", "DES", "DSC", "DESC", "DESCENDING"):
        return DESCENDING
    return ""


def _as_utc(t):
    if t.tzinfo is None:
        return t.replace(tzinfo=_dt.timezone.utc)
    return t.astimezone(_dt.timezone.utc)


def local_solar_hours(utc_time, lon_deg):
    """Local mean solar time in hours [0, 24): UTC + longitude / 15."""
    t = _as_utc(utc_time)
    hours = t.hour + t.minute / 60.0 + (t.second + t.microsecond / 1e6) / 3600.0
    return (hours + lon_deg / 15.0) % 24.0


def expected_local_time(orbit_pass, lat_deg, cross_track_m=MID_SWATH_GROUND_RANGE_M):
    """Expected local solar time (h) of a Sentinel-1 acquisition at latitude (mid swath)."""
    orbit_pass = normalise_pass(orbit_pass)
    i = math.radians(INCLINATION_DEG)
    u = math.radians(_argument_of_latitude(lat_deg))
    if orbit_pass == DESCENDING:
        u = math.pi - u
    dlon_nadir = math.degrees(math.atan2(math.cos(i) * math.sin(u), math.cos(u)))
    cos_phi = max(math.cos(math.radians(lat_deg)), 1e-3)
    try:
        heading = heading_from_pass_latitude(orbit_pass, lat_deg)
    except GlasarError:
        heading = 0.0 if orbit_pass == ASCENDING else 180.0
    look = math.radians(heading + 90.0)
    dlon_look = math.degrees(cross_track_m * math.sin(look) / (EARTH_RADIUS_M * cos_phi))
    return (LTAN_HOURS + (dlon_nadir + dlon_look) / 15.0) % 24.0


def _clock(hours):
    m = int(round(hours * 60.0)) % (24 * 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def _circular_gap(a, b):
    d = abs(a - b) % 24.0
    return min(d, 24.0 - d)


def pass_from_local_time(utc_time, lon_deg, lat_deg, tolerance_h=LOCAL_TIME_TOLERANCE_H):
    """Pass from the local solar time of the acquisition, with the reasoning as text.

    Returns ``(pass, explanation)``; pass is '' (and the explanation says why) when the local
    time is not within ``tolerance_h`` of exactly one of the expected ascending/descending times.
    """
    lst = local_solar_hours(utc_time, lon_deg)
    asc = expected_local_time(ASCENDING, lat_deg)
    dsc = expected_local_time(DESCENDING, lat_deg)
    ga, gd = _circular_gap(lst, asc), _circular_gap(lst, dsc)
    why = (f"local solar time {_clock(lst)} (UTC {_as_utc(utc_time):%H:%M} + lon {lon_deg:.2f}/15); "
           f"expected ascending {_clock(asc)}, descending {_clock(dsc)} at lat {lat_deg:.2f}")
    if ga <= tolerance_h and ga + 1.0 <= gd:
        return ASCENDING, why
    if gd <= tolerance_h and gd + 1.0 <= ga:
        return DESCENDING, why
    return "", why + f": not within {tolerance_h:g} h of either, pass unknown"


# --------------------------------------------------------------------------------------------
# orbits
# --------------------------------------------------------------------------------------------
def relative_orbit_from_absolute(platform, absolute_orbit):
    """Relative orbit (track) 1..175 from the absolute orbit number (S1A, S1B)."""
    p = (platform or "").upper()
    if p not in RELATIVE_ORBIT_OFFSET:
        raise GlasarError(f"no relative-orbit rule for platform {platform!r}")
    return (int(absolute_orbit) - RELATIVE_ORBIT_OFFSET[p]) % ORBITS_PER_CYCLE + 1


def orbit_from_time(platform, utc_time, guard_s=60.0):
    """``(absolute_orbit, relative_orbit, seconds_since_ascending_node)`` from the time alone.

    Counts nominal periods from a real ascending-node reference of the platform. Raises
    GlasarError for platforms without a reference and within ``guard_s`` of an ascending-node
    crossing, where the count could be one off.
    """
    p = (platform or "").upper()
    if p not in ANX_REFERENCE:
        raise GlasarError(f"no orbit reference for platform {platform!r}")
    ref_abs, ref_anx = ANX_REFERENCE[p]
    elapsed = (_as_utc(utc_time) - ref_anx).total_seconds()
    n = math.floor(elapsed / ORBIT_PERIOD_S)
    since = elapsed - n * ORBIT_PERIOD_S
    if since < guard_s or ORBIT_PERIOD_S - since < guard_s:
        raise GlasarError(f"{p} at {utc_time:%Y-%m-%d %H:%M:%S} is within {guard_s:g} s of an "
                          "ascending-node crossing: orbit number ambiguous")
    absolute = ref_abs + n
    return absolute, relative_orbit_from_absolute(p, absolute), since


# --------------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------------
def _parse_stamp(text):
    return _dt.datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=_dt.timezone.utc)


def parse_product_name(name):
    """What a Sentinel-1 product name tells: platform, mode, start time, absolute/relative orbit.

    Understands SAFE / Earth Engine ``system:index`` names, ASF HyP3 RTC names and any name with
    ``S1A``..``S1D``. Returns a dict (possibly empty) with keys among ``platform``, ``mode``,
    ``start``, ``stop`` (datetime UTC), ``absolute_orbit``, ``relative_orbit``, ``kind``.
    """
    out = {}
    m = SAFE_NAME.search(name or "")
    if m:
        out.update(kind="safe", platform=m.group("platform").upper(), mode=m.group("mode").upper(),
                   start=_parse_stamp(m.group("start").upper()), stop=_parse_stamp(m.group("stop").upper()),
                   absolute_orbit=int(m.group("orbit")))
        try:
            out["relative_orbit"] = relative_orbit_from_absolute(out["platform"], out["absolute_orbit"])
        except GlasarError:
            pass
        return out
    m = HYP3_NAME.search(name or "")
    if m:
        out.update(kind="hyp3", platform=m.group("platform").upper(), mode=m.group("mode").upper(),
                   start=_parse_stamp(m.group("start").upper()))
        return out
    m = PLATFORM_RE.search(name or "")
    if m:
        out["platform"] = m.group(1).upper()
    return out


# --------------------------------------------------------------------------------------------
# annotation XML
# --------------------------------------------------------------------------------------------
def _read_text(path):
    p = str(path)
    low = p.lower()
    if os.path.isdir(p):  # a .SAFE folder: first co-polarised annotation
        ann = os.path.join(p, "annotation")
        names = sorted(n for n in os.listdir(ann) if n.lower().endswith(".xml")) if os.path.isdir(ann) else []
        if not names:
            raise GlasarError(f"{p}: no annotation/*.xml in this SAFE folder")
        names.sort(key=lambda n: ("-vh-" in n or "-hv-" in n, n))
        return _read_text(os.path.join(ann, names[0]))
    if low.endswith(".zip"):
        with zipfile.ZipFile(p) as z:
            names = [n for n in z.namelist() if re.search(r"/annotation/s1[a-d]-[^/]+\.xml$", n, re.I)]
            if not names:
                raise GlasarError(f"{p}: no product annotation inside the zip")
            names.sort(key=lambda n: ("-vh-" in n or "-hv-" in n, n))
            return z.read(names[0])
    if low.endswith(".gz"):
        with gzip.open(p, "rb") as fh:
            return fh.read()
    if low.endswith(".xz"):
        with lzma.open(p, "rb") as fh:
            return fh.read()
    with open(p, "rb") as fh:
        return fh.read()


def _time(text):
    t = _dt.datetime.fromisoformat(text.strip().rstrip("Z"))
    return t.replace(tzinfo=_dt.timezone.utc)


def parse_annotation(source):
    """Read a Sentinel-1 product annotation (L1 GRD/SLC ``annotation/*.xml``).

    ``source``: the XML file (plain, .gz or .xz), a ``.SAFE`` folder or a SAFE ``.zip``.
    Returns a dict: mission, mode, polarisation, pass, platform_heading, start, stop,
    ascending_node_time, absolute_orbit, relative_orbit, incidence_mid_swath and the geolocation
    grid as numpy arrays ``grid_line, grid_pixel, grid_lat, grid_lon, grid_height,
    grid_incidence, grid_elevation`` (one value per grid point).
    """
    try:
        root = ET.fromstring(_read_text(source))
    except (OSError, zipfile.BadZipFile) as exc:
        raise GlasarError(f"cannot read annotation {source}: {exc}") from None
    except ET.ParseError as exc:
        raise GlasarError(f"annotation {source} is not valid XML: {exc}") from None
    if root.tag != "product" or root.find("adsHeader") is None:
        raise GlasarError(f"{source} is not a Sentinel-1 product annotation (no <product><adsHeader>)")

    def text(path, default=None):
        node = root.find(path)
        return node.text.strip() if node is not None and node.text else default

    out = {
        "mission": text("adsHeader/missionId", ""),
        "mode": text("adsHeader/mode", ""),
        "polarisation": text("adsHeader/polarisation", ""),
        "pass": normalise_pass(text("generalAnnotation/productInformation/pass", "")),
        "platform_heading": float(text("generalAnnotation/productInformation/platformHeading", "nan")),
        "start": _time(text("adsHeader/startTime")),
        "stop": _time(text("adsHeader/stopTime")),
        "absolute_orbit": int(text("adsHeader/absoluteOrbitNumber", "0")),
        "incidence_mid_swath": float(text("imageAnnotation/imageInformation/incidenceAngleMidSwath", "nan")),
    }
    anx = text("imageAnnotation/imageInformation/ascendingNodeTime")
    out["ascending_node_time"] = _time(anx) if anx else None
    try:
        out["relative_orbit"] = relative_orbit_from_absolute(out["mission"], out["absolute_orbit"])
    except GlasarError:
        out["relative_orbit"] = None
    points = root.findall("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
    keys = {"grid_line": "line", "grid_pixel": "pixel", "grid_lat": "latitude", "grid_lon": "longitude",
            "grid_height": "height", "grid_incidence": "incidenceAngle", "grid_elevation": "elevationAngle"}
    for key, tag in keys.items():
        out[key] = np.array([float(p.findtext(tag, "nan")) for p in points], dtype=np.float64)
    return out


def parse_manifest(source):
    """Pass, relative orbit, platform and footprint (lon, lat pairs) from a SAFE ``manifest.safe``."""
    try:
        raw = _read_text(source)
        root = ET.fromstring(raw)
    except (OSError, ET.ParseError) as exc:
        raise GlasarError(f"cannot read manifest {source}: {exc}") from None
    out = {}
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        val = (el.text or "").strip()
        if tag == "pass" and val:
            out["pass"] = normalise_pass(val)
        elif tag == "relativeOrbitNumber" and el.get("type") == "start":
            out["relative_orbit"] = int(val)
        elif tag == "orbitNumber" and el.get("type") == "start":
            out["absolute_orbit"] = int(val)
        elif tag == "number" and val and "platform" not in out and len(val) == 1:
            out["platform"] = "S1" + val.upper()
        elif tag == "coordinates" and val:
            pairs = [tuple(float(v) for v in c.split(",")) for c in val.split()]
            out["footprint_lonlat"] = [(lon, lat) for lat, lon in pairs]
    return out


def heading_from_annotation_grid(annotation, min_r2=0.9):
    """Heading from the incidence-angle gradient of an annotation's geolocation grid."""
    return heading_from_incidence(annotation["grid_lon"], annotation["grid_lat"],
                                  annotation["grid_incidence"], min_r2=min_r2)
