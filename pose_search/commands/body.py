"""`pose-search body ...`: build the anny cache once; export a posed mesh."""

from __future__ import annotations

import argparse
import time

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="body_command", metavar="ACTION", required=True)
    sub.add_parser("build-cache", help="build anny's model cache (once, about 1-2 minutes)")
    p = sub.add_parser("mesh", help="write the mesh of a pose (.npy/.npz/.json) as .glb/.obj/.ply")
    p.add_argument("pose", help="file with a (22, 3) SMPL-X pose: .npy, .npz (key 'pose', or "
                   "global_orient + body_pose) or .json (22 x 3 or 66 numbers)")
    p.add_argument("--out", required=True, help="output mesh file (.glb, .obj or .ply)")
    p.add_argument("--backend", default="anny", help="body model backend (anny or smplx)")
    p.add_argument("--topology", default="anny", help="anny topology (anny or notoes_collapse10pc)")


def run(args: argparse.Namespace) -> int:
    from pose_search.body.backends import create_body_model

    if args.body_command == "build-cache":
        from pose_search.config import anny_cache_dir

        start = time.perf_counter()
        for topology in ("anny", "notoes_collapse10pc"):
            create_body_model("anny", topology=topology)
        print(f"anny cache ready in {anny_cache_dir()} ({time.perf_counter() - start:.0f} s)")
        return 0
    from pose_search.body.io import check_mesh_path, load_pose_file, save_mesh

    check_mesh_path(args.out)  # before the body model loads
    pose = load_pose_file(args.pose)
    kwargs = {"topology": args.topology} if args.backend == "anny" else {}
    body = create_body_model(args.backend, **kwargs)
    out = body(pose[None])
    save_mesh(args.out, out.vertices[0].numpy(), np.asarray(out.faces))
    print(f"wrote {args.out}")
    return 0
