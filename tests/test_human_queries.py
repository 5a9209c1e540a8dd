"""The human-query benchmark: its queries, their joint predicates, and the evaluation on an index
(benchmarks/human_queries_set.py, benchmarks/human_queries.py)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from benchmarks.human_queries_set import QUERIES, QUERY_TEXTS, HumanQuery, Pred, push_up, satisfied
from pose_search.body.skeleton import forward_kinematics
from pose_search.data.families import FAMILIES
from pose_search.data.mirror import mirror_text
from pose_search.data.pose_builder import PoseBuilder, down_dir, mirror_pose, sph

BY_TEXT: dict[str, HumanQuery] = {q.text: q for q in QUERIES}
PER_FAMILY = 20


def _fk(poses: np.ndarray) -> np.ndarray:
    return forward_kinematics(torch.from_numpy(np.asarray(poses, np.float32))).numpy()


@pytest.fixture(scope="module")
def family_poses() -> tuple[np.ndarray, np.ndarray]:
    """``PER_FAMILY`` poses ``(F * PER_FAMILY, 22, 3)`` of every family and their family names."""
    rng = np.random.default_rng(0)
    names = list(FAMILIES)
    poses = np.stack([FAMILIES[f](rng) for f in names for _ in range(PER_FAMILY)]).astype(np.float32)
    return poses, np.repeat(names, PER_FAMILY)


@pytest.fixture(scope="module")
def family_joints(family_poses) -> np.ndarray:
    return _fk(family_poses[0])


def _norms(text: str) -> tuple[str, str]:
    """``text`` lowercased with punctuation turned into spaces, and with it removed ("T-pose like a scarecrow":
    "t pose" and "tpose"), whitespace collapsed, padded with a space (whole-word matching)."""
    low = text.lower()
    spaced = " ".join(re.sub(r"[^\w\s]|_", " ", low).split())
    removed = " ".join(re.sub(r"[^\w\s]|_", "", low).split())
    return f" {spaced} ", f" {removed} "


# ------------------------------------------------------------------ the query set
def test_at_least_80_unique_queries():
    assert len(QUERIES) >= 80
    assert len(set(QUERY_TEXTS)) == len(QUERY_TEXTS)
    normalised = [_norms(t)[0] for t in QUERY_TEXTS]
    dupes = sorted({t for t in normalised if normalised.count(t) > 1})
    assert not dupes, f"queries identical once normalised: {dupes}"
    for q in QUERIES:
        assert isinstance(q.predicate, Pred) and q.text.strip() == q.text and q.expects
    # written the way people write: typos, sides, activities, no-verb fragments, long sentences
    tags = {t for q in QUERIES for t in q.tags}
    assert {"typo", "side", "activity", "no_verb", "long", "synonym", "yoga"} <= tags


def test_every_predicate_gives_one_bool_per_body(family_joints):
    rng = np.random.default_rng(1)
    random_joints = _fk(rng.normal(0.0, 0.6, size=(64, 22, 3)))
    for joints in (random_joints, family_joints, torch.from_numpy(random_joints)):
        for q in QUERIES:
            ok = q(joints)
            assert ok.dtype == bool and ok.shape == (len(joints),), q.text
    table = satisfied(family_joints)
    assert table.shape == (len(QUERIES), len(family_joints)) and table.dtype == bool
    assert satisfied(np.zeros((0, 22, 3))).shape == (len(QUERIES), 0)
    with pytest.raises(ValueError, match="22, 3"):
        QUERIES[0](np.zeros((4, 21, 3)))


def test_every_query_matches_some_family_pose_and_not_most(family_joints):
    """Every predicate fires somewhere in the families, and none is satisfied by most poses."""
    share = satisfied(family_joints).mean(axis=1)
    # no family does push-ups: face-down bodies with the arms of another family (the sampler's
    # blends) are the gallery's only ones
    never = [q.text for q, s in zip(QUERIES, share) if s == 0 and q.predicate is not push_up]
    assert not never, f"no family pose satisfies: {never}"
    assert share.max() <= 0.5, QUERY_TEXTS[int(share.argmax())]


# ------------------------------------------------------------------ predicates on family poses
# (query, family, least share of its poses satisfying it)
SHOULD_MATCH = [
    ("lying flat on the back", "lying_back", 0.9),
    ("lying on the stomach", "lying_front", 0.9),
    ("lying on the side", "lying_side", 0.9),
    ("the person is standing with their arms down", "standing", 0.9),
    ("a deep squat with the hips down", "squatting", 0.7),
    ("a deep squat with the hips down", "crouching", 0.8),
    ("sitting cross-legged on the ground", "sitting_cross_legged", 0.9),
    ("sitting in a chair", "sitting_chair", 0.8),
    ("sitting on the floor with legs stretched out", "sitting_floor_legs_forward", 0.7),
    ("on her knees on the floor", "kneeling_both", 0.8),
    ("down on one knee like proposing", "kneeling_one", 0.9),
    ("bent forward at the waist", "bending_forward", 0.9),
    ("tree pose", "balance_one_leg", 0.9),
    ("doing a jumping jack", "jumping_star", 0.8),
    ("hands on his hips", "hands_on_hips", 0.8),
    ("guy with crossed arms", "arms_crossed", 0.8),
    ("T-pose like a scarecrow", "t_pose", 0.9),
    ("karate side kick", "kicking_side", 0.8),
    ("lunge to the side", "lunging_side", 0.8),
    ("boxing stance with fists up", "boxing_guard", 0.8),
    ("waving hello", "waving", 0.7),
    ("running fast", "running", 0.6),
    ("walking down the street", "walking", 0.3),
]
# (query, families none of whose poses may satisfy it)
SHOULD_NOT_MATCH = [
    ("lying flat on the back", "standing lying_front lying_side bending_forward sitting_floor_legs_forward"),
    ("lying on the stomach", "standing lying_back bending_forward"),
    ("the person is standing with their arms down", "sitting_chair squatting lying_back kneeling_both"),
    ("a deep squat with the hips down", "standing sitting_floor_legs_forward kneeling_both lying_back"),
    ("sitting in a chair", "squatting crouching standing"),
    ("on her knees on the floor", "squatting crouching kneeling_one standing"),
    ("down on one knee like proposing", "kneeling_both standing"),
    ("bent forward at the waist", "standing lying_front"),
    ("T-pose like a scarecrow", "a_pose standing"),
    ("hands on his hips", "standing arms_crossed"),
    ("guy with crossed arms", "standing hands_on_hips"),
    ("walking down the street", "standing running"),
    ("running fast", "walking standing"),
    ("karate side kick", "kicking_front standing"),
]
LYING_WORDS = ("lying", "laying", "face up", "face down", "resting on his", "curled up on the side")


@pytest.mark.parametrize("text, fam, least", SHOULD_MATCH)
def test_family_poses_satisfy_their_query(text, fam, least, family_poses, family_joints):
    ok = BY_TEXT[text](family_joints[family_poses[1] == fam])
    assert ok.mean() >= least, f"{text!r}: only {ok.mean():.0%} of {fam} poses satisfy it"


@pytest.mark.parametrize("text, fams", SHOULD_NOT_MATCH)
def test_wrong_postures_fail_the_query(text, fams, family_poses, family_joints):
    for fam in fams.split():
        ok = BY_TEXT[text](family_joints[family_poses[1] == fam])
        assert not ok.any(), f"{text!r}: {ok.mean():.0%} of {fam} poses satisfy it"


def test_lying_queries_never_fire_on_upright_families(family_poses, family_joints):
    lying = [q for q in QUERIES if any(w in q.text for w in LYING_WORDS)]
    assert len(lying) >= 10
    upright = ~np.char.startswith(family_poses[1].astype(str), "lying_")
    for q in lying:
        fired = sorted(set(family_poses[1][upright & q(family_joints)]))
        assert not fired, f"{q.text!r} fires on {fired}"


# ------------------------------------------------------------------ left and right
def _kneel_on_left_knee() -> np.ndarray:
    """Left knee on the ground (thigh vertical, shin back along the floor), right foot planted
    in front (thigh level, shin vertical), trunk upright, arms hanging."""
    b = PoseBuilder()
    b.spine(5, 0, 0)
    b.leg(1, down_dir(-5, 5, 1), 90, frame="world", ankle=30)
    b.leg(-1, down_dir(85, 8, -1), 90, frame="world")
    for s in (1, -1):
        b.arm(s, down_dir(0, 10, s), 10, frame="world")
    return b.rotvec()


def _left_hand_up() -> np.ndarray:
    """Standing, the left arm straight up above the head, the right one hanging."""
    b = PoseBuilder()
    for s in (1, -1):
        b.leg(s, down_dir(0, 4, s), 0, frame="world")
    b.arm(1, sph(80, 20), 5, frame="world")
    b.arm(-1, down_dir(0, 10, -1), 10, frame="world")
    return b.rotvec()


@pytest.mark.parametrize("make, text, on_pose, on_mirror", [
    (_kneel_on_left_knee, "left knee touching the ground", True, False),
    (_kneel_on_left_knee, "right knee touching the ground", False, True),
    (_kneel_on_left_knee, "kneeling on the right knee, left foot forward", False, True),
    (_kneel_on_left_knee, "down on one knee like proposing", True, True),
    (_kneel_on_left_knee, "on her knees on the floor", False, False),
    (_left_hand_up, "raising the left hand", True, False),
    (_left_hand_up, "raising the right hand", False, True),
    (_left_hand_up, "left arm raised over his head", True, False),
    (_left_hand_up, "right hand way up", False, True),
    (_left_hand_up, "one hand raised like asking a question in class", True, True),
])
def test_left_and_right_swap_in_the_mirror(make, text, on_pose, on_mirror):
    pose = make()
    assert BY_TEXT[text](_fk(pose[None]))[0] == on_pose, text
    assert BY_TEXT[text](_fk(mirror_pose(pose)[None]))[0] == on_mirror, f"{text!r} on the mirrored pose"


def test_predicates_follow_the_mirror(family_poses, family_joints):
    """A query naming a side answers the mirrored poses as its mirrored twin (when the set has
    it) answers the poses; a query naming no side answers the mirrored poses as the poses."""
    mirrored = _fk(mirror_pose(family_poses[0]))
    twins = 0
    for q in QUERIES:
        words = set(re.findall(r"[a-z]+", q.text.lower()))
        if words & {"left", "right"}:
            twin = BY_TEXT.get(mirror_text(q.text))
            if twin is None:
                continue
            twins += 1
            assert (q(family_joints) != twin(mirrored)).mean() <= 0.01, (q.text, twin.text)
        else:
            assert (q(family_joints) != q(mirrored)).mean() <= 0.01, q.text
    assert twins >= 4


# ------------------------------------------------------------------ no leak into the captions
def test_no_query_occurs_in_a_generated_caption(family_poses):
    """The benchmark asks for what people type, not for our captions: no normalised query may be
    a (whole-word) substring of a normalised caption (posecode captions and, where the checkout
    has them, everyday ones) of ~150 poses of all the families."""
    from pose_search.data.captioning import caption_poses

    poses, _ = family_poses
    picks = np.concatenate([np.arange(i, len(poses), PER_FAMILY) for i in range(5)])  # 5 per family
    joints = _fk(poses[picks])
    # the plain call: the captioner's defaults (an ``everyday`` switch, when it has one, as it ships)
    captions = caption_poses(joints, poses[picks], n_captions=3, rng=np.random.default_rng(0))
    assert len(captions) >= 150
    try:  # the everyday captions ("kneeling, arms up"), where this checkout has them
        from pose_search.data.captioning.everyday import everyday_captions
    except ImportError:
        everyday_captions = None
    if everyday_captions is not None:
        captions += everyday_captions(joints, np.random.default_rng(1), n=4)
    normalised = [n for caps in captions for c in caps for n in _norms(c)]
    leaks = []
    for text in QUERY_TEXTS:
        for n in set(_norms(text)):
            hit = next((c for c in normalised if n in c), None)
            if hit is not None:
                leaks.append(f"{text!r} occurs in the caption {hit.strip()!r}")
                break
    assert not leaks, "benchmark queries found in generated captions:\n" + "\n".join(leaks)


# ------------------------------------------------------------------ the evaluation on an index
@pytest.mark.ray
@pytest.mark.slow
def test_evaluation_on_the_tiny_index(tiny_index, tmp_path):
    from benchmarks.human_queries import run, table

    out = tmp_path / "human_queries.json"
    out.write_text(json.dumps({"indexes": {"other": {"summary": {"p_at_10": 0.5}}}}))
    data = run({"tiny": tiny_index}, out)
    assert json.loads(out.read_text()) == data
    assert data["indexes"]["other"] == {"summary": {"p_at_10": 0.5}}  # other entries are kept
    assert data["queries"] == len(QUERIES) and data["k"] == 10
    result = data["indexes"]["tiny"]
    assert {"index", "rows", "summary", "by_tag", "latency_ms", "per_query", "machine", "time"} <= set(result)
    assert result["rows"] == 48 and len(result["per_query"]) == len(QUERIES)
    for row in result["per_query"]:
        assert {"query", "p_at_5", "p_at_10", "chance", "ratio_to_chance", "top"} <= set(row)
        for key in ("p_at_5", "p_at_10", "chance"):
            assert 0.0 <= row[key] <= 1.0, (row["query"], key)
        assert len(row["top"]) == 10
        assert row["p_at_10"] == pytest.approx(row["top"].count("1") / 10)
    summary = result["summary"]
    assert summary["queries"] == len(QUERIES)
    for key in ("p_at_5", "p_at_10", "chance"):
        assert 0.0 <= summary[key] <= 1.0
        assert 0.0 <= summary["with_chance"][key] <= 1.0
    assert 0 < summary["with_chance"]["queries"] <= len(QUERIES)
    assert summary["with_chance"]["ratio_to_chance"] >= 0
    assert {"typo", "side"} <= set(result["by_tag"])
    assert result["latency_ms"]["p50"] <= result["latency_ms"]["p99"]
    assert "mean (" in table(result)
