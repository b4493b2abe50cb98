"""Earth Engine as an optional data source: choose and fetch Sentinel-1 pairs and DEM windows.

Earth Engine only *chooses and delivers* the data; all science runs locally as everywhere
else in GLaSAR. Nothing here imports ``ee`` at module level: :func:`import_ee` loads it
when a fetch needs it (from QGIS's Python, or from ``<plugin>/extlibs`` where
``make package`` bundles the pure-Python earthengine-api stack).

Selection, per lake window and pass (Wu et al. 2025, PUB-GL ``load_image_collection``,
re-implemented without its quirks, see ``original_workflow.md`` section 1):

- collection ``COPERNICUS/S1_GRD`` (sigma0 in dB plus the ``angle`` band), ``instrumentMode
  == IW``, both ``VV`` and ``VH`` in ``transmitterReceiverPolarisation``, intersecting the
  window, ``START <= t < END + 1 day``; optional relative orbits; split by
  ``orbitProperties_pass``;
- optional minimum incidence angle (the later variant, ``S1_GLDownload_Optimized``): keep
  scenes whose smallest ``angle`` in the window is >= the limit; if none is left, fall back
  to all scenes of the pass (and say so);
- ``numNodata`` = number of pixels of the lake window (10 m grid of the window, exact, no
  ``bestEffort`` rescaling) where VV or VH is masked;
- ``time_difference = |t - MIDDLE|`` in days, ``MIDDLE = START + floor((END - START) / 2)``
  days (the original's ``start + int(90 / 2)``);
- among scenes with ``numNodata == 0`` the one with the smallest ``time_difference``;
  if there is none, the per-pixel median of the pass, marked ``SYNTHESIS = 1``.

The lake window is the original's AOI rule (``lake_geometry.aoi_buffer_m``: the lake's
bounding box grown by ``1200 log5(A + 1) + 100`` m) on a 10 m grid in the lake's UTM zone;
files carry an extra margin of :data:`FETCH_MARGIN_PX` pixels so that speckle filters see the
window edge as in the scene.

Heading (flight direction, degrees clockwise from true north) comes from the scene
footprint, see :func:`heading_from_footprint`.
"""
import concurrent.futures as cf
import csv
import datetime as _dt
import importlib
import importlib.util
import json
import math
import os
import queue
import random
import re
import shutil
import site
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, ogr, osr

from . import GlasarError
from . import lake_geometry as lg
from . import s1_metadata as s1
from .grid import Grid, make_grid

gdal.UseExceptions()

EE_MODULE = "ee"
EE_PINNED_VERSION = "1.7.50"  # the version the offline tests (golden graphs) are built with
S1_COLLECTION = "COPERNICUS/S1_GRD"
PASSES = ("ASCENDING", "DESCENDING")
PASS_SHORT = {"ASCENDING": "ASC", "DESCENDING": "DSC"}
S1_BANDS = ("VV", "VH", "angle")
S1_RES = 10.0
FETCH_MARGIN_PX = 16
NODATA = -9999.0  # server-side fill for masked pixels (never a valid dB, angle or height)
MAX_REQUEST_BYTES = 32 * 1024 * 1024  # computePixels allows 48 MB per request; stay below
MAX_REQUEST_SIDE = 8192
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
FATAL_STATUSES = frozenset((401, 403))
SETTING_PROJECT = "glasar/ee_project"
SETTING_KEY_FILE = "glasar/ee_service_account_key"
PROJECT_ENV_VARS = ("EARTHENGINE_PROJECT", "GOOGLE_CLOUD_PROJECT")


class EarthEngineUnavailable(GlasarError):
    """earthengine-api missing, or no credentials/project: the message says what to do."""


class EarthEngineError(GlasarError):
    """A request failed for good (after retries). ``status`` is the HTTP status or None."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status

    @property
    def fatal(self):
        """Access problems stop the whole run: every other request would fail the same way."""
        return self.status in FATAL_STATUSES


class Canceled(GlasarError):
    """The user cancelled; nothing was written."""


# ----------------------------------------------------------------------------------------
# Loading ee lazily (QGIS Python, then <plugin>/extlibs)
# ----------------------------------------------------------------------------------------

def plugin_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def extlibs_dir(root=None):
    """Where ``make package`` bundles earthengine-api and its pure-Python dependencies."""
    return os.path.join(root or plugin_root(), "extlibs")


def install_help(reason=""):
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    why = f" ({reason})" if reason else ""
    return (
        f"The Earth Engine Python API (earthengine-api) is not available in this QGIS Python {py}{why}. "
        "Install it, then restart QGIS:\n"
        "  Linux:   python3 -m pip install --user earthengine-api   "
        "(Debian 12 / Ubuntu 24.04: add --break-system-packages)\n"
        "  Windows: in the OSGeo4W Shell: python -m pip install earthengine-api\n"
        "  macOS:   /Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install earthengine-api\n"
        "or install the GLaSAR zip built with `make package`, which bundles it in glasar/extlibs."
    )


AUTH_HELP = (
    "No Earth Engine credentials were found (GLaSAR never opens a login window inside an algorithm). "
    "Do one of:\n"
    "  1. once, in a terminal: earthengine authenticate   (the command comes with earthengine-api; "
    "or python3 -m ee.cli.eecli authenticate; add --auth_mode=notebook on a machine without a browser). "
    "It stores a refresh token in ~/.config/earthengine/credentials. Then: earthengine set_project YOUR-CLOUD-PROJECT\n"
    "  2. give a service-account key file (JSON) in the CREDENTIALS parameter, in the QGIS setting "
    f"{SETTING_KEY_FILE} (Settings > Options > Advanced) or in the environment variable "
    "GOOGLE_APPLICATION_CREDENTIALS.\n"
    f"The Cloud project comes from the PROJECT parameter, the setting {SETTING_PROJECT}, the environment "
    f"variable {' or '.join(PROJECT_ENV_VARS)}, or `earthengine set_project`."
)

NO_PROJECT_HELP = (
    "No Google Cloud project is set for Earth Engine (required since 2024). Give it in the PROJECT parameter, "
    f"the QGIS setting {SETTING_PROJECT} (Settings > Options > Advanced), the environment variable "
    f"{' or '.join(PROJECT_ENV_VARS)}, or run once: earthengine set_project YOUR-CLOUD-PROJECT. "
    "The project must be registered for Earth Engine (https://code.earthengine.google.com/register)."
)


def ee_installed(root=None, module=None):
    """Cheap check without importing: is ``ee`` importable from QGIS's Python or extlibs?"""
    module = module or EE_MODULE
    if sys.modules.get(module) is not None:
        return True
    try:
        if importlib.util.find_spec(module) is not None:
            return True
    except (ImportError, ValueError):
        pass
    return os.path.isdir(os.path.join(extlibs_dir(root), module))


def import_ee(root=None, module=None):
    """Import ``ee``; if that fails, append ``<plugin>/extlibs`` to sys.path and retry.

    extlibs is *appended* (``site.addsitedir``), so packages QGIS already ships (requests,
    urllib3, ...) keep priority, as in the Earth Engine QGIS plugin. It is touched only here,
    i.e. only when an algorithm needs ``ee`` and QGIS's Python does not have it.
    """
    module = module or EE_MODULE
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        first = str(exc)
    ext = extlibs_dir(root)
    if not os.path.isdir(os.path.join(ext, module)):
        raise EarthEngineUnavailable(install_help(first)) from None
    if ext not in sys.path:
        site.addsitedir(ext)
    importlib.invalidate_caches()
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        del sys.modules[name]  # half-imported leftovers of the failed attempt
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EarthEngineUnavailable(install_help(f"{exc}; bundled copy in {ext} did not load")) from None


