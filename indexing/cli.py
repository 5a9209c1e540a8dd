"""``pose-search index build|info``: embed a dataset into an index directory, or describe one."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="embed a dataset with a trained core into an index (Ray Data)")
    b.add_argument("--model", required=True, help="a trained core / aligner run directory")
    b.add_argument("--data", required=True, help="dataset directory")
    b.add_argument("--out", required=True, help="index directory (given again: resume / add new rows)")
    b.add_argument("--split", help="index only this split (default: every row)")
    b.add_argument("--workers", type=int, default=1, help="Ray Data embedding actors")
    b.add_argument("--gpu", action="store_true", help="one GPU per actor (and FAISS on GPU)")
    b.add_argument("--batch-size", type=int, default=64)
    b.add_argument("--ann", default="auto", choices=("auto", "flat", "hnsw", "ivfpq", "lance"),
                   help="ANN index kind (auto: by size and memory)")
    b.add_argument("--recall-target", type=float, default=0.95, help="recall@10 the ANN is tuned to")
    b.add_argument("--modalities", help="index only these, comma-separated, e.g. pose,text (default: all the "
                   "model and dataset have; queries may still use any input the model takes)")
    i = sub.add_parser("info", help="print an index's index.json")
    i.add_argument("index")


def run(args: argparse.Namespace) -> int:
    if args.action == "info":
        from indexing.table import read_info

        print(json.dumps(read_info(args.index), indent=2))
        return 0
    from indexing.build import BuildConfig, build

    info = build(BuildConfig(model=args.model, data=args.data, out=args.out, split=args.split,
                             workers=args.workers, gpu=args.gpu, batch_size=args.batch_size, ann=args.ann,
                             recall_target=args.recall_target,
                             modalities=tuple(m.strip() for m in args.modalities.split(",")) if args.modalities
                             else None))
    summary = {"index": args.out, "rows": info["rows"], "modalities": info["modalities"],
               "seconds": info["build"]["seconds"],
               "ann": {m: {k: a.get(k) for k in ("kind", "recall", "qps", "search_params")} for m, a in info["ann"].items()}}
    print(json.dumps(summary, indent=2))
    return 0
