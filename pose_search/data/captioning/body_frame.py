"""Body measurements the everyday posture predicates are written with (numpy, batched).

Joints ``(N, 22, 3)``: SMPL-X body joints in metres, canonical frame of
:mod:`pose_search.body.convention` (**+y up, the body faces +z, +x is the body's own left**,
heading removed). Joints carry no floor: :func:`ground` is the lowest joint of each pose, as for
PoseScript's on-ground code. Sides are ``"left"`` / ``"right"``, always the body's own.
"""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from pose_search.body.convention import JOINT_INDEX, MIRROR, NUM_BODY_JOINTS
from pose_search.data.captioning.operators import validate_joints

SIDES = ("left", "right")
SIGN = {"left": 1.0, "right": -1.0}  # +x is the body's own left
OTHER = {"left": "right", "right": "left"}


def check_joints(joints: np.ndarray) -> np.ndarray:
    """``(N, 22|52, 3)`` or ``(22, 3)`` -> ``(N, 22, 3)`` float64; ``ValueError`` otherwise."""
    return validate_joints(joints)[:, :NUM_BODY_JOINTS]


# Predicates call one another (standing needs "not kneeling", kneeling needs "not running", ...):
# results are memoised per (predicate, side, joints bytes) so each is computed once per batch.
_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()
_CACHE_SIZE = 2048
F = TypeVar("F", bound=Callable[..., np.ndarray])


def memoised(fn: F) -> F:
    """Cache a predicate ``fn(joints, *args) -> (N,)`` on the joints' bytes and ``args``; returns
    a copy each time, so callers may modify the result in place."""

    @functools.wraps(fn)
    def wrapper(joints: np.ndarray, *args: str) -> np.ndarray:
        j = check_joints(joints)
        digest = hashlib.blake2b(j.tobytes(), digest_size=16).digest()
        key = (fn.__module__, fn.__qualname__, args, j.shape, digest)
        hit = _CACHE.get(key)
        if hit is None:
            hit = _CACHE[key] = fn(j, *args)
            if len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
        return hit.copy()

    return wrapper  # type: ignore[return-value]


def check_side(side: str) -> str:
    """``side`` itself when it is ``"left"`` or ``"right"``; ``ValueError`` otherwise."""
    if side not in SIGN:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return side


def mirror_joints(joints: np.ndarray) -> np.ndarray:
    """Left/right mirror of joints ``(N, 22, 3)``: swap the sides and negate x (the joint-space
    twin of :func:`pose_search.data.pose_builder.mirror_pose`)."""
    out = check_joints(joints)[:, list(MIRROR)].copy()
    out[..., 0] = -out[..., 0]
    return out


