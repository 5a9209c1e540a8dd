"""Single-pose posecodes used by PoseFix (spec: PoseScript notes 10.3-10.4).

Two uses:

* the categories feeding the super-paircodes (B's knee/elbow angle, "close" distances in A or B);
* static facts about pose B ("absolute" categories: "your left knee should be straight"), kept
  only for body parts named by the pair's paircodes or further down the same kinematic chain.

Categories are computed with the measurement operators of
:mod:`pose_search.data.captioning.operators` and their subjectivity noise. Not implemented here
(documented choice): the absolute super-posecodes (torso horizontal, hands/feet shoulder width,
the 144 alignment codes) and contact codes, which need the full captioner or a body mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose_search.data.captioning.operators import (
    OPERATOR_BY_NAME,
    WORKING_JOINT_INDEX,
    add_noise,
    categorize,
    measure_angle,
    measure_distance,
    measure_on_ground,
    measure_vertical_axis,
)
from pose_search.data.pairing.paircodes import Clause

__all__ = ["PoseCode", "POSECODES", "POSECODE_INDEX", "pose_categories", "fact_clauses",
           "CHAINS", "chain_rank"]

_J = WORKING_JOINT_INDEX


@dataclass(frozen=True)
class PoseCode:
    """One single-pose code: operator, joints, named parts, absolute and rare categories."""

    op: str
    joints: tuple[int, ...]
    side: str
    part: str
    side2: str = ""
    part2: str = ""
    absolute: tuple[str, ...] = ()
    rare: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """Lookup key ``(op, side, part, side2, part2)``."""
        return (self.op, self.side, self.part, self.side2, self.part2)


def _build() -> tuple[PoseCode, ...]:
    codes: list[PoseCode] = []
    absolute_angle = ("completely_bent", "right_angle", "straight")
    for side in ("left", "right"):
        codes.append(PoseCode("angle", (_J[f"{side}_hip"], _J[f"{side}_knee"], _J[f"{side}_ankle"]),
                              side, "knee", absolute=absolute_angle, rare=("completely_bent",)))
    for side in ("left", "right"):
        codes.append(PoseCode("angle", (_J[f"{side}_shoulder"], _J[f"{side}_elbow"],
                                        _J[f"{side}_wrist"]),
                              side, "elbow", absolute=absolute_angle, rare=("completely_bent",)))
    for part in ("elbow", "hand", "knee", "foot"):
        rare = ("close",) if part in ("elbow", "foot") else ()
        codes.append(PoseCode("distance", (_J[f"left_{part}"], _J[f"right_{part}"]),
                              "left", part, "right", part, absolute=("close",), rare=rare))
    for part in ("elbow", "hand", "knee", "foot"):  # support only: feed the super-paircodes
        for side in ("left", "right"):
            codes.append(PoseCode("distance", (_J[f"{side}_{part}"], _J["torso"]),
                                  side, part, "", "torso"))
    other = {"left": "right", "right": "left"}
    for side in ("left", "right"):  # what is the hand close to?
        targets = [(side, "shoulder"), (other[side], "shoulder"), (other[side], "elbow")]
        targets += [(s, p) for p in ("knee", "ankle", "foot") for s in ("left", "right")]
        for s2, p2 in targets:
            codes.append(PoseCode("distance", (_J[f"{side}_hand"], _J[f"{s2}_{p2}"]), side,
                                  "hand", s2, p2, absolute=("close",), rare=("close",)))
    segments = (("thigh", "hip", "knee", ("horizontal",), ("horizontal",)),
                ("shin", "knee", "ankle", ("horizontal",), ("horizontal",)),
                ("upperarm", "shoulder", "elbow", ("horizontal", "vertical"), ("vertical",)),
                ("forearm", "elbow", "wrist", ("horizontal", "vertical"), ("vertical",)))
    for part, j1, j2, absolute, rare in segments:
        for side in ("left", "right"):
            codes.append(PoseCode("relativeVAxis", (_J[f"{side}_{j1}"], _J[f"{side}_{j2}"]),
                                  side, part, absolute=absolute, rare=rare))
    for side in ("left", "right"):
        codes.append(PoseCode("onGround", (_J[f"{side}_hand"],), side, "hand",
                              absolute=("on_ground",)))
    return tuple(codes)


POSECODES: tuple[PoseCode, ...] = _build()
POSECODE_INDEX: dict[tuple[str, str, str, str, str], int] = {
    c.key: i for i, c in enumerate(POSECODES)
}

# Kinematic chains (spec 10.4); a part "lies further down" when its rank is larger.
CHAINS: dict[str, tuple[str, ...]] = {
    "arm": ("body", "torso", "arm", "shoulder", "upperarm", "elbow", "forearm", "wrist", "hand"),
    "leg": ("body", "torso", "leg", "hip", "thigh", "knee", "shin", "ankle", "foot"),
}


def chain_rank(part: str) -> tuple[str | None, int]:
    """``(chain name, rank)`` of a body part; ``(None, 0)`` for body/torso/head (chain roots)."""
    for name, chain in CHAINS.items():
        if part in chain[2:]:
            return name, chain.index(part)
    return None, 0


def pose_categories(W: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy categories of every :data:`POSECODES` code: ``(N, 35, 3)`` -> ``(N, P)`` int."""
    cats = np.empty((W.shape[0], len(POSECODES)), dtype=np.int64)
    for k, code in enumerate(POSECODES):
        op = OPERATOR_BY_NAME[code.op]
        idx = np.array([code.joints])
        if code.op == "angle":
            v = measure_angle(W, idx)[:, 0]
        elif code.op == "distance":
            v = measure_distance(W, idx)[:, 0]
        elif code.op == "relativeVAxis":
            v = measure_vertical_axis(W, idx)[:, 0]
        else:
            v = measure_on_ground(W, np.array(code.joints))[:, 0]
        cats[:, k] = categorize(add_noise(v, op.noise, rng), op.thresholds)
    return cats


