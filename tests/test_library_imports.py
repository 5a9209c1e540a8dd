"""The library never imports ray, gradio, faiss or lancedb (DESIGN.md section 2)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pose_search

FORBIDDEN = ("ray", "gradio", "faiss", "lancedb")


def test_library_does_not_import_the_application_stack():
    modules = [m.name for m in pkgutil.walk_packages(pose_search.__path__, "pose_search.")
               if not m.name.endswith("__main__")]
    assert len(modules) > 10
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"library imported {out.stdout.strip()}"


def test_cli_help_runs():
    out = subprocess.run([sys.executable, "-m", "pose_search_app", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "data" in out.stdout


def test_cluster_depends_only_on_the_config():
    """cluster -> pose_search.config (DESIGN.md section 2): submitting a job loads no model code."""
    code = (
        "import sys, cluster.cli, cluster.jobs, cluster.local\n"
        "mine = [m for m in sys.modules if m.split('.')[0] in ('pose_search', 'training', 'indexing', 'ui')]\n"
        "print(','.join(sorted(mine)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert set(out.stdout.strip().split(",")) <= {"pose_search", "pose_search.config"}
