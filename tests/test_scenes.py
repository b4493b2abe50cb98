"""Scene catalogue and per-pass selection: real Tsho Rolpa folder and small written GeoTIFFs."""
import datetime as dt
import json
import math
import os
import shutil

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from glasar.algorithms import GlasarError
from glasar.algorithms import lake_geometry as lg
from glasar.algorithms import s1_metadata as M
from glasar.algorithms import scenes as S
from glasar.algorithms.grid import Grid
from glasar.algorithms.sar_io import open_scene

gdal.UseExceptions()
UTC = dt.timezone.utc
CLIP_X0, CLIP_Y0, CLIP_RES, CLIP_COLS, CLIP_ROWS = 447023.379101296362933, 3083214.027382133528590, 20.0, 144, 135


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _srs(epsg):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def write_tif(path, bands, gt, epsg=32645, nodata=None, descriptions=None, tags=None, dtype=gdal.GDT_Float32):
    bands = [bands] if isinstance(bands, np.ndarray) and bands.ndim == 2 else bands
    rows, cols = bands[0].shape
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    ds = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, len(bands), dtype)
    ds.SetGeoTransform(gt)
    if epsg:
        ds.SetProjection(_srs(epsg).ExportToWkt())
    for i, a in enumerate(bands, start=1):
        b = ds.GetRasterBand(i)
        b.WriteArray(a)
        if nodata is not None:
            b.SetNoDataValue(nodata)
        if descriptions:
            b.SetDescription(descriptions[i - 1])
    if tags:
        ds.SetMetadata(tags)
    ds = None
    return str(path)


def pixel_lonlat(gt, rows, cols, epsg):
    cc, rr = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    x = gt[0] + cc * gt[1]
    y = gt[3] + rr * gt[5]
    tr = osr.CoordinateTransformation(_srs(epsg), lg.WGS84)
    pts = np.array(tr.TransformPoints(list(zip(x.ravel(), y.ravel()))))
    return pts[:, 0].reshape(rows, cols), pts[:, 1].reshape(rows, cols)


def angle_band(gt, rows, cols, epsg, local_heading, theta0=38.0, grad_per_km=0.06):
    """Ellipsoid-like incidence: a plane in the local tangent plane rising along local + 90."""
    lon, lat = pixel_lonlat(gt, rows, cols, epsg)
    e, n = M.local_east_north(lon, lat, float(lon.mean()), float(lat.mean()))
    look = math.radians(local_heading + 90.0)
    return (theta0 + grad_per_km / 1000.0 * (e * math.sin(look) + n * math.cos(look))).astype(np.float32)


def ms(t):
    return str(int(t.timestamp() * 1000))


def clip_array(path):
    ds = gdal.Open(path)  # keep the dataset alive while its band is read
    a = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
    a[a == 0] = np.nan
    return a


def on_grid(arr, grid):
    """Place a clip array on a grid on the same lattice (NaN outside): independent of GDAL warp."""
    c0 = int(round((grid.x0 - CLIP_X0) / CLIP_RES))
    r0 = int(round((CLIP_Y0 - grid.y0) / CLIP_RES))
    out = np.full(grid.shape, np.nan)
    for r in range(grid.rows):
        rr = r + r0
        if 0 <= rr < CLIP_ROWS:
            cs = np.arange(grid.cols) + c0
            ok = (cs >= 0) & (cs < CLIP_COLS)
            out[r, ok] = arr[rr, cs[ok]]
    return out


@pytest.fixture(scope="module")
def tsho_dir(tsho_rolpa):
    return os.path.dirname(tsho_rolpa["aoi"])


@pytest.fixture(scope="module")
def tsho_cat(tsho_dir):
    return S.build_catalogue(tsho_dir)


@pytest.fixture(scope="module")
def aoi(tsho_rolpa):
    with open(tsho_rolpa["aoi"]) as fh:
        g = json.load(fh)["features"][0]["geometry"]
    return ogr.CreateGeometryFromJson(json.dumps(g))


def by_date(cat, stamp):
    return next(r for r in cat if r.acquisition.strftime("%Y%m%dT%H%M%S") == stamp)


