"""Hand-written pose properties, checked on joint positions: what the real-photo evaluation asks
of retrieved poses ("the person is upright", "both arms hang down", ...).

Joints ``(N, 22, 3)`` are in the canonical frame (+y up, the body faces +z, +x is the body's own
left; heading removed), e.g. :func:`pose_search.body.skeleton.forward_kinematics` of the poses.
Only properties that survive heading removal are here: "facing the camera" is not one of them.

    ok = check_property("arms_down", forward_kinematics(poses))   # (N,) bool
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from pose_search.body.convention import JOINT_INDEX

UPRIGHT_MAX_TILT_DEG = 30.0  # pelvis -> neck within this angle of vertical
LEVEL_MAX_DROP_M = 0.06  # shoulder heights differ by at most this
ARM_DOWN_MIN_DROP_M = 0.05  # elbow at least this far below its shoulder
IN_FRONT_MIN_M = 0.15  # wrist at least this far in front of its shoulder


def _j(joints: np.ndarray, name: str) -> np.ndarray:
    return joints[:, JOINT_INDEX[name]]


def upright(joints: np.ndarray) -> np.ndarray:
    """The trunk near vertical (pelvis -> neck within 30 degrees) and the head above both shoulders."""
    trunk = _j(joints, "neck") - _j(joints, "pelvis")
    cos = trunk[:, 1] / np.linalg.norm(trunk, axis=1).clip(1e-9)
    head = _j(joints, "head")[:, 1]
    return (cos >= np.cos(np.radians(UPRIGHT_MAX_TILT_DEG))) & (head > _j(joints, "left_shoulder")[:, 1]) & \
        (head > _j(joints, "right_shoulder")[:, 1])


def shoulders_level(joints: np.ndarray) -> np.ndarray:
    """The two shoulders at the same height (within 6 cm)."""
    return np.abs(_j(joints, "left_shoulder")[:, 1] - _j(joints, "right_shoulder")[:, 1]) <= LEVEL_MAX_DROP_M


def arms_down(joints: np.ndarray) -> np.ndarray:
    """Both elbows below their shoulders (by 5 cm or more)."""
    return np.all([_j(joints, f"{s}_elbow")[:, 1] <= _j(joints, f"{s}_shoulder")[:, 1] - ARM_DOWN_MIN_DROP_M
                   for s in ("left", "right")], axis=0)


def hands_raised_in_front(joints: np.ndarray) -> np.ndarray:
    """Both wrists in front of their shoulders (by 15 cm or more) and above their elbows."""
    return np.all([(_j(joints, f"{s}_wrist")[:, 2] >= _j(joints, f"{s}_shoulder")[:, 2] + IN_FRONT_MIN_M)
                   & (_j(joints, f"{s}_wrist")[:, 1] > _j(joints, f"{s}_elbow")[:, 1]) for s in ("left", "right")],
                  axis=0)


PROPERTIES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "upright": upright, "shoulders_level": shoulders_level, "arms_down": arms_down,
    "hands_raised_in_front": hands_raised_in_front,
}


def check_property(name: str, joints: np.ndarray | torch.Tensor) -> np.ndarray:
    """``(N,)`` bool: which of the bodies ``joints (N, 22, 3)`` have property ``name``."""
    if name not in PROPERTIES:
        raise ValueError(f"unknown pose property {name!r}; known: {', '.join(PROPERTIES)}")
    x = joints.detach().cpu().numpy() if isinstance(joints, torch.Tensor) else np.asarray(joints)
    if x.ndim != 3 or x.shape[1:] != (22, 3):
        raise ValueError(f"joints: expected (N, 22, 3), got {x.shape}")
    return np.asarray(PROPERTIES[name](x.astype(np.float64)), dtype=bool)
