"""Template banks for posecode sentences (spec section 8.4; phrasings written for this project).

Slots: ``{P}`` subject, ``{V}`` verb ("is"/"are", removed in verb-less clauses), ``{O}`` object,
``{D}`` determiner. Every subject template starts with ``"{P} {V} "`` so that a chained
predicate can drop its subject and verb. Head templates carry their own subject (``{D} head``,
``{D} chin``) and are never chained.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["ONE_COMPONENT", "TWO_COMPONENT", "BODY_OPENERS", "BODY_MIDSENTENCE"]

_ONE: dict[str, tuple[str, ...]] = {
    # angles
    "completely_bent": (
        "{P} {V} fully bent",
        "{P} {V} sharply bent",
        "{P} {V} folded completely",
        "{P} {V} tightly flexed",
        "{P} {V} bent all the way",
    ),
    "bent_more": ("{P} {V} almost completely bent", "{P} {V} strongly bent", "{P} {V} rather bent"),
    "right_angle": (
        "{P} {V} bent at a right angle",
        "{P} {V} bent at about 90 degrees",
        "{P} {V} bent at ninety degrees",
        "{P} {V} making a right angle",
        "{P} {V} bent squarely",
    ),
    "bent_less": (
        "{P} {V} partly bent",
        "{P} {V} partially flexed",
        "{P} {V} half bent",
        "{P} {V} somewhat bent",
    ),
    "slightly_bent": (
        "{P} {V} slightly bent",
        "{P} {V} a bit bent",
        "{P} {V} barely bent",
        "{P} {V} bent a little",
        "{P} {V} softly flexed",
        "{P} {V} almost straight",
    ),
    "straight": ("{P} {V} straight", "{P} {V} unbent", "{P} {V} fully extended"),
    # distances (plural subjects: "the hands are ...")
    "close": (
        "{P} {V} close together",
        "{P} {V} next to each other",
        "{P} {V} joined",
        "{P} {V} held together",
        "{P} {V} near each other",
    ),
    "shoulder_width": (
        "{P} {V} shoulder width apart",
        "{P} {V} about shoulder width apart",
        "{P} {V} roughly a shoulder width apart",
        "{P} {V} spaced at shoulder width",
    ),
    "spread": (
        "{P} {V} spread apart",
        "{P} {V} wider than shoulder width",
        "{P} {V} set apart",
        "{P} {V} spread out",
        "{P} {V} held apart",
        "{P} {V} a good distance apart",
    ),
    "wide": ("{P} {V} wide apart", "{P} {V} far apart", "{P} {V} spread very wide"),
    "touch": ("{P} {V} touching", "{P} {V} in contact", "{P} {V} touching each other"),
    # directions
    "at_right": (
        "{P} {V} to the right",
        "{P} {V} out to the right",
        "{P} {V} pointing right",
        "{P} {V} off to the right side",
        "{P} {V} towards the right",
    ),
    "at_left": (
        "{P} {V} to the left",
        "{P} {V} out to the left",
        "{P} {V} pointing left",
        "{P} {V} off to the left side",
        "{P} {V} towards the left",
    ),
    "below": (
        "{P} {V} down",
        "{P} {V} lowered",
        "{P} {V} low",
        "{P} {V} pointing down",
        "{P} {V} towards the floor",
    ),
    "above": (
        "{P} {V} raised",
        "{P} {V} up",
        "{P} {V} lifted high",
        "{P} {V} up in the air",
        "{P} {V} reaching towards the ceiling",
    ),
    "behind": (
        "{P} {V} behind the back",
        "{P} {V} in the back",
        "{P} {V} held behind",
        "{P} {V} placed at the back",
    ),
    "front": (
        "{P} {V} in front",
        "{P} {V} forward",
        "{P} {V} reaching forward",
        "{P} {V} held out in front",
    ),
    # vertical axis
    "vertical": (
        "{P} {V} vertical",
        "{P} {V} upright",
        "{P} {V} straight up and down",
        "{P} {V} perpendicular to the floor",
    ),
    "horizontal": (
        "{P} {V} horizontal",
        "{P} {V} flat",
        "{P} {V} parallel to the floor",
        "{P} {V} level with the ground",
        "{P} {V} held horizontally",
    ),
    # body inclination
    "lean_left": (
        "{P} {V} leaning to the left",
        "{P} {V} inclined to the left side",
        "{P} {V} tilted towards the left",
        "{P} {V} bending sideways to the left",
    ),
    "lean_right": (
        "{P} {V} leaning to the right",
        "{P} {V} inclined to the right side",
        "{P} {V} tilted towards the right",
        "{P} {V} bending sideways to the right",
    ),
    "lean_left_slightly": (
        "{P} {V} leaning slightly to the left",
        "{P} {V} tilted a little to the left",
        "{P} {V} inclined a bit towards the left",
    ),
    "lean_right_slightly": (
        "{P} {V} leaning slightly to the right",
        "{P} {V} tilted a little to the right",
        "{P} {V} inclined a bit towards the right",
    ),
    "incline_forward": (
        "{P} {V} bent over",
        "{P} {V} leaning forward",
        "{P} {V} hunched forward",
        "{P} {V} bending forwards",
        "{P} {V} tipped forward",
    ),
    "incline_backward": (
        "{P} {V} leaning back",
        "{P} {V} arched backwards",
        "{P} {V} tilted backwards",
        "{P} {V} bending backwards",
    ),
    "incline_forward_slightly": (
        "{P} {V} leaning slightly forward",
        "{P} {V} bent forward a little",
        "{P} {V} hunched a bit",
    ),
    "incline_backward_slightly": (
        "{P} {V} leaning slightly back",
        "{P} {V} tilted back a little",
        "{P} {V} arched a bit",
    ),
    "twist_left": (
        "{P} {V} twisted to the left",
        "{P} {V} turned towards the left",
        "{P} {V} rotated to the left",
    ),
    "twist_right": (
        "{P} {V} twisted to the right",
        "{P} {V} turned towards the right",
        "{P} {V} rotated to the right",
    ),
    "twist_left_slightly": (
        "{P} {V} twisted slightly to the left",
        "{P} {V} turned a little to the left",
    ),
    "twist_right_slightly": (
        "{P} {V} twisted slightly to the right",
        "{P} {V} turned a little to the right",
    ),
    # postures
    "kneeling": (
        "{P} {V} kneeling",
        "{P} {V} on {D} knees",
        "{P} {V} kneeling on both knees",
        "{P} {V} down on {D} knees",
    ),
    "kneel_on_left": (
        "{P} {V} kneeling on {D} left knee",
        "{P} {V} down on {D} left knee",
        "{P} {V} resting on {D} left knee",
    ),
    "kneel_on_right": (
        "{P} {V} kneeling on {D} right knee",
        "{P} {V} down on {D} right knee",
        "{P} {V} resting on {D} right knee",
    ),
    "on_ground": ("{P} {V} on the ground", "{P} {V} on the floor", "{P} {V} touching the floor"),
    # head (own subject)
    "head_incline_forward": (
        "{D} chin {V} tucked towards the chest",
        "{D} head {V} bowed",
        "{D} head {V} tilted down",
    ),
    "head_incline_backward": (
        "{D} head {V} tilted back",
        "{D} chin {V} raised",
        "{D} head {V} thrown backwards",
    ),
    "head_turn_left": (
        "{D} head {V} turned to the left",
        "{D} face {V} looking left",
        "{D} head {V} facing left",
    ),
    "head_turn_right": (
        "{D} head {V} turned to the right",
        "{D} face {V} looking right",
        "{D} head {V} facing right",
    ),
    "head_turn_left_slightly": (
        "{D} head {V} turned slightly to the left",
        "{D} face {V} looking a little to the left",
    ),
    "head_turn_right_slightly": (
        "{D} head {V} turned slightly to the right",
        "{D} face {V} looking a little to the right",
    ),
    "head_incline_left": ("{D} head {V} tilted to the left", "{D} head {V} leaning leftwards"),
    "head_incline_right": ("{D} head {V} tilted to the right", "{D} head {V} leaning rightwards"),
}

_TWO: dict[str, tuple[str, ...]] = {
    "close": (
        "{P} {V} close to {O}",
        "{P} {V} near {O}",
        "{P} {V} beside {O}",
        "{P} {V} next to {O}",
        "{P} {V} right by {O}",
        "{P} {V} near to {O}",
    ),
    "shoulder_width": (
        "{P} {V} shoulder width apart from {O}",
        "{P} {V} about a shoulder width away from {O}",
    ),
    "spread": (
        "{P} {V} spread apart from {O}",
        "{P} {V} well away from {O}",
        "{P} {V} some distance from {O}",
    ),
    "wide": ("{P} {V} far from {O}", "{P} {V} wide apart from {O}"),
    "touch": ("{P} {V} touching {O}", "{P} {V} in contact with {O}", "{P} {V} brushing {O}"),
    "at_right": ("{P} {V} to the right of {O}", "{P} {V} on the right of {O}"),
    "at_left": ("{P} {V} to the left of {O}", "{P} {V} on the left of {O}"),
    "above": (
        "{P} {V} above {O}",
        "{P} {V} higher than {O}",
        "{P} {V} over {O}",
        "{P} {V} raised above {O}",
        "{P} {V} held higher than {O}",
    ),
    "below": (
        "{P} {V} below {O}",
        "{P} {V} lower than {O}",
        "{P} {V} under {O}",
        "{P} {V} beneath {O}",
        "{P} {V} held lower than {O}",
    ),
    "behind": ("{P} {V} behind {O}", "{P} {V} further back than {O}", "{P} {V} in back of {O}"),
    "front": (
        "{P} {V} in front of {O}",
        "{P} {V} ahead of {O}",
        "{P} {V} further forward than {O}",
    ),
    "xy_aligned": (
        "{P} {V} at the same height as {O}",
        "{P} {V} level in height with {O}",
        "{P} {V} at the height of {O}",
    ),
    "xz_aligned": ("{P} {V} vertically aligned with {O}", "{P} {V} in line vertically with {O}"),
    "yz_aligned": (
        "{P} {V} level with {O}",
        "{P} {V} side by side with {O}",
        "{P} {V} aligned sideways with {O}",
    ),
}

ONE_COMPONENT: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(_ONE)
TWO_COMPONENT: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(_TWO)
BODY_OPENERS: tuple[str, ...] = (
    "someone",
    "the person",
    "this person",
    "a person",
    "the figure",
    "the body",
    "the subject",
    "the human",
    "they",
)
BODY_MIDSENTENCE: tuple[str, ...] = ("the body", "the figure")