# ------------------------------------------------------------------------------------------
# real folder: Tsho Rolpa HyP3 clips
# ------------------------------------------------------------------------------------------
def test_tsho_rolpa_catalogue(tsho_cat):
    assert len(tsho_cat) == 6 and all(r.usable for r in tsho_cat)
    times = [r.acquisition_time for r in tsho_cat]
    assert times == sorted(times) and times[0] == "2021-07-21T00:11:35Z"
    for r in tsho_cat:
        assert r.pass_source == "file name" and r.platform == "S1A" and r.crs_name() == "EPSG:32645"
        assert set(r.files) == {"VV"} and r.nodata["VV"] == 0
        lon, lat = r.centre_lonlat
        assert 86.46 < lon < 86.50 and 27.84 < lat < 27.88
        # heading from the orbit model (no metadata, no angle band), stated as such
        assert r.heading_source.startswith("pass and latitude")
        assert r.heading == pytest.approx(M.heading_from_pass_latitude(r.orbit_pass, lat), abs=1e-12)
        # the name's ASC/DSC agrees with the local solar time (else the record would be excluded)
        assert M.pass_from_local_time(r.acquisition, lon, lat)[0] == r.orbit_pass
    asc = [r.relative_orbit for r in tsho_cat if r.orbit_pass == "ASCENDING"]
    dsc = [r.relative_orbit for r in tsho_cat if r.orbit_pass == "DESCENDING"]
    assert asc == [12, 85, 85] and dsc == [121, 121, 121]
    assert all("acquisition time" in r.orbit_source for r in tsho_cat)


def test_tsho_rolpa_aoi_window_counts_and_synthesis(tsho_cat, aoi, tsho_dir):
    sels = S.select_area(tsho_cat, aoi, "2021-07-01", "2024-08-31", rule="extent")
    asc, dsc = sels["ASCENDING"], sels["DESCENDING"]
    grid = asc.grid
    assert grid is dsc.grid and grid.res == 20.0
    # the grid sits on the clips' pixel lattice
    assert ((grid.x0 - CLIP_X0) / 20.0) % 1 == pytest.approx(0, abs=1e-6)
    arrays = {r.scene_id: on_grid(clip_array(r.path), grid) for r in tsho_cat}
    for sel in (asc, dsc):
        assert sel.synthesis and len(sel.sources) == 3
        for r in sel.sources:  # nodata counts: independent numpy placement of the real clips
            assert sel.nodata_counts[r.scene_id] == int(np.isnan(arrays[r.scene_id]).sum())
        with np.testing.suppress_warnings() as sup:  # all-NaN pixels stay NaN
            sup.filter(RuntimeWarning)
            median = np.nanmedian(np.stack([arrays[r.scene_id] for r in sel.sources]), axis=0)
        got = sel.read("VV")
        np.testing.assert_array_equal(np.isnan(got), np.isnan(median))
        np.testing.assert_allclose(got[np.isfinite(got)], median[np.isfinite(median)], rtol=1e-6)
        assert sel.nodata_count == int(np.isnan(median).sum())
    # real numbers: layover/shadow make the descending pass far emptier
    assert sorted(asc.nodata_counts.values()) == [437, 816, 823]
    assert sorted(dsc.nodata_counts.values()) == [3342, 3351, 3374]
    assert asc.nodata_count == 437 and dsc.nodata_count == 3125
    assert "mixes relative orbits 12, 85" in asc.message
    assert asc.tags()["SYNTHESIS"] == "1" and asc.tags()["RELATIVE_ORBIT"] == "12;85"


def test_tsho_rolpa_tolerance_picks_closest_to_middle(tsho_cat, aoi):
    sels = S.select_area(tsho_cat, aoi, "2021-07-01", "2024-08-31", rule="extent", max_nodata_fraction=0.05)
    asc, dsc = sels["ASCENDING"], sels["DESCENDING"]
    d0, d1 = dt.datetime(2021, 7, 1, tzinfo=UTC), dt.datetime(2024, 8, 31, tzinfo=UTC)
    middle = d0 + (d1 - d0) / 2
    assert asc.middle == middle == dt.datetime(2023, 1, 30, 12, tzinfo=UTC)
    assert asc.status == "scene" and asc.chosen.acquisition_time == "2022-07-25T12:22:32Z"
    assert asc.nodata_count == 816
    assert asc.days_from_middle[asc.chosen.scene_id] == pytest.approx(
        (middle - dt.datetime(2022, 7, 25, 12, 22, 32, tzinfo=UTC)).total_seconds() / 86400)
    statuses = sorted(st for st, _ in asc.reasons.values())
    assert statuses == ["chosen", "not chosen", "not chosen"]
    assert dsc.synthesis  # 17 % nodata on the descending pass: still no full cover


