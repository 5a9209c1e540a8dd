"""Everyday captions: posture predicates on hand-built poses, left/right exactness under the
mirror, the caption layer (sentences + queries, kinds), datasets without caption kinds, and the
everyday opening sentence of PoseFix instructions."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest
import torch

from pose_search.body.skeleton import forward_kinematics
from pose_search.data.captioning import caption_kinds, caption_poses, describe_poses
from pose_search.data.captioning import postures as P
from pose_search.data.captioning.everyday import everyday_captions, pose_facts
from pose_search.data.captioning.everyday_phrases import DETAILS, POSTURES
from pose_search.data.families import FAMILIES
from pose_search.data.mirror import mirror_text
from pose_search.data.pairing import instruct_pairs
from pose_search.data.pairing.posture_change import CHANGES, FROM_FLOOR, posture_change_sentence
from pose_search.data.pose_builder import PoseBuilder, down_dir, mirror_pose, rot, sph
from pose_search.data.schema import (
    CAPTION_KINDS,
    POSE_SCHEMA,
    POSES_TABLE,
    SchemaError,
    pose_rows_to_table,
)
from pose_search.data.store import DatasetError, append_rows, read_table

torch.set_num_threads(1)
L, R = 1, -1  # PoseBuilder sides: +1 is the body's left


# ------------------------------------------------------------------------------ hand-built poses
def _arms_relaxed(b: PoseBuilder) -> None:
    for s in (L, R):
        b.arm(s, down_dir(0, 8, s), 10, frame="world")


def _legs_straight(b: PoseBuilder, frame: str = "world") -> None:
    for s in (L, R):
        b.leg(s, down_dir(0, 4, s), 3, frame=frame)


def standing(b: PoseBuilder) -> None:
    _legs_straight(b)
    _arms_relaxed(b)


def t_pose(b: PoseBuilder) -> None:
    _legs_straight(b)  # the rest pose's arms are the T


def a_pose(b: PoseBuilder) -> None:
    _legs_straight(b)
    for s in (L, R):
        b.arm(s, sph(-40, s * 88), 0)


def _lying(root: np.ndarray) -> Callable[[PoseBuilder], None]:
    def build(b: PoseBuilder) -> None:
        b.root(root)
        _legs_straight(b, frame="body")
        for s in (L, R):
            b.arm(s, down_dir(0, 10, s), 10)

    return build


def sitting_chair(b: PoseBuilder) -> None:
    for s in (L, R):
        b.leg(s, down_dir(90, 8, s), 90)
    _arms_relaxed(b)


def sitting_floor(b: PoseBuilder) -> None:
    for s in (L, R):
        b.leg(s, down_dir(90, 6, s), 0)
        b.arm(s, down_dir(-30, 15, s), 0, frame="world")


def cross_legged(b: PoseBuilder) -> None:
    for s in (L, R):
        b.leg(s, down_dir(70, 40, s), None, lower=np.array([-s, -0.55, 0.25 + 0.25 * (s == L)]))
        b.arm(s, down_dir(30, 15, s), 40)


def kneeling_both(b: PoseBuilder) -> None:
    for s in (L, R):
        b.leg(s, down_dir(0, 6, s), 90, frame="world", ankle=50)
    _arms_relaxed(b)


def kneeling_right(b: PoseBuilder) -> None:
    b.leg(L, down_dir(85, 8, L), 90, frame="world")  # left foot planted in front
    b.leg(R, down_dir(-5, 6, R), 90, frame="world", ankle=40)  # right knee on the floor
    _arms_relaxed(b)


def squat(b: PoseBuilder) -> None:
    b.root(rot("x", 20))
    b.spine(10, 0, 0)
    for s in (L, R):
        b.leg(s, down_dir(95, 25, s), 130, frame="world", ankle=-20)
        b.arm(s, sph(0, s * 20), 10, frame="world")


def lunge_left_forward(b: PoseBuilder) -> None:
    b.leg(L, down_dir(85, 6, L), 85, frame="world")
    b.leg(R, down_dir(-35, 6, R), 10, frame="world", ankle=20)
    _arms_relaxed(b)


def side_lunge_left(b: PoseBuilder) -> None:
    b.root(rot("x", 10))
    b.leg(L, down_dir(35, 28, L), 90, frame="world", ankle=-10)
    b.leg(R, down_dir(5, 40, R), 5, frame="world")
    _arms_relaxed(b)


def tuck_jump(b: PoseBuilder) -> None:
    for s in (L, R):
        b.leg(s, down_dir(110, 10, s), 125)
        b.arm(s, down_dir(70, 28, s), 20)


def star_jump(b: PoseBuilder) -> None:
    for s in (L, R):
        b.leg(s, down_dir(0, 35, s), 5, ankle=30)
        b.arm(s, sph(40, s * 95), 5)


def on_left_leg(b: PoseBuilder) -> None:
    b.leg(L, down_dir(0, 4, L), 3, frame="world")
    b.leg(R, down_dir(40, 5, R), 100, frame="world")
    _arms_relaxed(b)


def bending_forward(b: PoseBuilder) -> None:
    b.root(rot("x", 70))
    standing(b)


def bending_left(b: PoseBuilder) -> None:
    b.spine(0, 35, 0)
    standing(b)


def walking_left_forward(b: PoseBuilder) -> None:
    b.leg(L, down_dir(22, 4, L), 5, frame="world")
    b.leg(R, down_dir(-22, 4, R), 15, frame="world")
    _arms_relaxed(b)


def kicking_left(b: PoseBuilder) -> None:
    b.root(rot("x", -8))
    b.leg(L, down_dir(80, 5, L), 10, frame="world")
    b.leg(R, down_dir(0, 3, R), 5, frame="world")
    _arms_relaxed(b)


def left_arm_up(b: PoseBuilder) -> None:
    _legs_straight(b)
    b.arm(L, sph(80, 20), 5, frame="world")
    b.arm(R, down_dir(0, 8, R), 10, frame="world")


def arms_crossed(b: PoseBuilder) -> None:
    _legs_straight(b)
    for s in (L, R):
        b.arm(s, down_dir(35, 10, s), None, lower=np.array([-s, 0.1 * (s == L), 0.3]))


def hands_on_hips(b: PoseBuilder) -> None:
    _legs_straight(b)
    for s in (L, R):
        b.arm(s, down_dir(-20, 48, s), None, lower=np.array([-s * 0.3, -0.8, 0.3]))


def hands_behind_head(b: PoseBuilder) -> None:
    _legs_straight(b)
    for s in (L, R):
        b.arm(s, sph(35, s * 110), None, lower=np.array([-s * 0.9, 0.4, -0.3]))


def waving_right(b: PoseBuilder) -> None:
    _legs_straight(b)
    b.arm(R, sph(10, -80), None, lower=sph(80, -40))
    b.arm(L, down_dir(0, 8, L), 10, frame="world")


def push_up(b: PoseBuilder) -> None:
    b.root(rot("x", 80))
    _legs_straight(b, frame="body")
    for s in (L, R):
        b.arm(s, down_dir(0, 5, s), 0, frame="world")


def forearm_plank(b: PoseBuilder) -> None:
    b.root(rot("x", 80))
    _legs_straight(b, frame="body")
    for s in (L, R):
        b.arm(s, down_dir(0, 5, s), None, frame="world", lower=np.array([0.0, 0.0, 1.0]))


def all_fours(b: PoseBuilder) -> None:
    b.root(rot("x", 90))
    for s in (L, R):
        b.leg(s, down_dir(0, 5, s), None, frame="world", lower=np.array([0.0, 0.0, -1.0]))
        b.arm(s, down_dir(0, 5, s), 0, frame="world")


# name -> (builder, expected variant, flags that must hold, flags that must not)
CASES: dict[str, tuple[Callable[[PoseBuilder], None], str, tuple[str, ...], tuple[str, ...]]] = {
    "standing": (standing, "standing", ("arms_down",), ("t_pose", "walking", "arm_raised:left")),
    "t_pose": (t_pose, "standing", ("t_pose", "arm_out_to_side:left", "arm_out_to_side:right"),
               ("a_pose", "arms_down")),
    "a_pose": (a_pose, "standing", ("a_pose",), ("t_pose",)),
    "lying_back": (_lying(rot("x", -90)), "lying:back", ("arms_down",), ("bending_forward",)),
    "lying_front": (_lying(rot("x", 90)), "lying:front", (), ("bending_forward",)),
    "lying_right_side": (_lying(rot("z", 90)), "lying:side:right", (), ()),
    "sitting_chair": (sitting_chair, "sitting:chair", (), ()),
    "sitting_floor": (sitting_floor, "sitting:floor", (), ()),
    "cross_legged": (cross_legged, "sitting:cross_legged", (), ()),
    "kneeling_both": (kneeling_both, "kneeling:both", (), ()),
    "kneeling_right": (kneeling_right, "kneeling:one:right", (), ()),
    "squat": (squat, "squatting", (), ("bending_forward",)),
    "lunge_left_forward": (lunge_left_forward, "lunging:forward:left", (), ()),
    "side_lunge_left": (side_lunge_left, "lunging:side:left", (), ()),
    "tuck_jump": (tuck_jump, "jumping:tuck", (), ()),
    "star_jump": (star_jump, "jumping:star", (), ("kicking:left", "kicking:right")),
    "on_left_leg": (on_left_leg, "standing:one_leg:left", (), ("kicking:right",)),
    "bending_forward": (bending_forward, "standing", ("bending_forward",), ("bending_backward",)),
    "bending_left": (bending_left, "standing", ("bending_sideways:left",),
                     ("bending_sideways:right",)),
    "walking": (walking_left_forward, "standing:walk", ("walking",), ("running",)),
    "kicking_left": (kicking_left, "standing:one_leg:right", ("kicking:left",),
                     ("kicking:right",)),
    "left_arm_up": (left_arm_up, "standing", ("arm_raised:left", "arm_overhead:left"),
                    ("arm_raised:right",)),
    "arms_crossed": (arms_crossed, "standing", ("arms_crossed",), ("hands_on_hips",)),
    "hands_on_hips": (hands_on_hips, "standing", ("hands_on_hips",), ("arms_crossed",)),
    "hands_behind_head": (hands_behind_head, "standing", ("hands_behind_head", "hands_on_head"),
                          ()),
    "waving_right": (waving_right, "standing", ("waving:right",), ("waving:left",)),
    "push_up": (push_up, "plank:push_up", (), ("bending_forward",)),
    "forearm_plank": (forearm_plank, "plank:forearms", (), ()),
    "all_fours": (all_fours, "kneeling:all_fours", (), ("bending_forward",)),
}
NAMES = list(CASES)


def _pose(build: Callable[[PoseBuilder], None]) -> np.ndarray:
    b = PoseBuilder()
    build(b)
    return b.rotvec().astype(np.float32)


@pytest.fixture(scope="module")
def built() -> tuple[np.ndarray, np.ndarray]:
    """The hand-built poses ``(K, 22, 3)`` and their joints ``(K, 22, 3)``, in ``NAMES`` order."""
    poses = np.stack([_pose(CASES[n][0]) for n in NAMES])
    return poses, forward_kinematics(torch.from_numpy(poses)).numpy()


@pytest.fixture(scope="module")
def flags(built: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    return P.detect(built[1])


@pytest.mark.parametrize("name", NAMES)
def test_predicates_on_built_poses(name: str, flags: dict[str, np.ndarray]) -> None:
    i = NAMES.index(name)
    _, variant, must, must_not = CASES[name]
    assert flags["variant"][i] == variant
    assert flags["main"][i] == variant.split(":")[0]
    for f in must:
        assert flags[f][i], f
    for f in must_not:
        assert not flags[f][i], f


def test_main_postures_exclusive_and_predicates_agree(built, flags) -> None:
    j = built[1]
    per_main = {"lying": P.lying(j), "sitting": P.sitting(j), "kneeling": P.kneeling(j),
                "squatting": P.squatting(j), "jumping": P.jumping(j), "lunging": P.lunging(j),
                "standing": P.standing(j)}
    for name, mask in per_main.items():
        # a predicate that holds makes its main posture unless one of higher priority holds
        assert np.all(flags["main"][mask & (flags["main"] != name)] != "other"), name
        assert np.all(mask[flags["main"] == name]), name
    assert set(flags["main"].tolist()) <= set(P.MAIN_POSTURES)
    both = P.kneeling_on_both_knees(j)
    one = P.kneeling_on_one_knee(j, "left") | P.kneeling_on_one_knee(j, "right")
    assert not np.any(both & one)


def test_shapes_and_bad_input() -> None:
    j = forward_kinematics(torch.zeros(3, 22, 3)).numpy()
    out = P.detect(j)
    assert all(v.shape == (3,) for v in out.values())
    assert P.standing(j[0]).shape == (1,)  # a single (22, 3) pose is a batch of one
    with pytest.raises(ValueError):
        P.standing(np.zeros((2, 21, 3)))
    with pytest.raises(ValueError, match="side"):
        P.knee_down(j, "up")


# ------------------------------------------------------------------------------ left / right
def _swap(name: str) -> str:
    return {"left": "right", "right": "left"}.get(name, name)


def _mirror_label(label: str) -> str:
    return ":".join(_swap(p) for p in label.split(":"))


def test_mirrored_poses_swap_every_sided_flag(built, flags) -> None:
    poses, _ = built
    mirrored = P.detect(forward_kinematics(mirror_pose(torch.from_numpy(poses))).numpy())
    assert [_mirror_label(v) for v in flags["variant"]] == mirrored["variant"].tolist()
    for key, value in flags.items():
        if key in ("main", "variant"):
            continue
        name, _, side = key.partition(":")
        other = f"{name}:{_swap(side)}" if side else key
        assert np.array_equal(value, mirrored[other]), key


def _family_joints(per_family: int = 3) -> np.ndarray:
    rng = np.random.default_rng(7)
    poses = np.stack([FAMILIES[f](rng) for f in FAMILIES for _ in range(per_family)])
    from pose_search.body.convention import normalize_heading

    return forward_kinematics(normalize_heading(torch.from_numpy(poses).float())).numpy()


def test_captions_of_a_mirrored_pose_are_the_mirrored_captions(built) -> None:
    joints = np.concatenate([built[1], _family_joints()])
    caps = everyday_captions(joints, np.random.default_rng(3), n=4)
    mirrored = everyday_captions(P.mirror_joints(joints), np.random.default_rng(3), n=4)
    for a, b in zip(caps, mirrored, strict=True):
        assert [mirror_text(t) for t in a] == b


def test_side_words_are_exact(built) -> None:
    joints = built[1]
    sided = {"kneeling_right": ("right knee", "left knee"),
             "lunge_left_forward": ("left", "right"),
             "side_lunge_left": ("to the left", "right"),
             "on_left_leg": ("left", None), "waving_right": ("right", "left"),
             "lying_right_side": ("right side", "left"), "left_arm_up": ("left", "right")}
    for name, (said, never) in sided.items():
        i = NAMES.index(name)
        texts = [t for s in range(6) for t in everyday_captions(joints[i:i + 1],
                                                                np.random.default_rng(s), n=2)[0]]
        assert any(said in t.lower() for t in texts), (name, texts)
        if never:
            assert not any(re.search(rf"\b{never}\b", t.lower()) for t in texts), (name, texts)


# ------------------------------------------------------------------------------ the caption layer
def test_sentences_and_queries(built) -> None:
    joints = np.concatenate([built[1], _family_joints(2)])
    caps = everyday_captions(joints, np.random.default_rng(0), n=4)
    for texts in caps:
        assert len(texts) == 4
        for t in texts[0::2]:  # sentences
            assert t[0].isupper() and t.endswith(".") and len(t.split()) >= 3, t
        for t in texts[1::2]:  # queries
            assert 2 <= len(t.split()) <= 10 and not t.endswith("."), t
    said = {NAMES[i]: " ".join(caps[i]).lower() for i in range(len(NAMES))}
    for name, word in (("kneeling_both", "knee"), ("squat", "squat"), ("lying_back", "back|face up"),
                       ("lying_front", "face down|stomach|front|prone"), ("t_pose", "t[ -]pose|arms"),
                       ("sitting_chair", "seat|sitting|chair"), ("tuck_jump", "jump"),
                       ("arms_crossed", "cross|fold"), ("push_up", "push-up|plank"),
                       ("hands_on_hips", "hip"), ("all_fours", "fours|hands and knees|crawl")):
        assert re.search(word, said[name]), (name, said[name])


def test_nothing_specific_still_says_something_true(built) -> None:
    i = NAMES.index("standing")
    facts = pose_facts(built[1][i:i + 1])[0]
    assert facts.posture.key == "standing"
    assert [d.key for d in facts.details] == ["arms_down"]
    texts = everyday_captions(built[1][i:i + 1], np.random.default_rng(0), n=6)[0]
    assert all(re.search(r"stand|on their feet|arms", t.lower()) for t in texts), texts


def test_determinism(built) -> None:
    a = everyday_captions(built[1], np.random.default_rng(11), n=2)
    assert a == everyday_captions(built[1], np.random.default_rng(11), n=2)
    assert a != everyday_captions(built[1], np.random.default_rng(12), n=2)
    with pytest.raises(ValueError, match="n must be"):
        everyday_captions(built[1], np.random.default_rng(0), n=-1)


def test_caption_poses_appends_everyday_after_posescript(built) -> None:
    j = built[1][:4]
    plain = caption_poses(j, rng=np.random.default_rng(5), everyday=0)
    full = describe_poses(j, rng=np.random.default_rng(5))
    assert caption_kinds() == ["posescript"] * 3 + ["everyday", "query"] * 2
    assert set(caption_kinds(2, 5)) <= set(CAPTION_KINDS)
    for p, d in zip(plain, full, strict=True):
        assert d.texts[:3] == p and len(d.texts) == len(d.kinds) == 7
        assert d.kinds == caption_kinds()
    with pytest.raises(ValueError, match="everyday"):
        caption_poses(j, rng=np.random.default_rng(0), everyday=-1)


def test_every_family_pose_gets_four_everyday_captions() -> None:
    joints = _family_joints(2)
    for d in describe_poses(joints, rng=np.random.default_rng(0), n_captions=1):
        assert len(d.texts) == len(d.kinds) == 5
        assert d.kinds[1:] == ["everyday", "query"] * 2 and all(t.strip() for t in d.texts[1:])


def test_phrase_banks_survive_the_text_mirror() -> None:
    def fill(text: str, side: str) -> str:
        return text.replace("{s}", side).replace("{o}", _swap(side))

    banks = [p for b in POSTURES.values() for p in (*b.prog, *b.present, *b.query)]
    banks += [p for b in DETAILS.values() for p in (*b.cont, *b.query)]
    banks += [p for b in (*CHANGES.values(), *FROM_FLOOR.values()) for p in b]
    for phrase in banks:
        if "{s}" in phrase or "{o}" in phrase:
            assert mirror_text(fill(phrase, "left")) == fill(phrase, "right"), phrase
        else:
            assert mirror_text(phrase) == phrase, phrase  # names no side at all


# ------------------------------------------------------------------------------ schema and store
def _row(i: int, **over) -> dict:
    row = {"id": f"p{i}", "pose": np.zeros((22, 3)), "shape": np.full(6, 0.5),
           "joints": np.zeros((22, 3)), "image": b"\x89PNG", "captions": ["a", "b"],
           "caption_kinds": ["posescript", "query"], "family": "standing", "split": "train",
           "source": "test", "meta": "{}"}
    row.update(over)
    return row


def test_caption_kinds_are_validated() -> None:
    t = pose_rows_to_table([_row(0), _row(1, caption_kinds=None)])
    assert t.column("caption_kinds").to_pylist() == [["posescript", "query"], None]
    with pytest.raises(SchemaError, match="one per caption"):
        pose_rows_to_table([_row(0, caption_kinds=["posescript"])])
    with pytest.raises(SchemaError, match="'caption_kinds' has 'robot'"):
        pose_rows_to_table([_row(0, caption_kinds=["posescript", "robot"])])


def test_a_dataset_written_before_caption_kinds_still_reads(tmp_path) -> None:
    import lance

    from pose_search.data.manifest import build_manifest

    new = pose_rows_to_table([_row(i) for i in range(3)])
    old_schema = pa.schema([f for f in POSE_SCHEMA if f.name != "caption_kinds"])
    old = new.drop_columns(["caption_kinds"]).cast(old_schema)
    lance.write_dataset(old, str(tmp_path / POSES_TABLE), schema=old_schema)
    whole = read_table(tmp_path, POSES_TABLE)
    assert whole.schema.names == POSE_SCHEMA.names
    assert whole.column("caption_kinds").to_pylist() == [None] * 3
    some = read_table(tmp_path, POSES_TABLE, ["caption_kinds", "id"])
    assert some.schema.names == ["caption_kinds", "id"] and some.column("id").to_pylist() == ["p0", "p1", "p2"]
    manifest = build_manifest(tmp_path, {"kind": "script"}, status="complete")
    assert manifest["counts"]["poses"] == 3 and "caption_kinds" not in manifest["counts"]
    with pytest.raises(DatasetError, match="caption_kinds"):
        append_rows(tmp_path, POSES_TABLE, pose_rows_to_table([_row(9)]))


# ------------------------------------------------------------------------------ PoseFix
def test_posefix_instruction_opens_with_the_posture_change(built) -> None:
    poses, joints = built
    a, b = NAMES.index("standing"), NAMES.index("kneeling_right")
    starts = tuple(t.replace("{s}", "right") for t in CHANGES["kneeling:one"])
    for seed in range(3):
        texts = instruct_pairs(joints[[a]], joints[[b]], poses[[a]], poses[[b]], n_texts=3,
                               rng=np.random.default_rng(seed))[0]
        assert all(t.startswith(starts) for t in texts), texts
        back = instruct_pairs(joints[[b]], joints[[a]], poses[[b]], poses[[a]], n_texts=2,
                              rng=np.random.default_rng(seed))[0]
        assert all(t.startswith(CHANGES["standing"]) for t in back), back
    mirrored = P.mirror_joints(joints[[b]])
    left = instruct_pairs(joints[[a]], mirrored, n_texts=3, rng=np.random.default_rng(0))[0]
    assert all(t.startswith(tuple(s.replace("right", "left") for s in starts)) for t in left), left
    # same main posture: no everyday opening
    c = NAMES.index("left_arm_up")
    same = instruct_pairs(joints[[a]], joints[[c]], n_texts=3, rng=np.random.default_rng(0))[0]
    assert not any(t.startswith(tuple(s for v in CHANGES.values() for s in v)) for t in same), same


def test_posture_change_sentence_table() -> None:
    rng = np.random.default_rng(0)
    assert posture_change_sentence("standing", "standing:walk", rng) == ""
    assert posture_change_sentence("standing", "other", rng) == ""
    assert posture_change_sentence("lying:back", "standing", rng) in FROM_FLOOR["standing"]
    assert posture_change_sentence("lying:front", "sitting:floor", rng) in FROM_FLOOR["sitting"]
    assert posture_change_sentence("standing", "lying:side:left", rng) in (
        "Lie on your left side.", "Lie down on your left side.")
    assert posture_change_sentence("standing", "lunging:side:right", rng) in (
        "Lunge to the right.", "Step out into a side lunge to the right.")
    assert posture_change_sentence("kneeling:both", "squatting:crouch", rng) in CHANGES["squatting:crouch"]


def test_queries_always_say_the_trunk_or_leg_detail(built) -> None:
    """A body bent over or kicking is never queried as a bare "person standing"."""
    for name, said in (("bending_forward", r"bent over|bending forward|leaning forward"),
                       ("bending_left", r"leaning left|side bend|bending to the left"),
                       ("kicking_left", r"kick")):
        i = NAMES.index(name)
        for seed in range(8):
            texts = everyday_captions(built[1][i:i + 1], np.random.default_rng(seed), n=6)[0]
            for q in texts[1::2]:
                assert re.search(said, q), (name, q)
                assert 2 <= len(q.split()) <= 10, q
