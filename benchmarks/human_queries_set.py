"""Everyday search-box queries, each with a predicate on the returned poses' joints that says
whether a person would accept a pose as a correct result (the human-query benchmark,
``benchmarks/human_queries.py``).

The queries are written the way people type them (short and long, synonyms, left/right, activity
words, yoga-ish words, typos, no verb), not the way our captioners write. Each predicate is a pure
NumPy function ``joints (N, 22, 3) -> (N,) bool`` on the canonical joints (+y up, the body faces
+z, +x is the body's own left; e.g. :func:`pose_search.body.skeleton.forward_kinematics` of the
poses), composed with ``&``, ``|`` and ``~`` from the small atomic predicates below. They are
written from scratch here on purpose: nothing is taken from the captioner, which must not decide
what counts as right. The joints have no floor: "on the ground" means "near the body's lowest
joint", "lying" means "trunk and legs near horizontal".

Directions that depend on the body (in front, to the left, outwards) are measured in the body's
own frame (:func:`body_axes`), so the predicates do not need the heading removed; heights use
the world's +y.

    from benchmarks.human_queries_set import QUERIES
    ok = QUERIES[0].predicate(joints)   # (N,) bool
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pose_search.body.convention import JOINT_INDEX

Side = str  # "left" | "right"
SIDES: tuple[Side, Side] = ("left", "right")
_OTHER = {"left": "right", "right": "left"}

# ------------------------------------------------------------------ thresholds (metres, degrees)
# The neutral body: thigh and shin ~0.40 m each, upper arm ~0.25 m, forearm ~0.23 m, hips 0.20 m
# apart, head centre ~0.18 m above the shoulders (pose_search.body.skeleton.REST_JOINTS).
UPRIGHT_MAX_TILT = 30.0  # trunk (pelvis -> neck) within this of vertical: "standing up straight"
RAISED_MAX_TILT = 55.0  # trunk closer to vertical than to horizontal: the body is not lying
LYING_MAX_FROM_HORIZONTAL = 30.0  # trunk within this of horizontal: lying (or a plank)
LYING_MAX_LEG_DROP = 0.35  # lying: the ankles at most this far below the pelvis (legs along the
#                            floor; a body bent forward at the waist has them ~0.8 m below)
FACING_MIN_COS = np.cos(np.radians(45.0))  # "chest facing up / down": within 45 deg of it
SIDE_DOWN_MIN_COS = np.cos(np.radians(45.0))  # "on the side": shoulder line within 45 deg of vertical
SEATED_MAX_TILT = 45.0  # sitting: the trunk within this of vertical (leaning back on the hands
#                        included, slumped flat not)
ACTIVE_MAX_TILT = 40.0  # lunging, kicking, running, sitting cross-legged: trunk within this of
#                        vertical (a forward lean is normal there; more is a bend or a fall)
BENT_KNEE = 45.0  # a knee bent more than this is clearly "bent" to anyone
STRAIGHT_KNEE = 25.0  # a knee bent less than this reads as a straight leg
STRAIGHT_ELBOW = 35.0  # an elbow bent less than this reads as a straight arm
LEG_VERTICAL = 20.0  # hip -> ankle within this of straight down: a leg standing under the body
ON_GROUND_M = 0.10  # a knee this close to the lowest knee or ankle rests on the ground
SHIN_DOWN_MAX_M = 0.15  # a knee on the ground: its ankle at most this far below it (the shin
#                         lies along the floor or folds under; a squat's shin goes ~0.3 m down)
OFF_GROUND_M = 0.20  # a knee / ankle this far above the lowest one is lifted (a squat's knees
#                      are ~0.3 m up, a kneeling knee is down)
STANDING_MIN_HIP_HEIGHT = 0.65  # pelvis this far above each ankle: standing on the legs (legs
#                                 are ~0.8 m; sitting, squatting or lunging lowers it)
WIDE_STANCE_M = 0.75  # ankles this far apart sideways: "feet wide apart" (a relaxed stance puts
#                       them 0.3..0.6 m apart: the ankles sit 0.34 m apart in the rest pose)
TOGETHER_STANCE_M = 0.40  # ankles closer than this sideways: feet (about) together
STRIDE_M = 0.25  # ankles this far apart front-to-back: one foot in front of the other (relaxed
#                  standing stays under 0.2 m)
HAND_UP_M = 0.15  # wrist this far above its shoulder: the hand is raised
ABOVE_HEAD_M = 0.05  # wrist this far above the head centre: the hand is above the head
ARM_DOWN_M = 0.25  # wrist this far below its shoulder (and elbow below it): the arm hangs down
ELBOW_DOWN_M = 0.05  # a hanging arm's elbow at least this far below its shoulder
HAND_LOW_M = 0.20  # a hand this far below its shoulder is not raised (walking, the other arm
#                    while pointing)
ALONG_BODY_M = 0.20  # lying: a wrist this far past its shoulder along the trunk (arm stretched
#                      towards the feet or beyond the head)
HANGING_ELBOW = 50.0  # a hanging arm is fairly straight (hands on the hips fold it ~75 deg)
AT_SIDE_M = 0.30  # hanging wrist within this of the hip sideways: arm along the side, not out
FORWARD_M = 0.30  # wrist this far in front of its shoulder: the arm reaches forward
LEVEL_M = 0.25  # wrist within this of shoulder height: the arm is about horizontal
HELD_OUT_M = 0.40  # pointing: the wrist this far from the shoulder horizontally (arm ~0.48 m)
HELD_OUT_BELOW_M = 0.30  # pointing: the wrist at most this far below the shoulder ...
HELD_OUT_ABOVE_M = 0.35  # ... and at most this far above it (pointing up at something high)
POINTING_ELBOW = 25.0  # pointing: the arm straighter than this
RUN_STRIDE_M = 0.30  # running: the feet this far apart front to back (a walk: from 0.25 m)
HORIZONTAL_ARM = 30.0  # shoulder -> wrist within this of horizontal
SIDEWAYS_MIN_COS = np.cos(np.radians(45.0))  # arm within 45 deg of pointing straight out sideways
THIGH_LEVEL = 35.0  # thigh within this of horizontal: seated / lunging thigh
SHIN_VERTICAL = 35.0  # shin within this of vertical: feet under the knees (chair sitting)
FEET_FORWARD_M = 0.18  # sitting: ankles this far in front of the pelvis (a squat tucks them
#                        under it: < 0.16 m)
SQUAT_KNEE = 80.0  # squatting knees bend more than this
DEEP_SQUAT_KNEE = 110.0  # a deep squat's knees bend more than this (a chair sit: ~90)
SQUAT_HIP_OVER_KNEE_M = 0.20  # squat: pelvis at most this far above the knees (hips low)
DEEP_SQUAT_HIP_OVER_KNEE_M = 0.12  # deep squat: hips about level with (or below) the knees
SQUAT_HIP_OVER_ANKLE_M = 0.45  # squat: pelvis at most this far above the ankles (standing: ~0.8)
CROSSED_SHIN_M = 0.12  # cross-legged: each ankle this far inside (medial to) its knee
KNEES_OUT_M = 0.40  # cross-legged: knees this far apart sideways
CROSSED_THIGH = 40.0  # cross-legged: thighs raised more than this from hanging down (folded legs,
#                       not kneeling thighs)
HEELS_HIP_M = 0.30  # sitting on the heels: the pelvis at most this far above the ankles
LUNGE_BACK_FOOT_M = 0.30  # lunge: the back ankle this far behind the pelvis
LUNGE_FRONT_KNEE = 60.0  # lunge: the front knee bends more than this
KNEE_AHEAD_M = 0.15  # lunge / front kick: the knee this far in front of its hip
DEEP_LUNGE_HIP_HEIGHT = 0.55  # deep lunge: pelvis at most this high above the lowest joint
SIDE_LUNGE_FOOT_M = 0.40  # side lunge: the straight leg's ankle this far out from the pelvis
SIDE_LUNGE_HIP_M = 0.30  # side lunge: the pelvis this far above the bent leg's ankle (standing on
#                          it, not sitting on the floor)
KICK_THIGH = 45.0  # kick / knee lift: the thigh raised more than this from hanging down
KNEE_LIFT_THIGH = 50.0  # "knee up": the thigh raised more than this (walking swings it < 35)
KICK_MAX_KNEE = 60.0  # kicking leg: extended (knee bent less than this)
KNEE_OUT_M = 0.20  # knee this far out sideways from its hip: the leg opens sideways
LEAN_DEG = 15.0  # trunk leaning sideways more than this: "leaning to the left"
BEND_FORWARD_TILT = 45.0  # trunk pitched forward more than this: bent over at the waist
BENT_MIN_HIP_HEIGHT = 0.55  # bent over: the pelvis this far above each ankle (legs standing under
#                             it, knees at most a little bent; a squat or a kneel is far lower)
WAVE_FOREARM_UP_M = 0.10  # waving: the wrist this far above its elbow (forearm up)
WAVE_ELBOW_M = 0.15  # waving: the elbow at most this far below its shoulder
WAVE_HAND_M = 0.10  # waving: the hand this far above its shoulder (beside the head)
WAVE_ELBOW_OUT_M = 0.12  # waving: the elbow this far out sideways (a guard keeps it in front)
BENT_ELBOW = 45.0  # an elbow bent more than this is clearly bent
GUARD_ELBOW = 80.0  # boxing guard / folded arms: elbows bent more than this
GUARD_BELOW_SHOULDER_M = 0.15  # guard: fists no lower than this below the shoulders
PUNCH_REACH_M = 0.40  # punch: the straight arm's wrist this far in front of the shoulder
PUNCH_ELBOW = 30.0  # punch: the punching arm straighter than this
GUARD_AHEAD_M = 0.10  # guard: the fists this far in front of the shoulders
THROW_HAND_UP_M = 0.10  # throwing: the cocked hand this far above its shoulder
PUSH_UP_HAND_M = 0.20  # push-up: both wrists this far below their shoulders (arms propping)
THROW_BACK_M = 0.05  # throwing: the cocked hand this far behind its shoulder
HIPS_HAND_M = 0.28  # hands on hips: wrist within this of its hip joint (the hand rests on the
#                     waist, above and outside the joint, which sits inside the pelvis)
ELBOW_OUT_M = 0.08  # hands on hips: elbow this far further out than its shoulder
WRIST_MIDLINE_M = 0.06  # folded arms: each wrist at most this far on its own side of the
#                          midline (the wrists of folded arms meet there; the hands go past it)
FOLDED_ABOVE_PELVIS_M = 0.15  # folded arms: the wrists this far above the pelvis (at the chest) ...
FOLDED_BELOW_NECK_M = 0.05  # ... and at most this far above the neck
FOLDED_AHEAD_M = 0.03  # folded arms: the wrists in front of the chest (spine3) by this much


# ------------------------------------------------------------------ predicate algebra
class Pred:
    """A named predicate on canonical joints ``(N, 22, 3) -> (N,) bool``; combine with ``&``,
    ``|`` and ``~`` (the name records the formula)."""

    def __init__(self, name: str, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.name = name
        self._fn = fn

    def __call__(self, joints: np.ndarray) -> np.ndarray:
        j = as_joints(joints)
        return np.asarray(self._fn(j), dtype=bool).reshape(len(j))

    def __and__(self, other: Pred) -> Pred:
        return Pred(f"({self.name} & {other.name})", lambda j: self._fn(j) & other._fn(j))

    def __or__(self, other: Pred) -> Pred:
        return Pred(f"({self.name} | {other.name})", lambda j: self._fn(j) | other._fn(j))

    def __invert__(self) -> Pred:
        return Pred(f"~{self.name}", lambda j: ~np.asarray(self._fn(j), dtype=bool))

    def __repr__(self) -> str:
        return f"Pred({self.name})"


def as_joints(joints: np.ndarray) -> np.ndarray:
    """``(N, 22, 3)`` float64 copy of joints (a torch tensor or array-like is converted; a fresh
    array per call, so :func:`body_axes` can cache by identity)."""
    if hasattr(joints, "detach"):
        joints = joints.detach().cpu().numpy()
    x = np.array(joints, dtype=np.float64)
    if x.ndim != 3 or x.shape[1:] != (22, 3):
        raise ValueError(f"joints: expected (N, 22, 3), got {x.shape}")
    return x


def either(make: Callable[[Side], Pred]) -> Pred:
    """``make("left") | make("right")``."""
    return make("left") | make("right")


def exactly_one(make: Callable[[Side], Pred]) -> Pred:
    """One side but not both: ``make("left") ^ make("right")``."""
    a, b = make("left"), make("right")
    return Pred(f"one_of({a.name}, {b.name})", lambda j: a._fn(j) ^ b._fn(j))


# ------------------------------------------------------------------ geometry ((N, 22, 3) -> (N, ...))
def _j(joints: np.ndarray, name: str) -> np.ndarray:
    """``(N, 3)`` positions of joint ``name``."""
    return joints[:, JOINT_INDEX[name]]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True).clip(1e-9)


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees ``(N,)`` between vectors ``a`` and ``b`` ``(N, 3)``."""
    return np.degrees(np.arccos(np.clip((_unit(a) * _unit(b)).sum(-1), -1.0, 1.0)))