# ----------------------------------------------------------------------------------------
# Credentials, project, secrets
# ----------------------------------------------------------------------------------------

_SECRET_PATTERNS = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
     "[private key removed]"),
    (re.compile(r"(\"?(?:refresh_token|access_token|id_token|private_key|private_key_id|client_secret|"
                r"token)\"?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,&}]+)", re.I), r"\1[removed]"),
    (re.compile(r"\bya29\.[A-Za-z0-9_\-.]+"), "[token removed]"),
    (re.compile(r"\b1//[A-Za-z0-9_\-]{10,}"), "[token removed]"),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9_\-.=]+", re.I), r"\1[removed]"),
    (re.compile(r"([?&](?:key|token|access_token)=)[^&\s]+", re.I), r"\1[removed]"),
)


def redact(text):
    """Text with anything that looks like a credential or token removed (for logs and errors)."""
    text = str(text)
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


@dataclass(frozen=True)
class CredentialSource:
    """Where the credentials come from (never their content)."""

    kind: str  # 'service_account' | 'user' (earthengine authenticate) | 'adc' (gcloud)
    path: str
    origin: str
    project: str = ""  # project stored with the credentials (set_project, key file, ADC quota project)
    account: str = ""  # service-account e-mail (an identity, not a secret)


def ee_credentials_path():
    """Same file as ``ee.oauth.get_credentials_path()`` (written by ``earthengine authenticate``)."""
    return os.path.expanduser(os.path.join("~", ".config", "earthengine", "credentials"))


def adc_path(environ=None):
    """gcloud application-default credentials file (``gcloud auth application-default login``)."""
    environ = os.environ if environ is None else environ
    if environ.get("CLOUDSDK_CONFIG"):
        base = environ["CLOUDSDK_CONFIG"]
    elif os.name == "nt" and environ.get("APPDATA"):
        base = os.path.join(environ["APPDATA"], "gcloud")
    else:
        base = os.path.expanduser(os.path.join("~", ".config", "gcloud"))
    return os.path.join(base, "application_default_credentials.json")


def _read_json(path, what):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise EarthEngineUnavailable(f"{what} {path} does not exist.\n\n{AUTH_HELP}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EarthEngineUnavailable(f"{what} {path} cannot be read ({type(exc).__name__}).") from None
    except json.JSONDecodeError:
        raise EarthEngineUnavailable(f"{what} {path} is not a JSON file.") from None


def _key_file_source(path, origin):
    data = _read_json(path, f"The service-account key file ({origin})")
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "authorized_user" and origin == "GOOGLE_APPLICATION_CREDENTIALS":
        return CredentialSource("adc", path, origin, str(data.get("quota_project_id") or ""))
    if kind != "service_account" or not data.get("client_email") or not data.get("private_key"):
        raise EarthEngineUnavailable(
            f"{path} ({origin}) is not a service-account key file (expected JSON with type "
            "'service_account', client_email and private_key; create one in the Google Cloud console under "
            "IAM > Service accounts > Keys).")
    return CredentialSource("service_account", path, origin, str(data.get("project_id") or ""),
                            str(data["client_email"]))


def find_credentials(key_file="", setting_key_file="", environ=None):
    """First credential source found, in this order: the CREDENTIALS parameter, the plugin
    setting, GOOGLE_APPLICATION_CREDENTIALS, ``earthengine authenticate``'s stored refresh
    token, gcloud application-default credentials. Reads files only (no network, no ee).
    Raises EarthEngineUnavailable with the exact steps when there is none."""
    environ = os.environ if environ is None else environ
    for origin, path in (("CREDENTIALS parameter", key_file), (f"setting {SETTING_KEY_FILE}", setting_key_file),
                         ("GOOGLE_APPLICATION_CREDENTIALS", environ.get("GOOGLE_APPLICATION_CREDENTIALS", ""))):
        if path and str(path).strip():
            return _key_file_source(str(path).strip(), origin)
    stored = ee_credentials_path()
    if os.path.isfile(stored):
        data = _read_json(stored, "The Earth Engine credentials file")
        if isinstance(data, dict) and data.get("refresh_token"):
            return CredentialSource("user", stored, "earthengine authenticate", str(data.get("project") or ""))
    adc = adc_path(environ)
    if os.path.isfile(adc):
        data = _read_json(adc, "The gcloud application-default credentials file")
        return CredentialSource("adc", adc, "gcloud application-default credentials",
                                str((data or {}).get("quota_project_id") or ""))
    raise EarthEngineUnavailable(AUTH_HELP)


def resolve_project(project="", setting_project="", environ=None, source=None):
    """Cloud project: PROJECT parameter, plugin setting, EARTHENGINE_PROJECT, GOOGLE_CLOUD_PROJECT,
    then the project stored with the credentials. Raises EarthEngineUnavailable if none."""
    environ = os.environ if environ is None else environ
    candidates = [project, setting_project] + [environ.get(v, "") for v in PROJECT_ENV_VARS]
    candidates.append(source.project if source else "")
    for c in candidates:
        c = (c or "").strip()
        if c:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.:\-]{0,62}", c):
                raise EarthEngineUnavailable(f"{c!r} is not a Google Cloud project id or number.")
            return c
    raise EarthEngineUnavailable(NO_PROJECT_HELP)


def readiness(setting_key_file="", environ=None, root=None):
    """(ok, message) for canExecute: ee importable (no import) and some credential present."""
    if not ee_installed(root):
        return False, install_help()
    try:
        find_credentials("", setting_key_file, environ)
    except EarthEngineUnavailable as exc:
        return False, str(exc)
    return True, ""


@dataclass
class Connection:
    ee: object
    project: str
    source: CredentialSource

    def describe(self):
        who = f"service account {self.source.account}" if self.source.account else self.source.origin
        return f"Earth Engine project {self.project}, credentials from {who}"


_INIT_LOCK = threading.Lock()


def _load_credentials(ee, source):
    try:
        if source.kind == "service_account":
            from google.oauth2 import service_account

            return service_account.Credentials.from_service_account_file(source.path, scopes=ee.oauth.SCOPES)
        return ee.data.get_persistent_credentials()
    except Exception as exc:  # noqa: BLE001 - any failure here is a credentials problem
        raise EarthEngineUnavailable(
            f"The credentials from {source.origin} ({source.path}) could not be loaded: "
            f"{redact(exc)}\n\n{AUTH_HELP}") from None


def connect(project="", key_file="", setting_project="", setting_key_file="", environ=None, root=None,
            log=None, retries=2, sleep=None):
    """Import ee, find credentials and the project, and initialise Earth Engine (never interactive).

    Initialises on every call (one small request): another plugin in the same QGIS (e.g. the
    Earth Engine plugin) may have initialised ``ee`` with other credentials or another project.
    Returns a :class:`Connection`. Raises EarthEngineUnavailable / EarthEngineError with the steps
    to fix the problem; messages never contain credentials or tokens.
    """
    ee = import_ee(root)
    source = find_credentials(key_file, setting_key_file, environ)
    proj = resolve_project(project, setting_project, environ, source)
    credentials = _load_credentials(ee, source)
    hint = _access_hint(proj, source)

    def init():
        ee.Initialize(credentials=credentials, project=proj)

    with _INIT_LOCK, _RetriesOff(ee):
        call_with_retries(init, "initialising Earth Engine", retries=retries, sleep=sleep, log=log,
                          access_hint=hint, auth_hint=True)
    return Connection(ee, proj, source)


