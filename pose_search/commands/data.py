"""`pose-search data ...`: generate synthetic datasets, draw contact sheets."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from pose_search.data.convert_options import OPTIONS, SOURCES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    g = sub.add_parser("generate", help="generate a synthetic script or fix dataset")
    g.add_argument("--kind", default="script", help="script (poses, captions, images) or fix (pose pairs, instructions)")
    g.add_argument("--size", type=int, required=True, help="number of poses (fix: size of the pose pool)")
    g.add_argument("--out", required=True, help="dataset directory (re-run with it to resume)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    g.add_argument("--val-fraction", type=float, default=0.1)
    g.add_argument("--image-format", choices=("jpeg", "png"), default="jpeg")
    g.add_argument("--pair-feature", default="pose",
                   help="fix: feature pairs are mined on, 'pose' (hand-made) or a PoseText run directory")
    s = sub.add_parser("show", help="contact sheet of samples with their captions (PNG)")
    s.add_argument("dir", help="dataset directory")
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("-n", type=int, default=12, help="number of samples")
    s.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("convert", help="convert a real dataset (BEDLAM, AMASS, PoseScript, PoseFix, 3DPW)")
    c.add_argument("source", choices=SOURCES)
    c.add_argument("root", help="the dataset's folder as downloaded (BEDLAM: scene npz file or folder)")
    c.add_argument("--out", required=True, help="new dataset directory (or an existing one, with --append)")
    c.add_argument("--append", action="store_true",
                   help="add the rows to the existing dataset --out (same kind; rows whose id is stored are dropped)")
    for opt in OPTIONS:  # per-source options: one that does not apply to SOURCE is refused
        extra = ({"type": int} if opt.kind == "int" else {"action": "append"} if opt.kind == "splits" else {})
        c.add_argument(opt.flag, dest=opt.name, default=None, help=opt.help, **extra)
    c.add_argument("--seed", type=int, default=0, help="seed of captions and renders made for the source")
    i = sub.add_parser("info", help="print a dataset's manifest")
    i.add_argument("dir")


def run(args: argparse.Namespace) -> int:
    if args.data_command == "generate":
        return _generate(args)
    if args.data_command == "show":
        from pose_search.data.show import contact_sheet

        path = contact_sheet(args.dir, args.out, n=args.n, seed=args.seed)
        print(f"wrote {path}")
        return 0
    if args.data_command == "convert":
        return _convert(args)
    from pose_search.data.store import read_manifest

    print(json.dumps(read_manifest(args.dir), indent=2))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pose_search.data.generate import GenerateConfig, default_workers
    from pose_search.data.generate import run as generate
    from pose_search.models.pair_features import for_config

    cfg = GenerateConfig(kind=args.kind, size=args.size, seed=args.seed,
                         val_fraction=args.val_fraction, image_format=args.image_format,
                         pair_feature=args.pair_feature)
    cfg.check()
    cfg, pair_features = for_config(cfg)  # a PoseText run: resolved and loaded before any work
    if not args.out.strip():
        raise ValueError("--out: give a dataset directory")
    cpus = os.cpu_count() or 1
    if args.workers is not None and not 1 <= args.workers <= 4 * cpus:
        raise ValueError(f"--workers {args.workers}: expected 1 to {4 * cpus} processes (this machine has {cpus} cores)")
    bar = None  # opened at the first progress report: errors found before it print alone

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="pose", desc=f"generate {args.kind}")
        bar.total = total
        bar.n = done
        bar.refresh()

    from pose_search import storage

    # a URI (s3://...): generated in a local mirror (resumable), uploaded with the manifest last
    local = storage.working_dir(args.out)
    try:
        manifest = generate(local, cfg, workers=args.workers or default_workers(), progress=progress,
                            pair_features=pair_features)
    finally:
        if bar is not None:
            bar.close()
    _publish(local, args.out)
    counts = manifest["counts"]
    print(f"{args.out}: {counts.get('poses', 0)} poses"
          + (f", {counts['pairs']} pairs" if "pairs" in counts else "")
          + f" in {manifest.get('seconds', 0):.1f} s")
    return 0


def _publish(local: Path, out: str) -> None:
    """Upload a dataset written in the local mirror of ``out`` (a URI); the manifest goes last,
    so a reader that finds it finds every table it counts."""
    from pose_search import storage
    from pose_search.data.store import MANIFEST

    if storage.is_uri(out):
        storage.publish(local, out, [p.name for p in local.iterdir() if p.name != MANIFEST])
        storage.publish(local, out, [MANIFEST])


def _convert(args: argparse.Namespace) -> int:
    from pose_search import storage
    from pose_search.data.convert import convert
    from pose_search.data.convert_options import check_options

    given = {opt.name: getattr(args, opt.name) for opt in OPTIONS}
    check_options(args.source, given)  # before any work: an option that does not apply is an error
    if not args.out.strip():
        raise ValueError("--out: give a dataset directory")
    local = storage.working_dir(args.out)
    manifest = convert(args.source, args.root, local, seed=args.seed, append=args.append, **given)
    _publish(local, args.out)
    print(f"{args.out}: {json.dumps(manifest['counts'])}")
    for warning in manifest.get("warnings", []):
        print(f"warning: {warning}")
    return 0
