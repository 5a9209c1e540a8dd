"""pose-search on a simulated multi-node Ray cluster (``ray.cluster_utils.Cluster``: a head and
worker nodes as separate Ray node processes on this machine).

The jobs read and write through ``s3://`` URIs on a local S3 server and every node has its own
``POSE_SEARCH_CACHE``, so nothing works through a shared local disk by accident.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CORE = {"latent_dim": 32, "core_width": 16, "core_heads": 2, "core_ffn": 32}


def _free_port() -> int:
    from cluster.local import free_port

    return free_port()


@pytest.fixture
def nodes(request, tmp_path, s3, monkeypatch):
    """A head without CPUs (it only drives) and two worker nodes (1 CPU each, or the count of
    ``@pytest.mark.node_cpus(n)``), each with its own cache directory; the driver (this process)
    is connected. Yields ``(cluster, [worker nodes])``."""
    import ray
    from ray.cluster_utils import Cluster

    marker = request.node.get_closest_marker("node_cpus")
    cpus = marker.args[0] if marker else 1

    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path / "cache-driver"))
    if ray.is_initialized():
        ray.shutdown()
    def ports() -> dict[str, int]:  # every port free: other Ray instances run on this machine
        return {k: _free_port() for k in ("dashboard_agent_listen_port", "metrics_export_port",
                                          "metrics_agent_port", "runtime_env_agent_port")}

    head = {"num_cpus": 0, "gcs_server_port": _free_port(), "include_dashboard": True,
            "dashboard_port": _free_port(), **ports(),
            "env_vars": {"POSE_SEARCH_CACHE": str(tmp_path / "cache-head")}}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    workers = [cluster.add_node(num_cpus=cpus, **ports(), env_vars={"POSE_SEARCH_CACHE": str(tmp_path / f"cache-node{i}")})
               for i in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="WARNING", configure_logging=False)
    try:
        yield cluster, workers
    finally:
        ray.shutdown()
        cluster.shutdown()


def _push(local: Path, uri: str) -> str:
    from pose_search import storage

    storage.push(Path(local), uri)
    return uri


def _train_config(run: str, data: str, encoders: dict[str, str], epochs: int, max_failures: int = 0):
    from training.driver import TrainConfig

    return TrainConfig(task="core", run_dir=run, data=data, epochs=epochs, batch_size=8, lr=1e-3, workers=2,
                       cpus_per_worker=1.0, max_failures=max_failures,
                       task_options={"image_encoder": encoders["image"], "pose_encoder": encoders["pose"],
                                     "text_encoder": encoders["text"], "model_config": dict(CORE)})


def _remote_encoders(tiny_encoders) -> dict[str, str]:
    return {m: _push(d, f"s3://pose-search/encoders/{m}") for m, d in tiny_encoders.items()}


def _metrics(run: str) -> list[dict]:
    from pose_search import storage

    text = storage.read_bytes(storage.join(run, "metrics.jsonl")).decode()
    return [json.loads(line) for line in text.splitlines()]


def _actors(name: str) -> list:
    """Actors of this cluster whose class name (or Ray's display name for it) contains ``name``."""
    import ray
    from ray.util.state import list_actors

    # the connected cluster's address: without one, Ray looks for the Ray instances running on this
    # machine and refuses to choose when another one (another test run's) is up too
    address = ray.get_runtime_context().gcs_address
    return [a for a in list_actors(address=address, limit=10000, detail=True)
            if name in (a.class_name or "") or name in (getattr(a, "repr_name", None) or "")]


def test_ray_train_one_worker_per_node_through_object_storage(nodes, tiny_dataset, tiny_encoders, tmp_path):
    """(a) 2 DDP workers, one per worker node (1 CPU each, the head has none); the run, the
    dataset and the encoders live in object storage."""
    from pose_search import storage
    from pose_search.runs import load_model
    from training.driver import fit

    cluster, workers = nodes
    data = _push(tiny_dataset, "s3://pose-search/data/tiny")
    run = "s3://pose-search/runs/core-a"
    fit(_train_config(run, data, _remote_encoders(tiny_encoders), epochs=2))

    trainers = [a for a in _actors("RayTrainWorker")]
    assert {a.node_id for a in trainers} == {w.node_id for w in workers}  # one on each worker node
    assert [m["epoch"] for m in _metrics(run)] == [1, 2]
    for name in ("run.json", "best/core/model.safetensors", "last/core/config.json", "curves.png",
                 "features/train.safetensors"):
        assert storage.exists(storage.join(run, name)), name
    assert storage.exists(storage.join(run, "ray"))  # Ray's own checkpoints, written through pyarrow
    # each worker node mirrored the run into its own cache; nothing was read from the driver's disk
    for i in range(2):
        assert list((tmp_path / f"cache-node{i}" / "work").glob("core-a-*/features/train.safetensors"))
    model = load_model(run)  # straight from the URI
    assert model.core is not None


@pytest.mark.node_cpus(3)
def test_embedding_job_survives_a_lost_node(nodes, tmp_path, tiny_core_run):
    """(b) a worker node removed while the index build embeds: the job finishes on the other
    node and the table holds exactly one row per dataset id. (3-CPU nodes: the surviving node
    must hold both embedding actors, 1 CPU each, and a read task; a cluster shrunk below the
    actor pool plus one reader waits until the autoscaler adds a node.)"""
    import lance

    from indexing.build import BuildConfig, build
    from indexing.service import SearchService
    from pose_search.data.generate import GenerateConfig
    from pose_search.data.generate import run as generate
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import read_table

    cluster, workers = nodes
    local_data = tmp_path / "data"
    generate(local_data, GenerateConfig(kind="script", size=96, seed=3, chunk_size=32, val_fraction=0.25), workers=1)
    ids = read_table(local_data, POSES_TABLE, ["id"]).column("id").to_pylist()
    data = _push(local_data, "s3://pose-search/data/lost-node")
    model = _push(tiny_core_run, "s3://pose-search/runs/tiny-core")
    out = "s3://pose-search/indexes/lost-node"

    removed: dict[str, object] = {}

    def remove_when_embedding() -> None:
        deadline = time.time() + 240
        while time.time() < deadline:
            busy = [a for a in _actors("MapWorker") if a.state == "ALIVE"]
            if any(a.node_id == workers[1].node_id for a in busy):
                time.sleep(1.0)  # let it take batches
                cluster.remove_node(workers[1], allow_graceful=False)
                removed["at"] = time.time()
                return
            time.sleep(0.2)

    killer = threading.Thread(target=remove_when_embedding, daemon=True)
    killer.start()
    info = build(BuildConfig(model=model, data=data, out=out, workers=2, batch_size=4, ann="flat"), progress=False)
    killer.join(timeout=5)
    assert "at" in removed, "the node was not removed during the embedding job"

    assert info["rows"] == len(ids)
    svc = SearchService(out)
    table = lance.dataset(str(table_path_of(svc))).to_table(columns=["id"]).column("id").to_pylist()
    assert sorted(table) == sorted(ids)  # none lost, none duplicated
    hits = svc.search(text="a person standing with the arms raised", target="pose", k=5)
    assert len(hits) == 5


def table_path_of(service) -> Path:
    from indexing.table import table_path

    return table_path(service.root)


def test_training_worker_killed_resumes_from_checkpoint(nodes, tiny_dataset, tiny_encoders):
    """(c) a training worker process killed mid-run: Ray Train restarts the worker group, which
    resumes from the last checkpoint and finishes; every epoch is logged once."""
    import signal

    from training.driver import fit

    data = _push(tiny_dataset, "s3://pose-search/data/tiny-c")
    run = "s3://pose-search/runs/core-c"
    epochs = 8
    killed: dict[str, int] = {}

    def kill_after_two_epochs() -> None:
        from pose_search import storage

        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                done = len(_metrics(run)) if storage.exists(storage.join(run, "metrics.jsonl")) else 0
            except Exception:
                done = 0
            if done >= 2:
                alive = [a for a in _actors("RayTrainWorker") if a.state == "ALIVE" and a.pid]
                if alive:
                    os.kill(alive[0].pid, signal.SIGKILL)
                    killed.update(pid=alive[0].pid, epoch=done)
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_after_two_epochs, daemon=True)
    killer.start()
    fit(_train_config(run, data, _remote_encoders(tiny_encoders), epochs=epochs, max_failures=2))
    killer.join(timeout=5)
    assert killed, "no worker was killed"
    assert 2 <= killed["epoch"] < epochs
    rows = _metrics(run)
    assert [m["epoch"] for m in rows] == list(range(1, epochs + 1))
    restarted = [a for a in _actors("RayTrainWorker") if a.pid and a.pid != killed["pid"]]
    assert len(restarted) >= 3  # the first group (2), then at least one new worker


