"""`pose-search demo` builds the embedded default and a second run reuses it."""

from __future__ import annotations

import subprocess
import sys
import time

from pose_search.data.store import read_manifest


def test_demo_builds_then_reuses(tmp_path):
    cmd = [sys.executable, "-m", "pose_search", "demo", "--out", str(tmp_path), "--poses", "40", "--workers", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert read_manifest(tmp_path / "script")["counts"]["poses"] == 40
    assert read_manifest(tmp_path / "fix")["counts"]["pairs"] > 0
    assert (tmp_path / "script_sheet.png").exists() and (tmp_path / "fix_sheet.png").exists()
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and time.perf_counter() - start < 60
