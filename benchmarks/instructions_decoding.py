"""Greedy decoding with and without an n-gram repetition block, for the instruction heads that
``benchmarks/instructions.py`` trained: R-precision through its PairText and BLEU-4 / ROUGE-L /
METEOR on the same val pairs (pose-pose inputs). Writes benchmarks/results/instructions_decoding.json.

    .venv/bin/python benchmarks/instructions_decoding.py --root experiments/synthetic
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


@torch.no_grad()
def main() -> None:
    from tqdm import tqdm

    from pose_search.api import load_model
    from pose_search.data.pairs import load_pairs, load_pool_poses
    from pose_search.metrics.instructions import r_precision
    from pose_search.metrics.text import text_metrics

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--cores", default="poseembroider,aligner")
    p.add_argument("--ngrams", default="0,4,8", help="no_repeat_ngram values (0: plain greedy, the paper's)")
    p.add_argument("--limit", type=int, default=500, help="val pairs (the first ones, as instructions.py)")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "instructions_decoding.json"))
    args = p.parse_args()
    root = Path(args.root)
    fix = root / "fix"
    pairtext = load_model(root / "runs" / "pairtext")
    pairs = load_pairs(str(fix), "val")
    n = min(args.limit, len(pairs["a"]))
    poses = load_pool_poses(str(fix))
    pose_a, pose_b = poses[pairs["a"][:n]], poses[pairs["b"][:n]]
    pair_emb = pairtext.pair_embedding(pose_a, pose_b)
    refs = pairs["instructions"][:n]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for core in args.cores.split(","):
        pipe = load_model(root / "runs" / f"instructions_{core}")
        rep_a = pipe.representation_model.representation(poses=pose_a)
        rep_b = pipe.representation_model.representation(poses=pose_b)
        out[core] = {}
        for ngram in (int(x) for x in args.ngrams.split(",")):
            hyps: list[str] = []
            for s in tqdm(range(0, n, 100), desc=f"{core} no_repeat_ngram={ngram}"):
                hyps += pipe.head.generate(rep_a[s : s + 100], rep_b[s : s + 100], no_repeat_ngram=ngram)[0]
            scores = {**r_precision(pair_emb, pairtext.embed_texts(hyps)), **text_metrics(hyps, refs)}
            out[core][f"no_repeat_ngram={ngram}"] = {k: round(v, 2) for k, v in scores.items()}
            print(core, ngram, out[core][f"no_repeat_ngram={ngram}"], flush=True)
    Path(args.out).write_text(json.dumps({"benchmark": "instructions_decoding", "val_pairs": n, "input": "pose-pose",
                                          "results": out}, indent=2) + "\n")


if __name__ == "__main__":
    main()
