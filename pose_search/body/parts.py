"""Per-vertex body-part labels for the anny mesh.

Each vertex gets one of :data:`PART_NAMES`, computed from anny's skinning: the skin weights of all
bones mapping to the same part are summed and the part with the largest total wins (summing first
keeps mid-segment twist bones such as ``upperarm02`` together with ``upperarm01``). One label,
``hair``, is not a skinning part: it is the scalp region of the head, found from the rest-pose
geometry (top and back of the head), so the renderer can colour hair separately from the face.
The borders that clothes follow (elbow, wrist, knee, ankle, waist) are then straightened with
cutting planes through the rest-pose joints (:func:`refine_borders`).

The rig is anny's default 104-bone rig (anny_notes §2). Bone names are matched by their stem
(``upperarm01.L`` -> ``upperarm`` + side ``L``), so any topology of that rig works, including
``notoes_collapse10pc`` (1,229 vertices) and the full ``anny`` mesh (13,718 vertices).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

PART_NAMES: tuple[str, ...] = (
    "head",
    "hair",
    "eyes",
    "neck",
    "torso",
    "pelvis",
    "left_upper_arm",
    "right_upper_arm",
    "left_forearm",
    "right_forearm",
    "left_hand",
    "right_hand",
    "left_thigh",
    "right_thigh",
    "left_shin",
    "right_shin",
    "left_foot",
    "right_foot",
)
PART_INDEX: dict[str, int] = {name: i for i, name in enumerate(PART_NAMES)}
NUM_PARTS = len(PART_NAMES)

# Side-less kind of each part ("left_forearm" -> "forearm"), same order as PART_NAMES.
PART_KINDS: tuple[str, ...] = tuple(
    n.removeprefix("left_").removeprefix("right_") for n in PART_NAMES
)

# Bone-name stem (without digits or side) -> part kind, for anny's default rig.
_STEM_TO_KIND: dict[str, str] = {
    "root": "pelvis",
    "pelvis": "pelvis",
    "spine": "torso",  # spine05 is overridden to pelvis below
    "clavicle": "torso",
    "shoulder": "torso",
    "neck": "neck",
    "head": "head",
    "eye": "eyes",
    "upperarm": "upper_arm",
    "lowerarm": "forearm",
    "wrist": "hand",
    "metacarpal": "hand",
    "finger": "hand",
    "upperleg": "thigh",
    "lowerleg": "shin",
    "foot": "foot",
    "toe": "foot",
}
# Bones whose skin belongs below the waistband.
_LOWER_TRUNK_BONES = {"spine05"}
_BONE_RE = re.compile(r"^([a-z]+)[0-9\-]*(?:\.([LR]))?$")


def part_index(name: str) -> int:
    """Index of a part by name; a clear error for an unknown name."""
    try:
        return PART_INDEX[name]
    except KeyError:
        raise ValueError(
            f"unknown part {name!r}; expected one of: {', '.join(PART_NAMES)}"
        ) from None


def bone_part(label: str) -> int:
    """Part index of one anny bone label, e.g. ``"lowerarm02.L"`` -> ``left_forearm``.

    Raises ``ValueError`` for a bone name that is not part of anny's default rig.
    """
    match = _BONE_RE.match(label)
    if match is None or match.group(1) not in _STEM_TO_KIND:
        raise ValueError(f"bone {label!r} is not a bone of anny's default rig")
    stem, side = match.group(1), match.group(2)
    kind = "pelvis" if label in _LOWER_TRUNK_BONES else _STEM_TO_KIND[stem]
    if kind in ("upper_arm", "forearm", "hand", "thigh", "shin", "foot"):
        if side is None:
            raise ValueError(f"limb bone {label!r} has no .L/.R side")
        kind = ("left_" if side == "L" else "right_") + kind
    return PART_INDEX[kind]


def _to_numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x)


def skinning_parts(
    bone_labels: list[str], vertex_bone_indices: np.ndarray, vertex_bone_weights: np.ndarray
) -> np.ndarray:
    """Part of each vertex from its skin weights.

    Args:
        bone_labels: ``J`` bone names of anny's default rig.
        vertex_bone_indices: ``(V, K)`` int bone indices per vertex.
        vertex_bone_weights: ``(V, K)`` float weights per vertex (rows sum to 1).

    Returns:
        ``(V,)`` int64 part indices into :data:`PART_NAMES` (never ``hair``).
    """
    bone_to_part = np.array([bone_part(b) for b in bone_labels], dtype=np.int64)
    idx = np.asarray(vertex_bone_indices, dtype=np.int64)
    w = np.asarray(vertex_bone_weights, dtype=np.float64)
    v = idx.shape[0]
    totals = np.zeros((v, NUM_PARTS), dtype=np.float64)
    np.add.at(totals, (np.repeat(np.arange(v), idx.shape[1]), bone_to_part[idx].ravel()), w.ravel())
    return totals.argmax(axis=1).astype(np.int64)


def hair_mask(rest_vertices: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Scalp vertices among the head vertices, from the rest pose in the canonical frame.

    Args:
        rest_vertices: ``(V, 3)`` rest-pose vertices, canonical frame (+y up, facing +z).
        parts: ``(V,)`` part labels from :func:`skinning_parts`.

    Returns:
        ``(V,)`` bool: head vertices on the top of the head (above the forehead) or on the back
        of the head above the nape.
    """
    head = parts == PART_INDEX["head"]
    if not head.any():
        return np.zeros_like(head)
    hv = rest_vertices[head]
    y0, y1 = hv[:, 1].min(), hv[:, 1].max()
    z0, z1 = hv[:, 2].min(), hv[:, 2].max()
    rel_y = (rest_vertices[:, 1] - y0) / max(y1 - y0, 1e-6)
    rel_z = (rest_vertices[:, 2] - z0) / max(z1 - z0, 1e-6)  # 0 = back, 1 = face
    top = rel_y > 0.78
    back = (rel_z < 0.45) & (rel_y > 0.38)
    temples = (rel_z < 0.62) & (rel_y > 0.62)
    return head & (top | back | temples)


