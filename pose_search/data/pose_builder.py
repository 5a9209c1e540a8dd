"""A small kinematic pose builder used by the synthetic pose families.

Poses are built as local rotation matrices ``(22, 3, 3)`` (SMPL-X convention, see
:mod:`pose_search.body.convention`: +y up, +z forward, +x the body's left) by giving *bone
directions* rather than angles: ``arm(side, upper_dir, elbow=deg)`` points the upper arm along
``upper_dir`` and bends the elbow (a hinge) by ``elbow`` degrees; the hinge plane is either the
natural one (the rest flexion direction carried by the minimal swing) or the one containing
``bend_dir`` / ``lower``. Directions are expressed in the ``body`` frame (the pelvis' global frame,
default), the ``world`` frame, or the ``chest`` frame (spine3).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from pose_search.body.convention import JOINT_INDEX, MIRROR, NUM_BODY_JOINTS, PARENTS
from pose_search.body.rotations import roma

_EYE = np.eye(3)
# Rest bone axis and rest flexion direction (where the hinge bends the child) per limb.
_LEG_B, _LEG_F = np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, -1.0])
_ARM_F = np.array([0.0, 0.0, 1.0])


def rot(axis: str | np.ndarray, deg: float) -> np.ndarray:
    """Rotation matrix ``(3, 3)`` of ``deg`` degrees about ``axis`` ('x', 'y', 'z' or a vector)."""
    t = math.radians(deg)
    c, s = math.cos(t), math.sin(t)
    if isinstance(axis, str):
        if axis == "x":
            return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
        if axis == "y":
            return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    x, y, z = (float(v) for v in axis)
    n = math.sqrt(x * x + y * y + z * z)
    x, y, z = x / n, y / n, z / n
    k = 1.0 - c
    return np.array([
        [c + x * x * k, x * y * k - z * s, x * z * k + y * s],
        [y * x * k + z * s, c + y * y * k, y * z * k - x * s],
        [z * x * k - y * s, z * y * k + x * s, c + z * z * k],
    ])


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two ``(3,)`` vectors (faster than ``np.cross`` for single vectors)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimal rotation ``(3, 3)`` taking unit vector ``a`` onto unit vector ``b``."""
    c = float(np.dot(a, b))
    axis = cross(a, b)
    n = math.sqrt(float(np.dot(axis, axis)))
    if n < 1e-9:
        if c > 0:
            return _EYE.copy()
        perp = cross(a, _EYE[0] if abs(a[0]) < 0.9 else _EYE[1])
        return rot(perp, 180.0)
    return rot(axis, math.degrees(math.atan2(n, c)))


def sph(elev: float, azim: float) -> np.ndarray:
    """Unit direction ``(3,)``: ``elev`` degrees above the horizontal, ``azim`` degrees from +z
    (forward) towards +x (the body's left)."""
    e, a = math.radians(elev), math.radians(azim)
    return np.array([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])


def down_dir(flex: float, abd: float, side: int) -> np.ndarray:
    """Direction ``(3,)`` of a limb hanging down, swung ``flex`` degrees forward (negative:
    backward) and ``abd`` degrees outward on ``side`` (+1 left, -1 right)."""
    return rot("x", -flex) @ rot("z", side * abd) @ _LEG_B


def unit(v: np.ndarray | list[float] | tuple[float, ...]) -> np.ndarray:
    """``v`` normalised to unit length."""
    v = np.asarray(v, dtype=np.float64)
    return v / math.sqrt(float(np.dot(v, v)))


