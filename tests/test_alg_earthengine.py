"""glasar:eesentinel1 and glasar:eedem through QGIS Processing and qgis_process (offline).

Without ee or credentials every run fails fast with the exact steps. With the HTTP layer mocked
(the earthengine-api test harness), a fetched pair of the real Tsho Rolpa clips goes straight
into glasar:maplakes and maps the lake as well as the local files do.
"""
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from qgis.core import QgsProcessingException

from glasar.algorithms import earthengine as E
from test_earthengine import (  # noqa: F401 (ee_api is a fixture)
    FakeEarthEngine, _service_key, clean_home, ee_api, scene_info,
    tsho_footprints,
)

gdal.UseExceptions()
VENV_SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def run(alg, params):
    from qgis import processing

    return processing.run(f"glasar:{alg}", params)


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def tsho_lake(tsho_rolpa, tmp_path):
    """GeoPackage with only Tsho Rolpa (the largest inventory polygon inside the sample clip)."""
    src = ogr.Open(tsho_rolpa["inventory"])
    lyr = src.GetLayer()
    lyr.SetSpatialFilterRect(86.46, 27.84, 86.50, 27.88)
    feat = max(lyr, key=lambda f: f.GetGeometryRef().GetArea())
    path = tmp_path / "tsho.gpkg"
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    out = ds.CreateLayer("lakes", srs, ogr.wkbMultiPolygon)
    out.CreateField(ogr.FieldDefn("GLIMS_ID", ogr.OFTString))
    f = ogr.Feature(out.GetLayerDefn())
    f.SetField("GLIMS_ID", "GL086863E28114N")
    f.SetGeometry(ogr.ForceToMultiPolygon(feat.GetGeometryRef().Clone()))
    out.CreateFeature(f)
    ds = None
    return str(path)


def test_metadata_keys_and_help(glasar_provider):
    from qgis.core import QgsApplication

    reg = QgsApplication.processingRegistry()
    s1_alg = reg.algorithmById("glasar:eesentinel1")
    dem_alg = reg.algorithmById("glasar:eedem")
    assert s1_alg.displayName() == "Fetch Sentinel-1 pair from Earth Engine"
    keys = {p.name() for p in s1_alg.parameterDefinitions()}
    assert {"INVENTORY", "START", "END", "PROJECT", "CREDENTIALS", "OUTPUT_FOLDER"} <= keys
    assert {"INVENTORY", "DATASET", "PROJECT", "CREDENTIALS", "OUTPUT_FOLDER"} <= {
        p.name() for p in dem_alg.parameterDefinitions()}
    ds = dem_alg.parameterDefinition("DATASET")
    assert ds.usesStaticStrings() and ds.options() == ["nasadem", "srtm", "alos_aw3d30", "copernicus_glo30"]
    for alg in (s1_alg, dem_alg):
        assert alg.shortHelpString()
        for p in alg.parameterDefinitions():
            assert p.help(), f"{alg.id()} {p.name()} has no help"
        assert alg.flags() & alg.FlagSupportsBatch and alg.flags() & alg.FlagCanCancel
        assert {o.name() for o in alg.outputDefinitions()} >= {"OUTPUT_FOLDER", "MANIFEST", "N_FILES"}
        assert alg.group() == "Earth Engine" and alg._icon == "earthengine.svg" and not alg.icon().isNull()


def test_can_execute_says_what_is_missing(glasar_provider, clean_home, monkeypatch):
    from qgis.core import QgsApplication, QgsSettings

    QgsSettings().remove(E.SETTING_KEY_FILE)
    alg = QgsApplication.processingRegistry().algorithmById("glasar:eesentinel1")
    ok, msg = alg.canExecute()
    assert ok is False and "earthengine authenticate" in msg
    cred = clean_home / ".config" / "earthengine" / "credentials"
    cred.parent.mkdir(parents=True)
    cred.write_text(json.dumps({"refresh_token": "1//0gABCDEFGHIJKLMN", "project": "p"}))
    assert alg.canExecute() == (True, "")
    monkeypatch.setattr(E, "EE_MODULE", "glasar_no_such_ee_module")
    ok, msg = alg.canExecute()
    assert ok is False and "pip install" in msg and "earthengine-api" in msg


