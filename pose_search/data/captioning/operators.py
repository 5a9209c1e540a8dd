"""Posecode measurement operators: the working joint array, the measurements, binning and noise.

This module is the reusable measurement layer of the automatic captioning pipeline (PoseScript
"posecodes") and of the pair-instruction pipeline (PoseFix "paircodes"). Everything is vectorised
over a batch of ``N`` poses with numpy.

Frame: the canonical frame of :mod:`pose_search.body.convention` -- **+y up, the body faces +z,
+x is the body's own left**. So "A is at the left of B" means ``A.x > B.x``, "front" is ``+z`` and
"above" is ``+y``.

Working joints (35 slots): the 22 SMPL-X body joints, then ``left_middle2`` / ``right_middle2``,
then 11 virtual joints (hands, torso, thighs, shins, upper arms, forearms) built from midpoints.
When only the 22 body joints are given, middle2 is synthesised 0.1367 m beyond the wrist along
the elbow->wrist direction.

Relative rotations (head codes): the chain of local rotations from the ancestor (inclusive) down
to the joint is composed and read as Euler angles of ``R = Rz . Ry . Rx``. **Choice:** when the
ancestor is the pelvis the root (global) orientation is included by default, because every pose
in this project is expressed y-up with its heading removed (the spec's BEDLAM case, where this
is well defined); pass ``include_root=False`` to leave it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from pose_search.body.convention import JOINT_NAMES, NUM_BODY_JOINTS, PARENTS

__all__ = [
    "WORKING_JOINT_NAMES",
    "WORKING_JOINT_INDEX",
    "MIDDLE2_OFFSET",
    "OperatorSpec",
    "OPERATORS",
    "OPERATOR_BY_NAME",
    "working_joints",
    "validate_joints",
    "measure_angle",
    "measure_distance",
    "measure_relative_position",
    "measure_vertical_axis",
    "measure_on_ground",
    "measure_body_inclination",
    "measure_relative_rotation",
    "categorize",
    "add_noise",
]

MIDDLE2_OFFSET = 0.1367  # metres, mean wrist -> middle2 distance used when hands are missing
_SMPLH_LEFT_MIDDLE2 = 26
_SMPLH_RIGHT_MIDDLE2 = 41

_VIRTUAL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("left_hand", ("left_wrist", "left_middle2")),
    ("right_hand", ("right_wrist", "right_middle2")),
    ("torso", ("pelvis", "neck", "spine3")),
    ("left_thigh", ("left_hip", "left_knee")),
    ("right_thigh", ("right_hip", "right_knee")),
    ("left_shin", ("left_knee", "left_ankle")),
    ("right_shin", ("right_knee", "right_ankle")),
    ("left_upperarm", ("left_shoulder", "left_elbow")),
    ("right_upperarm", ("right_shoulder", "right_elbow")),
    ("left_forearm", ("left_elbow", "left_wrist")),
    ("right_forearm", ("right_elbow", "right_wrist")),
)

WORKING_JOINT_NAMES: tuple[str, ...] = (
    JOINT_NAMES + ("left_middle2", "right_middle2") + tuple(name for name, _ in _VIRTUAL)
)
WORKING_JOINT_INDEX: MappingProxyType[str, int] = MappingProxyType(
    {name: i for i, name in enumerate(WORKING_JOINT_NAMES)}
)


@dataclass(frozen=True)
class OperatorSpec:
    """One posecode operator kind: its bins (spec section 2.2).

    ``categories`` has ``len(thresholds) + 1`` names, low to high; names containing "ignored" can
    never be put into text. ``noise`` is the half-width of the uniform subjectivity noise.
    """

    name: str
    categories: tuple[str, ...]
    thresholds: tuple[float, ...]
    noise: float

    def __post_init__(self) -> None:
        if len(self.categories) != len(self.thresholds) + 1:
            raise ValueError(f"{self.name}: need one more category than thresholds")
        if any(b <= a for a, b in zip(self.thresholds[:-1], self.thresholds[1:], strict=True)):
            raise ValueError(f"{self.name}: thresholds must increase")

    def index(self, category: str) -> int:
        """Index of a category name; ``ValueError`` for an unknown one."""
        try:
            return self.categories.index(category)
        except ValueError:
            raise ValueError(f"{self.name}: unknown category {category!r}") from None

    @property
    def ignored(self) -> tuple[int, ...]:
        """Indices of the categories that can never be said."""
        return tuple(i for i, c in enumerate(self.categories) if "ignored" in c)


_POS_BINS = (-0.15, -0.05, 0.05, 0.15)
_INCL_BINS = (-50.0, -20.0, 20.0, 50.0)
_LEAN_BINS = (-30.0, -15.0, 15.0, 30.0)

OPERATORS: tuple[OperatorSpec, ...] = (
    OperatorSpec(
        "angle",
        ("completely_bent", "bent_more", "right_angle", "bent_less", "slightly_bent", "straight"),
        (45.0, 75.0, 105.0, 135.0, 160.0),
        5.0,
    ),
    OperatorSpec(
        "distance", ("close", "shoulder_width", "spread", "wide"), (0.20, 0.40, 0.80), 0.05
    ),
    OperatorSpec(
        "relativePosX",
        ("at_right", "ignored_right", "x_aligned", "ignored_left", "at_left"),
        _POS_BINS,
        0.05,
    ),
    OperatorSpec(
        "relativePosY",
        ("below", "ignored_below", "y_aligned", "ignored_above", "above"),
        _POS_BINS,
        0.05,
    ),
    OperatorSpec(
        "relativePosZ",
        ("behind", "ignored_behind", "z_aligned", "ignored_front", "front"),
        _POS_BINS,
        0.05,
    ),
    OperatorSpec("relativeVAxis", ("vertical", "ignored", "horizontal"), (10.0, 80.0), 5.0),
    OperatorSpec("onGround", ("on_ground", "ignored"), (0.10,), 0.05),
    OperatorSpec(
        "bodyInclineX",
        (
            "incline_backward",
            "incline_backward_slightly",
            "ignored",
            "incline_forward_slightly",
            "incline_forward",
        ),
        _INCL_BINS,
        5.0,
    ),
    OperatorSpec(
        "bodyInclineY",
        ("twist_left", "twist_left_slightly", "ignored", "twist_right_slightly", "twist_right"),
        _INCL_BINS,
        5.0,
    ),
    OperatorSpec(
        "bodyInclineZ",
        ("lean_right", "lean_right_slightly", "ignored", "lean_left_slightly", "lean_left"),
        _LEAN_BINS,
        5.0,
    ),
    OperatorSpec(
        "relativeRotX", ("incline_backward", "ignored", "incline_forward"), (-45.0, 30.0), 5.0
    ),
    OperatorSpec(
        "relativeRotY",
        ("turn_right", "turn_right_slightly", "ignored", "turn_left_slightly", "turn_left"),
        _LEAN_BINS,
        5.0,
    ),
    OperatorSpec("relativeRotZ", ("incline_left", "ignored", "incline_right"), (-30.0, 30.0), 5.0),
)
OPERATOR_BY_NAME: MappingProxyType[str, OperatorSpec] = MappingProxyType(
    {op.name: op for op in OPERATORS}
)


# --------------------------------------------------------------------------------------------
# Joints
# --------------------------------------------------------------------------------------------
def validate_joints(joints: np.ndarray, what: str = "joints") -> np.ndarray:
    """Check joints ``(N, 22|52, 3)`` (or one pose ``(22|52, 3)``) -> float64 ``(N, J, 3)``.

    Raises ``ValueError`` for another shape or for NaN/inf values.
    """
    arr = np.asarray(joints, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] not in (NUM_BODY_JOINTS, 52) or arr.shape[2] != 3:
        raise ValueError(
            f"{what}: expected shape (N, 22, 3) or (N, 52, 3) joint positions in metres, "
            f"got {tuple(np.shape(joints))}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{what}: contains NaN or inf values")
    return arr


def working_joints(joints: np.ndarray) -> np.ndarray:
    """Build the working joint array: ``(N, 22|52, 3)`` -> ``(N, 35, 3)`` (see module doc)."""
    j = validate_joints(joints)
    body = j[:, :NUM_BODY_JOINTS]
    if j.shape[1] == 52:
        mid = j[:, [_SMPLH_LEFT_MIDDLE2, _SMPLH_RIGHT_MIDDLE2]]
    else:
        elbows = body[:, [18, 19]]
        wrists = body[:, [20, 21]]
        d = wrists - elbows
        norm = np.linalg.norm(d, axis=-1, keepdims=True)
        d = d / np.maximum(norm, 1e-8)
        mid = wrists + MIDDLE2_OFFSET * d
    base = np.concatenate([body, mid], axis=1)
    idx = {name: i for i, name in enumerate(WORKING_JOINT_NAMES[: base.shape[1]])}
    virtual = [base[:, [idx[s] for s in srcs]].mean(axis=1) for _, srcs in _VIRTUAL]
    return np.concatenate([base, np.stack(virtual, axis=1)], axis=1)


def _index_array(idx: np.ndarray, cols: int, what: str) -> np.ndarray:
    a = np.asarray(idx, dtype=np.int64)
    if a.ndim != 2 or a.shape[1] != cols:
        raise ValueError(f"{what}: expected an integer array of shape (K, {cols}), got {a.shape}")
    return a


# --------------------------------------------------------------------------------------------
# Measurements (all take the working joints W of shape (N, 35, 3))
# --------------------------------------------------------------------------------------------
def measure_angle(W: np.ndarray, triples: np.ndarray) -> np.ndarray:
    """Angle at the middle joint of each triple ``(a, b, c)``: ``(N, K)`` degrees (180 straight)."""
    t = _index_array(triples, 3, "triples")
    u = W[:, t[:, 0]] - W[:, t[:, 1]]
    v = W[:, t[:, 2]] - W[:, t[:, 1]]
    cos = (u * v).sum(-1) / np.maximum(
        np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-8
    )
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def measure_distance(W: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Euclidean distance between the joints of each pair: ``(N, K)`` metres."""
    p = _index_array(pairs, 2, "pairs")
    return np.linalg.norm(W[:, p[:, 0]] - W[:, p[:, 1]], axis=-1)


