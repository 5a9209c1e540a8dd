"""Pose files in, mesh files out."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pose_search.body.convention import NUM_BODY_JOINTS, validate_pose
from pose_search.body.safe_arrays import (
    ArrayFileError,
    ArrayLimits,
    finite_or_raise,
    names_text,
    read_array_file,
)
from pose_search.files import describe

POSE_FILE_SUFFIXES = (".npy", ".npz", ".json")
POSE_FILE_LIMITS = ArrayLimits(max_file_bytes=16 << 20, max_member_bytes=16 << 20, max_elements=2_000_000)
SMPLX_KEYS = ("global_orient", "body_pose")
CHECKED_KEYS = ("betas", "shape", "transl")  # read only to refuse NaN / inf and batch mismatches
ROOT, BODY = 3, 3 * (NUM_BODY_JOINTS - 1)  # values of the global orientation / of the 21 body joints


def load_pose_file(path: str | os.PathLike[str], name: str | None = None,
                   limits: ArrayLimits = POSE_FILE_LIMITS) -> np.ndarray:
    """Read one canonical pose ``(22, 3)`` from a pose or SMPL-X parameter file. Never unpickles.

    Accepted (the kind is told by the content; any byte order; ints or floats):

    * ``.npy``: ``(22, 3)`` / ``(66,)`` (global orientation + 21 body joints, axis-angle), or
      ``(21, 3)`` / ``(63,)``: SMPL-X's ``body_pose`` alone, given an identity root; a leading
      batch axis of 1 is allowed;
    * ``.npz``: member ``pose`` (same shapes), or SMPL-X parameters ``global_orient`` (``(3,)`` /
      ``(1, 3)``) + ``body_pose`` (``(63,)`` / ``(21, 3)`` / ``(1, 63)`` / ``(1, 21, 3)``);
      ``betas``, ``shape`` and ``transl`` are checked when present (finite, same batch size);
      other members are never opened;
    * ``.json``: a list of 22 lists of 3 numbers, or 66 numbers (or 21 x 3 / 63: body only), or an
      object with the keys above.

    Every problem is an :class:`~pose_search.body.safe_arrays.ArrayFileError` (a ``ValueError``)
    naming the file (``name``, else the shortened path); a missing file a ``FileNotFoundError``.
    """
    wanted = ("pose", *SMPLX_KEYS, *CHECKED_KEYS)
    found = read_array_file(path, wanted, what="pose file", limits=limits, name=name)
    where = f"pose file {name!r}" if name is not None else describe(path, "pose file")
    arrays = found.arrays
    if "" in arrays:
        poses = _poses(arrays[""], where)
    elif "pose" in arrays:
        poses = _poses(arrays["pose"], f"{where}, key 'pose'")
    elif all(k in arrays for k in SMPLX_KEYS):
        poses = _smplx_poses(arrays["global_orient"], arrays["body_pose"], where)
    else:
        raise ArrayFileError(f"{where} has no 'pose' (or 'global_orient' + 'body_pose') array; "
                             f"found: {names_text(found.members)}")
    for key in CHECKED_KEYS:
        if key in arrays:
            _check_extra(arrays[key], key, len(poses), where)
    if len(poses) != 1:
        raise ArrayFileError(f"{where} holds {len(poses)} poses; expected one")
    return validate_pose(poses.astype(np.float64), what=where)[0].numpy()  # any int or float type


def _poses(arr: np.ndarray, where: str) -> np.ndarray:
    """``(22, 3)``, ``(66,)``, ``(21, 3)``, ``(63,)``, with or without a batch axis -> ``(B, 22, 3)``."""
    shape = arr.shape
    if len(shape) >= 1 and shape[-1] in (ROOT + BODY, BODY) and len(shape) <= 2:
        flat = arr.reshape(-1, shape[-1])
    elif len(shape) in (2, 3) and shape[-2:] in ((NUM_BODY_JOINTS, 3), (NUM_BODY_JOINTS - 1, 3)):
        flat = arr.reshape(-1, shape[-2] * 3)
    else:
        raise ArrayFileError(
            f"{where}: expected shape (22, 3) or (66,) (SMPL-X global orientation + 21 body joints, axis-angle), "
            f"or (21, 3) / (63,) (body joints alone: identity root), got {shape}")
    flat = _numbers(flat, where)
    if flat.shape[1] == BODY:
        flat = np.concatenate([np.zeros((len(flat), ROOT), flat.dtype), flat], axis=1)
    return flat.reshape(-1, NUM_BODY_JOINTS, 3)


def _rows(arr: np.ndarray, width: int, key: str, where: str) -> np.ndarray:
    """A SMPL-X parameter as ``(B, width)``: ``(width,)``, ``(width // 3, 3)``, ``(B, width)`` or
    ``(B, width // 3, 3)``."""
    if (arr.ndim == 1 and arr.shape[0] == width) or (width > 3 and arr.shape == (width // 3, 3)):
        return _numbers(arr.reshape(1, width), f"{where}, key {key!r}")
    if (arr.ndim == 2 and arr.shape[1] == width) or (arr.ndim == 3 and arr.shape[1:] == (width // 3, 3)):
        return _numbers(arr.reshape(arr.shape[0], width), f"{where}, key {key!r}")
    joints = f", ({width // 3}, 3) or (B, {width // 3}, 3)" if width > 3 else ""
    raise ArrayFileError(f"{where}, key {key!r}: expected shape ({width},), (B, {width}){joints}, got {arr.shape}")


def _smplx_poses(global_orient: np.ndarray, body_pose: np.ndarray, where: str) -> np.ndarray:
    root = _rows(global_orient, ROOT, "global_orient", where)
    body = _rows(body_pose, BODY, "body_pose", where)
    if len(root) != len(body):
        raise ArrayFileError(f"{where}: 'global_orient' has {len(root)} rows but 'body_pose' {len(body)}; "
                             "the parameters of one batch must agree")
    return np.concatenate([root, body], axis=1).reshape(-1, NUM_BODY_JOINTS, 3)


def _check_extra(arr: np.ndarray, key: str, batch: int, where: str) -> None:
    """``betas`` / ``shape`` / ``transl``: numbers, finite, one row or one per pose."""
    at = f"{where}, key {key!r}"
    _numbers(arr, at)
    if arr.ndim > 2 or (key == "transl" and arr.shape[-1:] != (3,)):
        raise ArrayFileError(f"{at}: unexpected shape {arr.shape}")
    if arr.ndim == 2 and arr.shape[0] not in (1, batch):
        raise ArrayFileError(f"{at} has {arr.shape[0]} rows for {batch} pose(s); the parameters of one batch "
                             "must agree")


def _numbers(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.dtype.kind not in "fiu":
        raise ArrayFileError(f"{where}: expected numbers, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ArrayFileError(f"{where}: holds no values")
    return finite_or_raise(arr, where)


def check_pose_suffix(path: str | os.PathLike[str], shown: str | None = None) -> None:
    """ValueError unless ``path`` ends in ``.npy``, ``.npz`` or ``.json``."""
    if Path(path).suffix.lower() not in POSE_FILE_SUFFIXES:
        raise ArrayFileError(f"pose file {shown or Path(path).name!r}: expected a .npz (SMPL-X parameters or ours), "
                             ".npy or .json")


MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl")


def check_mesh_path(path: str | Path) -> Path:
    """``path`` as a Path; ValueError unless it names a mesh file trimesh writes (by its suffix)."""
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES or not path.stem:
        raise ValueError(f"mesh file {str(path)!r}: use .glb, .gltf, .obj, .ply or .stl")
    return path


def save_mesh(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """Write a mesh ``(V, 3)`` / ``(F, 3)`` with trimesh; the format follows the suffix."""
    import trimesh

    path = check_mesh_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    trimesh.Trimesh(vertices=vertices, faces=faces, process=False).export(path)
    return path