@pytest.fixture(scope="module")
def full_cover_grid(tsho_cat):
    """A 10 x 10 block valid in all six real clips, found from the data."""
    stack = np.stack([np.isfinite(clip_array(r.path)) for r in tsho_cat]).all(axis=0)
    from scipy.ndimage import minimum_filter

    ok = minimum_filter(stack.astype(np.uint8), size=10, mode="constant", cval=0)
    r, c = np.argwhere(ok)[0]
    r0, c0 = r - 5, c - 5
    assert stack[r0:r0 + 10, c0:c0 + 10].all()
    return Grid(lg.srs_from_epsg(32645).ExportToWkt(), CLIP_X0 + c0 * 20.0, CLIP_Y0 - r0 * 20.0, 20.0, 10, 10)


@pytest.mark.parametrize("start,end,asc_time,dsc_time", [
    ("2021-07-01", "2024-08-31", "2022-07-25T12:22:32Z", "2022-07-28T00:11:31Z"),  # middle 2023-01-30
    ("2021-07-01", "2022-12-31", "2022-07-25T12:22:32Z", "2022-07-28T00:11:31Z"),  # middle 2022-03-31
    ("2021-07-01", "2021-12-31", "2021-07-25T12:13:55Z", "2021-07-21T00:11:35Z"),
    ("2023-06-01", "2025-01-01", "2024-07-26T12:22:35Z", "2024-07-29T00:11:33Z"),
    ("2022-07-26", "2022-07-28", None, "2022-07-28T00:11:31Z"),  # inclusive END
])
def test_full_cover_choice_by_middle_date(tsho_cat, full_cover_grid, start, end, asc_time, dsc_time):
    for p, want in (("ASCENDING", asc_time), ("DESCENDING", dsc_time)):
        sel = S.select_for_window(tsho_cat, full_cover_grid, start, end, p)
        if want is None:
            assert sel.status == "none" and "no ascending scene between 2022-07-26 and 2022-07-28" in sel.message
            continue
        assert sel.status == "scene" and sel.nodata_count == 0 and sel.chosen.acquisition_time == want
        assert sel.reasons[sel.chosen.scene_id][0] == "chosen"


def test_relative_orbit_and_platform_filters(tsho_cat, full_cover_grid):
    sel = S.select_for_window(tsho_cat, full_cover_grid, "2021-07-01", "2024-08-31", "ASCENDING", relative_orbit=12)
    assert sel.chosen.acquisition_time == "2021-07-25T12:13:55Z"
    assert sorted(why for st, why in sel.reasons.values() if st == "excluded") == ["relative orbit 85, not 12"] * 2
    sel = S.select_for_window(tsho_cat, full_cover_grid, "2021-07-01", "2024-08-31", "ASCENDING", platform="S1B")
    assert sel.status == "none" and all(why == "platform S1A, not S1B" for _, why in sel.reasons.values())


