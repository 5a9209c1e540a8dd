"""Core training throughput through Ray Train vs the same loop in plain PyTorch, in one run.

Both sides run the core task's own epoch loop (:meth:`CoreTask.train_epoch`) on the same cached
features with the same model, batch size and thread count; Ray Train adds its worker actor, the
report/checkpoint of every epoch and DDP preparation. Samples/s are taken over the training part
of each epoch, after one warm-up epoch. Writes benchmarks/results/train_overhead.json.

    .venv/bin/python benchmarks/train_overhead.py --core-run experiments/synthetic/runs/poseembroider
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch


def main() -> None:
    from training.driver import TrainConfig, fit
    from training.tasks.core import CoreTask

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--core-run", required=True, help="a trained core run (its features and encoders are reused)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "train_overhead.json"))
    args = p.parse_args()
    src = Path(args.core_run)
    stored = json.loads((src / "run.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="overhead_"))
    try:
        for name in ("features", "encoders"):
            shutil.copytree(src / name, work / "ray_run" / name, copy_function=os.link)
        cfg = TrainConfig(task="core", run_dir=str(work / "ray_run"), data=stored["data"], epochs=args.epochs,
                          batch_size=args.batch_size, lr=2e-4, task_options={
                              "model": stored["task_options"].get("model", "poseembroider"),
                              **{k: str(work / "ray_run" / "encoders" / k.split("_")[0])
                                 for k in ("image_encoder", "pose_encoder", "text_encoder")}},
                          val_every=10**6)
        # plain PyTorch: the same task code in this process
        torch.set_num_threads(args.threads)
        task = CoreTask(replace(cfg, run_dir=str(work / "ray_run")))
        torch.manual_seed(cfg.seed)
        model = task.build_model()
        train, _ = task.datasets()
        opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=cfg.lr, weight_decay=0.0)
        n = len(next(iter(train.values())))
        steps = n // cfg.batch_size
        plain = []
        for epoch in range(args.epochs):
            start = time.perf_counter()
            task.train_epoch(model, opt, train, epoch, 0, 1, torch.device("cpu"))
            plain.append(time.perf_counter() - start)
        # Ray Train: one worker with the same threads
        os.environ["POSE_SEARCH_TORCH_THREADS"] = str(args.threads)
        fit(replace(cfg, cpus_per_worker=min(float(args.threads), float(os.cpu_count() or 1))))
        rows = [json.loads(x) for x in (work / "ray_run" / "metrics.jsonl").read_text().splitlines()]
        ray_times = [r["train_seconds"] for r in rows]
        plain_sps = steps * cfg.batch_size / (sum(plain[1:]) / max(1, len(plain) - 1))
        ray_sps = steps * cfg.batch_size / (sum(ray_times[1:]) / max(1, len(ray_times) - 1))
        result = {
            "benchmark": "train_overhead",
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "threads": args.threads},
            "rows": n, "batch_size": cfg.batch_size, "epochs_measured": args.epochs - 1,
            "plain_pytorch_samples_per_s": round(plain_sps, 1),
            "ray_train_samples_per_s": round(ray_sps, 1),
            "overhead_fraction": round(1 - ray_sps / plain_sps, 3),
            "target_overhead": 0.10,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
