"""``pose-search eval retrieval|hps``: retrieval recall (9 query types, exact and via an index); mesh errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PLOT_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    r = sub.add_parser("retrieval", help="retrieval recall (the paper's 9 query types)")
    r.add_argument("--model", required=True, help="a trained core / aligner run directory")
    r.add_argument("--data", required=True, help="dataset directory")
    r.add_argument("--split", default="val")
    r.add_argument("--index", help="also evaluate through this index (ANN) and report the difference")
    r.add_argument("--plot", help="write the recall@K plot here (PNG)")
    r.add_argument("--json", action="store_true", help="print the full report as JSON")
    h = sub.add_parser("hps", help="mesh recovery: MPJPE, PA-MPJPE, V2V, rotation error")
    h.add_argument("--model", required=True, help="a trained HPS run")
    h.add_argument("--data", required=True, help="dataset directory (ours, or converted 3DPW / BEDLAM)")
    h.add_argument("--split", default="val")
    h.add_argument("--limit", type=int, help="evaluate the first N rows only")
    h.add_argument("--json", action="store_true")
    i = sub.add_parser("instructions", help="instruction generation: BLEU-4, ROUGE-L, METEOR, R-precision")
    i.add_argument("--model", required=True, help="a trained instructions run")
    i.add_argument("--data", required=True, help="a fix dataset (pairs)")
    i.add_argument("--split", default="val")
    i.add_argument("--pairtext", help="a trained PairText run (for R-precision)")
    i.add_argument("--kinds", default="pose-pose,image-image,pose-image")
    i.add_argument("--limit", type=int, help="evaluate the first N pairs only")
    i.add_argument("--json", action="store_true")


def _hps(args: argparse.Namespace) -> int:
    from pose_search.models.heads.hps_pipeline import HPSPipeline, evaluate_hps
    from pose_search.runs import load_model

    pipe = load_model(args.model)
    if not isinstance(pipe, HPSPipeline):
        raise ValueError(f"{args.model!r} is not an HPS run (train one with `pose-search train hps`)")
    report = evaluate_hps(pipe, args.data, args.split, limit=args.limit)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"mesh recovery on {report['data']} / {report['split']} ({report['rows']} rows, body {report['body']})")
    print(f"{'input':12s} {'MPJPE':>8s} {'PA-MPJPE':>9s} {'V2V':>8s} {'rot (deg)':>10s}")
    for name in ("image", "text", "image+text"):
        if name in report:
            m = report[name]
            print(f"{name:12s} {m['mpjpe_mm']:8.1f} {m['pa_mpjpe_mm']:9.1f} {m['v2v_mm']:8.1f} {m['rot_err_deg']:10.2f}")
    return 0


def _instructions(args: argparse.Namespace) -> int:
    from pose_search.models.heads.instruction_pipeline import (
        InstructionPipeline,
        evaluate_instructions,
    )
    from pose_search.runs import load_model

    pipe = load_model(args.model)
    if not isinstance(pipe, InstructionPipeline):
        raise ValueError(f"{args.model!r} is not an instructions run")
    pairtext = load_model(args.pairtext) if args.pairtext else None
    report = evaluate_instructions(pipe, args.data, args.split, pairtext=pairtext,
                                   kinds=tuple(args.kinds.split(",")), limit=args.limit)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    names = ["BLEU-4", "ROUGE-L", "METEOR"] + (["R@1", "R@2", "R@3"] if report["pairtext"] else [])
    print(f"instructions on {report['data']} / {report['split']} ({report['pairs']} pairs)")
    print(f"{'input':14s}" + "".join(f"{n:>9s}" for n in names))
    for kind in [*args.kinds.split(","), "ground_truth", "random"]:
        print(f"{kind:14s}" + "".join(f"{report[kind][n]:9.1f}" for n in names))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.what == "hps":
        return _hps(args)
    if args.what == "instructions":
        return _instructions(args)
    from indexing.evaluate import evaluate_retrieval

    if args.plot and Path(args.plot).suffix.lower() not in PLOT_SUFFIXES:  # found before the evaluation
        raise ValueError(f"--plot {args.plot!r}: expected an image file ending in {', '.join(PLOT_SUFFIXES)}")
    report = evaluate_retrieval(args.model, args.data, args.split, index=args.index, plot=args.plot)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    from pose_search.metrics.retrieval import KS, QUERY_TYPES, query_name

    cols = [("exact", report["exact"])]
    if "index" in report:
        cols += [("index exact", report["index"]["exact"]), ("index ANN", report["index"]["ann"])]
    table = Table(title=f"retrieval on {report['data']} / {report['split']} ({report['rows']} rows)")
    table.add_column("query")
    for name, _ in cols:
        for k in KS:
            table.add_column(f"{name} R@{k}", justify="right")
    for subset, target in QUERY_TYPES:
        q = query_name(subset, target)
        if f"{q}/R@1" in report["exact"]:
            table.add_row(q, *[f"{m[f'{q}/R@{k}']:.1f}" for _, m in cols for k in KS])
    for agg in ("mRecall_single", "mRecall_dual", "mRecall"):
        table.add_row(agg, *[(f"{m.get(agg, float('nan')):.1f}" if k == 1 else "") for _, m in cols for k in KS])
    Console(width=200).print(table)
    if "plot" in report:
        print(f"plot: {report['plot']}")
    return 0