def test_write_selection_roundtrip(tsho_cat, full_cover_grid, aoi, tmp_path):
    sel = S.select_for_window(tsho_cat, full_cover_grid, "2021-07-01", "2024-08-31", "DESCENDING")
    out = S.write_selection(sel, tmp_path / S.output_name("Tsho Rolpa/1", sel))
    assert os.path.basename(out) == "Tsho_Rolpa_1_DSC_20220728T001131.tif"
    sc = open_scene(out)
    assert sc.orbit_pass == "DESCENDING" and sc.acquisition_time == "2022-07-28T00:11:31Z"
    assert sc.heading == pytest.approx(sel.chosen.heading, abs=1e-4) and sc.bands == {"VV": 1}
    tags = sc.metadata
    assert tags["SYNTHESIS"] == "0" and tags["NODATA_COUNT"] == "0" and tags["SOURCE"] == sel.chosen.scene_id
    assert tags["RELATIVE_ORBIT"] == "121" and tags["HEADING_SOURCE"].startswith("pass and latitude")
    ds = gdal.Open(out)
    got = ds.ReadAsArray()
    np.testing.assert_array_equal(got, on_grid(clip_array(sel.chosen.path), full_cover_grid).astype(np.float32))
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".glasar_")]
    # a padded synthesis keeps the window's tags and grows the grid
    syn = S.select_area(tsho_cat, aoi, "2021-07-01", "2024-08-31", rule="extent")["DESCENDING"]
    out = S.write_selection(syn, tmp_path / "syn.tif", pad_px=3)
    ds = gdal.Open(out)
    assert (ds.RasterYSize, ds.RasterXSize) == (syn.grid.rows + 6, syn.grid.cols + 6)
    assert ds.GetMetadata()["SYNTHESIS"] == "1" and ds.GetMetadata()["NODATA_COUNT"] == "3125"
    md = ds.GetMetadata()
    assert md["ACQUISITION_TIME"] == "2022-07-28T00:11:31Z"  # median of the three times
    assert md["ACQUISITION_TIMES"].split(";") == ["2021-07-21T00:11:35Z", "2022-07-28T00:11:31Z",
                                                  "2024-07-29T00:11:33Z"]
    # along-track direction at the lake vs the platform heading: meridian convergence over the
    # ~440 km to the nadir track, west of it for a descending pass (about -2.1 deg at 27.9 N)
    conv = M.wrap180(float(md["HEADING_LOCAL"]) - float(md["HEADING"]))
    assert -2.5 < conv < -1.7


def test_catalogue_rows_explain_every_scene(tsho_cat, aoi):
    sels = S.select_area(tsho_cat, aoi, "2022-01-01", "2022-12-31", rule="extent", max_nodata_fraction=0.05)
    rows = S.catalogue_rows(tsho_cat, [("lake1", sels)])
    assert len(rows) == 6
    status = {r["acquisition_time"][:10]: (r["status"], r["reason"]) for r in rows}
    assert status["2022-07-25"][0] == "chosen"
    assert status["2022-07-28"][0] == "in synthesis"  # the only descending scene, 17 % nodata
    assert status["2021-07-21"] == ("excluded", "acquired 2021-07-21, outside 2022-01-01..2022-12-31")
    assert all(r["pass_source"] == "file name" for r in rows)


# ------------------------------------------------------------------------------------------
# written scenes: Earth Engine exports, HyP3 products, tagged GeoTIFFs, bad input
# ------------------------------------------------------------------------------------------
EE_GT = (447000.0, 30.0, 0.0, 3084000.0, 0.0, -30.0)  # 200 x 200 px of 30 m near Tsho Rolpa


def write_ee(path, when, orbit_pass, local_heading, vv_db=-12.0, mask=None, rel=85, epsg=32645, gt=EE_GT, size=200):
    rows = cols = size
    vv = np.full((rows, cols), vv_db, np.float32)
    vh = vv - 7.0
    ang = angle_band(gt, rows, cols, epsg, local_heading)
    if mask is not None:
        vv[mask], vh[mask], ang[mask] = np.nan, np.nan, np.nan
    tags = {"orbitProperties_pass": orbit_pass, "system:time_start": ms(when), "relativeOrbitNumber_start": str(rel),
            "system_index": f"S1A_IW_GRDH_1SDV_{when:%Y%m%dT%H%M%S}_{when:%Y%m%dT%H%M%S}_044257_0547D4_1A2B"}
    return write_tif(path, [vv, vh, ang], gt, epsg=epsg, nodata=float("nan"), descriptions=["VV", "VH", "angle"],
                     tags=tags)


def window_polygon(xmin, ymin, xmax, ymax, epsg=32645):
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in ((xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax), (xmin, ymin)):
        ring.AddPoint_2D(x, y)
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    return lg.transform_geometry(poly, _srs(epsg), lg.WGS84)


