"""Scene catalogue and per-pass scene choice for each lake window (Wu et al. 2025, section 1).

Catalogue (:func:`build_catalogue`): every raster under a folder (recursive) or in a list is
described once from metadata, without reading backscatter pixels. Understood layouts:

- Earth Engine exports: one file with bands VV, VH, angle; tags such as
  ``orbitProperties_pass``, ``system:time_start``, ``relativeOrbitNumber_start``,
  ``system:index`` when the exporter kept them;
- ASF HyP3 RTC products: ``<name>_VV.tif``, ``<name>_VH.tif``, ``<name>_inc_map.tif``,
  ``<name>_ls_map.tif`` grouped into one scene; the README / XML next to them names the source
  granule (platform, start time, absolute orbit);
- generic GeoTIFFs with tags PASS, ACQUISITION_TIME, HEADING (and RELATIVE_ORBIT, PLATFORM);
- Sentinel-1 file-name patterns (SAFE / HyP3 names, ``S1A_20220725T122232_ASC_...``).

Pass: metadata, else the file name, else the local solar time of the acquisition
(:func:`s1_metadata.pass_from_local_time`); a scene whose pass cannot be told is kept out and
the catalogue says why. Heading: metadata, else the incidence-angle gradient (a few single-pixel
reads of the angle band), else the pass and the latitude. Each record states its sources.

Choice per pass and window (:func:`select_for_window`, the original's rules without its quirks):
numNodata = invalid pixels of the co-polarised band inside the window (nearest-neighbour read of
the window only: outside the footprint, border noise, and in HyP3 products the layover/shadow
pixels set to nodata); among the scenes with numNodata = 0 (or at most ``max_nodata_fraction``
of the window, the later variant's ``Nodata_tore``) the one closest to the middle date
``start + (end - start) / 2`` wins; if none qualifies, the per-pixel median of all the pass's
scenes reaching the window is used ("synthesis", masked pixels ignored, all bands including
angle). Dates are inclusive; the middle date of 2019-06-01..2019-08-30 is 2019-07-16 as in the
original.

Use lake by lake (e.g. from the mapping pipeline)::

    catalogue = build_catalogue(folder_or_paths, log=print)          # once per run
    sels = select_area(catalogue, lake_wgs84, start, end)             # {pass: Selection}, one grid
    sel = sels["ASCENDING"]; sel.status                               # 'scene' | 'synthesis' | 'none'
    arr = sel.read("VV", grid)                                        # window values (median if synthesis)
    write_selection(sel, path, pad_px=8)                              # GeoTIFF + tags for open_scene
"""
import csv
import datetime as _dt
import math
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, ogr, osr

from . import GlasarError
from . import lake_geometry as lg
from . import s1_metadata as s1
from . import units as U
from .grid import Grid, make_grid, raster_footprint, warp_band
from .sar_io import normalise_tags, open_scene, parse_pass, parse_time

gdal.UseExceptions()

RASTER_EXTENSIONS = (".tif", ".tiff", ".vrt", ".img")
POL_BANDS = ("VV", "VH", "HH", "HV")
OUTPUT_BANDS = ("VV", "VH", "HH", "HV", "angle")
WINDOW_RULES = ("lake", "extent")
PLATFORMS = ("any", "S1A", "S1B", "S1C", "S1D")
# HyP3 companions that are not scenes and carry nothing the selection needs.
_IGNORED_ROLES = ("dem", "area", "rgb")
_ROLE_TAILS = (("inc", "map", "ell"), ("inc", "map"), ("ls", "map"), ("dem",), ("area",), ("rgb",))
_ROLE_NAMES = {("inc", "map", "ell"): "angle_ell", ("inc", "map"): "angle_local", ("ls", "map"): "ls_map",
               ("dem",): "dem", ("area",): "area", ("rgb",): "rgb"}

STATUS_CHOSEN = "chosen"
STATUS_SYNTHESIS = "in synthesis"
STATUS_NOT_CHOSEN = "not chosen"
STATUS_EXCLUDED = "excluded"


def _fmt_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else ""


@dataclass
class SceneRecord:
    """One acquisition: its files, what the metadata say, and what is wrong with it."""

    scene_id: str
    path: str  # main file (co-polarised band or the multi-band export)
    files: dict = field(default_factory=dict)  # 'VV'/'VH'/'angle'/'ls_map' -> (path, 1-based band)
    fmt: str = ""  # 'earth engine', 'hyp3', 'generic'
    platform: str = ""
    acquisition: _dt.datetime = None  # UTC
    time_source: str = ""
    orbit_pass: str = ""
    pass_source: str = ""
    relative_orbit: int = None
    orbit_source: str = ""
    heading: float = None
    heading_source: str = ""
    angle_kind: str = ""  # 'ellipsoid' (Earth Engine angle, HyP3 inc_map_ell) or 'local' (HyP3 inc_map)
    srs_wkt: str = ""
    geotransform: tuple = None
    size: tuple = None
    footprint_wkt: str = ""  # WGS 84, lon/lat order
    centre_lonlat: tuple = None
    nodata: dict = field(default_factory=dict)  # band name -> nodata value
    units_hint: str = ""
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def usable(self):
        return not self.problems

    @property
    def acquisition_time(self):
        return _fmt_time(self.acquisition)

    @property
    def all_paths(self):
        return sorted({p for p, _ in self.files.values()} | ({self.path} if self.path else set()))

    def footprint(self):
        if not self.footprint_wkt:
            return None
        g = ogr.CreateGeometryFromWkt(self.footprint_wkt)
        return g

    def coverage_band(self):
        for b in POL_BANDS:
            if b in self.files:
                return b
        return None

    def crs_name(self):
        if not self.srs_wkt:
            return ""
        srs = lg.srs_from_wkt(self.srs_wkt)
        code = srs.GetAuthorityCode(None)
        return f"{srs.GetAuthorityName(None)}:{code}" if code else (srs.GetName() or "custom")


