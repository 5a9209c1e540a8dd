"""Paircodes (spec: PoseScript notes 10.2): value = measure(pose A) - measure(pose B).

Both poses are heading-normalised independently, so the category of each value reads directly as
the instruction for going from A to B (e.g. a hand 0.4 m higher in B gives a value <= -0.40, i.e.
"higher"). Positional paircodes compare the same joint in A and B after subtracting each pose's
pelvis, so a translated input gives the same codes.

Each non-ignored category has a *nature* (what changes: bend, height, ...), a *direction* (its
side of the ignored centre: -1 or +1) and a *magnitude* (1 = slightly, 2 = normal, 3 = much).
:class:`Clause` is the record that flows through super-paircodes, facts, aggregation and text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose_search.data.captioning.operators import (
    WORKING_JOINT_INDEX,
    add_noise,
    categorize,
    measure_angle,
    measure_body_inclination,
    measure_distance,
    measure_relative_rotation,
)

__all__ = [
    "Clause",
    "PairOperator",
    "PAIR_OPERATORS",
    "PairCode",
    "PAIRCODES",
    "ROTATION_PAIRCODES",
    "ALL_PAIRCODES",
    "paircode_clause",
    "measure_pairs",
    "categorize_pairs",
    "interp_of",
]

_J = WORKING_JOINT_INDEX


@dataclass(frozen=True)
class Clause:
    """One statement before text: "<side> <part> <interp> [<side2> <part2>]".

    ``kind`` names the code family (``"angle"``, ``"distance"``, ``"x"``, ``"y"``, ``"z"``,
    ``"incline_x"``, ``"incline_y"``, ``"incline_z"``, ``"head_x"``, ``"head_y"``,
    ``"straighten"``, ``"fact"``). ``side`` is ``"left"``, ``"right"``, ``""`` (central) or
    ``"both"`` (a plural subject such as "hands"). ``rare`` clauses are never randomly skipped.
    """

    kind: str
    side: str
    part: str
    interp: str
    side2: str = ""
    part2: str = ""
    nature: str = ""
    direction: int = 0
    magnitude: int = 0
    rare: bool = False
    fact: bool = False

    @property
    def two_parts(self) -> bool:
        """True when the clause has an object (second body part)."""
        return bool(self.part2)


@dataclass(frozen=True)
class PairOperator:
    """Bins of one paircode kind, low to high; ``interps[centre]`` is the ignored category."""

    kind: str
    nature: str
    thresholds: tuple[float, ...]
    interps: tuple[str, ...]
    noise: float

    @property
    def centre(self) -> int:
        """Index of the ignored ("direction switch") category."""
        return self.interps.index("ignored")

    def direction(self, cat: int) -> int:
        """-1, 0 or +1: the side of the ignored centre a category lies on."""
        return int(np.sign(cat - self.centre))

    def magnitude(self, cat: int) -> int:
        """Distance of a category from the ignored centre (0 for the centre)."""
        return abs(cat - self.centre)


_POS = (-0.40, -0.15, 0.15, 0.40)
PAIR_OPERATORS: dict[str, PairOperator] = {
    op.kind: op
    for op in (
        PairOperator("angle", "bend", (-80.0, -45.0, -18.0, 18.0, 45.0, 80.0),
                     ("bend_much_less", "bend_less", "bend_slightly_less", "ignored",
                      "bend_slightly_more", "bend_more", "bend_much_more"), 5.0),
        PairOperator("distance", "distance", (-0.40, -0.10, 0.10, 0.40),
                     ("farther", "slightly_farther", "ignored", "slightly_closer", "closer"), 0.05),
        PairOperator("x", "x", _POS, ("more_left", "slightly_more_left", "ignored",
                                      "slightly_more_right", "more_right"), 0.05),
        PairOperator("y", "y", _POS, ("higher", "slightly_higher", "ignored", "slightly_lower",
                                      "lower"), 0.05),
        PairOperator("z", "z", _POS, ("more_front", "slightly_more_front", "ignored",
                                      "slightly_more_back", "more_back"), 0.05),
        PairOperator("incline_x", "incline_x", (-45.0, -20.0, 20.0, 45.0),
                     ("incline_forward_more", "incline_forward_slightly_more", "ignored",
                      "incline_backward_slightly_more", "incline_backward_more"), 5.0),
        PairOperator("incline_y", "incline_y", (-45.0, -20.0, 20.0, 45.0),
                     ("twist_right_more", "twist_right_slightly_more", "ignored",
                      "twist_left_slightly_more", "twist_left_more"), 5.0),
        PairOperator("incline_z", "incline_z", (-30.0, -15.0, 15.0, 30.0),
                     ("lean_left_more", "lean_left_slightly_more", "ignored",
                      "lean_right_slightly_more", "lean_right_more"), 5.0),
        PairOperator("head_x", "head_x", (-30.0, 30.0),
                     ("head_forward_more", "ignored", "head_backward_more"), 5.0),
        PairOperator("head_y", "head_y", (-30.0, -15.0, 15.0, 30.0),
                     ("head_left_more", "head_left_slightly_more", "ignored",
                      "head_right_slightly_more", "head_right_more"), 5.0),
    )
}


def interp_of(kind: str, direction: int, magnitude: int) -> str:
    """Category name of a paircode kind from its direction (-1/+1) and magnitude (>= 1)."""
    op = PAIR_OPERATORS[kind]
    cat = op.centre + direction * magnitude
    return op.interps[int(np.clip(cat, 0, len(op.interps) - 1))]


@dataclass(frozen=True)
class PairCode:
    """One paircode: its kind, the working joints it reads and the body part(s) it talks about."""

    kind: str
    joints: tuple[int, ...]
    side: str
    part: str
    side2: str = ""
    part2: str = ""


def _build_paircodes() -> tuple[PairCode, ...]:
    codes: list[PairCode] = []
    for side in ("left", "right"):
        codes.append(PairCode("angle", (_J[f"{side}_hip"], _J[f"{side}_knee"], _J[f"{side}_ankle"]),
                              side, "knee"))
    for side in ("left", "right"):
        codes.append(PairCode("angle", (_J[f"{side}_shoulder"], _J[f"{side}_elbow"],
                                        _J[f"{side}_wrist"]), side, "elbow"))
    for part in ("elbow", "hand", "knee", "foot"):
        codes.append(PairCode("distance", (_J[f"left_{part}"], _J[f"right_{part}"]),
                              "left", part, "right", part))
    for part in ("elbow", "hand", "knee", "foot"):
        for side in ("left", "right"):
            codes.append(PairCode("distance", (_J[f"{side}_{part}"], _J["torso"]),
                                  side, part, "", "torso"))
    for kind, parts in (("x", ("elbow", "hand", "knee", "foot")),
                        ("y", ("shoulder", "elbow", "hand", "knee", "foot")),
                        ("z", ("shoulder", "elbow", "hand", "knee", "foot"))):
        for part in parts:
            for side in ("left", "right"):
                codes.append(PairCode(kind, (_J[f"{side}_{part}"],), side, part))
    for kind in ("incline_x", "incline_y", "incline_z"):
        codes.append(PairCode(kind, (), "", "body"))
    return tuple(codes)


PAIRCODES: tuple[PairCode, ...] = _build_paircodes()
# Head codes need the joint rotations; (joint, ancestor) body-joint indices.
ROTATION_PAIRCODES: tuple[PairCode, ...] = (
    PairCode("head_x", (15, 12), "", "head"),  # head vs neck, chin tucked / raised
    PairCode("head_y", (15, 0), "", "head"),  # head vs pelvis, head turned
)


def _pose_values(W: np.ndarray, rot: np.ndarray | None) -> np.ndarray:
    """Per-pose measurements for every paircode: ``(N, 35, 3)`` -> ``(N, K)`` (NaN = n/a)."""
    n = W.shape[0]
    rel = W - W[:, _J["pelvis"]][:, None]
    incl = measure_body_inclination(W)
    cols: list[np.ndarray] = []
    for code in PAIRCODES:
        if code.kind == "angle":
            cols.append(measure_angle(W, np.array([code.joints]))[:, 0])
        elif code.kind == "distance":
            cols.append(measure_distance(W, np.array([code.joints]))[:, 0])
        elif code.kind in ("x", "y", "z"):
            cols.append(rel[:, code.joints[0], "xyz".index(code.kind)])
        else:
            cols.append(incl[:, ("incline_x", "incline_y", "incline_z").index(code.kind)])
    for code in ROTATION_PAIRCODES:
        if rot is None:
            cols.append(np.full(n, np.nan))
        else:
            axis = 0 if code.kind == "head_x" else 1
            cols.append(measure_relative_rotation(rot, np.array([code.joints]), axis)[:, 0])
    return np.stack(cols, axis=1)


def _upright(W: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: an ankle is at least 0.20 m below the shoulder midpoint (not lying)."""
    s = 0.5 * (W[:, _J["left_shoulder"], 1] + W[:, _J["right_shoulder"], 1])
    return ((s - W[:, _J["left_ankle"], 1]) >= 0.20) | ((s - W[:, _J["right_ankle"], 1]) >= 0.20)