def test_earth_engine_exports(tmp_path):
    t1 = dt.datetime(2022, 7, 25, 12, 22, 32, tzinfo=UTC)
    t2 = dt.datetime(2022, 8, 5, 12, 22, 33, tzinfo=UTC)
    local = -10.4
    write_ee(tmp_path / "ee" / "a1.tif", t1, "ASCENDING", local, vv_db=-10.0)
    write_ee(tmp_path / "ee" / "a2.tif", t2, "ASCENDING", local, vv_db=-14.0)
    cat = S.build_catalogue(tmp_path / "ee")
    r = cat[0]
    assert r.fmt == "earth engine" and set(r.files) == {"VV", "VH", "angle"}
    assert r.acquisition == t1 and r.time_source == "metadata (SYSTEM:TIME_START)"
    assert r.orbit_pass == "ASCENDING" and r.pass_source == "metadata (ORBITPROPERTIES_PASS)"
    assert r.relative_orbit == 85 and r.orbit_source == "metadata (RELATIVEORBITNUMBER_START)"
    assert r.platform == "S1A"
    # GDAL reads 'system:time_start' back as key 'system' = 'time_start=...': open_scene rejoins it
    sc = open_scene(r.path)
    assert sc.acquisition_time == "2022-07-25T12:22:32Z" and sc.orbit_pass == "ASCENDING"
    # heading from the angle band: local direction recovered, carried to the nadir track
    assert r.heading_source.startswith("incidence-angle gradient")
    lon, lat, vals = S._angle_samples(*r.files["angle"])
    want = M.platform_from_local_heading(local, float(lon.mean()), float(lat.mean()), 38.0)
    assert r.heading == pytest.approx(want, abs=0.05)
    assert "local azimuth -10.4" in r.heading_source
    # both cover the window: the one closer to the middle date (2022-07-31 12:00) wins
    win = window_polygon(449000, 3080000, 450000, 3081000)
    sel = S.select_for_window(cat, win, "2022-07-01", "2022-08-31", "ASCENDING", rule="extent")
    assert sel.status == "scene" and sel.chosen.acquisition == t2 and sel.grid.res == 30.0
    out = S.write_selection(sel, tmp_path / "o.tif", extra_tags={"LAKE_ID": "x"})
    # the window's along-track direction is the one the angle band was built with
    assert float(gdal.Info(out, format="json")["metadata"][""]["HEADING_LOCAL"]) == pytest.approx(local, abs=0.1)
    sc = open_scene(out)
    assert sc.metadata["LAKE_ID"] == "x"
    assert sc.bands == {"VV": 1, "VH": 2, "angle": 3}
    ds = gdal.Open(out)
    np.testing.assert_allclose(ds.GetRasterBand(1).ReadAsArray(), -14.0)


def test_earth_engine_synthesis_is_the_pixel_median(tmp_path):
    t = [dt.datetime(2022, 7, 1 + 12 * k, 0, 11, 31, tzinfo=UTC) for k in range(3)]
    rows = cols = 200
    left = np.zeros((rows, cols), bool)
    left[:, :120] = True  # each scene lacks a part of the window, together they cover it
    right = np.zeros((rows, cols), bool)
    right[:, 80:] = True
    mid = np.zeros((rows, cols), bool)
    mid[:, 130:170] = True
    for k, (m, v) in enumerate(((left, -10.0), (right, -16.0), (mid, -13.0))):
        write_ee(tmp_path / f"s{k}.tif", t[k], "DESCENDING", -170.0, vv_db=v, mask=m)
    cat = S.build_catalogue(tmp_path)
    win = window_polygon(447000 + 60 * 30, 3084000 - 150 * 30, 447000 + 140 * 30, 3084000 - 50 * 30)
    sel = S.select_for_window(cat, win, "2022-06-01", "2022-08-31", "DESCENDING", rule="extent")
    assert sel.synthesis and sel.units == "db" and len(sel.sources) == 3
    vv = sel.read("VV")
    xs, _ = sel.grid.xy()
    col = np.floor((xs - 447000) / 30).astype(int)  # source column of each window column
    valid = np.stack([~left[0, col], ~right[0, col], ~mid[0, col]])
    vals = np.array([-10.0, -16.0, -13.0])
    expected = np.array([np.median(vals[valid[:, j]]) if valid[:, j].any() else np.nan for j in range(len(col))])
    np.testing.assert_allclose(vv[0], expected.astype(np.float32))
    assert sel.nodata_count == int(np.isnan(expected).sum()) * sel.grid.rows == 0
    assert sel.tags()["UNITS"] == "db"


