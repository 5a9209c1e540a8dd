"""Aggregation of pair clauses (spec: PoseScript notes 10.5; no ripple rules in PoseFix).

Steps, in order (each coin flip uses the caller's generator):

1. entity aggregation (p = 0.95 per candidate): same side, same object, same kind and same
   direction; hand+elbow / forearm+upper arm merge into "arm", foot+knee / shin+thigh into "leg".
   The merged clause keeps the larger magnitude;
2. symmetry aggregation (p = 0.95): identical interpretation and part on both sides -> a plural
   subject ("both hands");
3. random swap: left/right distance clauses swap their slots (p = 0.5, no interpretation flip) and
   distance clauses switch between 1 and 2 components (p = 0.5);
4. interpretation and focus aggregation (p = 0.95 each, random order, each clause used once,
   distance clauses excluded): several subjects sharing one predicate, or one subject carrying
   several predicates.

``simplified=True`` skips steps 1, 2 and 4 (text #1 of each pair, as in the spec).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from pose_search.data.pairing.paircodes import PAIR_OPERATORS, Clause, interp_of

__all__ = ["Statement", "aggregate", "ENTITIES"]

ENTITIES: dict[frozenset[str], str] = {
    frozenset({"hand", "elbow"}): "arm",
    frozenset({"wrist", "elbow"}): "arm",
    frozenset({"forearm", "upperarm"}): "arm",
    frozenset({"foot", "knee"}): "leg",
    frozenset({"ankle", "knee"}): "leg",
    frozenset({"shin", "thigh"}): "leg",
}
_P_AGG = 0.95


@dataclass
class Statement:
    """Clauses said together: one clause, several subjects sharing one predicate
    (``multi_subject``), or one subject with several predicates."""

    clauses: list[Clause] = field(default_factory=list)
    multi_subject: bool = False

    @property
    def subject(self) -> tuple[str, str]:
        """``(side, part)`` of the first clause."""
        return self.clauses[0].side, self.clauses[0].part


def _merge_key(c: Clause) -> tuple[object, ...]:
    return (c.kind, c.side, c.side2, c.part2, c.direction, c.interp if c.fact else "")


def _merge(a: Clause, b: Clause, entity: str) -> Clause:
    if a.fact:
        return replace(a, part=entity, rare=a.rare or b.rare)
    mag = max(a.magnitude, b.magnitude)
    interp = interp_of(a.kind, a.direction, mag) if a.kind in PAIR_OPERATORS else a.interp
    return replace(a, part=entity, magnitude=mag, interp=interp, rare=a.rare or b.rare)


def _entity_aggregation(clauses: list[Clause], rng: np.random.Generator) -> list[Clause]:
    out = list(clauses)
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                entity = ENTITIES.get(frozenset({a.part, b.part}))
                if entity is None or a.part == b.part or _merge_key(a) != _merge_key(b):
                    continue
                if a.kind in ("angle", "straighten"):
                    continue
                if rng.random() >= _P_AGG:
                    continue
                out[i] = _merge(a, b, entity)
                del out[j]
                changed = True
                break
            if changed:
                break
    return list(dict.fromkeys(out))  # drop duplicates, keep order


def _symmetry_aggregation(clauses: list[Clause], rng: np.random.Generator) -> list[Clause]:
    out = list(clauses)
    i = 0
    while i < len(out):
        a = out[i]
        for j in range(i + 1, len(out)):
            b = out[j]
            if (a.side in ("left", "right") and b.side in ("left", "right") and a.side != b.side
                    and a.part == b.part and a.interp == b.interp and a.part2 == b.part2
                    and a.kind == b.kind and not (a.kind == "distance" and a.part == a.part2)):
                if rng.random() < _P_AGG:
                    side2 = a.side2 if a.side2 == b.side2 else ("both" if a.side2 else "")
                    out[i] = replace(a, side="both", side2=side2,
                                     magnitude=max(a.magnitude, b.magnitude), rare=a.rare or b.rare)
                    del out[j]
                break
        i += 1
    return out


def _random_swap(clauses: list[Clause], rng: np.random.Generator) -> list[Clause]:
    out: list[Clause] = []
    for c in clauses:
        lr = c.part2 == c.part and c.side in ("left", "right") and c.side2 not in ("", c.side)
        if lr and rng.random() < 0.5:
            c = replace(c, side=c.side2, side2=c.side)
        if (c.kind == "distance" or (c.fact and c.part2)) and rng.random() < 0.5:
            if lr:  # "move the hands apart" / "the hands should be close together"
                c = replace(c, side="both", side2="", part2="")
            elif c.part2 == "torso":  # "tuck the left knee in" (object implied)
                c = replace(c, side2="", part2="")
        out.append(c)
    return out


def _same_predicate(a: Clause, b: Clause) -> bool:
    """Can ``a`` and ``b`` share one predicate with two subjects ("bend X and Y more")?"""
    return (a.interp == b.interp and a.side2 == b.side2 and a.part2 == b.part2
            and a.fact == b.fact and "distance" not in (a.kind, b.kind)
            and "both" not in (a.side, b.side) and (a.side, a.part) != (b.side, b.part)
            and a.part not in ("body", "head") and b.part not in ("body", "head"))


def _group(clauses: list[Clause], rng: np.random.Generator) -> list[Statement]:
    order = list(rng.permutation(len(clauses)))
    used: set[int] = set()
    statements: list[Statement] = []
    for i in order:
        if i in used:
            continue
        used.add(i)
        c = clauses[i]
        st = Statement([c])
        if c.kind != "distance" and rng.random() < _P_AGG:
            by_interp = [j for j in order if j not in used and _same_predicate(c, clauses[j])]
            by_focus = [j for j in order if j not in used and clauses[j].kind != "distance"
                        and (clauses[j].side, clauses[j].part) == (c.side, c.part)]
            if by_focus and (not by_interp or rng.random() < 0.5):
                st.clauses += [clauses[j] for j in by_focus]
                used.update(by_focus)
            elif by_interp:
                st.clauses += [clauses[j] for j in by_interp]
                st.multi_subject = True
                used.update(by_interp)
        statements.append(st)
    return statements


def aggregate(clauses: list[Clause], rng: np.random.Generator, *, simplified: bool = False
              ) -> list[Statement]:
    """Aggregate one pair's clauses (paircodes, super-paircodes and facts) into statements."""
    if simplified:
        return [Statement([c]) for c in _random_swap(clauses, rng)]
    c = _entity_aggregation(clauses, rng)
    c = _symmetry_aggregation(c, rng)
    c = _random_swap(c, rng)
    return _group(c, rng)
