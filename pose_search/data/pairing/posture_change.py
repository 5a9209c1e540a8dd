"""Everyday opening sentence of an instruction when the main posture changes ("Stand up.",
"Kneel down on your left knee.", "Lie on your back."); phrasings are our own.

The postures come from :func:`pose_search.data.captioning.postures.posture_variant` of each
pose; a sentence is said only when the *main* postures of A and B differ, and names B's side
where it has one (the knee that goes down, the leg in front). ``{s}`` is that side (the body's
own), ``{o}`` the other; nothing else names a side, so the sentences survive
:func:`pose_search.data.mirror.mirror_text`.
"""

from __future__ import annotations

import numpy as np

from pose_search.data.captioning.postures import SIDES, posture_variant

__all__ = ["CHANGES", "FROM_FLOOR", "posture_change_sentence", "posture_labels"]


def _bank(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split("|"))


# B's posture (variant without its side) -> sentences; the first key that matches wins, so the
# longer ("kneeling:one") come before their prefixes ("kneeling").
CHANGES: dict[str, tuple[str, ...]] = {
    "standing:one_leg": _bank("Stand up on your {s} leg.|Get up and balance on your {s} leg."
                              "|Stand on your {s} leg, {o} foot off the ground."),
    "standing": _bank("Stand up.|Get up on your feet.|Rise to standing."),
    "kneeling:one": _bank("Kneel down on your {s} knee.|Go down on your {s} knee."
                          "|Drop to your {s} knee."),
    "kneeling:all_fours": _bank("Get down on all fours.|Go onto your hands and knees."),
    "kneeling": _bank("Kneel down.|Get down on both knees.|Go down on your knees."),
    "lying:back": _bank("Lie on your back.|Lie down, face up.|Lie flat on your back."),
    "lying:front": _bank("Lie face down.|Lie down on your stomach.|Lie on your front."),
    "lying:side": _bank("Lie on your {s} side.|Lie down on your {s} side."),
    "lying": _bank("Lie down.|Lie down on the floor."),
    "sitting:floor": _bank("Sit on the floor with your legs out in front.|Sit down on the floor."),
    "sitting:cross_legged": _bank("Sit cross-legged.|Sit down with your legs crossed."),
    "sitting": _bank("Sit down.|Sit down on a chair.|Take a seat."),
    "squatting:crouch": _bank("Crouch down.|Get down into a low crouch."),
    "squatting": _bank("Squat down.|Go down into a squat.|Lower into a deep squat."),
    "lunging:forward": _bank("Step into a lunge with your {s} leg forward."
                             "|Lunge forward on your {s} leg."),
    "lunging:side": _bank("Lunge to the {s}.|Step out into a side lunge to the {s}."),
    "lunging": _bank("Step into a lunge."),
    "jumping:tuck": _bank("Jump and tuck your knees up.|Jump, pulling your knees up."),
    "jumping:star": _bank("Do a star jump.|Jump with your arms and legs spread wide."),
    "jumping": _bank("Jump."),
    "plank:push_up": _bank("Get into a push-up position.|Hold a high plank on straight arms."),
    "plank": _bank("Get into a forearm plank.|Get down into a plank."),
}
# Getting up from the floor (A lying, sitting on the floor, on all fours or in a plank) reads
# better than "Stand up."; from lying to sitting, "Sit up.".
FROM_FLOOR: dict[str, tuple[str, ...]] = {
    "standing": _bank("Get up from the floor.|Get up off the floor and stand.|Stand up from the floor."),
    "sitting": _bank("Sit up.|Sit up from lying down."),
}
_FLOOR = ("lying", "sitting:floor", "sitting:cross_legged", "plank", "kneeling:all_fours")


def posture_labels(joints: np.ndarray) -> np.ndarray:
    """Posture variant labels ``(N,)`` of joints ``(N, 22, 3)`` (canonical frame), e.g.
    ``"kneeling:one:left"``; see :func:`.postures.posture_variant`."""
    return posture_variant(joints)


def _split(label: str) -> tuple[str, str | None]:
    head, _, last = label.rpartition(":")
    return (head, last) if last in SIDES else (label, None)


def posture_change_sentence(label_a: str, label_b: str, rng: np.random.Generator) -> str:
    """The everyday sentence for going from posture ``label_a`` to ``label_b`` (labels of
    :func:`posture_labels`), or ``""`` when the main postures are the same or B's is "other".
    Draws from ``rng`` only when it says something."""
    main_a, main_b = label_a.split(":")[0], label_b.split(":")[0]
    if main_a == main_b or main_b == "other":
        return ""
    base, side = _split(label_b)
    if base == "standing" and label_a.startswith(_FLOOR):
        options = FROM_FLOOR["standing"]
    elif main_b == "sitting" and main_a == "lying":
        options = FROM_FLOOR["sitting"]
    else:
        options = CHANGES[next(k for k in CHANGES if base.startswith(k))]
    text = options[int(rng.integers(len(options)))]
    if side is not None:
        text = text.replace("{s}", side).replace("{o}", "right" if side == "left" else "left")
    return text