def mirror_pose(pose: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Left/right mirror of poses ``(..., 22, 3)``: reflect x (negate the y and z components of
    every rotation vector) and swap the left and right joints."""
    idx = list(MIRROR)
    out = pose[..., idx, :].clone() if torch.is_tensor(pose) else np.array(pose)[..., idx, :]
    out[..., 1:] = -out[..., 1:]
    return out


def side_name(side: int) -> str:
    """'left' for +1, 'right' for -1."""
    return "left" if side > 0 else "right"


class PoseBuilder:
    """Mutable pose under construction; joints must be set parent first (root, spine, limbs)."""

    def __init__(self) -> None:
        self.local = np.tile(_EYE, (NUM_BODY_JOINTS, 1, 1))

    def glob(self, j: int) -> np.ndarray:
        """World rotation ``(3, 3)`` of joint ``j``'s frame."""
        g = self.local[j]
        while PARENTS[j] >= 0:
            j = PARENTS[j]
            g = self.local[j] @ g
        return g

    def set(self, name: str, r: np.ndarray) -> PoseBuilder:
        """Set the local rotation ``(3, 3)`` of a joint by name."""
        self.local[JOINT_INDEX[name]] = r
        return self

    def root(self, r: np.ndarray) -> PoseBuilder:
        """Global orientation (body tilt; the heading is added by the sampler)."""
        return self.set("pelvis", r)

    def spine(self, bend: float = 0.0, side: float = 0.0, twist: float = 0.0) -> PoseBuilder:
        """Bend forward (deg, <0 backward), sideways towards the body's left, and twist towards
        the left, spread over spine1..3 (40/30/30 %)."""
        for name, w in (("spine1", 0.4), ("spine2", 0.3), ("spine3", 0.3)):
            self.set(name, rot("x", w * bend) @ rot("z", -w * side) @ rot("y", w * twist))
        return self

    def head(self, nod: float = 0.0, turn: float = 0.0, tilt: float = 0.0) -> PoseBuilder:
        """Look down (nod > 0), turn towards the left, tilt towards the left; half neck, half head."""
        r = rot("x", 0.5 * nod) @ rot("z", -0.5 * tilt) @ rot("y", 0.5 * turn)
        return self.set("neck", r).set("head", r.copy())

    def collar(self, side: int, up: float = 0.0, fwd: float = 0.0) -> PoseBuilder:
        """Shrug (``up`` deg) and protract (``fwd`` deg) one collar bone."""
        return self.set(f"{side_name(side)}_collar", rot("z", side * up) @ rot("y", -side * fwd))

    def _frame(self, frame: str) -> np.ndarray:
        if frame == "world":
            return _EYE
        if frame == "chest":
            return self.glob(JOINT_INDEX["spine3"])
        return self.local[0]

    def _limb(self, upper: str, lower: str, b: np.ndarray, f: np.ndarray, d: np.ndarray,
              bend: float | None, twist: float, bend_dir: np.ndarray | None,
              lower_dir: np.ndarray | None, frame: str) -> None:
        ju = JOINT_INDEX[upper]
        gp = self.glob(PARENTS[ju])
        ref = self._frame(frame)
        dw = unit(ref @ d)
        hint = ref @ (lower_dir if lower_dir is not None else bend_dir) \
            if (lower_dir is not None or bend_dir is not None) else None
        fw = None
        if hint is not None:
            perp = hint - np.dot(hint, dw) * dw
            if float(np.dot(perp, perp)) > 1e-12:
                fw = unit(perp)
        if fw is None:
            fw = rot(dw, twist) @ swing(unit(gp @ b), dw) @ (gp @ f)
            fw = unit(fw - np.dot(fw, dw) * dw)
        h = cross(b, f)
        hw = cross(dw, fw)
        g_upper = np.stack([dw, hw, fw], 1) @ np.stack([b, h, f], 1).T
        self.local[ju] = gp.T @ g_upper
        if lower_dir is not None:
            lw = unit(ref @ lower_dir)
            bend = math.degrees(math.atan2(float(np.dot(lw, fw)), float(np.dot(lw, dw))))
        self.local[JOINT_INDEX[lower]] = rot(h, bend or 0.0)

    def arm(self, side: int, d: np.ndarray, elbow: float | None = 0.0, *, twist: float = 0.0,
            bend_dir: np.ndarray | None = None, lower: np.ndarray | None = None,
            frame: str = "body", wrist: tuple[float, float] = (0.0, 0.0)) -> PoseBuilder:
        """Point the upper arm along ``d`` and bend the elbow by ``elbow`` degrees (towards
        ``bend_dir``), or so that the forearm points along ``lower``."""
        s = side_name(side)
        b = np.array([float(side), 0.0, 0.0])
        self._limb(f"{s}_shoulder", f"{s}_elbow", b, _ARM_F, d, elbow, twist, bend_dir, lower, frame)
        return self.set(f"{s}_wrist", rot("y", -side * wrist[0]) @ rot("z", side * wrist[1]))

    def leg(self, side: int, d: np.ndarray, knee: float | None = 0.0, *, twist: float = 0.0,
            bend_dir: np.ndarray | None = None, lower: np.ndarray | None = None,
            frame: str = "body", ankle: float = 0.0) -> PoseBuilder:
        """Point the thigh along ``d`` and flex the knee by ``knee`` degrees (towards
        ``bend_dir``), or so that the shin points along ``lower``; ``ankle`` > 0 points the toes."""
        s = side_name(side)
        self._limb(f"{s}_hip", f"{s}_knee", _LEG_B, _LEG_F, d, knee, twist, bend_dir, lower, frame)
        return self.set(f"{s}_ankle", rot("x", ankle))

    def rotvec(self) -> np.ndarray:
        """The pose as axis-angle ``(22, 3)`` float64."""
        return roma.rotmat_to_rotvec(torch.from_numpy(self.local)).numpy()
