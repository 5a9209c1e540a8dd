"""Everyday captions: what people type ("kneeling, arms up", "lying on the back") from the
posture predicates of :mod:`.postures`.

Per pose: the main posture with its variant and side (:func:`.postures.posture_variant`), at
most one trunk/leg detail (kick, bending, wide stance) and at most two arm facts, then text:

* even caption indices: a full sentence ("The person is kneeling on the right knee with both
  arms raised.") from one of four templates;
* odd indices: a search-box query of 2-10 words ("right knee down, arms up").

Sides are the body's own; the assembly is left/right symmetric (facts of the two sides are
ordered by kind, never by side, and draw the same random numbers), so the captions of a
mirrored pose are the mirrored captions (:func:`pose_search.data.mirror.mirror_text`).
Deterministic given the ``rng``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose_search.data.captioning.body_frame import (
    OTHER,
    SIDES,
    ahead_share,
    check_joints,
    height,
    knee_angle,
    sideways_share,
    thigh_direction,
)
from pose_search.data.captioning.everyday_phrases import (
    DETAILS,
    POSTURES,
    SUBJECTS,
    DetailPhrases,
)
from pose_search.data.captioning.postures import (
    BENT_KNEE_DEG,
    KNEE_GROUND_M,
    STAND_MIN_PELVIS_M,
    detect,
)

__all__ = ["Fact", "PoseFacts", "pose_facts", "everyday_captions", "everyday_kinds",
           "sentence", "query", "MAX_QUERY_WORDS"]

MAX_QUERY_WORDS = 10
MIN_QUERY_WORDS = 2
# Arm facts covering both arms, most specific first; then one-arm facts, most salient first.
BOTH_ARMS = ("t_pose", "a_pose", "arms_crossed", "hands_behind_head", "hands_on_head",
             "hands_on_hips", "boxing_guard")
ONE_ARM = ("punching", "throwing", "waving", "pointing", "arm_overhead", "arm_raised",
           "reaching_forward", "hand_on_hip", "arm_out_to_side")
MAX_ARM_FACTS = 2
# Trunk/leg detail keys (:func:`_trunk_leg_fact`); the others are arm facts.
TRUNK_LEG = ("bending_forward", "bending_backward", "bending_sideways", "kick:front", "kick:side",
             "kick:back", "kick", "legs_apart")
# A kicking leg whose horizontal direction is within ~60 deg of ahead / out / behind.
KICK_DIRECTION_COS = 0.5


@dataclass(frozen=True)
class Fact:
    """One thing to say: a bank key and the side it concerns (``None``: no side)."""

    key: str
    side: str | None = None


@dataclass(frozen=True)
class PoseFacts:
    """What one pose's everyday captions say: the posture, then details (trunk/leg, arms)."""

    posture: Fact
    details: tuple[Fact, ...]


def _split_side(label: str) -> Fact:
    head, _, last = label.rpartition(":")
    return Fact(head, last) if last in SIDES else Fact(label)


def _front_leg(j: np.ndarray, i: int) -> str:
    return "left" if j[i, 7, 2] >= j[i, 8, 2] else "right"  # ankles: 7 left, 8 right


def _posture_fact(label: str, j: np.ndarray, i: int) -> Fact:
    fact = _split_side(label)
    if fact.key in ("standing:walk", "standing:run"):
        return Fact(fact.key, _front_leg(j[i:i + 1], 0))
    if fact.key == "lunging:forward" and fact.side is not None:
        if height(j[i:i + 1], f"{OTHER[fact.side]}_knee")[0] <= KNEE_GROUND_M:
            return Fact("lunging:forward_low", fact.side)  # the back knee by the floor
    if fact.key == "other":
        low = height(j[i:i + 1], "pelvis")[0] < STAND_MIN_PELVIS_M
        bent = min(knee_angle(j[i:i + 1], s)[0] for s in SIDES) < BENT_KNEE_DEG
        return Fact("other:low" if low and bent else "other")
    return fact


