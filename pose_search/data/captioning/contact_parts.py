"""Segmentation of the anny mesh into the 41 self-contact parts of PoseScript (spec section 6).

Per side: index, hand, wrist, forearm, elbow, upperarm, toes, foot, ankle, lowerleg, knee,
thigh, shoulder, hip, torsoside; centre: face, crown, head, neck, throat, belly, chest,
upperback, lowerback, butt, crotch. Part names are glued words ("upperarm", "upperback") like the
rest of the captioner; the text post-processing splits them.

Derivation (any topology of anny's default rig; computed on the neutral T-pose, canonical frame
+y up, facing +z, +x = body's left):

1. Coarse labels from skinning (:func:`pose_search.body.parts.anny_vertex_parts`, borders
   straightened at elbow, wrist, knee, ankle and waist).
2. Limbs: ``index`` = hand vertices skinned mostly (> 50 %) to the ``finger2`` bones (anny's
   index finger; ``finger1`` is the thumb). ``wrist``, ``elbow``, ``knee`` and ``ankle`` = limb
   vertices within a slab around the joint, measured along the limb axis (half-widths in
   :data:`JOINT_SLABS`). ``toes`` = foot vertices ahead of the toe-base joint. ``shoulder`` = arm
   or trunk vertices within :data:`SHOULDER_RADIUS` of the shoulder joint, above the armpit.
3. Trunk: a front/back split by the sign of ``z`` relative to the trunk's mid-depth at that height
   (:func:`_trunk_profile`). Above the waist, front is ``chest`` above / ``belly`` below the
   ribcage line (:data:`RIB_FRACTION` of the way from spine2 to spine3), back is ``upperback`` /
   ``lowerback`` likewise; lateral torso vertices (within :data:`SIDE_HALF_ANGLE` of +-x in the
   trunk's cross-section normalised by its half-width and half-depth) between the hips and the
   armpits are ``torsoside``. Below the waist: back -> ``butt`` (with the thigh vertices more than
   :data:`BUTT_BEHIND` behind mid-depth down to the gluteal fold), front -> ``belly`` down to
   :data:`CROTCH_ABOVE_HIP` above the hip joints and ``crotch`` below (plus the inner thighs
   between the legs up to 10 cm below the hips), lateral -> ``hip`` (with the top of the thigh).
4. Head: ``crown`` = top (:data:`CROWN_FRACTION` of the head's height and up), ``face`` = front
   (within :data:`FACE_HALF_ANGLE` of +z seen from the head axis), ``head`` = the rest (back and
   sides). Neck: front -> ``throat``, rest -> ``neck``.

Vertices outside the mesh's main connected component (the full mesh's eyes and mouth interior)
get label ``-1`` and never take part in contacts.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from pose_search.body.convention import JOINT_INDEX
from pose_search.body.parts import PART_INDEX as COARSE
from pose_search.body.parts import anny_vertex_parts

__all__ = [
    "SIDE_PARTS",
    "CENTRE_PARTS",
    "CONTACT_PARTS",
    "CONTACT_PART_INDEX",
    "REPORTED",
    "contact_part_name",
    "segment_contact_parts",
]

logger = logging.getLogger(__name__)

SIDE_PARTS: tuple[str, ...] = (
    "index",
    "hand",
    "wrist",
    "forearm",
    "elbow",
    "upperarm",
    "toes",
    "foot",
    "ankle",
    "lowerleg",
    "knee",
    "thigh",
    "shoulder",
    "hip",
    "torsoside",
)
CENTRE_PARTS: tuple[str, ...] = (
    "face",
    "crown",
    "head",
    "neck",
    "throat",
    "belly",
    "chest",
    "upperback",
    "lowerback",
    "butt",
    "crotch",
)
# (side, part) of each of the 41 parts, in the spec's priority order: left side, right side, centre.
CONTACT_PARTS: tuple[tuple[str | None, str], ...] = (
    tuple(("left", p) for p in SIDE_PARTS)
    + tuple(("right", p) for p in SIDE_PARTS)
    + tuple((None, p) for p in CENTRE_PARTS)
)
CONTACT_PART_INDEX: dict[tuple[str | None, str], int] = {
    sp: i for i, sp in enumerate(CONTACT_PARTS)
}
# Parts that may appear in a touch code (the spec leaves torso-side out of the priority list).
REPORTED: np.ndarray = np.array([p != "torsoside" for _, p in CONTACT_PARTS])

JOINT_SLABS: dict[str, float] = {"wrist": 0.03, "elbow": 0.05, "knee": 0.06, "ankle": 0.045}
PROFILE_HALF_WINDOW = 0.04  # m, height window of the trunk profile
SHOULDER_RADIUS = 0.10  # m around the shoulder joint
ARMPIT_BELOW_SHOULDER = 0.05  # m; shoulder vertices must be above shoulder_y - this
RIB_FRACTION = 0.3  # chest/belly and upper/lower back line, from spine2 (0) to spine3 (1)
CROTCH_ABOVE_HIP = 0.06  # m; front pelvis below hip_y + this is crotch
SIDE_HALF_ANGLE = 35.0  # degrees around +-x for torsoside / hip
BUTT_BEHIND = 0.03  # m behind the trunk's mid-depth
BUTT_BELOW_HIP = 0.12  # m; the gluteal fold below the hip joints
ARMPIT_BELOW = 0.07  # m below the shoulder joint: torsoside ends here
CROWN_FRACTION = 0.82
FACE_HALF_ANGLE = 60.0  # degrees around +z for the face
THROAT_HALF_ANGLE = 70.0


def contact_part_name(index: int) -> str:
    """``"left_hand"``-style name of contact part ``index`` (``"face"`` for central parts)."""
    side, part = CONTACT_PARTS[index]
    return f"{side}_{part}" if side else part


def _to_numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


def _slab(v: np.ndarray, joint: np.ndarray, axis: np.ndarray, half: float) -> np.ndarray:
    a = axis / np.linalg.norm(axis)
    return np.abs((v - joint) @ a) <= half


def _trunk_profile(v: np.ndarray, trunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trunk mid-depth ``z``, half-width and half-depth at every vertex's height, each ``(V,)``.

    Measured on ``trunk`` vertices in height windows of +-:data:`PROFILE_HALF_WINDOW` every 2 cm
    (depth on the central 16 cm of width only; the coarse mesh needs wide windows to see both the
    front and the back in each), interpolated in height.
    """
    tv = v[trunk]
    centres, mids, widths, depths = [], [], [], []
    for c in np.arange(tv[:, 1].min(), tv[:, 1].max() + 0.02, 0.02):
        sl = tv[np.abs(tv[:, 1] - c) < PROFILE_HALF_WINDOW]
        core = sl[np.abs(sl[:, 0]) < 0.08]
        if len(core) >= 4:
            centres.append(c)
            mids.append(0.5 * (core[:, 2].min() + core[:, 2].max()))
            depths.append(max(0.5 * np.ptp(core[:, 2]), 0.02))
            widths.append(max(np.abs(sl[:, 0]).max(), 0.02))
    y = v[:, 1]
    return np.interp(y, centres, mids), np.interp(y, centres, widths), np.interp(y, centres, depths)


