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
import hashlib
import json
import multiprocessing
import os
import sys
import traceback

from . import pipeline

JOURNAL_VERSION = 1
_WORKER = {}


def _file_signature(path):
    try:
        st = os.stat(path)
        return [os.path.abspath(path), st.st_size, int(st.st_mtime)]
    except OSError:
        return [str(path), None, None]


def run_fingerprint(asc_path, desc_path, options, extra=None):
    """Hash of what decides every lake's result: the inputs (path, size, mtime) and options."""
    payload = {
        "version": JOURNAL_VERSION,
        "asc": _file_signature(asc_path),
        "desc": _file_signature(desc_path),
        "options": dataclasses.asdict(options),
        "extra": extra or {},
    }
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


def _init_worker(asc_path, asc_units, desc_path, desc_units, options, sys_path):
    sys.path[:] = list(dict.fromkeys(sys_path + sys.path))
    _WORKER["asc"] = pipeline.prepare_scene(asc_path, asc_units, "ascending raster")
    _WORKER["desc"] = pipeline.prepare_scene(desc_path, desc_units, "descending raster")
    _WORKER["footprints"] = pipeline.check_overlap(_WORKER["asc"], _WORKER["desc"])
    _WORKER["options"] = options


def _map_one(lake, asc, desc, options, footprints):
    try:
        return pipeline.map_lake(lake, asc, desc, options, footprints)
    except Exception as exc:  # one lake's failure must not end the run
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        fields = {name: None for name, _ in pipeline.RESULT_FIELDS}
        fields.update(lake_id=lake.lake_id, method=options.method, band=options.band,
                      status=f"failed: {detail}")
        return pipeline.LakeResult(lake.lake_id, fields["status"], fields, None)


def _worker_task(lake):
    w = _WORKER
    return _map_one(lake, w["asc"], w["desc"], w["options"], w["footprints"])


def run_inventory(lakes, asc_path, desc_path, options, workers=1, journal_path=None,
                  progress=None, is_canceled=None, log=None, keep_arrays=False):
    """Map every lake; returns the list of LakeResult in inventory order, or None if cancelled.

    Run-level problems (unreadable rasters, contradicted units, no overlap, missing band) raise
    GlasarError before any lake is mapped.
    """
    pipeline.validate_options(options)
    asc = pipeline.prepare_scene(asc_path, options.units_asc, "ascending raster")
    desc = pipeline.prepare_scene(desc_path, options.units_desc, "descending raster")
    pipeline.check_run(asc, desc, options, log)
    footprints = pipeline.check_overlap(asc, desc)
    lakes = list(lakes)
    n = len(lakes)
    fingerprint = run_fingerprint(asc_path, desc_path,
                                  dataclasses.replace(options, units_asc=asc.units, units_desc=desc.units))
    journal = Journal(journal_path, fingerprint)
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
                res = (pipeline.map_lake(lakes[i], asc, desc, options, footprints, keep_arrays=True)
                       if keep_arrays else _map_one(lakes[i], asc, desc, options, footprints))
                report(i, res)
        else:
            if not _run_parallel(lakes, todo, asc, desc, options, workers, report, is_canceled):
                return None
    finally:
        journal.close()
    if is_canceled and is_canceled():
        return None
    return results


def _run_parallel(lakes, todo, asc, desc, options, workers, report, is_canceled):
    """Map lakes in a pool of spawned workers. If a worker process dies (a crash in GDAL, out of
    memory), the pool is rebuilt and the lakes in flight are retried once; a lake that breaks a
    pool twice gets a 'failed' status and the run goes on."""
    ctx = multiprocessing.get_context("spawn")
    ctx.set_executable(_python_executable())
    init_args = (asc.scene.path, asc.units, desc.scene.path, desc.units, options, list(sys.path))
    queue = list(todo)
    crashes = {}
    while queue:
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                    initargs=init_args) as pool:
            window = workers * 4  # lakes in flight: bounded memory, responsive cancel
            pending = {}
            broken = False
            while (queue or pending) and not broken:
                while queue and len(pending) < window:
                    i = queue.pop(0)
                    pending[pool.submit(_worker_task, lakes[i])] = i
                done, _ = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    try:
                        report(i, fut.result())
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