def test_job_submitted_to_a_local_cluster_completes(tmp_path, monkeypatch):
    """(d) `pose-search cluster up --local` (head + 1 worker node), a data-generation job through
    the Jobs API, `status`, `down`."""
    import subprocess
    import sys

    from pose_search import storage
    from tests.processes import run_together

    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path / "cache"))
    env = {**os.environ, "POSE_SEARCH_CACHE": str(tmp_path / "cache")}
    env.pop("RAY_ADDRESS", None)

    command = [sys.executable, "-m", "pose_search_app", "cluster"]

    def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=timeout)

    r = cli("up", "--local", "--num-cpus", "1", "--workers", "1", "--worker-cpus", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        out = tmp_path / "generated"
        # a second `up` (refused: it only reads the cluster's state) runs alongside the job's submission
        again, r = run_together([[*command, "up", "--local"],  # one cluster at a time
                                 [*command, "submit", "--timeout", "400", "--", "pose-search", "data", "generate",
                                  "--kind", "script", "--size", "12", "--workers", "1", "--out", str(out)]],
                                timeout=600, env=env)
        assert again.returncode == 2 and "already up" in again.stderr
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        assert "SUCCEEDED" in r.stdout and "12 poses" in r.stdout
        assert storage.exists(out / "manifest.json")
        r = cli("status", "--json")
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        assert len([n for n in report["nodes"] if n["state"] == "ALIVE"]) == 2
        assert [j["status"] for j in report["jobs"]] == ["SUCCEEDED"]
        r = cli("submit", "--", "pose-search", "data", "generate", "--size", "-3", "--out", str(tmp_path / "x"))
        assert r.returncode == 1 and "FAILED" in r.stdout  # the job's own clear error, then its status
    finally:
        state = json.loads((tmp_path / "cache" / "cluster.json").read_text())
        r = cli("down")
    assert r.returncode == 0, r.stderr
    from cluster.local import _alive

    assert not any(_alive(pid) for pid in state["pids"])
    assert not (tmp_path / "cache" / "cluster.json").exists()
