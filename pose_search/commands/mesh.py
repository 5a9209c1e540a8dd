"""``pose-search mesh``: recover a 3D body from an image (optionally helped by a text)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a trained HPS run (pose-search train hps)")
    parser.add_argument("--image", help="an image of one person, cropped around them")
    parser.add_argument("--text", help="an optional description of the pose")
    parser.add_argument("--out", required=True, help="mesh file to write (.glb, .obj or .ply); "
                        "the parameters go next to it as .npz")


def run(args: argparse.Namespace) -> int:
    from pose_search.body.io import check_mesh_path
    from pose_search.models.encoders.image_files import load_query_image
    from pose_search.models.encoders.tokenizer import check_query_text
    from pose_search.models.heads.hps_pipeline import HPSPipeline, recover_body
    from pose_search.runs import load_model

    if not args.image and not args.text:
        raise ValueError("give --image (and optionally --text)")
    check_mesh_path(args.out)
    if args.text:
        check_query_text(args.text)
    if args.image and not Path(args.image).is_file():
        raise FileNotFoundError(f"image file {args.image!r} does not exist")
    pipe = load_model(args.model)
    if not isinstance(pipe, HPSPipeline):
        raise ValueError(f"{args.model!r} is not an HPS run (train one with `pose-search train hps`)")
    image = load_query_image(args.image, fit=not pipe.representation_model.image_any_size) if args.image else None
    mesh, params = recover_body(pipe, image=image, text=args.text).save(args.out)
    print(f"wrote {mesh} and {params}")
    return 0