def test_without_credentials_fails_fast_with_the_steps(glasar_provider, clean_home, tsho_lake, tmp_path):
    pytest.importorskip("ee")
    out = tmp_path / "out"
    t0 = time.monotonic()
    with pytest.raises(QgsProcessingException) as err:
        run("eesentinel1", {"INVENTORY": tsho_lake, "START": "2022-07-01", "END": "2022-08-31",
                            "OUTPUT_FOLDER": str(out)})
    assert time.monotonic() - t0 < 5.0
    msg = str(err.value)
    assert "earthengine authenticate" in msg and "CREDENTIALS" in msg
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(QgsProcessingException, match="earthengine authenticate"):
        run("eedem", {"INVENTORY": tsho_lake, "DATASET": "srtm", "OUTPUT_FOLDER": str(out)})


def test_without_ee_fails_with_the_install_command(glasar_provider, clean_home, tsho_lake, tmp_path, monkeypatch):
    monkeypatch.setattr(E, "EE_MODULE", "glasar_no_such_ee_module")
    with pytest.raises(QgsProcessingException) as err:
        run("eedem", {"INVENTORY": tsho_lake, "DATASET": "nasadem", "OUTPUT_FOLDER": str(tmp_path / "o")})
    assert "pip install" in str(err.value) and "OSGeo4W" in str(err.value) and "make package" in str(err.value)


def test_bad_key_file_parameter_leaks_nothing(glasar_provider, clean_home, tsho_lake, tmp_path):
    pytest.importorskip("ee")
    secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-GLASAR-SECRET"
    key = _service_key(tmp_path / "sa.json", private_key=f"-----BEGIN PRIVATE KEY-----\n{secret}\n"
                                                           "-----END PRIVATE KEY-----\n")
    with pytest.raises(QgsProcessingException) as err:
        run("eesentinel1", {"INVENTORY": tsho_lake, "START": "2022-07-01", "END": "2022-08-31",
                            "PROJECT": "my-project", "CREDENTIALS": key, "OUTPUT_FOLDER": str(tmp_path / "o")})
    assert "could not be loaded" in str(err.value) and secret not in str(err.value)


def test_bad_dates_are_refused(glasar_provider, tsho_lake, tmp_path):
    with pytest.raises(QgsProcessingException, match="before START"):
        run("eesentinel1", {"INVENTORY": tsho_lake, "START": "2022-08-31", "END": "2022-07-01",
                            "OUTPUT_FOLDER": str(tmp_path / "o")})


# ----------------------------------------------------------------------------------------------
# Mocked Earth Engine serving the real Tsho Rolpa clips
# ----------------------------------------------------------------------------------------------
def sample_pixels(path):
    """Pixels of a real HyP3 clip (gamma0 power, nodata 0) on the requested grid, as the EE server
    would send them: VV in dB, VH = VV - 6 dB (the clips have VV only), angle a 0.06 deg/km ramp;
    outside the clip NODATA."""
    def pixels(xx, yy, n_bands):
        res = xx[0, 1] - xx[0, 0]
        x0, y0 = xx[0, 0] - res / 2, yy[0, 0] + res / 2
        rows, cols = xx.shape
        ds = gdal.Warp("", path, format="MEM", outputBounds=(x0, y0 - rows * res, x0 + cols * res, y0),
                       xRes=res, yRes=res, dstSRS="EPSG:32645", resampleAlg="near", srcNodata=0,
                       dstNodata=np.nan, outputType=gdal.GDT_Float32)
        power = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            vv = 10 * np.log10(power)
        vv[~np.isfinite(vv)] = E.NODATA
        vh = np.where(vv == E.NODATA, E.NODATA, vv - 6.0)
        angle = np.where(vv == E.NODATA, E.NODATA, 38.0 + 6e-5 * (xx - 460000.0))
        return np.array([vv, vh, angle], dtype=np.float32)

    return pixels


TSHO_ASC = "S1A_IW_GRDH_1SDV_20220725T122232_20220725T122257_044271_0548A1_4E0F"
TSHO_DSC = "S1A_IW_GRDH_1SDV_20220728T001131_20220728T001156_044307_0549B3_2C1A"


