"""Per-joint anatomical limits of SMPL-X body poses, as swing/twist bounds.

Decomposition
-------------
Every local rotation ``R_j`` (axis-angle, in the world-aligned rest frame of the joint's parent,
see :mod:`pose_search.body.convention`) is split as ``R = S . T`` where ``T`` is the *twist*: a
rotation about the joint's rest bone axis ``a_j`` (one of the canonical axes: ``y`` for the legs,
spine, neck and head, ``x`` for the collars and arms, ``z`` for the toes), and ``S`` the *swing*,
a rotation about an axis perpendicular to ``a_j`` (quaternion swing/twist split). The three
*components* of a joint are then, per canonical axis ``x, y, z``: the twist angle on the twist
axis, and the swing's rotation-vector coordinates on the two other axes. Limits are boxes
``lo <= component <= hi`` in degrees.

Signs (left side; the right side's bounds are the mirror image: ``x`` unchanged, ``y`` and ``z``
negated and swapped), e.g.:

* ``left_knee``: ``x`` = flexion (shin goes backward), 0..150 deg, hyperextension -5 deg.
* ``left_hip``: ``x`` < 0 is flexion (thigh forward), ``z`` > 0 abduction, ``y`` twist.
* ``left_shoulder``: ``z`` > 0 raises the arm, ``y`` < 0 brings it forward, ``x`` twist.
* ``left_elbow``: ``y`` < 0 is flexion (forearm forward in the T-pose), 0..150 deg.
* ``spine*``: ``x`` > 0 bends forward, ``z`` sideways, ``y`` twist.

The global orientation (pelvis) is unbounded. One coupling is modelled: the hips' external
rotation range grows with the swing (Codman's paradox: a flexed and abducted thigh, as in
cross-legged sitting, reads as a large twist about the rest axis): the external twist bound of
the hips is ``50 + 0.8 * |swing|`` degrees.
"""

from __future__ import annotations

import math

import torch

from pose_search.body.convention import JOINT_NAMES, MIRROR, NUM_BODY_JOINTS, validate_pose
from pose_search.body.rotations import roma

# Twist axis per joint kind (0 = x, 1 = y, 2 = z).
_X, _Y, _Z = 0, 1, 2

