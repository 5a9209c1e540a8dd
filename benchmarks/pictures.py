"""The downstream heads' pictures in docs/, drawn from the reference experiment's trained runs.

* ``docs/mesh_recovery.png``: validation renders (the HPS head never saw them) beside the body the
  head recovers from the image alone and from image + text, and the ground-truth body; PA-MPJPE
  per recovery in the titles.
* ``docs/instruction.png``: validation pose pairs of the ``fix`` set (A, B rendered the same way)
  with the instruction the head generates from the two poses and one of the automatic reference
  instructions.

All bodies are drawn with one fixed front camera and plain clothes, so differences are the
pose's. Needs ``benchmarks/hps.py`` and ``benchmarks/instructions.py`` to have run.

    .venv/bin/python benchmarks/pictures.py --root experiments/synthetic
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


class Drawer:
    """Front-view renders of bodies ``(22, 3)`` poses (+ anny shapes) with one fixed setting."""

    def __init__(self) -> None:
        from pose_search.body.backends import create_body_model
        from pose_search.body.parts import anny_part_borders
        from pose_search.data.render import CameraSettings, RenderSettings

        self.body = create_body_model("anny")
        self.parts = self.body.vertex_parts()
        self.borders = anny_part_borders(self.body.model)
        self.settings = RenderSettings(camera=CameraSettings(elevation_deg=10.0, azimuth_deg=20.0), height=384,
                                       width=288)

    def __call__(self, pose: np.ndarray, shape: np.ndarray | None = None) -> np.ndarray:
        from pose_search.data.render import render_person

        shape_t = torch.as_tensor(shape, dtype=torch.float32)[None] if shape is not None else \
            self.body.neutral_shape(1)
        out = self.body(torch.as_tensor(pose, dtype=torch.float32).reshape(1, 22, 3), shape_t)
        return render_person(out.vertices[0].numpy(), np.asarray(out.faces), self.parts, self.settings, self.borders)


def _decode(row: dict) -> np.ndarray:
    from pose_search.data.show import load_image

    return load_image(row["image"], row["image_path"])


def _pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    from pose_search.metrics.hps import point_errors

    return point_errors(torch.as_tensor(pred)[None], torch.as_tensor(gt)[None])["pa_mpjpe_mm"]


def mesh_picture(root: Path, out: Path, n: int, seed: int, draw: Drawer) -> Path:
    """Image | recovered from the image | from image + text | ground truth, for ``n`` val rows."""
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table
    from pose_search.models.encoders.image_files import decode_images
    from pose_search.models.heads.hps_pipeline import recover_body
    from pose_search.runs import load_model

    pipe = load_model(root / "runs" / "hps_poseembroider")
    table = open_table(root / "data", POSES_TABLE)
    val = table.to_table(columns=["id"], filter="split = 'val'").column("id").to_pylist()
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(val), size=n, replace=False).tolist())
    ids = [val[i] for i in chosen]
    rows = table.to_table(filter=f"id IN ({', '.join(repr(i) for i in ids)})").to_pylist()
    fig = plt.figure(figsize=(13.0, n * 2.9), dpi=110)
    grid = fig.add_gridspec(n, 5, width_ratios=[1.0, 1.0, 1.0, 1.0, 1.9], wspace=0.04, hspace=0.18)
    for r, row in enumerate(rows):
        image = decode_images([row["image"]])[0]
        caption = row["captions"][0]
        gt = draw.body(torch.tensor(row["pose"]).reshape(1, 22, 3), torch.tensor(row["shape"])[None])
        gt_joints = gt.joints[0].numpy()
        from_image = recover_body(pipe, image=image, body=draw.body, require_person=False)
        both = recover_body(pipe, image=image, text=caption, body=draw.body, require_person=False)
        panels = [(_decode(row), f"input render ({row['id']})"),
                  (draw(from_image.pose, from_image.shape),
                   f"from the image: PA-MPJPE {_pa_mpjpe(from_image.joints, gt_joints):.0f} mm"),
                  (draw(both.pose, both.shape), f"image + text: {_pa_mpjpe(both.joints, gt_joints):.0f} mm"),
                  (draw(np.asarray(row["pose"]).reshape(22, 3), np.asarray(row["shape"])), "ground truth")]
        for c, (img, title) in enumerate(panels):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(img)
            ax.set_title(title, fontsize=6.5)
            ax.set_axis_off()
        tx = fig.add_subplot(grid[r, 4])
        tx.set_axis_off()
        tx.text(0.02, 0.95, "the text given with the image:\n" + textwrap.fill(caption, 58), va="top", ha="left",
                fontsize=6.5, transform=tx.transAxes)
    fig.suptitle("Mesh recovery from the PoseEmbroider representation (validation renders, unseen; "
                 "recovered bodies drawn from one fixed camera)", fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.95, bottom=0.01)
    fig.savefig(out)
    plt.close(fig)
    return out


def instruction_picture(root: Path, out: Path, n: int, seed: int, draw: Drawer) -> Path:
    """Pose A | pose B | generated and reference instructions, for ``n`` val pairs."""
    import pyarrow.compute as pc

    from pose_search.data.schema import PAIRS_TABLE, POSES_TABLE
    from pose_search.data.store import open_table
    from pose_search.runs import load_model

    fix = root / "fix"
    pipe = load_model(root / "runs" / "instructions_poseembroider")
    pairs = open_table(fix, PAIRS_TABLE).to_table(filter="split = 'val'").to_pylist()
    rng = np.random.default_rng(seed)
    chosen = [pairs[i] for i in sorted(rng.choice(len(pairs), size=n, replace=False).tolist())]
    wanted = sorted({p["a_id"] for p in chosen} | {p["b_id"] for p in chosen})
    poses = {r["id"]: r for r in open_table(fix, POSES_TABLE).to_table(
        columns=["id", "pose", "shape"], filter=pc.field("id").isin(wanted)).to_pylist()}
    fig = plt.figure(figsize=(11.0, n * 2.9), dpi=110)
    grid = fig.add_gridspec(n, 3, width_ratios=[1.0, 1.0, 3.2], wspace=0.03, hspace=0.12)
    for r, pair in enumerate(chosen):
        a, b = (np.asarray(poses[pair[k]]["pose"], dtype=np.float32).reshape(1, 22, 3) for k in ("a_id", "b_id"))
        generated = pipe.instruct({"poses": torch.from_numpy(a)}, {"poses": torch.from_numpy(b)})[0]
        for c, (key, pose) in enumerate((("a_id", a), ("b_id", b))):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(draw(pose[0], np.asarray(poses[pair[key]]["shape"])))
            ax.set_title(f"{'A' if c == 0 else 'B'}: {pair[key]}", fontsize=7)
            ax.set_axis_off()
        tx = fig.add_subplot(grid[r, 2])
        tx.set_axis_off()
        text = (f"generated (greedy, from the two poses):\n{textwrap.fill(generated, 80)}\n\n"
                f"reference (automatic):\n{textwrap.fill(pair['instructions'][0], 80)}")
        tx.text(0.02, 0.95, text, va="top", ha="left", fontsize=7.5, transform=tx.transAxes)
    fig.suptitle("Corrective instructions A -> B from the PoseEmbroider representation (validation pairs, unseen)",
                 fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.95, bottom=0.01)
    fig.savefig(out)
    plt.close(fig)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--out", default=str(DOCS))
    p.add_argument("-n", type=int, default=4, help="rows per picture")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--only", choices=("mesh", "instruction"), help="draw one picture")
    args = p.parse_args()
    torch.set_num_threads(2)
    root, out = Path(args.root), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    draw = Drawer()
    if args.only in (None, "mesh"):
        print(mesh_picture(root, out / "mesh_recovery.png", args.n, args.seed, draw))
    if args.only in (None, "instruction"):
        print(instruction_picture(root, out / "instruction.png", args.n, args.seed, draw))


if __name__ == "__main__":
    main()
