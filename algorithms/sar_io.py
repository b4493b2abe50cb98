"""Open Sentinel-1 rasters and describe them: bands (VV, VH, angle), units, time, pass.

Understands Earth Engine exports (band descriptions VV, VH, angle; sigma0 in dB) and ASF
HyP3 RTC GeoTIFFs (one band per file, ``*_VV.tif``; gamma0 power/amplitude/dB; nodata 0),
plus generic GeoTIFFs with tags PASS / ACQUISITION_TIME / HEADING.
"""
import datetime as _dt
import os
import re
from dataclasses import dataclass, field

from osgeo import gdal

from . import GlasarError
from .units import units_from_text

gdal.UseExceptions()

POLARISATIONS = ("VV", "VH")
_TIME_PATTERNS = (
    re.compile(r"(?<!\d)(\d{8})T(\d{6})(?!\d)"),  # S1A_20220725T122232, S1_..._20220725T122232_...
)
_PASS_WORDS = {"ASC": "ASCENDING", "ASCENDING": "ASCENDING", "DSC": "DESCENDING", "DES": "DESCENDING",
               "DESC": "DESCENDING", "DESCENDING": "DESCENDING"}


@dataclass
class SarScene:
    """What GLaSAR knows about one SAR raster (no pixels read)."""

    path: str
    bands: dict  # 'VV'/'VH'/'angle' -> 1-based band index
    nodata: dict  # band index -> nodata value or None
    srs_wkt: str
    geotransform: tuple
    size: tuple  # (xsize, ysize)
    acquisition_time: str = ""  # ISO 8601 UTC, '' if unknown
    orbit_pass: str = ""  # ASCENDING / DESCENDING / ''
    heading: float = None
    units_hint: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def name(self):
        return os.path.basename(self.path)

    @property
    def pixel_size(self):
        return abs(self.geotransform[1]), abs(self.geotransform[5])


def _band_name(band, index, count, file_name):
    desc = (band.GetDescription() or "").strip()
    md = {k.upper(): v for k, v in (band.GetMetadata() or {}).items()}
    for candidate in (desc, md.get("POLARISATION", ""), md.get("POLARIZATION", ""), md.get("BAND_NAME", "")):
        c = candidate.upper()
        if c in ("VV", "VH", "HH", "HV"):
            return c
        if c in ("ANGLE", "INCIDENCE", "INCIDENCE_ANGLE", "INCANGLE"):
            return "angle"
        for pol in POLARISATIONS:  # e.g. 'VV_gamma0_flatDB', 'VV_sigma0'
            if c.startswith(pol + "_"):
                return pol
    if count == 1:
        m = re.search(r"(?:^|[_\-.])(VV|VH|HH|HV)(?:[_\-.]|$)", file_name.upper())
        if m:
            return m.group(1)
    return None


def parse_time(text):
    """First Sentinel-1 style timestamp (YYYYMMDDTHHMMSS) or ISO time in text, as ISO UTC string."""
    if not text:
        return ""
    for pat in _TIME_PATTERNS:
        m = pat.search(text)
        if m:
            try:
                t = _dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
                return t.strftime("%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                pass
    m = re.search(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})", text)
    if m:
        return f"{m.group(1)}T{m.group(2)}Z"
    if re.fullmatch(r"\d{12,13}", text.strip()):  # Earth Engine system:time_start (ms)
        t = _dt.datetime.fromtimestamp(int(text.strip()) / 1000.0, _dt.timezone.utc)
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return ""


def normalise_tags(md):
    """Tags with upper-case keys; GDAL splits keys at ':' (Earth Engine ``system:time_start`` is
    read back as key ``system``, value ``time_start=...``), so such pairs are joined again."""
    out = {}
    for k, v in (md or {}).items():
        out.setdefault(k.upper(), v)
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", v or "", re.S)
        if m and ":" not in k:
            out.setdefault(f"{k}:{m.group(1)}".upper(), m.group(2))
    return out


def parse_pass(text):
    if not text:
        return ""
    for token in re.split(r"[^A-Za-z]+", text.upper()):
        if token in _PASS_WORDS:
            return _PASS_WORDS[token]
    return ""


def open_scene(path):
    """Describe a SAR raster. Raises GlasarError if GDAL cannot read it or it has no SAR band."""
    try:
        ds = gdal.Open(str(path))
    except RuntimeError as exc:
        raise GlasarError(f"cannot open raster {path}: {exc}") from None
    if ds is None:
        raise GlasarError(f"cannot open raster {path}")
    if not ds.GetProjection():
        if ds.GetGCPCount():
            raise GlasarError(
                f"raster {path} is not geocoded (only ground control points, e.g. a Sentinel-1 SAFE "
                "measurement file): terrain-correct it first (ASF HyP3 RTC, SNAP or an Earth Engine export)"
            )
        raise GlasarError(f"raster {path} has no coordinate reference system")
    file_name = os.path.basename(str(path))
    bands, nodata = {}, {}
    for i in range(1, ds.RasterCount + 1):
        b = ds.GetRasterBand(i)
        name = _band_name(b, i, ds.RasterCount, file_name)
        if name and name not in bands:
            bands[name] = i
        nodata[i] = b.GetNoDataValue()
    if not any(p in bands for p in ("VV", "VH", "HH", "HV")):
        if ds.RasterCount == 1:
            bands["VV"] = 1  # single-band product with no name: the co-polarised channel
        else:
            raise GlasarError(
                f"{file_name}: no band is described as VV or VH (found "
                f"{[ds.GetRasterBand(i).GetDescription() for i in range(1, ds.RasterCount + 1)]})"
            )
    md = dict(ds.GetMetadata() or {})
    upper = normalise_tags(md)
    time_text = upper.get("ACQUISITION_TIME") or upper.get("SYSTEM:TIME_START") or upper.get("SYSTEM_TIME_START")
    acquisition = parse_time(time_text or "") or parse_time(file_name)
    orbit_pass = parse_pass(
        upper.get("PASS", "") or upper.get("ORBITPROPERTIES_PASS", "") or upper.get("ORBIT_PASS", "")
        or upper.get("FLIGHT_DIRECTION", "")
    ) or parse_pass(file_name)
    heading = None
    for key in ("HEADING", "PLATFORM_HEADING"):
        if key in upper:
            try:
                heading = float(upper[key])
            except ValueError:
                pass
    # Units stated in the metadata win over words in the file name (a name can hold "db" by chance)
    declared = " ".join([upper.get("UNITS", ""), upper.get("UNIT", "")]
                        + [ds.GetRasterBand(i).GetUnitType() or "" for i in range(1, ds.RasterCount + 1)])
    units_hint = declared if units_from_text(declared) else " ".join(
        [file_name] + [ds.GetRasterBand(i).GetDescription() or "" for i in range(1, ds.RasterCount + 1)])
    return SarScene(
        path=str(path), bands=bands, nodata=nodata, srs_wkt=ds.GetProjection(),
        geotransform=tuple(ds.GetGeoTransform()), size=(ds.RasterXSize, ds.RasterYSize),
        acquisition_time=acquisition, orbit_pass=orbit_pass, heading=heading,
        units_hint=units_hint if units_from_text(units_hint) else "", metadata=md,
    )


def band_index(scene, band):
    """1-based index of band 'VV'/'VH'/'angle' in scene, or a clear error."""
    if band in scene.bands:
        return scene.bands[band]
    raise GlasarError(f"{scene.name} has no {band} band (it has {', '.join(sorted(scene.bands))})")
