"""Synthetic data generation throughput: `pose-search data generate --kind script --size N`.

Measures samples/s of the whole generator (sampling, FPS, anny posing, rendering, JPEG encoding,
3 captions, Lance writes) with W worker processes, and with one process on the same data in the
same run, so the parallel speed-up is a ratio measured side by side. Writes
benchmarks/results/data_generation.json.

    .venv/bin/python benchmarks/data_generation.py --size 2000 --workers 2
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

from pose_search.data.generate import GenerateConfig, run


def timed_run(size: int, workers: int, seed: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench_gen_"))
    try:
        start = time.perf_counter()
        manifest = run(out, GenerateConfig(kind="script", size=size, seed=seed), workers=workers)
        seconds = time.perf_counter() - start
        size_mb = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"size": size, "workers": workers, "seconds": round(seconds, 2),
            "samples_per_s": round(size / seconds, 2), "dataset_mb": round(size_mb, 1),
            "captions_per_pose": manifest["caption_statistics"]["captions_per_item_min"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline-size", type=int, default=400, help="size of the 1-process run")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "data_generation.json"))
    args = parser.parse_args()
    parallel = timed_run(args.size, args.workers, seed=0)
    single = timed_run(args.baseline_size, 1, seed=1)
    result = {
        "benchmark": "data_generation",
        "command": f"pose-search data generate --kind script --size {args.size} --workers {args.workers}",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "parallel": parallel,
        "single_process": single,
        "speedup_parallel_vs_single": round(parallel["samples_per_s"] / single["samples_per_s"], 2),
        "target_samples_per_s": 20,
        "meets_target": parallel["samples_per_s"] >= 20,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
