#!/usr/bin/env python3
"""Bundle the pure-Python earthengine-api stack into a plugin folder's ``extlibs/`` (for ``make package``).

Usage::

    python scripts/vendor_ee.py DEST_EXTLIBS [--python-version 3.9] [--requirements requirements-dev.txt]
                                [--into-zip build/glasar.zip [--zip-prefix glasar/extlibs]]

With ``--into-zip`` the vendored files are also added to an existing plugin zip under
``--zip-prefix`` (default ``glasar/extlibs``).

``pip install --target DEST`` the version pinned in requirements-dev.txt (when ``--python-version``
names a Python older than that version supports, the newest release <= the pin that supports it),
then prune what cannot or need not ship in a pure-Python zip, as the Earth Engine QGIS plugin does:

- compiled extensions (``*.so``, ``*.pyd``, ``*.dylib``) and wheel ``*.libs`` folders: protobuf,
  google-crc32c and charset-normalizer fall back to their pure-Python code;
- packages that are useless without their compiled part (cryptography, cffi, pycparser): QGIS's own
  Python provides cryptography (Debian python3-cryptography, OSGeo4W, the macOS bundle);
- googleapiclient's 110 MB of static discovery documents (ee builds its client with
  ``static_discovery=False``), ``ee/tests``, ``bin/`` and ``__pycache__``.

At run time GLaSAR appends extlibs to sys.path only when ``import ee`` fails
(``algorithms/earthengine.py: import_ee``), so packages QGIS already ships keep priority.
"""
import argparse
import os
import zipfile
import re
import shutil
import subprocess
import sys

COMPILED = (".so", ".pyd", ".dylib")
DROP_PACKAGES = ("cryptography", "cffi", "pycparser", "_cffi_backend")
DROP_DIRS = ("bin", os.path.join("ee", "tests"), os.path.join("googleapiclient", "discovery_cache", "documents"))
MIN_PYTHON_OF_PIN = (3, 11)  # earthengine-api 1.7.x: Requires-Python >= 3.11


def requirement(requirements_path):
    """The pinned ``earthengine-api==X`` line of the requirements file."""
    with open(requirements_path, encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"\s*earthengine-api\s*==\s*([0-9][0-9A-Za-z.]*)", line)
            if m:
                return f"earthengine-api=={m.group(1)}"
    raise SystemExit(f"no 'earthengine-api==<version>' line in {requirements_path}")


def prune(dest):
    """Remove compiled files and packages that cannot work without them (see the module text)."""
    for rel in DROP_DIRS:
        shutil.rmtree(os.path.join(dest, rel), ignore_errors=True)
    for name in os.listdir(dest):
        base = name.split("-")[0].split(".")[0]
        path = os.path.join(dest, name)
        if base in DROP_PACKAGES or name.endswith(".libs"):
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    for root, dirs, files in os.walk(dest, topdown=False):
        for f in files:
            if f.endswith(COMPILED) or ".so." in f or f.endswith(".pyc"):
                os.remove(os.path.join(root, f))
        for d in dirs:
            p = os.path.join(root, d)
            if d == "__pycache__":
                shutil.rmtree(p, ignore_errors=True)
            elif os.path.isdir(p) and not os.listdir(p):
                os.rmdir(p)


def add_to_zip(src, zip_path, prefix):
    """Add every file under ``src`` to ``zip_path`` as ``prefix/<relative path>`` (replacing nothing:
    the zip must not already hold that prefix)."""
    prefix = prefix.strip("/")
    with zipfile.ZipFile(zip_path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        if any(n.startswith(prefix + "/") for n in zf.namelist()):
            raise SystemExit(f"{zip_path} already contains {prefix}/")
        n = 0
        for root, _, files in os.walk(src):
            for f in sorted(files):
                full = os.path.join(root, f)
                zf.write(full, prefix + "/" + os.path.relpath(full, src).replace(os.sep, "/"))
                n += 1
    return n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dest", help="the plugin's extlibs folder (emptied first)")
    ap.add_argument("--requirements", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "requirements-dev.txt"))
    ap.add_argument("--python-version", default="", help="target QGIS Python, e.g. 3.9 (default: this Python)")
    ap.add_argument("--into-zip", default="", help="also add the files to this plugin zip")
    ap.add_argument("--zip-prefix", default="glasar/extlibs", help="folder inside the zip (default glasar/extlibs)")
    args = ap.parse_args(argv)
    pin = requirement(args.requirements)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
           "--target", args.dest, "--only-binary=:all:"]
    spec = pin
    if args.python_version:
        cmd += ["--python-version", args.python_version]
        if tuple(int(p) for p in args.python_version.split(".")[:2]) < MIN_PYTHON_OF_PIN:
            spec = pin.replace("==", "<=")  # newest release that still supports that Python
    if os.path.isdir(args.dest):
        shutil.rmtree(args.dest)
    os.makedirs(args.dest)
    subprocess.run(cmd + [spec], check=True)
    prune(args.dest)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(args.dest) for f in fs)
    ee_version = "?"
    for name in os.listdir(args.dest):
        m = re.match(r"earthengine_api-(.+)\.dist-info$", name)
        if m:
            ee_version = m.group(1)
    print(f"vendored earthengine-api {ee_version} into {args.dest}: {size / 1e6:.1f} MB of pure Python")
    if args.into_zip:
        n = add_to_zip(args.dest, args.into_zip, args.zip_prefix)
        print(f"added {n} files to {args.into_zip} under {args.zip_prefix}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
