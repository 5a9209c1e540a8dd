"""Retrieval through the ANN index vs exact: `eval retrieval` with and without `--index`.

Builds an index of the val split of the reference experiment's dataset with its trained
PoseEmbroider (``pose-search index build --split val``, ANN forced to ``--ann``), then runs
:func:`indexing.evaluate.evaluate_retrieval` exact and through the index: the mRecall
difference is the ANN's loss alone (target: within 1 point). Writes
benchmarks/results/retrieval_index.json and the recall@K plot docs/recall_synthetic.png.

    .venv/bin/python benchmarks/retrieval_index.py --root experiments/synthetic
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path


def main() -> None:
    from indexing.build import BuildConfig, build
    from indexing.evaluate import evaluate_retrieval

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--core", default="poseembroider")
    p.add_argument("--ann", default="hnsw", help="forced ANN kind (auto would pick exact Flat at 2k rows)")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "retrieval_index.json"))
    p.add_argument("--plot", default=str(Path(__file__).parent.parent / "docs" / "recall_synthetic.png"))
    args = p.parse_args()
    root = Path(args.root)
    run, data, index = root / "runs" / args.core, root / "data", root / f"index_val_{args.ann}"
    start = time.perf_counter()
    info = build(BuildConfig(model=str(run), data=str(data), out=str(index), split="val", ann=args.ann,
                             workers=1))
    build_s = time.perf_counter() - start
    report = evaluate_retrieval(run, data, "val", index=index, plot=args.plot)
    out = {
        "benchmark": "retrieval_index",
        "core": args.core,
        "rows": report["rows"],
        "ann": {m: {**{k: a.get(k) for k in ("kind", "search_params", "recall", "qps")},
                    "tuned_on": a.get("tuning", {}).get("queries")} for m, a in info["ann"].items()},
        "index_build_seconds": round(build_s, 1),
        "exact_mRecall": report["exact"]["mRecall"],
        "index_exact_mRecall": report["index"]["exact"]["mRecall"],
        "index_ann_mRecall": report["index"]["ann"]["mRecall"],
        "mRecall_difference": report["index"]["mRecall_difference"],
        "target": "|difference| <= 1 point",
        "meets_target": abs(report["index"]["mRecall_difference"]) <= 1.0,
        "report": report,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "report"}, indent=2))


if __name__ == "__main__":
    main()
