"""Batched evaluation of the elementary posecodes: measure, add noise, bin, look up eligibility.

Codes are grouped by operator kind so that each kind is measured once for all its joint sets,
vectorised over the ``N`` poses.
"""

from __future__ import annotations

import numpy as np

from pose_search.body.convention import JOINT_INDEX

from .operators import (
    OPERATOR_BY_NAME,
    WORKING_JOINT_INDEX,
    add_noise,
    categorize,
    measure_angle,
    measure_body_inclination,
    measure_distance,
    measure_on_ground,
    measure_relative_position,
    measure_relative_rotation,
    measure_vertical_axis,
)
from .posecodes import ELEMENTARY_CODES, NUM_CODES, ROTATION_KINDS

__all__ = ["compute_categories", "base_eligibility"]


def _kind_groups() -> tuple[tuple[str, np.ndarray, np.ndarray], ...]:
    groups = []
    for kind in OPERATOR_BY_NAME:
        cols = [i for i, c in enumerate(ELEMENTARY_CODES) if c.kind == kind]
        if not cols:
            continue
        if kind in ROTATION_KINDS:
            idx = np.array([[JOINT_INDEX[j] for j in ELEMENTARY_CODES[c].joints] for c in cols])
        elif kind.startswith("bodyIncline"):
            idx = np.zeros((len(cols), 1), dtype=np.int64)
        else:
            idx = np.array(
                [[WORKING_JOINT_INDEX[j] for j in ELEMENTARY_CODES[c].joints] for c in cols]
            )
        groups.append((kind, np.array(cols), idx))
    return tuple(groups)


_GROUPS = _kind_groups()
# Per code, category -> eligibility (0 not acceptable, 1 acceptable, 2 rare); padded with 0.
_MAX_CATS = max(len(op.categories) for op in OPERATOR_BY_NAME.values())
_ELIG_TABLE = np.zeros((NUM_CODES, _MAX_CATS), dtype=np.int64)
_IGNORED_CAT = np.zeros(NUM_CODES, dtype=np.int64)
for _k, _c in enumerate(ELEMENTARY_CODES):
    _op = OPERATOR_BY_NAME[_c.kind]
    for _name in _c.acceptable:
        _ELIG_TABLE[_k, _op.index(_name)] = 2 if _name in _c.rare else 1
    _IGNORED_CAT[_k] = _op.ignored[0] if _op.ignored else 0
_ELIG_TABLE.setflags(write=False)


def compute_categories(
    W: np.ndarray, rotations: np.ndarray | None, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """Measure, add noise (unless ``rng`` is ``None``) and bin every elementary code.

    ``W`` is ``(N, 35, 3)`` working joints, ``rotations`` ``(N, 22|52, 3)`` or ``None``.
    Returns ``(categories (N, K) int, available (K,) bool)``; rotation codes are unavailable
    (and set to an ignored category) when no rotations are given.
    """
    n = W.shape[0]
    cats = np.zeros((n, NUM_CODES), dtype=np.int64)
    available = np.ones(NUM_CODES, dtype=bool)
    incl = None
    for kind, cols, idx in _GROUPS:
        op = OPERATOR_BY_NAME[kind]
        if kind == "angle":
            v = measure_angle(W, idx)
        elif kind == "distance":
            v = measure_distance(W, idx)
        elif kind.startswith("relativePos"):
            v = measure_relative_position(W, idx, "XYZ".index(kind[-1]))
        elif kind == "relativeVAxis":
            v = measure_vertical_axis(W, idx)
        elif kind == "onGround":
            v = measure_on_ground(W, idx[:, 0])
        elif kind.startswith("bodyIncline"):
            incl = measure_body_inclination(W) if incl is None else incl
            v = np.repeat(incl[:, "XYZ".index(kind[-1])][:, None], len(cols), axis=1)
        else:
            if rotations is None:
                cats[:, cols] = _IGNORED_CAT[cols]
                available[cols] = False
                continue
            v = measure_relative_rotation(rotations, idx, "XYZ".index(kind[-1]))
        if rng is not None:
            v = add_noise(v, op.noise, rng)
        cats[:, cols] = categorize(v, op.thresholds)
    return cats, available


def base_eligibility(cats: np.ndarray) -> np.ndarray:
    """Eligibility ``(N, K)`` from categories: 0 not acceptable, 1 acceptable, 2 rare."""
    return _ELIG_TABLE[np.arange(NUM_CODES)[None, :], cats]
