"""3DPW sequence files -> pose rows with person crops.

Layout (``root`` = the 3DPW folder, as unzipped)::

    sequenceFiles/{train,validation,test}/<sequence>.pkl
    imageFiles/<sequence>/image_{t:05d}.jpg           (t = the frame's index, 0 .. T-1)

Each ``.pkl`` (a Python-2 pickle, read with :mod:`.safe_pickle`, never plain ``pickle``) holds
``sequence``, ``genders``, ``img_frame_ids`` ``(T,)`` (indices into the 60 Hz arrays
``poses_60Hz``/``trans_60Hz``, which are not used: image ``t`` is named from ``t``, as the public
preprocessing does), ``cam_poses`` ``(T, 4, 4)`` (world -> camera), ``cam_intrinsics``
``(3, 3)`` and, per person (a list or a leading axis), ``poses`` ``(T, 72)`` SMPL, ``trans``
``(T, 3)``, ``betas`` ``(10,)``, ``jointPositions`` ``(T, 72)`` (24 SMPL joints, world),
``poses2d`` ``(T, 3, 18)`` (COCO keypoints x, y, confidence; all zero where the person was not
detected) and ``campose_valid`` ``(T,)``. Every split present is read unless ``splits`` names some.

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
  camera poses, frames whose 2D keypoints (``poses2d``) are all zero, or a scaled box whose
  longer side is <= ``min_box_size`` are dropped (counted in the log).
* **overlap30** (as for BEDLAM, :func:`.bedlam.select_people`): a person whose keypoint box is
  covered by more than ``max_overlap`` (0.30; ``None`` disables it) by the box of a person closer
  to the camera (camera z of the pelvis) is dropped. Boxes come from the projected 2D joints.
* SMPL betas are not SMPL-X betas: ``shape`` is the neutral zero shape, the betas go to ``meta``.

PoseEmbroider layout (§6.6): ``<root>/3dpw_{train|validation|test}.pkl`` (or ``root`` = such a
file), read with the restricted unpickler: ``{img_path: {focal, princpt, humans: [{smplx_root_pose
(3,), smplx_body_pose (63,), smplx_shape (10|11,), smplx_pose2d (K >= 22, 2|3) px, optional
smplx_transl (3,), ...}]}}``, images at ``<image_root>/<img_path>`` (``image_root`` defaults to
``root``). The poses are SMPL-X fits in the OpenCV camera frame; PoseEmbroider composes them with
-pi/2 about x (camera -> its z-up frame) and removes the yaw; our y-up frame adds the z-up -> y-up
turn (another -pi/2 about x), so ``pre_rot = Rx(-pi/2) Rx(-pi/2)``, then the heading is removed.
Crop: box of the in-frame 2D keypoints enlarged by ``scale_factor`` (1.3); the j16 / box-size /
overlap30 filters apply too (overlap needs ``smplx_transl`` for every human of the image, else it
is skipped for that image). ``shape`` = the first 10 ``smplx_shape`` values (SMPL-X betas).
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pose_search.body.convention import NUM_BODY_JOINTS
from pose_search.data.loaders import crops
from pose_search.data.loaders.bedlam import select_people
from pose_search.data.loaders.common import (
    CaptionFn,
    JointsFn,
    LoaderError,
    LoadReport,
    canonicalize,
    caption_fields,
    compute_joints,
    get_array,
    normalize_split,
    rot_x,
    to_meta,
)
from pose_search.data.loaders.safe_pickle import safe_load_pickle

log = logging.getLogger(__name__)

SPLIT_DIRS = {"train": "train", "val": "validation", "test": "test"}
SEQUENCE_KEYS = frozenset({"sequence", "cam_poses", "jointPositions", "img_frame_ids"})  # a sequenceFiles pickle


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
    detected = _detected(seq, where, n_frames) if "poses2d" in seq else [np.ones(n_frames, bool)] * n
    if not (len(joints) == len(betas) == len(valid) == len(detected) == n):
        raise LoaderError(f"{where}: per-person fields disagree on the number of people "
                          f"(poses {n}, jointPositions {len(joints)}, betas {len(betas)}, "
                          f"campose_valid {len(valid)}, poses2d {len(detected)})")
    name = seq.get("sequence", path.stem)
    genders = list(seq.get("genders", ["n"] * n))
    return {"sequence": str(name.decode("latin1") if isinstance(name, bytes) else name), "cam_poses": cam,
            "K": k, "frame_ids": frame_ids, "poses": poses, "joints": joints, "betas": betas,
            "valid": valid, "detected": detected, "genders": [g.decode("latin1") if isinstance(g, bytes) else str(g) for g in genders]}


def _detected(seq: Mapping[str, Any], where: str, n_frames: int) -> list[np.ndarray]:
    """Per person ``(T,)`` bool: the frame has a 2D detection (``poses2d`` not all zero)."""
    value = seq["poses2d"]
    people = list(value) if isinstance(value, (list, tuple)) or np.ndim(value) == 4 else None
    if people is None:
        raise LoaderError(f"{where}: field 'poses2d' must hold one (T, 3, K) array per person, got shape {np.shape(value)}")
    out = []
    for i, person in enumerate(people):
        arr = get_array({"poses2d": person}, "poses2d", f"{where}: person {i}", finite=False)
        if arr.ndim != 3 or len(arr) != n_frames:
            raise LoaderError(f"{where}: field 'poses2d' of person {i} has shape {arr.shape}, expected ({n_frames}, 3, K)")
        out.append(np.nan_to_num(arr).reshape(n_frames, -1).any(axis=1))
    return out


def project(points: np.ndarray, cam: np.ndarray, k: np.ndarray) -> np.ndarray:
    """World ``(N, 3)`` points -> ``(N, 2)`` pixels with the ``(4, 4)`` world->camera pose and
    ``(3, 3)`` intrinsics; points behind the camera get NaN."""
    pc = points @ cam[:3, :3].T + cam[:3, 3]
    z = pc[:, 2:3]
    uv = (pc @ k.T)[:, :2] / np.where(z > 1e-6, z, np.nan)
    return uv


def load_3dpw(root: str | Path, *, caption_fn: CaptionFn, splits: Sequence[str] | None = None,
              stride: int = 1, scale_factor: float = 1.3, min_joints_in_frame: int = 16,
              min_box_size: float = 0.0, max_overlap: float | None = 0.30, image_format: str = "PNG",
              joints_fn: JointsFn | None = None, layout: str = "auto",
              image_root: str | Path | None = None, report: LoadReport | None = None) -> Iterator[dict[str, Any]]:
    """Pose rows (ids ``3dpw:<sequence>:<person>:<frame>``) with 256x192 person crops.

    ``caption_fn(pose (22, 3)) -> [captions]`` supplies the captions (3DPW has none). Every
    ``stride``-th frame is used. Sequence files are processed one at a time, in name order.
    ``splits``: the splits to read (default: every one present; a named one must exist).
    ``image_root``: the folder holding ``imageFiles/`` (default ``root``). People-frames dropped
    by the filters are counted by reason in ``report`` (sequence layout).
    ``layout``: ``"sequences"`` (official ``sequenceFiles``), ``"poseembroider"``
    (``3dpw_{split}.pkl``, rows ``3dpw:<img_path>:<human>``) or ``"auto"`` (the pickle when it
    exists, or when ``root`` is a ``.pkl`` file).
    """
    root = Path(root)
    if layout not in ("auto", "sequences", "poseembroider"):
        raise ValueError(f"layout must be 'auto', 'sequences' or 'poseembroider', got {layout!r}")
    filters = dict(scale_factor=scale_factor, min_joints=min_joints_in_frame, min_box=min_box_size,
                   max_overlap=max_overlap)
    if root.is_file() and layout != "sequences":
        m = re.fullmatch(r"3dpw_(\w+)\.pkl", root.name)
        split = normalize_split(m.group(1) if m else (splits or ["test"])[0], f"{root}: split in the file name")
        yield from _load_pe_pickle(root, Path(image_root) if image_root else root.parent, split, caption_fn,
                                   image_format, joints_fn, **filters)
        return
    if not root.is_dir():
        raise LoaderError(f"{root}: 3DPW folder not found (give the folder holding sequenceFiles/ and imageFiles/)")
    for split in _splits(root, splits, layout):
        pkl = root / f"3dpw_{SPLIT_DIRS[split]}.pkl"
        if layout == "poseembroider" or (layout == "auto" and pkl.is_file()):
            if not pkl.is_file():
                raise LoaderError(f"{pkl}: PoseEmbroider 3DPW pickle not found")
            yield from _load_pe_pickle(pkl, Path(image_root) if image_root else root, split, caption_fn,
                                       image_format, joints_fn, **filters)
            continue
        seq_dir = root / "sequenceFiles" / SPLIT_DIRS[split]
        if not seq_dir.is_dir():
            raise LoaderError(f"{seq_dir}: 3DPW sequence folder not found")
        images = Path(image_root) if image_root else root
        for path in sorted(seq_dir.glob("*.pkl")):
            yield from _load_sequence(path, images, split, caption_fn, stride, image_format, joints_fn,
                                      report or LoadReport(), **filters)


def _splits(root: Path, splits: Sequence[str] | None, layout: str) -> list[str]:
    """The splits to read: those named, or every split whose folder / pickle is under ``root``."""
    if splits is not None:
        return [normalize_split(s, "load_3dpw(splits)") for s in splits]
    present = [s for s, d in SPLIT_DIRS.items()
               if (layout != "poseembroider" and (root / "sequenceFiles" / d).is_dir())
               or (layout != "sequences" and (root / f"3dpw_{d}.pkl").is_file())]
    if not present:
        raise LoaderError(f"{root}: no 3DPW split found (sequenceFiles/{{train,validation,test}}/ or "
                          f"3dpw_{{train,validation,test}}.pkl)")
    return present


def _load_sequence(path: Path, root: Path, split: str, caption_fn: CaptionFn, stride: int,
                   image_format: str, joints_fn: JointsFn | None, report: LoadReport, *, scale_factor: float,
                   min_joints: int, min_box: float, max_overlap: float | None) -> Iterator[dict[str, Any]]:
    seq = read_sequence(path)
    name = seq["sequence"]
    frames = range(0, len(seq["cam_poses"]), stride)
    flip = rot_x(math.pi)
    selected: list[tuple[int, int, np.ndarray, np.ndarray]] = []  # person, t, box, pre_rot
    dropped: dict[str, int] = defaultdict(int)
    for t in frames:
        img_path = root / "imageFiles" / name / f"image_{t:05d}.jpg"
        cam_ok = [p for p in range(len(seq["poses"])) if seq["valid"][p][t]]
        people = [p for p in cam_ok if seq["detected"][p][t]]
        dropped["invalid camera"] += len(seq["poses"]) - len(cam_ok)
        dropped["no 2D keypoints"] += len(cam_ok) - len(people)
        if not people:
            continue
        size = crops.image_size(str(img_path), f"image of {path} frame {t}")
        cam = seq["cam_poses"][t]
        pts = [seq["joints"][p][t].reshape(24, 3) for p in people]
        uvs = [project(x, cam, seq["K"]) for x in pts]
        depths = np.array([float(x[0] @ cam[2, :3] + cam[2, 3]) for x in pts])  # camera z of the pelvis
        n_in = np.array([int(crops.in_frame(uv[:NUM_BODY_JOINTS], *size).sum()) for uv in uvs])
        for p, (box, reason) in zip(people, select_people(
                [crops.tight_box(uv, *size) for uv in uvs], depths, n_in, size, scale_factor=scale_factor,
                min_joints_in_frame=min_joints, min_box_size=min_box, max_overlap=max_overlap)):
            if reason is None:
                selected.append((p, t, box, flip @ cam[:3, :3]))
            else:
                dropped[reason] += 1
    if any(dropped.values()):
        log.info("%s: dropped %s", path, dict(dropped))
    for reason, n in dropped.items():
        report.skip(f"3DPW people-frames: {reason}", n)
    if not selected:
        return
    raw = np.stack([seq["poses"][p][t][: 3 * NUM_BODY_JOINTS].reshape(NUM_BODY_JOINTS, 3)
                    for p, t, _, _ in selected])
    canon, yaws = canonicalize(raw, pre_rot=np.stack([r for *_, r in selected]))
    joints = compute_joints(joints_fn, canon)
    cache: tuple[int, Any] | None = None
    for k, (p, t, box, _) in enumerate(selected):
        frame = t
        if cache is None or cache[0] != t:
            img_path = root / "imageFiles" / name / f"image_{t:05d}.jpg"
            cache = (t, crops.load_image(str(img_path), f"image of {path} frame {t}"))
        image = crops.encode_image(crops.crop_person(cache[1], box), image_format)
        where = f"{path}: person {p} frame {frame}"
        texts = caption_fields(caption_fn(canon[k]), f"{where}: caption_fn")
        meta = {"sequence": name, "person": p, "frame": frame, "img_frame_id": int(seq["frame_ids"][t]),
                "box": box.tolist(),
                "gender": seq["genders"][p] if p < len(seq["genders"]) else "",
                "source_betas": seq["betas"][p].reshape(-1).tolist(), "yaw_removed": float(yaws[k]),
                "frame_convention": "camera", "scale_factor": scale_factor, "max_overlap": max_overlap}
        yield {"id": f"3dpw:{name}:{p}:{frame}", "pose": canon[k].reshape(-1), "shape": [0.0] * 10,
               "shape_space": "smplx-betas", "joints": joints[k].reshape(-1), "image": image,
               "image_path": None, **texts, "family": "", "split": split, "source": "3dpw",
               "meta": to_meta(meta)}


def read_pe_pickle(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read and check a PoseEmbroider ``3dpw_{split}.pkl``; errors name the file, image and field.

    Returns ``{img_path: {"focal", "princpt", "humans": [{"pose" (22, 3), "shape" (K,),
    "kps" (J, 2), "transl" (3,) or None}]}}``.
    """
    path = Path(path)
    data = safe_load_pickle(path)
    if not isinstance(data, Mapping):
        raise LoaderError(f"{path}: expected a dict {{img_path: record}}, got {type(data).__name__}")
    if SEQUENCE_KEYS & {k for k in data if isinstance(k, str)}:
        raise LoaderError(f"{path}: this is one 3DPW sequence file; give the 3DPW folder (the one holding "
                          f"sequenceFiles/ and imageFiles/), e.g. {path.parents[2] if len(path.parents) > 2 else path.parent}")
    out: dict[str, dict[str, Any]] = {}
    for img, rec in data.items():
        img = img.decode("latin1") if isinstance(img, bytes) else str(img)
        where = f"{path}: image {img!r}"
        if not isinstance(rec, Mapping):
            raise LoaderError(f"{where}: expected a dict record, got {type(rec).__name__}")
        humans = rec.get("humans")
        if not isinstance(humans, (list, tuple)):
            raise LoaderError(f"{where}: field 'humans' must be a list, got {type(humans).__name__}")
        parsed = []
        for i, hu in enumerate(humans):
            hw = f"{where}: human {i}"
            if not isinstance(hu, Mapping):
                raise LoaderError(f"{hw}: expected a dict, got {type(hu).__name__}")
            root_pose = get_array(hu, "smplx_root_pose", hw).reshape(-1)
            body_pose = get_array(hu, "smplx_body_pose", hw).reshape(-1)
            if root_pose.size != 3 or body_pose.size != 3 * (NUM_BODY_JOINTS - 1):
                raise LoaderError(f"{hw}: fields 'smplx_root_pose'/'smplx_body_pose' have {root_pose.size}/"
                                  f"{body_pose.size} values, expected 3/{3 * (NUM_BODY_JOINTS - 1)}")
            kps = get_array(hu, "smplx_pose2d", hw, ndim=2, last=(2, 3), finite=False)
            if len(kps) < NUM_BODY_JOINTS:
                raise LoaderError(f"{hw}: field 'smplx_pose2d' has {len(kps)} keypoints, expected >= {NUM_BODY_JOINTS}")
            transl = get_array(hu, "smplx_transl", hw).reshape(-1) if "smplx_transl" in hu else None
            if transl is not None and transl.size != 3:
                raise LoaderError(f"{hw}: field 'smplx_transl' has {transl.size} values, expected 3")
            parsed.append({"pose": np.concatenate([root_pose, body_pose]).reshape(NUM_BODY_JOINTS, 3),
                           "shape": get_array(hu, "smplx_shape", hw).reshape(-1), "kps": kps[:, :2],
                           "transl": transl})
        cam = {k: get_array(rec, k, where).reshape(-1).tolist() for k in ("focal", "princpt") if k in rec}
        out[img] = {**cam, "humans": parsed}
    return out