# (twist axis, (x_lo, x_hi), (y_lo, y_hi), (z_lo, z_hi)) in degrees, for central and left joints.
_LEFT_LIMITS: dict[str, tuple[int, tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "pelvis": (_Y, (-180.0, 180.0), (-180.0, 180.0), (-180.0, 180.0)),
    "left_hip": (_Y, (-140.0, 45.0), (-50.0, 50.0), (-40.0, 95.0)),
    "spine1": (_Y, (-30.0, 60.0), (-30.0, 30.0), (-30.0, 30.0)),
    "left_knee": (_Y, (-5.0, 155.0), (-40.0, 40.0), (-12.0, 12.0)),
    "spine2": (_Y, (-20.0, 35.0), (-25.0, 25.0), (-25.0, 25.0)),
    "left_ankle": (_Y, (-40.0, 60.0), (-35.0, 35.0), (-30.0, 30.0)),
    "spine3": (_Y, (-20.0, 35.0), (-25.0, 25.0), (-25.0, 25.0)),
    "left_foot": (_Z, (-45.0, 40.0), (-15.0, 15.0), (-20.0, 20.0)),
    "neck": (_Y, (-45.0, 55.0), (-60.0, 60.0), (-40.0, 40.0)),
    "left_collar": (_X, (-25.0, 25.0), (-30.0, 25.0), (-20.0, 40.0)),
    "head": (_Y, (-35.0, 35.0), (-45.0, 45.0), (-30.0, 30.0)),
    "left_shoulder": (_X, (-120.0, 110.0), (-150.0, 75.0), (-115.0, 135.0)),
    "left_elbow": (_X, (-70.0, 70.0), (-155.0, 5.0), (-15.0, 15.0)),
    "left_wrist": (_X, (-60.0, 60.0), (-80.0, 80.0), (-45.0, 45.0)),
}


def _build_tables() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Twist axis ``(22,)``, lower and upper bounds ``(22, 3)`` in radians for every joint."""
    axis = torch.zeros(NUM_BODY_JOINTS, dtype=torch.long)
    lo = torch.zeros(NUM_BODY_JOINTS, 3)
    hi = torch.zeros(NUM_BODY_JOINTS, 3)
    for j, name in enumerate(JOINT_NAMES):
        right = name.startswith("right_")
        key = JOINT_NAMES[MIRROR[j]] if right else name
        ax, *bounds = _LEFT_LIMITS[key]
        axis[j] = ax
        for c, (a, b) in enumerate(bounds):
            if right and c != 0:
                a, b = -b, -a
            lo[j, c], hi[j, c] = math.radians(a), math.radians(b)
    return axis, lo, hi


TWIST_AXIS, LIMITS_LO, LIMITS_HI = _build_tables()

# External-twist allowance per radian of swing (left hips: + twist is external; mirrored right).
_HIP_COUPLING = 0.8
_L_HIP, _R_HIP = JOINT_NAMES.index("left_hip"), JOINT_NAMES.index("right_hip")


def _bounds(comp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower/upper bounds ``(B, 22, 3)`` for components ``(B, 22, 3)`` (with the hip coupling)."""
    lo = LIMITS_LO.expand_as(comp).clone()
    hi = LIMITS_HI.expand_as(comp).clone()
    for j, sign in ((_L_HIP, 1.0), (_R_HIP, -1.0)):
        sw = torch.sqrt(comp[:, j, 0] ** 2 + comp[:, j, 2] ** 2)
        if sign > 0:
            hi[:, j, 1] = hi[:, j, 1] + _HIP_COUPLING * sw
        else:
            lo[:, j, 1] = lo[:, j, 1] - _HIP_COUPLING * sw
    return lo, hi


def limits_table_degrees() -> dict[str, tuple[str, list[tuple[float, float]]]]:
    """Human-readable table: joint name -> (twist axis name, [(lo, hi)] for x, y, z in degrees)."""
    return {
        name: (
            "xyz"[int(TWIST_AXIS[j])],
            [
                (round(math.degrees(float(LIMITS_LO[j, c])), 3),
                 round(math.degrees(float(LIMITS_HI[j, c])), 3))
                for c in range(3)
            ],
        )
        for j, name in enumerate(JOINT_NAMES)
    }


def swing_twist_components(pose: torch.Tensor) -> torch.Tensor:
    """Swing/twist components of poses ``(B, 22, 3)`` axis-angle -> ``(B, 22, 3)`` radians.

    Component ``k`` on the joint's twist axis is the twist angle in ``(-pi, pi]``; the two others
    are the swing rotation vector's coordinates.
    """
    q = roma.rotvec_to_unitquat(pose)  # (B, 22, 4) xyzw
    q = torch.where(q[..., 3:] < 0, -q, q)
    axis = TWIST_AXIS.to(pose.device)
    onehot = torch.nn.functional.one_hot(axis, 3).to(pose.dtype)  # (22, 3)
    qa = (q[..., :3] * onehot).sum(-1)  # (B, 22)
    w = q[..., 3]
    norm = torch.sqrt(qa * qa + w * w)
    safe = norm > 1e-8
    tw = torch.zeros_like(q)
    tw[..., 3] = torch.where(safe, w / norm.clamp_min(1e-8), torch.ones_like(w))
    tw[..., :3] = onehot * torch.where(safe, qa / norm.clamp_min(1e-8), torch.zeros_like(qa))[..., None]
    swing = roma.quat_product(q, roma.quat_conjugation(tw))
    swing_rv = roma.unitquat_to_rotvec(swing) * (1.0 - onehot)
    twist_angle = 2.0 * torch.atan2(tw[..., :3].sum(-1), tw[..., 3])
    twist_angle = torch.remainder(twist_angle + math.pi, 2 * math.pi) - math.pi
    return swing_rv + onehot * twist_angle[..., None]


def components_to_pose(comp: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`swing_twist_components`: ``(B, 22, 3)`` components -> axis-angle."""
    onehot = torch.nn.functional.one_hot(TWIST_AXIS.to(comp.device), 3).to(comp.dtype)
    swing = roma.rotvec_to_unitquat(comp * (1.0 - onehot))
    twist = roma.rotvec_to_unitquat(comp * onehot)
    return roma.unitquat_to_rotvec(roma.quat_product(swing, twist))


def within_limits(pose: torch.Tensor, tol_deg: float = 1.0) -> torch.Tensor:
    """Boolean mask ``(B,)``: every body joint of each pose ``(B, 22, 3)`` is inside its box.

    ``tol_deg`` is a slack added to every bound (float round-off, tiny noise).
    """
    p = validate_pose(pose)
    comp = swing_twist_components(p)
    lo, hi = _bounds(comp)
    tol = math.radians(tol_deg)
    ok = (comp >= lo - tol) & (comp <= hi + tol)
    return ok[:, 1:].all(dim=-1).all(dim=-1)


def violation_degrees(pose: torch.Tensor) -> torch.Tensor:
    """Per joint worst excess over the bounds ``(B, 22)`` in degrees (0 where inside)."""
    comp = swing_twist_components(validate_pose(pose))
    lo, hi = _bounds(comp)
    excess = torch.maximum(lo - comp, comp - hi).clamp_min(0.0).amax(-1)
    excess[:, 0] = 0.0
    return torch.rad2deg(excess)


def clamp_to_limits(pose: torch.Tensor) -> torch.Tensor:
    """Project poses ``(B, 22, 3)`` into the limits (component-wise clamp; root untouched)."""
    p = validate_pose(pose)
    comp = swing_twist_components(p)
    lo, hi = _bounds(comp)
    clamped = torch.maximum(torch.minimum(comp, hi), lo)
    out = components_to_pose(clamped)
    changed = (clamped != comp).any(-1, keepdim=True)
    out = torch.where(changed, out, p)
    out[:, 0] = p[:, 0]
    return out