# ----------------------------------------------------------------------------------------------
# discovery and grouping
# ----------------------------------------------------------------------------------------------
def discover_rasters(inputs, exclude_dirs=()):
    """Raster files under folders (recursive) and listed files, sorted, without duplicates.

    Hidden folders/files and ``exclude_dirs`` are skipped. Raises GlasarError when a listed path
    does not exist.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    excl = [os.path.abspath(d) for d in exclude_dirs if d]
    found = []
    for item in inputs or []:
        item = str(item)
        if not item:
            continue
        if os.path.isdir(item):
            for root, dirs, files in os.walk(item):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and not any(os.path.abspath(os.path.join(root, d)) == e for e in excl))
                for f in sorted(files):
                    if not f.startswith(".") and f.lower().endswith(RASTER_EXTENSIONS):
                        found.append(os.path.join(root, f))
        elif os.path.isfile(item):
            found.append(item)
        else:
            raise GlasarError(f"{item} does not exist")
    seen, out = set(), []
    for f in found:
        a = os.path.abspath(f)
        if a not in seen:
            seen.add(a)
            out.append(a)
    return out


def _role_and_key(path):
    """(role, group key) of a file: role is a polarisation, an auxiliary layer or 'scene'."""
    stem = os.path.splitext(os.path.basename(path))[0]
    tokens = stem.split("_")
    role = "scene"
    low = [t.lower() for t in tokens]
    for tail in _ROLE_TAILS:
        n = len(tail)
        if len(low) > n and tuple(low[-n:]) == tail:
            role = _ROLE_NAMES[tail]
            tokens = tokens[:-n]
            break
    if role == "scene":
        pols = [i for i, t in enumerate(tokens) if t.upper() in POL_BANDS]
        if pols:
            role = tokens[pols[-1]].upper()
            del tokens[pols[-1]]
    key = "_".join(tokens) or stem
    return role, (os.path.dirname(os.path.abspath(path)), key)


def group_files(paths):
    """Group files of one acquisition (HyP3 ``_VV``/``_VH``/``_inc_map``/``_ls_map``)."""
    groups = {}
    for p in paths:
        role, key = _role_and_key(p)
        groups.setdefault(key, []).append((role, p))
    return groups


# ----------------------------------------------------------------------------------------------
# metadata
# ----------------------------------------------------------------------------------------------
_TAG_PASS = ("PASS", "ORBITPROPERTIES_PASS", "ORBIT_PASS", "FLIGHT_DIRECTION", "ORBIT_DIRECTION")
_TAG_TIME = ("ACQUISITION_TIME", "SYSTEM:TIME_START", "SYSTEM_TIME_START", "ACQUISITION_START", "START_TIME")
_TAG_HEADING = ("HEADING", "PLATFORM_HEADING", "PLATFORMHEADING")
_TAG_RELORB = ("RELATIVE_ORBIT", "RELATIVEORBITNUMBER_START", "RELATIVEORBITNUMBER", "TRACK")
_TAG_PLATFORM = ("PLATFORM", "PLATFORM_NUMBER", "MISSION", "MISSIONID", "SPACECRAFT")
_TAG_INDEX = ("SYSTEM:INDEX", "SYSTEM_INDEX", "PRODUCT_ID", "GRANULE", "SOURCE_GRANULE")


def _tags(ds):
    md = {}
    for domain in (None, "IMAGERY"):
        try:
            items = ds.GetMetadata(domain) if domain else ds.GetMetadata()
        except RuntimeError:
            items = None
        for k, v in normalise_tags(items).items():
            md.setdefault(k, v)
    return md


def _first(tags, keys):
    for k in keys:
        v = tags.get(k)
        if v not in (None, ""):
            return k, v
    return None, None


def _sidecar_texts(folder, key_stem, files, listing=None):
    """Text of HyP3-style sidecars (README, product/ArcGIS XML) of a scene, small files only."""
    out = []
    candidates = set()
    try:
        names = listing[folder] if listing is not None and folder in listing else os.listdir(folder)
        if listing is not None:
            listing[folder] = names
    except OSError:
        return out
    for n in names:
        low = n.lower()
        if not n.startswith(key_stem) or low.endswith(".aux.xml"):
            continue
        if low.endswith((".readme.md.txt", ".txt", ".xml", ".md")):
            candidates.add(os.path.join(folder, n))
    for f in files:
        for ext in (".xml",):
            if os.path.exists(f + ext):
                candidates.add(f + ext)
    for c in sorted(candidates):
        try:
            if os.path.getsize(c) <= 2_000_000:
                with open(c, "r", encoding="utf-8", errors="replace") as fh:
                    out.append((os.path.basename(c), fh.read()))
        except OSError:
            pass
    return out


_SIDECAR_PASS = re.compile(r"(?:pass|flight[ _]?direction|orbit[ _]?direction)\W{0,40}?(ascending|descending)",
                           re.IGNORECASE)


def _circular_mean(angles):
    a = np.radians(np.asarray(angles, dtype=np.float64))
    return s1.wrap180(math.degrees(math.atan2(np.mean(np.sin(a)), np.mean(np.cos(a)))))


def _angle_samples(path, band, n=7):
    """Angle values at an n x n lattice of single pixels and their lon/lat (cheap point reads)."""
    ds = gdal.Open(str(path))
    b = ds.GetRasterBand(band)
    nd = b.GetNoDataValue()
    gt = ds.GetGeoTransform()
    nx, ny = ds.RasterXSize, ds.RasterYSize
    cols = np.unique(np.clip(np.round(np.linspace(0, nx - 1, n)).astype(int), 0, nx - 1))
    rows = np.unique(np.clip(np.round(np.linspace(0, ny - 1, n)).astype(int), 0, ny - 1))
    xs, ys, vals = [], [], []
    for r in rows:
        for c in cols:
            v = float(b.ReadAsArray(int(c), int(r), 1, 1)[0, 0])
            if nd is not None and v == nd:
                continue
            xs.append(gt[0] + (c + 0.5) * gt[1] + (r + 0.5) * gt[2])
            ys.append(gt[3] + (c + 0.5) * gt[4] + (r + 0.5) * gt[5])
            vals.append(v)
    if not vals:
        return np.array([]), np.array([]), np.array([])
    src = lg.srs_from_wkt(ds.GetProjection())
    tr = osr.CoordinateTransformation(src, lg.WGS84)
    pts = tr.TransformPoints(list(zip(xs, ys)))
    lon = np.array([p[0] for p in pts])
    lat = np.array([p[1] for p in pts])
    return lon, lat, np.array(vals)


def _describe(rec, members, log, listing=None):
    """Fill a record from its files (GDAL metadata only, plus angle point samples)."""
    tags = {}
    sar_files = [(r, p) for r, p in members if r in POL_BANDS or r == "scene"]
    aux_files = [(r, p) for r, p in members if r not in POL_BANDS and r != "scene"]
    first_scene = None
    for role, p in sorted(sar_files, key=lambda rp: (rp[0] not in ("VV", "HH", "scene"), rp[1])):
        try:
            sc = open_scene(p)
        except GlasarError as exc:
            rec.problems.append(str(exc))
            continue
        except Exception as exc:  # GDAL can fail in many ways on a broken file
            rec.problems.append(f"cannot read {os.path.basename(p)}: {exc}")
            continue
        if first_scene is None:
            first_scene = sc
        elif (lg.srs_from_wkt(sc.srs_wkt).IsSame(lg.srs_from_wkt(first_scene.srs_wkt)) != 1
              or any(abs(a - b) > 1e-6 * max(1.0, abs(a)) for a, b in zip(sc.geotransform, first_scene.geotransform))):
            rec.notes.append(f"{os.path.basename(p)} is on another grid than {first_scene.name}")
        single_pol = sum(n in POL_BANDS for n in sc.bands) == 1
        for name, idx in sc.bands.items():
            # a file with one polarisation named ..._VH is VH, whatever its band says
            key = role if (single_pol and role in POL_BANDS and name in POL_BANDS) else name
            if key not in rec.files:
                rec.files[key] = (p, idx)
                rec.nodata[key] = sc.nodata.get(idx)
        tags.update({k: v for k, v in normalise_tags(sc.metadata).items() if k not in tags})
        rec.units_hint = (rec.units_hint + " " + sc.units_hint).strip()
    if first_scene is None:
        if not rec.problems:
            rec.problems.append("no SAR band (VV/VH) among the files of this scene")
        return
    if first_scene.metadata.get("SYNTHESIS") is not None and first_scene.metadata.get("SOURCE"):
        rec.notes.append("a GLaSAR selection output (tags SOURCE/SYNTHESIS)")
    rec.path = first_scene.path
    rec.srs_wkt, rec.geotransform, rec.size = first_scene.srs_wkt, first_scene.geotransform, first_scene.size
    for role, p in aux_files:
        if role in _IGNORED_ROLES:
            continue
        try:
            ds = gdal.Open(p)
            if ds is None or not ds.GetProjection():
                raise RuntimeError("no CRS")
        except RuntimeError as exc:
            rec.notes.append(f"{os.path.basename(p)} ignored: {exc}")
            continue
        if role == "ls_map":
            rec.files["ls_map"] = (p, 1)
        elif role in ("angle_ell", "angle_local"):
            # prefer the ellipsoid incidence; a local (terrain) map only if nothing better
            if "angle" not in rec.files or role == "angle_ell":
                rec.files["angle"] = (p, 1)
                rec.nodata["angle"] = ds.GetRasterBand(1).GetNoDataValue()
                rec.angle_kind = "ellipsoid" if role == "angle_ell" else "local"
        tags.update({k: v for k, v in _tags(ds).items() if k not in tags})
    if "angle" in rec.files and not rec.angle_kind:
        rec.angle_kind = "ellipsoid"  # an 'angle' band of an export (Earth Engine: ellipsoid incidence)
    rec.fmt = ("hyp3" if any(r.startswith("angle") or r == "ls_map" for r, _ in aux_files)
               or s1.HYP3_NAME.search(rec.scene_id) else
               "earth engine" if "angle" in rec.files and rec.files["angle"][0] == rec.path else "generic")

    try:
        fp = raster_footprint(rec.path, lg.WGS84)
        rec.footprint_wkt = fp.ExportToWkt()
        c = fp.Centroid()
        rec.centre_lonlat = (c.GetX(), c.GetY())
    except Exception as exc:  # CRS that cannot be transformed to WGS 84
        rec.problems.append(f"footprint cannot be computed in WGS 84: {exc}")
        return

    folder = os.path.dirname(rec.path)
    sidecars = _sidecar_texts(folder, rec.scene_id, rec.all_paths, listing)
    name_info = {}
    tag_key, index_name = _first(tags, _TAG_INDEX)
    texts = ([("tag " + tag_key, index_name)] if index_name else []) + sidecars + [
        ("file name", " ".join([rec.scene_id] + [os.path.basename(p) for p in rec.all_paths]))]
    parsed = [(label, s1.parse_product_name(text)) for label, text in texts]
    for wanted in (lambda i: i.get("kind") == "safe", lambda i: i.get("start"), lambda i: i.get("platform")):
        hit = next(((label, i) for label, i in parsed if wanted(i)), None)
        if hit:
            name_info = dict(hit[1], where=hit[0])
            break

    # time
    k, v = _first(tags, _TAG_TIME)
    t = parse_time(v) if v else ""
    if t:
        rec.time_source = f"metadata ({k})"
    elif name_info.get("start"):
        t = _fmt_time(name_info["start"])
        rec.time_source = f"product name ({name_info['where']})"
    else:
        t = parse_time(os.path.basename(rec.path)) or parse_time(rec.scene_id)
        rec.time_source = "file name" if t else ""
    if t:
        rec.acquisition = _dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
    else:
        rec.problems.append("no acquisition time (tag ACQUISITION_TIME, system:time_start or a "
                            "YYYYMMDDTHHMMSS stamp in the name)")

    # platform
    k, v = _first(tags, _TAG_PLATFORM)
    plat = ""
    if v:
        m = re.search(r"S1[A-D]|SENTINEL-1([A-D])|^([A-D])$", v.strip().upper())
        if m:
            plat = m.group(0) if m.group(0).startswith("S1") else "S1" + (m.group(1) or m.group(2))
    rec.platform = plat or name_info.get("platform", "")

    # pass
    k, v = _first(tags, _TAG_PASS)
    p = parse_pass(v) if v else ""
    if p:
        rec.orbit_pass, rec.pass_source = p, f"metadata ({k})"
    else:
        for label, text in sidecars:
            m = _SIDECAR_PASS.search(text)
            if m:
                rec.orbit_pass, rec.pass_source = m.group(1).upper(), f"metadata ({label})"
                break
    if not rec.orbit_pass:
        p = parse_pass(os.path.basename(rec.path)) or parse_pass(rec.scene_id)
        if p:
            rec.orbit_pass, rec.pass_source = p, "file name"
    solar_pass, solar_why = "", ""
    if rec.acquisition is not None:
        lon, lat = rec.centre_lonlat
        solar_pass, solar_why = s1.pass_from_local_time(rec.acquisition, lon, lat)
    if not rec.orbit_pass:
        if solar_pass:
            rec.orbit_pass, rec.pass_source = solar_pass, solar_why
        else:
            rec.problems.append("no pass information (tag PASS = ASCENDING/DESCENDING, ASC/DSC in the name, "
                                "or an acquisition time)" + (f"; {solar_why}" if solar_why else ""))
    elif solar_pass and solar_pass != rec.orbit_pass:
        rec.problems.append(f"pass conflict: {rec.pass_source} says {rec.orbit_pass} but the {solar_why} "
                            f"means {solar_pass}; correct the PASS tag or the name")

    # relative orbit
    k, v = _first(tags, _TAG_RELORB)
    if v and re.fullmatch(r"\s*\d{1,3}(\.0+)?\s*", str(v)):
        rec.relative_orbit, rec.orbit_source = int(float(v)), f"metadata ({k})"
    elif name_info.get("relative_orbit"):
        rec.relative_orbit = name_info["relative_orbit"]
        rec.orbit_source = f"absolute orbit {name_info['absolute_orbit']} ({name_info['where']})"
    elif rec.acquisition is not None and rec.platform in s1.ANX_REFERENCE:
        try:
            absolute, rel, since = s1.orbit_from_time(rec.platform, rec.acquisition)
            rec.relative_orbit = rel
            rec.orbit_source = (f"acquisition time ({since / 60:.1f} min after the ascending node of "
                                f"{rec.platform} orbit {absolute})")
        except GlasarError as exc:
            rec.orbit_source = f"unknown: {exc}"

    # heading: metadata > incidence gradient > pass and latitude
    k, v = _first(tags, _TAG_HEADING)
    heading = None
    try:
        heading = float(v) if v not in (None, "") else None
    except ValueError:
        rec.notes.append(f"tag {k}={v!r} is not a number")
    if heading is not None and math.isfinite(heading):
        rec.heading, rec.heading_source = s1.wrap180(heading), f"metadata ({k})"
        return
    grad_why = ""
    if "angle" in rec.files:
        try:
            lon, lat, vals = _angle_samples(*rec.files["angle"])
            h, local, r2 = s1.heading_from_incidence(lon, lat, vals)
            rec.heading = h
            rec.heading_source = (f"incidence-angle gradient ({len(vals)} samples, R2 {r2:.4f}, "
                                  f"local azimuth {local:.2f})")
            if rec.orbit_pass:
                expected = "ASCENDING" if abs(h) < 90 else "DESCENDING"
                if expected != rec.orbit_pass:
                    rec.problems.append(f"heading {h:.1f} from the angle band contradicts pass {rec.orbit_pass}")
            return
        except (GlasarError, RuntimeError) as exc:
            grad_why = f"angle band unusable for the heading ({exc}); "
    if rec.orbit_pass:
        try:
            rec.heading = s1.heading_from_pass_latitude(rec.orbit_pass, rec.centre_lonlat[1])
            rec.heading_source = grad_why + f"pass and latitude ({rec.centre_lonlat[1]:.2f}, orbit model)"
        except GlasarError as exc:
            rec.heading_source = grad_why + f"unknown: {exc}"
    else:
        rec.heading_source = grad_why + "unknown (no pass)"


def build_catalogue(inputs, log=None, exclude_dirs=()):
    """Describe every Sentinel-1 scene under folders / in a list of files (metadata only).

    Returns ``list[SceneRecord]`` sorted by acquisition time (unknown times last). Unreadable
    files, files without a CRS, without a SAR band, time or pass become records with
    ``problems``; the others stay usable. Raises GlasarError when nothing was found at all.
    """
    log = log or (lambda msg: None)
    paths = discover_rasters(inputs, exclude_dirs)
    if not paths:
        where = inputs if isinstance(inputs, (str, os.PathLike)) else ", ".join(map(str, inputs or [])) or "(nothing)"
        raise GlasarError(f"no raster file (.tif, .tiff, .vrt, .img) found in {where}")
    records, listing = [], {}
    for (folder, key), members in sorted(group_files(paths).items()):
        roles = [r for r, _ in members]
        if all(r in _IGNORED_ROLES or r.startswith("angle") or r == "ls_map" for r in roles):
            if not any(r in _IGNORED_ROLES for r in roles):
                log(f"Warning: {', '.join(os.path.basename(p) for _, p in members)}: auxiliary layer(s) "
                    "without a backscatter file; ignored")
            continue
        main = next((p for r, p in members if r in ("VV", "HH", "scene")), members[0][1])
        rec = SceneRecord(scene_id=key, path=main)
        _describe(rec, members, log, listing)
        records.append(rec)
        if rec.problems:
            log(f"Warning: {rec.scene_id}: {'; '.join(rec.problems)}")
    latest = _dt.datetime.max.replace(tzinfo=_dt.timezone.utc)
    records.sort(key=lambda r: (r.acquisition is None, r.acquisition or latest, r.scene_id))
    crs = Counter(r.crs_name() for r in records if r.usable)
    if len(crs) > 1:
        log("Scenes come in several CRSs (" + ", ".join(f"{c} x{n}" for c, n in crs.most_common())
            + "): each window is read onto one grid, the others are warped to it")
    return records


# ----------------------------------------------------------------------------------------------
# windows and grids
# ----------------------------------------------------------------------------------------------
def _to_datetime(value, end=False):
    """date/datetime/ISO text -> aware datetime at 00:00 UTC of that day (or the instant)."""
    if value is None or value == "":
        raise GlasarError("START and END dates are required")
    if isinstance(value, _dt.datetime):
        return s1._as_utc(value)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc)
    text = str(value).strip()
    m = re.match(r"(\d{4})-?(\d{2})-?(\d{2})", text)
    if not m:
        raise GlasarError(f"cannot read the date {value!r} (use YYYY-MM-DD)")
    try:
        return _dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=_dt.timezone.utc)
    except ValueError as exc:
        raise GlasarError(f"invalid date {value!r}: {exc}") from None


def date_range(start, end):
    """(start, end_exclusive, middle) datetimes; END is inclusive (whole day)."""
    s = _to_datetime(start)
    e = _to_datetime(end)
    if e < s:
        raise GlasarError(f"END ({e:%Y-%m-%d}) is before START ({s:%Y-%m-%d})")
    return s, e + _dt.timedelta(days=1), s + (e - s) / 2


def _metric(srs):
    return bool(srs.IsProjected()) and abs(srs.GetLinearUnits() - 1.0) < 1e-9


def window_grid(records, geom_wgs84, rule="lake", buffer_scale=1.0, resolution=0.0):
    """The window of an area on one metric grid shared by both passes.

    CRS: the most common CRS among ``records`` when it is metric (pixel size and lattice of its
    first scene, so no resampling shift), else the area's UTM zone at 10 m. Window (``rule``):
    'lake' = bounding box grown by ``1200 log5(A + 1) + 100`` m (times ``buffer_scale``), the
    original's AOI_buffer; 'extent' = the polygon's bounding box as is.
    """
    if rule not in WINDOW_RULES:
        raise GlasarError(f"unknown window rule {rule!r} (use {', '.join(WINDOW_RULES)})")
    metric = [r for r in records if r.srs_wkt and _metric(lg.srs_from_wkt(r.srs_wkt))]
    srs, res, align = None, resolution or 10.0, (None, None)
    if metric:
        name, _ = Counter(r.crs_name() for r in metric).most_common(1)[0]
        ref = next(r for r in metric if r.crs_name() == name)
        srs = lg.srs_from_wkt(ref.srs_wkt)
        gt = ref.geotransform
        if not resolution and abs(abs(gt[1]) - abs(gt[5])) < 1e-9 * abs(gt[1]) and gt[2] == 0 and gt[4] == 0:
            res, align = abs(gt[1]), (gt[0], gt[3])
        elif not resolution:
            res = min(abs(gt[1]), abs(gt[5]))
    if srs is None:
        srs = lg.local_metric_srs(geom_wgs84)
    geom = lg.transform_geometry(geom_wgs84, lg.WGS84, srs)
    margin = 0.0
    if rule == "lake":
        margin = lg.aoi_buffer_m(geom.GetArea() / 1e6) * buffer_scale
    return make_grid(lg.analysis_bounds(geom, margin), srs.ExportToWkt(), res, *align)


def grid_polygon_wgs84(grid):
    xmin, ymin, xmax, ymax = grid.bounds
    ring = ogr.Geometry(ogr.wkbLinearRing)
    steps = 8
    pts = ([(xmin + (xmax - xmin) * i / steps, ymin) for i in range(steps)]
           + [(xmax, ymin + (ymax - ymin) * i / steps) for i in range(steps)]
           + [(xmax - (xmax - xmin) * i / steps, ymax) for i in range(steps)]
           + [(xmin, ymax - (ymax - ymin) * i / steps) for i in range(steps)])
    for x, y in pts + [pts[0]]:
        ring.AddPoint_2D(x, y)
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    return lg.transform_geometry(poly, lg.srs_from_wkt(grid.srs_wkt), lg.WGS84)


def pad_grid(grid, pad_px):
    p = int(pad_px)
    if p <= 0:
        return grid
    return Grid(grid.srs_wkt, grid.x0 - p * grid.res, grid.y0 + p * grid.res, grid.res,
                grid.rows + 2 * p, grid.cols + 2 * p)


def _resampling_for(rec, grid, path):
    """'nearest' when the file sits on the grid's lattice (an exact crop), else 'bilinear'."""
    ds = gdal.Open(str(path))
    gt = ds.GetGeoTransform()
    same = lg.srs_from_wkt(ds.GetProjection()).IsSame(lg.srs_from_wkt(grid.srs_wkt)) == 1
    if same and gt[2] == 0 and gt[4] == 0 and abs(abs(gt[1]) - grid.res) < 1e-6 * grid.res \
            and abs(abs(gt[5]) - grid.res) < 1e-6 * grid.res:
        fx = ((gt[0] - grid.x0) / grid.res) % 1.0
        fy = ((gt[3] - grid.y0) / grid.res) % 1.0
        if min(fx, 1 - fx) < 1e-6 and min(fy, 1 - fy) < 1e-6:
            return "nearest"
    return "bilinear"