class TshoServer(FakeEarthEngine):
    """Serves the 2022 ascending clip for TSHO_ASC and the descending clip for TSHO_DSC."""

    def __init__(self, tsho_rolpa):
        fa, fd, _, _ = tsho_footprints()
        selection = {"ASCENDING": scene_info("ASCENDING", TSHO_ASC, "2022-07-25T12:22:32Z", fa, orbit=12),
                     "DESCENDING": scene_info("DESCENDING", TSHO_DSC, "2022-07-28T00:11:31Z", fd, orbit=121)}
        super().__init__(selection)
        self.routes = {TSHO_ASC: sample_pixels(tsho_rolpa["asc_2022"]),
                       TSHO_DSC: sample_pixels(tsho_rolpa["desc_2022"])}

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        body_s = body.decode() if isinstance(body, bytes) else (body or "")
        for scene_id, fn in self.routes.items():
            if scene_id in body_s:
                self.pixels = fn
        return super().request(uri, method, body, headers, **kwargs)


@pytest.fixture
def fake_connect(ee_api, monkeypatch):
    calls = []

    def connect(**kwargs):
        calls.append(kwargs)
        return E.Connection(ee_api, "my-project", E.CredentialSource("user", "/x", "test"))

    monkeypatch.setattr(E, "connect", connect)
    return calls


def test_fetch_pair_then_maplakes_maps_tsho_rolpa(glasar_provider, fake_connect, tsho_rolpa, tsho_lake, tmp_path):
    from ee import apitestcase

    out = tmp_path / "ee"
    server = TshoServer(tsho_rolpa)
    with apitestcase.UsingCloudApi(mock_http=server):
        res = run("eesentinel1", {"INVENTORY": tsho_lake, "LAKE_ID_FIELD": "GLIMS_ID", "START": "2022-07-01",
                                  "END": "2022-08-31", "RELATIVE_ORBITS": "12, 121", "MIN_INCIDENCE": 33.5,
                                  "PROJECT": "my-project", "OUTPUT_FOLDER": str(out)})
    assert fake_connect and fake_connect[0]["project"] == "my-project"
    assert res["N_FILES"] == 2 and res["OUTPUT_FOLDER"] == str(out)
    asc = out / "S1_ASC_20220725T122232_GL086863E28114N.tif"
    desc = out / "S1_DSC_20220728T001131_GL086863E28114N.tif"
    assert asc.exists() and desc.exists()
    rows = read_csv(res["MANIFEST"])
    assert [(r["pass"], r["status"]) for r in rows] == [("ASCENDING", "ok"), ("DESCENDING", "ok")]
    # the selection request carried the middle date 2022-07-31 and the window
    value_body = [b for k, _, b in server.log if k == "value"][0]
    assert "1659225600000" in value_body  # 2022-07-31T00:00Z
    assert '"minAngle"' in value_body and "33.5" in value_body and '"relativeOrbitNumber_start"' in value_body
    pixel_bodies = [b for k, _, b in server.log if k == "pixels"]
    assert any(f"COPERNICUS/S1_GRD/{TSHO_ASC}" in b for b in pixel_bodies)
    ds = gdal.Open(str(asc))
    assert ds.GetGeoTransform()[1] == 10.0 and ds.GetMetadata()["PASS"] == "ASCENDING"
    ds = None
    common = {"INVENTORY": tsho_lake, "LAKE_ID_FIELD": "GLIMS_ID"}
    via_ee = run("maplakes", dict(common, ASCENDING=str(asc), DESCENDING=str(desc),
                                  OUTPUT=str(tmp_path / "ee.gpkg"), TABLE=str(tmp_path / "ee.csv")))
    local = run("maplakes", dict(common, ASCENDING=tsho_rolpa["asc_2022"], DESCENDING=tsho_rolpa["desc_2022"],
                                 OUTPUT=str(tmp_path / "local.gpkg"), TABLE=str(tmp_path / "local.csv")))
    (r_ee,), (r_local,) = read_csv(via_ee["TABLE"]), read_csv(local["TABLE"])
    assert r_ee["status"] == "ok" and r_ee["asc_time"].startswith("2022-07-25T12:22:32")
    assert float(r_ee["iou"]) >= 0.85
    assert abs(float(r_ee["iou"]) - float(r_local["iou"])) < 0.03


