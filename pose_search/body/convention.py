"""The canonical pose convention shared by every part of pose-search.

A *pose* is SMPL-X's body pose: the global orientation followed by the 21 body joints, as
axis-angle vectors, shape ``(22, 3)`` (or ``(B, 22, 3)``). The rest pose (all zeros) is the
T-pose. Rotations are local, in world-aligned joint frames, composed root to leaf like SMPL-X.

The *canonical frame* is SMPL-X's model frame: **+y up, the body faces +z, +x is the body's own
left**. Every source (anny, SMPL-X files, BEDLAM, AMASS, 3DPW, our sampler) is converted into it,
and the heading (rotation of the global orientation about the vertical axis) is normalised away by
:func:`normalize_heading`, so captions and pairs never see the global turn.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from pose_search.body.rotations import roma

NUM_BODY_JOINTS = 22  # pelvis (global orientation) + 21 body joints

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

# Kinematic parent of each of the 22 body joints (-1 for the root), as in SMPL-X.
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

# Left/right mirror partner of each joint (itself for the central joints).
MIRROR: tuple[int, ...] = tuple(
    JOINT_INDEX[n.replace("left_", "TMP_").replace("right_", "left_").replace("TMP_", "right_")]
    for n in JOINT_NAMES
)

UP_AXIS = 1  # y
FORWARD_AXIS = 2  # z
LEFT_AXIS = 0  # x


def joint_index(name: str) -> int:
    """Index of a body joint by its SMPL-X name; a clear error for an unknown name."""
    try:
        return JOINT_INDEX[name]
    except KeyError:
        raise ValueError(
            f"unknown joint name {name!r}; expected one of: {', '.join(JOINT_NAMES)}"
        ) from None


def validate_pose(pose: np.ndarray | torch.Tensor, what: str = "pose") -> torch.Tensor:
    """Check and convert a pose to a float32 tensor of shape ``(B, 22, 3)``.

    Accepts ``(22, 3)``, ``(66,)``, ``(B, 22, 3)`` or ``(B, 66)``. Raises ``ValueError`` naming
    ``what`` for a wrong shape or for NaN/inf values.
    """
    if not torch.is_tensor(pose):
        try:
            arr = np.asarray(pose)
        except (TypeError, ValueError) as exc:  # ragged nested lists
            raise ValueError(f"{what}: expected an array of numbers ({exc})") from None
        if arr.dtype.kind not in "fiu":  # strings, objects, booleans, complex numbers
            raise ValueError(f"{what}: expected numbers, got dtype {arr.dtype}")
        pose = arr.astype(np.float32)  # any int / float type, any byte order (torch takes native only)
    t = torch.as_tensor(pose)
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"{what}: expected numbers, got dtype {t.dtype}")
    t = t.to(torch.float32)
    if t.ndim == 1 and t.shape[0] == 3 * NUM_BODY_JOINTS:
        t = t.reshape(1, NUM_BODY_JOINTS, 3)
    elif t.ndim == 2 and t.shape == (NUM_BODY_JOINTS, 3):
        t = t[None]
    elif t.ndim == 2 and t.shape[1] == 3 * NUM_BODY_JOINTS:
        t = t.reshape(-1, NUM_BODY_JOINTS, 3)
    elif not (t.ndim == 3 and t.shape[1:] == (NUM_BODY_JOINTS, 3)):
        raise ValueError(
            f"{what}: expected shape (22, 3), (66,), (B, 22, 3) or (B, 66) "
            f"(SMPL-X global orientation + 21 body joints, axis-angle), got {tuple(t.shape)}"
        )
    if not torch.isfinite(t).all():
        raise ValueError(f"{what}: contains NaN or inf values")
    return t


def global_rotations(pose: torch.Tensor) -> torch.Tensor:
    """World rotation of every joint frame: ``(B, 22, 3)`` axis-angle -> ``(B, 22, 3, 3)``."""
    local = roma.rotvec_to_rotmat(pose)
    out = [local[:, 0]]
    for j in range(1, NUM_BODY_JOINTS):
        out.append(out[PARENTS[j]] @ local[:, j])
    return torch.stack(out, dim=1)


def yaw_of(rotmat: torch.Tensor) -> torch.Tensor:
    """Heading angle (rotation about +y) of root rotations ``(B, 3, 3)`` -> ``(B,)`` radians.

    The heading is the direction of ``h = f_h - (f . up) u_h``, where ``f`` and ``u`` are the
    body's forward (+z) and up (+y) axes and ``_h`` their horizontal parts. For upright bodies
    this is where the body faces (the Euler yaw of ``R = Ry(yaw) Rx Rz``, as PoseScript uses,
    z-up there); for bodies lying on the back or front, where the facing direction is vertical
    and the Euler yaw undefined, it is the head-to-feet direction, so lying poses get a heading
    too. ``h`` turns with any rotation about +y (``yaw_of(Ry(a) R) = yaw_of(R) + a``) and only
    vanishes for upside-down bodies.
    """
    f, u = rotmat[:, :, 2], rotmat[:, :, 1]
    s = f[:, UP_AXIS : UP_AXIS + 1]
    h = f - s * u
    return torch.atan2(h[:, 0], h[:, 2])


def rot_y(angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrices about +y: ``(B,)`` radians -> ``(B, 3, 3)``."""
    c, s = torch.cos(angle), torch.sin(angle)
    z, o = torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack([c, z, s, z, o, z, -s, z, c], dim=-1).reshape(-1, 3, 3)


def normalize_heading(pose: torch.Tensor, yaw: torch.Tensor | None = None) -> torch.Tensor:
    """Remove the heading of ``(B, 22, 3)`` poses: the global orientation loses its yaw.

    ``yaw`` (``(B,)`` radians) overrides the angle removed; PoseFix in-sequence pairs rotate pose
    B by pose A's yaw so that the relative turn survives.
    """
    pose = validate_pose(pose)
    root = roma.rotvec_to_rotmat(pose[:, 0])
    if yaw is None:
        yaw = yaw_of(root)
    new_root = rot_y(-yaw.to(root.dtype)) @ root
    out = pose.clone()
    out[:, 0] = roma.rotmat_to_rotvec(new_root)
    return out


def zup_to_yup(pose: torch.Tensor) -> torch.Tensor:
    """Re-express poses whose global orientation is in a z-up world (AMASS) in the y-up frame."""
    pose = validate_pose(pose)
    rx = roma.rotvec_to_rotmat(torch.tensor([-math.pi / 2, 0.0, 0.0]))
    out = pose.clone()
    out[:, 0] = roma.rotmat_to_rotvec(rx @ roma.rotvec_to_rotmat(pose[:, 0]))
    return out