def read_band(rec, band, grid, resampling=None):
    """One band of a scene on grid (float32, NaN = nodata/outside). Reads only the window."""
    if band not in rec.files:
        raise GlasarError(f"{rec.scene_id} has no {band} band (it has {', '.join(sorted(rec.files))})")
    path, idx = rec.files[band]
    if resampling is None:
        resampling = "nearest" if band == "ls_map" else _resampling_for(rec, grid, path)
    return warp_band(path, idx, grid, resampling)


# ----------------------------------------------------------------------------------------------
# selection
# ----------------------------------------------------------------------------------------------
@dataclass
class Selection:
    """The scene (or the synthesis) used for one pass in one window, and why."""

    orbit_pass: str
    grid: Grid
    status: str  # 'scene', 'synthesis' or 'none'
    chosen: SceneRecord = None
    sources: list = field(default_factory=list)  # records used (one, or all for a synthesis)
    nodata_count: int = None  # invalid co-pol pixels in the window of the result
    window_pixels: int = 0
    reasons: dict = field(default_factory=dict)  # scene_id -> (status, reason)
    nodata_counts: dict = field(default_factory=dict)  # scene_id -> count
    days_from_middle: dict = field(default_factory=dict)
    middle: _dt.datetime = None
    start: _dt.datetime = None
    end: _dt.datetime = None
    message: str = ""
    units: str = ""  # units of the synthesis values; for a scene, those its metadata or name state ('' if none)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def synthesis(self):
        return self.status == "synthesis"

    @property
    def source_ids(self):
        return [r.scene_id for r in self.sources]

    @property
    def acquisition_time(self):
        """The scene's time; for a synthesis the median of the sources' times."""
        times = sorted(r.acquisition for r in self.sources if r.acquisition)
        if not times:
            return ""
        stamps = np.array([t.timestamp() for t in times])
        return _fmt_time(_dt.datetime.fromtimestamp(round(float(np.median(stamps))), _dt.timezone.utc))

    def local_heading(self):
        """Along-track direction at the window centre (the platform heading carried over the
        meridian convergence, :func:`s1_metadata.local_from_platform_heading`), with the window's
        mean ellipsoid incidence when the sources have one, else 37.8 deg (mid IW swath)."""
        if self.heading is None:
            return None
        xmin, ymin, xmax, ymax = self.grid.bounds
        tr = osr.CoordinateTransformation(lg.srs_from_wkt(self.grid.srs_wkt), lg.WGS84)
        lon, lat, _ = tr.TransformPoint(0.5 * (xmin + xmax), 0.5 * (ymin + ymax))
        inc = 37.8
        if self.sources and all(r.angle_kind == "ellipsoid" for r in self.sources) and "angle" in self.bands():
            a = self.read("angle")
            if np.isfinite(a).any():
                v = float(np.nanmean(a))
                inc = math.degrees(v) if v < 1.6 else v
        return s1.local_from_platform_heading(self.heading, lon, lat, inc)

    @property
    def heading(self):
        hs = [r.heading for r in self.sources if r.heading is not None]
        return _circular_mean(hs) if hs else None

    @property
    def heading_source(self):
        srcs = sorted({r.heading_source.split(" (")[0] for r in self.sources if r.heading is not None})
        if not srcs:
            return ""
        if len(self.sources) == 1:
            return self.sources[0].heading_source
        return f"mean of {len(self.sources)} scenes ({'; '.join(srcs)})"

    def bands(self):
        """Output bands every source has (VV, VH, HH, HV, angle)."""
        if not self.sources:
            return []
        return [b for b in OUTPUT_BANDS if all(b in r.files for r in self.sources)]

    def read(self, band, grid=None):
        """The band on grid (default: the window): the chosen scene's values, or the per-pixel
        median of the sources (in ``self.units`` for backscatter)."""
        grid = grid or self.grid
        if self.status == "none":
            raise GlasarError(f"no {self.orbit_pass.lower()} scene for this window: {self.message}")
        key = (band, grid)
        if key in self._cache:
            return self._cache[key]
        if self.status == "scene":
            arr = read_band(self.chosen, band, grid)
        else:
            arr = _median_of(self.sources, band, grid, self.units if band in POL_BANDS else "")
        self._cache[key] = arr
        return arr

    def release(self):
        """Drop cached window arrays (keep the decision and reasons), e.g. after writing."""
        self._cache.clear()

    def tags(self):
        """GDAL tags that describe the result (read back by sar_io.open_scene)."""
        rel = sorted({r.relative_orbit for r in self.sources if r.relative_orbit})
        plat = sorted({r.platform for r in self.sources if r.platform})
        t = {
            "PASS": self.orbit_pass,
            "ACQUISITION_TIME": self.acquisition_time,
            "HEADING": "" if self.heading is None else f"{self.heading:.4f}",
            "HEADING_SOURCE": self.heading_source,
            "HEADING_LOCAL": "" if self.heading is None else f"{self.local_heading():.4f}",
            "PASS_SOURCE": "; ".join(sorted({r.pass_source for r in self.sources})),
            "SOURCE": ";".join(self.source_ids),
            "SYNTHESIS": "1" if self.synthesis else "0",
            "NODATA_COUNT": "" if self.nodata_count is None else str(int(self.nodata_count)),
            "WINDOW_PIXELS": str(int(self.window_pixels)),
            "RELATIVE_ORBIT": ";".join(str(r) for r in rel),
            "PLATFORM": ";".join(plat),
            "DATE_START": _fmt_time(self.start)[:10] if self.start else "",
            "DATE_END": _fmt_time(self.end - _dt.timedelta(days=1))[:10] if self.end else "",
            "MIDDLE_DATE": _fmt_time(self.middle) if self.middle else "",
            "N_IMAGES": str(len(self.sources)),
        }
        if self.synthesis:
            t["ACQUISITION_TIME_RULE"] = "median of the synthesised scenes' times"
            t["ACQUISITION_TIMES"] = ";".join(r.acquisition_time for r in self.sources)
        if self.units:
            t["UNITS"] = self.units
        return t