ALL_PAIRCODES: tuple[PairCode, ...] = PAIRCODES + ROTATION_PAIRCODES


def measure_pairs(
    WA: np.ndarray, WB: np.ndarray, rot_a: np.ndarray | None = None,
    rot_b: np.ndarray | None = None,
) -> np.ndarray:
    """Raw paircode values ``A - B`` for every code of :data:`ALL_PAIRCODES`.

    Args:
        WA, WB: working joints ``(N, 35, 3)`` of poses A and B.
        rot_a, rot_b: optional local axis-angle rotations ``(N, 22, 3)``; without them the head
            codes are NaN (never said).

    Returns:
        ``(N, K)`` float64 values (degrees or metres). The forward/back inclination is forced to
        0 when either pose is lying down or upside down.
    """
    use_rot = rot_a is not None and rot_b is not None
    va = _pose_values(WA, rot_a if use_rot else None)
    vb = _pose_values(WB, rot_b if use_rot else None)
    values = va - vb
    ix = [i for i, c in enumerate(ALL_PAIRCODES) if c.kind == "incline_x"][0]
    values[:, ix] = np.where(_upright(WA) & _upright(WB), values[:, ix], 0.0)
    # Yaw-like angles (twist, head turn) wrap around: keep the shortest signed difference.
    for i, c in enumerate(ALL_PAIRCODES):
        if c.kind in ("incline_y", "head_y"):
            values[:, i] = (values[:, i] + 180.0) % 360.0 - 180.0
    return values


def categorize_pairs(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy categories of paircode values ``(N, K)`` -> ``(N, K)`` int; -1 where not available."""
    cats = np.full(values.shape, -1, dtype=np.int64)
    for k, code in enumerate(ALL_PAIRCODES):
        col = values[:, k]
        ok = np.isfinite(col)
        if not ok.any():
            continue
        op = PAIR_OPERATORS[code.kind]
        noisy = add_noise(col[ok], op.noise, rng)
        cats[ok, k] = categorize(noisy, op.thresholds)
    return cats


def paircode_clause(code: PairCode, cat: int) -> Clause | None:
    """The clause of one categorised paircode, or None for the ignored category / n/a."""
    if cat < 0:
        return None
    op = PAIR_OPERATORS[code.kind]
    if cat == op.centre:
        return None
    return Clause(
        kind=code.kind, side=code.side, part=code.part, interp=op.interps[cat],
        side2=code.side2, part2=code.part2, nature=op.nature, direction=op.direction(cat),
        magnitude=op.magnitude(cat),
    )
