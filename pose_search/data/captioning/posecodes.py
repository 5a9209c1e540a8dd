"""Elementary posecodes: joint sets and eligibility lists (spec section 3).

Every elementary posecode applies one operator of :mod:`.operators` to one joint set and lists
which of its categories may be said (*acceptable*), are unskippable (*rare*), only feed
super-posecodes (*support I*: always hidden; *support II*: hidden when a super-posecode using it
fires) or are static facts for PoseFix (*absolute*).

Trivial / rare statistics: the acceptable and rare lists are the hand-curated PoseScript lists
(a category seen in more than 40% of poses was made unacceptable, one seen in less than 6% rare),
carried over from the spec rather than re-mined; :func:`.selection.category_frequencies` and
:func:`.selection.suggest_lists` recompute those statistics on any pose set to check them.

Support policy: the spec notes that upstream only honours a support flag when a super-posecode
recipe references the code. We implement the stated *intent* instead: every declared support I
category is hidden (so "close to the torso" and elbow/knee "shoulder width" never reach the
captions, they exist for PoseFix).

The table also holds the relative-position and distance codes that the 144 automatic alignment
super-posecodes need (section 4.2), merged into existing codes where the joint set already exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from .operators import OPERATOR_BY_NAME

__all__ = [
    "Posecode",
    "ELEMENTARY_CODES",
    "CODE_INDEX",
    "NUM_CODES",
    "ALIGNMENT_PAIRS",
    "ROTATION_KINDS",
    "split_name",
    "code_index",
]

ALL = "ALL"
ROTATION_KINDS = ("relativeRotX", "relativeRotY", "relativeRotZ")


def split_name(name: str) -> tuple[str | None, str]:
    """``"left_hand"`` -> ``("left", "hand")``; ``"neck"`` -> ``(None, "neck")``."""
    for side in ("left", "right"):
        if name.startswith(side + "_"):
            return side, name[len(side) + 1 :]
    return None, name


@dataclass(frozen=True)
class Posecode:
    """One elementary posecode. Category lists hold category names of the operator ``kind``.

    ``joints`` are working-joint names (or body-joint names for rotation kinds, given as
    ``(joint, ancestor)``). ``subject`` / ``obj`` are the ``(side, part)`` put into text;
    ``obj`` is ``None`` for single-part kinds.
    """

    kind: str
    joints: tuple[str, ...]
    subject: tuple[str | None, str]
    obj: tuple[str | None, str] | None
    acceptable: tuple[str, ...] = ()
    rare: tuple[str, ...] = ()
    support1: tuple[str, ...] = ()
    support2: tuple[str, ...] = ()
    absolute: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        """Identity of the code: ``(kind, joints)``."""
        return self.kind, self.joints

    def interpretation(self, category: int) -> str:
        """Text key of a category (head-rotation categories are prefixed ``head_``)."""
        name = OPERATOR_BY_NAME[self.kind].categories[category]
        return "head_" + name if self.kind in ROTATION_KINDS else name


def _code(
    kind: str,
    joints: Iterable[str],
    acceptable: Iterable[str] | str = (),
    rare: Iterable[str] = (),
    s1: Iterable[str] = (),
    s2: Iterable[str] = (),
    absolute: Iterable[str] = (),
    topic: str | None = None,
) -> Posecode:
    js = tuple(joints)
    op = OPERATOR_BY_NAME[kind]
    acc = (
        tuple(c for c in op.categories if "ignored" not in c)
        if acceptable == ALL
        else tuple(acceptable)
    )
    for c in (*acc, *rare, *s1, *s2, *absolute):
        op.index(c)  # validates names
    single = kind in ("angle", "relativeVAxis", "onGround") or kind.startswith(
        ("bodyIncline", "relativeRot")
    )
    subject = split_name(topic) if topic else split_name(js[1] if kind == "angle" else js[0])
    obj = None if single else split_name(js[1])
    return Posecode(kind, js, subject, obj, acc, tuple(rare), tuple(s1), tuple(s2), tuple(absolute))


_ANGLE_ABS = ("completely_bent", "right_angle", "straight")


def _base_codes() -> list[Posecode]:
    codes: list[Posecode] = []
    # 3.1 angles
    for s in ("left", "right"):
        codes.append(
            _code(
                "angle",
                (f"{s}_hip", f"{s}_knee", f"{s}_ankle"),
                ALL,
                ("completely_bent",),
                s2=("completely_bent",),
                absolute=_ANGLE_ABS,
            )
        )
    for s in ("left", "right"):
        codes.append(
            _code(
                "angle",
                (f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist"),
                ALL,
                ("completely_bent",),
                absolute=_ANGLE_ABS,
            )
        )
    # 3.2 distances between sides
    codes += [
        _code(
            "distance",
            ("left_elbow", "right_elbow"),
            ("close", "shoulder_width", "wide"),
            ("close",),
            s1=("shoulder_width",),
            absolute=("close",),
        ),
        _code(
            "distance",
            ("left_hand", "right_hand"),
            ("close", "shoulder_width", "spread", "wide"),
            s1=("shoulder_width",),
            absolute=("close",),
        ),
        _code(
            "distance",
            ("left_knee", "right_knee"),
            ("close", "shoulder_width", "wide"),
            ("wide",),
            s1=("shoulder_width",),
            absolute=("close",),
        ),
        _code(
            "distance",
            ("left_foot", "right_foot"),
            ("close", "shoulder_width", "wide"),
            ("close",),
            s1=("shoulder_width",),
            absolute=("close",),
        ),
    ]
    # what is the hand close to?
    for s, o in (("left", "right"), ("right", "left")):
        for target in (
            f"{s}_shoulder",
            f"{o}_shoulder",
            f"{o}_elbow",
            "left_knee",
            "right_knee",
            "left_ankle",
            "right_ankle",
            "left_foot",
            "right_foot",
        ):
            codes.append(
                _code(
                    "distance", (f"{s}_hand", target), ("close",), ("close",), absolute=("close",)
                )
            )
    # close to the body (PoseFix support)
    for part in ("elbow", "hand", "knee", "foot"):
        for s in ("left", "right"):
            codes.append(_code("distance", (f"{s}_{part}", "torso"), ("close",), s1=("close",)))
    # 3.3 relative positions between sides
    for part in ("shoulder", "elbow", "hand", "knee", "foot"):
        pair = (f"left_{part}", f"right_{part}")
        if part in ("hand", "foot"):
            codes.append(_code("relativePosX", pair, ("at_right",), ("at_right",)))
        if part == "knee":
            codes.append(_code("relativePosY", pair, ("below", "above"), s2=("below", "above")))
        else:
            codes.append(_code("relativePosY", pair, ("below", "above")))
        codes.append(_code("relativePosZ", pair, ("behind", "front")))
    for s in ("left", "right"):
        codes.append(_code("relativePosY", (f"{s}_hip", f"{s}_knee"), s1=("above",)))
    # crossed or unusual limbs
    for s, far in (("left", "at_right"), ("right", "at_left")):
        codes.append(_code("relativePosX", (f"{s}_hand", f"{s}_shoulder"), (far,)))
        codes.append(_code("relativePosY", (f"{s}_hand", f"{s}_shoulder"), ("above",)))
        codes.append(_code("relativePosX", (f"{s}_foot", f"{s}_hip"), (far,), (far,)))
        codes.append(_code("relativePosY", (f"{s}_foot", f"{s}_hip"), ("above",), ("above",)))
    # hands raised or lowered, front / back
    for s in ("left", "right"):
        codes.append(_code("relativePosY", (f"{s}_wrist", "neck"), ("above",), topic=f"{s}_hand"))
        codes.append(_code("relativePosY", (f"{s}_hand", f"{s}_hip"), ("below",)))
        codes.append(_code("relativePosZ", (f"{s}_hand", "torso"), ("behind",)))
        codes.append(_code("relativePosZ", (f"{s}_foot", "torso"), ("behind", "front")))
    # 3.4 vertical axis
    for s in ("left", "right"):
        codes.append(
            _code(
                "relativeVAxis",
                (f"{s}_hip", f"{s}_knee"),
                ("horizontal", "vertical"),
                ("horizontal",),
                absolute=("horizontal",),
                topic=f"{s}_thigh",
            )
        )
        codes.append(
            _code(
                "relativeVAxis",
                (f"{s}_knee", f"{s}_ankle"),
                ("horizontal", "vertical"),
                ("horizontal",),
                absolute=("horizontal",),
                topic=f"{s}_shin",
            )
        )
        codes.append(
            _code(
                "relativeVAxis",
                (f"{s}_shoulder", f"{s}_elbow"),
                ("horizontal", "vertical"),
                ("vertical",),
                absolute=("horizontal", "vertical"),
                topic=f"{s}_upperarm",
            )
        )
        codes.append(
            _code(
                "relativeVAxis",
                (f"{s}_elbow", f"{s}_wrist"),
                ("horizontal", "vertical"),
                ("vertical",),
                absolute=("horizontal", "vertical"),
                topic=f"{s}_forearm",
            )
        )
    for s in ("left", "right"):
        codes.append(
            _code("relativeVAxis", ("pelvis", f"{s}_shoulder"), ("horizontal",), s1=("horizontal",))
        )
    codes.append(_code("relativeVAxis", ("pelvis", "neck"), ("vertical",), topic="torso"))
    codes.append(
        _code(
            "relativeVAxis",
            ("left_hand", "right_hand"),
            ("horizontal",),
            s1=("horizontal",),
            topic="hands",
        )
    )
    codes.append(
        _code(
            "relativeVAxis",
            ("left_foot", "right_foot"),
            ("horizontal",),
            s1=("horizontal",),
            topic="feet",
        )
    )
    # 3.5 on ground
    for part in ("knee", "foot"):
        for s in ("left", "right"):
            codes.append(_code("onGround", (f"{s}_{part}",), s1=("on_ground",)))
    for s in ("left", "right"):
        codes.append(_code("onGround", (f"{s}_hand",), ("on_ground",), absolute=("on_ground",)))
    # 3.6 body inclination and head rotation
    for kind in ("bodyInclineX", "bodyInclineY", "bodyInclineZ"):
        codes.append(_code(kind, ("body",), ALL, topic="body"))
    codes.append(_code("relativeRotY", ("head", "pelvis"), ALL, topic="head"))
    codes.append(_code("relativeRotX", ("head", "neck"), ALL, topic="head"))
    codes.append(_code("relativeRotZ", ("head", "neck"), ALL, topic="head"))
    return codes


def _alignment_pairs() -> tuple[tuple[str, str], ...]:
    arm = ("shoulder", "upperarm", "elbow", "forearm")
    leg = ("hip", "thigh", "knee", "shin")
    pairs = []
    for ext, own in (("hand", arm), ("foot", leg)):
        for s in ("left", "right"):
            for side in ("left", "right"):
                for part in arm + leg:
                    if side == s and part in own:
                        continue
                    pairs.append((f"{s}_{ext}", f"{side}_{part}"))
    return tuple(pairs)


ALIGNMENT_PAIRS: tuple[tuple[str, str], ...] = _alignment_pairs()  # 48 (extremity, limb part)
_ALIGN_NEEDS = (
    ("relativePosX", ("x_aligned",)),
    ("relativePosY", ("y_aligned",)),
    ("relativePosZ", ("z_aligned",)),
    ("distance", ("close", "shoulder_width", "spread")),
)


def _add_alignment_support(codes: list[Posecode]) -> list[Posecode]:
    by_key = {c.key: i for i, c in enumerate(codes)}
    for pair in ALIGNMENT_PAIRS:
        for kind, cats in _ALIGN_NEEDS:
            i = by_key.get((kind, pair))
            if i is None:
                by_key[(kind, pair)] = len(codes)
                codes.append(_code(kind, pair, s1=cats))
                continue
            c = codes[i]
            s1 = list(c.support1)
            s2 = list(c.support2)
            for cat in cats:
                if cat in c.rare:
                    if cat not in s2:
                        s2.append(cat)
                elif cat not in s1:
                    s1.append(cat)
            codes[i] = replace(c, support1=tuple(s1), support2=tuple(s2))
    return codes


ELEMENTARY_CODES: tuple[Posecode, ...] = tuple(_add_alignment_support(_base_codes()))
CODE_INDEX = {c.key: i for i, c in enumerate(ELEMENTARY_CODES)}
NUM_CODES = len(ELEMENTARY_CODES)


def code_index(kind: str, joints: tuple[str, ...]) -> int:
    """Column of an elementary code in the ``(N, K)`` arrays."""
    try:
        return CODE_INDEX[(kind, joints)]
    except KeyError:
        raise ValueError(f"no elementary posecode {kind} on {joints}") from None