def _window_units(rec, values):
    """Units of one scene's window values (detected; the metadata hint helps)."""
    try:
        unit, _ = U.detect_units(values, rec.units_hint)
        return unit
    except GlasarError:
        return None


def _median_of(records, band, grid, unit):
    """Per-pixel median of a band over scenes (NaN ignored). Backscatter goes through ``unit``:
    each scene's values are converted from its own (detected) units when they differ."""
    stack = []
    for rec in records:
        a = read_band(rec, band, grid)
        if band in POL_BANDS and unit:
            own = _window_units(rec, a)
            if own and own != unit:
                a = U.to_power(a, own)
                if unit == "db":
                    a = U.power_to_db(a)
                elif unit == "amplitude":
                    a = np.sqrt(a)
        stack.append(a.astype(np.float32))
    cube = np.stack(stack)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
            med = np.nanmedian(cube, axis=0)
    return med.astype(np.float32)


def _passes_filters(rec, orbit_pass, s, e, relative_orbit, platform):
    if not rec.usable:
        return STATUS_EXCLUDED, "; ".join(rec.problems)
    if rec.orbit_pass != orbit_pass:
        return None, None  # belongs to the other pass
    if not (s <= rec.acquisition < e):
        return STATUS_EXCLUDED, (f"acquired {rec.acquisition:%Y-%m-%d}, outside "
                                 f"{s:%Y-%m-%d}..{e - _dt.timedelta(days=1):%Y-%m-%d}")
    if relative_orbit:
        if rec.relative_orbit is None:
            return STATUS_EXCLUDED, f"relative orbit unknown (filter RELATIVE_ORBIT={relative_orbit})"
        if int(rec.relative_orbit) != int(relative_orbit):
            return STATUS_EXCLUDED, f"relative orbit {rec.relative_orbit}, not {relative_orbit}"
    if platform and platform != "any":
        if not rec.platform:
            return STATUS_EXCLUDED, f"platform unknown (filter PLATFORM={platform})"
        if rec.platform != platform:
            return STATUS_EXCLUDED, f"platform {rec.platform}, not {platform}"
    if rec.coverage_band() is None:
        return STATUS_EXCLUDED, "no co- or cross-polarised band"
    return "", ""


