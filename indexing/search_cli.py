"""``pose-search search``: query an index by text, image, pose or any mix; a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, help="index directory (pose-search index build)")
    parser.add_argument("--text", help="a description of the pose")
    parser.add_argument("--image", help="an image file of a person: a whole photo with a BlazePose core, "
                        "else cropped around them (the index's model decides)")
    parser.add_argument("--pose", help="a .npy/.npz/.json pose file, (22, 3) axis-angle "
                        "(or (63,) body joints: identity root)")
    parser.add_argument("--target", default="pose", help="pose | image | text: which column to search")
    parser.add_argument("-k", type=int, default=10, help="number of results")
    parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="keep rows with split/family/source = VALUE, or caption=WORDS (a caption "
                        "contains WORDS, case-insensitive); repeatable")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _filters(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--filter {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def run(args: argparse.Namespace) -> int:
    from indexing.service import SearchService
    from pose_search.query import Query

    if args.text is None and args.image is None and args.pose is None:
        raise ValueError("empty query: give --text, --image and/or --pose")
    # checked here, before the model loads
    query = Query.make(text=args.text, image=args.image, pose=args.pose, target=args.target, k=args.k,
                       filters=_filters(args.filter))
    service = SearchService(args.index)
    hits = service.search(query)
    for note in service.photo_notes(args.image) if args.image is not None else []:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"top {len(hits)} {args.target} for " + ", ".join(
        f"{m}={v!r}" for m, v in (("text", args.text), ("image", args.image), ("pose", args.pose)) if v))
    for col in ("#", "score", "id", "family", "split", "caption"):
        table.add_column(col, overflow="fold")
    for h in hits:
        table.add_row(str(h.rank + 1), f"{h.score:.3f}", h.id, h.family, h.split, h.caption)
    Console(width=160).print(table)
    return 0