def _kick_fact(j: np.ndarray, side: str) -> Fact:
    d = thigh_direction(j, side)
    if ahead_share(d)[0] >= KICK_DIRECTION_COS:
        return Fact("kick:front", side)
    if sideways_share(d, side)[0] >= KICK_DIRECTION_COS:
        return Fact("kick:side", side)
    if ahead_share(d)[0] <= -KICK_DIRECTION_COS:
        return Fact("kick:back", side)
    return Fact("kick", side)


def _trunk_leg_fact(flags: dict[str, np.ndarray], j: np.ndarray, i: int, posture: Fact
                    ) -> Fact | None:
    """The one trunk/leg detail worth saying, or ``None``."""
    base = posture.key
    kicks = [s for s in SIDES if flags[f"kicking:{s}"][i]]
    if len(kicks) == 1:
        return _kick_fact(j[i:i + 1], kicks[0])
    if flags["bending_forward"][i] and base not in ("squatting:crouch",):
        return Fact("bending_forward")
    if flags["bending_backward"][i] and not base.startswith("sitting"):
        return Fact("bending_backward")
    sideways = [s for s in SIDES if flags[f"bending_sideways:{s}"][i]]
    if len(sideways) == 1:
        return Fact("bending_sideways", sideways[0])
    if flags["legs_apart"][i] and base == "standing":
        return Fact("legs_apart")
    return None


def _arm_facts(flags: dict[str, np.ndarray], i: int, posture: Fact) -> list[Fact]:
    """At most :data:`MAX_ARM_FACTS` arm facts, ordered by kind (never by side)."""
    if posture.key in ("jumping:star", "kneeling:all_fours") or posture.key.startswith("plank"):
        return []  # the arms are part of the posture (spread in a star jump, or holding it up)
    for key in BOTH_ARMS:
        if flags[key][i]:
            return [Fact(key)]
    best: dict[str, str | None] = {
        s: next((k for k in ONE_ARM if flags[f"{k}:{s}"][i]), None) for s in SIDES
    }
    if best["left"] is not None and best["left"] == best["right"]:
        return [Fact(f"{best['left']}:both")]
    facts = [Fact(k, s) for s, k in best.items() if k is not None]
    facts.sort(key=lambda f: ONE_ARM.index(f.key))
    if not facts and flags["arms_down"][i]:
        facts = [Fact("arms_down")]
    return facts[:MAX_ARM_FACTS]


def pose_facts(joints: np.ndarray) -> list[PoseFacts]:
    """What to say about each pose of ``joints`` ``(N, 22, 3)`` (see :class:`PoseFacts`)."""
    j = check_joints(joints)
    flags = detect(j)
    out = []
    for i in range(len(j)):
        posture = _posture_fact(str(flags["variant"][i]), j, i)
        trunk = _trunk_leg_fact(flags, j, i, posture)
        if posture.key == "standing" and trunk is not None and trunk.key.startswith("bending"):
            posture = Fact("standing:leaning")  # not "upright" / "up straight"
        details = ([trunk] if trunk else []) + _arm_facts(flags, i, posture)
        out.append(PoseFacts(posture, tuple(details)))
    return out


# ------------------------------------------------------------------------------ text
def _fill(text: str, side: str | None) -> str:
    if side in OTHER:
        return text.replace("{s}", side).replace("{o}", OTHER[side])
    return text


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def _detail_bank(fact: Fact) -> DetailPhrases:
    return DETAILS[fact.key]


def _continuation(conts: list[str], after_with: bool = False) -> str:
    """Append detail phrases to a clause: a "with ..." directly, one right after another "with"
    phrase (``after_with``: the clause itself ends with one) joined by "and" ("with the feet
    apart and both arms up"), participles after a comma."""
    out = ""
    for k, c in enumerate(conts):
        prev_with = conts[k - 1].startswith("with ") if k else after_with
        if c.startswith("with ") and prev_with:
            out += " and " + c[5:]
        else:
            out += (" " if k == 0 and c.startswith("with ") else ", ") + c
    return out