def _access_hint(project, source):
    who = f"the service account {source.account}" if source and source.account else "your Google account"
    return (f"Check that Cloud project '{project}' is registered for Earth Engine "
            "(https://code.earthengine.google.com/register), that the Earth Engine API is enabled in it, and that "
            f"{who} may use it (roles Earth Engine Resource Viewer and Service Usage Consumer).")


# ----------------------------------------------------------------------------------------
# Robust requests: retries with backoff on quota (429) and server errors
# ----------------------------------------------------------------------------------------

def http_status(exc):
    """HTTP status behind an exception (googleapiclient HttpError, possibly wrapped in the
    EEException ee raises from it), or a status inferred from the message, or None."""
    seen = set()
    e = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        for holder in (getattr(e, "resp", None), getattr(e, "response", None), e):
            st = getattr(holder, "status", None)
            if st is None:
                st = getattr(holder, "status_code", None)
            try:
                if st is not None and 100 <= int(st) < 600:
                    return int(st)
            except (TypeError, ValueError):
                pass
        e = e.__cause__ or e.__context__
    msg = str(exc)
    if re.search(r"too many (concurrent )?(requests|aggregations)|quota exceeded|rate limit|RESOURCE_EXHAUSTED",
                 msg, re.I):
        return 429
    if re.search(r"PERMISSION_DENIED|permission denied|does not have (the )?(required )?permission|not registered|"
                 r"not signed up|has not been used in project|API .* is disabled", msg, re.I):
        return 403
    if re.search(r"UNAUTHENTICATED|invalid_grant|invalid authentication credentials", msg, re.I):
        return 401
    return None


def _retry_after(exc):
    e, seen = exc, set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        resp = getattr(e, "resp", None)
        if resp is not None and hasattr(resp, "get"):
            value = resp.get("retry-after") or resp.get("Retry-After")
            if value:
                try:
                    return max(0.0, float(value))
                except ValueError:
                    return None
        e = e.__cause__ or e.__context__
    return None


def _server_message(exc):
    msg = redact(str(exc)).strip()
    return msg if len(msg) <= 500 else msg[:500] + "..."


def _error_for(exc, status, what, attempts, access_hint="", auth_hint=False):
    msg = _server_message(exc)
    if status == 401:
        text = (f"Earth Engine rejected the credentials (HTTP 401) while {what}: {msg}. "
                "Run `earthengine authenticate` again, or check the service-account key file.")
    elif status == 403:
        text = f"Earth Engine refused access (HTTP 403) while {what}: {msg}. {access_hint}".strip()
    elif status == 429:
        text = (f"Earth Engine quota or rate limit (HTTP 429) while {what}, still after {attempts} attempts: {msg}. "
                "Lower MAX_PARALLEL or try again later.")
    elif status in RETRY_STATUSES:
        text = f"Earth Engine server error (HTTP {status}) while {what}, still after {attempts} attempts: {msg}"
    elif isinstance(exc, (ConnectionError, TimeoutError, OSError)) and status is None:
        text = f"Cannot reach Earth Engine while {what} ({type(exc).__name__}, {attempts} attempts): {msg}"
    else:
        text = f"Earth Engine error while {what}: {msg}"
        if auth_hint and re.search(r"authori[sz]e|authenticate|credential", msg, re.I):
            text += "\n\n" + AUTH_HELP
    return EarthEngineError(text, status)


def _wait(seconds, sleep, is_canceled):
    if sleep is not None:
        sleep(seconds)
        if is_canceled and is_canceled():
            raise Canceled("canceled")
        return
    end = time.monotonic() + seconds
    while True:
        if is_canceled and is_canceled():
            raise Canceled("canceled")
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.25, left))


def call_with_retries(fn, what, retries=5, base_delay=2.0, max_delay=60.0, sleep=None, is_canceled=None, log=None,
                      rng=None, access_hint="", auth_hint=False):
    """Run ``fn()``; on HTTP 429/5xx or a dropped connection wait ``min(max_delay, base_delay * 2**k)``
    seconds times a jitter in [0.5, 1) (or the server's Retry-After) and try again, at most
    ``retries`` more times. Other failures raise :class:`EarthEngineError` at once (401/403 are
    ``fatal``). ``sleep`` replaces the cancellable wait (tests); ``is_canceled`` aborts between tries."""
    rng = rng or random.random
    attempt = 0
    while True:
        if is_canceled and is_canceled():
            raise Canceled("canceled")
        try:
            return fn()
        except (Canceled, GlasarError):
            raise
        except Exception as exc:  # noqa: BLE001 - classified below
            status = http_status(exc)
            transient = status in RETRY_STATUSES or (
                status is None and isinstance(exc, (ConnectionError, TimeoutError)))
            if not transient or attempt >= retries:
                raise _error_for(exc, status, what, attempt + 1, access_hint, auth_hint) from None
            delay = _retry_after(exc)
            if delay is None:
                delay = min(max_delay, base_delay * 2 ** attempt) * (0.5 + 0.5 * rng())
            if log:
                label = f"HTTP {status}" if status else type(exc).__name__
                log(f"{what}: {label}, retry {attempt + 1} of {retries} in {delay:.1f} s")
            _wait(delay, sleep, is_canceled)
            attempt += 1


class _RetriesOff:
    """ee's own retry loop (googleapiclient, not cancellable) is switched off while GLaSAR fetches,
    so :func:`call_with_retries` alone decides; the previous value is restored afterwards."""

    def __init__(self, ee):
        self.ee = ee
        self.old = None

    def __enter__(self):
        try:
            from ee import _state  # noqa: PLC0415 (private, guarded)

            self.old = _state.get_state().max_retries
        except Exception:  # noqa: BLE001
            self.old = 5
        self.ee.data.setMaxRetries(0)
        return self

    def __exit__(self, *exc):
        self.ee.data.setMaxRetries(self.old)
        return False


# ----------------------------------------------------------------------------------------
# Windows and dates
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """One fetch window: ``bounds`` is the lake window (the original AOI rule) snapped to ``res``;
    ``grid`` is what is fetched (the window plus ``margin_px`` pixels each side)."""

    window_id: str
    file_id: str
    epsg: int
    bounds: tuple
    grid: Grid
    area_km2: float = 0.0

    @property
    def crs(self):
        return f"EPSG:{self.epsg}"


def safe_id(text):
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._")
    return s[:80] or "lake"


def unique_file_ids(ids):
    """File-name-safe ids, made unique (inventories repeat ids) by suffixes _2, _3, ..."""
    seen, out = {}, []
    for i in ids:
        base = safe_id(i)
        n = seen.get(base.lower(), 0) + 1
        seen[base.lower()] = n
        out.append(base if n == 1 else f"{base}_{n}")
    return out


def _srs_wkt(epsg):
    return lg.srs_from_epsg(epsg).ExportToWkt()


def _expand(grid, px):
    return Grid(grid.srs_wkt, grid.x0 - px * grid.res, grid.y0 + px * grid.res, grid.res,
                grid.rows + 2 * px, grid.cols + 2 * px)


def lake_window(window_id, geom_wgs84, file_id=None, buffer_scale=1.0, res=S1_RES, margin_px=FETCH_MARGIN_PX):
    """Window of one lake: UTM zone of the lake centroid; bounding box grown by
    ``buffer_scale * (1200 log5(A + 1) + 100)`` m (A in km2, the original's AOI rule), snapped
    outwards to the ``res`` lattice; fetched with ``margin_px`` more pixels each side."""
    if geom_wgs84 is None or geom_wgs84.IsEmpty():
        raise GlasarError(f"lake {window_id}: empty geometry")
    c = geom_wgs84.Centroid()
    epsg = lg.utm_epsg(c.GetX(), c.GetY())
    srs = lg.srs_from_epsg(epsg)
    geom = lg.transform_geometry(geom_wgs84, lg.WGS84, srs)
    area = geom.GetArea() / 1e6
    margin = lg.aoi_buffer_m(area) * buffer_scale
    core = make_grid(lg.analysis_bounds(geom, margin), srs.ExportToWkt(), res)
    return Window(str(window_id), file_id or safe_id(window_id), epsg, core.bounds, _expand(core, margin_px), area)


