"""Earth Engine data source (algorithms/earthengine.py), offline: no account, no network.

- selection graphs are built with earthengine-api's own test harness (``ee.apitestcase``, frozen
  algorithm list of the pinned version) and compared with golden files in tests/data/ee_golden
  (regenerate after a deliberate change with GLASAR_UPDATE_GOLDEN=1);
- the HTTP layer is mocked (``apitestcase.UsingCloudApi(mock_http=...)``): computePixels returns
  real GeoTIFFs rendered for the requested grid, value:compute returns a scripted selection;
- the heading is checked against footprints built from a simulated Sentinel-1 orbit and
  hand-made parallelograms;
- a live test runs only when Earth Engine credentials are present.
"""
import datetime as dt
import importlib.util
import json
import math
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from glasar.algorithms import GlasarError
from glasar.algorithms import earthengine as E
from glasar.algorithms import s1_metadata as s1
from glasar.algorithms.grid import Grid
from glasar.algorithms.sar_io import open_scene

gdal.UseExceptions()
GOLDEN = Path(__file__).resolve().parent / "data" / "ee_golden"
REPO = Path(__file__).resolve().parents[1]
R_EARTH = s1.EARTH_RADIUS_M
UTM45 = 32645


# ----------------------------------------------------------------------------------------------
# geometry helpers: footprints from a simulated orbit and hand-made parallelograms
# ----------------------------------------------------------------------------------------------
def travel(lon, lat, bearing, dist):
    """Great-circle destination and forward bearing on arrival (spherical Earth)."""
    lon1, lat1, b = map(math.radians, (lon, lat, bearing))
    d = dist / R_EARTH
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(b))
    lon2 = lon1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2))
    back = math.atan2(math.sin(lon1 - lon2) * math.cos(lat1),
                      math.cos(lat2) * math.sin(lat1) - math.sin(lat2) * math.cos(lat1) * math.cos(lon1 - lon2))
    return math.degrees(lon2), math.degrees(lat2), (math.degrees(back) + 180.0) % 360.0


def _along(lon0, lat0, heading, s):
    if s >= 0:
        return travel(lon0, lat0, heading, s)
    lo, la, b = travel(lon0, lat0, heading + 180.0, -s)
    return lo, la, b + 180.0


def orbit_footprint(lon0, lat0, platform_heading, along=170e3, near=29.1, far=46.0, n=24):
    """IW footprint ring (lon/lat) of a right-looking sensor whose nadir passes (lon0, lat0) with
    the given platform heading: ground points at the near/far incidence ranges of each zero-Doppler
    line (perpendicular to the great-circle nadir track)."""
    dn, df = float(s1.nadir_offset_m(near)), float(s1.nadir_offset_m(far))
    ss = np.linspace(-along / 2, along / 2, n)

    def ground(s, d):
        lo, la, b = _along(lon0, lat0, platform_heading, s)
        x, y, _ = travel(lo, la, b + 90.0, d)
        return [x, y]

    ds = np.linspace(dn, df, n)
    return ([ground(s, dn) for s in ss] + [ground(ss[-1], d) for d in ds[1:]]
            + [ground(s, df) for s in ss[::-1]][1:] + [ground(ss[0], d) for d in ds[::-1]][1:])


def parallelogram(lon0, lat0, heading, along=170e3, across=250e3, skew=6.0, n=10):
    """Hand-made parallelogram centred on (lon0, lat0): along-track edges in direction ``heading``,
    across-track edges tilted ``skew`` deg from the perpendicular, vertices densified like EE footprints."""
    def p(s, c):
        lo, la, b = _along(lon0, lat0, heading, s)
        x, y, _ = travel(lo, la, b + 90 + skew, c) if c >= 0 else travel(lo, la, b - 90 + skew, -c)
        return [x, y]

    S, C = np.linspace(-along / 2, along / 2, n), np.linspace(-across / 2, across / 2, n)
    return ([p(s, -across / 2) for s in S] + [p(along / 2, c) for c in C[1:]]
            + [p(s, across / 2) for s in S[::-1]][1:] + [p(-along / 2, c) for c in C[::-1]][1:])


def angle_diff(a, b):
    return (a - b + 180.0) % 360.0 - 180.0


# ----------------------------------------------------------------------------------------------
# loader, credentials, project, secrets
# ----------------------------------------------------------------------------------------------
def test_import_ee_uses_extlibs_only_when_needed(tmp_path, monkeypatch):
    mod = "glasar_fake_eeapi"
    assert importlib.util.find_spec(mod) is None
    root = tmp_path / "plugin"
    with pytest.raises(E.EarthEngineUnavailable) as err:
        E.import_ee(str(root), mod)
    msg = str(err.value)
    assert "pip install" in msg and "earthengine authenticate" not in msg and "make package" in msg
    assert not E.ee_installed(str(root), mod)
    pkg = root / "extlibs" / mod
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("VERSION = 'bundled'\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert E.ee_installed(str(root), mod)
    m = E.import_ee(str(root), mod)
    assert m.VERSION == "bundled"
    assert sys.path[-1] == str(root / "extlibs")  # appended: QGIS's own packages keep priority
    del sys.modules[mod]


def test_import_ee_leaves_sys_path_alone_when_importable(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = list(sys.path)
    m = E.import_ee(str(tmp_path), "json")  # any importable module
    assert m is json and sys.path == before


def _service_key(path, private_key="-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
                                   "-----END PRIVATE KEY-----\n", project="glasar-sa-project"):
    path.write_text(json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "abc123secretid",
        "private_key": private_key, "client_email": "glasar@glasar-sa-project.iam.gserviceaccount.com",
        "client_id": "1234", "token_uri": "https://oauth2.googleapis.com/token",
    }))
    return str(path)


@pytest.fixture
def clean_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for v in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "EARTHENGINE_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(v, raising=False)
    return home


def test_no_credentials_gives_the_exact_steps(clean_home):
    with pytest.raises(E.EarthEngineUnavailable) as err:
        E.find_credentials()
    msg = str(err.value)
    for needle in ("earthengine authenticate", "earthengine set_project", "CREDENTIALS parameter",
                   E.SETTING_KEY_FILE, "GOOGLE_APPLICATION_CREDENTIALS"):
        assert needle in msg
    ok, why = E.readiness()
    assert ok is False and "earthengine authenticate" in why


