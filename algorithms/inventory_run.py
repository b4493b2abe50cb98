"""Whole-inventory runs: worker processes, results in inventory order, a resumable journal.

- Parallel: lakes are mapped in ``workers`` processes (spawned, running a plain Python
  interpreter, never the QGIS binary); results come back in inventory order and are bit-for-bit
  those of one worker, because each lake is computed independently and deterministically.
- Resumable: each finished lake is appended to a JSON-lines journal next to the outputs. The
  first line fingerprints the run (input files with size and mtime, options); re-running with
  the same fingerprint skips the lakes already in the journal (matched by index, id and
  geometry), so a killed run resumes and ends with the same table as an uninterrupted one.
- One lake's failure (corrupt window, GDAL error) becomes that lake's status; the run goes on.
"""
import concurrent.futures as cf
import dataclasses
import functools
import hashlib
import json
import multiprocessing
import os
import sys
import traceback

from . import pipeline

JOURNAL_VERSION = 1
_WORKER = {}


@dataclasses.dataclass
class PairSource:
    """One fixed ascending and descending raster for every lake."""

    asc_path: str
    desc_path: str

    def prepare(self, options, log=None):
        asc = pipeline.prepare_scene(self.asc_path, options.units_asc, "ascending raster")
        desc = pipeline.prepare_scene(self.desc_path, options.units_desc, "descending raster")
        pipeline.check_run(asc, desc, options, log)
        return {"asc": asc, "desc": desc, "footprints": pipeline.check_overlap(asc, desc)}

    def fingerprint(self):
        return {"asc": _file_signature(self.asc_path), "desc": _file_signature(self.desc_path)}

    def map(self, runtime, lake, options, keep_arrays=False):
        return pipeline.map_lake(lake, runtime["asc"], runtime["desc"], options, runtime["footprints"],
                                 keep_arrays=keep_arrays)


@dataclasses.dataclass
class FolderSource:
    """Scenes chosen per lake and pass from a catalogue (glasar:selectscenes' rule)."""

    inputs: list
    start: str = None
    end: str = None
    relative_orbit: int = None
    platform: str = None
    max_nodata_fraction: float = 0.0
    catalogue: list = None  # built once in the parent, shipped to workers

    def prepare(self, options, log=None):
        import tempfile

        from . import scenes

        if self.catalogue is None:
            self.catalogue = scenes.build_catalogue(self.inputs, log=log)
        usable = [r for r in self.catalogue if r.usable]
        if not usable:
            raise pipeline.GlasarError("no usable Sentinel-1 scene in " + ", ".join(map(str, self.inputs)))
        if log:
            log(f"catalogue: {len(usable)} usable scenes of {len(self.catalogue)}")
        return {"tmp": tempfile.mkdtemp(prefix="glasar_windows_")}

    def fingerprint(self):
        return {"scenes": sorted(_file_signature(p) for r in (self.catalogue or []) for p in r.all_paths),
                "start": str(self.start), "end": str(self.end), "relative_orbit": self.relative_orbit,
                "platform": self.platform, "max_nodata": self.max_nodata_fraction}

    def map(self, runtime, lake, options, keep_arrays=False):
        return pipeline.map_lake_from_catalogue(lake, self, runtime["tmp"], options, keep_arrays=keep_arrays)


def _file_signature(path):
    try:
        st = os.stat(path)
        return [os.path.abspath(path), st.st_size, int(st.st_mtime)]
    except OSError:
        return [str(path), None, None]


@functools.lru_cache(maxsize=None)
def code_fingerprint():
    """Hash of the science code (every algorithms/*.py): results journalled by another version of
    GLaSAR are not reused."""
    folder = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    for name in sorted(f for f in os.listdir(folder) if f.endswith(".py")):
        with open(os.path.join(folder, name), "rb") as fh:
            digest.update(name.encode() + b"\0" + fh.read())
    return digest.hexdigest()


