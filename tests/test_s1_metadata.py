"""Sentinel-1 geometry from metadata, checked against two real product annotations."""
import datetime as dt
import lzma
import math
import os
import zipfile

import numpy as np
import pytest

from glasar.algorithms import GlasarError
from glasar.algorithms import s1_metadata as M

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def ann_dir(sample_dir):
    return sample_dir / "s1_annotation"


@pytest.fixture(scope="module")
def s1b(ann_dir):
    return M.parse_annotation(ann_dir / "s1b-iw-grd-vv-20210401t052623-20210401t052648-026269-032297-001.xml.xz")


@pytest.fixture(scope="module")
def s1a(ann_dir):
    return M.parse_annotation(ann_dir / "s1a-iw-grd-vv-20150222t170725-20150222t170750-004739-005dd8-001.xml.xz")


def test_annotation_fields(s1a, s1b):
    assert s1b["mission"] == "S1B" and s1b["pass"] == M.DESCENDING and s1b["polarisation"] == "VV"
    assert s1b["platform_heading"] == pytest.approx(-165.6512198343102, abs=1e-12)
    assert s1b["absolute_orbit"] == 26269 and s1b["relative_orbit"] == 168
    assert s1b["start"] == dt.datetime(2021, 4, 1, 5, 26, 23, 794457, tzinfo=UTC)
    assert s1b["ascending_node_time"] == dt.datetime(2021, 4, 1, 4, 49, 55, 637823, tzinfo=UTC)
    assert s1b["grid_incidence"].size == 210  # <geolocationGridPointList count="210">
    assert 30.0 < s1b["grid_incidence"].min() < 31.0 and 46.0 < s1b["grid_incidence"].max() < 46.5
    assert s1a["mission"] == "S1A" and s1a["pass"] == M.ASCENDING
    assert s1a["platform_heading"] == pytest.approx(-14.89761428944838, abs=1e-12)
    assert s1a["absolute_orbit"] == 4739 and s1a["relative_orbit"] == 117


def test_relative_orbit_rules_agree_with_manifests(ann_dir, s1a, s1b):
    for ann, name in ((s1a, "S1A_IW_GRDH_1SDV_20150222T170725_20150222T170750_004739_005DD8_CEAB"),
                      (s1b, "S1B_IW_GRDH_1SDV_20210401T052623_20210401T052648_026269_032297_ECC8")):
        man = M.parse_manifest(ann_dir / f"{name}.manifest.safe.xz")
        assert man["relative_orbit"] == ann["relative_orbit"]
        assert man["absolute_orbit"] == ann["absolute_orbit"]
        assert man["pass"] == ann["pass"] and man["platform"] == ann["mission"]
        assert len(man["footprint_lonlat"]) == 4
        info = M.parse_product_name(name)
        assert info["relative_orbit"] == man["relative_orbit"] and info["platform"] == man["platform"]


def test_heading_from_incidence_gradient_matches_annotation(s1a, s1b):
    # Gradient of the geolocation grid's incidence angle, carried from the scene to the nadir
    # track: measured errors 0.09 deg (S1B) and 0.10 deg (S1A).
    for ann in (s1a, s1b):
        heading, local, r2 = M.heading_from_annotation_grid(ann)
        assert heading == pytest.approx(ann["platform_heading"], abs=0.2)
        assert r2 > 0.99
        # the local along-track direction differs by the meridian convergence (~5 deg here):
        # scene east of the track (ascending) turns it clockwise, west (descending) anticlockwise
        conv = M.wrap180(local - heading)
        assert (4.0 < conv < 6.0) if ann["pass"] == M.ASCENDING else (-6.0 < conv < -4.0)


def test_heading_from_pass_and_latitude_matches_annotation(s1a, s1b):
    # Circular-orbit model at the grid's mean latitude: measured errors 0.29 (S1A), 0.20 (S1B) deg.
    for ann in (s1a, s1b):
        lat = float(np.mean(ann["grid_lat"]))
        assert M.heading_from_pass_latitude(ann["pass"], lat) == pytest.approx(ann["platform_heading"], abs=0.4)


def test_heading_model_hand_worked():
    # At the equator: sin(beta) = cos(98.18 deg) -> beta = -8.18 deg; n = 2 pi / 5924.571 s
    n = 2 * math.pi / (12 * 86400 / 175)
    beta = math.asin(math.cos(math.radians(98.18)))
    east = n * math.sin(beta) - 2 * math.pi / 86400
    expected = math.degrees(math.atan2(east, n * math.cos(beta)))
    assert M.heading_from_pass_latitude("ASCENDING", 0.0) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(-12.03, abs=0.01)
    # descending mirrors ascending about east-west
    assert M.heading_from_pass_latitude("DESCENDING", 0.0) == pytest.approx(-180.0 - expected, abs=1e-9)
    with pytest.raises(GlasarError):
        M.heading_from_pass_latitude("ASCENDING", 85.0)  # beyond the ground track