def test_credential_order_and_project_resolution(clean_home, tmp_path):
    stored = clean_home / ".config" / "earthengine" / "credentials"
    stored.parent.mkdir(parents=True)
    stored.write_text(json.dumps({"refresh_token": "1//0gSECRETREFRESHTOKEN123", "project": "stored-project"}))
    src = E.find_credentials()
    assert (src.kind, src.origin, src.project) == ("user", "earthengine authenticate", "stored-project")
    assert E.readiness() == (True, "")
    key = _service_key(tmp_path / "key.json")
    env = {"GOOGLE_APPLICATION_CREDENTIALS": key}
    src_env = E.find_credentials(environ=env)
    assert src_env.kind == "service_account" and src_env.origin == "GOOGLE_APPLICATION_CREDENTIALS"
    param_key = _service_key(tmp_path / "param.json", project="param-sa")
    src_param = E.find_credentials(param_key, key, env)  # the parameter wins over setting and env
    assert src_param.origin == "CREDENTIALS parameter" and src_param.project == "param-sa"
    assert src_param.account.endswith("iam.gserviceaccount.com")
    # project: parameter > setting > EARTHENGINE_PROJECT > GOOGLE_CLOUD_PROJECT > credentials
    env2 = {"EARTHENGINE_PROJECT": "env-ee", "GOOGLE_CLOUD_PROJECT": "env-gc"}
    assert E.resolve_project("p-param", "p-setting", env2, src) == "p-param"
    assert E.resolve_project("", "p-setting", env2, src) == "p-setting"
    assert E.resolve_project("", "", env2, src) == "env-ee"
    assert E.resolve_project("", "", {"GOOGLE_CLOUD_PROJECT": "env-gc"}, src) == "env-gc"
    assert E.resolve_project("", "", {}, src) == "stored-project"
    with pytest.raises(E.EarthEngineUnavailable, match="earthengine set_project"):
        E.resolve_project("", "", {}, E.CredentialSource("user", "x", "y"))
    with pytest.raises(E.EarthEngineUnavailable, match="not a Google Cloud project"):
        E.resolve_project("bad project!", "", {}, src)


def test_bad_key_files_are_explained_without_their_content(clean_home, tmp_path):
    with pytest.raises(E.EarthEngineUnavailable, match="does not exist"):
        E.find_credentials(str(tmp_path / "missing.json"))
    notjson = tmp_path / "k.json"
    notjson.write_text("private_key=-----BEGIN PRIVATE KEY----- xyz")
    with pytest.raises(E.EarthEngineUnavailable) as err:
        E.find_credentials(str(notjson))
    assert "not a JSON file" in str(err.value) and "xyz" not in str(err.value)
    user_cred = tmp_path / "u.json"
    user_cred.write_text(json.dumps({"type": "authorized_user", "refresh_token": "1//0gABCDEFGHIJKLMNOP"}))
    with pytest.raises(E.EarthEngineUnavailable) as err:
        E.find_credentials(str(user_cred))
    assert "not a service-account key file" in str(err.value) and "1//0g" not in str(err.value)


def test_connect_with_unusable_key_fails_fast_and_leaks_nothing(clean_home, tmp_path):
    pytest.importorskip("ee")
    secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ-TOPSECRET"
    key = _service_key(tmp_path / "key.json", private_key=f"-----BEGIN PRIVATE KEY-----\n{secret}\n"
                                                            "-----END PRIVATE KEY-----\n")
    with pytest.raises(E.EarthEngineUnavailable) as err:
        E.connect(project="my-project", key_file=key)
    msg = str(err.value)
    assert "could not be loaded" in msg and "CREDENTIALS parameter" in msg
    assert secret not in msg and "abc123secretid" not in msg and "BEGIN PRIVATE KEY" not in msg


def _real_rsa_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_connect_initialises_with_key_and_project_never_interactively(clean_home, tmp_path, monkeypatch):
    ee = pytest.importorskip("ee")
    from ee import apitestcase

    case = apitestcase.ApiTestCase()
    case.setUp()  # offline: the harness serves the algorithm list
    try:
        monkeypatch.setattr(ee, "Authenticate", lambda *a, **k: pytest.fail("ee.Authenticate called"))
        key = _service_key(tmp_path / "sa.json", private_key=_real_rsa_pem(), project="sa-own-project")
        conn = E.connect(key_file=key, setting_project="from-setting")
        assert conn.project == "from-setting" and conn.source.kind == "service_account"
        assert ee.data.is_initialized() and ee._state.get_state().cloud_api_user_project == "from-setting"
        assert "glasar@glasar-sa-project.iam.gserviceaccount.com" in conn.describe()
        assert ee._state.get_state().max_retries == 5  # ee's own retry setting restored
        conn2 = E.connect(key_file=key)  # no PROJECT anywhere: the key's own project
        assert conn2.project == "sa-own-project"

        calls = []

        def denied(credentials=None, project=None, **kwargs):
            calls.append(project)
            raise ee.EEException("Caller does not have required permission to use project sa-own-project.")

        monkeypatch.setattr(ee, "Initialize", denied)
        with pytest.raises(E.EarthEngineError) as err:
            E.connect(key_file=key)
        assert err.value.status == 403 and "code.earthengine.google.com/register" in str(err.value)
        assert "BEGIN PRIVATE KEY" not in str(err.value) and calls == ["sa-own-project"]  # 403: no retry
    finally:
        case.tearDown()


def test_redact_removes_tokens_and_keys():
    text = ('refresh failed: {"access_token": "ya29.a0AfB_byC-secret", "refresh_token": "1//0gLONGREFRESH_token"} '
            "Authorization: Bearer ya29.other-token url https://x/y?key=AIzaSyD-abc&alt=json "
            "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY----- token=abcdef")
    out = E.redact(text)
    for secret in ("ya29.a0AfB_byC-secret", "1//0gLONGREFRESH_token", "ya29.other-token", "AIzaSyD-abc", "MIIEsecret",
                   "abcdef"):
        assert secret not in out
    assert "refresh failed" in out and "alt=json" in out


# ----------------------------------------------------------------------------------------------
# retries
# ----------------------------------------------------------------------------------------------
def _http_error(status, message="boom", retry_after=None):
    import httplib2
    from googleapiclient.errors import HttpError

    headers = {"status": status}
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    body = json.dumps({"error": {"code": status, "message": message}}).encode()
    return HttpError(httplib2.Response(headers), body, uri="https://earthengine.googleapis.com/v1/x")


def test_retries_back_off_on_429_and_5xx_then_succeed():
    pytest.importorskip("googleapiclient")
    errors = [_http_error(429, "Too many concurrent aggregations."), _http_error(503), _http_error(429)]
    sleeps, logs = [], []

    def fn():
        if errors:
            raise errors.pop(0)
        return "ok"

    assert E.call_with_retries(fn, "test", retries=5, base_delay=2.0, sleep=sleeps.append, log=logs.append,
                               rng=lambda: 0.5) == "ok"
    # delay_k = min(60, 2 * 2**k) * (0.5 + 0.5 * 0.5)
    assert sleeps == pytest.approx([1.5, 3.0, 6.0])
    assert "HTTP 429, retry 1 of 5" in logs[0] and "HTTP 503" in logs[1]


def test_retry_after_header_and_exhaustion():
    pytest.importorskip("googleapiclient")
    sleeps = []
    calls = []

    def always_busy():
        calls.append(1)
        raise _http_error(429, "Quota exceeded", retry_after=7)

    with pytest.raises(E.EarthEngineError) as err:
        E.call_with_retries(always_busy, "fetching", retries=2, sleep=sleeps.append)
    assert len(calls) == 3 and sleeps == [7.0, 7.0]
    assert err.value.status == 429 and "after 3 attempts" in str(err.value) and not err.value.fatal


