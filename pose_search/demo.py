"""`pose-search demo`: build the embedded default from free parts and show it.

Today this builds the synthetic datasets (poses of the free anny body, renders, automatic captions,
pose pairs with instructions) into the demo cache and draws their contact sheets; the search UI
that will open on top of them comes with the index and UI work. A second run reuses what is built.
"""

from __future__ import annotations

import argparse
from pathlib import Path

SIZES = {"small": 600, "medium": 3000, "large": 20000}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", choices=sorted(SIZES), default="small", help="scale of the embedded default")
    parser.add_argument("--out", default=None, help="demo folder (default: the pose-search cache)")
    parser.add_argument("--poses", type=int, default=None, help="number of poses (overrides --size)")
    parser.add_argument("--workers", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pose_search.config import cache_dir
    from pose_search.data.generate import GenerateConfig, default_workers
    from pose_search.data.generate import run as generate
    from pose_search.data.show import contact_sheet

    root = Path(args.out) if args.out else cache_dir() / "demo" / args.size
    n = args.poses or SIZES[args.size]
    if n < 2:
        raise ValueError(f"--poses {n}: need at least 2")
    for kind in ("script", "fix"):
        bar = tqdm(total=n, unit="pose", desc=f"demo {kind} data")

        def progress(done: int, total: int, bar=bar) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        generate(root / kind, GenerateConfig(kind=kind, size=n, seed=0), workers=args.workers or default_workers(),
                 progress=progress)
        bar.close()
        sheet = contact_sheet(root / kind, root / f"{kind}_sheet.png", n=8)
        print(f"{kind}: {root / kind}  (contact sheet: {sheet})")
    print("the search UI is not part of this version yet; the datasets above are ready for "
          "`pose-search train ...` (see README)")
    return 0
