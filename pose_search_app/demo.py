"""`pose-search demo`: build the embedded default (cached) and serve the UI over it.

The first run builds everything from free parts (:mod:`pose_search_app.build`: synthetic data, encoders, the
PoseEmbroider core, the heads, the index) into ``<cache>/demo/<size>``; later runs find it built
and open the UI within seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pose_search_app.build import IMAGE_ENCODERS, SCALES

    parser.add_argument("--size", choices=list(SCALES), default="small",
                        help="scale of the embedded default (small: ~10 min to build on 2 CPU cores)")
    parser.add_argument("--out", default=None, help="demo folder (default: <pose-search cache>/demo/<size>)")
    parser.add_argument("--poses", type=int, default=None, help="number of poses (overrides the size's)")
    parser.add_argument("--workers", type=int, default=None, help="data-generation processes")
    parser.add_argument("--image-encoder", choices=IMAGE_ENCODERS, default="auto",
                        help="the core's image encoder: blazepose (pretrained on real photos, frozen; "
                        "`make blazepose-env`) or cnn (ours, trained on the renders); auto: blazepose "
                        "when its environment is built")
    parser.add_argument("--verbose", dest="show_logs", action="store_true",
                        help="also print what the libraries log while building (Ray's workers, Ray Data, "
                        "Warp, INFO lines); by default only the stages and their progress bars")
    parser.add_argument("--rebuild", action="store_true", help="remove the demo folder and build it again")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the bundle, do not serve")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="ask Gradio for a public share link")
    parser.add_argument("--auth", default=None, metavar="USER:PASSWORD", help="require this login")


def run(args: argparse.Namespace) -> int:
    from pose_search.config import cache_dir
    from pose_search.resources import check_local_count
    from pose_search_app.build import (
        DemoBuilder,
        built_image_encoder,
        clear,
        resolve_image_encoder,
        scale_for,
    )
    from ui.cli import check_port, parse_auth

    scale = scale_for(args.size, args.poses)
    parse_auth(args.auth)  # bad serving flags are refused now, not after a 10-minute build
    check_port(args.port)
    if args.workers is not None:
        check_local_count("--workers", args.workers)  # processes on this machine
    default = cache_dir() / "demo" / (args.size if args.poses is None else f"{args.size}-{args.poses}")
    root = Path(args.out) if args.out else default
    if root.exists() and not root.is_dir():
        raise ValueError(f"--out {str(root)!r} is a file, not a demo folder")
    if args.rebuild:
        clear(root)
    built = built_image_encoder(root) if args.image_encoder == "auto" else None  # auto keeps a built demo's
    image_encoder = built or resolve_image_encoder(args.image_encoder)
    if args.image_encoder == "auto" and built is None and image_encoder == "cnn":
        print("the BlazePose environment is not built (`make blazepose-env`): using the CNN image encoder, "
              "which knows our renders but not real photos")
    verbose = args.show_logs or getattr(args, "verbose", False)  # `pose-search -v demo` too
    bundle = DemoBuilder(root, scale, workers=args.workers, image_encoder=image_encoder, verbose=verbose).run()
    print(f"demo bundle: {bundle}")
    if args.build_only:
        return 0
    from ui.cli import serve_bundle

    return serve_bundle(bundle, host=args.host, port=args.port, share=args.share, auth=args.auth)