def test_dem_run_with_mocked_server(glasar_provider, fake_connect, tsho_lake, tmp_path):
    from ee import apitestcase

    server = FakeEarthEngine({})
    with apitestcase.UsingCloudApi(mock_http=server):
        res = run("eedem", {"INVENTORY": tsho_lake, "LAKE_ID_FIELD": "GLIMS_ID", "DATASET": "nasadem",
                            "OUTPUT_FOLDER": str(tmp_path)})
    path = tmp_path / "DEM_nasadem_GL086863E28114N.tif"
    assert res["N_FILES"] == 1 and path.exists()
    ds = gdal.Open(str(path))
    assert ds.GetGeoTransform()[1] == 30.0 and ds.GetMetadata()["ASSET"] == "NASA/NASADEM_HGT/001"
    assert "NASA/NASADEM_HGT/001" in [b for k, _, b in server.log if k == "pixels"][0]


def test_extent_instead_of_inventory(glasar_provider, fake_connect, tmp_path):
    from ee import apitestcase

    server = FakeEarthEngine({})
    with apitestcase.UsingCloudApi(mock_http=server):
        res = run("eedem", {"EXTENT": "86.46,86.50,27.84,27.88 [EPSG:4326]", "DATASET": "srtm",
                            "OUTPUT_FOLDER": str(tmp_path)})
    ds = gdal.Open(str(tmp_path / "DEM_srtm_extent.tif"))
    gt = ds.GetGeoTransform()
    # 0.04 deg x 0.04 deg at 27.9 N: ~3.9 km x ~4.4 km in UTM 45N, plus the fetch margins
    width, height = ds.RasterXSize * gt[1], ds.RasterYSize * -gt[5]
    assert 3.9e3 + 2 * 160 < width < 4.1e3 + 2 * 160 + 60 and 4.4e3 + 320 < height < 4.5e3 + 320 + 60
    assert res["N_FILES"] == 1
    with pytest.raises(QgsProcessingException, match="INVENTORY.*EXTENT"):
        run("eedem", {"DATASET": "srtm", "OUTPUT_FOLDER": str(tmp_path / "x")})


def test_cancel_writes_nothing(glasar_provider, fake_connect, tsho_rolpa, tsho_lake, tmp_path):
    from ee import apitestcase
    from qgis import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    fb = QgsProcessingFeedback()
    fb.cancel()
    out = tmp_path / "out"
    with apitestcase.UsingCloudApi(mock_http=TshoServer(tsho_rolpa)):
        with pytest.raises(QgsProcessingException, match="Canceled"):
            processing.run("glasar:eesentinel1", {"INVENTORY": tsho_lake, "START": "2022-07-01", "END": "2022-08-31",
                                                  "OUTPUT_FOLDER": str(out)}, context=QgsProcessingContext(),
                           feedback=fb)
    assert not [p for p in out.rglob("*")]


# ----------------------------------------------------------------------------------------------
# qgis_process
# ----------------------------------------------------------------------------------------------
def _qp(qgis_process_env, tmp_path, lake, extra_env=None, alg="eesentinel1", extra=()):
    exe, env = qgis_process_env
    env = dict(env)
    home = tmp_path / "qp_home"
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    for v in ("GOOGLE_APPLICATION_CREDENTIALS", "EARTHENGINE_PROJECT", "GOOGLE_CLOUD_PROJECT", "PYTHONPATH"):
        env.pop(v, None)
    env.update(extra_env or {})
    args = [exe, "--json", "run", f"glasar:{alg}", "--", f"INVENTORY={lake}", f"OUTPUT_FOLDER={tmp_path / 'qp_out'}",
            *extra]
    t0 = time.monotonic()
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    return out, time.monotonic() - t0


def test_qgis_process_without_credentials(qgis_process_env, tsho_lake, tmp_path):
    if not (VENV_SITE / "ee").is_dir():
        pytest.skip("earthengine-api is not in the venv")
    out, seconds = _qp(qgis_process_env, tmp_path, tsho_lake, {"PYTHONPATH": str(VENV_SITE)},
                       extra=["START=2022-07-01", "END=2022-08-31"])
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "earthengine authenticate" in text and "earthengine set_project" in text
    assert not (tmp_path / "qp_out").exists() or not any((tmp_path / "qp_out").iterdir())


def test_qgis_process_without_ee(qgis_process_env, tsho_lake, tmp_path):
    probe = subprocess.run(["/usr/bin/python3", "-c", "import ee"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("earthengine-api is installed system-wide: cannot run without it")
    out, _ = _qp(qgis_process_env, tmp_path, tsho_lake, alg="eedem", extra=["DATASET=srtm"])
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "pip install" in text and "earthengine-api" in text
