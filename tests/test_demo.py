"""`pose-search demo` builds the whole embedded default (data -> encoders -> core -> heads ->
index) into a bundle the UI serves, and a second run reuses it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from pose_search.data.store import read_manifest


@pytest.mark.slow
def test_demo_builds_every_stage_then_reuses(tmp_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "pose_search", "demo", "--out", str(out), "--poses", "40", "--workers", "1",
           "--build-only"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "about" in r.stdout and "left" in r.stdout  # the time-left estimate is shown
    bundle = json.loads((out / "bundle.json").read_text())
    assert read_manifest(out / bundle["data"])["counts"]["poses"] == 40
    assert read_manifest(out / bundle["pairs"])["counts"]["pairs"] > 0
    for run in ("posevae", "posetext", "image", "core", bundle["hps"].split("/")[-1],
                bundle["instructions"].split("/")[-1]):
        assert (out / "runs" / run / "best").is_dir(), run
    state = json.loads((out / "build.json").read_text())
    assert list(state["stages"]) == ["data", "pairs", "posevae", "posetext", "image", "core", "hps",
                                     "instructions", "index"]

    from indexing.service import SearchService

    service = SearchService(out / bundle["index"])
    assert service.rows == 40
    hits = service.search(text="the person raises both arms", target="pose", k=5)
    assert len(hits) == 5 and len({h.id for h in hits}) == 5

    start = time.perf_counter()  # everything is built: only checks, no stage runs
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert time.perf_counter() - start < 60 and "[1/9]" not in r.stdout


def test_demo_refuses_bad_sizes_and_foreign_folders(tmp_path):
    from ui.build import clear, scale_for

    with pytest.raises(ValueError, match="--poses 10"):
        scale_for("small", 10)
    with pytest.raises(ValueError, match="--size 'huge'"):
        scale_for("huge")
    assert scale_for("small", 60).core_epochs == 2  # smoke-test sizes train briefly
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a demo folder"):
        clear(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").exists()