def run_fingerprint(source, options):
    """Hash of what decides every lake's result: the inputs (path, size, mtime), the options and
    the code."""
    payload = {"version": JOURNAL_VERSION, "source": source.fingerprint(), "options": dataclasses.asdict(options),
               "dem": _file_signature(options.dem_path) if options.dem_path else None, "code": code_fingerprint()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def lake_key(index, lake):
    return f"{index}:{lake.lake_id}:{hashlib.sha1(bytes(lake.wkb or b'')).hexdigest()}"


def _result_to_json(key, result):
    return json.dumps({"key": key, "lake_id": result.lake_id, "status": result.status,
                       "fields": result.fields, "wkb": result.wkb.hex() if result.wkb else None})


def _result_from_json(obj):
    wkb = bytes.fromhex(obj["wkb"]) if obj.get("wkb") else None
    return pipeline.LakeResult(obj["lake_id"], obj["status"], obj["fields"], wkb)


class Journal:
    """Append-only JSON-lines journal. A torn last line (killed mid-write) is ignored."""

    def __init__(self, path, fingerprint):
        self.path = path
        self.fingerprint = fingerprint
        self.done = {}
        self._fh = None

    def load(self):
        if not self.path or not os.path.exists(self.path):
            return self.done
        with open(self.path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        if not lines:
            return self.done
        try:
            header = json.loads(lines[0])
        except ValueError:
            return self.done
        if header.get("fingerprint") != self.fingerprint:
            return self.done  # inputs or options changed: start afresh
        for line in lines[1:]:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            self.done[obj["key"]] = _result_from_json(obj)
        return self.done

    def open(self):
        if not self.path:
            return
        fresh = not self.done
        folder = os.path.dirname(os.path.abspath(self.path)) or "."
        os.makedirs(folder, exist_ok=True)
        if fresh:
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"glasar_journal": JOURNAL_VERSION, "fingerprint": self.fingerprint}) + "\n")
            os.replace(tmp, self.path)
        else:
            self._repair_tail()
        self._fh = open(self.path, "a", encoding="utf-8")

    def _repair_tail(self):
        """Drop a torn last line so appended lines start on a fresh line."""
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                cut = data.rfind(b"\n") + 1
                fh.seek(cut)
                fh.truncate()

    def append(self, key, result):
        if self._fh is None:
            return
        self._fh.write(_result_to_json(key, result) + "\n")
        self._fh.flush()

    def close(self):
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def journal_path_for(output_path):
    """Journal beside a file output (None for memory or temporary outputs without a folder)."""
    if not output_path or output_path.startswith("memory:") or "://" in output_path:
        return None
    base = output_path.split("|", 1)[0]
    return base + ".glasar-journal.jsonl"


# -- workers -----------------------------------------------------------------------------------
def _python_executable():
    """The interpreter that runs this code, for spawned workers. Inside QGIS sys.executable is
    the QGIS binary or whatever 'python3' is first on PATH (possibly another Python), so it is
    used only when it lives in this interpreter's prefix (a venv or the base install)."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    exe = sys.executable or ""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_exec_prefix)}
    if exe and os.path.basename(exe).startswith("python") and any(
            os.path.realpath(exe).startswith(p + os.sep) for p in prefixes) and os.path.exists(exe):
        return exe
    for candidate in (os.path.join(sys.base_exec_prefix, "bin", version),
                      os.path.join(sys.base_exec_prefix, "bin", "python3")):
        if os.path.exists(candidate):
            return candidate
    return exe


def _keep_freed_memory_for_reuse():
    """glibc gives every array above 128 kB its own mmap and unmaps it when freed, so a fresh
    worker takes ~3,000 page faults per lake (every window array is zeroed anew by the kernel):
    +25 % CPU per lake against the same code in a long-running process, where glibc has already
    raised that threshold itself after freeing large blocks. Raise it to glibc's own ceiling
    (32 MB) so freed window arrays are reused; larger arrays are still mapped and returned.
    No-op where glibc is absent."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 32 << 20)
        libc.mallopt(m_trim_threshold, 64 << 20)
    except (OSError, AttributeError):
        pass


def _init_worker(source, options, sys_path):
    _keep_freed_memory_for_reuse()
    sys.path[:] = list(dict.fromkeys(sys_path + sys.path))
    _WORKER["source"] = source
    _WORKER["runtime"] = source.prepare(options)
    _WORKER["options"] = options


def _map_one(source, runtime, lake, options, keep_arrays=False):
    try:
        return source.map(runtime, lake, options, keep_arrays=keep_arrays)
    except Exception as exc:  # one lake's failure must not end the run
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        fields = {name: None for name, _ in pipeline.RESULT_FIELDS}
        fields.update(lake_id=lake.lake_id, method=options.method, band=options.band,
                      status=f"failed: {detail}")
        return pipeline.LakeResult(lake.lake_id, fields["status"], fields, None)


def _worker_task(lake):
    w = _WORKER
    return _map_one(w["source"], w["runtime"], lake, w["options"])


def run_inventory(lakes, asc_path, desc_path, options, workers=1, journal_path=None,
                  progress=None, is_canceled=None, log=None, keep_arrays=False):
    """Map every lake from one fixed pair; see run_inventory_source."""
    return run_inventory_source(lakes, PairSource(asc_path, desc_path), options, workers, journal_path,
                                progress, is_canceled, log, keep_arrays)