def candidates_for(catalogue, start, end, orbit_pass=None, relative_orbit=None, platform=None):
    """Usable records of a pass (or both) inside the dates and filters."""
    s, e, _ = date_range(start, end)
    passes = [orbit_pass] if orbit_pass else list(s1.PASSES)
    out = []
    for rec in catalogue:
        for p in passes:
            st, _ = _passes_filters(rec, p, s, e, relative_orbit, platform)
            if st == "":
                out.append(rec)
    return out


def select_for_window(catalogue, window, start, end, orbit_pass, *, relative_orbit=None, platform=None,
                      max_nodata_fraction=0.0, rule="lake", buffer_scale=1.0, resolution=0.0, log=None,
                      is_canceled=None):
    """Choose the scene of one pass for one window (original rules, see the module text).

    ``window``: a :class:`grid.Grid` or a polygon (OGR geometry, WGS 84 lon/lat) from which the
    window grid is made with :func:`window_grid`. Only windows are read: each candidate's
    co-polarised band with nearest-neighbour resampling to count its nodata pixels.
    Returns a :class:`Selection` (status 'none' with a message when nothing reaches the window).
    """
    orbit_pass = s1.normalise_pass(orbit_pass)
    if orbit_pass not in s1.PASSES:
        raise GlasarError("orbit_pass must be ASCENDING or DESCENDING")
    if not 0.0 <= float(max_nodata_fraction) < 1.0:
        raise GlasarError("the nodata tolerance must be in [0, 1)")
    log = log or (lambda msg: None)
    s, e, middle = date_range(start, end)
    if isinstance(window, Grid):
        grid = window
    else:
        grid = window_grid(candidates_for(catalogue, start, end, None, relative_orbit, platform), window,
                           rule, buffer_scale, resolution)
    win_wgs = grid_polygon_wgs84(grid)
    npx = grid.rows * grid.cols
    sel = Selection(orbit_pass, grid, "none", window_pixels=npx, middle=middle, start=s, end=e)
    reached = []
    for rec in catalogue:
        if is_canceled and is_canceled():
            raise GlasarError("cancelled")
        status, why = _passes_filters(rec, orbit_pass, s, e, relative_orbit, platform)
        if status is None:
            continue
        if status:
            sel.reasons[rec.scene_id] = (status, why)
            continue
        sel.days_from_middle[rec.scene_id] = abs((rec.acquisition - middle).total_seconds()) / 86400.0
        fp = rec.footprint()
        if fp is None or not fp.Intersects(win_wgs):
            sel.reasons[rec.scene_id] = (STATUS_EXCLUDED, "does not reach the window")
            continue
        try:
            arr = read_band(rec, rec.coverage_band(), grid, resampling="nearest")
        except GlasarError as exc:
            sel.reasons[rec.scene_id] = (STATUS_EXCLUDED, f"window unreadable: {exc}")
            log(f"Warning: {rec.scene_id}: window unreadable: {exc}")
            continue
        count = int(np.count_nonzero(~np.isfinite(arr)))
        sel.nodata_counts[rec.scene_id] = count
        if count == npx:
            sel.reasons[rec.scene_id] = (STATUS_EXCLUDED, "all nodata in the window")
            continue
        reached.append(rec)

    limit = float(max_nodata_fraction) * npx
    full = [r for r in reached if sel.nodata_counts[r.scene_id] <= limit]
    cov = "no nodata" if max_nodata_fraction == 0 else f"nodata <= {100 * max_nodata_fraction:g}% of the window"
    if full:
        best = min(full, key=lambda r: (sel.days_from_middle[r.scene_id], r.acquisition, r.scene_id))
        d_best = sel.days_from_middle[best.scene_id]
        sel.status, sel.chosen, sel.sources = "scene", best, [best]
        sel.units = U.units_from_text(best.units_hint) or ""  # written as the UNITS tag when named
        sel.nodata_count = sel.nodata_counts[best.scene_id]
        for r in reached:
            n, d = sel.nodata_counts[r.scene_id], sel.days_from_middle[r.scene_id]
            if r is best:
                sel.reasons[r.scene_id] = (STATUS_CHOSEN, f"{cov} ({n} px) and closest to the middle date "
                                                          f"({d:.2f} days)")
            elif r in full:
                sel.reasons[r.scene_id] = (STATUS_NOT_CHOSEN, f"{cov} ({n} px) but {d:.2f} days from the middle "
                                                              f"date (chosen: {d_best:.2f})")
            else:
                sel.reasons[r.scene_id] = (STATUS_NOT_CHOSEN, f"{n} nodata pixels of {npx} in the window")
        sel.message = f"{best.scene_id}: {cov}, {d_best:.2f} days from the middle date"
    elif reached:
        sel.status, sel.sources = "synthesis", list(reached)
        band = next(b for b in POL_BANDS if all(b in r.files for r in reached)) \
            if any(all(b in r.files for r in reached) for b in POL_BANDS) else None
        if band is None:
            raise GlasarError("the scenes of the synthesis share no polarisation")
        units = set()
        for r in reached:
            units.add(_window_units(r, read_band(r, band, grid)))
        units.discard(None)
        sel.units = units.pop() if len(units) == 1 else "power"
        if len(units) > 1:
            log(f"Warning: {orbit_pass.lower()} synthesis mixes units; the median is taken in linear power")
        med = sel.read(band)
        sel.nodata_count = int(np.count_nonzero(~np.isfinite(med)))
        for r in reached:
            sel.reasons[r.scene_id] = (STATUS_SYNTHESIS, f"no scene with {cov}: {sel.nodata_counts[r.scene_id]} "
                                                         f"nodata pixels of {npx}; median of {len(reached)} scenes")
        sel.message = (f"synthesis: median of {len(reached)} scenes (none with {cov}); "
                       f"{sel.nodata_count} nodata pixels remain")
        tracks = sorted({r.relative_orbit for r in reached if r.relative_orbit})
        if len(tracks) > 1:
            sel.message += (f"; it mixes relative orbits {', '.join(map(str, tracks))} (different geometry: "
                            "RELATIVE_ORBIT keeps one track)")
    else:
        in_pass = [sid for sid, (st, why) in sel.reasons.items()]
        unreadable = [f"{sid}: {why}" for sid, (st, why) in sel.reasons.items() if why.startswith("window unreadable")]
        sel.message = (f"no {orbit_pass.lower()} scene between {s:%Y-%m-%d} and "
                       f"{e - _dt.timedelta(days=1):%Y-%m-%d} reaches the window"
                       + (f" ({len(in_pass)} considered)" if in_pass else "")
                       + (f"; unreadable: {'; '.join(unreadable)}" if unreadable else ""))
    return sel


