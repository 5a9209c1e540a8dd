"""Does the instruction head use the pose pair? Teacher-forced val loss with the true pairs, the
pairs shuffled and A / B swapped, and the cosine between the representations of A and B (mined
pairs vs random ones), for the heads ``benchmarks/instructions.py`` trained.
Writes benchmarks/results/instructions_diagnosis.json.

    .venv/bin/python benchmarks/instructions_diagnosis.py --root experiments/synthetic
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    from pose_search.models.catalog import load_module
    from pose_search.models.encoders.tokenizer import TextTokenizer
    from pose_search.models.features import load_features
    from training.tasks.instructions import load_pairs, pick_text, tokenize_texts

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--cores", default="poseembroider,aligner")
    p.add_argument("-n", type=int, default=400, help="val pairs")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "instructions_diagnosis.json"))
    args = p.parse_args()
    torch.manual_seed(0)
    root, out = Path(args.root), {}
    pairs = load_pairs(str(root / "fix"), "val", "all")
    for core in args.cores.split(","):
        run = root / "runs" / f"instructions_{core}"
        rep = torch.from_numpy(load_features(run / "representations" / "poses.safetensors")["rep"].astype(np.float32))
        tok = TextTokenizer.load(run / "representation" / "encoders" / "text" / "tokenizer.json")
        ids, mask = tokenize_texts(tok, pairs["instructions"], 96)
        ids, mask = pick_text(ids, mask, torch.zeros(len(ids), dtype=torch.long))
        a, b = rep[pairs["a"]], rep[pairs["b"]]
        head = load_module(run / "best" / "head").eval()
        n, perm = min(args.n, len(a)), torch.randperm(min(args.n, len(a)))
        with torch.no_grad():
            loss = {"true": head.loss(a[:n], b[:n], ids[:n], mask[:n]),
                    "shuffled": head.loss(a[perm], b[perm], ids[:n], mask[:n]),
                    "swapped": head.loss(b[:n], a[:n], ids[:n], mask[:n])}
        cos = torch.nn.functional.cosine_similarity
        out[core] = {"val_loss": {k: round(float(v), 4) for k, v in loss.items()},
                     "cos_a_b": {"mined_pairs": round(float(cos(a, b).mean()), 3),
                                 "random_pairs": round(float(cos(a, b[torch.randperm(len(b))]).mean()), 3)}}
        print(core, out[core], flush=True)
    Path(args.out).write_text(json.dumps({"benchmark": "instructions_diagnosis", "val_pairs": args.n, **out},
                                         indent=2) + "\n")


if __name__ == "__main__":
    main()
