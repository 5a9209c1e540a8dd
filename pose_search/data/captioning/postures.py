"""Everyday posture and activity predicates on body joints ("kneeling", "lying on the back", ...).

The PoseScript-style captioner describes joints one relation at a time; people name whole
postures. Each predicate reads joints ``(N, 22, 3)`` (SMPL-X body joints, metres, the canonical
frame of :mod:`pose_search.body.convention`: **+y up, the body faces +z, +x is the body's own
left**, heading removed; e.g. :func:`pose_search.body.skeleton.neutral_joints` of the poses) and
returns ``(N,)`` bool. Per-side predicates take ``side`` = ``"left"`` / ``"right"``, always the
body's own side (+x is left). Arm gestures live in :mod:`.arm_postures` (re-exported here).

Joints carry no floor: the *ground* is the lowest joint of each pose (as PoseScript's on-ground
code does), and what needs support (standing, kneeling, a jump) is read off the body itself.
:func:`main_posture` picks one of :data:`MAIN_POSTURES` per pose (mutually exclusive, first match
in that order); :func:`posture_variant` refines it with the side where one matters;
:func:`detect` runs everything at once for the caption layer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pose_search.data.captioning.arm_postures import (
    STRAIGHT_ELBOW_DEG,
    a_pose,
    arm_out_to_side,
    arm_overhead,
    arm_raised,
    arms_crossed,
    arms_down,
    boxing_guard,
    hand_on_hip,
    hands_behind_head,
    hands_on_head,
    hands_on_hips,
    pointing,
    punching,
    reaching_forward,
    t_pose,
    throwing,
    waving,
)
from pose_search.data.captioning.body_frame import (
    OTHER,
    SIDES,
    SIGN,
    arm_direction,
    arm_elevation,
    check_joints,
    check_side,
    chest_normal,
    elbow_angle,
    foot_height,
    forward_lean,
    height,
    joint,
    knee_angle,
    left_axis,
    memoised,
    mirror_joints,
    outward,
    side_lean,
    thigh_direction,
    thigh_lift,
    trunk_axis,
    trunk_centre,
    trunk_tilt,
    unit,
    upright_joints,
)

__all__ = [
    "MAIN_POSTURES", "SIDES", "detect", "main_posture", "posture_variant", "mirror_joints",
    "lying", "lying_on_back", "lying_on_front", "lying_on_side", "push_up", "plank",
    "on_all_fours", "knee_down", "kneeling", "kneeling_on_both_knees", "kneeling_on_one_knee",
    "sitting", "sitting_on_chair", "sitting_on_floor", "sitting_cross_legged", "squatting",
    "crouching", "lunging", "lunging_forward", "lunging_sideways", "jumping", "tuck_jump",
    "star_jump", "standing", "standing_on_one_leg", "legs_apart", "bending_forward",
    "bending_backward", "bending_sideways", "walking", "running", "kicking",
    # arms (from .arm_postures)
    "arm_raised", "arm_overhead", "arm_out_to_side", "arms_down", "t_pose", "a_pose",
    "arms_crossed", "hand_on_hip", "hands_on_hips", "hands_on_head", "hands_behind_head",
    "reaching_forward", "pointing", "boxing_guard", "punching", "waving", "throwing",
]

MAIN_POSTURES = ("lying", "plank", "jumping", "kneeling", "sitting", "squatting", "lunging",
                 "standing", "other")

# Joint centres sit 5-10 cm inside the skin, so a body part resting on the floor has its joint
# within a few cm of the lowest joint; PoseScript's on-ground code uses 0.10 m (+-0.05 noise): we
# take the top of that band.
GROUND_TOL_M = 0.15
# A foot (lower of ankle and toe joints) higher than this is off the ground.
FOOT_RAISED_M = 0.20
# Both feet roughly down in the low postures (squat, lunge): noise and pointed toes tilt the feet.
FEET_DOWN_M = 0.25
# Trunk (pelvis -> neck) within this angle of vertical: upright enough to sit, kneel or squat.
UPRIGHT_MAX_TILT_DEG = 60.0
# Lying: the trunk within 30 deg of horizontal (past 120 deg from vertical the body is upside
# down) and the pelvis and head near the ground: bending over keeps the pelvis at leg height
# (~0.8 m); a lying body has it at most a bent knee's height (fetal: ~0.4 m) above the floor.
LYING_MIN_TILT_DEG = 60.0
LYING_MAX_TILT_DEG = 120.0
LYING_MAX_PELVIS_M = 0.50
LYING_MAX_HEAD_M = 0.60
# Face up / face down: the chest normal within 60 deg of vertical; in between: on a side.
FACE_VERTICAL_COS = 0.5
# Knee inner angle (180 = straight). PoseScript's bins: > 160 straight, 135..160 slightly bent,
# 105..135 partially bent, 75..105 right angle, < 75 almost completely bent.
STRAIGHT_KNEE_DEG = 145.0
BENT_KNEE_DEG = 125.0
SQUAT_KNEE_DEG = 90.0
# Kneeling: a knee low (within 25 cm of the lowest joint: pointed toes reach below a kneeling
# knee), its shin lying back along the floor (ankle >= 10 cm behind the knee and within 20 cm of
# its height: sitting with the legs out puts the ankles in front), the hip >= 8 cm above it and
# the thigh at most 20 deg behind vertical (further back the hips are ahead of the knee: a lunge).
KNEE_GROUND_M = 0.25
KNEE_SHIN_BACK_M = 0.10
KNEE_SHIN_LEVEL_M = 0.20
KNEE_HIP_ABOVE_M = 0.08
KNEE_THIGH_BACK = -0.34  # sin(20 deg), the thigh's forward (+z) component
# Standing: the pelvis this high above the ground. The neutral legs are ~0.84 m long; below 0.6 m
# the knees are too bent to call it standing (a squat, a lunge, a seat).
STAND_MIN_PELVIS_M = 0.60
# Sitting on a chair: both thighs within ~27 deg of level (|sin| <= 0.45) and forward, the shins
# going down (ankles >= 25 cm below the knees), the knees not folded tighter than 50 deg, and the
# feet more than SQUAT_BALANCE_M in front of the trunk's centre: the weight is not over the feet,
# so a seat takes it (a squat keeps it over them).
THIGH_LEVEL_MAX = 0.45
CHAIR_SHIN_DROP_M = 0.25
CHAIR_MIN_KNEE_DEG = 50.0
# Sitting on the floor with the legs out: ankles >= 45 cm in front of the pelvis, at most 40 cm
# below it (a chair puts them a shin's length lower).
FLOOR_FEET_FORWARD_M = 0.45
FLOOR_FEET_DROP_M = 0.40
# Cross-legged: thighs forward and turned out >= 27 deg (sin 0.45), not raised past 30 deg above
# level, shins folded in (ankles >= 15 cm inside their knees), knees bent past 70 deg (inner
# < 110) and >= 50 cm apart.
CROSS_THIGH_OUT = 0.45
CROSS_THIGH_UP = 0.5
CROSS_ANKLE_IN_M = 0.15
CROSS_KNEE_DEG = 110.0
CROSS_KNEES_APART_M = 0.50
# Squatting: both knees bent past a right angle, the pelvis at most 15 cm above the knees, the
# ankles below it and the trunk's centre within 15 cm of the ankles front to back (a body resting
# on its feet alone keeps its weight over them).
SQUAT_PELVIS_ABOVE_KNEE_M = 0.15
SQUAT_BALANCE_M = 0.15
# Crouching: a squat with the trunk >= 30 deg forward or both hands below the knees.
CROUCH_LEAN_DEG = 30.0
# Lunging: the feet >= 0.6 m apart (about one leg length), one knee bent, the pelvis below
# standing height (0.78 m, legs ~0.84). Forward: the front thigh >= 60 deg up from hanging, the
# back thigh >= 15 deg behind vertical (sin 0.26); sideways: the other leg straight.
LUNGE_FEET_APART_M = 0.60
LUNGE_MAX_PELVIS_M = 0.78
LUNGE_FRONT_LIFT_DEG = 60.0
LUNGE_BACK_THIGH = -0.26
# Tuck jump: both knees pulled up to the pelvis' height or above and folded tight (inner angle
# <= 80 deg), the feet >= 8 cm in front of the trunk's centre: no weight over the feet and nothing
# else low to rest on, so the body is in the air (a squat keeps its weight over its feet; sitting
# on a chair leaves the knees below the hips and opens them to ~90 deg).
TUCK_KNEES_UP_M = 0.0
TUCK_KNEE_DEG = 80.0
TUCK_FEET_AHEAD_M = 0.08
# Star jump: both legs straight and >= 20 deg out (sin 0.34), both hands at least half-raised
# (>= 7.5 cm above the shoulders) and out to the sides, the trunk within 30 deg of vertical.
STAR_LEG_OUT = 0.34
STAR_HAND_UP_M = 0.075
ACTIVE_MAX_TILT_DEG = 30.0
# Trunk lean: forward >= 35 deg is bending over; backward >= 20 deg (the spine arches less far);
# sideways >= 15 deg (standing sways stay under 10 deg).
BEND_FORWARD_DEG = 35.0
BEND_BACKWARD_DEG = 20.0
BEND_SIDEWAYS_DEG = 15.0
# Stride: ankles >= 25 cm apart front to back, one thigh forward and the other back. Walking keeps
# the knees fairly straight (> 110) and both arms hanging (>= 40 deg below level), which tells it
# from a fighting stance; running bends a knee (<= 110) and both elbows (pumping arms, which also
# tells it from a lunge).
STRIDE_M = 0.25
WALK_ARM_DOWN_DEG = 40.0
RUN_KNEE_DEG = 110.0
RUN_ELBOW_DEG = 125.0
# Kicking: a leg lifted >= 45 deg from hanging with its knee fairly straight (>= 120), standing on
# the other leg (foot down, knee >= 125, thigh within 20 deg of vertical: a star jump spreads both).
KICK_LIFT_DEG = 45.0
KICK_KNEE_DEG = 120.0
KICK_STANCE_DEG = 20.0
# Push-up / plank / all fours: the trunk horizontal (as for lying) and face down, supported off
# the floor (pelvis >= 15 cm up) on arms within ~30 deg of vertical (cos 0.85) whose hands (or
# elbows) are down with the feet (or knees); push-up and plank keep the legs straight and in line
# with the trunk (within 30 deg: bending over keeps the legs vertical).
SUPPORT_ARM_COS = 0.85
SUPPORT_MIN_PELVIS_M = 0.15
PLANK_LINE_DEG = 30.0
PLANK_ELBOW_DEG = 120.0


# ------------------------------------------------------------------------------ horizontal
@memoised
def _horizontal(j: np.ndarray) -> np.ndarray:
    tilt = trunk_tilt(j)
    return (tilt >= LYING_MIN_TILT_DEG) & (tilt <= LYING_MAX_TILT_DEG)


@memoised
def _face_down_supported(j: np.ndarray) -> np.ndarray:
    return (_horizontal(j) & (chest_normal(j)[:, 1] <= -FACE_VERTICAL_COS)
            & (height(j, "pelvis") >= SUPPORT_MIN_PELVIS_M))


@memoised
def _body_line(j: np.ndarray) -> np.ndarray:
    """Legs straight and in line with the trunk (ankles -> pelvis vs pelvis -> neck)."""
    feet = (joint(j, "left_ankle") + joint(j, "right_ankle")) / 2
    legs = unit(joint(j, "pelvis") - feet)
    cos = (legs * trunk_axis(j)).sum(-1)
    straight = np.all([knee_angle(j, s) >= STRAIGHT_KNEE_DEG for s in SIDES], axis=0)
    return straight & (cos >= np.cos(np.radians(PLANK_LINE_DEG)))


def _down(j: np.ndarray, name: str) -> np.ndarray:
    return height(j, name) <= GROUND_TOL_M


@memoised
def push_up(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: face down, body straight and off the floor on straight arms, hands down."""
    j = check_joints(joints)
    arms = np.all([(arm_direction(j, s)[:, 1] <= -SUPPORT_ARM_COS)
                   & (elbow_angle(j, s) >= STRAIGHT_ELBOW_DEG - 20.0) & _down(j, f"{s}_wrist")
                   for s in SIDES], axis=0)
    return _face_down_supported(j) & _body_line(j) & arms