def select_area(catalogue, geom_wgs84, start, end, *, passes=s1.PASSES, relative_orbit=None, platform=None,
                max_nodata_fraction=0.0, rule="lake", buffer_scale=1.0, resolution=0.0, grid=None, log=None,
                is_canceled=None):
    """Both passes for one area (lake) on one shared grid: ``{pass: Selection}``."""
    if grid is None:
        grid = window_grid(candidates_for(catalogue, start, end, None, relative_orbit, platform), geom_wgs84,
                           rule, buffer_scale, resolution)
    return {p: select_for_window(catalogue, grid, start, end, p, relative_orbit=relative_orbit, platform=platform,
                                 max_nodata_fraction=max_nodata_fraction, log=log, is_canceled=is_canceled)
            for p in passes}


# ----------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------
def write_selection(selection, path, pad_px=0, bands=None, extra_tags=None):
    """Write the selection's window as a float32 GeoTIFF (NaN nodata, band descriptions VV/VH/
    angle, tags PASS, ACQUISITION_TIME, HEADING, SOURCE, SYNTHESIS, NODATA_COUNT ...).

    ``pad_px`` grows the written grid on every side (e.g. room for a speckle filter); the tags
    still describe the window. Written to a temporary file in the same folder, then renamed.
    """
    if selection.status == "none":
        raise GlasarError(f"nothing to write: {selection.message}")
    bands = list(bands or selection.bands())
    if not bands:
        raise GlasarError("the selected scene(s) have no band to write")
    grid = pad_grid(selection.grid, pad_px)
    arrays = [selection.read(b, grid) for b in bands]
    folder = os.path.dirname(os.path.abspath(str(path))) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".glasar_", suffix=".tif", dir=folder)
    os.close(fd)
    try:
        ds = gdal.GetDriverByName("GTiff").Create(tmp, grid.cols, grid.rows, len(bands), gdal.GDT_Float32,
                                                  options=["COMPRESS=DEFLATE", "PREDICTOR=3", "TILED=YES"])
        ds.SetGeoTransform(grid.geotransform)
        ds.SetProjection(grid.srs_wkt)
        ds.SetMetadata(dict(selection.tags(), **{k: str(v) for k, v in (extra_tags or {}).items()}))
        for i, (b, a) in enumerate(zip(bands, arrays), start=1):
            band = ds.GetRasterBand(i)
            band.SetDescription(b)
            band.SetNoDataValue(float("nan"))
            band.WriteArray(a)
        ds.FlushCache()
        ds = None
        os.replace(tmp, str(path))
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return str(path)


