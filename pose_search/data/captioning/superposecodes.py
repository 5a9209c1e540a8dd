"""Super-posecodes (spec section 4) and support resolution (section 4.3).

A super-posecode fires when any of its recipes holds; a recipe is a conjunction of
``(elementary code column, required category)`` conditions tested on the noisy categories.
There are 6 hand-written codes (torso horizontal, kneeling variants, hands / feet shoulder width)
and 144 automatic alignment codes (each extremity vs each limb part outside its own limb, in
the xy, xz and yz planes, with one recipe per distance category <= "spread").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .operators import OPERATOR_BY_NAME
from .posecodes import ALIGNMENT_PAIRS, ELEMENTARY_CODES, NUM_CODES, code_index, split_name

__all__ = [
    "SuperPosecode",
    "SUPER_POSECODES",
    "NUM_SUPER",
    "evaluate_superposecodes",
    "resolve_support",
]

Condition = tuple[int, int]  # (elementary code column, category index)


@dataclass(frozen=True)
class SuperPosecode:
    """A super-posecode: text subject / interpretation / object, flags and recipes."""

    id: str
    subject: tuple[str | None, str]
    interpretation: str
    obj: tuple[str | None, str] | None
    rare: bool
    absolute: bool
    recipes: tuple[tuple[Condition, ...], ...]


def _cond(kind: str, joints: tuple[str, ...], category: str) -> Condition:
    return code_index(kind, joints), OPERATOR_BY_NAME[kind].index(category)


def _hand_written() -> list[SuperPosecode]:
    on = "on_ground"
    knees_down = (_cond("onGround", ("left_knee",), on), _cond("onGround", ("right_knee",), on))
    return [
        SuperPosecode(
            "torso_horizontal",
            (None, "torso"),
            "horizontal",
            None,
            True,
            True,
            (
                (
                    _cond("relativeVAxis", ("pelvis", "left_shoulder"), "horizontal"),
                    _cond("relativeVAxis", ("pelvis", "right_shoulder"), "horizontal"),
                ),
            ),
        ),
        SuperPosecode(
            "kneel_on_left",
            (None, "body"),
            "kneel_on_left",
            None,
            True,
            False,
            (
                (
                    _cond("relativePosY", ("left_knee", "right_knee"), "below"),
                    _cond("onGround", ("left_knee",), on),
                    _cond("onGround", ("right_foot",), on),
                ),
            ),
        ),
        SuperPosecode(
            "kneel_on_right",
            (None, "body"),
            "kneel_on_right",
            None,
            True,
            False,
            (
                (
                    _cond("relativePosY", ("left_knee", "right_knee"), "above"),
                    _cond("onGround", ("right_knee",), on),
                    _cond("onGround", ("left_foot",), on),
                ),
            ),
        ),
        SuperPosecode(
            "kneeling",
            (None, "body"),
            "kneeling",
            None,
            True,
            False,
            (
                (
                    _cond("relativePosY", ("left_hip", "left_knee"), "above"),
                    _cond("relativePosY", ("right_hip", "right_knee"), "above"),
                )
                + knees_down,
                (
                    _cond("angle", ("left_hip", "left_knee", "left_ankle"), "completely_bent"),
                    _cond("angle", ("right_hip", "right_knee", "right_ankle"), "completely_bent"),
                )
                + knees_down,
            ),
        ),
        SuperPosecode(
            "hands_shoulder_width",
            ("plural", "hand"),
            "shoulder_width",
            None,
            True,
            True,
            (
                (
                    _cond("distance", ("left_hand", "right_hand"), "shoulder_width"),
                    _cond("relativeVAxis", ("left_hand", "right_hand"), "horizontal"),
                ),
            ),
        ),
        SuperPosecode(
            "feet_shoulder_width",
            ("plural", "foot"),
            "shoulder_width",
            None,
            False,
            True,
            (
                (
                    _cond("distance", ("left_foot", "right_foot"), "shoulder_width"),
                    _cond("relativeVAxis", ("left_foot", "right_foot"), "horizontal"),
                ),
            ),
        ),
    ]


_PLANES = (("xy", ("X", "Y")), ("xz", ("X", "Z")), ("yz", ("Y", "Z")))


def _alignment() -> list[SuperPosecode]:
    out = []
    for pair in ALIGNMENT_PAIRS:
        for plane, axes in _PLANES:
            base = tuple(_cond(f"relativePos{a}", pair, f"{a.lower()}_aligned") for a in axes)
            recipes = tuple(
                base + (_cond("distance", pair, d),) for d in ("close", "shoulder_width", "spread")
            )
            out.append(
                SuperPosecode(
                    f"{pair[0]}_{plane}_aligned_{pair[1]}",
                    split_name(pair[0]),
                    f"{plane}_aligned",
                    split_name(pair[1]),
                    False,
                    True,
                    recipes,
                )
            )
    return out


SUPER_POSECODES: tuple[SuperPosecode, ...] = tuple(_hand_written() + _alignment())
NUM_SUPER = len(SUPER_POSECODES)


def evaluate_superposecodes(cats: np.ndarray) -> np.ndarray:
    """Which super-posecodes fire: categories ``(N, K)`` -> ``(N, S)`` bool."""
    out = np.zeros((cats.shape[0], NUM_SUPER), dtype=bool)
    for s, sp in enumerate(SUPER_POSECODES):
        fired = np.zeros(cats.shape[0], dtype=bool)
        for recipe in sp.recipes:
            ok = np.ones(cats.shape[0], dtype=bool)
            for col, cat in recipe:
                ok &= cats[:, col] == cat
            fired |= ok
        out[:, s] = fired
    return out


def _support_tables() -> tuple[np.ndarray, tuple[tuple[int, int, int], ...]]:
    """Support I mask ``(K, C)`` and the support II ``(super, column, category)`` triples."""
    max_c = max(len(op.categories) for op in OPERATOR_BY_NAME.values())
    s1 = np.zeros((NUM_CODES, max_c), dtype=bool)
    for k, code in enumerate(ELEMENTARY_CODES):
        op = OPERATOR_BY_NAME[code.kind]
        for name in code.support1:
            s1[k, op.index(name)] = True
    s2 = []
    for s, sp in enumerate(SUPER_POSECODES):
        for recipe in sp.recipes:
            for col, cat in recipe:
                code = ELEMENTARY_CODES[col]
                if OPERATOR_BY_NAME[code.kind].categories[cat] in code.support2:
                    s2.append((s, col, cat))
    s1.setflags(write=False)
    return s1, tuple(dict.fromkeys(s2))


_SUPPORT1, _SUPPORT2 = _support_tables()


def resolve_support(elig: np.ndarray, cats: np.ndarray, fired: np.ndarray) -> np.ndarray:
    """Zero the eligibility ``(N, K)`` of support categories (section 4.3); returns a new array.

    Support I categories are hidden whenever present; support II ones only when a super-posecode
    whose recipe references them fired.
    """
    out = elig.copy()
    hidden1 = _SUPPORT1[np.arange(NUM_CODES)[None, :], cats]
    out[hidden1] = 0
    for s, col, cat in _SUPPORT2:
        out[fired[:, s] & (cats[:, col] == cat), col] = 0
    return out
