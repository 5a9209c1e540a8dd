"""Everyday arm postures and gestures on body joints: raised, out to the sides, crossed, hands on
the hips or head, T-pose, A-pose, waving, pointing, reaching, punching, boxing guard, throwing.

Every predicate reads joints ``(N, 22, 3)`` (canonical frame: +y up, the body faces +z, +x is the
body's own left; see :mod:`.body_frame`) and returns ``(N,)`` bool; per-side ones take ``side`` =
``"left"`` / ``"right"``, the body's own side. Whole-body conditions (not lying, upright) are left
to the caller (:mod:`.postures`), except where the gesture only makes sense upright.
"""

from __future__ import annotations

import numpy as np

from pose_search.data.captioning.body_frame import (
    OTHER,
    SIDES,
    ahead_share,
    arm_direction,
    arm_elevation,
    check_joints,
    check_side,
    elbow_angle,
    joint,
    memoised,
    outward,
    sideways_share,
)

__all__ = [
    "arm_raised", "arm_overhead", "arm_out_to_side", "arms_down", "t_pose", "a_pose",
    "arms_crossed", "hand_on_hip", "hands_on_hips", "hands_on_head", "hands_behind_head",
    "reaching_forward", "pointing", "boxing_guard", "punching", "waving", "throwing",
]

# A hand is raised when the wrist is >= 15 cm above its shoulder; overhead when >= 10 cm above the
# head joint (which sits at ear level, so the hand is about level with the top of the head).
HAND_RAISED_M = 0.15
HAND_OVERHEAD_M = 0.10
# A straight elbow: >= 150 deg (PoseScript calls 135..160 "slightly bent", > 160 straight).
STRAIGHT_ELBOW_DEG = 150.0
# Arm out to the side: shoulder -> wrist within 30 deg of horizontal, its horizontal part within
# ~45 deg of straight out (cos 0.7), the elbow not folded (>= 125 deg).
ARM_LEVEL_DEG = 30.0
ARM_SIDEWAYS_COS = 0.7
ARM_OPEN_ELBOW_DEG = 125.0
# T-pose: arms level within 20 deg and straight out (cos 0.85 ~ 30 deg); A-pose: the same but
# 20..60 deg below horizontal. The trunk within 20 deg of vertical for both.
T_LEVEL_DEG = 20.0
T_SIDEWAYS_COS = 0.85
A_MIN_DROP_DEG = 20.0
A_MAX_DROP_DEG = 60.0
REFERENCE_POSE_TILT_DEG = 20.0
# Arms down: shoulder -> wrist >= 45 deg below horizontal (a relaxed arm with its elbow eased
# forward is 55-85 deg; hands on the hips also count, the caption layer prefers those).
ARM_DOWN_DEG = 45.0
# Hands on the hips: wrist within 30 cm of the hip joint and at most 25 cm above it, the elbow
# bent (< 130 deg) and out (>= 10 cm beyond the shoulder): hanging arms also end near the hips.
HAND_HIP_M = 0.30
HAND_HIP_ABOVE_M = 0.25
HAND_HIP_ELBOW_DEG = 130.0
ELBOW_OUT_M = 0.10
# Hands on the head: wrist within 25 cm of the head joint; behind it: >= 2 cm behind.
HAND_HEAD_M = 0.25
HAND_BEHIND_M = 0.02
# Arms crossed: each wrist at most 10 cm short of the body's midline (or past it), in front of the
# chest, forearms folded level (wrist within 12 cm of the elbow's height: hands joined in front of
# the chest point the forearms up), elbows bent past 70 deg (inner < 110).
CROSS_WRIST_PAST_M = 0.10
CROSS_FOREARM_LEVEL_M = 0.12
CROSS_ELBOW_DEG = 110.0
# Pointing / reaching: a straight arm at most 25 deg below horizontal; pointing keeps it below
# 50 deg up (higher is a raised arm) and the other arm hanging; reaching forward points its
# horizontal part within ~45 deg of straight ahead and stays below 60 deg up.
POINT_MIN_ELEV_DEG = -25.0
POINT_MAX_ELEV_DEG = 50.0
REACH_MAX_ELEV_DEG = 60.0
REACH_FORWARD_COS = 0.7
# Boxing guard: elbows bent past 80 deg (inner <= 100), forearms up (fist >= 10 cm above the
# elbow), fists >= 10 cm in front of the shoulders, between 12 cm below shoulder height and just
# above the head joint (+10 cm).
GUARD_ELBOW_DEG = 100.0
GUARD_FORWARD_M = 0.10
GUARD_FOREARM_UP_M = 0.10
GUARD_LOW_M = 0.12
# Punching: a straight arm with the fist >= 40 cm in front of the shoulder, within 15 cm of its
# height, the other fist in guard.
PUNCH_REACH_M = 0.40
PUNCH_LEVEL_M = 0.15
# Waving: forearm up (wrist >= 12 cm above the elbow), the elbow bent 40..150 deg and out to the
# side, at most 25 cm above the shoulder (higher is a raised arm), the hand above the shoulder.
WAVE_FOREARM_UP_M = 0.12
WAVE_ELBOW_MIN_DEG = 40.0
WAVE_ELBOW_MAX_DEG = 150.0
WAVE_ELBOW_HIGH_M = 0.25
# Throwing: the hand cocked above (+5 cm) and >= 5 cm behind its shoulder, the elbow bent (< 155)
# and not in front of the shoulder (+2 cm), the other hand >= 10 cm in front of its shoulder.
THROW_BACK_M = 0.05
THROW_ELBOW_DEG = 155.0


