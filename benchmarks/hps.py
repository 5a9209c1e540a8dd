"""Mesh recovery from the fused representation: PoseEmbroider vs Aligner, image / text / image+text.

Trains one HPS head per representation model of the reference experiment
(``benchmarks/retrieval_synthetic.py``) on the image-derived representations of the train split,
then evaluates MPJPE / PA-MPJPE / V2V / rotation error on the val split for the three input
sets (text ones zero-shot), through the anny body. Writes benchmarks/results/hps.json with the
paper's numbers (BEDLAM-Script val, secondary source) beside ours.

    .venv/bin/python benchmarks/hps.py --root experiments/synthetic
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

PAPER = {  # Table 3, BEDLAM-Script val, PA-MPJPE mm (secondary source: shared/reference/poseembroider.md 7)
    "finding": "adding text to the image lowers PA-MPJPE (49 -> 44 mm with PoseEmbroider)",
    "poseembroider": {"image": {"pa_mpjpe_mm": 49}, "image+text": {"pa_mpjpe_mm": 44}},
    "aligner": {"image": {"pa_mpjpe_mm": 49}},
}


def main() -> None:
    from pose_search.models.heads.hps_pipeline import evaluate_hps
    from pose_search.runs import load_model
    from training.driver import TrainConfig, fit

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--cores", default="poseembroider,aligner")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "hps.json"))
    args = p.parse_args()
    root = Path(args.root)
    data = root / "data"
    results, seconds = {}, {}
    for core in args.cores.split(","):
        run = root / "runs" / f"hps_{core}"
        start = time.perf_counter()
        fit(TrainConfig(task="hps", run_dir=str(run), data=str(data), epochs=args.epochs, batch_size=64, lr=1e-4,
                        weight_decay=1e-4, task_options={"core": str(root / "runs" / core)}))
        seconds[f"train_{core}"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        results[core] = evaluate_hps(load_model(run), data, "val")
        seconds[f"eval_{core}"] = round(time.perf_counter() - start, 1)
        print(core, json.dumps({k: v for k, v in results[core].items() if isinstance(v, dict)}, indent=1), flush=True)
    out = {
        "benchmark": "hps",
        "epochs": args.epochs,
        "results": results,
        "text_lowers_error": {c: r["image+text"]["pa_mpjpe_mm"] < r["image"]["pa_mpjpe_mm"]
                              for c, r in results.items() if "image+text" in r},
        "paper_bedlam_script_val": PAPER,
        "seconds": seconds,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
