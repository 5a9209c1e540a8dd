"""UI load: concurrent gradio_client users running text searches against the served app.

The app runs in a child process (its own GIL, as in production), one per batching mode, with one
torch thread per request as ``pose-search ui`` sets it:

* ``none``: the CPU default, each query encoded alone, up to 32 concurrently (``/search``'s
  concurrency limit);
* ``micro``: text queries through the backend's micro-batcher (:class:`ui.batcher.MicroBatcher`,
  2 workers, 2 ms window, batches of up to 32) -- the GPU default;
* ``gradio``: Gradio's own batching (``batch=True, max_batch_size=32``) on an app with the same
  ``/search`` inputs and outputs.

``--clients`` threads (each its own ``gradio_client.Client``) send ``--queries`` varied captions
each (the index's own captions) to ``/search``; latency is measured around each call, client
side, and the CPU time of server and clients is recorded (they share the machine). Then the same
load runs in-process against ``UIBackend.search`` alone (no web stack), batched and not, to
isolate what batching does to the encoder. Writes benchmarks/results/ui_load.json (the first
mode's numbers at the top level).

    .venv/bin/python benchmarks/ui_load.py --index experiments/synthetic/index_val_hnsw
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("none", "micro", "gradio")


# ------------------------------------------------------------------------------------ server side
def gradio_batch_app(backend: Any, max_batch: int) -> Any:
    """An app whose ``/search`` (same inputs and outputs as the real one) uses Gradio's batching."""
    import gradio as gr

    from ui.app import gallery

    def search(texts, images, pose_ids, pose_files, targets, ks, splits, captions):  # lists, one per input
        plain = all(i is None for i in images) and not any(pose_ids) and not any(pose_files)
        same = len({(t, k, s, c) for t, k, s, c in zip(targets, ks, splits, captions)}) == 1
        if plain and same:
            filters = backend.search_filters(splits[0], captions[0])
            rows = backend.search_texts(texts, target=targets[0], k=ks[0], filters=filters)
        else:
            rows = [backend.search(*q) for q in zip(texts, images, pose_ids, pose_files, targets, ks, splits, captions)]
        return [gallery(r) for r in rows], [[c.to_dict() for c in r] for r in rows]

    with gr.Blocks() as app:
        inputs = [gr.Textbox(), gr.Image(type="numpy"), gr.Textbox(), gr.File(type="filepath"), gr.Radio(["pose"]),
                  gr.Slider(1, 50, step=1), gr.Dropdown(["any"]), gr.Textbox()]
        outputs = [gr.Gallery(), gr.JSON()]
        gr.Button().click(search, inputs, outputs, api_name="search", batch=True, max_batch_size=max_batch)
    app.queue(max_size=256)
    return app


def serve(args: argparse.Namespace) -> None:
    """Child process: serve one mode until killed."""
    import torch

    from ui.app import build_app, launch
    from ui.backend import BackendConfig, UIBackend

    torch.set_num_threads(args.threads)  # as `pose-search ui` does
    backend = UIBackend(args.index, hps_run=args.hps, instructions_run=args.instructions, data_dir=args.data,
                        config=BackendConfig(batching=args.serve == "micro", max_batch=args.max_batch))
    app = gradio_batch_app(backend, args.max_batch) if args.serve == "gradio" else build_app(backend)
    launch(app, port=args.port, quiet=True)