@memoised
def arm_raised(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` hand clearly above its shoulder."""
    j, s = check_joints(joints), check_side(side)
    return joint(j, f"{s}_wrist")[:, 1] >= joint(j, f"{s}_shoulder")[:, 1] + HAND_RAISED_M


@memoised
def arm_overhead(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` hand above the head."""
    j, s = check_joints(joints), check_side(side)
    return joint(j, f"{s}_wrist")[:, 1] >= joint(j, "head")[:, 1] + HAND_OVERHEAD_M


@memoised
def arm_out_to_side(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` arm held out sideways, roughly level, the elbow open."""
    j, s = check_joints(joints), check_side(side)
    return ((np.abs(arm_elevation(j, s)) <= ARM_LEVEL_DEG)
            & (sideways_share(arm_direction(j, s), s) >= ARM_SIDEWAYS_COS)
            & (elbow_angle(j, s) >= ARM_OPEN_ELBOW_DEG))


@memoised
def arms_down(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: both arms hanging down."""
    j = check_joints(joints)
    return np.all([arm_elevation(j, s) <= -ARM_DOWN_DEG for s in SIDES], axis=0)


def _reference_pose(j: np.ndarray, low: float, high: float) -> np.ndarray:
    """Both arms straight, sideways, ``-high..-low`` degrees below horizontal, trunk upright."""
    trunk = joint(j, "neck") - joint(j, "pelvis")
    upright = trunk[:, 1] >= np.cos(np.radians(REFERENCE_POSE_TILT_DEG)) * np.linalg.norm(trunk, axis=-1)
    ok = upright
    for s in SIDES:
        drop = -arm_elevation(j, s)
        ok &= ((drop >= low) & (drop <= high) & (elbow_angle(j, s) >= STRAIGHT_ELBOW_DEG)
               & (sideways_share(arm_direction(j, s), s) >= T_SIDEWAYS_COS))
    return ok


@memoised
def t_pose(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: both arms straight out to the sides at shoulder height, trunk upright."""
    return _reference_pose(check_joints(joints), -T_LEVEL_DEG, T_LEVEL_DEG)


@memoised
def a_pose(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: both arms straight, angled down and out (between a T-pose and hanging)."""
    return _reference_pose(check_joints(joints), A_MIN_DROP_DEG, A_MAX_DROP_DEG)


@memoised
def arms_crossed(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: forearms folded across the chest, the wrists at or past the body's middle."""
    j = check_joints(joints)
    lw, rw = joint(j, "left_wrist"), joint(j, "right_wrist")
    mid_x = (joint(j, "spine3")[:, 0] + joint(j, "pelvis")[:, 0]) / 2
    crossed = (lw[:, 0] <= mid_x + CROSS_WRIST_PAST_M) & (rw[:, 0] >= mid_x - CROSS_WRIST_PAST_M)
    chest_z = joint(j, "spine3")[:, 2]
    in_front = (lw[:, 2] > chest_z) & (rw[:, 2] > chest_z)
    low, high = joint(j, "pelvis")[:, 1], joint(j, "neck")[:, 1]
    ok = crossed & in_front
    for s, w in (("left", lw), ("right", rw)):
        level = np.abs(w[:, 1] - joint(j, f"{s}_elbow")[:, 1]) <= CROSS_FOREARM_LEVEL_M
        ok &= level & (w[:, 1] > low) & (w[:, 1] < high) & (elbow_angle(j, s) < CROSS_ELBOW_DEG)
    return ok


@memoised
def hand_on_hip(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` hand on its hip, the elbow bent and pointing out."""
    j, s = check_joints(joints), check_side(side)
    w, hip = joint(j, f"{s}_wrist"), joint(j, f"{s}_hip")
    near = (np.linalg.norm(w - hip, axis=-1) <= HAND_HIP_M) & (w[:, 1] <= hip[:, 1] + HAND_HIP_ABOVE_M)
    elbow_out = outward(joint(j, f"{s}_elbow") - joint(j, f"{s}_shoulder"), s) >= ELBOW_OUT_M
    return near & elbow_out & (elbow_angle(j, s) < HAND_HIP_ELBOW_DEG)


@memoised
def hands_on_hips(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: both hands on the hips."""
    j = check_joints(joints)
    return hand_on_hip(j, "left") & hand_on_hip(j, "right")


@memoised
def hands_on_head(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: both hands on (or just above) the head."""
    j = check_joints(joints)
    head = joint(j, "head")
    return np.all([np.linalg.norm(joint(j, f"{s}_wrist") - head, axis=-1) <= HAND_HEAD_M
                   for s in SIDES], axis=0)


@memoised
def hands_behind_head(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: both hands on the head and behind it."""
    j = check_joints(joints)
    head_z = joint(j, "head")[:, 2]
    behind = np.all([joint(j, f"{s}_wrist")[:, 2] <= head_z - HAND_BEHIND_M for s in SIDES], axis=0)
    return hands_on_head(j) & behind


@memoised
def _held_out(j: np.ndarray, s: str) -> np.ndarray:
    return (elbow_angle(j, s) >= STRAIGHT_ELBOW_DEG) & (arm_elevation(j, s) >= POINT_MIN_ELEV_DEG)


@memoised
def reaching_forward(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` arm stretched out in front."""
    j, s = check_joints(joints), check_side(side)
    return (_held_out(j, s) & (ahead_share(arm_direction(j, s)) >= REACH_FORWARD_COS)
            & (arm_elevation(j, s) <= REACH_MAX_ELEV_DEG))


@memoised
def pointing(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` arm held out straight (not up) while the other arm hangs."""
    j, s = check_joints(joints), check_side(side)
    return (_held_out(j, s) & (arm_elevation(j, s) <= POINT_MAX_ELEV_DEG)
            & (arm_elevation(j, OTHER[s]) <= -ARM_DOWN_DEG))


@memoised
def _guard(j: np.ndarray, s: str) -> np.ndarray:
    w, sh = joint(j, f"{s}_wrist"), joint(j, f"{s}_shoulder")
    forearm_up = w[:, 1] >= joint(j, f"{s}_elbow")[:, 1] + GUARD_FOREARM_UP_M
    return ((elbow_angle(j, s) <= GUARD_ELBOW_DEG) & (w[:, 2] >= sh[:, 2] + GUARD_FORWARD_M)
            & forearm_up & (w[:, 1] >= sh[:, 1] - GUARD_LOW_M)
            & (w[:, 1] <= joint(j, "head")[:, 1] + 0.10))


@memoised
def boxing_guard(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: both elbows bent, fists up in front of the chin."""
    j = check_joints(joints)
    return _guard(j, "left") & _guard(j, "right")


@memoised
def punching(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` arm shot straight forward at shoulder height, the other fist up."""
    j, s = check_joints(joints), check_side(side)
    w, sh = joint(j, f"{s}_wrist"), joint(j, f"{s}_shoulder")
    straight = (elbow_angle(j, s) >= STRAIGHT_ELBOW_DEG) & (w[:, 2] >= sh[:, 2] + PUNCH_REACH_M)
    return straight & (np.abs(w[:, 1] - sh[:, 1]) <= PUNCH_LEVEL_M) & _guard(j, OTHER[s])


@memoised
def waving(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` forearm up, elbow bent and out to the side, hand above the shoulder."""
    j, s = check_joints(joints), check_side(side)
    w, e, sh = joint(j, f"{s}_wrist"), joint(j, f"{s}_elbow"), joint(j, f"{s}_shoulder")
    ang = elbow_angle(j, s)
    return ((w[:, 1] >= e[:, 1] + WAVE_FOREARM_UP_M) & (ang >= WAVE_ELBOW_MIN_DEG)
            & (ang <= WAVE_ELBOW_MAX_DEG) & (sideways_share(e - sh, s) >= 0.5)
            & (e[:, 1] <= sh[:, 1] + WAVE_ELBOW_HIGH_M) & (w[:, 1] >= sh[:, 1] + 0.05))


@memoised
def throwing(joints: np.ndarray, side: str) -> np.ndarray:
    """``(N,)``: the ``side`` hand cocked up behind the shoulder, the other arm forward."""
    j, s = check_joints(joints), check_side(side)
    w, sh = joint(j, f"{s}_wrist"), joint(j, f"{s}_shoulder")
    cocked = ((w[:, 1] >= sh[:, 1] + 0.05) & (w[:, 2] <= sh[:, 2] - THROW_BACK_M)
              & (elbow_angle(j, s) < THROW_ELBOW_DEG)
              & (joint(j, f"{s}_elbow")[:, 2] <= sh[:, 2] + 0.02))
    o = OTHER[s]
    return cocked & (joint(j, f"{o}_wrist")[:, 2] >= joint(j, f"{o}_shoulder")[:, 2] + 0.1)
