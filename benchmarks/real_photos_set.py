"""Real photos of people with hand labels (the real-photo benchmark, ``benchmarks/real_photos.py``).

Each photo is labelled by a person who looked at it, for every pose property below: present,
absent or unknown (not visible, or too close to the threshold to say). The properties are pure
NumPy predicates ``joints (N, 22, 3) -> (N,) bool`` on the canonical joints (+y up, the body faces
+z, +x is the body's own left; e.g. :func:`pose_search.body.skeleton.forward_kinematics` of the
poses), built from the atomic predicates of :mod:`benchmarks.human_queries_set` (written there
from scratch, not taken from the captioner). Directions that depend on the body are measured in
the body's own frame, heights on the world's +y, so they do not depend on the heading. Left and
right are not used: a label says "a knee", "an arm".

The photos: frames of Pose2Sim's demo videos (``benchmarks/data/real_photos/``, licences and
sources in its README) and the three photos of ``tests/data/photos/``. Tags: ``upper_body_only``
(the legs are not visible: only the trunk and arm properties are scored), ``no_person`` (nobody
in it: what the search does is recorded, nothing is scored).

    from benchmarks.real_photos_set import PHOTOS, PROPERTIES
    ok = PROPERTIES["stride"](joints)   # (N,) bool
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.human_queries_set import (
    Pred,
    any_lunge,
    arm_sideways,
    arms_crossed,
    arms_down,
    body_axes,
    cross_legged,
    either,
    foot_lifted,
    hand_above_head,
    knee_bent,
    kneeling_any,
    lying,
    sitting,
    squat,
    stance_width,
    stride,
    trunk_tilt,
    upright,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "real_photos"
TESTS_PHOTOS = ROOT / "tests" / "data" / "photos"

# ------------------------------------------------------------------ thresholds (metres, degrees)
BEND_FORWARD_TILT = 45.0  # trunk (pelvis -> neck) pitched forward more than this: bending forward
LEGS_APART_M = 0.60  # ankles this far apart sideways: legs apart (the rest pose's are 0.34 m apart,
#                      a relaxed stance 0.3..0.5 m; human_queries_set's "feet wide" is 0.75 m)
STRIDE_M = 0.30  # ankles this far apart front to back: one foot clearly ahead of the other
#                  (relaxed standing stays under 0.2 m; human_queries_set's walk starts at 0.25 m)

# ------------------------------------------------------------------ the properties
bending_forward = Pred("bending_forward", lambda j: (trunk_tilt(j) >= BEND_FORWARD_TILT)
                       & (body_axes(j)[2][:, 1] < 0)) & ~lying
"""The trunk pitched forward more than 45 deg from vertical (the chest turned towards the floor),
not lying. Unlike human_queries_set's ``bent_forward`` the legs may do anything (a lunge or a
throw with the trunk over the front leg counts)."""

legs_apart = Pred("legs_apart", lambda j: stance_width(j) >= LEGS_APART_M)
"""The ankles 60 cm or more apart sideways (the body's own left-right axis)."""

stride_ = Pred("stride", lambda j: stride(j) >= STRIDE_M)
"""One ankle 30 cm or more in front of the other (the body's own forward axis), lifted or not."""

PROPERTIES: dict[str, Pred] = {
    # trunk
    "upright": upright,  # trunk within 30 deg of vertical, the head above both shoulders
    "bending_forward": bending_forward,
    # legs
    "knees_bent": either(knee_bent),  # a knee bent more than 45 deg
    "one_foot_off_ground": either(foot_lifted),  # an ankle 20 cm or more above the other
    "legs_apart": legs_apart,
    "stride": stride_,
    "squat": squat,  # both knees > 80 deg, hips low, feet under the body, knees off the ground
    "lunge": any_lunge,  # front knee > 60 deg ahead with the thigh level, back foot 30 cm behind
    "kneeling": kneeling_any,  # a bent knee on the ground (at the lowest point), not lying
    "sitting": sitting | cross_legged,  # thighs level and feet forward, or cross-legged
    # arms
    "arms_up": either(hand_above_head),  # a wrist above the head
    "arms_out": either(arm_sideways),  # an arm straight, within 30 deg of horizontal, out sideways
    "arms_down": arms_down,  # both arms hanging (wrist 25 cm below the shoulder, elbow < 50 deg)
    "arms_crossed": arms_crossed,  # arms folded at the chest, wrists past the midline
}
TRUNK_PROPERTIES: tuple[str, ...] = ("upright", "bending_forward")
LEG_PROPERTIES: tuple[str, ...] = ("knees_bent", "one_foot_off_ground", "legs_apart", "stride", "squat", "lunge",
                                   "kneeling", "sitting")
ARM_PROPERTIES: tuple[str, ...] = ("arms_up", "arms_out", "arms_down", "arms_crossed")
UPPER_PROPERTIES: tuple[str, ...] = TRUNK_PROPERTIES + ARM_PROPERTIES
TAGS: tuple[str, ...] = ("upper_body_only", "no_person")
"""Photo properties (not pose predicates): ``upper_body_only``, the legs are not visible;
``no_person``, nobody is in the photo."""


def satisfied(joints: np.ndarray, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """``{property: (N,) bool}`` for the bodies ``joints (N, 22, 3)`` (all properties by default)."""
    return {n: PROPERTIES[n](joints) for n in (names or tuple(PROPERTIES))}


# ------------------------------------------------------------------ the photos
@dataclass(frozen=True)
class Photo:
    """A labelled photo. ``file``: path from the repository root; ``source``: where it comes from
    (package, version, file, frame, crop box; details in the folder's README); ``labels``:
    property -> True (present) / False (absent), properties left out are unknown; ``tags``: photo
    properties (:data:`TAGS`), and free words such as the view; ``shows``: what is in it."""

    file: str
    source: str
    labels: Mapping[str, bool] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    shows: str = ""

    @property
    def name(self) -> str:
        return Path(self.file).name

    @property
    def path(self) -> Path:
        return ROOT / self.file

    @property
    def has_person(self) -> bool:
        return "no_person" not in self.tags

    @property
    def scored(self) -> dict[str, bool]:
        """The labels that are scored: all known ones, only the trunk and arm ones when the legs
        are not visible, none when there is nobody."""
        if not self.has_person:
            return {}
        keep = UPPER_PROPERTIES if "upper_body_only" in self.tags else tuple(PROPERTIES)
        return {p: v for p, v in self.labels.items() if p in keep}


def _labels(present: str = "", absent: str = "", unknown: str = "") -> dict[str, bool]:
    """Labels from three space-separated property lists; each property must be named exactly once
    (unknown ones included, so that nothing is forgotten)."""
    pres, abs_, unk = present.split(), absent.split(), unknown.split()
    named = pres + abs_ + unk
    dupes = sorted({n for n in named if named.count(n) > 1})
    missing = sorted(set(PROPERTIES) - set(named))
    extra = sorted(set(named) - set(PROPERTIES))
    if dupes or missing or extra:
        raise ValueError(f"labels: named twice {dupes}, not named {missing}, unknown properties {extra}")
    return {**{p: True for p in pres}, **{p: False for p in abs_}}


def _load_crops() -> dict[str, tuple[str, int, tuple[int, int, int, int]]]:
    """The crop table of ``benchmarks/data/real_photos/extract.py`` (video, frame, box per file)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_real_photos_extract", DATA / "extract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.CROPS)


CROPS = _load_crops()
P2S = "pose2sim 0.10.49 (PyPI wheel, BSD-3-Clause)"
LEGS = " ".join(LEG_PROPERTIES)
NOT_SEEN = "squat lunge kneeling sitting arms_crossed"  # none of Pose2Sim's frames shows these (looked at each)


def _p2s(name: str, shows: str, tags: tuple[str, ...] = (), present: str = "", absent: str = "",
         unknown: str = "") -> Photo:
    """A frame of Pose2Sim's demo videos (``CROPS[name]``: video, frame, crop box)."""
    video, frame, (x0, y0, x1, y1) = CROPS[name]
    return Photo(f"benchmarks/data/real_photos/{name}",
                 f"{P2S}: Pose2Sim/{video}, frame {frame}, crop x {x0}..{x1}, y {y0}..{y1}",
                 _labels(present, absent, unknown), tags, shows)


# Views: cam1 front-left from above, cam2 front, cam3 back-right from above, cam4 back-left with the
# camera rolled ~20 deg ("tilted"). "bystander": another person (whole or in part) is in the photo.
# Frames of different cameras with the same number are not the same moment (the videos are not
# synchronised), so each photo was labelled on its own.
PHOTOS: tuple[Photo, ...] = (
    # ---- tests/data/photos (licences in its README)
    Photo("tests/data/photos/astronaut.jpg", "scikit-image 0.26.0: skimage/data/astronaut.png (public domain, NASA)",
          _labels(present="upright", absent="bending_forward arms_up arms_out arms_crossed",
                  unknown="arms_down " + LEGS),
          ("upper_body_only", "front"), "waist-up portrait facing the camera, upper arms down, a helmet under one arm"),
    Photo("tests/data/photos/camera.png", "scikit-image 0.26.0: skimage/data/camera.png (CC0)",
          _labels(present="upright", absent="bending_forward arms_up arms_out arms_down arms_crossed",
                  unknown=LEGS),
          ("upper_body_only", "side"), "thighs up, side view, leaning a little forward, both hands up at a video camera"),
    Photo("tests/data/photos/grace_hopper.jpg",
          "matplotlib 3.11.2: mpl-data/sample_data/grace_hopper.jpg (public domain, U.S. Navy)",
          _labels(present="upright", absent="bending_forward arms_up arms_out arms_crossed",
                  unknown="arms_down " + LEGS),
          ("upper_body_only", "front"), "head-and-shoulders portrait facing the camera; the forearms are out of the frame"),
    # ---- Pose2Sim, cam1 (front-left, from above)
    _p2s("p2s_single_cam1_f000.jpg", "standing on the treadmill, arms hanging", ("oblique",),
         present="upright arms_down",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart stride arms_up arms_out {NOT_SEEN}"),
    _p2s("p2s_single_cam1_f025.jpg", "leaning to one side, one forearm up beside the head, the other arm down",
         ("oblique",), absent=f"bending_forward knees_bent arms_out arms_down {NOT_SEEN}",
         unknown="upright one_foot_off_ground legs_apart stride arms_up"),
    _p2s("p2s_single_cam1_f045.jpg", "wide split stance, trunk leaning over, one hand high above the head; "
         "a bystander at the left", ("oblique", "bystander"), present="legs_apart arms_up",
         absent=f"upright bending_forward knees_bent one_foot_off_ground arms_out arms_down {NOT_SEEN}",
         unknown="stride"),
    _p2s("p2s_single_cam1_f065.jpg", "trunk leaning hard to one side, the hand of the bent arm above the lowered "
         "head, the other arm down, feet close", ("oblique",), present="arms_up",
         absent=f"upright knees_bent one_foot_off_ground legs_apart arms_out arms_down {NOT_SEEN}",
         unknown="bending_forward stride"),
    _p2s("p2s_single_cam1_f079.jpg", "on one leg, the other knee bent ~60 deg with the foot up behind, one "
         "forearm across the chest", ("oblique",), present="knees_bent one_foot_off_ground",
         absent=f"bending_forward legs_apart arms_up arms_out arms_down {NOT_SEEN}", unknown="upright stride"),
    _p2s("p2s_single_cam1_f085.jpg", "on one leg, the other knee bent ~90 deg with the foot up behind, one arm "
         "across the body, the other out and down", ("oblique",),
         present="upright knees_bent one_foot_off_ground",
         absent=f"bending_forward legs_apart arms_up arms_down {NOT_SEEN}", unknown="stride arms_out"),
    _p2s("p2s_single_cam1_f095.jpg", "standing, one arm straight out sideways, the other hand at the hip",
         ("oblique",), present="upright arms_out",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart stride arms_up arms_down {NOT_SEEN}"),
    # ---- cam2 (front)
    _p2s("p2s_single_cam2_f000.jpg", "walking towards the camera, arms hanging; a bystander at the right",
         ("front", "bystander"), present="upright arms_down",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart arms_up arms_out {NOT_SEEN}",
         unknown="stride"),
    _p2s("p2s_single_cam2_f012.jpg", "walking, one arm swung out ~45 deg below horizontal; a bystander",
         ("front", "bystander"), present="upright",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart arms_up arms_out {NOT_SEEN}",
         unknown="stride arms_down"),
    _p2s("p2s_single_cam2_f023.jpg", "one knee bent ~75 deg with the foot lifted a little, one arm straight out "
         "sideways, the other down; a bystander", ("front", "bystander"), present="upright knees_bent arms_out",
         absent=f"bending_forward legs_apart arms_up arms_down {NOT_SEEN}", unknown="one_foot_off_ground stride"),
    _p2s("p2s_single_cam2_f035.jpg", "trunk leaning to one side, one leg reaching out sideways, one bent arm up "
         "at head height, the other down; a bystander", ("front", "bystander"),
         absent=f"upright bending_forward knees_bent one_foot_off_ground arms_out arms_down {NOT_SEEN}",
         unknown="legs_apart stride arms_up"),
    _p2s("p2s_single_cam2_f055.jpg", "trunk leaning to one side, one leg far out sideways, one hand high above "
         "the head; a bystander", ("front", "bystander"), present="legs_apart arms_up",
         absent=f"upright bending_forward knees_bent arms_out arms_down {NOT_SEEN}",
         unknown="one_foot_off_ground stride"),
    _p2s("p2s_single_cam2_f065.jpg", "leaning, one hand up at the top of the head, the other arm down, one foot "
         "stepping down off the treadmill; a bystander", ("front", "bystander"), present="arms_up",
         absent=f"bending_forward knees_bent arms_out arms_down {NOT_SEEN}",
         unknown="upright one_foot_off_ground legs_apart stride"),
    _p2s("p2s_single_cam2_f075.jpg", "standing, one upper arm out with the forearm bent up, the other arm down; "
         "a bystander", ("front", "bystander"), present="upright",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart arms_up arms_out arms_down {NOT_SEEN}",
         unknown="stride"),
    _p2s("p2s_single_cam2_f085.jpg", "standing, both arms spread out sideways a little below horizontal; "
         "a bystander", ("front", "bystander"), present="upright arms_out",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart arms_up arms_down {NOT_SEEN}",
         unknown="stride"),
    _p2s("p2s_single_cam2_f095.jpg", "feet together, one arm straight out sideways at head height, the other out "
         "and down; bystanders", ("front", "bystander"), present="upright arms_out",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart stride arms_down {NOT_SEEN}",
         unknown="arms_up"),
    # ---- cam3 (back-right, from above)
    _p2s("p2s_single_cam3_f000.jpg", "standing, seen from behind, one hand at the waist", ("back",),
         present="upright",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart arms_up arms_out {NOT_SEEN}",
         unknown="stride arms_down"),
    _p2s("p2s_single_cam3_f012.jpg", "stepping, seen from behind, one forearm bent up in front", ("back",),
         present="upright",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart arms_up arms_out arms_down {NOT_SEEN}",
         unknown="stride"),
    _p2s("p2s_single_cam3_f026.jpg", "one leg back on its toes, one hand up at the level of the head, the other "
         "arm hanging", ("back",), present="upright",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart arms_out arms_down {NOT_SEEN}",
         unknown="stride arms_up"),
    _p2s("p2s_single_cam3_f035.jpg", "on one leg, the other foot up out to the side, one hand above the head, "
         "the other arm hanging", ("back",), present="one_foot_off_ground arms_up",
         absent=f"knees_bent arms_out arms_down {NOT_SEEN}", unknown="upright bending_forward legs_apart stride"),
    _p2s("p2s_single_cam3_f045.jpg", "on one leg, the other foot up behind and out, leaning over, one hand above "
         "the head, the other reaching down", ("back",), present="one_foot_off_ground arms_up",
         absent=f"upright arms_out arms_down {NOT_SEEN}", unknown="bending_forward knees_bent legs_apart stride"),
    _p2s("p2s_single_cam3_f065.jpg", "leaning over to one side, one hand above the head, the other reaching down "
         "to the knee, the back leg hidden", ("back",), present="arms_up",
         absent=f"upright legs_apart arms_out arms_down {NOT_SEEN}",
         unknown="bending_forward knees_bent one_foot_off_ground stride"),
    _p2s("p2s_single_cam3_f085.jpg", "stepping, one arm out and down to the side, the other bent behind",
         ("back",), present="upright",
         absent=f"bending_forward one_foot_off_ground legs_apart arms_up arms_down {NOT_SEEN}",
         unknown="knees_bent stride arms_out"),
    _p2s("p2s_single_cam3_f095.jpg", "feet together, one arm straight out sideways, the other bent in front",
         ("back",), present="upright arms_out",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart stride arms_up arms_down {NOT_SEEN}"),
    # ---- cam4 (back-left, camera rolled)
    _p2s("p2s_single_cam4_f000.jpg", "walking away, one heel up, one arm swung forward", ("back", "tilted"),
         present="upright", absent=f"bending_forward legs_apart arms_up arms_out {NOT_SEEN}",
         unknown="knees_bent one_foot_off_ground stride arms_down"),
    _p2s("p2s_single_cam4_f018.jpg", "one knee bent ~80 deg with the foot up by the other shin, leaning, one arm "
         "forward with the forearm up, the other down", ("back", "tilted"), present="knees_bent",
         absent=f"bending_forward legs_apart arms_up arms_out arms_down {NOT_SEEN}",
         unknown="upright one_foot_off_ground stride"),
    _p2s("p2s_single_cam4_f025.jpg", "leaning hard to one side, one bent arm up, the other hanging, one heel up",
         ("back", "tilted"), absent=f"legs_apart arms_out arms_down {NOT_SEEN}",
         unknown="upright bending_forward knees_bent one_foot_off_ground stride arms_up"),
    _p2s("p2s_single_cam4_f045.jpg", "on one leg, the other straight leg raised high out to the side, leaning "
         "over, one hand high above the head", ("back", "tilted"), present="one_foot_off_ground legs_apart arms_up",
         absent=f"upright knees_bent arms_out arms_down {NOT_SEEN}", unknown="bending_forward stride"),
    _p2s("p2s_single_cam4_f075.jpg", "stepping, one hand raised to about head height, the other arm down",
         ("back", "tilted"), present="upright", absent=f"bending_forward legs_apart arms_out arms_down {NOT_SEEN}",
         unknown="knees_bent one_foot_off_ground stride arms_up"),
    _p2s("p2s_single_cam4_f085.jpg", "stepping, one arm out and down, the other bent with the hand up",
         ("back", "tilted"), present="upright",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart arms_up arms_out arms_down {NOT_SEEN}",
         unknown="stride"),
    _p2s("p2s_single_cam4_f095.jpg", "feet together, both arms out to the sides with the elbows bent",
         ("back", "tilted"), present="upright",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart stride arms_up arms_down {NOT_SEEN}",
         unknown="arms_out"),
    # ---- Demo_MultiPerson (a second, rendered-looking person added to the same capture)
    _p2s("p2s_multi_cam1_f040.jpg", "wide split stance, leaning over, one hand high above the head; a bystander "
         "at the left and the second person in front at the right", ("oblique", "bystander"),
         present="legs_apart arms_up",
         absent=f"upright bending_forward knees_bent one_foot_off_ground arms_out arms_down {NOT_SEEN}",
         unknown="stride"),
    _p2s("p2s_multi_cam2_f015.jpg", "walking, one arm swung out ~45 deg below horizontal; a bystander, the "
         "second person's arm at the left edge", ("front", "bystander"), present="upright",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart arms_up arms_out {NOT_SEEN}",
         unknown="stride arms_down"),
    _p2s("p2s_multi_cam2_f090.jpg", "feet together, one arm straight out sideways, the other out and down; the "
         "second person fills the left third, bystanders behind", ("front", "bystander"),
         present="upright arms_out",
         absent=f"bending_forward knees_bent one_foot_off_ground legs_apart stride arms_up arms_down {NOT_SEEN}"),
    # ---- upper body only (crops of full-body frames at the waist)
    _p2s("p2s_single_cam2_f045_upper.jpg", "waist up: leaning to one side, one hand high above the head; a "
         "bystander", ("upper_body_only", "front", "bystander"), present="arms_up",
         absent="upright bending_forward arms_out arms_down arms_crossed", unknown=LEGS),
    _p2s("p2s_single_cam2_f090_upper.jpg", "waist up: one arm straight out sideways, the other out and down; "
         "bystanders", ("upper_body_only", "front", "bystander"), present="upright arms_out",
         absent="bending_forward arms_up arms_down arms_crossed", unknown=LEGS),
    _p2s("p2s_single_cam3_f055_upper.jpg", "hips up, from behind: leaning over, one hand above the head, the "
         "other arm reaching down", ("upper_body_only", "back"), present="arms_up",
         absent="upright arms_out arms_down arms_crossed", unknown="bending_forward " + LEGS),
    # ---- nobody
    _p2s("p2s_single_cam3_f000_empty.jpg", "the end of the treadmill and a mat: nobody", ("no_person",),
         unknown=" ".join(PROPERTIES)),
)
