"""Sentence generation from statements (spec section 8): ordering, templates, post-processing.

Ordering walks a kinematic body-part graph depth first from "body", children in random order,
and emits statements grouped by subject in that order. A caption draws a determiner, then joins
statements with random transitions; " with " makes the clause verb-less (carried through
following " and "). ``simplified`` captions never use " with ", keep every object (no
omit-for-flow) and always name the object in full.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .aggregation import Part, Predicate, Statement
from .templates import BODY_MIDSENTENCE, BODY_OPENERS, ONE_COMPONENT, TWO_COMPONENT

__all__ = ["order_statements", "generate_caption", "postprocess"]

_DETERMINERS = ("the", "their", "his", "her")
_DET_P = (0.5, 0.3, 0.1, 0.1)
_TRANSITIONS = (" while ", ", ", ". ", " and ", " with ")
_SIMPLE_TRANSITIONS = (", ", ". ", " and ")

_KINEMATIC: dict[str, tuple[str, ...]] = {
    "body": ("head", "torso"),
    "head": ("neck",),
    "torso": (
        "left_shoulder",
        "right_shoulder",
        "left_arm",
        "right_arm",
        "left_hip",
        "right_hip",
        "left_leg",
        "right_leg",
    ),
}
for _s in ("left", "right"):
    _KINEMATIC[f"{_s}_arm"] = (f"{_s}_upperarm", f"{_s}_elbow", f"{_s}_forearm")
    _KINEMATIC[f"{_s}_forearm"] = (f"{_s}_hand",)
    _KINEMATIC[f"{_s}_hand"] = (f"{_s}_wrist",)
    _KINEMATIC[f"{_s}_leg"] = (f"{_s}_thigh", f"{_s}_knee", f"{_s}_shin")
    _KINEMATIC[f"{_s}_shin"] = (f"{_s}_foot",)
    _KINEMATIC[f"{_s}_foot"] = (f"{_s}_ankle",)

_GLUED = (
    ("upperarm", "upper arm"),
    ("lowerleg", "lower leg"),
    ("forearm", "forearm"),
    ("upperback", "upper back"),
    ("lowerback", "lower back"),
)
# Self-contact parts missing from the kinematic graph are ordered like these parts.
_RANK_ALIAS = {
    "index": "hand",
    "toes": "foot",
    "lowerleg": "shin",
    "face": "head",
    "crown": "head",
    "throat": "neck",
    "chest": "torso",
    "belly": "torso",
    "upperback": "torso",
    "lowerback": "torso",
    "back": "torso",
    "butt": "torso",
    "crotch": "torso",
}
# Display names of parts: (singular, plural, whether the singular takes a plural verb).
_NOUNS = {"index": ("index finger", "index fingers", False), "toes": ("toes", "toes", True)}
_ONE_COMP_FOR_FLOW = frozenset({"front", "behind", "at_left", "at_right", "above"})


def _plural(part: str) -> str:
    if part in _NOUNS:
        return _NOUNS[part][1]
    return "feet" if part == "foot" else part + "s"


def _rank(rank: dict[str, int], key: str, default: int) -> int:
    if key in rank:
        return rank[key]
    side, _, part = key.rpartition("_")
    alias = _RANK_ALIAS.get(part, part)
    return rank.get(f"{side}_{alias}" if side else alias, default)


def _body_order(rng: np.random.Generator) -> dict[str, int]:
    order: list[str] = []
    stack = ["body"]
    while stack:
        node = stack.pop()
        order.append(node)
        children = list(_KINEMATIC.get(node, ()))
        stack.extend(children[i] for i in rng.permutation(len(children))[::-1])
    return {name: i for i, name in enumerate(order)}


def order_statements(statements: Sequence[Statement], rng: np.random.Generator) -> list[Statement]:
    """Shuffle, group by subject and sort the groups along a random kinematic walk."""
    rank = _body_order(rng)
    shuffled = [statements[i] for i in rng.permutation(len(statements))]
    keys: list[str] = []
    for st in shuffled:
        side, part = st.subjects[0]
        if side in ("left", "right"):
            keys.append(f"{side}_{part}")
        else:
            keys.append(part)
    present_sides = {k.split("_")[0] for k in keys if k.startswith(("left_", "right_"))}
    for i, st in enumerate(shuffled):
        side, part = st.subjects[0]
        if side == "plural":
            options = sorted(present_sides) or ["left", "right"]
            keys[i] = f"{options[int(rng.integers(len(options)))]}_{part}"
    group_first: dict[str, int] = {}
    for i, k in enumerate(keys):
        group_first.setdefault(k, i)
    big = len(rank)
    idx = sorted(
        range(len(shuffled)), key=lambda i: (_rank(rank, keys[i], big), group_first[keys[i]], i)
    )
    return [shuffled[i] for i in idx]


class _Ctx:
    """Per-caption choices: determiner, gender, randomness, simplified flag."""

    def __init__(self, rng: np.random.Generator, simplified: bool) -> None:
        self.rng = rng
        self.simplified = simplified
        self.det = _DETERMINERS[int(rng.choice(4, p=_DET_P))]
        self.gender = {"his": "he", "her": "she"}.get(self.det)

    def pick(self, options: Sequence[str]) -> str:
        return options[int(self.rng.integers(len(options)))]


def _part_text(side: str | None, part: str, ctx: _Ctx) -> tuple[str, bool]:
    """Noun phrase of a (side, part) and whether it is plural."""
    if side == "plural":
        if ctx.rng.random() < 0.5:
            return f"both {_plural(part)}", True
        return f"{ctx.det} {_plural(part)}", True
    if part == "hands" or part == "feet":
        return f"{ctx.det} {part}", True
    noun, plural = (_NOUNS[part][0], _NOUNS[part][2]) if part in _NOUNS else (part, False)
    return (f"{ctx.det} {side} {noun}" if side else f"{ctx.det} {noun}"), plural


def _body_subject(ctx: _Ctx, start: bool) -> tuple[str, str]:
    if not start:
        return ctx.pick(BODY_MIDSENTENCE), "is"
    opener = ctx.pick(BODY_OPENERS)
    if opener == "they":
        return (ctx.gender or "they"), ("is" if ctx.gender else "are")
    if opener == "the human" and ctx.gender:
        return ("the man" if ctx.gender == "he" else "the woman"), "is"
    return opener, "is"


def _object_text(subject: Part, side2: str | None, part2: str, ctx: _Ctx) -> str:
    side1, part1 = subject
    if not ctx.simplified and part1 == part2 and {side1, side2} == {"left", "right"}:
        choice = int(ctx.rng.integers(3))
        if choice == 1:
            return "the other one"
        if choice == 2:
            return f"the {side2} one"
    return _part_text(side2, part2, ctx)[0]


def _omit_object(subject: Part, pred: Predicate, ctx: _Ctx) -> bool:
    interp, _, part2 = pred
    if ctx.simplified or part2 is None or interp not in _ONE_COMP_FOR_FLOW:
        return part2 is None
    part1 = subject[1]
    if part2 == "torso" and interp in ("front", "behind"):
        return True
    if (part1, part2) in (("hand", "shoulder"), ("foot", "hip")) and interp in (
        "at_left",
        "at_right",
    ):
        return True
    return part1 in ("hand", "wrist") and part2 == "neck" and interp == "above"


def _fill(template: str, subject: str, verb: str, obj: str, det: str) -> str:
    return (
        template.replace("{P}", subject)
        .replace("{V}", verb)
        .replace("{O}", obj)
        .replace("{D}", det)
    )


def _predicate_text(pred: Predicate, subject: Part, subj: str, verb: str, ctx: _Ctx) -> str:
    interp, side2, part2 = pred
    if _omit_object(subject, pred, ctx) and interp in ONE_COMPONENT:
        return _fill(ctx.pick(ONE_COMPONENT[interp]), subj, verb, "", ctx.det)
    bank = TWO_COMPONENT.get(interp) if part2 is not None else None
    if bank is None:
        return _fill(ctx.pick(ONE_COMPONENT[interp]), subj, verb, "", ctx.det)
    obj = _object_text(subject, side2, part2, ctx)
    return _fill(ctx.pick(bank), subj, verb, obj, ctx.det)


def _statement_text(st: Statement, ctx: _Ctx, start: bool, verbless: bool) -> str:
    first = st.subjects[0]
    if first[1] == "body":
        subj, verb = _body_subject(ctx, start)
        pronoun = ctx.gender or ctx.pick(("they", "the person"))
    elif len(st.subjects) > 1:
        names = [_part_text(s, p, ctx)[0] for s, p in st.subjects]
        subj, verb, pronoun = ", ".join(names[:-1]) + " and " + names[-1], "are", "they"
    else:
        subj, plural = _part_text(first[0], first[1], ctx)
        verb, pronoun = ("are", "they") if plural else ("is", "it")
    text = _predicate_text(st.predicates[0], first, subj, "" if verbless else verb, ctx)
    for pred in st.predicates[1:]:
        joins = 2 if verbless else 4
        j = int(ctx.rng.integers(joins))
        if j == 0:
            text += " and " + _predicate_text(pred, first, "", "", ctx)
        elif j == 1:
            text += ", " + _predicate_text(pred, first, "", "", ctx)
        elif j == 2:
            pverb = "are" if pronoun == "they" else "is"
            text += ". " + _predicate_text(pred, first, pronoun, pverb, ctx)
        else:
            text += " and " + _predicate_text(pred, first, "", verb, ctx)
    return text


def postprocess(text: str, det: str) -> str:
    """Final full stop, spacing, glued words, sentence capitalisation and his/her agreement."""
    for glued, split in _GLUED:
        text = text.replace(glued, split)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.])", r"\1", text)
    text = re.sub(r"([,.])\1+", r"\1", text)
    if text and not text.endswith("."):
        text += "."
    sentences = [s.strip() for s in text.split(". ")]
    text = ". ".join(s[:1].upper() + s[1:].lower() for s in sentences if s)
    if det in ("his", "her"):
        obj = "him" if det == "his" else "her"
        text = re.sub(r"\btheir\b", det, text)
        text = re.sub(r"\bTheir\b", det.capitalize(), text)
        text = re.sub(r"\bthem\b", obj, text)
    return text


def generate_caption(
    statements: Sequence[Statement], rng: np.random.Generator, *, simplified: bool = False
) -> str:
    """Turn one pose's statements into a caption string (empty when there are none)."""
    if not statements:
        return ""
    ctx = _Ctx(rng, simplified)
    pieces: list[str] = []
    verbless = False
    transitions = _SIMPLE_TRANSITIONS if simplified else _TRANSITIONS
    for i, st in enumerate(order_statements(statements, rng)):
        trans = "" if i == 0 else transitions[int(rng.integers(len(transitions)))]
        if trans == " with ":
            verbless = True
        elif trans != " and ":
            verbless = False
        start = i == 0 or trans == ". "
        pieces.append(trans + _statement_text(st, ctx, start, verbless))
    return postprocess("".join(pieces), ctx.det)