def test_no_retry_on_403_and_message_says_what_to_do():
    pytest.importorskip("googleapiclient")
    calls = []

    def denied():
        calls.append(1)
        raise _http_error(403, "Caller does not have required permission to use project p1.")

    with pytest.raises(E.EarthEngineError) as err:
        E.call_with_retries(denied, "choosing scenes", sleep=lambda s: pytest.fail("slept on 403"),
                            access_hint=E._access_hint("p1", None))
    assert len(calls) == 1 and err.value.status == 403 and err.value.fatal
    assert "HTTP 403" in str(err.value) and "code.earthengine.google.com/register" in str(err.value)


def test_status_is_found_behind_ee_exceptions():
    pytest.importorskip("googleapiclient")
    ee = pytest.importorskip("ee")
    with pytest.raises(ee.EEException) as info:
        try:
            raise _http_error(504, "Deadline exceeded")
        except Exception as e:  # noqa: BLE001 - as ee.data._execute_cloud_call: implicit __context__
            raise ee.EEException(str(e))  # noqa: B904
    assert E.http_status(info.value) == 504
    assert E.http_status(RuntimeError("Too many concurrent aggregations.")) == 429
    assert E.http_status(RuntimeError("something else")) is None


def test_cancel_during_backoff():
    pytest.importorskip("googleapiclient")
    state = {"n": 0}

    def fn():
        state["n"] += 1
        raise _http_error(500)

    with pytest.raises(E.Canceled):
        E.call_with_retries(fn, "x", base_delay=30.0, is_canceled=lambda: state["n"] >= 1)
    assert state["n"] == 1


# ----------------------------------------------------------------------------------------------
# windows and dates
# ----------------------------------------------------------------------------------------------
def _utm_rect_lake(xmin, ymin, xmax, ymax, epsg=UTM45):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ring = ogr.Geometry(ogr.wkbLinearRing)
    n = 20
    for i in range(n):
        ring.AddPoint_2D(xmin + (xmax - xmin) * i / n, ymin)
    for i in range(n):
        ring.AddPoint_2D(xmax, ymin + (ymax - ymin) * i / n)
    for i in range(n):
        ring.AddPoint_2D(xmax - (xmax - xmin) * i / n, ymax)
    for i in range(n):
        ring.AddPoint_2D(xmin, ymax - (ymax - ymin) * i / n)
    ring.CloseRings()
    g = ogr.Geometry(ogr.wkbPolygon)
    g.AddGeometry(ring)
    g.Transform(osr.CoordinateTransformation(s, E.lg.WGS84))
    return g


def test_lake_window_is_the_original_aoi_rule_on_a_10m_grid():
    # 1000 m x 500 m lake: A = 0.5 km2, margin = 1200 * log5(1.5) + 100 = 1200 * 0.251930 + 100 = 402.316 m
    g = _utm_rect_lake(448003.0, 3081007.0, 449003.0, 3081507.0)
    w = E.lake_window("L1", g)
    margin = 1200 * math.log(1.5, 5) + 100
    assert margin == pytest.approx(402.316, abs=0.001)
    assert w.epsg == UTM45 and w.area_km2 == pytest.approx(0.5, rel=1e-3)
    exp = (math.floor((448003 - margin) / 10) * 10, math.floor((3081007 - margin) / 10) * 10,
           math.ceil((449003 + margin) / 10) * 10, math.ceil((3081507 + margin) / 10) * 10)
    assert w.bounds == pytest.approx(exp, abs=1e-6)
    assert exp == (447600, 3080600, 449410, 3081910)
    m = E.FETCH_MARGIN_PX * 10
    assert w.grid.bounds == pytest.approx((exp[0] - m, exp[1] - m, exp[2] + m, exp[3] + m))
    assert (w.grid.cols, w.grid.rows) == (181 + 32, 131 + 32)
    d = E.regrid(w, 30.0)
    assert d.grid.res == 30 and d.grid.bounds[0] <= w.grid.bounds[0] - 30 and d.grid.bounds[2] >= w.grid.bounds[2] + 30
    assert d.grid.x0 % 30 == 0 and d.grid.y0 % 30 == 0


def test_extent_window_and_ids():
    w = E.extent_window("extent", 86.45, 27.84, 86.50, 27.88)
    assert w.epsg == UTM45
    xmin, ymin, xmax, ymax = w.bounds
    assert 4.9e3 < xmax - xmin < 5.0e3 and 4.4e3 < ymax - ymin < 4.5e3
    assert E.unique_file_ids(["GL1", "GL 1", "GL1", "", "a/b"]) == ["GL1", "GL_1", "GL1_2", "lake", "a_b"]
    with pytest.raises(GlasarError):
        E.extent_window("x", 500000, 3000000, 510000, 3010000)


def test_dates_middle_rule_and_orbits():
    s, e, m = E.date_range("2019-06-01", "2019-08-30")
    assert (s, e, m) == (dt.date(2019, 6, 1), dt.date(2019, 8, 31), dt.date(2019, 7, 16))  # start + int(90 / 2)
    assert E.date_range("2022-07-01", "2022-07-01")[2] == dt.date(2022, 7, 1)
    with pytest.raises(GlasarError, match="before START"):
        E.date_range("2022-07-02", "2022-07-01")
    with pytest.raises(GlasarError, match="April 2014"):
        E.date_range("2013-01-01", "2013-02-01")
    assert E.parse_relative_orbits(" 121, 12;12 ") == (12, 121)
    with pytest.raises(GlasarError):
        E.parse_relative_orbits("176")


# ----------------------------------------------------------------------------------------------
# heading from the footprint
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("heading,orbit_pass", [(348.0, "ASCENDING"), (192.0, "DESCENDING")])
@pytest.mark.parametrize("along", [170e3, 400e3])  # slice shorter and longer than the 250 km swath
def test_local_heading_of_hand_made_parallelograms(heading, orbit_pass, along):
    ring = parallelogram(86.48, 27.86, heading, along=along, across=250e3, skew=6.0)
    local, lon0, lat0 = E.local_heading_from_footprint(ring, orbit_pass)
    assert abs(angle_diff(local, heading)) < 0.1
    assert lon0 == pytest.approx(86.48, abs=0.02) and lat0 == pytest.approx(27.86, abs=0.02)
    # Taking the long edges would be off by ~90 deg for the standard 170 x 250 km slice.
    polygon = {"type": "Polygon", "coordinates": [ring]}
    assert E.local_heading_from_footprint(polygon["coordinates"], orbit_pass)[0] == pytest.approx(local)


@pytest.mark.parametrize("lat", [0.5, 27.9, 50.0, 70.0, 78.0])
@pytest.mark.parametrize("orbit_pass", ["ASCENDING", "DESCENDING"])
def test_platform_heading_from_simulated_orbit_footprints(lat, orbit_pass):
    hp = s1.heading_from_pass_latitude(orbit_pass, lat)
    ring = orbit_footprint(86.5, lat, hp)
    platform, local = E.heading_from_footprint(ring, orbit_pass)
    assert abs(angle_diff(platform, hp)) < 0.15
    if lat == 27.9:  # Tsho Rolpa: ~348 / ~192, and the meridian convergence to mid swath is ~2 deg
        assert abs(angle_diff(platform, 347.35 if orbit_pass == "ASCENDING" else 192.65)) < 0.2
        assert 1.5 < abs(angle_diff(local, platform)) < 3.0