def extent_window(window_id, lon_min, lat_min, lon_max, lat_max, res=S1_RES, margin_px=FETCH_MARGIN_PX):
    """Window covering a lon/lat extent, in the UTM zone of its centre (no lake margin added)."""
    if not (lon_max > lon_min and lat_max > lat_min):
        raise GlasarError("empty extent")
    if not (-180 <= lon_min and lon_max <= 180 and -90 <= lat_min and lat_max <= 90):
        raise GlasarError("the extent is not in longitude/latitude degrees")
    epsg = lg.utm_epsg((lon_min + lon_max) / 2, (lat_min + lat_max) / 2)
    ring = ogr.Geometry(ogr.wkbLinearRing)
    n = 16
    pts = ([(lon_min + (lon_max - lon_min) * i / n, lat_min) for i in range(n)]
           + [(lon_max, lat_min + (lat_max - lat_min) * i / n) for i in range(n)]
           + [(lon_max - (lon_max - lon_min) * i / n, lat_max) for i in range(n)]
           + [(lon_min, lat_max - (lat_max - lat_min) * i / n) for i in range(n)])
    for x, y in pts + [pts[0]]:
        ring.AddPoint_2D(x, y)
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    srs = lg.srs_from_epsg(epsg)
    g = lg.transform_geometry(poly, lg.WGS84, srs)
    xmin, xmax, ymin, ymax = g.GetEnvelope()
    core = make_grid((xmin, ymin, xmax, ymax), srs.ExportToWkt(), res)
    area = (core.bounds[2] - core.bounds[0]) * (core.bounds[3] - core.bounds[1]) / 1e6
    return Window(str(window_id), safe_id(window_id), epsg, core.bounds, _expand(core, margin_px), area)


def regrid(window, res, margin_px=1):
    """The same window at another pixel size (e.g. 30 m for a DEM), covering the whole fetch grid
    of ``window`` plus ``margin_px`` pixels (slopes need a neighbour beyond the edge)."""
    g = make_grid(window.grid.bounds, window.grid.srs_wkt, res)
    return Window(window.window_id, window.file_id, window.epsg, window.bounds, _expand(g, margin_px),
                  window.area_km2)