def output_name(area_id, selection):
    """``<area>_ASC_20220725T122232.tif`` or ``<area>_DSC_synthesis.tif`` (safe characters)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(area_id)).strip("_") or "area"
    tag = "ASC" if selection.orbit_pass == s1.ASCENDING else "DSC"
    when = "synthesis" if selection.synthesis else selection.chosen.acquisition.strftime("%Y%m%dT%H%M%S")
    return f"{safe}_{tag}_{when}.tif"


CATALOG_COLUMNS = (
    "area_id", "scene_id", "status", "reason", "pass", "pass_source", "acquisition_time", "time_source",
    "days_from_middle", "nodata_count", "window_pixels", "platform", "relative_orbit", "orbit_source",
    "heading", "heading_source", "format", "crs", "bands", "files", "notes",
)


def catalogue_rows(catalogue, area_selections):
    """One row per (area, scene): what the catalogue knows and why the scene was (not) used.

    ``area_selections``: list of ``(area_id, {pass: Selection})``.
    """
    rows = []
    for area_id, sels in area_selections:
        for rec in catalogue:
            sel = sels.get(rec.orbit_pass) if rec.orbit_pass else None
            if sel is not None and rec.scene_id in sel.reasons:
                status, reason = sel.reasons[rec.scene_id]
            elif not rec.usable:
                status, reason = STATUS_EXCLUDED, "; ".join(rec.problems)
            elif sel is None:
                status, reason = STATUS_EXCLUDED, f"{rec.orbit_pass.lower()} pass not requested"
            else:
                status, reason = STATUS_EXCLUDED, "not considered"
            d = sel.days_from_middle.get(rec.scene_id) if sel is not None else None
            n = sel.nodata_counts.get(rec.scene_id) if sel is not None else None
            rows.append({
                "area_id": area_id, "scene_id": rec.scene_id, "status": status, "reason": reason,
                "pass": rec.orbit_pass, "pass_source": rec.pass_source, "acquisition_time": rec.acquisition_time,
                "time_source": rec.time_source, "days_from_middle": None if d is None else round(d, 3),
                "nodata_count": n, "window_pixels": sel.window_pixels if sel is not None else None,
                "platform": rec.platform, "relative_orbit": rec.relative_orbit, "orbit_source": rec.orbit_source,
                "heading": None if rec.heading is None else round(rec.heading, 3),
                "heading_source": rec.heading_source, "format": rec.fmt, "crs": rec.crs_name(),
                "bands": " ".join(sorted(rec.files)), "files": ";".join(rec.all_paths), "notes": "; ".join(rec.notes),
            })
    return rows


def write_csv(path, rows, columns=CATALOG_COLUMNS):
    """Write rows (dicts) as CSV through a temporary file in the same folder, then rename."""
    folder = os.path.dirname(os.path.abspath(str(path))) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".glasar_", suffix=".csv", dir=folder)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(columns))
            w.writeheader()
            for row in rows:
                w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
        os.replace(tmp, str(path))
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return str(path)


def move_outputs(staging_dir, files, destination):
    """Move finished files from a staging folder into destination (os.replace each), then
    remove the staging folder."""
    os.makedirs(destination, exist_ok=True)
    out = []
    for f in files:
        target = os.path.join(destination, os.path.basename(f))
        os.replace(f, target)
        out.append(target)
    shutil.rmtree(staging_dir, ignore_errors=True)
    return out