def anny_to_canonical(vertices: np.ndarray) -> np.ndarray:
    """Convert anny world coordinates (z up, facing -y) to the canonical frame.

    ``(x, y, z)_ours = (x_a, z_a, -y_a)``. Shape ``(..., 3)`` in, ``(..., 3)`` out.
    """
    v = np.asarray(vertices)
    return np.stack([v[..., 0], v[..., 2], -v[..., 1]], axis=-1)


# Clean borders: (parent part, child part, joint bone, parent-side bone, child-side bone). Vertices
# labelled with either part are re-split by the plane through the joint whose normal bisects the two
# segments, so sleeve ends, trouser ends and the waistband are straight rings, not skinning zigzags.
_CUTS: tuple[tuple[str, str, str, str, str], ...] = tuple(
    (f"{s}_{a}", f"{s}_{b}", f"{j}.{x}", f"{p}.{x}", f"{c}.{x}")
    for s, x in (("left", "L"), ("right", "R"))
    for a, b, j, p, c in (
        ("upper_arm", "forearm", "lowerarm01", "upperarm01", "wrist"),
        ("forearm", "hand", "wrist", "lowerarm01", "finger3-1"),
        ("thigh", "shin", "lowerleg01", "upperleg01", "foot"),
        ("shin", "foot", "foot", "lowerleg01", "lowerleg01"),  # ankle: cut across the shin axis
    )
)
_WAIST_BONE = "spine04"
BORDER_MAX = 0.05  # metres; the border distance of vertices far from any cut  # the torso/pelvis border is the horizontal plane through its head


