"""Embedding throughput: the Ray Data job (`pose-search index build`) vs a plain in-process loop.

Both embed the same rows (one split of a dataset: image, pose and text of each row) with the
same model and torch thread budget, in one process run:

* plain: ``load_model`` + :func:`indexing.embed.embed_in_process` (pylance batches -> model ->
  Arrow rows) into a Python list, ``torch.set_num_threads(cpus)``;
* Ray: :func:`indexing.embed.run_embedding` + the commit of the staged rows (read_lance ->
  map_batches(Embedder actors) -> write_lance -> one commit), on an already started Ray
  instance (starting Ray is a per-cluster cost, reported apart), for 1 and ``cpus`` actors.

Rows/s include loading the model (once per actor for Ray). Writes
benchmarks/results/embed_throughput.json.

    .venv/bin/python benchmarks/embed_throughput.py --model experiments/synthetic/runs/poseembroider \
        --data experiments/synthetic/data --split val
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a trained core run")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=2, help="runs of each side (the best is kept)")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "embed_throughput.json"))
    args = p.parse_args()

    import ray

    from indexing.build import _dataset_modalities
    from indexing.embed import embed_in_process, run_embedding
    from indexing.table import commit_staging
    from pose_search.models.features import split_size
    from pose_search.runs import copy_model, load_model, model_files

    cpus = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="embed_bench_"))
    data = Path(args.data).absolute()
    model_dir = copy_model(model_files(Path(args.model).absolute()), work / "model")
    rows = split_size(data, args.split)
    model = load_model(model_dir)
    modalities = _dataset_modalities(data, model.modalities)
    dims = {m: int(model.core.cfg.latent_dim) for m in modalities}
    del model
    result: dict = {"benchmark": "embed_throughput", "rows": rows, "split": args.split, "modalities": modalities,
                    "batch_size": args.batch_size, "machine": {"cpus": cpus, "platform": platform.platform(),
                                                               "torch": torch.__version__}}

    def plain() -> float:
        torch.set_num_threads(cpus)
        start = time.perf_counter()
        m = load_model(model_dir)
        n = sum(t.num_rows for t in embed_in_process(m, data, modalities, args.split, args.batch_size))
        assert n == rows
        return time.perf_counter() - start

    def with_ray(workers: int) -> float:
        out = work / f"idx_{workers}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        start = time.perf_counter()
        staging = run_embedding(model_dir, data, out, dims, set(), args.split, workers, False, args.batch_size)
        commit_staging(out, staging)
        return time.perf_counter() - start

    t = time.perf_counter()
    ray.init(include_dashboard=False, configure_logging=False, log_to_driver=False)
    result["ray_start_seconds"] = round(time.perf_counter() - t, 2)
    sides = {"plain": plain, "ray_1_actor": lambda: with_ray(1)}
    if cpus > 1:
        sides[f"ray_{cpus}_actors"] = lambda: with_ray(cpus)
    for name, fn in sides.items():
        seconds = min(fn() for _ in range(args.repeats))
        result[name] = {"seconds": round(seconds, 2), "rows_per_s": round(rows / seconds, 1)}
        print(name, result[name], flush=True)
    base = result["plain"]["rows_per_s"]
    for name in sides:
        if name != "plain":
            result[name]["ratio_vs_plain"] = round(result[name]["rows_per_s"] / base, 3)
    result["best_ray_ratio"] = max(result[n]["ratio_vs_plain"] for n in sides if n != "plain")
    result["target"] = "best Ray ratio >= 0.9"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
