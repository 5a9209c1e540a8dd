"""Instruction generation from the fused representation: PoseEmbroider vs Aligner.

On the reference experiment (``benchmarks/retrieval_synthetic.py``): generate a synthetic ``fix``
dataset (mined pose pairs with automatic instructions, pairs mined on the experiment's PoseText
features), train PairText (the evaluator, text tower from the experiment's PoseText), then one
instruction head per representation model (pose inputs), and evaluate BLEU-4 / ROUGE-L / METEOR
and R-precision top-1/2/3 for pose-pose, image-image and pose-image inputs, with the
ground-truth ceiling and the random floor. Writes benchmarks/results/instructions.json.

    .venv/bin/python benchmarks/instructions.py --root experiments/synthetic
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

PAPER = {  # Table 2 (secondary source, shared/reference/poseembroider.md 7): BEDLAM-Fix, pose-pose input
    "poseembroider": {"pose-pose": {"R@1": 43.1}, "image-image": {"R@1": 15.6}},
    "aligner": {"pose-pose": {"R@1": 31.8}},
}


def main() -> None:
    from pose_search.data.generate import GenerateConfig
    from pose_search.data.generate import run as generate
    from pose_search.models.heads.instruction_pipeline import evaluate_instructions
    from pose_search.models.pair_features import for_config
    from pose_search.runs import load_model
    from pose_search_app.build import INSTRUCTIONS_CPU
    from training.driver import TrainConfig, fit

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--size", type=int, default=6000, help="poses in the fix pool")
    p.add_argument("--cores", default="poseembroider,aligner")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--val-every", type=int, default=None, help="validation every N epochs (default: epochs // 2)")
    p.add_argument("--pairtext-epochs", type=int, default=20)
    p.add_argument("--limit", type=int, default=500, help="val pairs evaluated")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "instructions.json"))
    args = p.parse_args()
    root = Path(args.root)
    runs = root / "runs"
    fix = root / "fix"
    seconds = {}
    start = time.perf_counter()
    fix_cfg, pair_features = for_config(GenerateConfig(kind="fix", size=args.size, seed=1, val_fraction=0.15,
                                                       pair_feature=str(runs / "posetext")))
    generate(fix, fix_cfg, workers=os.cpu_count() or 1, pair_features=pair_features)
    seconds["data"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    fit(TrainConfig(task="pairtext", run_dir=str(runs / "pairtext"), data=str(fix), epochs=args.pairtext_epochs,
                    batch_size=128, lr=5e-4, task_options={"text_encoder": str(runs / "posetext")}))
    seconds["pairtext"] = round(time.perf_counter() - start, 1)
    pairtext = load_model(runs / "pairtext")
    results = {}
    for core in args.cores.split(","):
        run = runs / f"instructions_{core}"
        start = time.perf_counter()
        # the demo's CPU-sized decoder (2 x 128; the paper-sized 4 x 512 one costs many times more per step)
        fit(TrainConfig(task="instructions", run_dir=str(run), data=str(fix), epochs=args.epochs, batch_size=64,
                        lr=1e-3, weight_decay=1e-4, val_every=args.val_every or max(1, args.epochs // 2),
                        task_options={"core": str(runs / core), "model_config": INSTRUCTIONS_CPU}))
        seconds[f"train_{core}"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        results[core] = evaluate_instructions(load_model(run), fix, "val", pairtext=pairtext, limit=args.limit)
        seconds[f"eval_{core}"] = round(time.perf_counter() - start, 1)
        print(core, json.dumps({k: v for k, v in results[core].items() if isinstance(v, dict)}, indent=1), flush=True)
    out = {"benchmark": "instructions", "fix_pool": args.size, "epochs": args.epochs,
           "pairtext_epochs": args.pairtext_epochs, "val_pairs": args.limit,
           "decoder": INSTRUCTIONS_CPU,
           "results": results, "paper_bedlam_fix": PAPER, "seconds": seconds,
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
