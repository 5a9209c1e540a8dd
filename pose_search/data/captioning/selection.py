"""Selection of the posecodes to say (spec section 5) and the dataset statistics behind the lists.

Eligibility per pose and code: 0 (not acceptable, ignored or hidden support), 1 (acceptable),
2 (rare: never skipped). Super-posecodes get 2 when rare, 1 otherwise, when they fire. The
random skip drops eligibility-1 codes with probability 0.15; a pose whose codes were all dropped
gets them back. Kept codes become 5-slot :class:`Record` s ``(side1, part1, interp, side2, part2)``.

Statistics procedure (for :func:`suggest_lists`): run :func:`category_frequencies` on the
categories of a representative pose set (with noise); a category present in more than
``prop_eligible`` (0.4) of the poses is *trivial* (should not be acceptable), one present in fewer
than ``prop_unskippable`` (0.06) is *rare* (unskippable). The shipped lists are the spec's curated
ones; these helpers exist to audit them on our own pose distribution.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .categories import base_eligibility
from .operators import OPERATOR_BY_NAME
from .posecodes import ELEMENTARY_CODES, NUM_CODES
from .superposecodes import SUPER_POSECODES, resolve_support

__all__ = [
    "Record",
    "SKIP_PROBABILITY",
    "eligibility",
    "random_skip",
    "pose_records",
    "category_frequencies",
    "suggest_lists",
]

SKIP_PROBABILITY = 0.15


class Record(NamedTuple):
    """One said posecode: subject ``(side1, part1)``, interpretation, object ``(side2, part2)``.

    Sides are ``"left"``, ``"right"``, ``"plural"`` or ``None``; ``part2`` is ``None`` for
    single-part codes.
    """

    side1: str | None
    part1: str
    interp: str
    side2: str | None
    part2: str | None


def _record_tables() -> tuple[tuple[tuple[Record, ...], ...], tuple[Record, ...]]:
    elem = []
    for code in ELEMENTARY_CODES:
        op = OPERATOR_BY_NAME[code.kind]
        side2, part2 = code.obj if code.obj else (None, None)
        elem.append(
            tuple(
                Record(code.subject[0], code.subject[1], code.interpretation(c), side2, part2)
                for c in range(len(op.categories))
            )
        )
    sup = []
    for sp in SUPER_POSECODES:
        side2, part2 = sp.obj if sp.obj else (None, None)
        sup.append(Record(sp.subject[0], sp.subject[1], sp.interpretation, side2, part2))
    return tuple(elem), tuple(sup)


_ELEM_RECORDS, _SUPER_RECORDS = _record_tables()
_SUPER_ELIG = np.array([2 if sp.rare else 1 for sp in SUPER_POSECODES], dtype=np.int64)


def eligibility(cats: np.ndarray, available: np.ndarray, fired: np.ndarray) -> np.ndarray:
    """Eligibility of every code for every pose: ``(N, K + S)`` int in {0, 1, 2}.

    ``cats`` ``(N, K)`` categories, ``available`` ``(K,)`` bool, ``fired`` ``(N, S)`` bool.
    """
    elem = base_eligibility(cats) * available[None, :]
    elem = resolve_support(elem, cats, fired)
    sup = fired.astype(np.int64) * _SUPER_ELIG[None, :]
    return np.concatenate([elem, sup], axis=1)


def random_skip(
    elig: np.ndarray, rng: np.random.Generator, p: float = SKIP_PROBABILITY
) -> np.ndarray:
    """Kept mask ``(N, K + S)`` bool: rare codes always, others with probability ``1 - p``.

    Poses whose every eligible code was skipped keep all of them.
    """
    keep = (elig == 2) | ((elig == 1) & (rng.random(elig.shape) >= p))
    empty = ~keep.any(axis=1)
    keep[empty] = elig[empty] > 0
    return keep


def pose_records(cats_row: np.ndarray, keep_row: np.ndarray) -> list[Record]:
    """Records of one pose from ``cats_row`` ``(K,)`` categories and ``keep_row`` ``(K + S,)``."""
    out = []
    for col in np.flatnonzero(keep_row):
        if col < NUM_CODES:
            out.append(_ELEM_RECORDS[col][cats_row[col]])
        else:
            out.append(_SUPER_RECORDS[col - NUM_CODES])
    return out


def category_frequencies(cats: np.ndarray) -> list[dict[str, float]]:
    """Share of poses in each category, per elementary code: categories ``(N, K)`` -> K dicts."""
    out = []
    for k, code in enumerate(ELEMENTARY_CODES):
        names = OPERATOR_BY_NAME[code.kind].categories
        counts = np.bincount(cats[:, k], minlength=len(names)) / max(cats.shape[0], 1)
        out.append({name: float(counts[i]) for i, name in enumerate(names)})
    return out


def suggest_lists(
    freqs: list[dict[str, float]], prop_eligible: float = 0.4, prop_unskippable: float = 0.06
) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per code, ``(trivial categories, rare categories)`` by the statistics rule (module doc)."""
    out = []
    for f in freqs:
        named = {k: v for k, v in f.items() if "ignored" not in k}
        trivial = tuple(k for k, v in named.items() if v > prop_eligible)
        rare = tuple(k for k, v in named.items() if 0 < v < prop_unskippable)
        out.append((trivial, rare))
    return out
