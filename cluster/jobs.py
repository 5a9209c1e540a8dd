"""Run pose-search commands on a Ray cluster through the Ray Jobs API.

``submit`` ships this checkout as the job's ``working_dir`` (runtime_env) and runs the same
command line there, so ``pose-search cluster submit -- pose-search train core ...`` runs exactly
what ``pose-search train core ...`` runs locally. Paths in the command should be URIs
(``s3://...``) or live on a disk every node mounts: see cluster/README.md.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Not shipped with a job: environments, caches, experiment outputs, VCS data.
EXCLUDES = [".venv", ".venv-*", ".cache", "experiments", ".git", "**/__pycache__", "*.egg-info",
            ".pytest_cache", ".ruff_cache", "node_modules", "*.lance"]
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


def use_token_auth() -> None:
    """Send Ray's authentication token when there is one (``~/.ray/auth_token``,
    ``$RAY_AUTH_TOKEN``): local clusters require it by default. Ray reads the mode once, so this
    runs before Ray is imported; an explicit ``RAY_AUTH_MODE`` is left alone."""
    if "RAY_AUTH_MODE" not in os.environ and _token_available():
        os.environ["RAY_AUTH_MODE"] = "token"


def connect(address: str) -> Any:
    """A ``JobSubmissionClient`` for ``address`` (http://host:8265)."""
    use_token_auth()
    from ray.job_submission import JobSubmissionClient

    return JobSubmissionClient(address)


def _token_available() -> bool:
    return bool(os.environ.get("RAY_AUTH_TOKEN")) or Path(
        os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token")).is_file()


def entrypoint(command: Sequence[str]) -> str:
    """The job's shell command: ``pose-search ...`` becomes ``python -m pose_search_app ...`` so the
    shipped checkout's code runs, not whatever version a node has installed."""
    if not command:
        raise ValueError("no command to submit: give it after `--`, e.g. "
                         "`pose-search cluster submit -- pose-search train core ...`")
    args = list(command)
    if args[0] == "pose-search":
        args = ["python", "-m", "pose_search_app", *args[1:]]
    return shlex.join(args)


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    """``["K=V", ...]`` -> ``{K: V}`` with a clear error for a malformed pair."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--env {pair!r}: expected NAME=VALUE")
        out[key] = value
    return out


def runtime_env(env: dict[str, str], working_dir: Path = REPO) -> dict[str, Any]:
    return {"working_dir": str(working_dir), "excludes": EXCLUDES,
            "env_vars": {"PYTHONUNBUFFERED": "1", **env}}


def submit(address: str, command: Sequence[str], env: dict[str, str] | None = None, num_cpus: float = 0,
           num_gpus: float = 0, job_id: str | None = None, working_dir: Path = REPO) -> str:
    """Submit ``command``; returns the job id."""
    client = connect(address)
    kwargs: dict[str, Any] = {}
    if num_cpus:
        kwargs["entrypoint_num_cpus"] = num_cpus
    if num_gpus:
        kwargs["entrypoint_num_gpus"] = num_gpus
    return client.submit_job(entrypoint=entrypoint(command), runtime_env=runtime_env(env or {}, working_dir),
                             submission_id=job_id, **kwargs)


def follow(address: str, job_id: str, out: Any = sys.stdout, poll: float = 1.0,
           timeout: float | None = None) -> str:
    """Print the job's log as it grows until it ends; returns its final status."""
    client = connect(address)
    shown = 0
    deadline = None if timeout is None else time.time() + timeout
    while True:
        status = str(client.get_job_status(job_id).value)
        logs = client.get_job_logs(job_id)
        if len(logs) > shown:
            out.write(logs[shown:])
            out.flush()
            shown = len(logs)
        if status in TERMINAL:
            return status
        if deadline is not None and time.time() > deadline:
            raise TimeoutError(f"job {job_id} still {status} after {timeout:.0f} s")
        time.sleep(poll)


def status(address: str) -> dict[str, Any]:
    """Nodes (state, CPUs, GPUs) and jobs (id, status, command) of the cluster."""
    from ray.util.state import list_nodes

    client = connect(address)
    nodes = [{"node_id": n.node_id[:12], "ip": n.node_ip, "head": bool(n.is_head_node), "state": n.state,
              "cpus": float(n.resources_total.get("CPU", 0)), "gpus": float(n.resources_total.get("GPU", 0))}
             for n in list_nodes(address=address)]
    jobs = [{"job_id": j.submission_id or j.job_id, "status": str(j.status.value), "entrypoint": j.entrypoint,
             "start_time": j.start_time, "end_time": j.end_time} for j in client.list_jobs()]
    jobs.sort(key=lambda j: j["start_time"] or 0)
    return {"address": address, "nodes": nodes, "jobs": jobs}