def parse_date(value, name="date"):
    """date from 'YYYY-MM-DD' (or a datetime/date)."""
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise GlasarError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def date_range(start, end):
    """(start, end_exclusive, middle) dates. END is inclusive; MIDDLE = START + floor(days / 2)."""
    s, e = parse_date(start, "START"), parse_date(end, "END")
    if e < s:
        raise GlasarError(f"END ({e}) is before START ({s})")
    if s < _dt.date(2014, 4, 3):
        raise GlasarError(f"START ({s}) is before the first Sentinel-1 acquisitions (April 2014)")
    middle = s + _dt.timedelta(days=(e - s).days // 2)
    return s, e + _dt.timedelta(days=1), middle


def _ms(d):
    return int(_dt.datetime(d.year, d.month, d.day, tzinfo=_dt.timezone.utc).timestamp() * 1000)


def iso_from_ms(ms):
    t = _dt.datetime.fromtimestamp(int(ms) / 1000.0, _dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_relative_orbits(text):
    """'12, 121' -> (12, 121); Sentinel-1 relative orbits are 1..175."""
    if text is None or not str(text).strip():
        return ()
    out = []
    for tok in re.split(r"[\s,;]+", str(text).strip()):
        if not tok:
            continue
        if not tok.isdigit() or not 1 <= int(tok) <= 175:
            raise GlasarError(f"relative orbit {tok!r} is not a number from 1 to 175")
        out.append(int(tok))
    return tuple(sorted(set(out)))


# ----------------------------------------------------------------------------------------
# Heading from the scene footprint
# ----------------------------------------------------------------------------------------

def _outer_ring(coords):
    """Outer ring [[lon, lat], ...] from GeoJSON-like coordinates of a ring, polygon or multipolygon."""
    a = coords
    while isinstance(a, (list, tuple)) and a and isinstance(a[0], (list, tuple)) and a[0] and \
            isinstance(a[0][0], (list, tuple)):
        if isinstance(a[0][0][0], (list, tuple)):  # multipolygon: the largest polygon's ring
            a = max(a, key=lambda p: len(p[0]))
        else:
            a = a[0]
    pts = np.asarray(a, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] < 4 or pts.shape[1] < 2:
        raise GlasarError("the footprint is not a polygon")
    return pts[:, :2]


IW_INCIDENCE_RANGE = (29.1, 46.0)  # deg, IW1 near range to IW3 far range


def _mid_swath_incidence():
    """Incidence angle at the middle of the IW swath's ground range (where a GRD footprint's
    centroid lies): solves ``nadir_offset(theta) = (nadir_offset(near) + nadir_offset(far)) / 2``
    by bisection (nadir_offset is monotonic)."""
    near, far = IW_INCIDENCE_RANGE
    target = 0.5 * (float(s1.nadir_offset_m(near)) + float(s1.nadir_offset_m(far)))
    lo, hi = near, far
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float(s1.nadir_offset_m(mid)) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def local_heading_from_footprint(coords, orbit_pass):
    """Along-track direction (deg clockwise from true north, in (-180, 180]) at the centre of a
    scene footprint (lon/lat ring, polygon or multipolygon coordinates). Returns
    ``(heading, lon0, lat0)`` with (lon0, lat0) the footprint centroid.

    1. project the footprint to an azimuthal equidistant projection centred on its centroid
       (metric, true north up at the centre: no degree-space distortion);
    2. take the edges of its convex hull; each gives an axial direction a_j (mod 180 deg) and a
       length L_j;
    3. the along-track edges are those within 30 deg of the direction the orbit model expects
       there (``s1_metadata.heading_from_pass_latitude`` carried from the nadir to mid swath); this
       tells them
       from the across-track edges whatever the slice length (an IW GRD slice is ~170 km along
       track but ~250 km across, so "the long edges" would be the wrong ones);
    4. their length-weighted axial mean ``0.5 atan2(sum L sin 2a, sum L cos 2a)``, refined once
       over the edges within 5 deg of it, is the track axis (near- and far-range edges lie on
       either side of the centre, so their mean is the direction at the centre);
    5. the pass fixes the sense: ascending moves north (cos h > 0), descending south.

    The original (``getS1Corners``) took the southernmost and westernmost vertices in degree
    space without cos(latitude) plus fixed offsets per pass; this avoids those quirks.
    """
    if orbit_pass not in PASSES:
        raise GlasarError(f"unknown pass {orbit_pass!r}")
    pts = _outer_ring(coords)
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in pts:
        ring.AddPoint_2D(float(x), float(y))
    ring.CloseRings()
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    c = poly.Centroid()
    lon0, lat0 = c.GetX(), c.GetY()
    aeqd = osr.SpatialReference()
    aeqd.ImportFromProj4(f"+proj=aeqd +lat_0={lat0:.9f} +lon_0={lon0:.9f} +datum=WGS84 +units=m +no_defs")
    aeqd.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    hull = lg.transform_geometry(poly, lg.WGS84, aeqd).ConvexHull()
    hring = hull.GetGeometryRef(0)
    if hring is None:
        raise GlasarError("the footprint is degenerate")
    xy = np.array([hring.GetPoint_2D(i) for i in range(hring.GetPointCount())], dtype=np.float64)
    d = np.diff(xy, axis=0)
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 0
    d, length = d[keep], length[keep]
    if length.size < 3:
        raise GlasarError("the footprint is degenerate")
    axial = np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 180.0
    # expected local direction: the orbit model's platform heading carried from the nadir to the
    # mid-swath centroid (the meridian convergence reaches ~20 deg at 78 N)
    expected = s1.local_from_platform_heading(s1.heading_from_pass_latitude(orbit_pass, lat0), lon0, lat0,
                                              _mid_swath_incidence()) % 180.0

    def wrap(a):
        return (a + 90.0) % 180.0 - 90.0

    def axial_mean(sel):
        w = length[sel]
        t = np.radians(2.0 * axial[sel])
        return (0.5 * math.degrees(math.atan2(float(np.sum(w * np.sin(t))), float(np.sum(w * np.cos(t)))))) % 180.0

    sel = np.abs(wrap(axial - expected)) < 30.0
    if length[sel].sum() < 0.1 * length.sum():
        raise GlasarError("the footprint has no edge along the Sentinel-1 track")
    axis = axial_mean(sel)
    sel2 = np.abs(wrap(axial - axis)) < 5.0
    if sel2.any():
        axis = axial_mean(sel2)
    northward = math.cos(math.radians(axis)) > 0
    heading = axis if northward == (orbit_pass == "ASCENDING") else axis + 180.0
    return s1.wrap180(heading), lon0, lat0


def heading_from_footprint(coords, orbit_pass):
    """Platform heading (the annotation's ``platformHeading`` convention used by GLaSAR's HEADING
    tag: flight direction at the nadir track, deg from true north in (-180, 180]; ascending
    ~-12 = 348, descending ~-168 = 192 at mid latitudes) from a scene footprint.

    The along-track direction at the footprint centre (:func:`local_heading_from_footprint`) is
    carried to the nadir track along the zero-Doppler great circle
    (``s1_metadata.platform_from_local_heading``), the centroid lying at mid swath (incidence
    :func:`_mid_swath_incidence`, ~37.8 deg). The two differ by the meridian convergence over
    the ~440 km to the nadir, about 2 deg at 28 N. Returns ``(platform, local)``.
    """
    local, lon0, lat0 = local_heading_from_footprint(coords, orbit_pass)
    return s1.platform_from_local_heading(local, lon0, lat0, _mid_swath_incidence()), local


# ----------------------------------------------------------------------------------------
# Earth Engine graphs (built lazily with the ee module given)
# ----------------------------------------------------------------------------------------

def _rect(ee, window):
    xmin, ymin, xmax, ymax = window.bounds
    return ee.Geometry.Rectangle([xmin, ymin, xmax, ymax], window.crs, False)


def _region_args(ee, window):
    xmin, _, _, ymax = window.bounds
    res = window.grid.res
    return dict(geometry=_rect(ee, window), crs=window.crs, crsTransform=[res, 0, xmin, 0, -res, ymax],
                maxPixels=1e9)


def nodata_count(ee, image, window):
    """Pixels of the lake window (its own 10 m grid, exact: no bestEffort) where VV or VH is masked."""
    masked = image.select(["VV", "VH"]).mask().reduce(ee.Reducer.min()).unmask(0).eq(0).rename("nodata")
    return masked.reduceRegion(reducer=ee.Reducer.sum(), **_region_args(ee, window)).get("nodata")


def s1_collection(ee, window, start, end_exclusive, relative_orbits=()):
    """COPERNICUS/S1_GRD, IW, VV and VH present, intersecting the window, START <= t < END + 1 day."""
    col = (ee.ImageCollection(S1_COLLECTION)
           .filter(ee.Filter.eq("instrumentMode", "IW"))
           .filterBounds(_rect(ee, window))
           .filterDate(start.isoformat(), end_exclusive.isoformat())
           .filter(ee.Filter.listContains("transmitterReceiverPolarisation", "VV"))
           .filter(ee.Filter.listContains("transmitterReceiverPolarisation", "VH")))
    if relative_orbits:
        col = col.filter(ee.Filter.inList("relativeOrbitNumber_start", list(relative_orbits)))
    return col


def annotate(ee, collection, window, middle, min_incidence=None):
    """Set numNodata, time_difference (|t - MIDDLE| in days) and, with a minimum incidence, minAngle."""
    middle_date = ee.Date(_ms(middle))
    args = _region_args(ee, window)

    def per_image(img):
        img = ee.Image(img)
        props = {
            "numNodata": nodata_count(ee, img, window),
            "time_difference": ee.Number(img.date().difference(middle_date, "day")).abs(),
        }
        if min_incidence is not None:
            props["minAngle"] = img.select("angle").reduceRegion(reducer=ee.Reducer.min(), **args).get("angle")
        return img.set(props)

    return collection.map(per_image)


@dataclass
class PassSelection:
    """Server-side objects of one pass's selection."""

    pool: object  # scenes of the pass (after the optional incidence filter)
    full: object  # pool scenes with numNodata == 0
    best: object  # full-cover scene closest to the middle date
    nearest: object  # pool scene closest to the middle date (footprint of a synthesis)
    median: object  # per-pixel median of the pool (synthesis)
    relaxed: object  # 1 when the incidence filter left nothing and was dropped


def pass_selection(ee, annotated, orbit_pass, min_incidence=None):
    col = annotated.filter(ee.Filter.eq("orbitProperties_pass", orbit_pass))
    if min_incidence is not None:
        steep_ok = col.filter(ee.Filter.gte("minAngle", float(min_incidence)))
        relaxed = steep_ok.size().eq(0)
        pool = ee.ImageCollection(ee.Algorithms.If(relaxed, col, steep_ok))
    else:
        relaxed = ee.Number(0)
        pool = col
    full = pool.filter(ee.Filter.eq("numNodata", 0))
    best = ee.Image(full.sort("time_difference").first())
    nearest = ee.Image(pool.sort("time_difference").first())
    median = pool.median()
    return PassSelection(pool, full, best, nearest, median, relaxed)


def chosen_image(ee, sel):
    """The original rule as one expression: the closest full-cover scene, else the median."""
    return ee.Image(ee.Algorithms.If(sel.full.size().gt(0), sel.best, sel.median))


def pass_info(ee, sel, window):
    common = {"n_images": sel.pool.size(), "n_full_cover": sel.full.size(), "angle_filter_relaxed": sel.relaxed}
    scene = ee.Dictionary(common).combine({
        "synthesis": 0,
        "source": sel.best.get("system:index"),
        "time_start": sel.best.get("system:time_start"),
        "time_difference": sel.best.get("time_difference"),
        "nodata_count": sel.best.get("numNodata"),
        "relative_orbit": sel.best.get("relativeOrbitNumber_start"),
        "platform": sel.best.get("platform_number"),
        "footprint": sel.best.geometry().coordinates(),
    })
    synthesis = ee.Dictionary(common).combine({
        "synthesis": 1,
        "sources": sel.pool.aggregate_array("system:index"),
        "times": sel.pool.aggregate_array("system:time_start"),
        "nodata_count": nodata_count(ee, sel.median, window),
        "relative_orbits": sel.pool.aggregate_array("relativeOrbitNumber_start").distinct(),
        "footprint": sel.nearest.geometry().coordinates(),
        "footprint_source": sel.nearest.get("system:index"),
    })
    chosen = ee.Algorithms.If(sel.full.size().gt(0), scene, synthesis)
    return ee.Dictionary(ee.Algorithms.If(sel.pool.size().eq(0), ee.Dictionary(common), chosen))


@dataclass(frozen=True)
class S1Query:
    start: _dt.date
    end_exclusive: _dt.date
    middle: _dt.date
    relative_orbits: tuple = ()
    min_incidence: float = None

    @classmethod
    def make(cls, start, end, relative_orbits="", min_incidence=None):
        s, e, m = date_range(start, end)
        orbits = parse_relative_orbits(relative_orbits) if isinstance(relative_orbits, str) else \
            tuple(sorted(set(int(o) for o in relative_orbits or ())))
        if min_incidence is not None and not (0 < float(min_incidence) < 90):
            raise GlasarError("the minimum incidence angle must be between 0 and 90 degrees")
        return cls(s, e, m, orbits, None if min_incidence is None else float(min_incidence))


def selections(ee, window, query):
    col = s1_collection(ee, window, query.start, query.end_exclusive, query.relative_orbits)
    annotated = annotate(ee, col, window, query.middle, query.min_incidence)
    return {p: pass_selection(ee, annotated, p, query.min_incidence) for p in PASSES}


def selection_graph(ee, window, query):
    """ee.Dictionary {ASCENDING: info, DESCENDING: info}: the whole per-window selection, one request."""
    sels = selections(ee, window, query)
    return ee.Dictionary({p: pass_info(ee, sels[p], window) for p in PASSES})


def s1_pixels_image(ee, image):
    """VV, VH (sigma0 dB) and angle as float, masked pixels filled with NODATA everywhere."""
    return ee.Image(image).select(list(S1_BANDS)).toFloat().unmask(NODATA, False)


def s1_fetch_image(ee, window, query, orbit_pass, info):
    """The image to fetch for a pass once its info is known: the chosen scene by asset id, or the
    median of the pass (rebuilt with the same graph) when the info says synthesis."""
    if int(info.get("synthesis", 0)) == 0:
        return s1_pixels_image(ee, ee.Image(f"{S1_COLLECTION}/{info['source']}"))
    return s1_pixels_image(ee, selections(ee, window, query)[orbit_pass].median)


@dataclass(frozen=True)
class DemDataset:
    key: str
    title: str
    asset: str
    band: str
    is_collection: bool
    vertical_datum: str


DEM_DATASETS = {
    "nasadem": DemDataset("nasadem", "NASADEM", "NASA/NASADEM_HGT/001", "elevation", False, "EGM96"),
    "srtm": DemDataset("srtm", "SRTM GL1 v3", "USGS/SRTMGL1_003", "elevation", False, "EGM96"),
    "alos_aw3d30": DemDataset("alos_aw3d30", "ALOS AW3D30 v4.1", "JAXA/ALOS/AW3D30/V4_1", "DSM", True, "EGM96"),
    "copernicus_glo30": DemDataset("copernicus_glo30", "Copernicus DEM GLO-30", "COPERNICUS/DEM/GLO30", "DEM", True,
                                   "EGM2008"),
}


def dem_image(ee, dataset, window=None):
    """Height band renamed 'elevation', bilinear resampling, masked pixels -> NODATA."""
    if dataset not in DEM_DATASETS:
        raise GlasarError(f"unknown DEM dataset {dataset!r}; choose one of {', '.join(DEM_DATASETS)}")
    d = DEM_DATASETS[dataset]
    if d.is_collection:
        col = ee.ImageCollection(d.asset)
        if window is not None:
            col = col.filterBounds(_rect(ee, window))
        img = col.select(d.band).map(lambda i: ee.Image(i).resample("bilinear")).mosaic()
    else:
        img = ee.Image(d.asset).select(d.band).resample("bilinear")
    return img.rename("elevation").toFloat().unmask(NODATA, False)


def pixel_grid(grid, epsg):
    """computePixels PixelGrid for a north-up Grid."""
    return {
        "dimensions": {"width": int(grid.cols), "height": int(grid.rows)},
        "affineTransform": {"scaleX": grid.res, "shearX": 0, "translateX": grid.x0,
                            "shearY": 0, "scaleY": -grid.res, "translateY": grid.y0},
        "crsCode": f"EPSG:{epsg}",
    }


def strips(grid, n_bands, bytes_per_value=4, max_bytes=None, max_side=None):
    """Split a grid into row strips (row offset, sub-grid) small enough for one computePixels call
    (at most ``max_bytes``, default :data:`MAX_REQUEST_BYTES`, and ``max_side`` pixels a side)."""
    max_bytes = max_bytes or MAX_REQUEST_BYTES
    max_side = max_side or MAX_REQUEST_SIDE
    if grid.cols > max_side:
        raise GlasarError(f"window {grid.cols} pixels wide exceeds {max_side}: use a smaller window")
    rows = max(1, min(max_side, max_bytes // max(1, grid.cols * n_bands * bytes_per_value)))
    out = []
    for r0 in range(0, grid.rows, rows):
        n = min(rows, grid.rows - r0)
        out.append((r0, Grid(grid.srs_wkt, grid.x0, grid.y0 - r0 * grid.res, grid.res, n, grid.cols)))
    return out


_VSI_COUNTER = [0]
_VSI_LOCK = threading.Lock()


def decode_geotiff(data, grid, n_bands):
    """(n_bands, rows, cols) float32 from GeoTIFF bytes; NODATA fill -> NaN; checks size and origin."""
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise GlasarError("Earth Engine returned no image data")
    with _VSI_LOCK:
        _VSI_COUNTER[0] += 1
        name = f"/vsimem/glasar_ee_{os.getpid()}_{_VSI_COUNTER[0]}.tif"
    gdal.FileFromMemBuffer(name, bytes(data))
    try:
        try:
            ds = gdal.Open(name)
        except RuntimeError as exc:
            raise GlasarError(f"Earth Engine returned data that is not a GeoTIFF ({exc})") from None
        if ds.RasterXSize != grid.cols or ds.RasterYSize != grid.rows or ds.RasterCount != n_bands:
            raise GlasarError(
                f"Earth Engine returned {ds.RasterCount} bands of {ds.RasterXSize}x{ds.RasterYSize} pixels, "
                f"expected {n_bands} of {grid.cols}x{grid.rows}")
        gt = ds.GetGeoTransform()
        if abs(gt[0] - grid.x0) > 1e-3 * grid.res or abs(gt[3] - grid.y0) > 1e-3 * grid.res or \
                abs(gt[1] - grid.res) > 1e-6 * grid.res:
            raise GlasarError(f"Earth Engine returned a grid {gt} different from the requested {grid.geotransform}")
        arr = ds.ReadAsArray().astype(np.float32).reshape(n_bands, grid.rows, grid.cols)
        ds = None
    finally:
        gdal.Unlink(name)
    arr[(arr <= NODATA + 0.5) | ~np.isfinite(arr)] = np.nan
    return arr


def fetch_pixels(ee, image, grid, epsg, n_bands, call):
    """Whole grid as (n_bands, rows, cols) float32, fetched in strips through ``call(fn, what)``."""
    out = np.full((n_bands, grid.rows, grid.cols), np.nan, dtype=np.float32)
    for r0, sub in strips(grid, n_bands):
        request = {"expression": image, "fileFormat": "GEO_TIFF", "grid": pixel_grid(sub, epsg)}
        data = call(lambda req=request: ee.data.computePixels(req), f"fetching rows {r0}-{r0 + sub.rows}")
        out[:, r0:r0 + sub.rows, :] = decode_geotiff(data, sub, n_bands)
    return out


def write_geotiff(path, arrays, grid, band_names, band_units, tags):
    """Float32 GeoTIFF (deflate, nodata NaN), band descriptions and dataset tags; written to a
    temporary file in the same folder, then moved into place (whole or not at all)."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".glasar_", suffix=".tif", dir=folder)
    os.close(fd)
    try:
        drv = gdal.GetDriverByName("GTiff")
        ds = drv.Create(tmp, grid.cols, grid.rows, len(band_names), gdal.GDT_Float32,
                        options=["COMPRESS=DEFLATE", "PREDICTOR=3", "TILED=YES"])
        ds.SetGeoTransform(grid.geotransform)
        ds.SetProjection(grid.srs_wkt)
        ds.SetMetadata({k: str(v) for k, v in tags.items()})
        for i, (name, unit) in enumerate(zip(band_names, band_units), start=1):
            b = ds.GetRasterBand(i)
            b.SetDescription(name)
            if unit:
                b.SetUnitType(unit)
            b.SetNoDataValue(float("nan"))
            b.WriteArray(arrays[i - 1])
        ds.FlushCache()
        ds = None
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# ----------------------------------------------------------------------------------------
# Orchestration: per-lake fetches, bounded parallelism, progress, cancel, statuses
# ----------------------------------------------------------------------------------------

S1_MANIFEST = "ee_sentinel1_manifest.csv"
DEM_MANIFEST = "ee_dem_manifest.csv"
S1_COLUMNS = ("lake_id", "file_id", "pass", "status", "file", "source", "acquisition_time", "synthesis",
              "nodata_count", "heading", "relative_orbit", "n_images", "n_full_cover")
DEM_COLUMNS = ("lake_id", "file_id", "dataset", "status", "file", "nodata_count", "min_m", "max_m")


def _median_time_ms(times):
    t = sorted(int(x) for x in times if x is not None)
    return t[len(t) // 2] if t else None


def s1_tags(window, query, orbit_pass, info, heading, local_heading=None):
    synthesis = int(info.get("synthesis", 0))
    if synthesis:
        sources = list(info.get("sources") or [])
        source = ";".join(sources)
        t = _median_time_ms(info.get("times") or [])
        orbit = ";".join(str(o) for o in sorted(info.get("relative_orbits") or []))
    else:
        source = str(info["source"])
        t = info.get("time_start")
        orbit = "" if info.get("relative_orbit") is None else str(info["relative_orbit"])
    tags = {
        "PASS": orbit_pass,
        "ACQUISITION_TIME": iso_from_ms(t) if t is not None else "",
        "HEADING": f"{heading:.3f}" if heading is not None else "",
        "HEADING_LOCAL": f"{local_heading:.3f}" if local_heading is not None else "",
        "SOURCE": source,
        "SYNTHESIS": str(synthesis),
        "NODATA_COUNT": str(int(round(float(info.get("nodata_count") or 0)))),
        "UNITS": "sigma0 dB",
        "COLLECTION": S1_COLLECTION,
        "LAKE_ID": window.window_id,
        "RELATIVE_ORBIT": orbit,
        "DATE_START": query.start.isoformat(),
        "DATE_END": (query.end_exclusive - _dt.timedelta(days=1)).isoformat(),
        "MIDDLE_DATE": query.middle.isoformat(),
        "N_IMAGES": str(info.get("n_images", "")),
        "LAKE_WINDOW": "{},{},{},{} {}".format(*[f"{v:.1f}" for v in window.bounds], window.crs),
    }
    if synthesis:
        tags["ACQUISITION_TIME_RULE"] = "median of the composited scenes' times"
        tags["HEADING_SOURCE"] = f"footprint of {info.get('footprint_source', '')}"
        tags["PLATFORM"] = ""
    else:
        tags["HEADING_SOURCE"] = f"footprint of {source}"
        tags["PLATFORM"] = f"S1{info.get('platform')}" if info.get("platform") else ""
    if info.get("angle_filter_relaxed"):
        tags["ANGLE_FILTER"] = "relaxed: no scene met the minimum incidence angle"
    elif query.min_incidence is not None:
        tags["ANGLE_FILTER"] = f"min angle >= {query.min_incidence:g} deg"
    return tags


def s1_file_name(window, orbit_pass, tags):
    t = tags.get("ACQUISITION_TIME", "")
    stamp = re.sub(r"[-:]", "", t).rstrip("Z") if t else "notime"
    kind = "_median" if tags.get("SYNTHESIS") == "1" else ""
    return f"S1_{PASS_SHORT[orbit_pass]}_{stamp}{kind}_{window.file_id}.tif"


class _ThreadLog:
    """Workers queue their messages; the calling thread passes them on (QGIS feedback objects are
    used from the thread that runs the algorithm only)."""

    def __init__(self, log):
        self.log = log or (lambda m: None)
        self.queue = queue.SimpleQueue()

    def __call__(self, message):
        self.queue.put(message)

    def flush(self):
        while True:
            try:
                self.log(self.queue.get_nowait())
            except queue.Empty:
                return


def _run_parallel(windows, work, max_parallel, progress, is_canceled, thread_log):
    """Run ``work(window)`` for each window with at most ``max_parallel`` running; yields
    (index, result) as lakes finish; per-lake progress; cancel stops between requests."""
    max_parallel = max(1, min(int(max_parallel or 1), 8))
    done = 0
    ex = cf.ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="glasar-ee")
    try:
        futures = {ex.submit(work, w): i for i, w in enumerate(windows)}
        pending = set(futures)
        while pending:
            finished, pending = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            thread_log.flush()
            if is_canceled and is_canceled():
                for f in pending:
                    f.cancel()
                raise Canceled("canceled")
            for f in finished:
                try:
                    result = f.result()
                except EarthEngineError as exc:
                    if exc.fatal:
                        for p in pending:
                            p.cancel()
                    raise
                done += 1
                if progress:
                    progress(done / len(windows))
                yield futures[f], result
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
        thread_log.flush()


class _Staging:
    """Files are written into a hidden folder inside the output folder and moved into place only
    when every lake is done, so a cancelled or failed run leaves the output folder untouched."""

    def __init__(self, out_dir):
        if not out_dir:
            raise GlasarError("no output folder given")
        os.makedirs(out_dir, exist_ok=True)
        self.out_dir = out_dir
        self.dir = tempfile.mkdtemp(prefix=".glasar_ee_", dir=out_dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def commit(self, names):
        for n in names:
            os.replace(os.path.join(self.dir, n), os.path.join(self.out_dir, n))

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _write_manifest(path, rows, columns):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".glasar_", suffix=".csv", dir=folder)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(columns))
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@dataclass
class FetchResult:
    rows: list = field(default_factory=list)  # manifest rows, inventory order
    files: list = field(default_factory=list)  # written paths
    manifest: str = ""


def _caller(conn, retries, sleep, is_canceled, log, lake_id):
    hint = _access_hint(conn.project, conn.source)

    def call(fn, what):
        return call_with_retries(fn, f"lake {lake_id}: {what}", retries=retries, sleep=sleep,
                                 is_canceled=is_canceled, log=log, access_hint=hint)

    return call


def fetch_sentinel1(conn, windows, query, out_dir, max_parallel=4, retries=5, progress=None, is_canceled=None,
                    log=None, sleep=None):
    """Choose and fetch the ascending and descending scene of every window into ``out_dir``.

    One selection request per window (:func:`selection_graph`), then one or more computePixels
    requests per pass. Files: ``S1_<ASC|DSC>_<time>[_median]_<lake>.tif`` (bands VV, VH, angle;
    tags PASS, ACQUISITION_TIME, HEADING, SOURCE, SYNTHESIS, NODATA_COUNT, ...), plus the
    manifest ``ee_sentinel1_manifest.csv`` (one row per lake and pass, with its status).
    Raises Canceled (nothing written) or EarthEngineError for access problems.
    """
    ee = conn.ee
    log = log or (lambda m: None)
    wlog = _ThreadLog(log)
    windows = list(windows)
    if not windows:
        raise GlasarError("no lake windows to fetch")
    staging = _Staging(out_dir)
    result = FetchResult()
    try:
        def work(window):
            call = _caller(conn, retries, sleep, is_canceled, wlog, window.window_id)
            try:
                info = call(lambda: ee.data.computeValue(selection_graph(ee, window, query)), "choosing scenes")
            except EarthEngineError as exc:
                if exc.fatal:
                    raise
                return [(p, {"status": f"failed: {exc}"}, None) for p in PASSES]
            out = []
            for p in PASSES:
                pinfo = (info or {}).get(p) or {}
                if not int(pinfo.get("n_images") or 0):
                    orbit_txt = f", relative orbits {','.join(map(str, query.relative_orbits))}" \
                        if query.relative_orbits else ""
                    out.append((p, {"status": f"no scene: no {p.lower()} IW VV+VH scene over the window from "
                                              f"{query.start} to {query.end_exclusive - _dt.timedelta(days=1)}"
                                              f"{orbit_txt}", "n_images": 0}, None))
                    continue
                try:
                    heading = heading_from_footprint(pinfo.get("footprint"), p)
                except GlasarError as exc:
                    wlog(f"lake {window.window_id} {p.lower()}: heading not derived ({exc})")
                    heading = (None, None)
                tags = s1_tags(window, query, p, pinfo, *heading)
                name = s1_file_name(window, p, tags)
                try:
                    image = s1_fetch_image(ee, window, query, p, pinfo)
                    arr = fetch_pixels(ee, image, window.grid, window.epsg, len(S1_BANDS),
                                       lambda fn, what, p=p: call(fn, f"{p.lower()} {what}"))
                except Canceled:
                    raise
                except EarthEngineError as exc:
                    if exc.fatal:
                        raise
                    out.append((p, {"status": f"failed: {exc}", "n_images": pinfo.get("n_images")}, None))
                    continue
                except GlasarError as exc:
                    out.append((p, {"status": f"failed: {exc}", "n_images": pinfo.get("n_images")}, None))
                    continue
                write_geotiff(staging.path(name), arr, window.grid, list(S1_BANDS), ["dB", "dB", "degree"], tags)
                synthesis = tags["SYNTHESIS"] == "1"
                status = "ok" if not synthesis else (
                    f"ok: synthesis, median of {pinfo.get('n_images')} scenes (none covers the whole window)")
                out.append((p, {
                    "status": status, "file": name, "source": tags["SOURCE"],
                    "acquisition_time": tags["ACQUISITION_TIME"], "synthesis": tags["SYNTHESIS"],
                    "nodata_count": tags["NODATA_COUNT"], "heading": tags["HEADING"],
                    "relative_orbit": tags["RELATIVE_ORBIT"], "n_images": pinfo.get("n_images"),
                    "n_full_cover": pinfo.get("n_full_cover"),
                }, name))
            return out

        per_window = [None] * len(windows)
        with _RetriesOff(ee):
            for i, out in _run_parallel(windows, work, max_parallel, progress, is_canceled, wlog):
                per_window[i] = out
                w = windows[i]
                for p, row, _ in out:
                    log(f"lake {w.window_id} {p.lower()}: {row['status']}"
                        + (f" -> {row['file']}" if row.get("file") else ""))
        names = []
        for w, out in zip(windows, per_window):
            for p, row, name in out:
                result.rows.append(dict(row, lake_id=w.window_id, file_id=w.file_id, **{"pass": p}))
                if name:
                    names.append(name)
        staging.commit(names)
        result.files = [os.path.join(out_dir, n) for n in names]
        result.manifest = os.path.join(out_dir, S1_MANIFEST)
        _write_manifest(result.manifest, result.rows, S1_COLUMNS)
        return result
    finally:
        staging.cleanup()


def fetch_dem(conn, windows, dataset, out_dir, max_parallel=4, retries=5, progress=None, is_canceled=None, log=None,
              sleep=None):
    """Fetch a DEM window per lake: ``DEM_<dataset>_<lake>.tif`` (band 'elevation', metres,
    bilinear, nodata NaN; tags DATASET, ASSET, VERTICAL_DATUM, LAKE_ID, NODATA_COUNT) and the
    manifest ``ee_dem_manifest.csv``. A window the dataset does not cover gets a status, no file."""
    if dataset not in DEM_DATASETS:
        raise GlasarError(f"unknown DEM dataset {dataset!r}; choose one of {', '.join(DEM_DATASETS)}")
    ee = conn.ee
    d = DEM_DATASETS[dataset]
    log = log or (lambda m: None)
    wlog = _ThreadLog(log)
    windows = list(windows)
    if not windows:
        raise GlasarError("no lake windows to fetch")
    staging = _Staging(out_dir)
    result = FetchResult()
    try:
        def work(window):
            call = _caller(conn, retries, sleep, is_canceled, wlog, window.window_id)
            try:
                arr = fetch_pixels(ee, dem_image(ee, dataset, window), window.grid, window.epsg, 1, call)
            except Canceled:
                raise
            except EarthEngineError as exc:
                if exc.fatal:
                    raise
                return {"status": f"failed: {exc}"}, None
            except GlasarError as exc:
                return {"status": f"failed: {exc}"}, None
            valid = np.isfinite(arr[0])
            if not valid.any():
                return {"status": f"no data: {d.title} does not cover this window"}, None
            nodata = int((~valid).sum())
            name = f"DEM_{dataset}_{window.file_id}.tif"
            tags = {"DATASET": d.title, "ASSET": d.asset, "SOURCE": d.asset, "VERTICAL_DATUM": d.vertical_datum,
                    "UNITS": "m", "RESAMPLING": "bilinear", "LAKE_ID": window.window_id, "NODATA_COUNT": str(nodata),
                    "LAKE_WINDOW": "{},{},{},{} {}".format(*[f"{v:.1f}" for v in window.bounds], window.crs)}
            write_geotiff(staging.path(name), arr, window.grid, ["elevation"], ["m"], tags)
            status = "ok" if nodata == 0 else f"ok: {nodata} pixels without data"
            return {"status": status, "file": name, "nodata_count": nodata,
                    "min_m": round(float(np.nanmin(arr)), 2), "max_m": round(float(np.nanmax(arr)), 2)}, name

        per_window = [None] * len(windows)
        with _RetriesOff(ee):
            for i, out in _run_parallel(windows, work, max_parallel, progress, is_canceled, wlog):
                per_window[i] = out
                row = out[0]
                log(f"lake {windows[i].window_id}: {row['status']}" + (f" -> {row['file']}" if row.get("file") else ""))
        names = []
        for w, (row, name) in zip(windows, per_window):
            result.rows.append(dict(row, lake_id=w.window_id, file_id=w.file_id, dataset=dataset))
            if name:
                names.append(name)
        staging.commit(names)
        result.files = [os.path.join(out_dir, n) for n in names]
        result.manifest = os.path.join(out_dir, DEM_MANIFEST)
        _write_manifest(result.manifest, result.rows, DEM_COLUMNS)
        return result
    finally:
        staging.cleanup()