@memoised
def plank(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: face down, body straight, resting on the forearms (elbows under the shoulders)."""
    j = check_joints(joints)
    arms = np.all([(unit(joint(j, f"{s}_elbow") - joint(j, f"{s}_shoulder"))[:, 1] <= -SUPPORT_ARM_COS)
                   & (elbow_angle(j, s) <= PLANK_ELBOW_DEG) & _down(j, f"{s}_elbow")
                   for s in SIDES], axis=0)
    return _face_down_supported(j) & _body_line(j) & arms


@memoised
def on_all_fours(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: face down on both hands and both knees, thighs and arms roughly vertical."""
    j = check_joints(joints)
    ok = _face_down_supported(j)
    for s in SIDES:
        ok &= ((arm_direction(j, s)[:, 1] <= -SUPPORT_ARM_COS) & _down(j, f"{s}_wrist")
               & (height(j, f"{s}_knee") <= KNEE_GROUND_M) & (thigh_direction(j, s)[:, 1] <= -0.7))
    return ok


@memoised
def lying(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: trunk near horizontal, pelvis and head near the ground, not propped on the arms
    (push-up, plank) or on all fours."""
    j = check_joints(joints)
    low = (height(j, "pelvis") <= LYING_MAX_PELVIS_M) & (height(j, "head") <= LYING_MAX_HEAD_M)
    return _horizontal(j) & low & ~push_up(j) & ~plank(j) & ~on_all_fours(j)


@memoised
def lying_on_back(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: lying, the chest facing up."""
    j = check_joints(joints)
    return lying(j) & (chest_normal(j)[:, 1] >= FACE_VERTICAL_COS)


@memoised
def lying_on_front(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: lying face down."""
    j = check_joints(joints)
    return lying(j) & (chest_normal(j)[:, 1] <= -FACE_VERTICAL_COS)


@memoised
def lying_on_side(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: lying on the body's ``side`` (that side down, the chest facing sideways)."""
    j, s = check_joints(joints), check_side(side)
    sideways = np.abs(chest_normal(j)[:, 1]) < FACE_VERTICAL_COS
    return lying(j) & sideways & (SIGN[s] * left_axis(j)[:, 1] < 0)


# ------------------------------------------------------------------------------ legs in motion
@memoised
def _stride_legs(j: np.ndarray) -> np.ndarray:
    d = joint(j, "left_ankle") - joint(j, "right_ankle")
    opposite = thigh_direction(j, "left")[:, 2] * thigh_direction(j, "right")[:, 2] < 0
    return ((np.abs(d[:, 2]) >= STRIDE_M) & opposite & (trunk_tilt(j) <= ACTIVE_MAX_TILT_DEG)
            & ~_horizontal(j))


@memoised
def running(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: a running step: a stride with a bent knee and both elbows bent."""
    j = check_joints(joints)
    knee = np.minimum(knee_angle(j, "left"), knee_angle(j, "right"))
    elbows = np.all([elbow_angle(j, s) <= RUN_ELBOW_DEG for s in SIDES], axis=0)
    no_hips = ~(hand_on_hip(j, "left") | hand_on_hip(j, "right"))
    return _stride_legs(j) & (knee <= RUN_KNEE_DEG) & elbows & no_hips


@memoised
def walking(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: standing mid-stride, one leg forward and one back, knees fairly straight, arms
    hanging."""
    j = check_joints(joints)
    knee = np.minimum(knee_angle(j, "left"), knee_angle(j, "right"))
    arms = np.all([arm_elevation(j, s) <= -WALK_ARM_DOWN_DEG for s in SIDES], axis=0)
    return _stride_legs(j) & (knee > RUN_KNEE_DEG) & arms & standing(j)


# ------------------------------------------------------------------------------ kneeling
@memoised
def knee_down(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: this knee rests on the floor, the shin lying back from it, the hip above it,
    trunk upright."""
    j, s = check_joints(joints), check_side(side)
    knee, ankle, hip = joint(j, f"{s}_knee"), joint(j, f"{s}_ankle"), joint(j, f"{s}_hip")
    return ((height(j, f"{s}_knee") <= KNEE_GROUND_M)
            & (ankle[:, 2] <= knee[:, 2] - KNEE_SHIN_BACK_M)
            & (np.abs(ankle[:, 1] - knee[:, 1]) <= KNEE_SHIN_LEVEL_M)
            & (hip[:, 1] >= knee[:, 1] + KNEE_HIP_ABOVE_M)
            & (thigh_direction(j, s)[:, 2] >= KNEE_THIGH_BACK)
            & (trunk_tilt(j) <= UPRIGHT_MAX_TILT_DEG) & ~running(j))


@memoised
def kneeling_on_both_knees(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: both knees down (upright or sitting back on the heels)."""
    j = check_joints(joints)
    return knee_down(j, "left") & knee_down(j, "right")


@memoised
def kneeling_on_one_knee(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: only the ``side`` knee is down."""
    j, s = check_joints(joints), check_side(side)
    return knee_down(j, s) & ~knee_down(j, OTHER[s])


@memoised
def kneeling(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: at least one knee down, or on all fours."""
    j = check_joints(joints)
    return knee_down(j, "left") | knee_down(j, "right") | on_all_fours(j)


# ------------------------------------------------------------------------------ jumping
@memoised
def tuck_jump(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: knees pulled up above the hips and bent, feet tucked ahead of the body: in the
    air (nothing under the body could hold it)."""
    j = check_joints(joints)
    pelvis = joint(j, "pelvis")
    feet_z = (joint(j, "left_ankle")[:, 2] + joint(j, "right_ankle")[:, 2]) / 2
    ok = (feet_z >= trunk_centre(j)[:, 2] + TUCK_FEET_AHEAD_M) & (trunk_tilt(j) <= UPRIGHT_MAX_TILT_DEG)
    for s in SIDES:
        ok &= ((joint(j, f"{s}_knee")[:, 1] >= pelvis[:, 1] + TUCK_KNEES_UP_M)
               & (knee_angle(j, s) <= TUCK_KNEE_DEG))
    return ok & ~kneeling(j) & ~_horizontal(j)


@memoised
def star_jump(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: straight legs spread out and both hands up and out (a jumping jack)."""
    j = check_joints(joints)
    ok = trunk_tilt(j) <= ACTIVE_MAX_TILT_DEG
    for s in SIDES:
        hand = joint(j, f"{s}_wrist")[:, 1] - joint(j, f"{s}_shoulder")[:, 1]
        arm = arm_direction(j, s)
        ok &= ((outward(thigh_direction(j, s), s) >= STAR_LEG_OUT)
               & (knee_angle(j, s) >= STRAIGHT_KNEE_DEG) & (hand >= STAR_HAND_UP_M)
               & (outward(arm, s) >= 0.5 * np.linalg.norm(arm[:, [0, 2]], axis=-1)))
    return ok


@memoised
def jumping(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: a tuck jump or a star jump."""
    j = check_joints(joints)
    return tuck_jump(j) | star_jump(j)


# ------------------------------------------------------------------------------ sitting
def _thigh_level_forward(j: np.ndarray, side: str) -> np.ndarray:
    t = thigh_direction(j, side)
    return (np.abs(t[:, 1]) <= THIGH_LEVEL_MAX) & (t[:, 2] > 0)


@memoised
def _seated(j: np.ndarray) -> np.ndarray:
    return (trunk_tilt(j) <= UPRIGHT_MAX_TILT_DEG) & ~kneeling(j) & ~jumping(j) & ~_horizontal(j)


@memoised
def sitting_on_chair(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: thighs level and forward, shins down, feet ahead of the pelvis (on a seat)."""
    j = check_joints(joints)
    feet_z = (joint(j, "left_ankle")[:, 2] + joint(j, "right_ankle")[:, 2]) / 2
    ok = _seated(j) & (feet_z > trunk_centre(j)[:, 2] + SQUAT_BALANCE_M)
    for s in SIDES:
        knee, ankle = joint(j, f"{s}_knee"), joint(j, f"{s}_ankle")
        ok &= (_thigh_level_forward(j, s) & (ankle[:, 1] <= knee[:, 1] - CHAIR_SHIN_DROP_M)
               & (knee_angle(j, s) >= CHAIR_MIN_KNEE_DEG))
    return ok


@memoised
def sitting_on_floor(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: legs out in front on the floor (ankles far forward, not below the pelvis)."""
    j = check_joints(joints)
    pelvis = joint(j, "pelvis")
    ok = _seated(j)
    for s in SIDES:
        ankle = joint(j, f"{s}_ankle")
        ok &= (_thigh_level_forward(j, s) & (ankle[:, 2] >= pelvis[:, 2] + FLOOR_FEET_FORWARD_M)
               & (ankle[:, 1] >= pelvis[:, 1] - FLOOR_FEET_DROP_M))
    return ok


@memoised
def sitting_cross_legged(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: thighs forward and turned out, shins folded in towards the middle."""
    j = check_joints(joints)
    apart = np.linalg.norm(joint(j, "left_knee") - joint(j, "right_knee"), axis=-1)
    ok = _seated(j) & (apart >= CROSS_KNEES_APART_M)
    for s in SIDES:
        t = thigh_direction(j, s)
        ankle_in = SIGN[s] * (joint(j, f"{s}_knee")[:, 0] - joint(j, f"{s}_ankle")[:, 0])
        ok &= ((outward(t, s) >= CROSS_THIGH_OUT) & (t[:, 2] > 0) & (t[:, 1] <= CROSS_THIGH_UP)
               & (ankle_in >= CROSS_ANKLE_IN_M) & (knee_angle(j, s) < CROSS_KNEE_DEG))
    return ok


@memoised
def sitting(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: on a chair, on the floor with the legs out, or cross-legged."""
    j = check_joints(joints)
    return sitting_on_chair(j) | sitting_on_floor(j) | sitting_cross_legged(j)


# ------------------------------------------------------------------------------ squat, lunge
@memoised
def _feet_down(j: np.ndarray) -> np.ndarray:
    return (foot_height(j, "left") <= FEET_DOWN_M) & (foot_height(j, "right") <= FEET_DOWN_M)


@memoised
def squatting(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: both knees deeply bent, hips down near knee level, weight over the feet."""
    j = check_joints(joints)
    pelvis = joint(j, "pelvis")
    feet_z = (joint(j, "left_ankle")[:, 2] + joint(j, "right_ankle")[:, 2]) / 2
    ok = (np.abs(trunk_centre(j)[:, 2] - feet_z) <= SQUAT_BALANCE_M) & _feet_down(j)
    for s in SIDES:
        ok &= ((knee_angle(j, s) <= SQUAT_KNEE_DEG)
               & (pelvis[:, 1] <= joint(j, f"{s}_knee")[:, 1] + SQUAT_PELVIS_ABOVE_KNEE_M)
               & (joint(j, f"{s}_ankle")[:, 1] < pelvis[:, 1]))
    return ok & _seated(j) & ~sitting(j)


@memoised
def crouching(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: a squat with the trunk leaning well forward or both hands below the knees."""
    j = check_joints(joints)
    knees_y = np.minimum(joint(j, "left_knee")[:, 1], joint(j, "right_knee")[:, 1])
    hands_y = np.maximum(joint(j, "left_wrist")[:, 1], joint(j, "right_wrist")[:, 1])
    return squatting(j) & ((forward_lean(j) >= CROUCH_LEAN_DEG) | (hands_y < knees_y))


@memoised
def _lunge_base(j: np.ndarray) -> np.ndarray:
    return ((height(j, "pelvis") <= LUNGE_MAX_PELVIS_M) & (trunk_tilt(j) <= UPRIGHT_MAX_TILT_DEG)
            & ~kneeling(j) & ~_horizontal(j) & ~running(j) & ~jumping(j) & ~sitting(j))


@memoised
def lunging_forward(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: a lunge with the ``side`` leg in front, its knee bent, the other leg back."""
    j, s = check_joints(joints), check_side(side)
    o = OTHER[s]
    front, back = joint(j, f"{s}_ankle"), joint(j, f"{o}_ankle")
    return ((front[:, 2] - back[:, 2] >= LUNGE_FEET_APART_M)
            & (knee_angle(j, s) <= BENT_KNEE_DEG) & (thigh_lift(j, s) >= LUNGE_FRONT_LIFT_DEG)
            & (thigh_direction(j, s)[:, 2] > 0)
            & (thigh_direction(j, o)[:, 2] <= LUNGE_BACK_THIGH) & _lunge_base(j))


@memoised
def lunging_sideways(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: a side lunge towards ``side``: that knee bent, the other leg straight and out."""
    j, s = check_joints(joints), check_side(side)
    o = OTHER[s]
    apart = SIGN[s] * (joint(j, f"{s}_ankle")[:, 0] - joint(j, f"{o}_ankle")[:, 0])
    return ((apart >= LUNGE_FEET_APART_M) & (knee_angle(j, s) <= BENT_KNEE_DEG)
            & (knee_angle(j, o) >= STRAIGHT_KNEE_DEG) & (outward(thigh_direction(j, o), o) > 0)
            & _lunge_base(j) & ~lunging_forward(j, "left") & ~lunging_forward(j, "right"))


@memoised
def lunging(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: any forward or side lunge."""
    j = check_joints(joints)
    return np.any([f(j, s) for f in (lunging_forward, lunging_sideways) for s in SIDES], axis=0)


# ------------------------------------------------------------------------------ standing
@memoised
def standing(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: on one or both feet with the hips at standing height (leaning allowed), or
    mid-run; none of the lower postures."""
    j = check_joints(joints)
    on_foot = (foot_height(j, "left") <= GROUND_TOL_M) | (foot_height(j, "right") <= GROUND_TOL_M)
    upright = (on_foot & (height(j, "pelvis") >= STAND_MIN_PELVIS_M)
               & (trunk_tilt(j) < LYING_MAX_TILT_DEG))
    lower = kneeling(j) | sitting(j) | squatting(j) | jumping(j) | lunging(j)
    return (upright | running(j)) & ~lower & ~lying(j) & ~push_up(j) & ~plank(j)


@memoised
def standing_on_one_leg(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: standing on the ``side`` leg (fairly straight), the other foot off the ground."""
    j, s = check_joints(joints), check_side(side)
    return (standing(j) & ~running(j) & (foot_height(j, s) <= GROUND_TOL_M)
            & (foot_height(j, OTHER[s]) >= FOOT_RAISED_M) & (knee_angle(j, s) >= BENT_KNEE_DEG))


@memoised
def legs_apart(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: the feet down and at least a leg length apart sideways (a wide stance)."""
    j = check_joints(joints)
    apart = np.abs(joint(j, "left_ankle")[:, 0] - joint(j, "right_ankle")[:, 0])
    return (apart >= LUNGE_FEET_APART_M) & _feet_down(j) & ~_horizontal(j)


@memoised
def kicking(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` leg lifted high and extended, standing on the other leg."""
    j, s = check_joints(joints), check_side(side)
    o = OTHER[s]
    return ((thigh_lift(j, s) >= KICK_LIFT_DEG) & (knee_angle(j, s) >= KICK_KNEE_DEG)
            & (foot_height(j, o) <= GROUND_TOL_M) & (knee_angle(j, o) >= BENT_KNEE_DEG)
            & (thigh_lift(j, o) <= KICK_STANCE_DEG)
            & (height(j, "pelvis") >= STAND_MIN_PELVIS_M) & ~_horizontal(j))


@memoised
def bending_forward(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: the trunk bent over forwards (not lying, not on all fours)."""
    j = check_joints(joints)
    flat = lying(j) | on_all_fours(j) | push_up(j) | plank(j)
    return (forward_lean(j) >= BEND_FORWARD_DEG) & ~flat


@memoised
def bending_backward(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: the trunk leaning back (not lying)."""
    j = check_joints(joints)
    return (forward_lean(j) <= -BEND_BACKWARD_DEG) & ~lying(j)


@memoised
def bending_sideways(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the upper body leaning towards the body's ``side`` (not lying)."""
    j, s = check_joints(joints), check_side(side)
    return (SIGN[s] * side_lean(j) >= BEND_SIDEWAYS_DEG) & ~lying(j)


# ------------------------------------------------------------------------------ summary
_MAIN_CHECKS: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("lying", lying), ("plank", lambda j: push_up(j) | plank(j)), ("jumping", jumping),
    ("kneeling", kneeling), ("sitting", sitting), ("squatting", squatting),
    ("lunging", lunging), ("standing", standing),
)


@memoised
def main_posture(joints: np.ndarray) -> np.ndarray:
    """The main posture ``(N,)`` (str): the first of :data:`MAIN_POSTURES` that holds
    (``"other"`` when none does)."""
    j = check_joints(joints)
    out = np.full(len(j), "other", dtype=object)
    for name, fn in reversed(_MAIN_CHECKS):  # higher priority overwrites
        out[fn(j)] = name
    return out.astype(str)


def posture_variant(joints: np.ndarray) -> np.ndarray:
    """A finer label ``(N,)`` (str) inside the main posture, the side spelled out where it
    matters: ``lying:back|front``, ``lying:side:<down side>``, ``plank:push_up|forearms``,
    ``jumping:tuck|star``, ``kneeling:both|all_fours``, ``kneeling:one:<knee down>``,
    ``sitting:chair|floor|cross_legged``, ``squatting:crouch``, ``lunging:forward:<front leg>``,
    ``lunging:side:<bent leg>``, ``standing:run``, ``standing:walk``,
    ``standing:one_leg:<standing leg>``; the bare main posture when none applies."""
    j = check_joints(joints)
    main = main_posture(j)
    out = main.astype(object)
    rules: list[tuple[str, str, np.ndarray]] = [
        ("lying", "lying:back", lying_on_back(j)), ("lying", "lying:front", lying_on_front(j)),
        ("plank", "plank:push_up", push_up(j)), ("plank", "plank:forearms", plank(j)),
        ("jumping", "jumping:tuck", tuck_jump(j)), ("jumping", "jumping:star", star_jump(j)),
        ("kneeling", "kneeling:both", kneeling_on_both_knees(j)),
        ("kneeling", "kneeling:all_fours", on_all_fours(j)),
        ("sitting", "sitting:chair", sitting_on_chair(j)),
        ("sitting", "sitting:floor", sitting_on_floor(j)),
        ("sitting", "sitting:cross_legged", sitting_cross_legged(j)),
        ("squatting", "squatting:crouch", crouching(j)),
        ("standing", "standing:walk", walking(j)),
    ]
    rules += [("lying", f"lying:side:{s}", lying_on_side(j, s)) for s in SIDES]
    rules += [("kneeling", f"kneeling:one:{s}", kneeling_on_one_knee(j, s)) for s in SIDES]
    rules += [("lunging", f"lunging:forward:{s}", lunging_forward(j, s)) for s in SIDES]
    rules += [("lunging", f"lunging:side:{s}", lunging_sideways(j, s)) for s in SIDES]
    rules += [("standing", f"standing:one_leg:{s}", standing_on_one_leg(j, s)) for s in SIDES]
    rules += [("standing", "standing:run", running(j))]
    for m, label, mask in rules:  # later rules win where two apply
        out[(main == m) & mask] = label
    return out.astype(str)


_FLAGS: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
    bending_forward, bending_backward, legs_apart, walking, running,
)
_SIDED_FLAGS: tuple[Callable[[np.ndarray, str], np.ndarray], ...] = (bending_sideways, kicking)
_ARM_FLAGS: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
    arms_down, t_pose, a_pose, arms_crossed, hands_on_hips, hands_on_head, hands_behind_head,
    boxing_guard,
)
_SIDED_ARM_FLAGS: tuple[Callable[[np.ndarray, str], np.ndarray], ...] = (
    arm_raised, arm_overhead, arm_out_to_side, hand_on_hip, reaching_forward, pointing, punching,
    waving, throwing,
)
# Arm flags that still mean something for a body lying down (read in its own frame).
FLAT_ARM_FLAGS = frozenset({"arms_down", "arms_crossed", "hands_on_hips", "hands_on_head",
                            "hands_behind_head", "arm_overhead", "arm_out_to_side", "hand_on_hip"})


def detect(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Everything at once: ``"main"`` and ``"variant"`` -> ``(N,)`` str
    (:func:`main_posture`, :func:`posture_variant`), and each flag ``name`` or ``name:side``
    (e.g. ``"arm_raised:left"``) -> ``(N,)`` bool.

    For bodies lying or propped horizontally the arm flags are read in the body's own frame
    (:func:`.body_frame.upright_joints`: "overhead" is past the head along the trunk, not towards
    the ceiling), and only the ones that make sense there are kept (:data:`FLAT_ARM_FLAGS`).
    """
    j = check_joints(joints)
    out: dict[str, np.ndarray] = {"main": main_posture(j), "variant": posture_variant(j)}
    flat = np.isin(out["main"], ("lying", "plank"))
    righted = upright_joints(j)
    for fn in _FLAGS:
        out[fn.__name__] = fn(j)
    for sided in _SIDED_FLAGS:
        for s in SIDES:
            out[f"{sided.__name__}:{s}"] = sided(j, s)
    for fn in _ARM_FLAGS:
        out[fn.__name__] = np.where(flat, fn(righted) & (fn.__name__ in FLAT_ARM_FLAGS), fn(j))
    for sided in _SIDED_ARM_FLAGS:
        for s in SIDES:
            keep = sided.__name__ in FLAT_ARM_FLAGS
            out[f"{sided.__name__}:{s}"] = np.where(flat, sided(righted, s) & keep, sided(j, s))
    return out