def refine_borders(
    rest_vertices: np.ndarray, rest_heads: np.ndarray, bone_labels: list[str], parts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Straighten the limb and waist borders of skinning labels with cutting planes.

    Args:
        rest_vertices: ``(V, 3)`` rest-pose vertices; rest_heads: ``(J, 3)`` rest bone heads, both
            in the same frame (canonical, +y up).
        bone_labels: ``J`` bone names; parts: ``(V,)`` labels from :func:`skinning_parts`.

    Returns:
        ``labels (V,)`` int64 refined labels, and ``border (V,)`` float: each vertex's distance in
        metres to the nearest cutting plane of its part, clamped to [0.5 mm, 5 cm] (see
        :func:`anny_part_borders`).
    """
    out = parts.copy()
    border = np.full(len(parts), BORDER_MAX)
    head = {b: rest_heads[i] for i, b in enumerate(bone_labels)}
    trunk = (parts == PART_INDEX["torso"]) | (parts == PART_INDEX["pelvis"])
    dy = rest_vertices[:, 1] - head[_WAIST_BONE][1]
    out[trunk] = np.where(dy[trunk] < 0, PART_INDEX["pelvis"], PART_INDEX["torso"])
    border[trunk] = np.minimum(border[trunk], np.abs(dy[trunk]))
    for parent, child, joint, pbone, cbone in _CUTS:
        j = head[joint]
        d1 = j - head[pbone]
        d2 = head[cbone] - j if cbone != pbone else d1
        normal = d1 / np.linalg.norm(d1) + d2 / np.linalg.norm(d2)
        dist = (rest_vertices - j) @ (normal / np.linalg.norm(normal))
        sel = (parts == PART_INDEX[parent]) | (parts == PART_INDEX[child])
        out[sel] = np.where(dist[sel] > 0, PART_INDEX[child], PART_INDEX[parent])
        border[sel] = np.minimum(border[sel], np.abs(dist[sel]))
    return out, np.clip(border, 5e-4, BORDER_MAX)


def _anny_parts_and_borders(model: Any, with_hair: bool) -> tuple[np.ndarray, np.ndarray]:
    labels = list(model.bone_labels)
    parts = skinning_parts(
        labels, _to_numpy(model.vertex_bone_indices), _to_numpy(model.vertex_bone_weights)
    )
    with torch.no_grad():
        out = model()
    rest = anny_to_canonical(_to_numpy(out["rest_vertices"][0]).astype(np.float64))
    heads = anny_to_canonical(_to_numpy(out["rest_bone_heads"][0]).astype(np.float64))
    parts, border = refine_borders(rest, heads, labels, parts)
    if with_hair:
        parts[hair_mask(rest, parts)] = PART_INDEX["hair"]
    counts = np.bincount(parts, minlength=NUM_PARTS)
    logger.debug("anny parts: %s", dict(zip(PART_NAMES, counts.tolist(), strict=True)))
    return parts, border


def anny_vertex_parts(model: Any, with_hair: bool = True) -> np.ndarray:
    """Part label of every vertex of an ``anny.Anny`` model (default rig, any topology).

    Skinning labels (:func:`skinning_parts`), borders straightened by :func:`refine_borders`,
    then the scalp split off as ``hair`` (:func:`hair_mask`).

    Args:
        model: an ``anny.Anny`` instance; reads ``bone_labels``, ``vertex_bone_indices``,
            ``vertex_bone_weights`` and its rest vertices and bone heads.
        with_hair: split the scalp of the head off as ``hair``.

    Returns:
        ``(V,)`` int64 indices into :data:`PART_NAMES`.
    """
    return _anny_parts_and_borders(model, with_hair)[0]


def anny_part_borders(model: Any) -> np.ndarray:
    """Distance ``(V,)`` float32 (metres, rest pose) of each vertex to its part's clothing border.

    Pass it as ``border_weights`` to :func:`pose_search.data.render.render`: weighting the
    per-pixel part vote by it puts the colour border exactly on the cutting plane (a straight
    line through the triangles) instead of a staircase along the coarse mesh's edges.
    """
    return _anny_parts_and_borders(model, True)[1].astype(np.float32)