def run_inventory_source(lakes, source, options, workers=1, journal_path=None, progress=None, is_canceled=None,
                         log=None, keep_arrays=False):
    """Map every lake; returns the list of LakeResult in inventory order, or None if cancelled.

    Run-level problems (unreadable rasters, contradicted units, no overlap, missing band, no
    scene at all) raise GlasarError before any lake is mapped.
    """
    pipeline.validate_options(options)
    runtime = source.prepare(options, log)
    if isinstance(source, PairSource):  # settle detected units so workers need not detect again
        options = dataclasses.replace(options, units_asc=runtime["asc"].units, units_desc=runtime["desc"].units)
    lakes = list(lakes)
    n = len(lakes)
    journal = Journal(journal_path, run_fingerprint(source, options))
    done = journal.load()
    keys = [lake_key(i, lake) for i, lake in enumerate(lakes)]
    results = [done.get(k) for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    if log and n - len(todo):
        log(f"resuming: {n - len(todo)} of {n} lakes already in the journal {journal_path}")
    finished = n - len(todo)

    def report(i, res):
        nonlocal finished
        results[i] = res
        journal.append(keys[i], res)
        finished += 1
        if progress:
            progress(finished / max(n, 1))

    journal.open()
    try:
        workers = max(1, int(workers or 1))
        if workers == 1 or len(todo) < 2 or keep_arrays:
            for i in todo:
                if is_canceled and is_canceled():
                    return None
                report(i, _map_one(source, runtime, lakes[i], options, keep_arrays))
        else:
            outcome = _run_parallel(lakes, todo, source, options, workers, report, is_canceled)
            if outcome is False:
                return None
            if isinstance(outcome, str):  # worker processes could not start: finish in this process
                if log:
                    log(f"worker processes could not start ({outcome}); continuing in this process")
                for i in [i for i in todo if results[i] is None]:
                    if is_canceled and is_canceled():
                        return None
                    report(i, _map_one(source, runtime, lakes[i], options))
    finally:
        journal.close()
    if is_canceled and is_canceled():
        return None
    return results


def _run_parallel(lakes, todo, source, options, workers, report, is_canceled):
    """Map lakes in a pool of spawned workers. If a worker process dies (a crash in GDAL, out of
    memory), the pool is rebuilt and the lakes in flight are retried once; a lake that breaks a
    pool twice gets a 'failed' status and the run goes on. Returns True when done, False when
    cancelled, or a reason string when two pools in a row died before mapping any lake (the
    workers cannot start here), so the caller finishes in-process."""
    ctx = multiprocessing.get_context("spawn")
    ctx.set_executable(_python_executable())
    init_args = (source, options, list(sys.path))
    queue = list(todo)
    crashes = {}
    dead_pools = 0
    while queue:
        mapped_in_pool = 0
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                    initargs=init_args) as pool:
            window = workers * 4  # lakes in flight: bounded memory, responsive cancel
            pending = {}
            broken = False
            while (queue or pending) and not broken:
                while queue and len(pending) < window:
                    i = queue.pop(0)
                    try:
                        pending[pool.submit(_worker_task, lakes[i])] = i
                    except cf.process.BrokenProcessPool:
                        queue.insert(0, i)
                        broken = True
                        break
                if broken and not pending:
                    break
                done, _ = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    try:
                        report(i, fut.result())
                        mapped_in_pool += 1
                    except cf.process.BrokenProcessPool as exc:
                        broken = True
                        crashes[i] = crashes.get(i, 0) + 1
                        if crashes[i] >= 2:
                            report(i, _map_one_failed(lakes[i], options, exc))
                        else:
                            queue.insert(0, i)
                if is_canceled and is_canceled():
                    pool.shutdown(wait=True, cancel_futures=True)
                    return False
            if broken and mapped_in_pool == 0:
                dead_pools += 1
                if dead_pools >= 2:
                    return "worker processes died before mapping any lake"
                queue = sorted(set(queue) | set(pending.values()))
                crashes = {i: c - 1 for i, c in crashes.items()}
                continue
            dead_pools = 0
            if broken:  # retry what was in flight in a fresh pool
                for fut, i in pending.items():
                    crashes[i] = crashes.get(i, 0) + 1
                    if crashes[i] >= 2:
                        report(i, _map_one_failed(lakes[i], options, RuntimeError("worker process died")))
                    else:
                        queue.insert(0, i)
                queue.sort()
    return True


def _map_one_failed(lake, options, exc):
    fields = {name: None for name, _ in pipeline.RESULT_FIELDS}
    status = f"failed: worker error: {type(exc).__name__}: {exc}"
    fields.update(lake_id=lake.lake_id, method=options.method, band=options.band, status=status)
    return pipeline.LakeResult(lake.lake_id, status, fields, None)