def test_heading_errors():
    with pytest.raises(GlasarError):
        E.local_heading_from_footprint([[0, 0], [1, 1], [0, 0]], "ASCENDING")
    with pytest.raises(GlasarError):
        E.local_heading_from_footprint(None, "ASCENDING")
    # A footprint whose edges are all ~45 deg off the track is refused, not guessed.
    square = [[86, 27], [86.5, 27.5], [86, 28], [85.5, 27.5], [86, 27]]
    with pytest.raises(GlasarError, match="no edge along"):
        E.local_heading_from_footprint(square, "ASCENDING")


# ----------------------------------------------------------------------------------------------
# golden graphs (ee.apitestcase harness, offline)
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def ee_api():
    ee = pytest.importorskip("ee")
    from ee import apitestcase

    case = apitestcase.ApiTestCase()
    case.setUp()
    # the harness fakes computeValue; let it go through the (mocked) HTTP layer like computePixels
    ee.data.computeValue = case.old_compute_value
    yield ee
    case.tearDown()


def golden_window():
    core = (446460.0, 3079330.0, 451150.0, 3084270.0)
    m = E.FETCH_MARGIN_PX * 10.0
    grid = Grid(E._srs_wkt(UTM45), core[0] - m, core[3] + m, 10.0, int((core[3] - core[1]) / 10 + 32),
                int((core[2] - core[0]) / 10 + 32))
    return E.Window("GL086863E28114N", "GL086863E28114N", UTM45, core, grid, 1.6)


def encode(ee, obj):
    return ee.serializer.encode(obj, for_cloud_api=True)