def _angle_to(dx: np.ndarray, dz: np.ndarray, ax: float, az: float) -> np.ndarray:
    """Angle (degrees) between horizontal directions ``(dx, dz)`` and ``(ax, az)``."""
    n = np.hypot(dx, dz) + 1e-9
    return np.degrees(np.arccos(np.clip((dx * ax + dz * az) / n, -1.0, 1.0)))


def segment_contact_parts(
    model: Any, rest_vertices: np.ndarray, rest_joints: np.ndarray, main: np.ndarray
) -> np.ndarray:
    """Contact-part label of every vertex.

    Args:
        model: an ``anny.Anny`` model (reads its skinning, see :mod:`pose_search.body.parts`).
        rest_vertices: ``(V, 3)`` neutral T-pose vertices, canonical frame, metres.
        rest_joints: ``(22, 3)`` neutral T-pose joints, same frame.
        main: ``(V,)`` bool, vertices of the mesh's main connected component.

    Returns:
        ``(V,)`` int64 indices into :data:`CONTACT_PARTS`, ``-1`` outside ``main``.
    """
    v = np.asarray(rest_vertices, dtype=np.float64)
    j = np.asarray(rest_joints, dtype=np.float64)
    coarse = anny_vertex_parts(model, with_hair=False)
    coarse[coarse == COARSE["eyes"]] = COARSE["head"]
    out = np.full(len(v), -1, dtype=np.int64)

    def jt(name: str) -> np.ndarray:
        return j[JOINT_INDEX[name]]

    def put(mask: np.ndarray, side: str | None, part: str) -> None:
        out[mask] = CONTACT_PART_INDEX[(side, part)]

    is_ = {name: coarse == COARSE[name] for name in ("head", "neck", "torso", "pelvis")}
    trunk = is_["torso"] | is_["pelvis"]
    mid_z, half_w, half_d = _trunk_profile(v, trunk | is_["neck"])
    front = v[:, 2] > mid_z
    lateral = (
        _angle_to(np.abs(v[:, 0]) / half_w, (v[:, 2] - mid_z) / half_d, 1.0, 0.0) < SIDE_HALF_ANGLE
    )
    waist_rib = jt("spine2")[1] + RIB_FRACTION * (jt("spine3")[1] - jt("spine2")[1])

    # trunk above the waist
    up = v[:, 1] > waist_rib
    put(is_["torso"] & front & up, None, "chest")
    put(is_["torso"] & front & ~up, None, "belly")
    put(is_["torso"] & ~front & up, None, "upperback")
    put(is_["torso"] & ~front & ~up, None, "lowerback")
    # below the waist
    hip_y = jt("left_hip")[1]
    thighs = (coarse == COARSE["left_thigh"]) | (coarse == COARSE["right_thigh"])
    put(is_["pelvis"] & ~front, None, "butt")
    put(is_["pelvis"] & front, None, "belly")
    low = v[:, 1] < hip_y + CROTCH_ABOVE_HIP
    between = np.abs(v[:, 0]) < abs(jt("left_hip")[0]) * 0.8
    put(
        (is_["pelvis"] | thighs) & between & (v[:, 1] < hip_y) & (v[:, 1] > hip_y - 0.1),
        None,
        "crotch",
    )
    put(is_["pelvis"] & front & low, None, "crotch")
    back = v[:, 2] < mid_z - BUTT_BEHIND
    put(thighs & back & (v[:, 1] > hip_y - BUTT_BELOW_HIP), None, "butt")
    # head and neck
    hv = v[is_["head"]]
    rel_y = (v[:, 1] - hv[:, 1].min()) / max(np.ptp(hv[:, 1]), 1e-6)
    head_mid_z = 0.5 * (hv[:, 2].min() + hv[:, 2].max())
    face_dir = _angle_to(v[:, 0], v[:, 2] - head_mid_z, 0.0, 1.0) < FACE_HALF_ANGLE
    put(is_["head"], None, "head")
    put(is_["head"] & face_dir, None, "face")
    put(is_["head"] & (rel_y >= CROWN_FRACTION), None, "crown")
    throat = _angle_to(v[:, 0], v[:, 2] - mid_z, 0.0, 1.0) < THROAT_HALF_ANGLE
    put(is_["neck"], None, "neck")
    put(is_["neck"] & throat, None, "throat")

    for side, sign in (("left", 1.0), ("right", -1.0)):
        mine = sign * v[:, 0] > 0

        def c(name: str, side: str = side) -> np.ndarray:
            return coarse == COARSE[f"{side}_{name}"]

        upper, fore, hand = c("upper_arm"), c("forearm"), c("hand")
        thigh, shin, foot = c("thigh"), c("shin"), c("foot")
        hip, knee, ankle = jt(f"{side}_hip"), jt(f"{side}_knee"), jt(f"{side}_ankle")
        sh, el, wr = jt(f"{side}_shoulder"), jt(f"{side}_elbow"), jt(f"{side}_wrist")
        toe_base = jt(f"{side}_foot")
        flank = (v[:, 1] >= hip_y + CROTCH_ABOVE_HIP) & (v[:, 1] < sh[1] - ARMPIT_BELOW)
        put(is_["torso"] & mine & lateral & flank, side, "torsoside")
        put(thigh & (out < 0), side, "thigh")
        put(is_["pelvis"] & mine & lateral, side, "hip")
        put(thigh & mine & lateral & (v[:, 1] > hip_y - 0.08), side, "hip")
        put(shin, side, "lowerleg")
        put((thigh | shin) & _slab(v, knee, ankle - hip, JOINT_SLABS["knee"]), side, "knee")
        put(foot, side, "foot")
        put(
            (shin | foot)
            & _slab(v, ankle, knee - ankle, JOINT_SLABS["ankle"])
            & (v[:, 2] < toe_base[2] - 0.03),
            side,
            "ankle",
        )
        put(foot & (v[:, 2] > toe_base[2] - 0.01), side, "toes")
        put(upper, side, "upperarm")
        put(fore, side, "forearm")
        put((upper | fore) & _slab(v, el, wr - sh, JOINT_SLABS["elbow"]), side, "elbow")
        put(hand, side, "hand")
        put(_finger_mask(model, side) & hand, side, "index")
        put((fore | hand) & _slab(v, wr, wr - el, JOINT_SLABS["wrist"]), side, "wrist")
        near_sh = np.linalg.norm(v - sh, axis=1) < SHOULDER_RADIUS
        above = v[:, 1] > sh[1] - ARMPIT_BELOW_SHOULDER
        put((upper | trunk) & mine & near_sh & above, side, "shoulder")

    out[~main] = -1
    missing = [contact_part_name(i) for i in range(len(CONTACT_PARTS)) if not (out == i).any()]
    if missing:
        logger.warning("contact parts without vertices: %s", ", ".join(missing))
    return out


def _finger_mask(model: Any, side: str, finger: int = 2) -> np.ndarray:
    """Vertices skinned more than half to anny's ``finger<finger>-*`` bones of ``side``."""
    suffix = ".L" if side == "left" else ".R"
    labels = list(model.bone_labels)
    bones = [
        i for i, b in enumerate(labels) if b.startswith(f"finger{finger}-") and b.endswith(suffix)
    ]
    idx = _to_numpy(model.vertex_bone_indices)
    w = _to_numpy(model.vertex_bone_weights)
    return (w * np.isin(idx, bones)).sum(axis=1) > 0.5
