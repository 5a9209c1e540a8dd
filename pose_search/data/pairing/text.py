"""Instruction text for pose pairs (spec: PoseScript notes 10.6-10.7); phrasings are our own.

Template syntax: ``"raise {P}"``: the first word is the verb (turned into a gerund after
" while "), ``{P}`` the subject (body part), ``{O}`` the object; a trailing ``*`` marks a
*neutral* verb (move/bring) whose tail can be chained without repeating the verb ("move your
left hand up and to the left"). Templates without ``{P}`` (body, head, turns) speak about the
whole person. "your" inside templates is replaced by the chosen determiner.
"""

from __future__ import annotations

import numpy as np

from pose_search.data.pairing.aggregation import Statement
from pose_search.data.pairing.paircodes import Clause

__all__ = ["TEMPLATES", "FACTS", "render_statements", "rotation_sentence", "no_change_text",
           "TURN_THRESHOLDS", "TURN_CATEGORIES", "kinematic_order", "NO_CHANGE"]

_T = dict[str, tuple[str, ...]]


def _bank(**groups: str) -> _T:
    return {k: tuple(t.strip() for t in v.split("|")) for k, v in groups.items()}


TEMPLATES: _T = _bank(
    bend_much_less="unbend {P}|unfold {P}|open {P} up wide",
    bend_less="bend {P} less|ease the bend in {P}|relax the bend of {P}|open {P} somewhat",
    bend_slightly_less="bend {P} a little less|unbend {P} slightly|open {P} a touch",
    bend_slightly_more="bend {P} a little more|flex {P} slightly|fold {P} a bit",
    bend_more="bend {P} more|flex {P} further|fold {P} more",
    bend_much_more="bend {P} a lot more|fold {P} fully|flex {P} deeply",
    straighten="straighten {P}|extend {P}|stretch {P} out|unbend {P} completely",
    higher="raise {P}|lift {P}|move {P} up*|bring {P} higher*|lift {P} up high",
    slightly_higher="raise {P} a little|lift {P} slightly|move {P} up a bit*"
                    "|bring {P} a little higher*",
    lower="lower {P}|drop {P}|move {P} down*|bring {P} down*",
    slightly_lower="lower {P} a little|drop {P} slightly|move {P} down a bit*"
                   "|bring {P} a little lower*",
    more_left="move {P} to the left*|bring {P} leftwards*|swing {P} to the left",
    slightly_more_left="move {P} slightly to the left*|shift {P} a bit to the left*"
                       "|bring {P} a little leftwards*",
    more_right="move {P} to the right*|bring {P} rightwards*|swing {P} to the right",
    slightly_more_right="move {P} slightly to the right*|shift {P} a bit to the right*"
                        "|bring {P} a little rightwards*",
    more_front="move {P} forward*|bring {P} to the front*|push {P} forwards",
    slightly_more_front="move {P} slightly forward*|bring {P} a bit further forward*"
                        "|push {P} forward a little",
    more_back="move {P} backward*|bring {P} back*|pull {P} backwards",
    slightly_more_back="move {P} back a little*|bring {P} slightly backward*|pull {P} back a bit",
    # distances: 2 components, 1 component plural (L-R), 1 component singular (vs torso)
    farther_2="move {P} away from {O}*|separate {P} from {O}|pull {P} away from {O}",
    slightly_farther_2="move {P} a bit away from {O}*|pull {P} slightly away from {O}",
    closer_2="move {P} closer to {O}*|bring {P} near {O}*|draw {P} towards {O}",
    slightly_closer_2="move {P} a little closer to {O}*|bring {P} slightly nearer to {O}*"
                      "|tuck {P} a bit towards {O}",
    farther_both="move {P} apart*|spread {P} apart|pull {P} away from each other",
    slightly_farther_both="move {P} slightly apart*|spread {P} a little",
    closer_both="bring {P} together*|move {P} closer together*|draw {P} in towards each other",
    slightly_closer_both="bring {P} a bit closer together*|move {P} slightly closer to each other*",
    farther_1="move {P} away from your body*|extend {P} away from you",
    slightly_farther_1="move {P} a little away from your body*|ease {P} out a bit",
    closer_1="bring {P} closer to you*|tuck {P} in|pull {P} in towards your body",
    slightly_closer_1="tuck {P} in slightly|bring {P} a little closer to your body*",
    incline_forward_more="lean forward more|bend over further|tilt your torso forward",
    incline_forward_slightly_more="lean forward a little more|bend slightly further forward",
    incline_backward_more="lean back more|arch your back further|tilt your torso backwards",
    incline_backward_slightly_more="lean back a little more|tilt slightly further back",
    twist_right_more="twist your torso to the right|rotate your shoulders to the right"
                     "|turn your upper body rightwards",
    twist_right_slightly_more="twist a little to the right|rotate your torso slightly to the right",
    twist_left_more="twist your torso to the left|rotate your shoulders to the left"
                    "|turn your upper body leftwards",
    twist_left_slightly_more="twist a little to the left|rotate your torso slightly to the left",
    lean_left_more="lean to the left|tilt your body leftwards|bend sideways to the left",
    lean_left_slightly_more="lean slightly to the left|tilt your body a bit to the left",
    lean_right_more="lean to the right|tilt your body rightwards|bend sideways to the right",
    lean_right_slightly_more="lean slightly to the right|tilt your body a bit to the right",
    head_forward_more="tuck your chin in|tilt your head forward|lower your chin towards your chest",
    head_backward_more="raise your chin|tilt your head back|look up more",
    head_left_more="turn your head to the left|look more to the left|rotate your head leftwards",
    head_left_slightly_more="turn your head slightly to the left|look a little more to the left",
    head_right_more="turn your head to the right|look more to the right"
                    "|rotate your head rightwards",
    head_right_slightly_more="turn your head slightly to the right"
                             "|look a little more to the right",
)
FACTS: _T = _bank(
    fact_straight="straight|fully extended|unbent",
    fact_completely_bent="fully bent|completely folded|sharply bent",
    fact_right_angle="bent at a right angle|at 90 degrees|bent in an L shape",
    fact_horizontal="horizontal|parallel to the floor|level with the ground",
    fact_vertical="vertical|upright|aligned with the vertical",
    fact_close="close to {O}|near {O}|right next to {O}",
    fact_close_both="close together|next to each other|near one another",
    fact_on_ground="on the ground|on the floor|resting on the floor",
)
TURN_THRESHOLDS = (-150.0, -120.0, -60.0, -20.0, 20.0, 60.0, 120.0, 150.0)
TURN_CATEGORIES = ("around", "around_right", "quarter_right", "slightly_right", "ignored",
                   "slightly_left", "quarter_left", "around_left", "around")