def check_golden(name, encoded):
    path = GOLDEN / f"{name}.json"
    text = json.dumps(encoded, indent=1, sort_keys=True) + "\n"
    if os.environ.get("GLASAR_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"golden file {path} missing (GLASAR_UPDATE_GOLDEN=1 writes it)"
    assert json.loads(path.read_text()) == json.loads(text), f"graph {name} differs from {path}"


def resolve(encoded):
    """Nested tree of a serialised graph: invocations become {'fn': name, 'args': {...}}. Shared
    nodes (value references) resolve to the same object, so :func:`calls` counts each node once."""
    values = encoded["values"]
    cache = {}

    def ref(key):
        if key not in cache:
            cache[key] = r(values[key])
        return cache[key]

    def r(node):
        if isinstance(node, dict):
            if "valueReference" in node:
                return ref(node["valueReference"])
            if "constantValue" in node:
                return node["constantValue"]
            if "functionInvocationValue" in node:
                f = node["functionInvocationValue"]
                name = f.get("functionName") or "<call>"
                return {"fn": name, "args": {k: r(v) for k, v in f.get("arguments", {}).items()}}
            if "arrayValue" in node:
                return [r(v) for v in node["arrayValue"].get("values", [])]
            if "dictionaryValue" in node:
                return {k: r(v) for k, v in node["dictionaryValue"].get("values", {}).items()}
            if "functionDefinitionValue" in node:
                f = node["functionDefinitionValue"]
                return {"fn": "<lambda>", "args": {"body": ref(f["body"])}}
            if "argumentReference" in node:
                return {"arg": node["argumentReference"]}
        return node

    return ref(encoded["result"])


def calls(tree, name):
    """Distinct invocations of function ``name`` in a resolved graph."""
    out, seen = [], set()

    def walk(n):
        if isinstance(n, (dict, list)):
            if id(n) in seen:
                return
            seen.add(id(n))
        if isinstance(n, dict):
            if n.get("fn") == name:
                out.append(n)
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(tree)
    return out


def _filters(tree, fn, **match):
    return [c for c in calls(tree, fn) if all(c["args"].get(k) == v for k, v in match.items())]


def test_selection_graph_golden_and_rules(ee_api):
    ee = ee_api
    w = golden_window()
    q = E.S1Query.make("2019-06-01", "2019-08-30")
    enc = encode(ee, E.selection_graph(ee, w, q))
    check_golden("selection_plain", enc)
    tree = resolve(enc)
    # collection and filters
    assert [c["args"]["id"] for c in calls(tree, "ImageCollection.load")] == ["COPERNICUS/S1_GRD"]  # shared by passes
    assert _filters(tree, "Filter.equals", leftField="instrumentMode", rightValue="IW")
    assert _filters(tree, "Filter.listContains", leftField="transmitterReceiverPolarisation", rightValue="VV")
    assert _filters(tree, "Filter.listContains", leftField="transmitterReceiverPolarisation", rightValue="VH")
    dr = calls(tree, "DateRange")
    assert {(d["args"]["start"], d["args"]["end"]) for d in dr} == {("2019-06-01", "2019-08-31")}
    rect = calls(tree, "GeometryConstructors.Rectangle")[0]["args"]
    assert rect["coordinates"] == [446460.0, 3079330.0, 451150.0, 3084270.0]
    # the window in its own UTM grid, planar edges (not a geodesic rectangle in degrees)
    assert rect["crs"] == {"fn": "Projection", "args": {"crs": "EPSG:32645"}} and rect["geodesic"] is False
    for p in E.PASSES:
        assert _filters(tree, "Filter.equals", leftField="orbitProperties_pass", rightValue=p)
    # middle-date rule: |t - 2019-07-16| in days, sorted ascending among numNodata == 0 scenes
    middle_ms = 1563235200000
    assert dt.datetime.fromtimestamp(middle_ms / 1000, dt.timezone.utc).date() == dt.date(2019, 7, 16)
    assert any(d["args"].get("value") == middle_ms for d in calls(tree, "Date"))
    diffs = calls(tree, "Date.difference")
    assert diffs and all(d["args"]["unit"] == "day" for d in diffs)
    assert calls(tree, "Number.abs")
    limits = calls(tree, "Collection.limit")
    closest_full = [lim for lim in limits if lim["args"].get("key") == "time_difference"
                    and _filters(lim["args"]["collection"], "Filter.equals", leftField="numNodata", rightValue=0)]
    assert len(closest_full) >= 2  # one per pass
    # nodata count: exact window grid, no bestEffort
    rr = [c for c in calls(tree, "Image.reduceRegion") if calls(c["args"]["reducer"], "Reducer.sum")]
    assert rr and all(c["args"]["crsTransform"] == [10.0, 0, 446460.0, 0, -10.0, 3084270.0] for c in rr)
    assert all("bestEffort" not in c["args"] for c in rr)
    # median fallback (synthesis) behind an If on the number of full-cover scenes
    assert len(calls(tree, "reduce.median")) == 2
    ifs = calls(tree, "If")
    assert any(calls(i["args"]["condition"], "Number.gt") and calls(i["args"].get("falseCase", {}), "reduce.median")
               for i in ifs)


def test_selection_graph_with_filters_golden(ee_api):
    ee = ee_api
    w = golden_window()
    q = E.S1Query.make("2019-06-01", "2019-08-30", "12,121", 38.0)
    enc = encode(ee, E.selection_graph(ee, w, q))
    check_golden("selection_orbits_angle", enc)
    tree = resolve(enc)
    orb = [c for c in calls(tree, "Filter.listContains") if c["args"].get("rightField") == "relativeOrbitNumber_start"]
    assert orb and orb[0]["args"]["leftValue"] == [12, 121]
    # minAngle >= 38: not(minAngle < 38), with the fallback to all scenes of the pass when none passes
    nots = calls(tree, "Filter.not")
    assert any(_filters(n, "Filter.lessThan", leftField="minAngle", rightValue=38.0) for n in nots)
    assert any(c["args"]["reducer"] == {"fn": "Reducer.min", "args": {}} for c in calls(tree, "Image.reduceRegion"))
    assert len([i for i in calls(tree, "If") if calls(i["args"]["condition"], "Number.eq")]) >= 2


def test_fetch_images_and_dem_golden(ee_api):
    ee = ee_api
    w = golden_window()
    q = E.S1Query.make("2019-06-01", "2019-08-30")
    enc = encode(ee, E.chosen_image(ee, E.selections(ee, w, q)["DESCENDING"]))
    check_golden("chosen_image_descending", enc)
    scene = encode(ee, E.s1_fetch_image(ee, w, q, "ASCENDING", {"synthesis": 0, "source": "S1A_X"}))
    check_golden("fetch_scene", scene)
    tree = resolve(scene)
    assert calls(tree, "Image.load")[0]["args"]["id"] == "COPERNICUS/S1_GRD/S1A_X"
    un = calls(tree, "Image.unmask")[0]["args"]
    assert un["value"] == {"fn": "Image.constant", "args": {"value": E.NODATA}} and un["sameFootprint"] is False
    assert calls(tree, "Image.select")[0]["args"]["bandSelectors"] == ["VV", "VH", "angle"]
    synth = resolve(encode(ee, E.s1_fetch_image(ee, w, q, "ASCENDING", {"synthesis": 1})))
    assert calls(synth, "reduce.median") and not calls(synth, "Image.load")
    for key, d in E.DEM_DATASETS.items():
        enc = encode(ee, E.dem_image(ee, key, E.regrid(w, 30.0)))
        check_golden(f"dem_{key}", enc)
        tree = resolve(enc)
        loads = calls(tree, "ImageCollection.load" if d.is_collection else "Image.load")
        assert loads[0]["args"]["id"] == d.asset
        assert any(c["args"].get("mode") == "bilinear" for c in calls(tree, "Image.resample"))
    with pytest.raises(GlasarError):
        E.dem_image(ee, "gtopo30")


# ----------------------------------------------------------------------------------------------
# mocked HTTP layer: computePixels returns real GeoTIFFs
# ----------------------------------------------------------------------------------------------
def analytic_pixels(x, y, n_bands):
    """Values at pixel centres (UTM metres): VV, VH in dB and angle; masked (NODATA) west of x=446600."""
    vv = -15.0 + 1e-4 * (x - 446000.0) - 2e-4 * (y - 3080000.0)
    out = [vv, vv - 6.0, 35.0 + 1e-5 * (x - 446000.0)] if n_bands == 3 else [4500.0 + 0.01 * (x - 446000.0) + 0 * y]
    out = np.array(out, dtype=np.float32)
    out[:, x < 446600.0] = E.NODATA
    return out


def render_geotiff(grid_req, n_bands, pixels):
    dims, at = grid_req["dimensions"], grid_req["affineTransform"]
    cols, rows = dims["width"], dims["height"]
    x = at["translateX"] + (np.arange(cols) + 0.5) * at["scaleX"]
    y = at["translateY"] + (np.arange(rows) + 0.5) * at["scaleY"]
    xx, yy = np.meshgrid(x, y)
    arr = pixels(xx, yy, n_bands)
    name = f"/vsimem/fake_ee_{threading.get_ident()}_{id(arr)}.tif"
    ds = gdal.GetDriverByName("GTiff").Create(name, cols, rows, n_bands, gdal.GDT_Float32)
    ds.SetGeoTransform((at["translateX"], at["scaleX"], 0, at["translateY"], 0, at["scaleY"]))
    s = osr.SpatialReference()
    s.ImportFromEPSG(int(grid_req["crsCode"].split(":")[1]))
    ds.SetProjection(s.ExportToWkt())
    for i in range(n_bands):
        ds.GetRasterBand(i + 1).WriteArray(arr[i])
    ds = None
    f = gdal.VSIFOpenL(name, "rb")
    gdal.VSIFSeekL(f, 0, 2)
    size = gdal.VSIFTellL(f)
    gdal.VSIFSeekL(f, 0, 0)
    data = gdal.VSIFReadL(1, size, f)
    gdal.VSIFCloseL(f)
    gdal.Unlink(name)
    return data


class FakeEarthEngine:
    """httplib2-style transport for ee's Cloud API. ``selection`` answers value:compute (a dict or a
    function of the request body); computePixels renders ``pixels`` on the requested grid.
    ``pixel_errors``/``value_errors`` are (status, message) answered first, in order."""

    def __init__(self, selection, pixels=analytic_pixels, pixel_errors=(), value_errors=()):
        self.selection = selection
        self.pixels = pixels
        self.pixel_errors = list(pixel_errors)
        self.value_errors = list(value_errors)
        self.lock = threading.Lock()
        self.log = []  # (kind, status, body)

    def _error(self, status, message):
        import httplib2

        body = json.dumps({"error": {"code": status, "message": message, "status": "X"}}).encode()
        return httplib2.Response({"status": status, "content-type": "application/json"}), body

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        import httplib2

        body_s = body.decode() if isinstance(body, bytes) else (body or "")
        if ":computePixels" in uri:
            with self.lock:
                err = self.pixel_errors.pop(0) if self.pixel_errors else None
                self.log.append(("pixels", err[0] if err else 200, body_s))
            if err:
                return self._error(*err)
            req = json.loads(body_s)
            n_bands = 1 if '"elevation"' in body_s else 3
            data = render_geotiff(req["grid"], n_bands, self.pixels)
            return httplib2.Response({"status": 200, "content-type": "image/tiff"}), data
        if "value:compute" in uri:
            with self.lock:
                err = self.value_errors.pop(0) if self.value_errors else None
                self.log.append(("value", err[0] if err else 200, body_s))
            if err:
                return self._error(*err)
            sel = self.selection(body_s) if callable(self.selection) else self.selection
            return httplib2.Response({"status": 200, "content-type": "application/json"}), json.dumps(
                {"result": sel}).encode()
        return self._error(404, f"unexpected request {uri}")

    def count(self, kind, status=None):
        return sum(1 for k, s, _ in self.log if k == kind and (status is None or s == status))


def scene_info(pass_, source, time_iso, footprint, nodata=0, orbit=121, n=5, n_full=2):
    t = int(dt.datetime.fromisoformat(time_iso.replace("Z", "+00:00")).timestamp() * 1000)
    return {"n_images": n, "n_full_cover": n_full, "angle_filter_relaxed": 0, "synthesis": 0, "source": source,
            "time_start": t, "time_difference": 1.5, "nodata_count": nodata, "relative_orbit": orbit,
            "platform": "A", "footprint": [footprint]}


def tsho_footprints():
    hp_a = s1.heading_from_pass_latitude("ASCENDING", 27.86)
    hp_d = s1.heading_from_pass_latitude("DESCENDING", 27.86)
    # nadir ~440 km west of the lake for ascending (looking east), east for descending
    lon_a, lat_a, _ = travel(86.48, 27.86, hp_a - 90, 440e3)
    lon_d, lat_d, _ = travel(86.48, 27.86, hp_d - 90, 440e3)
    return (orbit_footprint(lon_a, lat_a, hp_a), orbit_footprint(lon_d, lat_d, hp_d), hp_a, hp_d)


ASC_ID = "S1A_IW_GRDH_1SDV_20190714T121357_20190714T121422_028120_032D22_0A1B"
DSC_ID = "S1B_IW_GRDH_1SDV_20190717T001130_20190717T001155_017176_0204E1_9C2D"


def default_selection():
    fa, fd, _, _ = tsho_footprints()
    return {"ASCENDING": scene_info("ASCENDING", ASC_ID, "2019-07-14T12:13:57Z", fa, orbit=12),
            "DESCENDING": scene_info("DESCENDING", DSC_ID, "2019-07-17T00:11:30Z", fd, orbit=121)}


def conn_for(ee):
    return E.Connection(ee, "my-project", E.CredentialSource("user", "/nonexistent", "test"))


def small_window(lake_id="GL1"):
    core = Grid(E._srs_wkt(UTM45), 446500.0, 3081000.0, 10.0, 40, 30)  # 300 m x 400 m window
    grid = Grid(core.srs_wkt, core.x0 - 160, core.y0 + 160, 10.0, 72, 62)
    return E.Window(lake_id, E.safe_id(lake_id), UTM45, core.bounds, grid, 0.01)


def run_fetch(ee, server, windows, out, **kw):
    from ee import apitestcase

    kw.setdefault("sleep", lambda s: None)
    q = kw.pop("query", E.S1Query.make("2019-06-01", "2019-08-30"))
    with apitestcase.UsingCloudApi(mock_http=server):
        return E.fetch_sentinel1(conn_for(ee), windows, q, str(out), **kw)


def test_fetch_writes_scenes_readable_by_sar_io(ee_api, tmp_path):
    ee = ee_api
    server = FakeEarthEngine(default_selection())
    logs = []
    progress = []
    res = run_fetch(ee, server, [small_window()], tmp_path / "out", log=logs.append, progress=progress.append)
    out = tmp_path / "out"
    names = sorted(p.name for p in out.iterdir())
    assert names == ["S1_ASC_20190714T121357_GL1.tif", "S1_DSC_20190717T001130_GL1.tif", E.S1_MANIFEST]
    assert server.count("value") == 1 and server.count("pixels") == 2 and progress == [1.0]
    _, _, hp_a, hp_d = tsho_footprints()
    for name, pass_, src, hp in (("S1_ASC_20190714T121357_GL1.tif", "ASCENDING", ASC_ID, hp_a),
                                 ("S1_DSC_20190717T001130_GL1.tif", "DESCENDING", DSC_ID, hp_d)):
        ds = gdal.Open(str(out / name))
        assert [ds.GetRasterBand(i).GetDescription() for i in (1, 2, 3)] == ["VV", "VH", "angle"]
        assert ds.GetGeoTransform() == (446340.0, 10.0, 0.0, 3081160.0, 0.0, -10.0)
        assert (ds.RasterXSize, ds.RasterYSize) == (62, 72)
        md = ds.GetMetadata()
        assert md["PASS"] == pass_ and md["SOURCE"] == src and md["SYNTHESIS"] == "0" and md["NODATA_COUNT"] == "0"
        assert abs(angle_diff(float(md["HEADING"]), hp)) < 0.15  # platform heading from the footprint
        assert abs(angle_diff(float(md["HEADING"]), 347.3 if pass_ == "ASCENDING" else 192.7)) < 0.3
        assert md["RELATIVE_ORBIT"] == ("12" if pass_ == "ASCENDING" else "121") and md["MIDDLE_DATE"] == "2019-07-16"
        arr = ds.ReadAsArray()
        x = 446340.0 + (np.arange(62) + 0.5) * 10
        y = 3081160.0 - (np.arange(72) + 0.5) * 10
        xx, yy = np.meshgrid(x, y)
        expected = analytic_pixels(xx, yy, 3).astype(np.float64)
        expected[expected == E.NODATA] = np.nan
        np.testing.assert_allclose(arr, expected, rtol=1e-6, atol=1e-5, equal_nan=True)
        assert np.isnan(arr[:, :, :26]).all() and np.isfinite(arr[:, :, 26:]).all()  # x < 446600 masked
        ds = None
        scene = open_scene(str(out / name))
        assert scene.bands == {"VV": 1, "VH": 2, "angle": 3} and scene.orbit_pass == pass_
        assert scene.acquisition_time.startswith("2019-07-1") and scene.heading == pytest.approx(float(md["HEADING"]))
    manifest = (out / E.S1_MANIFEST).read_text().splitlines()
    assert manifest[0].split(",")[:4] == ["lake_id", "file_id", "pass", "status"]
    assert len(manifest) == 3 and all(",ok," in line for line in manifest[1:])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # staging removed
    assert res.files and all(os.path.exists(f) for f in res.files)
    # what was asked from computePixels: the chosen asset, our grid, GeoTIFF
    body = json.loads([b for k, _, b in server.log if k == "pixels"][0])
    assert body["fileFormat"] == "GEO_TIFF" and body["grid"]["crsCode"] == "EPSG:32645"
    assert body["grid"]["affineTransform"]["translateX"] == 446340.0
    assert any(ASC_ID in json.dumps(b) or DSC_ID in json.dumps(b) for b in [body])


def test_retry_on_429_then_success(ee_api, tmp_path):
    server = FakeEarthEngine(default_selection(), pixel_errors=[(429, "Too many concurrent aggregations.")],
                             value_errors=[(503, "The service is currently unavailable.")])
    sleeps, logs = [], []
    run_fetch(ee_api, server, [small_window()], tmp_path, sleep=sleeps.append, log=logs.append, max_parallel=1)
    assert server.count("pixels", 429) == 1 and server.count("pixels", 200) == 2
    assert server.count("value", 503) == 1 and server.count("value", 200) == 1
    assert len(sleeps) == 2 and all(0.99 <= s <= 2.0 for s in sleeps)  # first backoff: 2 s x [0.5, 1)
    assert any("HTTP 429, retry 1 of 5" in m for m in logs) and any("HTTP 503" in m for m in logs)
    assert len(list(tmp_path.glob("S1_*.tif"))) == 2


def test_403_stops_the_run_and_writes_nothing(ee_api, tmp_path):
    server = FakeEarthEngine(default_selection(), pixel_errors=[(403, "Permission denied on project my-project.")])
    out = tmp_path / "out"
    with pytest.raises(E.EarthEngineError) as err:
        run_fetch(ee_api, server, [small_window("A"), small_window("B")], out, max_parallel=1)
    msg = str(err.value)
    assert err.value.status == 403 and "HTTP 403" in msg and "'my-project'" in msg and "register" in msg
    assert server.count("pixels", 403) == 1
    assert list(out.iterdir()) == []  # no file, no manifest, no staging folder


def test_server_errors_exhausted_become_a_lake_status(ee_api, tmp_path):
    server = FakeEarthEngine(default_selection(), pixel_errors=[(500, "Internal error")] * 3)
    res = run_fetch(ee_api, server, [small_window()], tmp_path, retries=2, max_parallel=1)
    rows = {r["pass"]: r for r in res.rows}
    assert rows["ASCENDING"]["status"].startswith("failed: Earth Engine server error (HTTP 500)")
    assert "after 3 attempts" in rows["ASCENDING"]["status"]
    assert rows["DESCENDING"]["status"] == "ok"
    assert [p.name for p in tmp_path.glob("S1_*.tif")] == ["S1_DSC_20190717T001130_GL1.tif"]


def test_no_scene_and_synthesis_statuses(ee_api, tmp_path):
    fa, _, _, _ = tsho_footprints()
    times = ["2019-06-05T12:13:57Z", "2019-07-11T12:13:57Z", "2019-08-04T12:13:57Z"]
    ms = [int(dt.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000) for t in times]
    selection = {
        "ASCENDING": {"n_images": 3, "n_full_cover": 0, "angle_filter_relaxed": 0, "synthesis": 1,
                      "sources": ["S1A_1", "S1A_2", "S1A_3"], "times": ms, "nodata_count": 412,
                      "relative_orbits": [121, 12], "footprint": [fa], "footprint_source": "S1A_2"},
        "DESCENDING": {"n_images": 0, "n_full_cover": 0, "angle_filter_relaxed": 0},
    }
    server = FakeEarthEngine(selection)
    res = run_fetch(ee_api, server, [small_window()], tmp_path, query=E.S1Query.make("2019-06-01", "2019-08-30",
                                                                                     "12,121"))
    rows = {r["pass"]: r for r in res.rows}
    assert rows["DESCENDING"]["status"] == ("no scene: no descending IW VV+VH scene over the window from 2019-06-01 "
                                            "to 2019-08-30, relative orbits 12,121")
    assert rows["ASCENDING"]["status"].startswith("ok: synthesis, median of 3 scenes")
    (f,) = tmp_path.glob("S1_*.tif")
    assert f.name == "S1_ASC_20190711T121357_median_GL1.tif"  # median of the three times
    md = gdal.Open(str(f)).GetMetadata()
    assert md["SYNTHESIS"] == "1" and md["SOURCE"] == "S1A_1;S1A_2;S1A_3" and md["NODATA_COUNT"] == "412"
    assert md["RELATIVE_ORBIT"] == "12;121" and md["HEADING_SOURCE"] == "footprint of S1A_2"
    body = [b for k, _, b in server.log if k == "pixels"][0]
    tree = resolve(json.loads(body)["expression"])
    assert calls(tree, "reduce.median") and calls(tree, "ImageCollection.load")  # the pass median, rebuilt
    assert server.count("pixels") == 1


def test_large_windows_are_fetched_in_strips(ee_api, tmp_path, monkeypatch):
    monkeypatch.setattr(E, "MAX_REQUEST_BYTES", 62 * 3 * 4 * 10)  # 10 rows per request
    server = FakeEarthEngine(default_selection())
    run_fetch(ee_api, server, [small_window()], tmp_path)
    assert server.count("pixels") == 2 * 8  # 72 rows -> 8 strips per pass
    arr = gdal.Open(str(tmp_path / "S1_ASC_20190714T121357_GL1.tif")).ReadAsArray()
    x = 446340.0 + (np.arange(62) + 0.5) * 10
    y = 3081160.0 - (np.arange(72) + 0.5) * 10
    expected = analytic_pixels(*np.meshgrid(x, y), 3).astype(np.float64)
    expected[expected == E.NODATA] = np.nan
    np.testing.assert_allclose(arr, expected, rtol=1e-6, atol=1e-5, equal_nan=True)


def test_cancel_leaves_no_output(ee_api, tmp_path):
    server = FakeEarthEngine(default_selection())
    out = tmp_path / "out"
    state = {"n": 0}

    def is_canceled():
        state["n"] += 1
        return state["n"] > 3

    with pytest.raises(E.Canceled):
        run_fetch(ee_api, server, [small_window(f"L{i}") for i in range(6)], out, max_parallel=2,
                  is_canceled=is_canceled)
    assert list(out.iterdir()) == []


def test_parallel_lakes_are_bounded_and_in_inventory_order(ee_api, tmp_path):
    active, peak = [0], [0]
    lock = threading.Lock()

    def slow_pixels(x, y, n):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        import time

        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return analytic_pixels(x, y, n)

    server = FakeEarthEngine(default_selection(), pixels=slow_pixels)
    ws = [small_window(f"L{i}") for i in range(6)]
    res = run_fetch(ee_api, server, ws, tmp_path, max_parallel=2)
    assert 1 <= peak[0] <= 2
    assert [r["lake_id"] for r in res.rows] == [f"L{i}" for i in range(6) for _ in range(2)]
    assert len(list(tmp_path.glob("S1_*.tif"))) == 12


def test_dem_fetch(ee_api, tmp_path):
    from ee import apitestcase

    server = FakeEarthEngine({})
    w = E.regrid(small_window(), 30.0)
    with apitestcase.UsingCloudApi(mock_http=server):
        res = E.fetch_dem(conn_for(ee_api), [w], "copernicus_glo30", str(tmp_path), sleep=lambda s: None)
    (row,) = res.rows
    path = tmp_path / "DEM_copernicus_glo30_GL1.tif"
    assert row["file"] == path.name and row["status"].startswith("ok: ")
    ds = gdal.Open(str(path))
    assert ds.GetRasterBand(1).GetDescription() == "elevation" and ds.GetRasterBand(1).GetUnitType() == "m"
    md = ds.GetMetadata()
    assert md["ASSET"] == "COPERNICUS/DEM/GLO30" and md["VERTICAL_DATUM"] == "EGM2008"
    a = ds.ReadAsArray()
    gt = ds.GetGeoTransform()
    x = gt[0] + (np.arange(ds.RasterXSize) + 0.5) * 30
    expected = 4500.0 + 0.01 * (x - 446000.0)
    valid = x >= 446600.0
    np.testing.assert_allclose(a[:, valid], np.broadcast_to(expected[valid], a[:, valid].shape), rtol=1e-6)
    assert np.isnan(a[:, ~valid]).all() and int(md["NODATA_COUNT"]) == int((~valid).sum()) * ds.RasterYSize
    body = [b for k, _, b in server.log if k == "pixels"][0]
    assert "COPERNICUS/DEM/GLO30" in body and '"bilinear"' in body
    # a window the dataset does not cover: status, no file
    server2 = FakeEarthEngine({}, pixels=lambda x, y, n: np.full((n,) + x.shape, E.NODATA, np.float32))
    with apitestcase.UsingCloudApi(mock_http=server2):
        res2 = E.fetch_dem(conn_for(ee_api), [w], "srtm", str(tmp_path / "b"), sleep=lambda s: None)
    assert res2.rows[0]["status"] == "no data: SRTM GL1 v3 does not cover this window"
    assert [p.name for p in (tmp_path / "b").iterdir()] == [E.DEM_MANIFEST]


def test_logs_never_carry_credentials(ee_api, tmp_path):
    token = "ya29.a0AfB_SECRETACCESS"
    server = FakeEarthEngine(default_selection(), pixel_errors=[(429, f"quota; Authorization: Bearer {token}")])
    logs = []
    run_fetch(ee_api, server, [small_window()], tmp_path, log=logs.append, max_parallel=1)
    assert logs and not any(token in m for m in logs)
    server2 = FakeEarthEngine(default_selection(), pixel_errors=[(401, f"Request had invalid authentication "
                                                                       f"credentials. access_token={token}")])
    with pytest.raises(E.EarthEngineError) as err:
        run_fetch(ee_api, server2, [small_window()], tmp_path / "x", max_parallel=1)
    assert err.value.status == 401 and token not in str(err.value) and "earthengine authenticate" in str(err.value)


def test_decode_rejects_wrong_grids():
    grid = Grid(E._srs_wkt(UTM45), 446500.0, 3081000.0, 10.0, 4, 3)
    data = render_geotiff(E.pixel_grid(grid, UTM45), 3, analytic_pixels)
    arr = E.decode_geotiff(data, grid, 3)
    assert arr.shape == (3, 4, 3)
    with pytest.raises(GlasarError, match="expected 3 of 4x4"):
        E.decode_geotiff(data, Grid(grid.srs_wkt, 446500.0, 3081000.0, 10.0, 4, 4), 3)
    with pytest.raises(GlasarError, match="different from the requested"):
        E.decode_geotiff(data, Grid(grid.srs_wkt, 446510.0, 3081000.0, 10.0, 4, 3), 3)
    with pytest.raises(GlasarError, match="not a GeoTIFF"):
        E.decode_geotiff(b"<html>quota</html>", grid, 3)


# ----------------------------------------------------------------------------------------------
# packaging: scripts/vendor_ee.py keeps only pure Python
# ----------------------------------------------------------------------------------------------
def _vendor_module():
    spec = importlib.util.spec_from_file_location("vendor_ee", REPO / "scripts" / "vendor_ee.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_vendor_prune_keeps_pure_python(tmp_path):
    v = _vendor_module()
    root = tmp_path / "extlibs"
    files = {
        "ee/__init__.py": "x", "ee/tests/algorithms.json": "{}", "charset_normalizer/md.py": "x",
        "charset_normalizer/md.cpython-311-x86_64-linux-gnu.so": "bin", "google/_upb/_message.abi3.so": "bin",
        "google/protobuf/__init__.py": "x", "cryptography/__init__.py": "x", "cryptography/x.abi3.so": "bin",
        "cffi/__init__.py": "x", "_cffi_backend.cpython-311-x86_64-linux-gnu.so": "bin",
        "googleapiclient/discovery_cache/documents/drive.v3.json": "{}", "googleapiclient/discovery.py": "x",
        "bin/earthengine": "#!", "google_crc32c.libs/libcrc32c.so.1": "bin", "x/__pycache__/a.pyc": "b",
        "ee/foo.pyd": "bin", "y/z.dylib": "bin",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    v.prune(str(root))
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert left == ["charset_normalizer/md.py", "ee/__init__.py", "google/protobuf/__init__.py",
                    "googleapiclient/discovery.py"]
    assert v.requirement(str(REPO / "requirements-dev.txt")) == f"earthengine-api=={E.EE_PINNED_VERSION}"


# ----------------------------------------------------------------------------------------------
# live (only with credentials)
# ----------------------------------------------------------------------------------------------
def _live_reason():
    if importlib.util.find_spec("ee") is None:
        return "earthengine-api not installed"
    try:
        src = E.find_credentials()
        E.resolve_project("", "", None, src)
    except GlasarError:
        return ("no Earth Engine credentials/project on this machine (run `earthengine authenticate` and "
                "`earthengine set_project`, or set GOOGLE_APPLICATION_CREDENTIALS and EARTHENGINE_PROJECT)")
    return ""


@pytest.mark.slow
@pytest.mark.skipif(bool(_live_reason()), reason=f"live Earth Engine test skipped: {_live_reason()}")
def test_live_fetch_tsho_rolpa_pair_and_dem(tmp_path, tsho_rolpa):
    from glasar.algorithms import lake_geometry as lg
    from glasar.algorithms import pipeline

    ds = ogr.Open(tsho_rolpa["inventory"])
    lyr = ds.GetLayer()
    lyr.SetSpatialFilterRect(86.46, 27.84, 86.50, 27.88)
    feat = max(lyr, key=lambda f: f.GetGeometryRef().GetArea())
    geom = lg.geometry_from_wkb(feat.GetGeometryRef().ExportToWkb())
    conn = E.connect()
    w = E.lake_window("tsho_rolpa", geom)
    res = E.fetch_sentinel1(conn, [w], E.S1Query.make("2022-07-01", "2022-08-31"), str(tmp_path))
    rows = {r["pass"]: r for r in res.rows}
    assert rows["ASCENDING"]["file"] and rows["DESCENDING"]["file"]
    dem = E.fetch_dem(conn, [E.regrid(w, 30.0)], "nasadem", str(tmp_path))
    assert dem.rows[0]["file"] and 4000 < dem.rows[0]["min_m"] < 4700
    lake = pipeline.LakeInput("tsho", bytes(geom.ExportToWkb()))
    (out,) = pipeline.map_lakes([lake], str(tmp_path / rows["ASCENDING"]["file"]),
                                str(tmp_path / rows["DESCENDING"]["file"]), pipeline.Options())
    assert out.status == "ok" and out.fields["iou"] > 0.6


def test_pinned_earthengine_api_is_installed():
    """Under `make test` the offline Earth Engine tests must run, not skip: the pinned
    earthengine-api of requirements-dev.txt is installed (their golden graphs depend on it)."""
    import re

    if not os.environ.get("GLASAR_TEST_REQUIRE_EE"):
        pytest.skip("GLASAR_TEST_REQUIRE_EE is not set (make test sets it)")
    text = (Path(__file__).resolve().parents[1] / "requirements-dev.txt").read_text()
    pinned = re.search(r"^earthengine-api==([\w.]+)", text, re.M).group(1)
    import ee
    import googleapiclient  # noqa: F401 (the mocked-HTTP tests need it)

    assert ee.__version__ == pinned