_DOWN = np.array([0.0, -1.0, 0.0])
_UP = np.array([0.0, 1.0, 0.0])


# the last body_axes call: (joints, axes); a formula asks for the axes of the same joints many
# times (the joints array is held, so its identity cannot be reused by another array)
_AXES_CACHE: list = [None, None]


def body_axes(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The body's own (up, left, forward) unit axes ``(N, 3)`` each: up = pelvis -> neck, left =
    right -> left across hips and shoulders (made orthogonal to up), forward = left x up (the
    way the chest faces: +z for the canonical upright body)."""
    if _AXES_CACHE[0] is joints:
        return _AXES_CACHE[1]
    up = _unit(_j(joints, "neck") - _j(joints, "pelvis"))
    across = (_j(joints, "left_hip") - _j(joints, "right_hip")) + (
        _j(joints, "left_shoulder") - _j(joints, "right_shoulder"))
    left = _unit(across - (across * up).sum(-1, keepdims=True) * up)
    axes = (up, left, np.cross(left, up))
    _AXES_CACHE[:] = [joints, axes]
    return axes


def _fwd(joints: np.ndarray, a: str, b: str) -> np.ndarray:
    """How far joint ``b`` is in front of joint ``a`` along the body's forward axis ``(N,)``."""
    return ((_j(joints, b) - _j(joints, a)) * body_axes(joints)[2]).sum(-1)


def _lateral(joints: np.ndarray, a: str, b: str) -> np.ndarray:
    """How far joint ``b`` is to the body's left of joint ``a`` ``(N,)``."""
    return ((_j(joints, b) - _j(joints, a)) * body_axes(joints)[1]).sum(-1)


def _outward(joints: np.ndarray, side: Side, a: str, b: str) -> np.ndarray:
    """How far joint ``b`` is out towards ``side`` from joint ``a`` ``(N,)``."""
    return _lateral(joints, a, b) * (1.0 if side == "left" else -1.0)


def _height(joints: np.ndarray, a: str, b: str) -> np.ndarray:
    """How far joint ``b`` is above joint ``a`` (world +y) ``(N,)``."""
    return _j(joints, b)[:, 1] - _j(joints, a)[:, 1]


_LEGS = [JOINT_INDEX[f"{s}_{n}"] for s in SIDES for n in ("knee", "ankle")]
_LEGS_TOES = _LEGS + [JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"]]
_NOT_TOES = [i for n, i in JOINT_INDEX.items() if n not in ("left_foot", "right_foot")]


def _above_lowest(joints: np.ndarray, name: str, among: list[int] | None = None) -> np.ndarray:
    """Height of joint ``name`` above the lowest of the joints ``among`` (default: all but the
    toes, which dip below a kneeling body's shins when pointed) ``(N,)``: the floor, roughly."""
    return _j(joints, name)[:, 1] - joints[:, _NOT_TOES if among is None else among, 1].min(axis=1)


def trunk_tilt(joints: np.ndarray) -> np.ndarray:
    """Angle of the trunk (pelvis -> neck) from vertical, degrees ``(N,)`` (0 upright, 90 lying)."""
    return _angle(_j(joints, "neck") - _j(joints, "pelvis"), np.broadcast_to(_UP, (len(joints), 3)))


def knee_bend(joints: np.ndarray, side: Side) -> np.ndarray:
    """Knee flexion in degrees ``(N,)``: 0 straight, 90 a right angle."""
    hip, knee, ankle = (_j(joints, f"{side}_{n}") for n in ("hip", "knee", "ankle"))
    return _angle(knee - hip, ankle - knee)


def elbow_bend(joints: np.ndarray, side: Side) -> np.ndarray:
    """Elbow flexion in degrees ``(N,)``: 0 straight."""
    sh, el, wr = (_j(joints, f"{side}_{n}") for n in ("shoulder", "elbow", "wrist"))
    return _angle(el - sh, wr - el)


def thigh_raise(joints: np.ndarray, side: Side) -> np.ndarray:
    """Angle of the thigh (hip -> knee) from hanging straight down, degrees ``(N,)``."""
    v = _j(joints, f"{side}_knee") - _j(joints, f"{side}_hip")
    return _angle(v, np.broadcast_to(_DOWN, v.shape))


def _from_horizontal(v: np.ndarray) -> np.ndarray:
    """Elevation of vectors ``(N, 3)`` above or below the horizontal plane, |degrees| ``(N,)``."""
    return np.abs(np.degrees(np.arcsin(np.clip(_unit(v)[:, 1], -1.0, 1.0))))


def stance_width(joints: np.ndarray) -> np.ndarray:
    """Sideways distance between the ankles ``(N,)`` (m)."""
    return np.abs(_lateral(joints, "right_ankle", "left_ankle"))


def stride(joints: np.ndarray) -> np.ndarray:
    """Front-to-back distance between the ankles ``(N,)`` (m)."""
    return np.abs(_fwd(joints, "right_ankle", "left_ankle"))


def sideways_lean(joints: np.ndarray) -> np.ndarray:
    """Sideways lean of the trunk from vertical towards the body's left (negative: right),
    degrees ``(N,)``: the trunk's component along the horizontal hip line."""
    trunk = _unit(_j(joints, "neck") - _j(joints, "pelvis"))
    hips = _j(joints, "left_hip") - _j(joints, "right_hip")
    hips[:, 1] = 0.0
    return np.degrees(np.arcsin(np.clip((trunk * _unit(hips)).sum(-1), -1.0, 1.0)))


# ------------------------------------------------------------------ atomic predicates: trunk
upright = Pred("upright", lambda j: (trunk_tilt(j) <= UPRIGHT_MAX_TILT)
               & (_height(j, "left_shoulder", "head") > 0) & (_height(j, "right_shoulder", "head") > 0))
"""The trunk within 30 deg of vertical and the head above both shoulders."""

not_lying = Pred("not_lying", lambda j: trunk_tilt(j) <= RAISED_MAX_TILT)
"""The trunk closer to vertical than to horizontal (sitting, standing, kneeling, ...)."""

lying = Pred("lying", lambda j: (np.abs(trunk_tilt(j) - 90.0) <= LYING_MAX_FROM_HORIZONTAL)
             & (0.5 * (_j(j, "left_ankle") + _j(j, "right_ankle"))[:, 1] - _j(j, "pelvis")[:, 1]
                >= -LYING_MAX_LEG_DROP))
"""The trunk within 30 deg of horizontal and the legs along it, not hanging down (which would
be a body bent forward at the waist)."""

chest_up = Pred("chest_up", lambda j: body_axes(j)[2][:, 1] >= FACING_MIN_COS)
chest_down = Pred("chest_down", lambda j: body_axes(j)[2][:, 1] <= -FACING_MIN_COS)

lying_back = lying & chest_up
"""Lying flat on the back: trunk within 30 deg of horizontal, the chest facing up (45 deg)."""
lying_front = lying & chest_down
"""Lying on the stomach: trunk within 30 deg of horizontal, the chest facing down (45 deg)."""


def side_down(side: Side) -> Pred:
    """The shoulder line within 45 deg of vertical with ``side`` underneath."""
    sign = 1.0 if side == "left" else -1.0
    return Pred(f"{side}_side_down", lambda j: -sign * body_axes(j)[1][:, 1] >= SIDE_DOWN_MIN_COS)


def lying_on(side: Side) -> Pred:
    """Lying on the ``side`` side (that shoulder underneath)."""
    return lying & side_down(side)


lying_side = lying_on("left") | lying_on("right")


def leaning(side: Side) -> Pred:
    """The trunk leaning over towards ``side`` by more than 15 deg, both feet down (not a kick)."""
    sign = 1.0 if side == "left" else -1.0
    return Pred(f"leaning_{side}", lambda j: sign * sideways_lean(j) >= LEAN_DEG) & not_lying \
        & ~foot_lifted("left") & ~foot_lifted("right")


bent_forward = Pred("bent_forward", lambda j: (trunk_tilt(j) >= BEND_FORWARD_TILT)
                    & (body_axes(j)[2][:, 1] < 0)  # the chest turns to the floor, not the sky
                    & (_height(j, "left_ankle", "pelvis") >= BENT_MIN_HIP_HEIGHT)
                    & (_height(j, "right_ankle", "pelvis") >= BENT_MIN_HIP_HEIGHT))
"""Bent over at the waist: trunk pitched forward > 45 deg over legs that stand under it."""


# ------------------------------------------------------------------ atomic predicates: legs
def knee_bent(side: Side, deg: float = BENT_KNEE) -> Pred:
    """The ``side`` knee bent more than ``deg`` degrees."""
    return Pred(f"{side}_knee>{deg:g}", lambda j: knee_bend(j, side) > deg)


def knee_straight(side: Side, deg: float = STRAIGHT_KNEE) -> Pred:
    """The ``side`` knee bent less than ``deg`` degrees."""
    return Pred(f"{side}_knee<{deg:g}", lambda j: knee_bend(j, side) < deg)


def leg_under(side: Side) -> Pred:
    """The ``side`` leg straight and within 20 deg of vertical below its hip: a standing leg."""
    def fn(j: np.ndarray) -> np.ndarray:
        v = _j(j, f"{side}_ankle") - _j(j, f"{side}_hip")
        return _angle(v, np.broadcast_to(_DOWN, v.shape)) <= LEG_VERTICAL
    return Pred(f"{side}_leg_under", fn) & knee_straight(side)


def knee_down(side: Side) -> Pred:
    """The ``side`` knee on the ground: bent, within 10 cm of the lowest knee or ankle, its ankle
    not far below it (the shin lies on the floor or folds under), the body not lying."""
    return Pred(f"{side}_knee_down", lambda j: (_above_lowest(j, f"{side}_knee", _LEGS) <= ON_GROUND_M)
                & (_height(j, f"{side}_knee", f"{side}_ankle") >= -SHIN_DOWN_MAX_M)) \
        & knee_bent(side) & not_lying


def knee_off_ground(side: Side) -> Pred:
    """The ``side`` knee clearly off the ground (20 cm above the lowest knee, ankle or toe; not
    the hands, which may reach lower)."""
    return Pred(f"{side}_knee_up", lambda j: _above_lowest(j, f"{side}_knee", _LEGS_TOES) >= OFF_GROUND_M)


def foot_lifted(side: Side) -> Pred:
    """The ``side`` ankle 20 cm or more above the other one."""
    o = _OTHER[side]
    return Pred(f"{side}_foot_lifted", lambda j: _height(j, f"{o}_ankle", f"{side}_ankle") >= OFF_GROUND_M)


def standing_on(side: Side) -> Pred:
    """Standing on the ``side`` leg alone: it stands straight under the body, the other foot is
    off the ground, the trunk is upright."""
    return leg_under(side) & foot_lifted(_OTHER[side]) & upright


standing = upright & leg_under("left") & leg_under("right")
"""Standing: upright trunk, both legs straight under the body."""

feet_wide = Pred("feet_wide", lambda j: stance_width(j) >= WIDE_STANCE_M)
feet_together = Pred("feet_together", lambda j: stance_width(j) <= TOGETHER_STANCE_M)
hips_high = Pred("hips_high", lambda j: np.minimum(_height(j, "left_ankle", "pelvis"),
                                                      _height(j, "right_ankle", "pelvis"))
                 >= STANDING_MIN_HIP_HEIGHT)
"""The pelvis at standing height above both ankles (not sitting, squatting or lunging)."""


def thigh_level(side: Side) -> Pred:
    """The ``side`` thigh within 35 deg of horizontal."""
    return Pred(f"{side}_thigh_level", lambda j: np.abs(thigh_raise(j, side) - 90.0) <= THIGH_LEVEL)


def _shin_vertical(side: Side) -> Pred:
    def fn(j: np.ndarray) -> np.ndarray:
        v = _j(j, f"{side}_ankle") - _j(j, f"{side}_knee")
        return _angle(v, np.broadcast_to(_DOWN, v.shape)) <= SHIN_VERTICAL
    return Pred(f"{side}_shin_vertical", fn)


sitting = thigh_level("left") & thigh_level("right") & Pred(
    "feet_forward", lambda j: 0.5 * (_fwd(j, "pelvis", "left_ankle") + _fwd(j, "pelvis", "right_ankle"))
    >= FEET_FORWARD_M) & Pred("sitting_trunk", lambda j: trunk_tilt(j) <= SEATED_MAX_TILT)
"""Seated: both thighs near horizontal, the feet in front of the pelvis (not tucked under it as in
a squat), the trunk within 45 deg of vertical."""

sitting_chair = sitting & knee_bent("left", 60) & knee_bent("right", 60) & ~knee_bent("left", 125) \
    & ~knee_bent("right", 125) & _shin_vertical("left") & _shin_vertical("right")
"""Sitting on a chair: seated, knees bent 60..125 deg, shins near vertical (feet under the knees)."""

sitting_legs_out = sitting & knee_straight("left", 45) & knee_straight("right", 45)
"""Sitting on the floor with the legs stretched out: seated, knees bent less than 45 deg."""


def _shin_inwards(side: Side) -> Pred:
    return Pred(f"{side}_shin_inwards",
                lambda j: -_outward(j, side, f"{side}_knee", f"{side}_ankle") >= CROSSED_SHIN_M)


cross_legged = knee_bent("left", 90) & knee_bent("right", 90) & _shin_inwards("left") \
    & _shin_inwards("right") & Pred("knees_apart", lambda j: np.abs(
        _lateral(j, "right_knee", "left_knee")) >= KNEES_OUT_M) & Pred(
    "thighs_out", lambda j: np.minimum(thigh_raise(j, "left"), thigh_raise(j, "right")) >= CROSSED_THIGH) \
    & Pred("seated_trunk", lambda j: trunk_tilt(j) <= ACTIVE_MAX_TILT)
"""Sitting cross-legged: both knees bent > 90 deg and wide apart, both shins folded inwards
(each ankle inside its knee), thighs raised, trunk within 40 deg of vertical."""

squat = knee_bent("left", SQUAT_KNEE) & knee_bent("right", SQUAT_KNEE) & not_lying & Pred(
    "hips_low", lambda j: (_j(j, "pelvis")[:, 1] - 0.5 * (_j(j, "left_knee") + _j(j, "right_knee"))[:, 1]
                           <= SQUAT_HIP_OVER_KNEE_M)
    & (_j(j, "pelvis")[:, 1] - 0.5 * (_j(j, "left_ankle") + _j(j, "right_ankle"))[:, 1]
       <= SQUAT_HIP_OVER_ANKLE_M)) & knee_off_ground("left") & knee_off_ground("right") & ~sitting
"""Squatting / crouching: both knees bent > 80 deg, the hips low (at most 20 cm above the knees,
45 cm above the ankles), the knees off the ground (not kneeling), the feet under the body (not
seated with the feet forward), the trunk not lying."""

deep_squat = squat & knee_bent("left", DEEP_SQUAT_KNEE) & knee_bent("right", DEEP_SQUAT_KNEE) & Pred(
    "hips_at_knees", lambda j: _j(j, "pelvis")[:, 1] - 0.5 * (_j(j, "left_knee") + _j(j, "right_knee"))[:, 1]
    <= DEEP_SQUAT_HIP_OVER_KNEE_M)
"""A deep squat: a squat with both knees bent > 110 deg and the hips about level with the knees."""

kneeling_both = knee_down("left") & knee_down("right")
kneeling_any = knee_down("left") | knee_down("right")


def kneeling_on(side: Side) -> Pred:
    """Kneeling on the ``side`` knee only: it is down, the other knee is off the ground."""
    return knee_down(side) & knee_off_ground(_OTHER[side])


on_heels = kneeling_both & knee_bent("left", 120) & knee_bent("right", 120) & Pred(
    "hips_on_heels", lambda j: np.minimum(_height(j, "left_ankle", "pelvis"),
                                          _height(j, "right_ankle", "pelvis")) <= HEELS_HIP_M)
"""Sitting back on the heels: both knees down and folded > 120 deg, the pelvis within 30 cm of
the ankles."""


def lunge(front: Side) -> Pred:
    """A forward lunge with the ``front`` leg ahead: its knee bent > 60 deg, its thigh near
    horizontal and forward of the hip, the other ankle 30 cm or more behind the pelvis, the trunk
    within 40 deg of vertical."""
    back = _OTHER[front]
    return knee_bent(front, LUNGE_FRONT_KNEE) & thigh_level(front) & Pred(
        f"{front}_knee_ahead", lambda j: _fwd(j, f"{front}_hip", f"{front}_knee") >= KNEE_AHEAD_M) & Pred(
        f"{back}_foot_back", lambda j: _fwd(j, "pelvis", f"{back}_ankle") <= -LUNGE_BACK_FOOT_M) & Pred(
        "lunge_trunk", lambda j: trunk_tilt(j) <= ACTIVE_MAX_TILT)


any_lunge = lunge("left") | lunge("right")
deep_lunge = any_lunge & Pred("hips_down", lambda j: _above_lowest(j, "pelvis") <= DEEP_LUNGE_HIP_HEIGHT)
"""A deep lunge: a lunge with the pelvis within 55 cm of the lowest joint (a standing pelvis is
~0.85 m up)."""


def side_lunge(bent: Side) -> Pred:
    """A side lunge onto the ``bent`` leg: its knee bent > 60 deg, the other leg straight and
    40 cm or more out to its side, the trunk not lying."""
    o = _OTHER[bent]
    return knee_bent(bent, LUNGE_FRONT_KNEE) & knee_straight(o) & Pred(
        f"{o}_leg_out", lambda j: _outward(j, o, "pelvis", f"{o}_ankle") >= SIDE_LUNGE_FOOT_M) \
        & Pred(f"{bent}_foot_under", lambda j: _height(j, f"{bent}_ankle", "pelvis") >= SIDE_LUNGE_HIP_M) \
        & not_lying


def kick_front(side: Side) -> Pred:
    """A front kick with the ``side`` leg: its thigh raised > 45 deg and forward, the knee
    extended (< 60 deg), the other leg standing straight under the body, the trunk within
    40 deg of vertical."""
    return Pred(f"{side}_thigh_up", lambda j: thigh_raise(j, side) >= KICK_THIGH) & ~knee_bent(
        side, KICK_MAX_KNEE) & Pred(f"{side}_knee_forward", lambda j: _fwd(j, f"{side}_hip", f"{side}_knee")
                                    >= KNEE_AHEAD_M) & leg_under(_OTHER[side]) & Pred(
        "kick_trunk", lambda j: trunk_tilt(j) <= ACTIVE_MAX_TILT)


def kick_side(side: Side) -> Pred:
    """A side kick with the ``side`` leg: its thigh raised > 45 deg out sideways, the knee
    extended, the other leg standing straight under the body, the trunk not lying."""
    return Pred(f"{side}_thigh_up", lambda j: thigh_raise(j, side) >= KICK_THIGH) & ~knee_bent(
        side, KICK_MAX_KNEE) & Pred(f"{side}_knee_out", lambda j: _outward(j, side, f"{side}_hip", f"{side}_knee")
                                    >= KNEE_OUT_M) & leg_under(_OTHER[side]) & not_lying


def knee_lift(side: Side) -> Pred:
    """The ``side`` knee pulled up: thigh raised > 50 deg (forward or out), knee bent > 60 deg,
    standing on the other leg, the trunk upright."""
    return Pred(f"{side}_thigh_high", lambda j: thigh_raise(j, side) >= KNEE_LIFT_THIGH) & knee_bent(
        side, 60) & leg_under(_OTHER[side]) & upright


def tree_pose(raised: Side) -> Pred:
    """Yoga tree pose on the other leg: standing on it, the ``raised`` knee bent > 90 deg and
    opened out sideways (20 cm past its hip)."""
    return standing_on(_OTHER[raised]) & knee_bent(raised, 90) & Pred(
        f"{raised}_knee_out", lambda j: _outward(j, raised, f"{raised}_hip", f"{raised}_knee") >= KNEE_OUT_M)


walking = upright & ~knee_bent("left", 60) & ~knee_bent("right", 60) & Pred(
    "stride", lambda j: stride(j) >= STRIDE_M) & ~foot_lifted("left") & ~foot_lifted("right") & Pred(
    "arms_low", lambda j: np.maximum(_height(j, "left_shoulder", "left_wrist"),
                                     _height(j, "right_shoulder", "right_wrist")) <= -HAND_LOW_M)
"""Walking / mid-stride: upright, one foot 25 cm or more in front of the other, both knees < 60
deg, neither foot lifted high (a kick or a knee lift), both hands 20 cm or more below the
shoulders (swinging arms, not a fighting or throwing stance)."""

running = Pred("run_trunk", lambda j: trunk_tilt(j) <= ACTIVE_MAX_TILT) \
    & (knee_bent("left", 60) | knee_bent("right", 60)) & Pred("run_stride", lambda j: stride(j) >= RUN_STRIDE_M) \
    & Pred("run_elbows", lambda j: np.minimum(elbow_bend(j, "left"), elbow_bend(j, "right")) >= BENT_ELBOW) \
    & ~knee_down("left") & ~knee_down("right") & ~squat & ~sitting
"""Running: trunk within 40 deg of vertical, a knee bent > 60 deg, the feet 30 cm apart front to
back, both elbows bent > 45 deg; not kneeling, squatting or sitting."""


# ------------------------------------------------------------------ atomic predicates: arms
def hand_raised(side: Side) -> Pred:
    """The ``side`` wrist 15 cm or more above its shoulder."""
    return Pred(f"{side}_hand_up", lambda j: _height(j, f"{side}_shoulder", f"{side}_wrist") >= HAND_UP_M)


def hand_above_head(side: Side) -> Pred:
    """The ``side`` wrist above the head."""
    return Pred(f"{side}_hand_over_head", lambda j: _height(j, "head", f"{side}_wrist") >= ABOVE_HEAD_M)


def arm_straight(side: Side, deg: float = STRAIGHT_ELBOW) -> Pred:
    """The ``side`` elbow bent less than ``deg`` degrees."""
    return Pred(f"{side}_elbow<{deg:g}", lambda j: elbow_bend(j, side) < deg)


def arm_down(side: Side) -> Pred:
    """The ``side`` arm hanging: the elbow below the shoulder, the wrist 25 cm or more below it."""
    return Pred(f"{side}_arm_down", lambda j: (_height(j, f"{side}_shoulder", f"{side}_wrist") <= -ARM_DOWN_M)
                & (_height(j, f"{side}_shoulder", f"{side}_elbow") <= -ELBOW_DOWN_M))


def arm_hanging(side: Side) -> Pred:
    """The ``side`` arm hanging down fairly straight (elbow < 50 deg)."""
    return arm_down(side) & arm_straight(side, HANGING_ELBOW)


def arm_at_side(side: Side) -> Pred:
    """The ``side`` arm hanging along the body: down, the wrist within 30 cm of the hip sideways
    and not far in front of it."""
    return arm_hanging(side) & Pred(f"{side}_wrist_by_hip", lambda j: (np.abs(
        _lateral(j, f"{side}_hip", f"{side}_wrist")) <= AT_SIDE_M) & (np.abs(_fwd(j, f"{side}_hip", f"{side}_wrist"))
                                                                        <= AT_SIDE_M))


def arm_along_body(side: Side, towards: str) -> Pred:
    """Lying: the ``side`` arm stretched along the trunk, the wrist 20 cm or more past the
    shoulder towards the ``"feet"`` or the ``"head"`` (in the body's own up axis)."""
    sign = 1.0 if towards == "head" else -1.0
    return Pred(f"{side}_arm_to_{towards}", lambda j: sign * (
        (_j(j, f"{side}_wrist") - _j(j, f"{side}_shoulder")) * body_axes(j)[0]).sum(-1) >= ALONG_BODY_M)


def arm_horizontal(side: Side) -> Pred:
    """The ``side`` arm straight and within 30 deg of horizontal."""
    return arm_straight(side) & Pred(f"{side}_arm_level", lambda j: _from_horizontal(
        _j(j, f"{side}_wrist") - _j(j, f"{side}_shoulder")) <= HORIZONTAL_ARM)


def arm_sideways(side: Side) -> Pred:
    """The ``side`` arm straight, about horizontal and pointing out to the side (within 45 deg)."""
    def fn(j: np.ndarray) -> np.ndarray:
        v = _unit(_j(j, f"{side}_wrist") - _j(j, f"{side}_shoulder"))
        return (v * body_axes(j)[1]).sum(-1) * (1.0 if side == "left" else -1.0) >= SIDEWAYS_MIN_COS
    return arm_horizontal(side) & Pred(f"{side}_arm_out", fn)


def arm_forward(side: Side) -> Pred:
    """The ``side`` arm reaching forward: the wrist 30 cm or more in front of its shoulder, within
    25 cm of shoulder height."""
    return Pred(f"{side}_arm_forward", lambda j: (_fwd(j, f"{side}_shoulder", f"{side}_wrist") >= FORWARD_M)
                & (np.abs(_height(j, f"{side}_shoulder", f"{side}_wrist")) <= LEVEL_M))


def held_out(side: Side) -> Pred:
    """The ``side`` arm straight (< 25 deg) and held out: the wrist 40 cm or more from the
    shoulder horizontally, between 30 cm below and 35 cm above it."""
    def fn(j: np.ndarray) -> np.ndarray:
        v = _j(j, f"{side}_wrist") - _j(j, f"{side}_shoulder")
        return (np.hypot(v[:, 0], v[:, 2]) >= HELD_OUT_M) & (v[:, 1] >= -HELD_OUT_BELOW_M) \
            & (v[:, 1] <= HELD_OUT_ABOVE_M)
    return arm_straight(side, POINTING_ELBOW) & Pred(f"{side}_arm_held_out", fn)


def pointing(side: Side) -> Pred:
    """Pointing with the ``side`` arm: it is held out, the other hand is 20 cm or more below its
    shoulder (both arms out is a T-pose or a reach), the trunk upright."""
    o = _OTHER[side]
    return held_out(side) & Pred(f"{o}_hand_low", lambda j: _height(j, f"{o}_shoulder", f"{o}_wrist") <= -HAND_LOW_M) \
        & upright


def waving(side: Side) -> Pred:
    """Waving with the ``side`` hand: the forearm up (wrist 10 cm above the elbow and the shoulder),
    the elbow out to the side, about shoulder height or higher and bent > 45 deg, the hand not
    cocked behind the shoulder."""
    return Pred(f"{side}_wave", lambda j: (_height(j, f"{side}_elbow", f"{side}_wrist") >= WAVE_FOREARM_UP_M)
                & (_height(j, f"{side}_shoulder", f"{side}_elbow") >= -WAVE_ELBOW_M)
                & (_height(j, f"{side}_shoulder", f"{side}_wrist") >= WAVE_HAND_M)
                & (_outward(j, side, f"{side}_shoulder", f"{side}_elbow") >= WAVE_ELBOW_OUT_M)
                & (elbow_bend(j, side) >= BENT_ELBOW)
                & (_fwd(j, f"{side}_shoulder", f"{side}_wrist") > -THROW_BACK_M)) & not_lying


def hand_on_hip(side: Side) -> Pred:
    """The ``side`` hand on the hip: wrist within 28 cm of the hip joint, the elbow bent > 45 deg
    and out to the side past the shoulder."""
    return Pred(f"{side}_hand_on_hip", lambda j: (np.linalg.norm(
        _j(j, f"{side}_wrist") - _j(j, f"{side}_hip"), axis=-1) <= HIPS_HAND_M)
        & (elbow_bend(j, side) >= BENT_ELBOW)
        & (_outward(j, side, f"{side}_shoulder", f"{side}_elbow") >= ELBOW_OUT_M))


hands_on_hips = hand_on_hip("left") & hand_on_hip("right") & not_lying


def _wrist_across(side: Side) -> Pred:
    return Pred(f"{side}_wrist_across", lambda j: _outward(j, side, "spine3", f"{side}_wrist") <= WRIST_MIDLINE_M)


arms_crossed = _wrist_across("left") & _wrist_across("right") & Pred(
    "wrists_at_chest", lambda j: np.all([(_height(j, "pelvis", f"{s}_wrist") >= FOLDED_ABOVE_PELVIS_M)
                                         & (_height(j, "neck", f"{s}_wrist") <= FOLDED_BELOW_NECK_M)
                                         & (_fwd(j, "spine3", f"{s}_wrist") >= FOLDED_AHEAD_M) for s in SIDES],
                                        axis=0)) \
    & Pred("elbows_folded", lambda j: np.minimum(
        elbow_bend(j, "left"), elbow_bend(j, "right")) >= GUARD_ELBOW) & not_lying
"""Arms folded across the chest: both wrists past the body's midline, between the pelvis and the
neck, in front of the chest, both elbows bent > 80 deg."""

guard = Pred("fists_up", lambda j: np.all([
    (elbow_bend(j, s) >= GUARD_ELBOW) & (_height(j, f"{s}_shoulder", f"{s}_wrist") >= -GUARD_BELOW_SHOULDER_M)
    & (_fwd(j, f"{s}_shoulder", f"{s}_wrist") >= GUARD_AHEAD_M) for s in SIDES], axis=0)) & not_lying \
    & ~foot_lifted("left") & ~foot_lifted("right")
"""Boxing guard: both elbows bent > 80 deg, both fists in front of the shoulders, no lower than
15 cm below them, both feet down (a stance, not a kick)."""


def punch(side: Side) -> Pred:
    """A punch with the ``side`` fist: that arm straight (< 30 deg) and 40 cm or more out in front
    at about shoulder height (within 25 cm), the other elbow bent > 45 deg (guarding), not lying."""
    o = _OTHER[side]
    return arm_straight(side, PUNCH_ELBOW) & Pred(f"{side}_punch_reach", lambda j: (
        _fwd(j, f"{side}_shoulder", f"{side}_wrist") >= PUNCH_REACH_M)
        & (np.abs(_height(j, f"{side}_shoulder", f"{side}_wrist")) <= LEVEL_M)) & ~arm_straight(o, BENT_ELBOW) \
        & not_lying


def throw_cocked(side: Side) -> Pred:
    """About to throw with the ``side`` arm: the hand cocked behind the shoulder and above it,
    the elbow bent > 45 deg, not lying."""
    return Pred(f"{side}_cocked", lambda j: (_fwd(j, f"{side}_shoulder", f"{side}_wrist") <= -THROW_BACK_M)
                & (_height(j, f"{side}_shoulder", f"{side}_wrist") >= THROW_HAND_UP_M)
                & (elbow_bend(j, side) >= BENT_ELBOW)) & not_lying


both_hands_up = hand_raised("left") & hand_raised("right") & not_lying
both_over_head = hand_above_head("left") & hand_above_head("right") & not_lying
arms_down = arm_hanging("left") & arm_hanging("right")
arms_at_sides = arm_at_side("left") & arm_at_side("right")
t_arms = arm_sideways("left") & arm_sideways("right") & not_lying
arms_forward = arm_forward("left") & arm_forward("right") & not_lying
push_up = lying_front & Pred("hands_under", lambda j: np.minimum(
    -_height(j, "left_shoulder", "left_wrist"), -_height(j, "right_shoulder", "right_wrist")) >= PUSH_UP_HAND_M)
"""A push-up / plank: trunk within 30 deg of horizontal and the legs along it, chest down, both
wrists 20 cm or more below their shoulders (arms propping the body up)."""
jumping_jack = feet_wide & both_hands_up & upright & knee_straight("left") & knee_straight("right")
"""A star jump: feet wide apart (75 cm), both hands 15 cm above the shoulders, upright, legs
straight."""
hand_low = Pred("hand_at_floor", lambda j: np.minimum(_j(j, "left_wrist")[:, 1], _j(j, "right_wrist")[:, 1])
                <= 0.5 * (_j(j, "left_knee") + _j(j, "right_knee"))[:, 1]) & not_lying
"""A hand down at knee height or lower, not lying (picking something up)."""
touch_toes = bent_forward & Pred("wrists_below_knees", lambda j: np.maximum(
    _height(j, "left_knee", "left_wrist"), _height(j, "right_knee", "right_wrist")) <= 0.0)


# ------------------------------------------------------------------ the queries
@dataclass(frozen=True)
class HumanQuery:
    """A search-box query, the predicate a correct result satisfies, and why.

    ``tags``: how the query is written ("synonym", "side", "activity", "yoga", "typo",
    "no_verb", "long", "short").
    """

    text: str
    predicate: Pred
    expects: str
    tags: tuple[str, ...] = ()

    def __call__(self, joints: np.ndarray) -> np.ndarray:
        """``(N,)`` bool: which of the bodies ``joints (N, 22, 3)`` answer the query."""
        return self.predicate(joints)


def _q(text: str, predicate: Pred, expects: str, *tags: str) -> HumanQuery:
    return HumanQuery(text, predicate, expects, tags)


QUERIES: tuple[HumanQuery, ...] = (
    # ---- lying
    _q("lying flat on the back", lying_back, "trunk horizontal, chest up"),
    _q("lyingon the back", lying_back, "trunk horizontal, chest up", "typo"),
    _q("someone lying on their back looking at the ceiling", lying_back, "trunk horizontal, chest up", "long"),
    _q("on the floor, face up", lying_back, "trunk horizontal, chest up", "no_verb"),
    _q("lying on the stomach", lying_front, "trunk horizontal, chest down", "synonym"),
    _q("face down on the ground", lying_front, "trunk horizontal, chest down", "no_verb"),
    _q("lying face down with the arms stretched above the head",
       lying_front & arm_along_body("left", "head") & arm_along_body("right", "head"),
       "lying on the front, both wrists past the shoulders towards the head", "long"),
    _q("lying on the side", lying_side, "trunk horizontal, shoulder line vertical"),
    _q("curled up on the side like sleeping", lying_side & knee_bent("left") & knee_bent("right"),
       "lying on a side, both knees bent", "synonym"),
    _q("lying on the back with one knee up", lying_back & exactly_one(knee_bent),
       "lying on the back, exactly one knee bent > 45 deg", "long"),
    _q("person lying down", lying, "trunk and legs near horizontal", "short"),
    _q("laying on the floor arms by the sides",
       lying & arm_along_body("left", "feet") & arm_along_body("right", "feet"),
       "lying, both arms along the body towards the feet", "typo"),
    _q("sleeping on left side", lying_on("left"), "lying, left shoulder underneath", "side"),
    _q("resting on his right side", lying_on("right"), "lying, right shoulder underneath", "side", "synonym"),
    _q("lying on the back with legs straight and arms at the sides",
       lying_back & knee_straight("left", 30) & knee_straight("right", 30)
       & arm_along_body("left", "feet") & arm_along_body("right", "feet"),
       "lying on the back, knees < 30 deg, arms along the body", "long"),
    # ---- standing
    _q("the person is standing with their arms down", standing & arms_down,
       "upright, legs straight under the body, both arms hanging", "long"),
    _q("standing nice and straight", standing, "upright, legs straight under the body"),
    _q("just standing there relaxed", standing & arms_down, "standing, arms hanging", "synonym"),
    _q("standing at attention arms at the sides", standing & arms_at_sides & feet_together,
       "standing, feet together, arms along the body", "synonym"),
    _q("standin with my feet far apart", upright & feet_wide & ~knee_bent("left") & ~knee_bent("right")
       & ~foot_lifted("left") & ~foot_lifted("right"),
       "upright, knees < 45 deg, both feet down, ankles 75 cm apart sideways", "typo"),
    _q("arms up, legs apart", both_hands_up & feet_wide, "both hands above the shoulders, feet wide apart",
       "no_verb"),
    _q("wide legged stance", feet_wide & not_lying & ~foot_lifted("left") & ~foot_lifted("right"),
       "ankles 75 cm apart sideways, both feet down", "no_verb", "short"),
    _q("arms hanging loose", arms_down & not_lying, "both arms hanging", "no_verb"),
    _q("arms relaxed by the sides", arms_at_sides & not_lying, "both arms hanging along the body", "no_verb"),
    # ---- arms up
    _q("raising the right hand", hand_raised("right") & not_lying, "right wrist 15 cm above the shoulder", "side"),
    _q("raising the left hand", hand_raised("left") & not_lying, "left wrist 15 cm above the shoulder", "side"),
    _q("right hand way up", hand_raised("right") & not_lying, "right wrist 15 cm above the shoulder", "side",
       "no_verb"),
    _q("left arm raised over his head", hand_above_head("left") & not_lying, "left wrist above the head",
       "side"),
    _q("with both arms lifted", both_hands_up, "both wrists 15 cm above the shoulders"),
    _q("hands above the head", both_over_head, "both wrists above the head", "no_verb"),
    _q("a man standing with his hands in the air", both_hands_up & upright & hips_high,
       "upright on straight legs, both wrists above the shoulders", "long"),
    _q("stretching both arms overhead", both_over_head & arm_straight("left", 45) & arm_straight("right", 45),
       "both wrists above the head, elbows < 45 deg"),
    _q("yoga stretch with arms over head", both_over_head & arm_straight("left", 45) & arm_straight("right", 45),
       "both wrists above the head, elbows < 45 deg", "yoga"),
    _q("reaching up to a high shelf", either(lambda s: hand_above_head(s) & arm_straight(s) & upright),
       "upright, a straight arm with the hand above the head", "activity"),
    _q("one hand raised like asking a question in class",
       exactly_one(hand_above_head) & not_lying & (arm_down("left") | arm_down("right")),
       "one hand above the head, the other arm down", "long"),
    _q("one arm up one arm down",
       (hand_above_head("left") & arm_down("right")) | (hand_above_head("right") & arm_down("left")),
       "one hand above the head, the other arm hanging", "no_verb"),
    # ---- arms out / forward
    _q("arms spread out sideways", t_arms, "both arms straight, horizontal, pointing sideways", "no_verb"),
    _q("T-pose like a scarecrow", t_arms & standing, "standing, both arms straight out sideways", "short"),
    _q("arms stretched out like an airplane", t_arms, "both arms straight out sideways", "synonym"),
    _q("both arms straight out front", arms_forward, "both wrists 30 cm in front of the shoulders, level",
       "no_verb"),
    _q("reaching out in front with the left hand", arm_forward("left") & not_lying,
       "left wrist 30 cm in front of the shoulder, level", "side"),
    _q("pointing at something with the right arm", pointing("right"),
       "right arm straight and held out about horizontally", "side", "activity"),
    _q("pointing into the distance", either(pointing), "an arm straight and held out about horizontally",
       "activity"),
    # ---- gestures
    _q("waving hello", either(waving), "a forearm up beside the head, elbow raised", "activity"),
    _q("waving his left hand", waving("left"), "left forearm up, elbow raised", "side", "activity"),
    _q("wave goodbye right hand", waving("right"), "right forearm up, elbow raised", "side", "activity",
       "no_verb"),
    _q("hands on his hips", hands_on_hips, "both wrists at the hips, elbows out", "no_verb"),
    _q("standing with hands on the waist", hands_on_hips & upright, "upright, both hands at the hips",
       "synonym"),
    _q("akimbo arms", hands_on_hips, "both wrists at the hips, elbows out", "synonym", "short"),
    _q("guy with crossed arms", arms_crossed, "both wrists past the midline at the chest, elbows folded", "no_verb"),
    _q("arms folded over her chest", arms_crossed, "both wrists past the midline at the chest",
       "synonym"),
    _q("standing there arms folded", arms_crossed & upright, "upright, arms folded", "synonym"),
    # ---- squats
    _q("a deep squat with the hips down", deep_squat, "knees > 100 deg, hips level with the knees, feet under"),
    _q("sqauting", squat, "knees > 80 deg, hips low, feet under the body", "typo", "short"),
    _q("crouching down", squat, "knees > 80 deg, hips low, feet under the body", "synonym"),
    _q("hunkered down", squat, "knees > 80 deg, hips low, feet under the body", "synonym"),
    _q("squatting with arms out in front", squat & Pred("wrists_ahead", lambda j: np.minimum(
        _fwd(j, "left_shoulder", "left_wrist"), _fwd(j, "right_shoulder", "right_wrist")) >= 0.2),
       "a squat with both hands 20 cm in front of the shoulders"),
    _q("picking something up off the floor", hand_low & (bent_forward | squat),
       "bent forward or squatting, a hand at knee height or lower", "activity"),
    # ---- kneeling
    _q("on her knees on the floor", kneeling_both, "both knees bent and on the ground, not lying"),
    _q("someone kneeling down", kneeling_any, "a knee bent and on the ground, not lying", "short"),
    _q("left knee touching the ground", knee_down("left"), "left knee bent and at the lowest point", "side",
       "no_verb"),
    _q("right knee touching the ground", knee_down("right"), "right knee bent and at the lowest point", "side",
       "no_verb"),
    _q("down on one knee like proposing", exactly_one(kneeling_on),
       "one knee on the ground, the other knee up", "long"),
    _q("kneeling on the right knee, left foot forward",
       kneeling_on("right") & Pred("left_foot_ahead", lambda j: _fwd(j, "right_ankle", "left_ankle") >= 0.3),
       "right knee down, left knee up, left foot 30 cm ahead", "side"),
    _q("sitting back on the heels", on_heels, "both knees down and folded > 120 deg, hips on the ankles"),
    _q("a woman kneeling on the floor with her back straight", kneeling_both & upright,
       "both knees down, trunk upright", "long"),
    # ---- sitting
    _q("sitting in a chair", sitting_chair, "thighs level, knees 60..125 deg, shins vertical"),
    _q("seated with knees bent at right angles", sitting_chair, "thighs level, knees 60..125 deg",
       "synonym"),
    _q("sitting on the floor with legs stretched out", sitting_legs_out, "thighs level, knees < 40 deg"),
    _q("sitting cross-legged on the ground", cross_legged, "knees folded and apart, shins crossed inwards", "activity"),
    _q("sitting with legs crossed on the floor", cross_legged, "knees folded and apart, shins inwards",
       "synonym"),
    _q("criss cross applesauce", cross_legged, "knees folded and apart, shins inwards", "synonym",
       "no_verb"),
    _q("sitting in a lotus position", cross_legged, "knees folded and apart, shins inwards", "yoga"),
    _q("seated person", sitting | cross_legged, "seated (chair, floor or cross-legged)", "short"),
    _q("sittin on a chair with hands on the knees",
       sitting_chair & Pred("hands_on_thighs", lambda j: np.all([
           np.linalg.norm(_j(j, f"{s}_wrist") - _j(j, f"{s}_knee"), axis=-1) <= 0.30 for s in SIDES], axis=0)),
       "sitting on a chair, both wrists within 30 cm of the knees", "typo", "long"),
    # ---- lunges and legs
    _q("lunge, really low", deep_lunge, "a forward lunge with the hips low", "no_verb", "short"),
    _q("lunging forward with the left leg", lunge("left"), "left knee bent ahead, right foot back", "side"),
    _q("right leg forward in a lunge", lunge("right"), "right knee bent ahead, left foot back", "side",
       "no_verb"),
    _q("lunge to the side", side_lunge("left") | side_lunge("right"), "one knee bent, the other leg straight out",
       "no_verb", "short"),
    _q("warrior pose with arms out", any_lunge & arm_horizontal("left") & arm_horizontal("right"),
       "a lunge with both arms straight and horizontal", "yoga"),
    _q("standing on one foot", standing_on("left") | standing_on("right"),
       "one straight leg under the body, the other foot 20 cm up, upright"),
    _q("balancing on his left foot", standing_on("left"), "standing on the straight left leg, right foot up",
       "side", "synonym"),
    _q("tree pose", tree_pose("left") | tree_pose("right"),
       "standing on one leg, the other knee folded and opened out", "yoga", "short"),
    _q("lifting the right knee up", knee_lift("right"), "right thigh raised > 60 deg forward, knee bent",
       "side"),
    _q("front kick with the left leg", kick_front("left"), "left thigh raised > 45 deg forward, knee extended",
       "side", "activity"),
    _q("kicking a ball", kick_front("left") | kick_front("right") | kick_side("left") | kick_side("right"),
       "a thigh raised > 45 deg with the knee extended, standing on the other leg", "activity", "short"),
    _q("karate side kick", kick_side("left") | kick_side("right"),
       "a thigh raised > 45 deg out sideways, knee extended", "activity"),
    # ---- activities
    _q("walking down the street", walking, "upright, mid-stride, hips high", "activity"),
    _q("caught mid-step", walking, "upright, one foot ahead, hips high", "no_verb", "short"),
    _q("a person taking a step forward", walking, "upright, one foot ahead, hips high", "synonym"),
    _q("running fast", running, "legs split, a knee bent, elbows bent", "activity"),
    _q("out for a jog", running, "legs split, a knee bent, elbows bent", "activity", "synonym"),
    _q("sprinting like in a race", running, "legs split, a knee bent, elbows bent", "activity"),
    _q("doing a jumping jack", jumping_jack, "feet wide, both hands up, legs straight", "activity"),
    _q("star jump arms and legs spread", jumping_jack, "feet wide, both hands up", "activity", "no_verb"),
    _q("pushups on the floor", push_up, "horizontal, chest down, arms propping the body", "activity"),
    _q("boxing stance with fists up", guard, "both elbows folded, fists up in front", "activity"),
    _q("throwin punches", either(punch), "one arm straight out in front, the other bent", "activity", "typo"),
    _q("punching forward with the right fist", punch("right"), "right arm straight out in front", "side",
       "activity"),
    _q("about to throw a ball", either(throw_cocked), "a hand cocked behind and above the shoulder",
       "activity"),
    _q("bending over to touch the toes", touch_toes, "bent forward at the waist, hands below the knees",
       "activity"),
    _q("bent forward at the waist", bent_forward, "trunk pitched > 45 deg forward over standing legs"),
    _q("bendign over", bent_forward, "trunk pitched > 45 deg forward over standing legs", "typo", "short"),
    _q("leaning over to the left", leaning("left"), "trunk leaning > 15 deg to its left", "side"),
    _q("side bend to the right with an arm over the head", leaning("right") & hand_above_head("left"),
       "trunk leaning to its right, left hand above the head", "side", "yoga"),
)

QUERY_TEXTS: tuple[str, ...] = tuple(q.text for q in QUERIES)


def satisfied(joints: np.ndarray) -> np.ndarray:
    """``(Q, N)`` bool: which bodies ``joints (N, 22, 3)`` answer each of the :data:`QUERIES`."""
    j = as_joints(joints)
    return np.stack([q(j) for q in QUERIES]) if len(j) else np.zeros((len(QUERIES), 0), bool)
