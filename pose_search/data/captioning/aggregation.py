"""Aggregation and redundancy removal of one pose's records (spec section 7).

Steps, in order: (0) transitive ripple effect, (1) entity aggregation, (2) symmetry aggregation,
(3) statistical ripple effect, (4) random side reversal / 1-component plural, (5) interpretation
and focus aggregation into :class:`Statement` s. ``simplified`` turns off 1, 2 and 5; the ripple
steps run only when ``ripple`` is set. Every random choice uses the given generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .selection import Record

__all__ = ["Statement", "aggregate", "RIPPLE_RULES", "AGGREGATION_PROBABILITY"]

AGGREGATION_PROBABILITY = 0.95
Part = tuple[str | None, str]  # (side, part); side "plural" for a plural subject
Predicate = tuple[str, str | None, str | None]  # (interp, side2, part2)


@dataclass(frozen=True)
class Statement:
    """Several subjects sharing one predicate, or one subject carrying several predicates."""

    subjects: tuple[Part, ...]
    predicates: tuple[Predicate, ...]


_FLIP = {
    "at_left": "at_right",
    "at_right": "at_left",
    "above": "below",
    "below": "above",
    "front": "behind",
    "behind": "front",
}
_MIRROR_INTERP = {"at_left": "at_right", "at_right": "at_left"}
_FAMILIES = (("at_left", "at_right"), ("above", "below"), ("front", "behind"))
_DISTANCE_LIKE = frozenset({"close", "shoulder_width", "spread", "wide", "touch"})
_ENTITIES = {
    frozenset({"wrist", "elbow"}): "arm",
    frozenset({"hand", "elbow"}): "arm",
    frozenset({"forearm", "upperarm"}): "arm",
    frozenset({"ankle", "knee"}): "leg",
    frozenset({"foot", "knee"}): "leg",
    frozenset({"shin", "thigh"}): "leg",
    frozenset({"lowerleg", "thigh"}): "leg",
    # self-contact parts (only touch codes use them)
    frozenset({"upperback", "lowerback"}): "back",
    frozenset({"belly", "chest"}): "torso",
    frozenset({"index", "wrist"}): "hand",
    frozenset({"toes", "ankle"}): "foot",
}
NO_AGGREGATION = frozenset(
    {
        "head_incline_forward",
        "head_incline_backward",
        "head_turn_left",
        "head_turn_right",
        "head_turn_left_slightly",
        "head_turn_right_slightly",
        "head_incline_left",
        "head_incline_right",
    }
)

_L, _R = "left", "right"
_Rule = tuple[tuple[Record, ...], tuple[Record, ...]]  # (conditions, records to drop)


def _r(s1: str | None, p1: str, i: str, s2: str | None = None, p2: str | None = None) -> Record:
    return Record(s1, p1, i, s2, p2)


_HANDS_WIDE = _r(_L, "hand", "wide", _R, "hand")
_LEFT_DECLARED_RULES: tuple[_Rule, ...] = (
    ((_r(_L, "hand", "above", None, "neck"),), (_r(_L, "hand", "above", _L, "shoulder"),)),
    (
        (_r(_L, "knee", "right_angle"), _r(_L, "thigh", "vertical")),
        (_r(_L, "foot", "behind", None, "torso"),),
    ),
    ((_r(_L, "foot", "front", _R, "foot"),), (_r(_R, "foot", "behind", None, "torso"),)),
    ((_r(_L, "foot", "behind", _R, "foot"),), (_r(_R, "foot", "front", None, "torso"),)),
    (
        (_r(_L, "hand", "above", _L, "shoulder"), _r(_R, "hand", "below", _R, "hip")),
        (
            _HANDS_WIDE,
            _r(_L, "shoulder", "above", _R, "shoulder"),
            _r(_L, "elbow", "above", _R, "elbow"),
            _r(_L, "hand", "above", _R, "hand"),
        ),
    ),
    (
        (_r(_L, "hand", "above", None, "neck"), _r(_R, "hand", "below", _R, "hip")),
        (_HANDS_WIDE, _r(_L, "elbow", "above", _R, "elbow"), _r(_L, "hand", "above", _R, "hand")),
    ),
    (
        (_r(_L, "hand", "below", _L, "hip"), _r(_R, "upperarm", "horizontal")),
        (_r(_L, "elbow", "below", _R, "elbow"), _r(_L, "hand", "below", _R, "hand")),
    ),
    (
        (_r(_L, "hand", "close", _R, "hand"), _r(_L, "hand", "above", _L, "shoulder")),
        (_r(_R, "hand", "above", _R, "shoulder"),),
    ),
    (
        (_r(_L, "hand", "close", _R, "hand"), _r(_L, "hand", "above", None, "neck")),
        (_r(_R, "hand", "above", _R, "shoulder"), _r(_R, "hand", "above", None, "neck")),
    ),
    (
        (_r(_L, "hand", "close", _R, "hand"), _r(_L, "hand", "below", _L, "hip")),
        (_r(_R, "hand", "below", _R, "hip"),),
    ),
    (
        (_r(_L, "foot", "close", _R, "foot"), _r(_L, "foot", "behind", None, "torso")),
        (_r(_R, "foot", "behind", None, "torso"),),
    ),
    (
        (_r(_L, "elbow", "above", _R, "elbow"), _r(_L, "hand", "below", _L, "hip")),
        (_r(_R, "hand", "below", _R, "hip"),),
    ),
    (
        (_r(_L, "hand", "below", _R, "hand"), _r(_L, "hand", "above", _L, "shoulder")),
        (_r(_R, "hand", "above", _R, "shoulder"), _r(_R, "hand", "above", None, "neck")),
    ),
    (
        (_r(_L, "hand", "above", _R, "hand"), _r(_L, "hand", "below", _L, "hip")),
        (_r(_R, "hand", "below", _R, "hip"),),
    ),
    (
        (_r(_L, "hand", "front", _R, "hand"), _r(_L, "hand", "behind", None, "torso")),
        (_r(_R, "hand", "behind", None, "torso"),),
    ),
    (
        (_r(_L, "upperarm", "vertical"), _r(_L, "forearm", "horizontal")),
        (_r(_L, "elbow", "right_angle"),),
    ),
    ((_r(_L, "thigh", "vertical"), _r(_L, "shin", "vertical")), (_r(_L, "knee", "straight"),)),
    (
        (_r(_L, "knee", "behind", _R, "knee"), _r(_L, "thigh", "horizontal")),
        (_r(_L, "foot", "behind", None, "torso"),),
    ),
    (
        (_r(_L, "knee", "front", _R, "knee"), _r(_L, "thigh", "vertical")),
        (_r(_R, "foot", "behind", None, "torso"),),
    ),
)


def _swap(side: str | None) -> str | None:
    return {_L: _R, _R: _L}.get(side, side) if side else side


def _canonical(r: Record) -> Record:
    """Left-first form of a left/right comparison of the same part."""
    if r.side1 == _R and r.side2 == _L and r.part1 == r.part2:
        return Record(_L, r.part1, _FLIP.get(r.interp, r.interp), _R, r.part2)
    return r


def _mirror(r: Record) -> Record:
    return _canonical(
        Record(
            _swap(r.side1), r.part1, _MIRROR_INTERP.get(r.interp, r.interp), _swap(r.side2), r.part2
        )
    )


RIPPLE_RULES: tuple[_Rule, ...] = tuple(
    dict.fromkeys(
        _LEFT_DECLARED_RULES
        + tuple(
            (tuple(_mirror(c) for c in cond), tuple(_mirror(d) for d in drop))
            for cond, drop in _LEFT_DECLARED_RULES
        )
    )
)


def _transitive_ripple(records: list[Record]) -> list[Record]:
    """Drop ``a<c`` when ``a<b`` and ``b<c`` are also stated on the same axis (step 0)."""
    drop: set[Record] = set()
    for high, low in _FAMILIES:
        edges: dict[tuple[Part, Part], Record] = {}
        for r in records:
            if r.part2 is None or "plural" in (r.side1, r.side2) or r.interp not in (high, low):
                continue
            a, b = (r.side1, r.part1), (r.side2, r.part2)
            edges[(a, b) if r.interp == high else (b, a)] = r
        succ: dict[Part, set[Part]] = {}
        for a, b in edges:
            succ.setdefault(a, set()).add(b)
        for (a, c), r in edges.items():
            if any(c in succ.get(b, ()) for b in succ.get(a, ()) if b != c):
                drop.add(r)
    return [r for r in records if r not in drop]


def _combine(p: str | None, q: str | None) -> str | None:
    if p is None or q is None:
        return None
    return _ENTITIES.get(frozenset({p, q}))


def _entity_aggregation(records: list[Record], rng: np.random.Generator) -> list[Record]:
    recs = list(records)
    i = 0
    while i < len(recs):
        merged = False
        for j in range(i + 1, len(recs)):
            a, b = recs[i], recs[j]
            if (a.side1, a.interp, a.side2) != (b.side1, b.interp, b.side2):
                continue
            e1, e2 = _combine(a.part1, b.part1), _combine(a.part2, b.part2)
            if e1 and (a.part2 == b.part2 or e2):
                new = Record(a.side1, e1, a.interp, a.side2, e2 or a.part2)
            elif e2 and a.part1 == b.part1:
                new = Record(a.side1, a.part1, a.interp, a.side2, e2)
            else:
                continue
            if rng.random() < AGGREGATION_PROBABILITY:
                recs[i] = new
                del recs[j]
                merged = True
                break
        if not merged:
            i += 1
    return list(dict.fromkeys(recs))


def _symmetry_aggregation(records: list[Record], rng: np.random.Generator) -> list[Record]:
    recs = list(records)
    i = 0
    while i < len(recs):
        merged = False
        for j in range(i + 1, len(recs)):
            a, b = recs[i], recs[j]
            if (a.part1, a.interp, a.part2) != (b.part1, b.interp, b.part2):
                continue
            if {a.side1, b.side1} != {_L, _R} or a.interp in NO_AGGREGATION:
                continue
            if a.side2 == b.side2:
                side2 = a.side2
            elif {a.side2, b.side2} == {_L, _R}:
                side2 = "plural"
            else:
                continue
            if rng.random() < AGGREGATION_PROBABILITY:
                recs[i] = Record("plural", a.part1, a.interp, side2, a.part2)
                del recs[j]
                merged = True
                break
        if not merged:
            i += 1
    return recs


def _stat_ripple(before: list[Record], after: list[Record]) -> list[Record]:
    present = set(before)
    drop: set[Record] = set()
    for cond, targets in RIPPLE_RULES:
        if all(c in present for c in cond):
            drop.update(targets)
    return [r for r in after if r not in drop]


def _side_reversal(records: list[Record], rng: np.random.Generator) -> list[Record]:
    out = []
    for r in records:
        same_part = r.part1 == r.part2 and {r.side1, r.side2} == {_L, _R}
        if same_part and r.interp in _DISTANCE_LIKE and rng.random() < 0.5:
            r = Record("plural", r.part1, r.interp, None, None)
        elif same_part and rng.random() < 0.5:
            r = Record(r.side2, r.part2, _FLIP.get(r.interp, r.interp), r.side1, r.part1)
        out.append(r)
    return out


def _group(records: list[Record], rng: np.random.Generator) -> list[Statement]:
    order = rng.permutation(len(records))
    used = np.zeros(len(records), dtype=bool)
    out: list[Statement] = []
    singles: list[Record] = []
    for i in order:  # interpretation aggregation: several subjects, one predicate
        if used[i]:
            continue
        used[i] = True
        r = records[i]
        mates = [
            j
            for j in order
            if not used[j]
            and r.interp not in NO_AGGREGATION
            and (records[j].interp, records[j].side2, records[j].part2)
            == (r.interp, r.side2, r.part2)
        ]
        if mates and rng.random() < AGGREGATION_PROBABILITY:
            used[mates] = True
            subjects = [(r.side1, r.part1)] + [(records[j].side1, records[j].part1) for j in mates]
            out.append(Statement(tuple(subjects), ((r.interp, r.side2, r.part2),)))
        else:
            singles.append(r)
    taken = [False] * len(singles)
    for i, r in enumerate(singles):  # focus aggregation: one subject, several predicates
        if taken[i]:
            continue
        taken[i] = True
        preds = [(r.interp, r.side2, r.part2)]
        if r.interp not in NO_AGGREGATION:
            mates = [
                j
                for j in range(i + 1, len(singles))
                if not taken[j]
                and (singles[j].side1, singles[j].part1) == (r.side1, r.part1)
                and singles[j].interp not in NO_AGGREGATION
            ]
            if mates and rng.random() < AGGREGATION_PROBABILITY:
                for j in mates:
                    taken[j] = True
                    preds.append((singles[j].interp, singles[j].side2, singles[j].part2))
        out.append(Statement(((r.side1, r.part1),), tuple(preds)))
    return out


def aggregate(
    records: list[Record],
    rng: np.random.Generator,
    *,
    simplified: bool = False,
    ripple: bool = False,
) -> list[Statement]:
    """Run the aggregation steps on one pose's records and return its statements."""
    recs = list(dict.fromkeys(records))
    if ripple:
        recs = _transitive_ripple(recs)
    before = list(recs)
    if not simplified:
        recs = _entity_aggregation(recs, rng)
        recs = _symmetry_aggregation(recs, rng)
    if ripple:
        recs = _stat_ripple(before, recs)
    recs = _side_reversal(recs, rng)
    if simplified:
        return [Statement(((r.side1, r.part1),), ((r.interp, r.side2, r.part2),)) for r in recs]
    return _group(recs, rng)
