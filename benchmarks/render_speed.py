"""Speed of the person renderer (pose_search.data.render) on one CPU thread.

For each anny topology (the 1,229-vertex ``notoes_collapse10pc`` and the full 13,718-vertex mesh)
it poses a few bodies with small random poses, then times full frames (random settings: camera,
rasterisation, shading, background, occluder, noise) and the main stages on their own. Writes
``benchmarks/results/render_speed.json``. Usage::

    .venv/bin/python benchmarks/render_speed.py [--frames 60]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("ANNY_CACHE_DIR", str(REPO / ".cache" / "anny"))
log = logging.getLogger("render_speed")
TARGET_MS = {"notoes_collapse10pc": 15.0, "anny": 30.0}


def _times(fn: Callable[[int], Any], n: int) -> dict[str, float]:
    """Call ``fn(i)`` for ``i < n`` after 3 warm-up calls; milliseconds statistics."""
    for i in range(3):
        fn(i)
    ts = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        ts.append((time.perf_counter() - t) * 1000.0)
    a = np.array(ts)
    return {
        "median_ms": float(np.median(a)),
        "mean_ms": float(a.mean()),
        "p10_ms": float(np.percentile(a, 10)),
        "p90_ms": float(np.percentile(a, 90)),
    }


def bench_topology(topology: str, frames: int) -> dict[str, Any]:
    """Time the renderer on one topology; returns a dict of timings."""
    from pose_search.body.anny_backend import AnnyBody
    from pose_search.data.backgrounds import make_background
    from pose_search.data.render import NEAR, camera_pose, rasterize, render, sample_render_settings

    body = AnnyBody(topology=topology)
    parts = body.vertex_parts()
    rng = np.random.default_rng(0)
    poses = rng.normal(0.0, 0.2, (8, 22, 3)).astype(np.float32)
    out = body(poses)
    verts, faces = out.vertices, out.faces
    settings = [sample_render_settings(rng) for _ in range(frames + 3)]

    def frame(i: int) -> None:
        render(verts[i % len(verts)], faces, parts, settings[i])

    def raster(i: int) -> None:
        v = verts[i % len(verts)]
        rot, t = camera_pose(settings[i].camera, (v.amin(0) + v.amax(0)) / 2)
        vc = v @ rot.T + t
        z = vc[:, 2].clamp_min(NEAR)
        pix = torch.stack([500 * vc[:, 0] / z + 96, 500 * vc[:, 1] / z + 128], 1)
        rasterize(pix, vc[:, 2], faces, 256, 192)

    result = {
        "vertices": int(verts.shape[1]),
        "faces": int(faces.shape[0]),
        "frame": _times(frame, frames),
        "rasterize_only": _times(raster, frames),
        "background_only": _times(
            lambda i: make_background(settings[i].background, 256, 192), frames
        ),
        "target_ms": TARGET_MS.get(topology),
    }
    log.info(
        "%s: frame median %.1f ms (target %s ms), rasterise %.1f ms, background %.1f ms",
        topology,
        result["frame"]["median_ms"],
        result["target_ms"],
        result["rasterize_only"]["median_ms"],
        result["background_only"]["median_ms"],
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "render_speed.json"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    torch.set_num_threads(1)
    results = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "load_avg_1min": os.getloadavg()[0],
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "image": [256, 192],
        "frames": args.frames,
        "topologies": {t: bench_topology(t, args.frames) for t in ("notoes_collapse10pc", "anny")},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
