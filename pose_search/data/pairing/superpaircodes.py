"""Super-paircodes and support resolution (spec: PoseScript notes 10.3).

52 rare codes built from paircode categories and single-pose posecode categories:

* ``straighten {left,right} {leg,arm}`` (4): the knee/elbow paircode is in the "bent less"
  direction (any magnitude) and B's angle posecode is "slightly bent" or "straight";
* L-R distances of elbows, hands, knees, feet (16): "(slightly) farther" when the parts were
  close in A, "(slightly) closer" when they end up close in B;
* each side's elbow, hand, knee, foot vs the torso (32): the same rule.

Support: every distance paircode is support I (distances are only said through these
super-paircodes); the "bent less" angle categories are support II (hidden when a straighten
code fired); B's "straight" and "close" posecodes are support II (hidden as facts when the
super-paircode fired). Unlike the original, this hiding is done per pair, not per pose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pose_search.data.pairing.absolute import POSECODE_INDEX, is_category
from pose_search.data.pairing.paircodes import (
    ALL_PAIRCODES,
    PAIR_OPERATORS,
    Clause,
    paircode_clause,
)

__all__ = ["PairStatements", "resolve_pair"]

_LIMB = {"knee": "leg", "elbow": "arm"}


@dataclass
class PairStatements:
    """Everything said about one pair before skipping/aggregation.

    ``clauses`` are the eligible paircode and super-paircode clauses; ``hidden_facts`` are
    indices into :data:`absolute.POSECODES` not to be stated as facts about B.
    """

    clauses: list[Clause] = field(default_factory=list)
    hidden_facts: set[int] = field(default_factory=set)


def resolve_pair(pair_cats: np.ndarray, cats_a: np.ndarray, cats_b: np.ndarray) -> PairStatements:
    """Paircode + super-paircode clauses of one pair with support resolution applied.

    Args:
        pair_cats: ``(K,)`` paircode categories (:func:`paircodes.categorize_pairs` row; -1 n/a).
        cats_a, cats_b: ``(P,)`` posecode categories of A and B
            (:func:`absolute.pose_categories` rows).

    Returns:
        The :class:`PairStatements` of the pair (distance paircodes never appear directly).
    """
    out = PairStatements()
    straightened: set[tuple[str, str]] = set()
    for code, cat in zip(ALL_PAIRCODES, pair_cats, strict=True):
        if code.kind != "angle" or cat < 0:
            continue
        op = PAIR_OPERATORS["angle"]
        if op.direction(int(cat)) >= 0:
            continue  # not "bent less"
        key = ("angle", code.side, code.part, "", "")
        if is_category(cats_b, key, ("slightly_bent", "straight")):
            straightened.add((code.side, code.part))
            out.clauses.append(Clause(kind="straighten", side=code.side, part=_LIMB[code.part],
                                      interp="straighten", nature="straighten", direction=-1,
                                      magnitude=3, rare=True))
            out.hidden_facts.add(POSECODE_INDEX[key])

    dist_op = PAIR_OPERATORS["distance"]
    for code, cat in zip(ALL_PAIRCODES, pair_cats, strict=True):
        cat = int(cat)
        if cat < 0:
            continue
        if code.kind == "angle":
            if (code.side, code.part) in straightened and PAIR_OPERATORS["angle"].direction(cat) < 0:
                continue  # support II: said through "straighten"
            clause = paircode_clause(code, cat)
            if clause is not None:
                out.clauses.append(clause)
        elif code.kind == "distance":
            if cat == dist_op.centre:
                continue
            key = ("distance", code.side, code.part, code.side2, code.part2)
            farther = dist_op.direction(cat) < 0
            if farther and is_category(cats_a, key, ("close",)):
                pass
            elif not farther and is_category(cats_b, key, ("close",)):
                out.hidden_facts.add(POSECODE_INDEX[key])
            else:
                continue  # support I: a distance change alone is never said
            base = paircode_clause(code, cat)
            assert base is not None
            out.clauses.append(Clause(
                kind="distance", side=code.side, part=code.part, interp=base.interp,
                side2=code.side2, part2=code.part2, nature="distance",
                direction=base.direction, magnitude=base.magnitude, rare=True,
            ))
        else:
            clause = paircode_clause(code, cat)
            if clause is not None:
                out.clauses.append(clause)
    return out
