"""``pose-search cluster up|submit|status|down``: run the same commands on a Ray cluster.

    pose-search cluster up --local --workers 2          # head + 2 worker nodes on this machine
    pose-search cluster up --config cluster/aws-gpu.yaml   # cloud: Ray cluster launcher
    pose-search cluster up --kuberay                    # Kubernetes: KubeRay RayCluster
    pose-search cluster submit -- pose-search train core --run s3://bucket/runs/core ...
    pose-search cluster status [--json]
    pose-search cluster down

``up`` records how to reach the cluster in ``$POSE_SEARCH_CACHE/cluster.json``; the other
commands use it, unless ``--address`` (or ``$RAY_ADDRESS``, an http:// Jobs API address) says
otherwise. Only ``pose_search.config`` and Ray are imported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from cluster.local import ray_bin
from pose_search.config import cache_dir

HERE = Path(__file__).resolve().parent
KUBERAY_CLUSTER = HERE / "kuberay" / "raycluster.yaml"
STATE_FILE = "cluster.json"


def state_path() -> Path:
    return cache_dir() / STATE_FILE


def read_state() -> dict[str, Any] | None:
    path = state_path()
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is corrupt ({exc}); delete it and run `pose-search cluster up` again") from None


def write_state(state: dict[str, Any] | None) -> None:
    path = state_path()
    if state is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


def resolve_address(given: str | None) -> str:
    """--address, else $RAY_ADDRESS (when http://), else the cluster `up` started."""
    for value in (given, os.environ.get("RAY_ADDRESS")):
        if value:
            if not value.startswith(("http://", "https://")):
                raise ValueError(f"cluster address {value!r}: expected the Jobs API address, "
                                 "http://HOST:8265 (the dashboard port)")
            return value.rstrip("/")
    state = read_state()
    if state is None:
        raise ValueError("no cluster: run `pose-search cluster up ...` first, or give --address "
                         "http://HOST:8265 (or set RAY_ADDRESS)")
    return str(state["address"])


# ------------------------------------------------------------------------------ commands


MAX_LOGICAL_CPUS = 1024  # per local node: Ray takes any count, but a node is still one machine


def check_local_sizes(workers: int, num_cpus: int, worker_cpus: int) -> None:
    """Refuse local clusters this machine cannot hold: each worker node is a raylet and its
    processes, so at most two per core; logical CPUs per node at most ``MAX_LOGICAL_CPUS``."""
    cores = os.cpu_count() or 1
    if workers > 2 * cores:
        raise ValueError(f"--workers {workers}: a local cluster on this machine ({cores} cores) takes at most "
                         f"{2 * cores} worker nodes; use --config or --kuberay for more")
    for flag, value in (("--num-cpus", num_cpus), ("--worker-cpus", worker_cpus)):
        if value > MAX_LOGICAL_CPUS:
            raise ValueError(f"{flag} {value}: at most {MAX_LOGICAL_CPUS} logical CPUs per local node")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="start a cluster: local nodes, the cloud launcher, or KubeRay")
    kind = up.add_mutually_exclusive_group(required=True)
    kind.add_argument("--local", action="store_true", help="a head (+ --workers nodes) on this machine")
    kind.add_argument("--config", help="a Ray cluster-launcher YAML (e.g. cluster/aws-gpu.yaml): `ray up`")
    kind.add_argument("--kuberay", nargs="?", const=str(KUBERAY_CLUSTER), metavar="MANIFEST",
                      help=f"apply a KubeRay RayCluster manifest with kubectl (default {KUBERAY_CLUSTER.name})")
    up.add_argument("--num-cpus", type=int, default=os.cpu_count() or 1, help="local head CPUs")
    up.add_argument("--num-gpus", type=int, default=None, help="local head GPUs (default: detected)")
    up.add_argument("--workers", type=int, default=0, help="local worker nodes to add")
    up.add_argument("--worker-cpus", type=int, default=1, help="CPUs of each local worker node")
    up.add_argument("--address", default="http://127.0.0.1:8265",
                    help="where the Jobs API will answer for --config/--kuberay (after port-forwarding)")
    up.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")

    s = sub.add_parser("submit", help="run a command on the cluster (Ray Jobs API), e.g. "
                       "`submit -- pose-search train core ...`")
    s.add_argument("--address", help="Jobs API address, http://HOST:8265 (default: the cluster `up` started)")
    s.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment variable for the job (repeatable), e.g. AWS_ENDPOINT_URL=...")
    s.add_argument("--num-cpus", type=float, default=0, help="CPUs reserved for the command itself")
    s.add_argument("--num-gpus", type=float, default=0, help="GPUs reserved for the command itself")
    s.add_argument("--job-id", help="a submission id of your choice (default: generated)")
    s.add_argument("--no-wait", action="store_true", help="return once submitted (print the job id)")
    s.add_argument("--timeout", type=float, default=None, help="stop following after this many seconds")
    s.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command line to run")

    st = sub.add_parser("status", help="nodes and jobs of the cluster")
    st.add_argument("--address")
    st.add_argument("--job", help="print this job's status and log")
    st.add_argument("--json", action="store_true")

    d = sub.add_parser("down", help="stop the cluster `up` started")
    d.add_argument("--dry-run", action="store_true")


def run(args: argparse.Namespace) -> int:
    from cluster.jobs import use_token_auth

    use_token_auth()  # before anything imports Ray
    return {"up": _up, "submit": _submit, "status": _status, "down": _down}[args.action](args)