def is_category(cats: np.ndarray, key: tuple[str, str, str, str, str], names: tuple[str, ...]
                ) -> bool:
    """Whether one pose's categories ``(P,)`` put the code ``key`` in one of ``names``."""
    k = POSECODE_INDEX[key]
    return OPERATOR_BY_NAME[POSECODES[k].op].categories[int(cats[k])] in names


def _named(side: str, part: str, changed: set[tuple[str, str]]) -> bool:
    """Is (side, part) a changed part or further down a chain from a changed part?"""
    sides = ("left", "right") if side == "both" else (side,)
    chain, rank = chain_rank(part)
    for s in sides:
        for cs, cp in changed:
            if cp in ("body", "torso"):
                return True
            csides = ("left", "right") if cs == "both" else (cs,)
            cchain, crank = chain_rank(cp)
            if s in csides and chain is not None and chain == cchain and rank >= crank:
                return True
    return False


def fact_clauses(
    cats_b: np.ndarray, changed: set[tuple[str, str]], hidden: set[int],
) -> list[Clause]:
    """Static facts about pose B for one pair.

    Args:
        cats_b: ``(P,)`` noisy categories of pose B (a row of :func:`pose_categories`).
        changed: ``(side, part)`` of every paircode clause of the pair (side may be ``"both"``).
        hidden: indices of :data:`POSECODES` whose absolute category must not be said (their
            super-paircode fired, support II).

    Returns:
        One ``fact`` clause per absolute category of B on a named part (rare ones flagged).
    """
    out: list[Clause] = []
    for k, code in enumerate(POSECODES):
        if k in hidden or not code.absolute:
            continue
        name = OPERATOR_BY_NAME[code.op].categories[int(cats_b[k])]
        if name not in code.absolute:
            continue
        if not (_named(code.side, code.part, changed)
                or (code.part2 and _named(code.side2, code.part2, changed))):
            continue
        out.append(Clause(kind="fact", side=code.side, part=code.part, interp=f"fact_{name}",
                          side2=code.side2, part2=code.part2, nature=f"fact_{name}",
                          rare=name in code.rare, fact=True))
    return out