def _load_pe_pickle(path: Path, image_root: Path, split: str, caption_fn: CaptionFn, image_format: str,
                    joints_fn: JointsFn | None, *, scale_factor: float, min_joints: int, min_box: float,
                    max_overlap: float | None) -> Iterator[dict[str, Any]]:
    records = read_pe_pickle(path)
    selected: list[tuple[str, int, np.ndarray]] = []  # img_path, human, box
    dropped: dict[str, int] = defaultdict(int)
    unchecked = 0  # images with several humans but no smplx_transl: overlap30 cannot be checked
    for img, rec in sorted(records.items()):
        humans = rec["humans"]
        if not humans:
            continue
        size = crops.image_size(str(image_root / img), f"image {img!r} of {path}")
        depths = None
        if max_overlap is not None and all(h["transl"] is not None for h in humans):
            depths = np.array([h["transl"][2] for h in humans])
        elif max_overlap is not None and len(humans) > 1:
            unchecked += 1
        n_in = np.array([int(crops.in_frame(h["kps"][:NUM_BODY_JOINTS], *size).sum()) for h in humans])
        for i, (box, reason) in enumerate(select_people(
                [crops.tight_box(h["kps"], *size) for h in humans], depths, n_in, size,
                scale_factor=scale_factor, min_joints_in_frame=min_joints, min_box_size=min_box,
                max_overlap=max_overlap if depths is not None else None)):
            if reason is None:
                selected.append((img, i, box))
            else:
                dropped[reason] += 1
    if dropped:
        log.info("%s: dropped %s", path, dict(dropped))
    if unchecked:
        log.warning("%s: overlap filter skipped for %d images whose humans lack 'smplx_transl'", path, unchecked)
    if not selected:
        return
    raw = np.stack([records[img]["humans"][i]["pose"] for img, i, _ in selected])
    # PoseEmbroider: Rx(-pi/2) (camera -> z-up), then our z-up -> y-up turn Rx(-pi/2)
    canon, yaws = canonicalize(raw, pre_rot=rot_x(-math.pi / 2) @ rot_x(-math.pi / 2))
    joints = compute_joints(joints_fn, canon)
    cache: tuple[str, Any] | None = None
    for k, (img, i, box) in enumerate(selected):
        if cache is None or cache[0] != img:
            cache = (img, crops.load_image(str(image_root / img), f"image {img!r} of {path}"))
        where = f"{path}: image {img!r} human {i}"
        texts = caption_fields(caption_fn(canon[k]), f"{where}: caption_fn")
        betas = records[img]["humans"][i]["shape"]
        shape = np.zeros(10)
        shape[: min(10, len(betas))] = betas[:10]
        meta = {"img_path": img, "human": i, "box": box.tolist(), "yaw_removed": float(yaws[k]),
                "extra_betas": betas[10:].tolist(), "focal": records[img].get("focal"),
                "princpt": records[img].get("princpt"), "frame_convention": "camera", "layout": "poseembroider",
                "scale_factor": scale_factor, "max_overlap": max_overlap}
        yield {"id": f"3dpw:{img}:{i}", "pose": canon[k].reshape(-1), "shape": shape, "shape_space": "smplx-betas",
               "joints": joints[k].reshape(-1), "image": crops.encode_image(crops.crop_person(cache[1], box), image_format),
               "image_path": None, **texts, "family": "", "split": split, "source": "3dpw",
               "meta": to_meta(meta)}