TURNS: _T = _bank(
    around="turn around|face the opposite direction|do a half turn",
    around_right="turn most of the way around to the right|rotate about 135 degrees to the right",
    quarter_right="rotate 90 degrees to the right|make a quarter turn to the right"
                  "|turn a quarter clockwise",
    slightly_right="turn slightly to the right|rotate a little clockwise|pivot a bit to your right",
    slightly_left="turn slightly to the left|rotate a little counter-clockwise"
                  "|pivot a bit to your left",
    quarter_left="rotate 90 degrees to the left|make a quarter turn to the left"
                 "|turn a quarter counter-clockwise",
    around_left="turn most of the way around to the left|rotate about 135 degrees to the left",
)
NO_CHANGE = ("Keep the same pose; nothing needs to change.", "Stay as you are: the pose is already "
             "right.", "No correction is needed; hold this pose.")
_PLURAL = {"foot": "feet", "knee": "knees", "hand": "hands", "elbow": "elbows", "arm": "arms",
           "leg": "legs", "shoulder": "shoulders", "upperarm": "upper arms",
           "forearm": "forearms", "thigh": "thighs", "shin": "shins", "ankle": "ankles"}
_DOUBLE = {"drop", "put"}
_CHILDREN = {"body": ("head", "torso"), "arm": ("shoulder", "upperarm", "elbow", "forearm"),
             "forearm": ("wrist", "hand"), "leg": ("hip", "thigh", "knee", "shin"),
             "shin": ("ankle", "foot")}
_TRANSITIONS = (" while ", ", ", ". ", " and ", " then ")


def _gerund(verb: str) -> str:
    if verb in _DOUBLE:
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    return verb + "ing"


def _split(template: str) -> tuple[str, str, str, bool]:
    """``"move {P} up*"`` -> ``("move", "", "up", True)``: verb, words before {P}, tail, neutral."""
    neutral = template.endswith("*")
    t = template.rstrip("*")
    verb, _, rest = t.partition(" ")
    pre, has_p, post = rest.partition("{P}")
    if not has_p:
        return verb, "", rest, neutral
    return verb, pre.strip(), post.strip(), neutral


def _name(side: str, part: str, det: str) -> str:
    if part == "torso":
        return f"{det} torso"
    if side == "both":
        return f"{det} {_PLURAL.get(part, part + 's')}"
    return f"{det} {side} {part}".replace("  ", " ")


def _object(c: Clause, det: str, rng: np.random.Generator) -> str:
    if c.part2 == c.part and c.side2 in ("left", "right") and c.side != c.side2:
        return str(rng.choice([f"{det} {c.side2} {c.part2}", f"the other {c.part2}",
                               f"{det} {c.side2} one"]))
    if c.side2 == "both":
        return _name("both", c.part2, det)
    return _name(c.side2, c.part2, det)


def _template_key(c: Clause) -> str:
    if c.kind == "distance":
        return f"{c.interp}_{'2' if c.part2 else ('both' if c.side == 'both' else '1')}"
    return c.interp


def _subject(st: Statement, det: str) -> tuple[str, bool]:
    """Subject text of a statement and whether it is plural."""
    if st.multi_subject:
        names = [_name(c.side, c.part, "" if i else det).strip() for i, c in enumerate(st.clauses)]
        return ", ".join(names[:-1]) + " and " + names[-1], True
    side, part = st.subject
    return _name(side, part, det), side == "both"


def _fact_text(c: Clause, subj: str, plural: bool, det: str, gerund: bool,
               rng: np.random.Generator) -> str:
    key = "fact_close_both" if c.interp == "fact_close" and not c.part2 else c.interp
    pred = str(rng.choice(FACTS[key])).replace("{O}", _object(c, det, rng) if c.part2 else "")
    modals = (["need to be", "should be", "must be"] if plural
              else ["needs to be", "should be", "must be"])
    if gerund:
        modals.append("are" if plural else "is")
    return f"{subj} {rng.choice(modals)} {pred}"


def _render_statement(st: Statement, det: str, gerund: bool, rng: np.random.Generator) -> str:
    """One statement: a clause, shared-predicate subjects, or a focus chain with pronouns."""
    subj, plural = _subject(st, det)
    clauses = st.clauses[:1] if st.multi_subject else st.clauses
    parts: list[str] = []
    prev_neutral = False
    for i, c in enumerate(clauses):
        first = i == 0
        if c.fact:
            who = subj if first else ("they" if plural else "it")
            text = _fact_text(c, who, plural, det, gerund, rng)
            parts.append(text if first else f" and {text}")
            prev_neutral = False
            continue
        options = [_split(t) for t in TEMPLATES[_template_key(c)]]
        join = ""
        drop_verb = False
        if not first:
            join = " and " if (prev_neutral and rng.random() < 0.5) else str(
                rng.choice([" and ", ", ", ", then "]))
            if join == " and " and prev_neutral and rng.random() < 0.8 and any(o[3] for o in options):
                drop_verb = True
            gerund = gerund and join == " and "  # a gerund only carries through " and "
            if "{P}" in TEMPLATES[_template_key(c)][0]:  # pronoun needs the object right after the verb
                options = [o for o in options if not o[1]] or options
        if drop_verb:
            options = [o for o in options if o[3]]
        verb, pre, post, neutral = options[int(rng.integers(len(options)))]
        has_subject = "{P}" in TEMPLATES[_template_key(c)][0]
        who = subj if first else ("them" if plural else "it")
        obj = _object(c, det, rng) if c.part2 else ""
        post = post.replace("{O}", obj)
        if drop_verb:
            text = post
        else:
            v = _gerund(verb) if gerund else verb
            text = " ".join(w for w in (v, pre, who if has_subject else "", post) if w)
        parts.append(text if first else join + text)
        prev_neutral = neutral
    return "".join(parts)


def _finish(text: str, det: str) -> str:
    text = text.replace("upperarm", "upper arm")
    if det != "your":
        text = text.replace(" your ", f" {det} ").replace("your ", f"{det} ")
    text = " ".join(text.split())
    sentences = [s.strip() for s in text.split(". ") if s.strip()]
    text = ". ".join(s[0].upper() + s[1:] for s in sentences)
    return text if text.endswith(".") else text + "."


def kinematic_order(rng: np.random.Generator) -> list[tuple[str, str]]:
    """Random depth-first walk of the body-part graph from "body": ``(side, part)`` in order."""
    out: list[tuple[str, str]] = []

    def visit(side: str, part: str) -> None:
        out.append((side, part))
        if part == "torso":
            kids = [(s, p) for s in ("left", "right") for p in ("arm", "leg")]
        else:
            kids = [(side, p) for p in _CHILDREN.get(part, ())]
        for i in rng.permutation(len(kids)):
            visit(*kids[i])

    visit("", "body")
    return out


def render_statements(statements: list[Statement], order: list[tuple[str, str]] | None,
                      rng: np.random.Generator) -> str:
    """Instruction text for one pair from its aggregated statements.

    ``order`` lists ``(side, part)`` in the visiting order of the kinematic random walk;
    statements are emitted in that order (unknown subjects last), see :func:`kinematic_order`.
    Returns "" for no statement.
    """
    if not statements:
        return ""
    det = "your" if rng.random() < 0.5 else "the"
    rank = {k: i for i, k in enumerate(order or [])}
    idx = rng.permutation(len(statements))
    shuffled = [statements[i] for i in idx]

    def key(st: Statement) -> int:
        side, part = st.subject
        if side == "both":  # a plural subject joins one side's group, chosen at random
            side = "left" if rng.random() < 0.5 else "right"
        return rank.get((side, part), len(rank))

    shuffled.sort(key=key)
    out: list[str] = []
    gerund = False
    for i, st in enumerate(shuffled):
        if i:
            tr = str(rng.choice(_TRANSITIONS))
            gerund = tr == " while " or (gerund and tr == " and ")
            out.append(tr)
        out.append(_render_statement(st, det, gerund, rng))
    return _finish("".join(out), det)


def rotation_sentence(turn_deg: float, rng: np.random.Generator) -> str:
    """Global turn sentence (``+`` = to the subject's left), noise +-10 deg; "" when small."""
    v = float(turn_deg) + rng.uniform(-10.0, 10.0)
    v = (v + 180.0) % 360.0 - 180.0
    cat = TURN_CATEGORIES[int(np.searchsorted(TURN_THRESHOLDS, v, side="left"))]
    if cat == "ignored":
        return ""
    return _finish(str(rng.choice(TURNS[cat])), "your")


def no_change_text(rng: np.random.Generator) -> str:
    """The explicit answer for a pair whose poses do not differ noticeably."""
    return str(rng.choice(NO_CHANGE))
