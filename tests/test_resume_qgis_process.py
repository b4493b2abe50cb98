"""Kill a qgis_process maplakes run halfway (SIGKILL), resume it, compare with an uninterrupted run."""
import os
import signal
import subprocess
import time

from rasters import many_lakes_scene


def maplakes_cmd(exe, asc, desc, inv, out_dir):
    return [exe, "run", "glasar:maplakes", "--", f"ASCENDING={asc}", f"DESCENDING={desc}", f"INVENTORY={inv}",
            "LAKE_ID_FIELD=lake_id", "WORKERS=1", f"OUTPUT={out_dir / 'lakes.gpkg'}", f"TABLE={out_dir / 'lakes.csv'}"]


def test_kill_halfway_then_resume_gives_the_uninterrupted_table(qgis_process_env, tmp_path):
    exe, env = qgis_process_env
    asc, desc, inv, n = many_lakes_scene(tmp_path, n_side=12)
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    reference.mkdir()
    killed.mkdir()
    done = subprocess.run(maplakes_cmd(exe, asc, desc, inv, reference), env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    journal = killed / "lakes.gpkg.glasar-journal.jsonl"
    proc = subprocess.Popen(maplakes_cmd(exe, asc, desc, inv, killed), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    lines = 0
    while time.time() < deadline and proc.poll() is None:
        if journal.exists():
            lines = journal.read_text().count("\n")
            if lines >= 1 + n // 3:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed; make the scene larger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert 1 + n // 3 <= lines < 1 + n
    # Nothing half-written: outputs appear only after the last lake.
    assert not (killed / "lakes.gpkg").exists() and not (killed / "lakes.csv").exists()

    resumed = subprocess.run(maplakes_cmd(exe, asc, desc, inv, killed), env=env, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "resuming:" in resumed.stdout + resumed.stderr
    assert (killed / "lakes.csv").read_text() == (reference / "lakes.csv").read_text()
