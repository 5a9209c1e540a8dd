"""3DPW sequence files -> pose rows with person crops.

Layout (``root`` = the 3DPW folder)::

    sequenceFiles/{train,validation,test}/<sequence>.pkl
    imageFiles/<sequence>/image_{frame:05d}.jpg

Each ``.pkl`` (a Python-2 pickle, read with :mod:`.safe_pickle`, never plain ``pickle``) holds
``sequence``, ``genders``, ``img_frame_ids`` ``(T,)``, ``cam_poses`` ``(T, 4, 4)`` (world ->
camera), ``cam_intrinsics`` ``(3, 3)`` and, per person (a list or a leading axis),
``poses`` ``(T, 72)`` SMPL, ``trans`` ``(T, 3)``, ``betas`` ``(10,)``, ``jointPositions``
``(T, 72)`` (24 SMPL joints, world), ``poses2d`` and ``campose_valid`` ``(T,)``.

Conversion choices (documented, not verified on the licensed data here):

* SMPL joints 0-21 share SMPL-X's body joint order: the first 66 pose values are kept, the two
  SMPL hand joints dropped.
* The pose is expressed in the **camera** frame (``R_cam @ R_root``) and then turned from the
  OpenCV camera axes (y down, z forward) to +y up by a rotation of pi about x, so a person facing
  the camera faces +z; the heading is then removed. The camera's pitch stays in the pose as a body
  tilt, matching what the image shows.
* Crop: project the 24 world joints with the camera, take the box of those inside the image,
  enlarge it by ``scale_factor`` (1.3, PoseEmbroider §6.6) and run :func:`crops.crop_person`.
  People with fewer than ``min_joints_in_frame`` of the 22 body joints inside the image, invalid
  camera poses, or a scaled box whose longer side is <= ``min_box_size`` are dropped.
* SMPL betas are not SMPL-X betas: ``shape`` is the neutral zero shape, the betas go to ``meta``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
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
    clean_texts,
    compute_joints,
    get_array,
    normalize_split,
    rot_x,
    to_meta,
)
from pose_search.data.loaders.safe_pickle import safe_load_pickle

log = logging.getLogger(__name__)

SPLIT_DIRS = {"train": "train", "val": "validation", "test": "test"}


def _per_person(seq: Mapping[str, Any], field: str, where: str, tail: tuple[int, ...]) -> list[np.ndarray]:
    """A per-person field (list of arrays or one stacked array) -> list of arrays of shape ``tail``."""
    if field not in seq:
        raise LoaderError(f"{where}: missing field {field!r}")
    value = seq[field]
    people = list(value) if isinstance(value, (list, tuple)) or np.ndim(value) == len(tail) + 1 else None
    if people is None:
        raise LoaderError(f"{where}: field {field!r} must hold one array per person, got shape {np.shape(value)}")
    out = []
    for i, person in enumerate(people):
        arr = get_array({field: person}, field, f"{where}: person {i}")
        if arr.shape[1:] != tail[1:] or (tail[0] > 0 and arr.shape[0] != tail[0]):
            raise LoaderError(f"{where}: field {field!r} of person {i} has shape {arr.shape}, expected {tail}")
        out.append(arr)
    return out


def read_sequence(path: str | Path) -> dict[str, Any]:
    """Read and check one 3DPW sequence pickle; errors name the file and the field."""
    path = Path(path)
    seq = safe_load_pickle(path)
    where = str(path)
    if not isinstance(seq, Mapping):
        raise LoaderError(f"{where}: expected a dict of fields, got {type(seq).__name__}")
    cam = get_array(seq, "cam_poses", where, ndim=3, last=4)
    n_frames = len(cam)
    if cam.shape[1:] != (4, 4):
        raise LoaderError(f"{where}: field 'cam_poses' has shape {cam.shape}, expected (T, 4, 4)")
    k = get_array(seq, "cam_intrinsics", where, ndim=2, last=3)
    frame_ids = get_array(seq, "img_frame_ids", where).reshape(-1).astype(np.int64) \
        if "img_frame_ids" in seq else np.arange(n_frames)
    if len(frame_ids) != n_frames:
        raise LoaderError(f"{where}: field 'img_frame_ids' has {len(frame_ids)} entries, 'cam_poses' {n_frames}")
    poses = _per_person(seq, "poses", where, (n_frames, 72))
    n = len(poses)
    joints = _per_person(seq, "jointPositions", where, (n_frames, 72))
    betas = _per_person(seq, "betas", where, (0,)) if "betas" in seq else [np.zeros(10)] * n
    valid = ([v.astype(bool) for v in _per_person(seq, "campose_valid", where, (n_frames,))]
             if "campose_valid" in seq else [np.ones(n_frames, bool)] * n)
    if not (len(joints) == len(betas) == len(valid) == n):
        raise LoaderError(f"{where}: per-person fields disagree on the number of people "
                          f"(poses {n}, jointPositions {len(joints)}, betas {len(betas)}, campose_valid {len(valid)})")
    name = seq.get("sequence", path.stem)
    genders = list(seq.get("genders", ["n"] * n))
    return {"sequence": str(name.decode("latin1") if isinstance(name, bytes) else name), "cam_poses": cam,
            "K": k, "frame_ids": frame_ids, "poses": poses, "joints": joints, "betas": betas,
            "valid": valid, "genders": [g.decode("latin1") if isinstance(g, bytes) else str(g) for g in genders]}


def project(points: np.ndarray, cam: np.ndarray, k: np.ndarray) -> np.ndarray:
    """World ``(N, 3)`` points -> ``(N, 2)`` pixels with the ``(4, 4)`` world->camera pose and
    ``(3, 3)`` intrinsics; points behind the camera get NaN."""
    pc = points @ cam[:3, :3].T + cam[:3, 3]
    z = pc[:, 2:3]
    uv = (pc @ k.T)[:, :2] / np.where(z > 1e-6, z, np.nan)
    return uv


def load_3dpw(root: str | Path, *, caption_fn: CaptionFn, splits: Sequence[str] = ("test",),
              stride: int = 1, scale_factor: float = 1.3, min_joints_in_frame: int = 16,
              min_box_size: float = 0.0, image_format: str = "PNG",
              joints_fn: JointsFn | None = None) -> Iterator[dict[str, Any]]:
    """Pose rows (ids ``3dpw:<sequence>:<person>:<frame>``) with 256x192 person crops.

    ``caption_fn(pose (22, 3)) -> [captions]`` supplies the captions (3DPW has none). Every
    ``stride``-th frame is used. Sequence files are processed one at a time, in name order.
    """
    root = Path(root)
    for split_name in splits:
        split = normalize_split(split_name, "load_3dpw(splits)")
        seq_dir = root / "sequenceFiles" / SPLIT_DIRS[split]
        if not seq_dir.is_dir():
            raise LoaderError(f"{seq_dir}: 3DPW sequence folder not found")
        for path in sorted(seq_dir.glob("*.pkl")):
            yield from _load_sequence(path, root, split, caption_fn, stride, scale_factor,
                                      min_joints_in_frame, min_box_size, image_format, joints_fn)


def _load_sequence(path: Path, root: Path, split: str, caption_fn: CaptionFn, stride: int,
                   scale_factor: float, min_joints: int, min_box: float, image_format: str,
                   joints_fn: JointsFn | None) -> Iterator[dict[str, Any]]:
    seq = read_sequence(path)
    name = seq["sequence"]
    frames = range(0, len(seq["cam_poses"]), stride)
    flip = rot_x(math.pi)
    selected: list[tuple[int, int, np.ndarray, np.ndarray]] = []  # person, t, box, pre_rot
    dropped = {"invalid camera": 0, "joints out of frame": 0, "small box": 0}
    for t in frames:
        img_path = root / "imageFiles" / name / f"image_{int(seq['frame_ids'][t]):05d}.jpg"
        size: tuple[int, int] | None = None
        for p in range(len(seq["poses"])):
            if not seq["valid"][p][t]:
                dropped["invalid camera"] += 1
                continue
            if size is None:
                size = crops.image_size(str(img_path), f"image of {path} frame {t}")
            w, h = size
            uv = project(seq["joints"][p][t].reshape(24, 3), seq["cam_poses"][t], seq["K"])
            if int(crops.in_frame(uv[:NUM_BODY_JOINTS], w, h).sum()) < min_joints:
                dropped["joints out of frame"] += 1
                continue
            tight = crops.tight_box(uv, w, h)
            box = None if tight is None else crops.enlarge_box(tight, scale_factor, w, h)
            if box is None or max(box[2] - box[0], box[3] - box[1]) <= min_box:
                dropped["small box"] += 1
                continue
            selected.append((p, t, box, flip @ seq["cam_poses"][t][:3, :3]))
    if any(dropped.values()):
        log.info("%s: dropped %s", path, dropped)
    if not selected:
        return
    raw = np.stack([seq["poses"][p][t][: 3 * NUM_BODY_JOINTS].reshape(NUM_BODY_JOINTS, 3)
                    for p, t, _, _ in selected])
    canon, yaws = canonicalize(raw, pre_rot=np.stack([r for *_, r in selected]))
    joints = compute_joints(joints_fn, canon)
    cache: tuple[int, Any] | None = None
    for k, (p, t, box, _) in enumerate(selected):
        frame = int(seq["frame_ids"][t])
        if cache is None or cache[0] != t:
            img_path = root / "imageFiles" / name / f"image_{frame:05d}.jpg"
            cache = (t, crops.load_image(str(img_path), f"image of {path} frame {t}"))
        image = crops.encode_image(crops.crop_person(cache[1], box), image_format)
        where = f"{path}: person {p} frame {frame}"
        captions = clean_texts(caption_fn(canon[k]), f"{where}: caption_fn")
        if not captions:
            raise LoaderError(f"{where}: caption_fn returned no caption")
        meta = {"sequence": name, "person": p, "frame": frame, "box": box.tolist(),
                "gender": seq["genders"][p] if p < len(seq["genders"]) else "",
                "source_betas": seq["betas"][p].reshape(-1).tolist(), "yaw_removed": float(yaws[k]),
                "frame_convention": "camera", "scale_factor": scale_factor}
        yield {"id": f"3dpw:{name}:{p}:{frame}", "pose": canon[k].reshape(-1), "shape": [0.0] * 10,
               "shape_space": "smplx-betas", "joints": joints[k].reshape(-1), "image": image,
               "image_path": None, "captions": captions, "family": "", "split": split, "source": "3dpw",
               "meta": to_meta(meta)}