def test_hyp3_product_folder(tmp_path):
    stem = "S1A_IW_20220725T122232_DVP_RTC20_G_gpuned_1A2B"
    d = tmp_path / stem
    gt = (CLIP_X0, 20.0, 0.0, CLIP_Y0, 0.0, -20.0)
    rng = np.random.default_rng(3)
    power = rng.gamma(4.0, 0.05, (60, 80)).astype(np.float32)
    write_tif(d / f"{stem}_VV.tif", power, gt, nodata=0)
    write_tif(d / f"{stem}_VH.tif", power / 5, gt, nodata=0)
    write_tif(d / f"{stem}_inc_map.tif", rng.uniform(0.2, 1.4, (60, 80)).astype(np.float32), gt)  # local, radians
    write_tif(d / f"{stem}_ls_map.tif", np.ones((60, 80), np.uint8), gt, dtype=gdal.GDT_Byte)
    write_tif(d / f"{stem}_dem.tif", np.full((60, 80), 4500, np.float32), gt)
    (d / f"{stem}.README.md.txt").write_text(
        "The source granule used to generate the products contained in this folder is:\n"
        "S1A_IW_GRDH_1SDV_20220725T122232_20220725T122257_044257_0547D4_1A2B\n")
    cat = S.build_catalogue(tmp_path)
    assert len(cat) == 1
    r = cat[0]
    assert r.scene_id == stem and r.fmt == "hyp3" and r.usable
    assert set(r.files) == {"VV", "VH", "angle", "ls_map"}
    assert r.files["VH"][0].endswith("_VH.tif") and r.files["angle"][0].endswith("_inc_map.tif")
    assert r.acquisition == dt.datetime(2022, 7, 25, 12, 22, 32, tzinfo=UTC)
    # relative orbit from the granule's absolute orbit, consistent with the time-based rule
    assert r.relative_orbit == 85 and r.orbit_source.startswith("absolute orbit 44257")
    assert M.orbit_from_time("S1A", r.acquisition)[1] == 85
    # no pass in HyP3 metadata: local solar time, stated
    assert r.orbit_pass == "ASCENDING" and r.pass_source.startswith("local solar time 18:08")
    # the local incidence map follows terrain: rejected, orbit model used, both stated
    assert "angle band unusable" in r.heading_source and "pass and latitude" in r.heading_source


def test_generic_tags(tmp_path):
    tags = {"PASS": "DESCENDING", "ACQUISITION_TIME": "2022-07-28T00:11:31Z", "HEADING": "-167.5",
            "RELATIVE_ORBIT": "121", "PLATFORM": "Sentinel-1A"}
    write_tif(tmp_path / "scene.tif", np.full((30, 30), -15, np.float32), (CLIP_X0, 20, 0, CLIP_Y0, 0, -20),
              tags=tags)
    r = S.build_catalogue(tmp_path)[0]
    assert (r.orbit_pass, r.pass_source) == ("DESCENDING", "metadata (PASS)")
    assert (r.heading, r.heading_source) == (-167.5, "metadata (HEADING)")
    assert (r.relative_orbit, r.platform) == (121, "S1A") and r.time_source == "metadata (ACQUISITION_TIME)"


def test_bad_input_is_reported_and_the_rest_used(tmp_path):
    good = write_ee(tmp_path / "f" / "good.tif", dt.datetime(2022, 7, 25, 12, 22, 32, tzinfo=UTC), "ASCENDING", -10.4)
    (tmp_path / "f" / "broken.tif").write_bytes(b"not a tiff at all")
    write_tif(tmp_path / "f" / "mystery.tif", np.full((20, 20), 0.1, np.float32), EE_GT)  # no time, no pass
    write_tif(tmp_path / "f" / "S1A_20220725T122232_DSC_x.tif", np.full((20, 20), 0.1, np.float32), EE_GT)
    write_tif(tmp_path / "f" / "nocrs_20220725T122232_ASC.tif", np.full((20, 20), 0.1, np.float32), EE_GT, epsg=None)
    logs = []
    cat = S.build_catalogue(tmp_path / "f", log=logs.append)
    problems = {os.path.basename(r.path): "; ".join(r.problems) for r in cat}
    assert problems["good.tif"] == ""
    assert "cannot" in problems["broken.tif"]
    assert "no acquisition time" in problems["mystery.tif"] and "no pass information" in problems["mystery.tif"]
    assert "pass conflict" in problems["S1A_20220725T122232_DSC_x.tif"] and "18:08" in problems[
        "S1A_20220725T122232_DSC_x.tif"]
    assert "no coordinate reference system" in problems["nocrs_20220725T122232_ASC.tif"]
    assert sum(m.startswith("Warning:") for m in logs) == 4
    win = window_polygon(449000, 3080000, 450000, 3081000)
    sel = S.select_for_window(cat, win, "2022-07-01", "2022-08-31", "ASCENDING", rule="extent")
    assert sel.status == "scene" and sel.chosen.path == good
    rows = S.catalogue_rows(cat, [("a", {"ASCENDING": sel})])
    assert {r["status"] for r in rows if not r["files"].endswith("good.tif")} == {"excluded"}


def test_mixed_crs_scenes_share_one_grid(tmp_path):
    t1 = dt.datetime(2022, 7, 13, 12, 22, 32, tzinfo=UTC)
    t2 = dt.datetime(2022, 7, 25, 12, 22, 32, tzinfo=UTC)
    write_ee(tmp_path / "utm.tif", t1, "ASCENDING", -10.4, vv_db=-10.0)
    # the same area in geographic coordinates (about 27.86 N), 0.0003 deg pixels
    gt = (86.45, 0.0003, 0.0, 27.88, 0.0, -0.0003)
    write_ee(tmp_path / "geo.tif", t2, "ASCENDING", -10.4, vv_db=-20.0, epsg=4326, gt=gt, size=200)
    logs = []
    cat = S.build_catalogue(tmp_path, log=logs.append)
    assert any("several CRSs" in m for m in logs)
    win = window_polygon(449000, 3080000, 450000, 3081000)
    sel = S.select_for_window(cat, win, "2022-07-01", "2022-08-31", "ASCENDING", rule="extent")
    assert lg.srs_from_wkt(sel.grid.srs_wkt).GetAuthorityCode(None) == "32645"  # the metric CRS
    assert sel.status == "scene" and sel.chosen.acquisition == t2  # closer to 2022-07-31, warped onto UTM
    np.testing.assert_allclose(sel.read("VV"), -20.0)


def test_empty_folder_no_dates_and_bad_dates(tmp_path, tsho_cat, full_cover_grid):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing here")
    with pytest.raises(GlasarError, match="no raster file"):
        S.build_catalogue(tmp_path / "empty")
    with pytest.raises(GlasarError, match="does not exist"):
        S.build_catalogue(tmp_path / "missing")
    assert S.candidates_for(tsho_cat, "2019-01-01", "2019-12-31") == []
    sel = S.select_for_window(tsho_cat, full_cover_grid, "2019-01-01", "2019-12-31", "ASCENDING")
    assert sel.status == "none" and "between 2019-01-01 and 2019-12-31" in sel.message
    with pytest.raises(GlasarError):
        sel.read("VV")
    with pytest.raises(GlasarError, match="before START"):
        S.date_range("2022-08-01", "2022-07-01")
    with pytest.raises(GlasarError, match="YYYY-MM-DD"):
        S.date_range("July", "2022-07-01")
    assert S.date_range("2019-06-01", "2019-08-30")[2] == dt.datetime(2019, 7, 16, tzinfo=UTC)  # original's middle


def test_output_folder_inside_input_is_skipped(tmp_path, tsho_dir):
    d = tmp_path / "scenes"
    shutil.copytree(tsho_dir, d)
    (d / "out").mkdir()
    shutil.copy(d / "S1A_20220725T122232_ASC_RTC20_gamma0_VV_tshoRolpa.tif", d / "out" / "x_ASC_20220725T122232.tif")
    assert len(S.build_catalogue(d, exclude_dirs=[str(d / "out")])) == 6
    assert len(S.build_catalogue(d)) == 7


def test_multiband_export_named_with_a_polarisation(tmp_path):
    # 'export_VV_VH.tif' holds both polarisations: band descriptions win over the name
    write_ee(tmp_path / "S1_export_VV_VH.tif", dt.datetime(2022, 7, 25, 12, 22, 32, tzinfo=UTC), "ASCENDING", -10.4)
    r = S.build_catalogue(tmp_path)[0]
    assert r.files["VV"][1] == 1 and r.files["VH"][1] == 2 and r.files["angle"][1] == 3