def _run_or_print(cmd: list[str], dry_run: bool) -> None:
    print("$ " + " ".join(cmd), flush=True)
    if dry_run:
        return
    if shutil.which(cmd[0]) is None:
        raise FileNotFoundError(f"{cmd[0]!r} is not installed (needed for this cluster kind)")
    result = subprocess.run(cmd)
    if result.returncode != 0:
        raise ValueError(f"{' '.join(cmd)} failed with exit code {result.returncode}")


def _up(args: argparse.Namespace) -> int:
    old = read_state()
    if old is not None and not args.dry_run:
        raise ValueError(f"a cluster is already up ({old['kind']}, {old['address']}); "
                         "`pose-search cluster down` first")
    if args.local:
        from cluster import local

        if args.workers < 0 or args.num_cpus < 0 or args.worker_cpus < 1:
            raise ValueError("--workers and --num-cpus must be >= 0 (a head without CPUs only drives), "
                             "--worker-cpus >= 1")
        check_local_sizes(args.workers, args.num_cpus, args.worker_cpus)
        if args.dry_run:
            print(f"would start a local head ({args.num_cpus:g} CPUs) and {args.workers} worker node(s)")
            return 0
        c = local.start(args.num_cpus, args.workers, args.worker_cpus, args.num_gpus)
        write_state({"kind": "local", "address": c.dashboard, "gcs_address": c.gcs_address,
                     "temp_dir": c.temp_dir, "pids": c.pids})
        print(f"local cluster up: {1 + args.workers} node(s); Jobs API {c.dashboard}, GCS {c.gcs_address}")
        return 0
    if args.config:
        config = Path(args.config)
        if not config.is_file():
            raise FileNotFoundError(f"cluster config {str(config)!r} does not exist")
        _run_or_print([ray_bin(), "up", "-y", str(config)], args.dry_run)
        hint = f"forward the dashboard with `ray dashboard {config}` (keep it running)"
        state = {"kind": "launcher", "address": args.address, "config": str(config.absolute())}
    else:
        manifest = Path(args.kuberay)
        if not manifest.is_file():
            raise FileNotFoundError(f"KubeRay manifest {str(manifest)!r} does not exist")
        _run_or_print(["kubectl", "apply", "-f", str(manifest)], args.dry_run)
        _run_or_print(["kubectl", "wait", "--for=condition=RayClusterProvisioned", "raycluster/pose-search",
                       "--timeout=600s"], args.dry_run)
        hint = "forward the dashboard with `kubectl port-forward svc/pose-search-head-svc 8265:8265`"
        state = {"kind": "kuberay", "address": args.address, "manifest": str(manifest.absolute())}
    if not args.dry_run:
        write_state(state)
    print(f"cluster up; {hint}; jobs go to {args.address}")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from cluster import jobs

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    entry = jobs.entrypoint(command)  # checks the command before contacting the cluster
    if args.num_cpus < 0 or args.num_gpus < 0 or (args.timeout is not None and not args.timeout > 0):
        raise ValueError("--num-cpus and --num-gpus must be >= 0 and --timeout > 0")
    env = jobs.parse_env(args.env)
    address = resolve_address(args.address)
    job_id = jobs.submit(address, command, env, args.num_cpus, args.num_gpus, args.job_id)
    print(f"submitted {job_id}: {entry}", flush=True)
    if args.no_wait:
        return 0
    final = jobs.follow(address, job_id, timeout=args.timeout)
    print(f"job {job_id}: {final}")
    return {"SUCCEEDED": 0, "STOPPED": 130}.get(final, 1)


def _status(args: argparse.Namespace) -> int:
    from cluster import jobs

    address = resolve_address(args.address)
    if args.job:
        client = jobs.connect(address)
        try:
            info = client.get_job_info(args.job)
        except RuntimeError as exc:  # the Jobs API answers 404 for an unknown id
            raise ValueError(f"job {args.job!r}: {exc}") from None
        if args.json:
            print(json.dumps({"job_id": args.job, "status": str(info.status.value), "message": info.message,
                              "logs": client.get_job_logs(args.job)}, indent=2))
        else:
            print(client.get_job_logs(args.job), end="")
            print(f"job {args.job}: {info.status.value} {info.message or ''}".rstrip())
        return 0
    report = jobs.status(address)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"cluster {address}")
    for n in report["nodes"]:
        print(f"  node {n['node_id']} {n['ip']:<15} {'head' if n['head'] else 'worker':<6} {n['state']:<6} "
              f"{n['cpus']:g} CPU {n['gpus']:g} GPU")
    for j in report["jobs"]:
        print(f"  job {j['job_id']:<28} {j['status']:<10} {j['entrypoint']}")
    return 0


def _down(args: argparse.Namespace) -> int:
    state = read_state()
    if state is None:
        raise ValueError("no cluster was started with `pose-search cluster up` (nothing to stop)")
    if state["kind"] == "local":
        from cluster import local

        if not args.dry_run:
            local.stop(local.LocalCluster(state["gcs_address"], state["address"], state["temp_dir"], state["pids"]))
    elif state["kind"] == "launcher":
        _run_or_print([ray_bin(), "down", "-y", state["config"]], args.dry_run)
    else:
        _run_or_print(["kubectl", "delete", "-f", state["manifest"]], args.dry_run)
    if not args.dry_run:
        write_state(None)
    print(f"cluster ({state['kind']}) down")
    return 0