def _enu_plane(local_heading, lon0=10.0, lat0=47.0, grad_per_km=0.06, theta0=38.0, span_km=60.0):
    """Incidence samples on a lon/lat lattice whose gradient points along local_heading + 90."""
    lons, lats = np.meshgrid(np.linspace(lon0 - 0.4, lon0 + 0.4, 9), np.linspace(lat0 - 0.3, lat0 + 0.3, 7))
    e, n = M.local_east_north(lons, lats, float(np.mean(lons)), float(np.mean(lats)))
    look = math.radians(local_heading + 90.0)
    inc = theta0 + grad_per_km / 1000.0 * (e * math.sin(look) + n * math.cos(look))
    return lons, lats, inc


@pytest.mark.parametrize("local", [-10.0, -170.0, 0.0, 95.0])
def test_gradient_plane_recovers_direction_exactly(local):
    lons, lats, inc = _enu_plane(local)
    heading, got_local, r2 = M.heading_from_incidence(lons, lats, inc)
    assert got_local == pytest.approx(local, abs=1e-7)
    assert r2 == pytest.approx(1.0, abs=1e-12)
    assert heading == pytest.approx(M.platform_from_local_heading(local, 10.0, 47.0, 38.0), abs=1e-6)
    # same in radians (HyP3 writes angles in radians)
    _, got_local_rad, _ = M.heading_from_incidence(lons, lats, np.radians(inc))
    assert got_local_rad == pytest.approx(local, abs=1e-7)


def test_terrain_like_incidence_is_rejected():
    lons, lats, inc = _enu_plane(-12.0)
    rng = np.random.default_rng(1)
    noisy = inc + rng.normal(0, 15.0, inc.shape)  # local incidence over mountains
    with pytest.raises(GlasarError, match="not a plane"):
        M.heading_from_incidence(lons, lats, noisy)
    with pytest.raises(GlasarError, match="fewer than 3"):
        M.heading_from_incidence([10, 10.1], [47, 47], [38, 39])


def test_convergence_analytic_cases():
    # Flying due north at the equator: the range great circle is the equator, no convergence.
    assert M.platform_from_local_heading(0.0, 20.0, 0.0, 38.0) == pytest.approx(0.0, abs=1e-9)
    assert M.platform_from_local_heading(180.0, 20.0, 0.0, 38.0) == pytest.approx(180.0, abs=1e-9)
    # Heading north at latitude phi: moving d to the west along a great circle turns the local
    # north by dlon * sin(phi) to first order (meridian convergence).
    d = float(M.nadir_offset_m(38.0))
    assert d == pytest.approx(475e3, rel=0.02)
    lat = 45.0
    dlon = math.degrees(d / (M.EARTH_RADIUS_M * math.cos(math.radians(lat))))
    got = M.platform_from_local_heading(0.0, 10.0, lat, 38.0)
    assert got == pytest.approx(-dlon * math.sin(math.radians(lat)), rel=0.05)
    # inverse
    for h in (-14.9, -165.65, 3.0):
        loc = M.local_from_platform_heading(h, 86.5, 27.9, 38.0)
        assert M.platform_from_local_heading(loc, 86.5, 27.9, 38.0) == pytest.approx(h, abs=1e-8)


def test_pass_from_local_solar_time_real_acquisitions(s1a, s1b):
    # Tsho Rolpa (86.48 E, 27.86 N): ascending 12:22 UTC -> 18:08 local; descending 00:11 -> 05:57
    p, why = M.pass_from_local_time(dt.datetime(2022, 7, 25, 12, 22, 32, tzinfo=UTC), 86.48, 27.86)
    assert p == M.ASCENDING and "18:08" in why
    p, why = M.pass_from_local_time(dt.datetime(2022, 7, 28, 0, 11, 31, tzinfo=UTC), 86.48, 27.86)
    assert p == M.DESCENDING and "05:57" in why
    for ann in (s1a, s1b):
        lon, lat = float(np.mean(ann["grid_lon"])), float(np.mean(ann["grid_lat"]))
        assert M.pass_from_local_time(ann["start"], lon, lat)[0] == ann["pass"]
    # noon local time is neither: never guessed
    p, why = M.pass_from_local_time(dt.datetime(2022, 7, 25, 6, 14, 0, tzinfo=UTC), 86.48, 27.86)
    assert p == "" and "unknown" in why


def test_expected_local_time_hand_worked():
    # nadir at the equator: exactly the node times
    assert M.expected_local_time("ASCENDING", 0.0, cross_track_m=0.0) == pytest.approx(18.0, abs=1e-12)
    assert M.expected_local_time("DESCENDING", 0.0, cross_track_m=0.0) == pytest.approx(6.0, abs=1e-12)
    # at 28 N: sin u = sin(28)/sin(98.18); tan(dlon) = cos(i) tan(u)
    i = math.radians(98.18)
    u = math.asin(math.sin(math.radians(28.0)) / math.sin(i))
    dlon = math.degrees(math.atan(math.cos(i) * math.tan(u)))
    assert M.expected_local_time("ASCENDING", 28.0, cross_track_m=0.0) == pytest.approx(18.0 + dlon / 15, abs=1e-9)
    assert M.expected_local_time("DESCENDING", 28.0, cross_track_m=0.0) == pytest.approx(6.0 - dlon / 15, abs=1e-9)
    assert M.local_solar_hours(dt.datetime(2022, 7, 25, 12, 22, 32, tzinfo=UTC), 86.48) == pytest.approx(
        12 + 22 / 60 + 32 / 3600 + 86.48 / 15)


def test_relative_orbit_from_time_across_six_years(s1b):
    # S1B and S1A fly the same tracks six days apart: the 2015 S1A node reference must predict
    # the S1B annotation's track 168 in 2021 (no S1B information used).
    for shift in (6, -6):
        absolute, rel, since = M.orbit_from_time("S1A", s1b["start"] + dt.timedelta(days=shift))
        assert rel == 168
    # and the S1B reference reproduces its own annotation
    absolute, rel, since = M.orbit_from_time("S1B", s1b["start"])
    assert (absolute, rel) == (26269, 168)
    assert since == pytest.approx((s1b["start"] - s1b["ascending_node_time"]).total_seconds(), abs=1e-6)
    with pytest.raises(GlasarError, match="ambiguous"):
        M.orbit_from_time("S1B", s1b["ascending_node_time"] + dt.timedelta(seconds=10))
    with pytest.raises(GlasarError):
        M.orbit_from_time("S1C", s1b["start"])


def test_tsho_rolpa_tracks_from_time():
    t = lambda s: dt.datetime.strptime(s, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)  # noqa: E731
    asc = [M.orbit_from_time("S1A", t(s))[1] for s in ("20220725T122232", "20240726T122235", "20210725T121355")]
    dsc = [M.orbit_from_time("S1A", t(s))[1] for s in ("20220728T001131", "20240729T001133", "20210721T001135")]
    assert asc[0] == asc[1] == 85 and asc[2] == 12  # the 12:13 UTC scene is the other ascending track
    assert dsc == [121, 121, 121]


def test_product_names():
    info = M.parse_product_name("S1A_IW_20180128T161201_DVP_RTC30_G_gpuned_FD6A_VV.tif")
    assert info["kind"] == "hyp3" and info["platform"] == "S1A"
    assert info["start"] == dt.datetime(2018, 1, 28, 16, 12, 1, tzinfo=UTC)
    info = M.parse_product_name("S1B_IW_GRDH_1SDV_20210401T052623_20210401T052648_026269_032297_ECC8")
    assert info["kind"] == "safe" and info["absolute_orbit"] == 26269 and info["relative_orbit"] == 168
    assert M.parse_product_name("S1A_20220725T122232_ASC_RTC20_gamma0_VV_tshoRolpa.tif") == {"platform": "S1A"}
    assert M.parse_product_name("scene.tif") == {}


def test_annotation_from_safe_folder_and_zip(tmp_path, ann_dir, s1b):
    raw = lzma.open(ann_dir / "s1b-iw-grd-vv-20210401t052623-20210401t052648-026269-032297-001.xml.xz").read()
    safe = tmp_path / "S1B_X.SAFE" / "annotation"
    safe.mkdir(parents=True)
    (safe / "s1b-iw-grd-vv-x-001.xml").write_bytes(raw)
    a = M.parse_annotation(safe.parent)
    assert a["platform_heading"] == s1b["platform_heading"] and a["grid_lat"].size == 210
    z = tmp_path / "S1B_X.zip"
    with zipfile.ZipFile(z, "w") as fh:
        fh.writestr("S1B_X.SAFE/annotation/s1b-iw-grd-vv-x-001.xml", raw)
    assert M.parse_annotation(z)["absolute_orbit"] == 26269


def test_bad_annotation(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<product><broken>")
    with pytest.raises(GlasarError, match="not valid XML"):
        M.parse_annotation(bad)
    other = tmp_path / "other.xml"
    other.write_text("<kml/>")
    with pytest.raises(GlasarError, match="not a Sentinel-1 product annotation"):
        M.parse_annotation(other)
    with pytest.raises(GlasarError, match="cannot read"):
        M.parse_annotation(os.fspath(tmp_path / "missing.xml"))
