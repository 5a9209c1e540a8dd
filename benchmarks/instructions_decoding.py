"""Greedy decoding with and without an n-gram repetition block, for the instruction heads that
``benchmarks/instructions.py`` trained: R-precision through its PairText and BLEU-4 / ROUGE-L /
METEOR on the same val pairs (pose-pose inputs). Writes benchmarks/results/instructions_decoding.json.

    .venv/bin/python benchmarks/instructions_decoding.py --root experiments/synthetic
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from pose_search.models.heads.instruction_pipeline import evaluate_instructions
    from pose_search.runs import load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--cores", default="poseembroider,aligner")
    p.add_argument("--ngrams", default="0,4,8", help="no_repeat_ngram values (0: plain greedy, the paper's)")
    p.add_argument("--limit", type=int, default=500, help="val pairs (the first ones, as instructions.py)")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "instructions_decoding.json"))
    args = p.parse_args()
    root = Path(args.root)
    pairtext = load_model(root / "runs" / "pairtext")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for core in args.cores.split(","):
        pipe = load_model(root / "runs" / f"instructions_{core}")
        out[core] = {}
        for ngram in (int(x) for x in args.ngrams.split(",")):
            report = evaluate_instructions(pipe, root / "fix", "val", pairtext=pairtext, kinds=("pose-pose",),
                                           limit=args.limit, batch=100, decoding={"no_repeat_ngram": ngram})
            scores = {k: v for k, v in report["pose-pose"].items() if k not in ("loglik", "examples")}
            out[core][f"no_repeat_ngram={ngram}"] = {k: round(v, 2) for k, v in scores.items()}
            print(core, ngram, out[core][f"no_repeat_ngram={ngram}"], flush=True)
    Path(args.out).write_text(json.dumps({"benchmark": "instructions_decoding", "val_pairs": args.limit,
                                          "input": "pose-pose", "results": out}, indent=2) + "\n")


if __name__ == "__main__":
    main()
