"""SIGKILL in the middle of ``pose-search index build`` and ``pose-search data generate``, then
check what is left and that a re-run completes with every row exactly once.

Each scenario runs the real command in a child process (its own session and Ray temp dir), waits
until it is provably mid-way (staged embeddings on disk; a first chunk committed), kills the whole
session with SIGKILL (and whatever is left of its Ray instance), then

* reads what is there with the public readers (``SearchService``, ``read_manifest``, the table),
* re-runs the same command to the end,
* counts the rows lost (expected ids missing) and duplicated (ids stored more than once).
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.processes import kill_ray_instance


@dataclass
class KillReport:
    """What one kill-and-recover scenario found."""

    scenario: str
    killed_mid_way: bool  # the process was still running when killed, after the work had started
    rows_before: int  # rows the previous version showed
    rows_after_kill: int  # rows readable right after the kill
    readable_after_kill: bool
    rows_final: int
    rows_expected: int
    rows_lost: int
    rows_duplicated: int
    recovered: bool  # the re-run exited 0 with every expected row exactly once
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _env(ray_tmp: str | None = None) -> dict[str, str]:
    env = {**os.environ, "RAY_DEDUP_LOGS": "0", "PYTHONUNBUFFERED": "1"}
    if ray_tmp:
        env["RAY_TMPDIR"] = ray_tmp
    return env


def pose_search(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m pose_search_app ARGS`` to the end."""
    return subprocess.run([sys.executable, "-m", "pose_search_app", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def kill_when(args: list[str], env: dict[str, str], ready: Callable[[], bool], timeout: float = 600) -> bool:
    """Start ``python -m pose_search_app ARGS`` in its own session, SIGKILL the session as soon as
    ``ready()``; True when it was killed while still running (False: it ended first)."""
    proc = subprocess.Popen([sys.executable, "-m", "pose_search_app", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and proc.poll() is None and not ready():
            time.sleep(0.02)
        running = proc.poll() is None
        if running:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return running and ready()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if "RAY_TMPDIR" in env:  # the driver, its Ray cluster and its actors, nothing else
            kill_ray_instance(proc.pid, env["RAY_TMPDIR"])


def _count(ids: list[str], expected: set[str]) -> tuple[int, int]:
    """(lost, duplicated) of stored ``ids`` against the ``expected`` set."""
    dup = sum(n - 1 for n in collections.Counter(ids).values() if n > 1)
    return len(expected - set(ids)), dup


# ------------------------------------------------------------------------------ index build
def grow_dataset(data: Path, copies: int) -> set[str]:
    """Append ``copies`` renamed copies of every row of ``data`` (new ids); all ids afterwards."""
    import pyarrow as pa

    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import append_rows, read_table

    base = read_table(data, POSES_TABLE)
    for c in range(copies):
        ids = pa.array([f"more{c}-{i}" for i in base.column("id").to_pylist()])
        append_rows(data, POSES_TABLE, base.set_column(base.schema.get_field_index("id"), base.schema.field("id"), ids))
    return set(read_table(data, POSES_TABLE, ["id"]).column("id").to_pylist())


def _staged(index: Path) -> bool:
    """Embedded rows are on disk in the staging area (the job is past starting up)."""
    return any((index / "staging").glob("*.lance/data/*"))


def _index_ids(index: Path) -> list[str]:
    import lance

    from indexing.table import table_path

    return lance.dataset(str(table_path(index))).to_table(columns=["id"]).column("id").to_pylist()


def _build_here(**config: Any) -> None:
    """``indexing.build.build`` (what ``pose-search index build`` runs) in this process, with its
    Ray instance (started here, and shut down again, when there is none)."""
    import ray

    from indexing.build import BuildConfig, build

    started_here = not ray.is_initialized()
    build(BuildConfig(**config), progress=False)
    if started_here:
        ray.shutdown()


def index_build_scenario(core_run: Path, dataset: Path, work: Path, copies: int = 12,
                         first_build_here: bool = False) -> KillReport:
    """Build an index of ``dataset`` (copied), grow the dataset, kill the build that adds the new
    rows once it has staged embeddings, check the old version still answers, re-run.

    ``first_build_here``: the first version (what the kill must leave readable) is built in this
    process rather than by a ``pose-search`` child process, which spares that process's start-up;
    the killed build and the re-run are child processes either way."""
    from indexing.service import SearchService

    start = time.perf_counter()
    shutil.rmtree(work, ignore_errors=True)
    data, index = work / "data", work / "index"
    shutil.copytree(dataset, data)
    ray_tmp = tempfile.mkdtemp(prefix="rk", dir="/tmp")  # short: Ray's socket paths
    env = _env(ray_tmp)
    args = ["index", "build", "--model", str(core_run), "--data", str(data), "--out", str(index),
            "--workers", "1", "--batch-size", "4", "--ann", "flat"]
    try:
        if first_build_here:  # the same settings as ``args``
            _build_here(model=str(core_run), data=str(data), out=str(index), workers=1, batch_size=4, ann="flat")
        else:
            first = pose_search(args, env)
            if first.returncode != 0:
                raise RuntimeError(f"first build failed: {first.stderr[-2000:]}")
        rows_before = SearchService(index).rows
        expected = grow_dataset(data, copies)
        killed = kill_when(args, env, lambda: _staged(index))
        try:
            service = SearchService(index)  # the previous version, as index.json names it
            rows_after, readable = service.rows, len(service.search(text="a person standing", k=3)) == 3
        except ValueError:
            rows_after, readable = -1, False
        again = pose_search(args, env)
        ids = _index_ids(index) if again.returncode == 0 else []
        rows_final = SearchService(index).rows if again.returncode == 0 else -1
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    lost, dup = _count(ids, expected)
    return KillReport("index build", killed, rows_before, rows_after, readable, rows_final, len(expected), lost, dup,
                      again.returncode == 0 and lost == dup == 0 and rows_final == len(expected),
                      round(time.perf_counter() - start, 1))


# ------------------------------------------------------------------------------ data generate
def data_generate_scenario(work: Path, size: int = 192, seed: int = 3) -> KillReport:
    """Generate ``size`` poses (chunks of 64), kill the generator after its first commit, check
    the dataset directory reads (its committed chunks), re-run the same command."""
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import read_manifest, read_table

    start = time.perf_counter()
    shutil.rmtree(work, ignore_errors=True)
    out = work / "dataset"
    args = ["data", "generate", "--kind", "script", "--size", str(size), "--seed", str(seed), "--out", str(out),
            "--workers", "1"]
    env = _env()
    killed = kill_when(args, env, lambda: (out / POSES_TABLE / "_versions").is_dir()
                       and any((out / POSES_TABLE / "_versions").iterdir()))
    try:
        manifest = read_manifest(out)
        rows_after = read_table(out, POSES_TABLE, ["id"]).num_rows
        readable = manifest.get("status") == "incomplete" and 0 < rows_after < size
    except ValueError:
        rows_after, readable = -1, False
    again = pose_search(args, env)
    ids = read_table(out, POSES_TABLE, ["id"]).column("id").to_pylist() if again.returncode == 0 else []
    expected = {f"script-{seed}-{i:07d}" for i in range(size)}
    lost, dup = _count(ids, expected)
    final_ok = again.returncode == 0 and read_manifest(out).get("status") == "complete"
    return KillReport("data generate", killed, 0, rows_after, readable, len(ids), size, lost, dup,
                      final_ok and lost == dup == 0 and len(ids) == size, round(time.perf_counter() - start, 1))
