"""Whole-inventory runs: workers give the same results as one process; the journal resumes."""
import json

import pytest
from osgeo import ogr

from glasar.algorithms import inventory_run as R
from glasar.algorithms import pipeline as P

from rasters import many_lakes_scene


def read_inventory(path):
    ds = ogr.Open(str(path))
    layer = ds.GetLayer(0)
    return [P.LakeInput(f["lake_id"], bytes(f.GetGeometryRef().ExportToWkb())) for f in layer]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("many")
    asc, desc, inv, n = many_lakes_scene(d, n_side=5)
    return asc, desc, read_inventory(inv)


def test_two_workers_equal_one_bit_for_bit(scene):
    asc, desc, lakes = scene
    opts = P.Options(speckle_filter="none")
    one = R.run_inventory(lakes, asc, desc, opts, workers=1)
    two = R.run_inventory(lakes, asc, desc, opts, workers=2)
    assert [r.lake_id for r in two] == [lk.lake_id for lk in lakes]  # inventory order
    assert [r.fields for r in one] == [r.fields for r in two]
    assert [r.wkb for r in one] == [r.wkb for r in two]
    ok = [r for r in one if P.is_mapped(r.status)]
    assert len(ok) == 25 and min(r.fields["iou"] for r in ok) > 0.8


def test_journal_resumes_after_a_kill(scene, tmp_path):
    asc, desc, lakes = scene
    opts = P.Options(speckle_filter="none")
    journal = str(tmp_path / "out.gpkg.glasar-journal.jsonl")
    full = R.run_inventory(lakes, asc, desc, opts, workers=1, journal_path=journal)
    lines = open(journal).read().splitlines()
    assert json.loads(lines[0])["fingerprint"] and len(lines) == 1 + len(lakes)
    # Simulate a kill after 9 lakes, in the middle of writing the 10th line.
    with open(journal, "w") as fh:
        fh.write("\n".join(lines[:10]) + "\n" + lines[10][: len(lines[10]) // 2])
    messages = []
    resumed = R.run_inventory(lakes, asc, desc, opts, workers=2, journal_path=journal, log=messages.append)
    assert any("resuming: 9 of 25 lakes" in m for m in messages)
    assert [r.fields for r in resumed] == [r.fields for r in full]
    assert [r.wkb for r in resumed] == [r.wkb for r in full]
    assert len(open(journal).read().splitlines()) == 1 + len(lakes)
    # Changed options invalidate the journal: everything is recomputed.
    messages.clear()
    R.run_inventory(lakes, asc, desc, P.Options(speckle_filter="none", method="kmeans"), journal_path=journal,
                    log=messages.append)
    assert not any("resuming" in m for m in messages)


def test_one_lake_failure_is_recorded_and_the_run_goes_on(scene, monkeypatch):
    asc, desc, lakes = scene
    real = P.map_lake

    def flaky(lake, *a, **k):
        if lake.lake_id == "L003":
            raise RuntimeError("corrupt window")
        return real(lake, *a, **k)

    monkeypatch.setattr(P, "map_lake", flaky)
    res = R.run_inventory(lakes, asc, desc, P.Options(speckle_filter="none"), workers=1)
    status = {r.lake_id: r.status for r in res}
    assert status["L003"] == "failed: RuntimeError: corrupt window"
    assert sum(P.is_mapped(s) for s in status.values()) == 24


def test_cancel_returns_none(scene):
    asc, desc, lakes = scene
    calls = []
    out = R.run_inventory(lakes, asc, desc, P.Options(speckle_filter="none"), workers=2,
                          progress=calls.append, is_canceled=lambda: len(calls) >= 3)
    assert out is None and len(calls) < len(lakes)


def test_journal_path_rules():
    assert R.journal_path_for("/x/out.gpkg") == "/x/out.gpkg.glasar-journal.jsonl"
    assert R.journal_path_for("/x/out.gpkg|layername=a") == "/x/out.gpkg.glasar-journal.jsonl"
    assert R.journal_path_for("memory:") is None


def test_workers_that_cannot_start_fall_back_to_this_process(scene, monkeypatch):
    asc, desc, lakes = scene
    monkeypatch.setattr(R, "_python_executable", lambda: "/bin/false")  # every worker dies at once
    messages = []
    res = R.run_inventory(lakes[:6], asc, desc, P.Options(speckle_filter="none"), workers=2, log=messages.append)
    assert any("could not start" in m for m in messages)
    assert all(P.is_mapped(r.status) for r in res)


def test_journal_of_another_code_version_is_not_reused(scene, tmp_path, monkeypatch):
    """Results journalled by another version of the science code are recomputed, not reused."""
    asc, desc, lakes = scene
    opts = P.Options(speckle_filter="none")
    journal = str(tmp_path / "out.gpkg.glasar-journal.jsonl")
    R.run_inventory(lakes[:3], asc, desc, opts, workers=1, journal_path=journal)
    messages = []
    R.run_inventory(lakes[:3], asc, desc, opts, workers=1, journal_path=journal, log=messages.append)
    assert any("resuming: 3 of 3 lakes" in m for m in messages)  # same code: taken from the journal
    assert len(R.code_fingerprint()) == 64
    monkeypatch.setattr(R, "code_fingerprint", lambda: "another version")
    messages.clear()
    R.run_inventory(lakes[:3], asc, desc, opts, workers=1, journal_path=journal, log=messages.append)
    assert not any("resuming" in m for m in messages)
