"""Pose files in, mesh files out."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from pose_search.body.convention import validate_pose


def load_pose_file(path: str | Path) -> np.ndarray:
    """Read one ``(22, 3)`` canonical pose from ``.npy`` or ``.npz`` (key ``pose``, or SMPL-X
    style ``global_orient`` + ``body_pose``). Never unpickles."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pose file {str(path)!r} does not exist")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(f"pose file {str(path)!r} is not a readable .npy/.npz ({exc})") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            if "pose" in data.files:
                arr = data["pose"]
            elif {"global_orient", "body_pose"} <= set(data.files):
                arr = np.concatenate([data["global_orient"].reshape(-1)[:3], data["body_pose"].reshape(-1)[:63]])
            else:
                raise ValueError(
                    f"pose file {str(path)!r} has no 'pose' (or 'global_orient' + 'body_pose') "
                    f"array; found: {', '.join(data.files) or 'nothing'}"
                )
    else:
        arr = data
    pose = validate_pose(arr, what=f"pose file {str(path)!r}")
    if pose.shape[0] != 1:
        raise ValueError(f"pose file {str(path)!r} holds {pose.shape[0]} poses; expected one")
    return pose[0].numpy()


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