# ------------------------------------------------------------------------------------ client side
def captions(index: str, n: int) -> list[str]:
    import lance

    from indexing.table import table_path

    caps = lance.dataset(str(table_path(index))).to_table(columns=["captions"]).column(0).to_pylist()
    flat = [c for cs in caps for c in (cs or []) if c.strip()]
    rng = np.random.default_rng(0)
    return [flat[i] for i in rng.choice(len(flat), size=n, replace=len(flat) < n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    import httpx

    start = time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(url + "config", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError("the server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_threads(call: Callable[[int, str], bool], texts: list[str], clients: int,
                  per_client: int) -> tuple[list[float], list[str], float]:
    """``clients`` threads, started together, each making ``per_client`` calls ``call(i, text)``
    (True: a good answer); returns (latencies in s, failed texts or errors, wall time in s)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def user(i: int) -> None:
        barrier.wait()
        for text in texts[i * per_client : (i + 1) * per_client]:
            t = time.perf_counter()
            try:
                ok, note = call(i, text), text
            except Exception as exc:  # noqa: BLE001 - counted, not raised
                ok, note = False, f"{type(exc).__name__}: {exc}"
            with lock:
                latencies.append(time.perf_counter() - t)
                if not ok:
                    errors.append(note)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - start


def summary(latencies: list[float], wall: float) -> dict[str, Any]:
    ms = np.array(latencies) * 1e3
    return {"queries": len(latencies), "p50_ms": round(float(np.median(ms)), 1),
            "p90_ms": round(float(np.quantile(ms, 0.9)), 1), "p99_ms": round(float(np.quantile(ms, 0.99)), 1),
            "throughput_qps": round(len(latencies) / wall, 2), "wall_s": round(wall, 2)}


def run_clients(url: str, texts: list[str], clients: int, per_client: int, k: int,
                server_pid: int) -> dict[str, Any]:
    from gradio_client import Client

    conns = [Client(url, verbose=False, download_files=False) for _ in range(clients)]
    for c in conns[:2]:  # warm-up: model caches, first image files
        c.predict(texts[0], None, None, None, "pose", k, "any", "", api_name="/search")

    def call(i: int, text: str) -> bool:
        _, table = conns[i].predict(text, None, None, None, "pose", k, "any", "", api_name="/search")
        return len(table) == k

    server_cpu, client_cpu = cpu_seconds(server_pid), cpu_seconds(os.getpid())
    latencies, errors, wall = timed_threads(call, texts, clients, per_client)
    server_cpu, client_cpu = cpu_seconds(server_pid) - server_cpu, cpu_seconds(os.getpid()) - client_cpu
    return {"clients": clients, **summary(latencies, wall), "errors": len(errors), "error_examples": errors[:3],
            "server_cpu_ms_per_query": round(1e3 * server_cpu / len(latencies), 1),
            "client_cpu_ms_per_query": round(1e3 * client_cpu / len(latencies), 1)}


def measure(mode: str, args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", mode, "--index", args.index, "--port", str(port),
           "--max-batch", str(args.max_batch), "--threads", str(args.threads)]
    for flag in ("hps", "instructions", "data"):
        if getattr(args, flag):
            cmd += [f"--{flag}", getattr(args, flag)]
    log = tempfile.NamedTemporaryFile("w+", prefix=f"ui_load_{mode}_", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_ready(url, proc)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}; server log: {log.name}") from None
        result = run_clients(url, texts, args.clients, args.queries, args.k, proc.pid)
        if mode == "micro":
            from gradio_client import Client

            result["batcher"] = Client(url, verbose=False).predict(api_name="/status")["batching"]
        return {"mode": mode, **result}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def backend_only(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    """The same load against ``UIBackend.search`` in this process: batching off vs micro-batched."""
    import torch

    from ui.backend import BackendConfig, UIBackend

    torch.set_num_threads(args.threads)
    out = {}
    for mode in ("none", "micro"):
        backend = UIBackend(args.index, data_dir=args.data,
                            config=BackendConfig(batching=mode == "micro", max_batch=args.max_batch))
        try:
            for text in texts[:20]:  # warm-up
                backend.search(text=text, k=args.k)
            latencies, errors, wall = timed_threads(
                lambda i, text, b=backend: len(b.search(text=text, k=args.k)) == args.k,
                texts, args.clients, args.queries)
            out[mode] = {**summary(latencies, wall), "errors": len(errors), "batching": backend.status()["batching"]}
        finally:
            backend.close()
    return out


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    info: dict[str, Any] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version(), "gradio": version("gradio"),
                            "gradio_client": version("gradio_client"), "load_average_at_start": os.getloadavg()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                                 if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", required=True)
    p.add_argument("--hps")
    p.add_argument("--instructions")
    p.add_argument("--data")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--queries", type=int, default=25, help="queries per client")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--max-batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1, help="torch threads in the server (pose-search ui --threads)")
    p.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {MODES}; the first is reported")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ui_load.json"))
    p.add_argument("--serve", choices=MODES, help=argparse.SUPPRESS)  # internal: the child server
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        p.error(f"--modes: expected some of {MODES}")
    texts = captions(args.index, args.clients * args.queries)
    runs = []
    for mode in modes:
        print(f"mode {mode}: {args.clients} clients x {args.queries} queries ...", flush=True)
        runs.append(measure(mode, args, texts))
        print(json.dumps(runs[-1]), flush=True)
    print("backend only (no web stack) ...", flush=True)
    inproc = backend_only(args, texts)
    print(json.dumps(inproc), flush=True)
    first = runs[0]
    report = {"benchmark": "ui_load", "index": args.index, "endpoint": "/search (text -> pose, top-k with renders)",
              "k": args.k, "server_torch_threads": args.threads, **{key: first[key] for key in ("mode", "clients", "queries", "errors", "p50_ms",
                                                          "p99_ms", "throughput_qps")},
              "modes": runs, "backend_only": inproc, "machine": machine()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if all(r["errors"] == 0 for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