def measure_relative_position(W: np.ndarray, pairs: np.ndarray, axis: int) -> np.ndarray:
    """First joint minus second joint along ``axis`` (0 x/left, 1 y/up, 2 z/front): ``(N, K)``."""
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
    p = _index_array(pairs, 2, "pairs")
    return W[:, p[:, 0], axis] - W[:, p[:, 1], axis]


def measure_vertical_axis(W: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Unsigned angle between segment ``j1 -> j2`` and the vertical: ``(N, K)`` degrees, 0-90."""
    p = _index_array(pairs, 2, "pairs")
    d = W[:, p[:, 1]] - W[:, p[:, 0]]
    cos = np.abs(d[..., 1]) / np.maximum(np.linalg.norm(d, axis=-1), 1e-8)
    return np.degrees(np.arccos(np.clip(cos, 0.0, 1.0)))


def measure_on_ground(W: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Height of each joint above the pose's lowest working joint: ``(N, K)`` metres."""
    i = np.asarray(idx, dtype=np.int64).reshape(-1)
    return W[:, i, 1] - W[:, :, 1].min(axis=1, keepdims=True)


def measure_body_inclination(W: np.ndarray) -> np.ndarray:
    """Body inclination ``(N, 3)`` degrees: X forward (+), Y twist (+ right), Z lean (+ left).

    X is the signed angle of the upper body (shoulder midpoint minus pelvis) projected on the YZ
    plane to +y, forced to 0 when neither ankle is at least 0.20 m below the shoulder midpoint
    (lying poses, handstands). Y is the signed angle of the shoulder line projected on the XZ
    plane to +x (positive when the left shoulder is forward). Z is the elevation of the upper
    body out of the sagittal plane (positive towards the body's left).
    """
    ls, rs = W[:, WORKING_JOINT_INDEX["left_shoulder"]], W[:, WORKING_JOINT_INDEX["right_shoulder"]]
    pelvis = W[:, WORKING_JOINT_INDEX["pelvis"]]
    la, ra = W[:, WORKING_JOINT_INDEX["left_ankle"]], W[:, WORKING_JOINT_INDEX["right_ankle"]]
    s = 0.5 * (ls + rs)
    up = s - pelvis
    yz = np.hypot(up[:, 1], up[:, 2])
    ang_x = np.degrees(np.arccos(np.clip(up[:, 1] / np.maximum(yz, 1e-8), -1.0, 1.0)))
    ang_x = np.where(up[:, 2] < 0, -ang_x, ang_x)
    standing = ((s[:, 1] - la[:, 1]) >= 0.20) | ((s[:, 1] - ra[:, 1]) >= 0.20)
    ang_x = np.where(standing, ang_x, 0.0)
    line = ls - rs
    xz = np.hypot(line[:, 0], line[:, 2])
    ang_y = np.degrees(np.arccos(np.clip(line[:, 0] / np.maximum(xz, 1e-8), -1.0, 1.0)))
    ang_y = np.where(line[:, 2] < 0, -ang_y, ang_y)
    n = np.maximum(np.linalg.norm(up, axis=-1), 1e-8)
    ang_z = np.degrees(np.arcsin(np.clip(up[:, 0] / n, -1.0, 1.0)))
    return np.stack([ang_x, ang_y, ang_z], axis=1)


def _rotvec_to_rotmat(rv: np.ndarray) -> np.ndarray:
    """Rodrigues: ``(..., 3)`` axis-angle -> ``(..., 3, 3)``."""
    theta = np.linalg.norm(rv, axis=-1, keepdims=True)
    axis = rv / np.maximum(theta, 1e-12)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(rv.shape[:-1] + (3, 3))
    s = np.sin(theta)[..., None]
    c = np.cos(theta)[..., None]
    eye = np.broadcast_to(np.eye(3), k.shape)
    return eye + s * k + (1.0 - c) * (k @ k)


def _euler_zyx(r: np.ndarray) -> np.ndarray:
    """Euler angles of ``R = Rz . Ry . Rx``: ``(..., 3, 3)`` -> ``(..., 3)`` degrees (x, y, z)."""
    ax = np.arctan2(r[..., 2, 1], r[..., 2, 2])
    ay = np.arctan2(-r[..., 2, 0], np.hypot(r[..., 2, 1], r[..., 2, 2]))
    az = np.arctan2(r[..., 1, 0], r[..., 0, 0])
    return np.degrees(np.stack([ax, ay, az], axis=-1))


def measure_relative_rotation(
    rotations: np.ndarray, pairs: np.ndarray, axis: int, *, include_root: bool = True
) -> np.ndarray:
    """Euler angle (degrees) of a joint's rotation relative to an ancestor: ``(N, K)``.

    ``rotations`` is ``(N, 22|52, 3)`` local axis-angle (root first); ``pairs`` is ``(K, 2)`` of
    ``(joint, ancestor)`` body-joint indices; ``axis`` picks the Euler component (0 x, 1 y, 2 z).
    The local rotations from the ancestor (inclusive; the root only if ``include_root``) down to
    the joint are composed root-to-leaf.
    """
    rot = np.asarray(rotations, dtype=np.float64)
    if rot.ndim == 2:
        rot = rot[None]
    if rot.ndim != 3 or rot.shape[1] not in (NUM_BODY_JOINTS, 52) or rot.shape[2] != 3:
        raise ValueError(f"rotations: expected shape (N, 22, 3) axis-angle, got {rot.shape}")
    if not np.isfinite(rot).all():
        raise ValueError("rotations: contains NaN or inf values")
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
    p = _index_array(pairs, 2, "pairs")
    mats = _rotvec_to_rotmat(rot[:, :NUM_BODY_JOINTS])
    out = np.empty((rot.shape[0], len(p)))
    for k, (joint, ancestor) in enumerate(p):
        chain = [int(joint)]
        while chain[-1] != ancestor:
            parent = PARENTS[chain[-1]]
            if parent < 0:
                raise ValueError(f"joint {ancestor} is not an ancestor of joint {joint}")
            chain.append(parent)
        if not include_root and chain[-1] == 0:
            chain.pop()
        acc = np.broadcast_to(np.eye(3), (rot.shape[0], 3, 3)).copy()
        for j in reversed(chain):
            acc = acc @ mats[:, j]
        out[:, k] = _euler_zyx(acc)[:, axis]
    return out


# --------------------------------------------------------------------------------------------
# Binning and noise
# --------------------------------------------------------------------------------------------
def categorize(values: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Bin values ``(N, K)`` -> ``(N, K)`` int category indices.

    Category ``i`` when ``t[i-1] < v <= t[i]``; 0 when ``v <= t[0]``; ``len(t)`` above ``t[-1]``.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0):
        raise ValueError(f"thresholds must be a non-empty increasing sequence, got {thresholds}")
    v = np.asarray(values, dtype=np.float64)
    if not np.isfinite(v).all():
        raise ValueError("categorize: values contain NaN or inf")
    return np.searchsorted(t, v, side="left").astype(np.int64)


def add_noise(values: np.ndarray, margin: float, rng: np.random.Generator) -> np.ndarray:
    """Add independent uniform noise in ``[-margin, +margin]`` to every value (same shape)."""
    v = np.asarray(values, dtype=np.float64)
    if margin <= 0:
        return v.copy()
    return v + rng.uniform(-margin, margin, size=v.shape)
