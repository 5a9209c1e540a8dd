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
    p.add_argument("--pairtext-epochs", type=int, default=20, help="the most, with --pairtext-patience")
    p.add_argument("--pairtext-patience", type=int, default=0,
                   help="PairText stops N epochs after its best val mRecall (0: all --pairtext-epochs)")
    p.add_argument("--pairtext-max-tokens", type=int, default=None,
                   help="tokens PairText's topping reads (default: the PoseText encoder's; the lengths of the "
                        "instructions are in the results, instruction_tokens)")
    p.add_argument("--patience", type=int, default=0,
                   help="each head stops N epochs after its best val loss (0: all --epochs; checked at "
                        "every validation, every --val-every epochs)")
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
    stored = json.loads((fix / "manifest.json").read_text()) if (fix / "manifest.json").exists() else {}
    if stored.get("status") != "complete":  # (a complete set is not planned again: a rerun goes on training)
        generate(fix, fix_cfg, workers=os.cpu_count() or 1, pair_features=pair_features)
    elif stored["config"].get("size") != args.size:
        p.error(f"{fix} holds a fix set of {stored['config'].get('size')} poses, not --size {args.size}")
    seconds["data"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    pairtext_options: dict = {"text_encoder": str(runs / "posetext")}
    if args.pairtext_max_tokens is not None:
        pairtext_options["model_config"] = {"text": {"max_tokens": args.pairtext_max_tokens}}
    fit(TrainConfig(task="pairtext", run_dir=str(runs / "pairtext"), data=str(fix), epochs=args.pairtext_epochs,
                    batch_size=128, lr=5e-4, patience=args.pairtext_patience, task_options=pairtext_options))
    seconds["pairtext"] = round(time.perf_counter() - start, 1)
    pairtext = load_model(runs / "pairtext")
    results = {}
    for core in args.cores.split(","):
        run = runs / f"instructions_{core}"
        start = time.perf_counter()
        # the demo's CPU-sized decoder (2 x 128; the paper-sized 4 x 512 one costs many times more per step)
        fit(TrainConfig(task="instructions", run_dir=str(run), data=str(fix), epochs=args.epochs, batch_size=64,
                        lr=1e-3, weight_decay=1e-4, val_every=args.val_every or max(1, args.epochs // 2),
                        patience=args.patience,
                        task_options={"core": str(runs / core), "model_config": INSTRUCTIONS_CPU}))
        seconds[f"train_{core}"] = round(time.perf_counter() - start, 1)
        start = time.perf_counter()
        results[core] = evaluate_instructions(load_model(run), fix, "val", pairtext=pairtext, limit=args.limit)
        seconds[f"eval_{core}"] = round(time.perf_counter() - start, 1)
        print(core, json.dumps({k: v for k, v in results[core].items() if isinstance(v, dict)}, indent=1), flush=True)
    out = {"benchmark": "instructions", "fix_pool": args.size, "epochs": args.epochs, "patience": args.patience,
           "pairtext_epochs": args.pairtext_epochs, "pairtext_patience": args.pairtext_patience,
           "pairtext_trained": _run_summary(runs / "pairtext"),
           "heads_trained": {core: _run_summary(runs / f"instructions_{core}") for core in results},
           "pairtext_max_tokens": args.pairtext_max_tokens, "instruction_tokens": instruction_tokens(fix),
           "val_pairs": args.limit,
           "decoder": INSTRUCTIONS_CPU,
           "results": results, "paper_bedlam_fix": PAPER, "seconds": seconds,
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


def instruction_tokens(fix: Path) -> dict[str, float]:
    """Lengths of the training instructions in the pretrained backbone's tokens, [CLS] and [SEP] included, uncut."""
    import numpy as np
    from tokenizers import Tokenizer

    from pose_search.data.pairs import load_pairs
    from pose_search.models.encoders.minilm import minilm_dir

    tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    texts = [t for ts in load_pairs(fix, "train", "all")["instructions"] for t in ts]
    n = np.array([len(e.ids) for e in tokenizer.encode_batch(texts)])
    return {"texts": len(texts), "median": float(np.median(n)), "p90": float(np.percentile(n, 90)),
            "over_64": float((n > 64).mean()), "over_128": float((n > 128).mean())}


def _run_summary(run: Path) -> dict:
    """Epochs logged and why the run stopped (``metrics.jsonl``): the evidence of convergence."""
    from pose_search.run_layout import read_metrics

    rows = read_metrics(run)
    return {"epochs": len(rows), "stopped": rows[-1].get("stopped") if rows else None}


if __name__ == "__main__":
    main()