def sentence(facts: PoseFacts, rng: np.random.Generator) -> str:
    """A full everyday sentence about one pose, e.g. "Someone kneels on the left knee with
    both arms raised." Deterministic given ``rng``."""
    bank = POSTURES[facts.posture.key]
    side = facts.posture.side
    subject = _pick(SUBJECTS, rng)
    prog = _fill(_pick(bank.prog, rng), side)
    present = _fill(_pick(bank.present, rng), side)
    conts = [_fill(_pick(_detail_bank(f).cont, rng), f.side) for f in facts.details]
    template = int(rng.integers(4))
    if template == 1:  # ("lunges with the left leg forward and the arms by the sides")
        return f"{subject} {present}{_continuation(conts, ' with ' in present)}."
    if template == 2 and conts:
        first = conts[0]
        with_ = first.startswith("with ")
        clause = f"have {first[5:]}" if with_ else f"are {first}"
        return f"{subject} is {prog}, and they {clause}{_continuation(conts[1:], with_)}."
    if template == 3 and conts and conts[0].startswith("with "):
        lead = prog[0].upper() + prog[1:]
        low_subject = subject[0].lower() + subject[1:]
        return f"{lead}, {low_subject} has {conts[0][5:]}{_continuation(conts[1:], True)}."
    return f"{subject} is {prog}{_continuation(conts, ' with ' in prog)}."


def query(facts: PoseFacts, rng: np.random.Generator) -> str:
    """A search-box query of 2-10 words about one pose, e.g. "kneeling on left knee, arms up".

    A trunk/leg detail (a bend, a kick, a wide stance) is always said: it is what the body is
    doing ("bent over, arms down", "standing on left leg, kicking forward"); a bare "person
    standing" for a body bent double would teach that "standing" fits it. Otherwise the arms
    are said in three forms of four. Deterministic given ``rng``."""
    bank = POSTURES[facts.posture.key]
    q_posture = _fill(_pick(bank.query, rng), facts.posture.side)
    trunk = facts.details[0] if facts.details and facts.details[0].key in TRUNK_LEG else None
    arms = facts.details[-1] if facts.details and facts.details[-1] is not trunk else None
    q_trunk = _fill(_pick(_detail_bank(trunk).query, rng), trunk.side) if trunk else ""
    q_arms = _fill(_pick(_detail_bank(arms).query, rng), arms.side) if arms else ""
    form = int(rng.integers(4))
    if trunk is not None:
        lead = q_trunk if facts.posture.key == "standing:leaning" else f"{q_posture}, {q_trunk}"
        text = f"{lead}, {q_arms}" if q_arms and form in (1, 2) else lead
        return _bounded(text, lead if len(lead.split()) <= MAX_QUERY_WORDS else q_trunk)
    text = q_posture
    if q_arms and form == 1:
        text = f"{q_posture}, {q_arms}"
    elif q_arms and form == 2:
        noun = _detail_bank(arms).noun and "," not in q_posture
        text = f"{q_posture} with {q_arms}" if noun else f"{q_posture}, {q_arms}"
    elif q_arms and form == 3 and facts.posture.key == "standing":
        text = q_arms if len(q_arms.split()) >= MIN_QUERY_WORDS else f"{q_posture}, {q_arms}"
    return _bounded(text, q_posture)


def _bounded(text: str, fallback: str) -> str:
    """``text`` if it has at most :data:`MAX_QUERY_WORDS` words, else ``fallback``; a one-word
    query gets "person" in front."""
    if len(text.split()) > MAX_QUERY_WORDS:
        text = fallback
    if len(text.split()) < MIN_QUERY_WORDS:
        text = f"person {text}"
    return text


def everyday_kinds(n: int) -> list[str]:
    """The kind of each of ``n`` everyday captions: "everyday" (a sentence) at even indices,
    "query" at odd ones."""
    return ["everyday" if k % 2 == 0 else "query" for k in range(n)]


def everyday_captions(joints: np.ndarray, rng: np.random.Generator, n: int = 2
                      ) -> list[list[str]]:
    """``n`` everyday captions per pose of ``joints`` ``(N, 22, 3)`` (canonical frame, metres):
    sentences at even indices, queries at odd ones (:func:`everyday_kinds`). Deterministic given
    ``rng``; raises ``ValueError`` for bad joints or ``n < 0``."""
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n}")
    facts = pose_facts(joints)
    out = []
    for f in facts:
        out.append([sentence(f, rng) if k % 2 == 0 else query(f, rng) for k in range(int(n))])
    return out
