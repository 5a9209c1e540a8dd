"""Stick-figure contact sheet of synthetic poses (front + side view per pose), to eyeball them.

Usage: ``python benchmarks/sampler_sheet.py --out sheet.png [--seed 0] [--mode families|sample]``.
``families`` draws one pose per family (heading removed, no noise); ``sample`` runs
:func:`~pose_search.data.sampler.sample_poses` and draws the first poses it returns.
Left limbs are blue, right limbs red; the lowest joint sits on the ground line.
"""

from __future__ import annotations

import argparse
import logging
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from pose_search.body.convention import JOINT_NAMES, PARENTS, normalize_heading  # noqa: E402
from pose_search.body.skeleton import forward_kinematics  # noqa: E402
from pose_search.data.families import FAMILIES  # noqa: E402
from pose_search.data.sampler import sample_poses  # noqa: E402

log = logging.getLogger("sampler_sheet")


def _color(j: int) -> str:
    name = JOINT_NAMES[j]
    return "tab:blue" if name.startswith("left") else "tab:red" if name.startswith("right") else "k"


def draw(ax: plt.Axes, joints: np.ndarray, horiz: int, title: str) -> None:
    """Draw one skeleton ``(22, 3)`` projected on (``horiz`` axis, y)."""
    joints = joints - np.array([0.0, joints[:, 1].min(), 0.0])
    for j in range(1, 22):
        p = PARENTS[j]
        ax.plot([joints[p, horiz], joints[j, horiz]], [joints[p, 1], joints[j, 1]], color=_color(j), lw=2)
    ax.scatter(joints[15, horiz], joints[15, 1], s=60, c="k")
    ax.axhline(0.0, color="0.7", lw=0.5)
    ax.set_xlim(-1.0, 1.0)
    ax.set_ylim(-0.05, 1.95)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)


def main() -> None:
    """Render the sheet."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="sampler_sheet.png")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", choices=("families", "sample"), default="families")
    ap.add_argument("--count", type=int, default=24)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    if args.mode == "families":
        names = list(FAMILIES)
        poses = np.stack([FAMILIES[n](rng) for n in names]).astype(np.float32)
    else:
        poses, names = sample_poses(args.count, seed=args.seed)
    joints = forward_kinematics(normalize_heading(torch.from_numpy(poses))).numpy()
    cols = 6  # three poses per row, two views each
    rows = math.ceil(2 * len(poses) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.8, rows * 1.9))
    for ax in axes.flat:
        ax.axis("off")
    for i, (jt, name) in enumerate(zip(joints, names, strict=True)):
        for v, (horiz, view) in enumerate(((0, "front"), (2, "side"))):
            ax = axes.flat[2 * i + v]
            ax.axis("on")
            draw(ax, jt, horiz, f"{name[:26]}\n{view}")
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    log.info("wrote %s (%d poses)", args.out, len(poses))


if __name__ == "__main__":
    main()
