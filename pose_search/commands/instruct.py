"""``pose-search instruct``: a corrective instruction to go from pose A to pose B."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a trained instructions run (pose-search train instructions)")
    parser.add_argument("--from", dest="source", required=True, help="pose A: a dataset id (with --data), "
                        "a .npy/.npz/.json pose file or an image")
    parser.add_argument("--to", dest="target", required=True, help="pose B: same kinds as --from")
    parser.add_argument("--data", help="dataset directory, when --from/--to are ids")
    parser.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-n", type=int, default=1, help="number of instructions (with --sample)")


def resolve_input(value: str, data: str | None, fit: bool = True) -> dict[str, Any]:
    """``{"poses": (1, 22, 3)}`` or ``{"images": (1, 3, 256, 192)}`` for an id, a pose file or an
    image (``fit=False``: the whole photo ``(1, 3, H, W)``, for image encoders that take any size)."""
    import numpy as np

    from pose_search.body.io import POSE_FILE_SUFFIXES, load_pose_file
    from pose_search.models.encoders.image_files import load_query_image

    path = Path(value)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if not path.is_file():
            raise FileNotFoundError(f"image file {value!r} does not exist")
        return {"images": load_query_image(path, fit=fit)[None]}
    if path.suffix.lower() in POSE_FILE_SUFFIXES:
        return {"poses": load_pose_file(path)[None]}
    if data is None:
        raise ValueError(f"{value!r} is neither an image nor a .npy/.npz/.json pose file; for a dataset id give --data")
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table

    t = open_table(data, POSES_TABLE).to_table(columns=["pose"], filter=f"id = '{value.replace(chr(39), '')}'")
    if t.num_rows == 0:
        raise ValueError(f"dataset {data!r} has no pose with id {value!r}")
    return {"poses": np.asarray(t.column("pose")[0].as_py(), dtype=np.float32).reshape(1, 22, 3)}


def run(args: argparse.Namespace) -> int:
    from pose_search.models.heads.instruction_pipeline import InstructionPipeline
    from pose_search.runs import load_model

    if args.n < 1:
        raise ValueError(f"-n {args.n}: expected at least 1 instruction")
    a, b = resolve_input(args.source, args.data), resolve_input(args.target, args.data)
    pipe = load_model(args.model)
    if not isinstance(pipe, InstructionPipeline):
        raise ValueError(f"{args.model!r} is not an instructions run (train one with `pose-search train instructions`)")
    if pipe.representation_model.image_any_size:  # images again, whole (checked above as crops)
        a, b = (resolve_input(v, args.data, fit=False) if "images" in x else x
                for v, x in ((args.source, a), (args.target, b)))
    for i in range(max(1, args.n if args.sample else 1)):
        print(pipe.instruct(a, b, sample=args.sample, seed=args.seed + i)[0])
    return 0
