"""`make demo`: run glasar:maplakes through qgis_process on the bundled Tsho Rolpa pairs.

Writes demo_output/tsho_rolpa_<year>.gpkg and .csv and prints the per-lake table
(mapped lakes in full, skipped lakes counted by reason).
"""
import collections
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
OUT = REPO / "demo_output"
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
PAIRS = {
    "2022": ("S1A_20220725T122232_ASC_RTC20_gamma0_VV_tshoRolpa.tif", "S1A_20220728T001131_DSC_RTC20_gamma0_VV_tshoRolpa.tif"),
    "2024": ("S1A_20240726T122235_ASC_RTC20_gamma0_VV_tshoRolpa.tif", "S1A_20240729T001133_DSC_RTC20_gamma0_VV_tshoRolpa.tif"),
}
INVENTORY = SAMPLE / "lakes" / "HKHLAKEDB_2020_rolwaling_khumbu_wgs84.gpkg"
COLUMNS = ("lake_id", "method", "asc_time", "desc_time", "area_pred_km2", "area_ref_km2", "iou", "precision",
           "recall", "f1", "passes", "distorted_asc", "distorted_desc", "distorted_fused", "status")


def qgis_env():
    plugin_path = REPO / "build" / "pluginpath"
    plugin_path.mkdir(parents=True, exist_ok=True)
    link = plugin_path / "glasar"
    if not link.exists():
        link.symlink_to(REPO, target_is_directory=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QGIS_PLUGINPATH=str(plugin_path),
               QGIS_CUSTOM_CONFIG_PATH=tempfile.mkdtemp(prefix="glasar_demo_profile_"))
    subprocess.run([QGIS_PROCESS, "plugins", "enable", "glasar"], env=env, check=True, capture_output=True)
    return env


def print_table(rows):
    mapped = [r for r in rows if r["status"].startswith("ok")]
    widths = {c: max(len(c), *(len(str(r[c])) for r in mapped)) if mapped else len(c) for c in COLUMNS}
    print("  " + "  ".join(c.ljust(widths[c]) for c in COLUMNS))
    for r in mapped:
        print("  " + "  ".join(str(r[c]).ljust(widths[c]) for c in COLUMNS))
    skipped = collections.Counter(r["status"] for r in rows if not r["status"].startswith("ok"))
    for status, n in skipped.most_common():
        print(f"  {n:3d} lakes: {status}")


def main():
    if not os.path.exists(QGIS_PROCESS):
        sys.exit(f"{QGIS_PROCESS} not found: run 'make deps' (installs QGIS) first")
    OUT.mkdir(exist_ok=True)
    env = qgis_env()
    for year, (asc, desc) in PAIRS.items():
        gpkg, table = OUT / f"tsho_rolpa_{year}.gpkg", OUT / f"tsho_rolpa_{year}.csv"
        cmd = [QGIS_PROCESS, "--json", "run", "glasar:maplakes", "--",
               f"ASCENDING={SAMPLE / 'tsho_rolpa' / asc}", f"DESCENDING={SAMPLE / 'tsho_rolpa' / desc}",
               f"INVENTORY={INVENTORY}", "LAKE_ID_FIELD=GLIMS_ID", f"OUTPUT={gpkg}", f"TABLE={table}"]
        print(f"\n== Tsho Rolpa {year}: ascending {asc[4:19]} + descending {desc[4:19]}, ICIMOD 2020 inventory")
        print("   " + " ".join(str(c) for c in cmd[:4]) + " ...")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"qgis_process failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        json.loads(proc.stdout[proc.stdout.index("{"):])
        with open(table, newline="") as fh:
            print_table(list(csv.DictReader(fh)))
        print(f"   wrote {gpkg.relative_to(REPO)} and {table.relative_to(REPO)}")


if __name__ == "__main__":
    main()