def joint(joints: np.ndarray, name: str) -> np.ndarray:
    """One joint of every pose: ``(N, 3)``."""
    return joints[:, JOINT_INDEX[name]]


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` ``(..., 3)`` normalised along the last axis."""
    return v / np.linalg.norm(v, axis=-1, keepdims=True).clip(1e-9)


def inner_angle(joints: np.ndarray, a: str, b: str, c: str) -> np.ndarray:
    """Angle ``(N,)`` in degrees at joint ``b`` between b->a and b->c (180 = straight)."""
    u = unit(joint(joints, a) - joint(joints, b))
    v = unit(joint(joints, c) - joint(joints, b))
    return np.degrees(np.arccos(np.clip((u * v).sum(-1), -1.0, 1.0)))


def ground(joints: np.ndarray) -> np.ndarray:
    """Height ``(N,)`` of the lowest joint: the floor, as far as the joints tell."""
    return joints[..., 1].min(-1)


def height(joints: np.ndarray, name: str) -> np.ndarray:
    """Height ``(N,)`` of a joint above :func:`ground`."""
    return joint(joints, name)[:, 1] - ground(joints)


def foot_height(joints: np.ndarray, side: str) -> np.ndarray:
    """Height ``(N,)`` above the ground of the lower of one foot's ankle and toe joints."""
    low = np.minimum(joint(joints, f"{side}_ankle")[:, 1], joint(joints, f"{side}_foot")[:, 1])
    return low - ground(joints)


def trunk_axis(joints: np.ndarray) -> np.ndarray:
    """Unit pelvis -> neck direction ``(N, 3)``."""
    return unit(joint(joints, "neck") - joint(joints, "pelvis"))


def left_axis(joints: np.ndarray) -> np.ndarray:
    """Unit direction ``(N, 3)`` of the body's own left (mean of the hip and shoulder lines)."""
    hips = joint(joints, "left_hip") - joint(joints, "right_hip")
    shoulders = joint(joints, "left_shoulder") - joint(joints, "right_shoulder")
    return unit(unit(hips) + unit(shoulders))


def chest_normal(joints: np.ndarray) -> np.ndarray:
    """Unit direction ``(N, 3)`` the front of the body faces: left x up (as x cross y = z)."""
    return unit(np.cross(left_axis(joints), trunk_axis(joints)))


def trunk_tilt(joints: np.ndarray) -> np.ndarray:
    """Angle ``(N,)`` in degrees of the trunk from vertical (0 upright, 90 horizontal)."""
    return np.degrees(np.arccos(np.clip(trunk_axis(joints)[:, 1], -1.0, 1.0)))


def forward_lean(joints: np.ndarray) -> np.ndarray:
    """Lean ``(N,)`` in degrees of the trunk towards the front (+z; negative: backwards)."""
    t = trunk_axis(joints)
    return np.degrees(np.arctan2(t[:, 2], t[:, 1]))


def side_lean(joints: np.ndarray) -> np.ndarray:
    """Lean ``(N,)`` in degrees of the upper body (pelvis -> head) towards the body's left."""
    t = unit(joint(joints, "head") - joint(joints, "pelvis"))
    return np.degrees(np.arcsin(np.clip(t[:, 0], -1.0, 1.0)))


def knee_angle(joints: np.ndarray, side: str) -> np.ndarray:
    """Inner knee angle ``(N,)`` in degrees (180 = straight leg)."""
    return inner_angle(joints, f"{side}_hip", f"{side}_knee", f"{side}_ankle")


def elbow_angle(joints: np.ndarray, side: str) -> np.ndarray:
    """Inner elbow angle ``(N,)`` in degrees (180 = straight arm)."""
    return inner_angle(joints, f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist")


def thigh_direction(joints: np.ndarray, side: str) -> np.ndarray:
    """Unit hip -> knee direction ``(N, 3)``."""
    return unit(joint(joints, f"{side}_knee") - joint(joints, f"{side}_hip"))


def thigh_lift(joints: np.ndarray, side: str) -> np.ndarray:
    """Angle ``(N,)`` in degrees of the thigh from hanging straight down (90 = level)."""
    return np.degrees(np.arccos(np.clip(-thigh_direction(joints, side)[:, 1], -1.0, 1.0)))


def arm_direction(joints: np.ndarray, side: str) -> np.ndarray:
    """Unit shoulder -> wrist direction ``(N, 3)``."""
    return unit(joint(joints, f"{side}_wrist") - joint(joints, f"{side}_shoulder"))


def arm_elevation(joints: np.ndarray, side: str) -> np.ndarray:
    """Elevation ``(N,)`` in degrees of shoulder -> wrist above the horizontal (-90 hanging)."""
    return np.degrees(np.arcsin(np.clip(arm_direction(joints, side)[:, 1], -1.0, 1.0)))


def outward(v: np.ndarray, side: str) -> np.ndarray:
    """The x component ``(N,)`` of ``v`` ``(N, 3)`` pointing out of the body on ``side``."""
    return SIGN[side] * v[:, 0]


def sideways_share(v: np.ndarray, side: str) -> np.ndarray:
    """Cosine ``(N,)`` between the horizontal part of ``v`` ``(N, 3)`` and "out on ``side``"."""
    horiz = np.linalg.norm(v[:, [0, 2]], axis=-1).clip(1e-9)
    return outward(v, side) / horiz


def ahead_share(v: np.ndarray) -> np.ndarray:
    """Cosine ``(N,)`` between the horizontal part of ``v`` ``(N, 3)`` and straight ahead (+z)."""
    horiz = np.linalg.norm(v[:, [0, 2]], axis=-1).clip(1e-9)
    return v[:, 2] / horiz


def trunk_centre(joints: np.ndarray) -> np.ndarray:
    """Rough centre of mass ``(N, 3)`` of the trunk: mean of pelvis, spine3 and both hips."""
    return np.mean([joint(joints, n) for n in ("pelvis", "spine3", "left_hip", "right_hip")],
                   axis=0)


def upright_joints(joints: np.ndarray) -> np.ndarray:
    """Joints ``(N, 22, 3)`` turned about the pelvis by the smallest rotation that makes each
    trunk vertical (pelvis -> neck along +y): a lying body stood up, to read its arms in its own
    frame. Left stays left (the turn is a proper rotation; it commutes with the x mirror)."""
    j = check_joints(joints)
    t = trunk_axis(j)
    up = np.array([0.0, 1.0, 0.0])
    axis = np.cross(t, up)  # (N, 3), |axis| = sin(angle)
    s = np.linalg.norm(axis, axis=-1)
    c = t[:, 1]
    k = np.where(s[:, None] > 1e-9, axis / s.clip(1e-9)[:, None], np.array([1.0, 0.0, 0.0]))
    angle = np.arctan2(s, c)  # 0..pi; upside down turns about x
    kx = np.zeros((len(j), 3, 3))
    kx[:, 0, 1], kx[:, 0, 2], kx[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    kx[:, 1, 0], kx[:, 2, 0], kx[:, 2, 1] = k[:, 2], -k[:, 1], k[:, 0]
    sin, cos = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    rot = np.eye(3) + sin * kx + (1.0 - cos) * (kx @ kx)  # Rodrigues
    pelvis = j[:, :1]
    return np.einsum("nij,nkj->nki", rot, j - pelvis) + pelvis
