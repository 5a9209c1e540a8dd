"""BEDLAM -> pose rows with person crops, from BEDLAM's processed per-scene label files.

Supported (and tested) layout: BEDLAM's own processed labels, one ``.npz`` per scene, e.g.
``<labels>/<scene>.npz``, next to the images ``<image_root>/<scene>/png/seq_XXXXXX/
seq_XXXXXX_NNNN.png`` (1280x720; scenes whose name contains ``closeup`` are stored rotated and are
turned 90° clockwise to portrait before use). Per person (row ``i`` of every field):

* ``imgname`` ``(N,)``: image path relative to ``<scene>/png/`` (or to ``image_root``);
* ``pose_world`` ``(N, 165)`` SMPL-X axis-angle in BEDLAM's world frame, or, when absent,
  ``pose_cam`` ``(N, 165)`` (camera frame) together with ``cam_ext`` ``(N, 4, 4)`` (world->camera);
* ``shape`` ``(N, 11)`` neutral SMPL-X betas; ``trans_cam`` ``(N, 3)`` (depth for overlap30);
* ``gtkps`` ``(N, K, 2|3)`` projected SMPL-X joints in pixels of the (rotated) image, body joints
  first (K >= 22); ``cam_int`` ``(N, 3, 3)``; ``center``/``scale`` are not needed.

The raw layout (``be_seq.csv`` + camera CSVs + ``motion_seq.npz``) needs the SMPL-X body model to
project joints and is not supported here; convert it with BEDLAM's own ``df_full_body.py`` first.

Frame: BEDLAM's world frame is y-up (PoseEmbroider's hip normalisation turns about y), so the
world global orientation is already in our axes (``world_up="y"``; pass ``"z"`` for a z-up world).
The heading is then removed with :func:`~pose_search.body.convention.normalize_heading` (our one
canonicalisation, instead of PoseEmbroider's hip alignment).

Selection (PoseEmbroider §6.2, version ``overlap30_res224_j16_sf11``), per person:

* tight box = box of the ``gtkps`` inside the image (BEDLAM used 437 projected vertices; joints are
  what the processed labels carry);
* **j16**: >= ``min_joints_in_frame`` of the 22 body joints strictly inside the image;
* **sf11**: scaled box = tight box, each side pushed out by 0.1 x diagonal / 2, clipped;
* **res224**: longer side of the scaled box > ``min_box_size``;
* **overlap30**: for each other person of the same image that is closer (smaller ``trans_cam``
  z), area(tight ∩ other tight) / area(own tight) <= ``max_overlap``.

Crops: :func:`crops.crop_person` (zero-pad to 256:192, bicubic resize to 256x192), stored as
encoded bytes in ``image``. Captions: BEDLAM has none; ``caption_fn(pose) -> [captions]`` is
required. ``shape`` keeps the first 10 betas; the 11th (kid blend) goes to ``meta``.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pose_search.body.convention import NUM_BODY_JOINTS
from pose_search.data.loaders import crops
from pose_search.data.loaders.common import (
    CaptionFn,
    JointsFn,
    LoaderError,
    canonicalize,
    caption_fields,
    compute_joints,
    get_array,
    load_npz,
    normalize_split,
    rot_x,
    split_from_path,
    to_meta,
)

log = logging.getLogger(__name__)

WORLD_UP = {"y": np.eye(3), "z": rot_x(-math.pi / 2), "-y": rot_x(math.pi)}
FRAME_SIZE = (1280, 720)  # width, height of BEDLAM frames (closeups: 720 x 1280 after rotation)


def read_scene_labels(path: str | Path) -> dict[str, Any]:
    """Read and check one processed BEDLAM scene ``.npz``; errors name the file and the field."""
    path = Path(path)
    data = load_npz(path, "BEDLAM scene labels")
    where = str(path)
    if "imgname" not in data:
        raise LoaderError(f"{where}: missing field 'imgname'")
    names = [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in np.asarray(data["imgname"]).reshape(-1)]
    n = len(names)
    out: dict[str, Any] = {"imgname": names}
    if "pose_world" in data:
        out["pose"] = get_array(data, "pose_world", where, ndim=2, last=(165,))
        out["cam_ext"] = None
    else:
        out["pose"] = get_array(data, "pose_cam", where, ndim=2, last=(165,))
        out["cam_ext"] = get_array(data, "cam_ext", where, ndim=3, last=4)
    kps = get_array(data, "gtkps", where, ndim=3, last=(2, 3), finite=False)
    if kps.shape[1] < NUM_BODY_JOINTS:
        raise LoaderError(f"{where}: field 'gtkps' has {kps.shape[1]} joints, expected >= {NUM_BODY_JOINTS}")
    out["gtkps"] = kps[..., :2]
    out["shape"] = get_array(data, "shape", where, ndim=2)
    if out["shape"].shape[1] < 10:
        raise LoaderError(f"{where}: field 'shape' has {out['shape'].shape[1]} betas per person, expected >= 10")
    out["trans_cam"] = get_array(data, "trans_cam", where, ndim=2, last=3) if "trans_cam" in data else None
    for field in ("pose", "gtkps", "shape", "trans_cam", "cam_ext"):
        if out[field] is not None and len(out[field]) != n:
            raise LoaderError(f"{where}: field {field!r} has {len(out[field])} rows, 'imgname' has {n}")
    return out


def select_people(boxes: Sequence[np.ndarray | None], depths: np.ndarray | None, n_in_frame: np.ndarray,
                  size: tuple[int, int], *, scale_factor: float = 1.1, min_joints_in_frame: int = 16,
                  min_box_size: float = 224.0, max_overlap: float | None = 0.30
                  ) -> list[tuple[np.ndarray, str | None]]:
    """Apply j16 / sf11 / res224 / overlap30 to the people of one image.

    ``boxes`` are the tight boxes (``None`` when < 2 points are in frame), ``depths`` ``(P,)``
    their camera z, ``n_in_frame`` ``(P,)`` the in-frame body-joint counts, ``size`` the image
    ``(width, height)``. Returns per person ``(scaled box, None)`` if kept, else ``(box, reason)``.
    """
    w, h = size
    out: list[tuple[np.ndarray, str | None]] = []
    for i, tight in enumerate(boxes):
        if tight is None or n_in_frame[i] < min_joints_in_frame:
            out.append((np.zeros(4), "j16"))
            continue
        scaled = crops.enlarge_box(tight, scale_factor, w, h)
        if max(scaled[2] - scaled[0], scaled[3] - scaled[1]) <= min_box_size:
            out.append((scaled, "res224"))
            continue
        if max_overlap is not None:
            if depths is None:
                raise LoaderError("overlap filter needs 'trans_cam' (pass max_overlap=None to disable it)")
            occluded = any(
                j != i and other is not None and depths[j] < depths[i]
                and crops.overlap_ratio(tight, other) > max_overlap
                for j, other in enumerate(boxes)
            )
            if occluded:
                out.append((scaled, "overlap30"))
                continue
        out.append((scaled, None))
    return out


def _image_path(image_root: Path, scene: str, name: str) -> Path:
    for cand in (image_root / scene / "png" / name, image_root / name):
        if cand.is_file():
            return cand
    raise LoaderError(f"{image_root / scene / 'png' / name}: BEDLAM image not found (row imgname {name!r})")


def load_bedlam(labels: str | Path, image_root: str | Path, *, caption_fn: CaptionFn,
                splits: Sequence[str] | None = None, world_up: str = "y", scale_factor: float = 1.1,
                min_joints_in_frame: int = 16, min_box_size: float = 224.0,
                max_overlap: float | None = 0.30, image_format: str = "PNG",
                joints_fn: JointsFn | None = None) -> Iterator[dict[str, Any]]:
    """Pose rows ``bedlam:<scene>:<row>`` with 256x192 crops from processed BEDLAM labels.

    ``labels`` is one scene ``.npz``, a folder of them, or a folder of split folders
    (``training/``, ``validation/``), in name order. A scene's split is the split folder it sits in
    (at or below ``labels``), else train; ``splits`` keeps the scenes of those splits only.
    """
    labels = Path(labels)
    if world_up not in WORLD_UP:
        raise ValueError(f"world_up must be one of {list(WORLD_UP)}, got {world_up!r}")
    files = (sorted({*labels.glob("*.npz"), *labels.glob("*/*.npz")}) if labels.is_dir() else
             [labels] if labels.is_file() else [])
    if not files:
        raw = labels.is_dir() and any(labels.glob(p) for p in ("be_seq.csv", "*/be_seq.csv", "*/*/be_seq.csv"))
        raise LoaderError(f"{labels}: no BEDLAM scene .npz files" + (
            "; this is BEDLAM's raw layout (be_seq.csv): convert it with `bedlam-raw` and --gt-root" if raw else ""))
    wanted = None if splits is None else {normalize_split(s, "load_bedlam(splits)") for s in splits}
    for path in files:
        base = labels if labels.is_dir() else labels.parent
        sp = split_from_path((base.name, *path.parent.relative_to(base).parts)) or "train"
        if wanted is not None and sp not in wanted:
            continue
        yield from _load_scene(path, Path(image_root), sp, caption_fn, world_up, scale_factor,
                               min_joints_in_frame, min_box_size, max_overlap, image_format, joints_fn)


def _load_scene(path: Path, image_root: Path, split: str, caption_fn: CaptionFn, world_up: str,
                scale_factor: float, min_joints: int, min_box: float, max_overlap: float | None,
                image_format: str, joints_fn: JointsFn | None) -> Iterator[dict[str, Any]]:
    lab = read_scene_labels(path)
    scene = path.stem
    closeup = "closeup" in scene.lower()
    size = (FRAME_SIZE[1], FRAME_SIZE[0]) if closeup else FRAME_SIZE
    by_image: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(lab["imgname"]):
        by_image[name].append(i)
    kept: list[tuple[int, np.ndarray]] = []
    reasons: dict[str, int] = defaultdict(int)
    for rows in by_image.values():
        kps = [lab["gtkps"][i] for i in rows]
        boxes = [crops.tight_box(k, *size) for k in kps]
        n_in = np.array([int(crops.in_frame(k[:NUM_BODY_JOINTS], *size).sum()) for k in kps])
        depths = None if lab["trans_cam"] is None else lab["trans_cam"][rows, 2]
        for i, (box, reason) in zip(rows, select_people(
                boxes, depths, n_in, size, scale_factor=scale_factor, min_joints_in_frame=min_joints,
                min_box_size=min_box, max_overlap=max_overlap), strict=True):
            if reason is None:
                kept.append((i, box))
            else:
                reasons[reason] += 1
    log.info("%s: kept %d of %d people, dropped %s", path, len(kept), len(lab["imgname"]), dict(reasons))
    if not kept:
        return
    idx = np.array([i for i, _ in kept])
    raw = lab["pose"][idx, : 3 * NUM_BODY_JOINTS].reshape(-1, NUM_BODY_JOINTS, 3)
    pre = WORLD_UP[world_up]
    if lab["cam_ext"] is not None:  # camera -> world, then world -> y-up
        pre = pre @ np.transpose(lab["cam_ext"][idx, :3, :3], (0, 2, 1))
    canon, yaws = canonicalize(raw, pre_rot=pre)
    joints = compute_joints(joints_fn, canon)
    current: tuple[str, Any] | None = None
    for k, (i, box) in enumerate(kept):
        name = lab["imgname"][i]
        if current is None or current[0] != name:
            img_path = _image_path(image_root, scene, name)
            current = (name, crops.load_image(str(img_path), "BEDLAM image", closeup=closeup))
            if current[1].size != size:
                raise LoaderError(f"{img_path}: image is {current[1].size}, expected {size} (width, height)")
        image = crops.encode_image(crops.crop_person(current[1], box), image_format)
        where = f"{path}: row {i}"
        texts = caption_fields(caption_fn(canon[k]), f"{where}: caption_fn")
        betas = lab["shape"][i].reshape(-1)
        meta = {"scene": scene, "row": int(i), "imgname": name, "box": box.tolist(),
                "yaw_removed": float(yaws[k]), "extra_betas": betas[10:].tolist(), "closeup": closeup,
                "selection": f"overlap{max_overlap}_res{min_box}_j{min_joints}_sf{scale_factor}"}
        shape = np.zeros(10)
        shape[: min(10, len(betas))] = betas[:10]
        yield {"id": f"bedlam:{scene}:{i}", "pose": canon[k].reshape(-1), "shape": shape,
               "shape_space": "smplx-betas", "joints": joints[k].reshape(-1), "image": image,
               "image_path": None, **texts, "family": "", "split": split, "source": "bedlam",
               "meta": to_meta(meta)}
