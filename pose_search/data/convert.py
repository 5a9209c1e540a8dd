"""Convert a real dataset (BEDLAM, AMASS, PoseScript, PoseFix, 3DPW) into a pose-search dataset.

Sources without captions get our automatic captions (3 PoseScript-style + 4 everyday per pose,
with their kinds); sources without images get
renders of the anny body in the pose, with a random look drawn from a seed. Rows are written to
``OUT.partial`` and the directory is renamed to ``OUT`` only when every input file was read, so a
bad input file leaves nothing behind that looks like a dataset.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pose_search.data.manifest import build_manifest
from pose_search.data.schema import (
    EVERYDAY_CAPTIONS,
    PAIRS_TABLE,
    POSES_TABLE,
    pair_rows_to_table,
    pose_rows_to_table,
)
from pose_search.data.store import DatasetError, append_rows, write_json_atomic

if TYPE_CHECKING:
    from pose_search.data.captioning import PoseCaptions

log = logging.getLogger(__name__)

SOURCES = ("bedlam", "bedlam-raw", "amass", "posescript", "posefix", "3dpw")


class Annotator:
    """Captions and renders for sources that lack them; deterministic given ``seed``."""

    def __init__(self, seed: int = 0, n_captions: int = 3, everyday: int = EVERYDAY_CAPTIONS) -> None:
        self.rng = np.random.default_rng(seed)
        self.n_captions = n_captions
        self.everyday = everyday
        self._render_state: tuple[Any, Any, Any] | None = None

    def caption(self, pose: np.ndarray) -> PoseCaptions:
        """``(22, 3)`` pose -> ``n_captions`` PoseScript-style + ``everyday`` automatic captions
        (on the neutral skeleton) with their kinds."""
        from pose_search.body.skeleton import neutral_joints
        from pose_search.data.captioning import describe_poses

        return describe_poses(neutral_joints(pose[None]), pose[None], n_captions=self.n_captions,
                              everyday=self.everyday, rng=self.rng)[0]

    def render(self, pose: np.ndarray) -> bytes:
        """``(22, 3)`` pose -> JPEG bytes of a random-looking anny person in that pose."""
        from pose_search.data.generate import encode_image, sample_phenotypes
        from pose_search.data.render import render_person, sample_render_settings

        if self._render_state is None:
            from pose_search.body.anny_backend import AnnyBody
            from pose_search.body.parts import anny_part_borders

            body = AnnyBody()
            self._render_state = (body, body.vertex_parts(), anny_part_borders(body.model))
        body, parts, borders = self._render_state
        out = body(pose[None], shape=sample_phenotypes(self.rng, 1))
        image = render_person(out.vertices[0].numpy(), body.faces.numpy(), parts,
                              sample_render_settings(self.rng), borders)
        return encode_image(image, "jpeg")


def _loader_call(source: str, root: Path, annotator: Annotator, options: dict[str, Any]) -> Iterable[dict[str, Any]]:
    from pose_search.data import loaders

    cap, ren = annotator.caption, annotator.render
    if source == "bedlam":
        return loaders.load_bedlam(root, options.pop("image_root", None) or root, caption_fn=cap, **options)
    if source == "bedlam-raw":
        gt_root = options.pop("gt_root", None)
        if gt_root is None:
            raise ValueError("bedlam-raw: --gt-root is required (the folder of <person_id>/<seq_id>/motion_seq.npz)")
        return loaders.load_bedlam_raw(root, gt_root, caption_fn=cap, **options)
    if source == "amass":
        return loaders.load_amass(root, caption_fn=cap, render_fn=ren, **options)
    if source in ("posescript", "posefix"):
        amass_root = options.pop("amass_root", None)
        if amass_root is None:
            raise ValueError(f"{source}: --amass-root is required (the poses live in the AMASS npz files)")
        fn = loaders.load_posescript if source == "posescript" else loaders.load_posefix
        return fn(root, amass_root, render_fn=ren, **options)
    if source == "3dpw":
        return loaders.load_3dpw(root, caption_fn=cap, **options)
    raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")


def convert(source: str, root: str | Path, out: str | Path, *, seed: int = 0, batch: int = 512,
            **options: Any) -> dict[str, Any]:
    """Read ``root`` with the ``source`` loader and write a dataset directory ``out``."""
    out = Path(out)
    if out.exists():
        raise DatasetError(f"output {str(out)!r} already exists; choose a new directory")
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    annotator = Annotator(seed)
    poses: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    try:
        for row in _loader_call(source, Path(root), annotator, dict(options)):
            (pairs if "pair_id" in row else poses).append(row)
            if len(poses) >= batch:
                append_rows(staging, POSES_TABLE, pose_rows_to_table(poses))
                poses = []
        if poses:
            append_rows(staging, POSES_TABLE, pose_rows_to_table(poses))
        if pairs:
            append_rows(staging, PAIRS_TABLE, pair_rows_to_table(pairs))
        if not (staging / POSES_TABLE).exists():
            raise DatasetError(f"{source} at {str(root)!r}: no usable rows found")
        config = {"kind": "fix" if pairs else "script", "source": source, "root": str(root), "seed": seed,
                  "options": json.loads(json.dumps(options, default=str))}
        manifest = build_manifest(staging, config, status="complete", source=source)
        write_json_atomic(staging / "manifest.json", manifest)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest
