"""Phrase banks of the everyday caption layer (our own wording; see :mod:`.everyday`).

``{s}`` stands for a side ("left" / "right", the body's own) and ``{o}`` for the other side. The
banks name no side themselves, so a caption of a mirrored pose is the mirrored caption
(:func:`pose_search.data.mirror.mirror_text`); avoid "right" in any other sense ("a right
angle"), which the mirror would have to guess about.

* :data:`POSTURES`: per posture label (:func:`.postures.posture_variant` without its side) the
  phrases after "is" (``prog``), after a subject in the present tense (``present``), and the
  search-box forms (``query``).
* :data:`DETAILS`: arm and trunk/leg facts: continuations (``cont``: "with ..." phrases or
  participles, appended to a sentence) and search-box forms (``query``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PosturePhrases", "DetailPhrases", "POSTURES", "DETAILS", "SUBJECTS"]


@dataclass(frozen=True)
class PosturePhrases:
    """Ways to say one posture: after "is", in the present tense, and as a short query."""

    prog: tuple[str, ...]
    present: tuple[str, ...]
    query: tuple[str, ...]


@dataclass(frozen=True)
class DetailPhrases:
    """Ways to say one arm / trunk / leg fact. ``cont`` phrases start with "with" (a state) or
    are participles (an action); ``query`` phrases are short; ``noun`` tells whether the query
    forms read after "with" ("standing with hands on hips")."""

    cont: tuple[str, ...]
    query: tuple[str, ...]
    noun: bool = True


def _p(prog: str, present: str, query: str) -> PosturePhrases:
    split = lambda text: tuple(t.strip() for t in text.split("|"))  # noqa: E731
    return PosturePhrases(split(prog), split(present), split(query))


def _d(cont: str, query: str, noun: bool = True) -> DetailPhrases:
    return DetailPhrases(tuple(t.strip() for t in cont.split("|")),
                         tuple(t.strip() for t in query.split("|")), noun)


SUBJECTS = ("The person", "A person", "Someone", "This person", "The subject")

POSTURES: dict[str, PosturePhrases] = {
    "standing": _p(
        "standing|standing upright|standing up straight|on their feet",
        "stands|stands upright|stands up straight",
        "standing|standing upright|person standing|standing straight"),
    "standing:leaning": _p("standing|on their feet", "stands|is on their feet",
                           "standing|person standing"),
    "standing:walk": _p(
        "walking|walking with the {s} foot forward|mid-stride, {s} leg in front|taking a step",
        "walks|walks with the {s} foot forward|is mid-stride with the {s} leg in front",
        "walking|walking, {s} foot forward|mid-stride|person walking"),
    "standing:run": _p(
        "running|running with the {s} leg forward|jogging|in a running stride",
        "runs|runs with the {s} leg forward|is jogging|is in full stride",
        "running|running, {s} leg forward|jogging|person running"),
    "standing:one_leg": _p(
        "standing on the {s} leg|balancing on the {s} leg|standing on one leg, the {s} one"
        "|on the {s} foot with the {o} foot off the ground",
        "stands on the {s} leg|balances on the {s} leg|stands on one leg, the {s} one",
        "standing on {s} leg|balancing on one leg|on one leg, {s}|{o} foot raised"),
    "lying:back": _p(
        "lying on their back|flat on the back, face up|lying face up|lying down on the back",
        "lies on their back|lies flat on the back, face up|lies face up",
        "lying on the back|lying on back|face up on the floor|lying down face up"),
    "lying:front": _p(
        "lying on their front|lying face down|flat on the stomach|lying prone, face down",
        "lies on their front|lies face down|lies flat on the stomach",
        "lying face down|lying on stomach|prone on the floor|lying on front"),
    "lying:side": _p(
        "lying on the {s} side|lying on their {s} side|resting on the {s} side",
        "lies on the {s} side|lies on their {s} side|rests on the {s} side",
        "lying on {s} side|on the {s} side|lying on side, {s}"),
    "lying": _p(
        "lying down|lying on the floor|stretched out on the ground",
        "lies down|lies on the floor|is stretched out on the ground",
        "lying down|lying on the floor|person lying"),
    "plank:push_up": _p(
        "in a push-up position|doing a push-up|holding a plank on straight arms",
        "holds a push-up position|does a push-up|holds a high plank",
        "push-up|push-up position|high plank"),
    "plank:forearms": _p(
        "holding a forearm plank|in a plank on the forearms|planking on the elbows",
        "holds a forearm plank|planks on the forearms|holds a plank on the elbows",
        "forearm plank|plank on elbows|planking"),
    "plank": _p("holding a plank|in a plank position", "holds a plank", "plank|plank position"),
    "jumping:tuck": _p(
        "jumping with the knees tucked up|in the air with the knees pulled up|doing a tuck jump",
        "jumps with the knees tucked up|leaps with the knees pulled up|does a tuck jump",
        "tuck jump|jumping, knees up|jumping with knees tucked"),
    "jumping:star": _p(
        "doing a star jump|jumping with the arms and legs spread wide|in a jumping-jack pose",
        "does a star jump|jumps with the arms and legs spread wide|does a jumping jack",
        "star jump|jumping jack|jumping, arms and legs spread"),
    "jumping": _p("jumping|in mid-air", "jumps|leaps", "jumping|person jumping"),
    "kneeling:both": _p(
        "kneeling|kneeling on both knees|on their knees|down on both knees",
        "kneels|kneels on both knees|is down on both knees",
        "kneeling|on both knees|kneeling down|person kneeling"),
    "kneeling:one": _p(
        "kneeling on the {s} knee|down on the {s} knee|kneeling on one knee, the {s} one"
        "|on one knee with the {s} knee on the ground",
        "kneels on the {s} knee|kneels on one knee, the {s} one|goes down on the {s} knee",
        "kneeling on {s} knee|{s} knee down|on one knee|kneeling on one knee"),
    "kneeling:all_fours": _p(
        "on all fours|on hands and knees|down on all fours",
        "is on all fours|crawls on hands and knees|kneels on hands and knees",
        "on all fours|hands and knees|crawling position"),
    "kneeling": _p("kneeling|down on the knees", "kneels", "kneeling|person kneeling"),
    "sitting:chair": _p(
        "sitting on a chair|seated on a chair|sitting on a seat|sitting down on a chair",
        "sits on a chair|sits on a seat|is seated on a chair",
        "sitting on a chair|seated|sitting down|sitting on chair"),
    "sitting:floor": _p(
        "sitting on the floor with the legs out in front|seated on the ground, legs stretched"
        " forward|sitting on the floor, legs straight out",
        "sits on the floor with the legs out in front|sits on the ground, legs stretched forward",
        "sitting on the floor|sitting with legs out|seated on the ground|sitting, legs forward"),
    "sitting:cross_legged": _p(
        "sitting cross-legged|sitting with the legs crossed|seated cross-legged",
        "sits cross-legged|sits with the legs crossed",
        "sitting cross-legged|cross-legged|legs crossed, sitting"),
    "sitting": _p("sitting|seated", "sits", "sitting|person sitting"),
    "squatting": _p(
        "squatting|in a squat|squatting down low|in a deep squat|crouched down low",
        "squats|squats down low|sinks into a deep squat",
        "squatting|deep squat|squat|squatting down"),
    "squatting:crouch": _p(
        "crouching|crouched down low|in a deep crouch|crouching low to the ground",
        "crouches|crouches down low|crouches low to the ground",
        "crouching|crouched down|deep crouch|crouching low"),
    "lunging:forward": _p(
        "lunging with the {s} leg forward|in a lunge, {s} foot in front"
        "|in a forward lunge on the {s} leg|stepping into a lunge with the {s} leg",
        "lunges with the {s} leg forward|steps into a lunge on the {s} leg"
        "|holds a forward lunge, {s} foot in front",
        "lunge, {s} leg forward|{s} leg lunge|forward lunge|lunging forward"),
    "lunging:forward_low": _p(
        "in a low lunge with the {s} leg forward and the {o} knee down"
        "|lunging low on the {s} leg, the {o} knee almost on the floor"
        "|in a deep lunge, {s} foot in front and {o} knee lowered",
        "sinks into a low lunge with the {s} leg forward and the {o} knee down"
        "|lunges low on the {s} leg, the {o} knee almost on the floor",
        "low lunge, {o} knee down|deep lunge, {s} leg forward|low lunge"),
    "lunging:side": _p(
        "lunging to the {s}|in a side lunge to the {s}|in a side lunge over the bent {s} knee",
        "lunges to the {s}|holds a side lunge to the {s}|steps out into a side lunge to the {s}",
        "lunge to the {s}|side lunge|side lunge to the {s}|lunging {s}"),
    "lunging": _p("lunging|in a lunge", "lunges", "lunge|lunging"),
    "other": _p(
        "holding a pose|in a pose of their own",
        "holds a pose|strikes a pose",
        "person posing|posing"),
    "other:low": _p(
        "low to the ground with the knees bent|down low, knees bent",
        "stays low to the ground with the knees bent|keeps low, knees bent",
        "low, knees bent|down low"),
}

DETAILS: dict[str, DetailPhrases] = {
    # ---- trunk and legs
    "bending_forward": _d("bending forward|bent over at the waist|leaning far forward",
                          "bent over|bending forward|leaning forward", noun=False),
    "bending_backward": _d("leaning back|arching the back|with the upper body tilted back",
                           "leaning back|arching back", noun=False),
    "bending_sideways": _d("leaning to the {s}|bending sideways to the {s}|tilted to the {s}",
                           "leaning {s}|side bend to the {s}|bending to the {s}", noun=False),
    "kick:front": _d("kicking forward with the {s} leg|with the {s} leg kicked up in front",
                     "{s} leg front kick|kicking forward|front kick with {s} leg", noun=False),
    "kick:side": _d("kicking out to the {s}|with the {s} leg kicked out to the side",
                    "side kick with {s} leg|kicking to the side|{s} leg side kick", noun=False),
    "kick:back": _d("kicking back with the {s} leg|with the {s} leg swung up behind",
                    "back kick with {s} leg|kicking backwards", noun=False),
    "kick": _d("kicking with the {s} leg|with the {s} leg lifted high",
               "kicking with {s} leg|{s} leg kick|high kick", noun=False),
    "legs_apart": _d("with the feet wide apart|with the legs spread wide|in a wide stance",
                     "legs apart|feet wide apart|wide stance"),
    # ---- both arms
    "t_pose": _d("in a T-pose|with the arms straight out in a T-pose|holding the arms out in a T",
                 "T-pose|T pose|arms straight out"),
    "a_pose": _d("in an A-pose|with the arms angled down and out in an A-pose",
                 "A-pose|A pose|arms angled down"),
    "arms_crossed": _d("with the arms crossed over the chest|with folded arms"
                       "|with the arms folded across the chest",
                       "arms crossed|arms folded|crossed arms"),
    "hands_on_hips": _d("with the hands on the hips|with both hands on the hips"
                        "|with hands resting on the hips",
                        "hands on hips|hands on the hips|both hands on hips"),
    "hands_behind_head": _d("with the hands behind the head|with both hands clasped behind"
                            " the head", "hands behind head|hands behind the head"),
    "hands_on_head": _d("with the hands on the head|with both hands on top of the head",
                        "hands on head|hands on the head"),
    "boxing_guard": _d("with the fists up in a boxing guard|with both fists raised by the chin"
                       "|in a fighting stance, fists up",
                       "fists up|boxing stance|guard up"),
    "arms_down": _d("with the arms by the sides|with the arms hanging down"
                    "|with the arms relaxed at the sides",
                    "arms down|arms by sides|arms at the sides"),
    # ---- one arm ({s}) or both ("...:both")
    "arm_overhead": _d("with the {s} arm raised above the head|with the {s} hand up high"
                       "|with the {s} arm stretched overhead",
                       "{s} arm up|{s} hand raised|{s} arm overhead"),
    "arm_overhead:both": _d("with both arms raised above the head|with the arms stretched"
                            " overhead|with both hands up high",
                            "arms up|both arms overhead|hands up|arms raised"),
    "arm_raised": _d("with the {s} hand raised|with the {s} arm lifted|with the {s} hand up",
                     "{s} hand raised|{s} hand up|{s} arm raised"),
    "arm_raised:both": _d("with both hands raised|with both arms up|with the hands lifted",
                          "arms raised|hands up|both hands raised"),
    "arm_out_to_side": _d("with the {s} arm out to the side|with the {s} arm held out sideways",
                          "{s} arm out|{s} arm to the side"),
    "arm_out_to_side:both": _d("with the arms out to the sides|with the arms spread wide"
                               "|with both arms held out sideways",
                               "arms out|arms spread|arms out to the sides"),
    "reaching_forward": _d("reaching forward with the {s} arm|with the {s} arm stretched out"
                           " in front", "reaching forward|{s} arm forward|reaching with {s} arm",
                           noun=False),
    "reaching_forward:both": _d("reaching forward with both arms|with both arms stretched out"
                                " in front", "arms forward|reaching forward with both arms",
                                noun=False),
    "hand_on_hip": _d("with the {s} hand on the hip|with one hand on the hip, the {s} one",
                      "{s} hand on hip|hand on hip"),
    "hand_on_hip:both": _d("with the hands on the hips|with both hands on the hips",
                           "hands on hips|hands on the hips"),
    "waving": _d("waving with the {s} hand|waving the {s} hand|with the {s} hand up in a wave",
                 "waving {s} hand|waving|waving with {s} hand", noun=False),
    "waving:both": _d("waving with both hands|with both hands up, waving",
                      "waving both hands|waving with both hands", noun=False),
    "pointing": _d("pointing with the {s} arm|pointing with the {s} hand"
                   "|with the {s} arm pointing out",
                   "pointing with {s} arm|pointing {s} hand|pointing", noun=False),
    "pointing:both": _d("pointing with both arms|with both arms pointing out",
                        "pointing with both arms|both arms pointing", noun=False),
    "punching": _d("punching with the {s} fist|throwing a punch with the {s} arm"
                   "|with the {s} fist shot forward",
                   "{s} punch|punching with {s} arm|punching", noun=False),
    "punching:both": _d("punching with both fists|with both fists shot forward",
                        "double punch|punching with both fists", noun=False),
    "throwing": _d("about to throw with the {s} arm|winding up a throw with the {s} hand"
                   "|with the {s} arm cocked back to throw",
                   "throwing with {s} arm|{s} arm throw|throwing", noun=False),
    "throwing:both": _d("about to throw with both arms|with both arms cocked back",
                        "throwing with both arms|two-handed throw", noun=False),
}
