"""A Ray cluster on this machine (a head and optional worker nodes), started and stopped cleanly.

Each node is one ``ray start --block`` process in its own session: stopping sends it SIGTERM,
on which Ray stops that node's processes, and only those (``ray stop`` would stop every Ray
instance on the machine, other users' included). Every port is chosen free, so several local
clusters and test clusters coexist.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# Every port a Ray node listens on, by its `ray start` flag (head-only ones marked in HEAD_PORTS).
NODE_PORT_FLAGS = ("--node-manager-port", "--object-manager-port", "--metrics-export-port",
                   "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--runtime-env-agent-port")
HEAD_PORT_FLAGS = ("--port", "--dashboard-port", "--ray-client-server-port")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalCluster:
    """What is needed to reach and stop a local cluster (saved in the cluster state file)."""

    gcs_address: str
    dashboard: str  # the Jobs API address, http://127.0.0.1:PORT
    temp_dir: str
    pids: list[int] = field(default_factory=list)  # one `ray start --block` per node, head first


def ray_bin() -> str:
    """The `ray` command of this interpreter's environment."""
    return str(Path(sys.executable).with_name("ray"))


def _node_env() -> dict[str, str]:
    """The environment of the node processes: this interpreter's bin first on PATH, so a job's
    ``python -m pose_search_app ...`` runs with the same packages as this command."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("RAY_DEDUP_LOGS", "0")
    return env


def _start_node(args: list[str], log: Path) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen([ray_bin(), "start", "--block", "--disable-usage-stats", *args],
                                stdout=out, stderr=subprocess.STDOUT, env=_node_env(), start_new_session=True)
    return proc.pid


def start(num_cpus: int = 2, workers: int = 0, worker_cpus: int = 1, num_gpus: int | None = None,
          temp_dir: str | None = None, timeout: float = 120) -> LocalCluster:
    """Start a head (+ ``workers`` worker nodes) and wait until the Jobs API answers."""
    import tempfile

    tmp = temp_dir or tempfile.mkdtemp(prefix="psc", dir="/tmp")  # short: Unix socket paths
    ports = {flag: free_port() for flag in HEAD_PORT_FLAGS}
    gcs = f"127.0.0.1:{ports['--port']}"
    head = ["--head", "--node-ip-address", "127.0.0.1", "--dashboard-host", "127.0.0.1",
            "--include-dashboard", "true", "--num-cpus", str(num_cpus), "--temp-dir", tmp]
    if num_gpus is not None:
        head += ["--num-gpus", str(num_gpus)]
    for flag in (*HEAD_PORT_FLAGS, *NODE_PORT_FLAGS):
        head += [flag, str(ports.get(flag) or free_port())]
    log = Path(tmp) / "nodes.log"
    cluster = LocalCluster(gcs_address=gcs, dashboard=f"http://127.0.0.1:{ports['--dashboard-port']}",
                           temp_dir=tmp, pids=[_start_node(head, log)])
    try:
        _wait_for_jobs_api(cluster, timeout, log)
        for _ in range(workers):
            args = ["--address", gcs, "--node-ip-address", "127.0.0.1", "--num-cpus", str(worker_cpus)]
            for flag in NODE_PORT_FLAGS:
                args += [flag, str(free_port())]
            cluster.pids.append(_start_node(args, log))
        _wait_for_nodes(cluster, 1 + workers, timeout, log)
    except Exception:
        stop(cluster)
        raise
    return cluster


def _wait_for_jobs_api(cluster: LocalCluster, timeout: float, log: Path) -> None:
    """Until the dashboard answers *and* the head's job agent is registered."""
    from cluster.jobs import connect

    deadline = time.time() + timeout
    last: Exception | None = None
    while time.time() < deadline:
        if not _alive(cluster.pids[0]):
            raise RuntimeError(f"the Ray head exited during start-up; see {log}")
        try:
            client = connect(cluster.dashboard)
            client.list_jobs()
            from ray.util.state import list_nodes

            if list_nodes(address=cluster.dashboard):
                return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(1.0)
    raise TimeoutError(f"the Ray head did not answer within {timeout:.0f} s ({last}); see {log}")


def _wait_for_nodes(cluster: LocalCluster, n: int, timeout: float, log: Path) -> None:
    from ray.util.state import list_nodes

    deadline = time.time() + timeout
    while time.time() < deadline:
        alive = [x for x in list_nodes(address=cluster.dashboard) if x.state == "ALIVE"]
        if len(alive) >= n:
            return
        time.sleep(1.0)
    raise TimeoutError(f"only {len(alive)} of {n} nodes joined within {timeout:.0f} s; see {log}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not reaped) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def stop(cluster: LocalCluster, timeout: float = 60) -> None:
    """SIGTERM each node (workers first), then SIGKILL what is left of their sessions."""
    for pid in reversed(cluster.pids):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.time() + timeout
    while time.time() < deadline and any(_alive(p) for p in cluster.pids):
        time.sleep(0.5)
    for pid in cluster.pids:  # each node's session: its raylet, workers, dashboard, ...
        _kill_session(pid)


def _kill_session(sid: int) -> None:
    """SIGKILL every process of session ``sid`` (a node started with its own session)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if os.getsid(int(entry.name)) == sid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue
