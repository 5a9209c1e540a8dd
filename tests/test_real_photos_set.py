"""The real-photo benchmark's photos, hand labels and property predicates
(benchmarks/real_photos_set.py), and its scoring (benchmarks/real_photos.py) on a fake index:
fast, no BlazePose."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
import torch

from benchmarks.real_photos_set import (
    ARM_PROPERTIES,
    CROPS,
    DATA,
    LEG_PROPERTIES,
    PHOTOS,
    PROPERTIES,
    TAGS,
    TRUNK_PROPERTIES,
    UPPER_PROPERTIES,
    Photo,
    _labels,
)
from pose_search.body.skeleton import forward_kinematics
from pose_search.data.pose_builder import PoseBuilder, down_dir, rot, sph

L, R = 1, -1  # PoseBuilder sides: +1 is the body's left
README = DATA / "README.md"


# ------------------------------------------------------------------ the photos and their labels
def test_at_least_30_labelled_photos_with_their_files():
    labelled = [p for p in PHOTOS if p.has_person and p.scored]
    assert len(labelled) >= 30
    assert len({p.name for p in PHOTOS}) == len(PHOTOS)
    for p in PHOTOS:
        assert p.path.is_file(), p.file
        assert p.source and p.shows, p.name
        assert set(p.tags) & set(TAGS) <= set(TAGS)


def test_labels_name_known_properties_and_cover_legs_and_arms():
    for p in PHOTOS:
        assert set(p.labels) <= set(PROPERTIES), p.name
        assert all(isinstance(v, bool) for v in p.labels.values()), p.name
    scored = [(n, v) for p in PHOTOS for n, v in p.scored.items()]
    legs = [v for n, v in scored if n in LEG_PROPERTIES]
    arms = [v for n, v in scored if n in ARM_PROPERTIES]
    assert len(legs) >= len(arms)  # the legs are labelled at least as much as the arms
    assert sum(legs) >= 10 and sum(arms) >= 10  # and with present labels, not only absent ones
    assert set(TRUNK_PROPERTIES + LEG_PROPERTIES + ARM_PROPERTIES) == set(PROPERTIES)


def test_upper_body_and_no_person_photos():
    upper = [p for p in PHOTOS if "upper_body_only" in p.tags]
    empty = [p for p in PHOTOS if "no_person" in p.tags]
    assert len(upper) >= 5 and len(empty) >= 1  # 3 crops of ours + the portraits of tests/data/photos
    for p in upper:
        assert not set(p.labels) & set(LEG_PROPERTIES), f"{p.name}: legs not visible, yet labelled"
        assert set(p.scored) <= set(UPPER_PROPERTIES)
    for p in empty:
        assert not p.labels and not p.scored and not p.has_person


def test_labels_helper_wants_every_property_once():
    every = " ".join(PROPERTIES)
    assert _labels(unknown=every) == {}
    with pytest.raises(ValueError, match="not named"):
        _labels(present="upright")
    with pytest.raises(ValueError, match="named twice"):
        _labels(present="upright", unknown=every)
    with pytest.raises(ValueError, match="unknown properties"):
        _labels(present="flying", unknown=every)


def test_photo_files_are_small_jpegs_with_their_crop_and_licence():
    from PIL import Image

    ours = sorted(f.name for f in DATA.glob("*.jpg"))
    assert ours == sorted(CROPS), "every photo of the folder is in extract.py's table and back"
    assert sorted(p.name for p in PHOTOS if p.file.startswith("benchmarks/data/real_photos/")) == ours
    total = 0
    for p in PHOTOS:
        if p.name not in CROPS:
            continue
        video, frame, (x0, y0, x1, y1) = CROPS[p.name]
        assert f"Pose2Sim/{video}, frame {frame}, crop x {x0}..{x1}, y {y0}..{y1}" in p.source
        assert 0 <= x0 < x1 <= 1088 and 0 <= y0 < y1 <= 1920
        with Image.open(p.path) as im:
            assert im.format == "JPEG" and max(im.size) <= 720
        total += p.path.stat().st_size
    assert total < 4_000_000
    assert (DATA / "LICENSE-pose2sim").read_text().startswith("BSD 3-Clause License")


def test_readme_lists_every_photo():
    text = README.read_text()
    rows = set(re.findall(r"^\| `([^`]+)` \|", text, re.M))
    assert {p.name for p in PHOTOS} <= rows
    for p in PHOTOS:
        if p.name in CROPS:
            video, frame, box = CROPS[p.name]
            row = next(line for line in text.splitlines() if line.startswith(f"| `{p.name}` |"))
            assert video in row and f"| {frame} |" in row and ", ".join(map(str, box)) in row, row


# ------------------------------------------------------------------ the predicates on hand-built poses
def _relaxed(b: PoseBuilder) -> None:
    for s in (L, R):
        b.arm(s, down_dir(0, 8, s), 10, frame="world")


def _straight(b: PoseBuilder) -> None:
    for s in (L, R):
        b.leg(s, down_dir(0, 4, s), 3, frame="world")


def standing(b):
    _straight(b)
    _relaxed(b)


def t_pose(b):
    _straight(b)  # the rest pose's arms are the T


def left_arm_up(b):
    _straight(b)
    b.arm(L, sph(80, 20), 5, frame="world")
    b.arm(R, down_dir(0, 8, R), 10, frame="world")


def arms_folded(b):
    _straight(b)
    for s in (L, R):
        b.arm(s, down_dir(35, 10, s), None, lower=np.array([-s, 0.1 * (s == L), 0.3]))


def squatting(b):
    b.root(rot("x", 20))
    b.spine(10, 0, 0)
    for s in (L, R):
        b.leg(s, down_dir(95, 25, s), 130, frame="world", ankle=-20)
        b.arm(s, sph(0, s * 20), 10, frame="world")


def lunging(b):
    b.leg(L, down_dir(85, 6, L), 85, frame="world")
    b.leg(R, down_dir(-35, 6, R), 10, frame="world", ankle=20)
    _relaxed(b)


def kneeling_right(b):
    b.leg(L, down_dir(85, 8, L), 90, frame="world")
    b.leg(R, down_dir(-5, 6, R), 90, frame="world", ankle=40)
    _relaxed(b)


def sitting_chair(b):
    for s in (L, R):
        b.leg(s, down_dir(90, 8, s), 90)
    _relaxed(b)


def on_left_leg(b):
    b.leg(L, down_dir(0, 4, L), 3, frame="world")
    b.leg(R, down_dir(40, 5, R), 100, frame="world")
    _relaxed(b)


def bending(b):
    b.root(rot("x", 70))
    standing(b)


def wide_stance(b):
    for s in (L, R):
        b.leg(s, down_dir(0, 25, s), 3, frame="world")
    _relaxed(b)


def walking(b):
    b.leg(L, down_dir(22, 4, L), 5, frame="world")
    b.leg(R, down_dir(-22, 4, R), 15, frame="world")
    _relaxed(b)


# builder -> the properties that hold (all others must not)
CASES: dict[str, tuple[Callable[[PoseBuilder], None], set[str]]] = {
    "standing": (standing, {"upright", "arms_down"}),
    "t_pose": (t_pose, {"upright", "arms_out"}),
    "left_arm_up": (left_arm_up, {"upright", "arms_up"}),
    "arms_folded": (arms_folded, {"upright", "arms_crossed"}),
    "squatting": (squatting, {"upright", "knees_bent", "legs_apart", "squat"}),
    "lunging": (lunging, {"upright", "knees_bent", "stride", "lunge", "arms_down"}),
    "kneeling_right": (kneeling_right, {"upright", "knees_bent", "stride", "lunge", "kneeling", "arms_down"}),
    "sitting_chair": (sitting_chair, {"upright", "knees_bent", "sitting", "arms_down"}),
    "on_left_leg": (on_left_leg, {"upright", "knees_bent", "one_foot_off_ground", "arms_down"}),
    "bending": (bending, {"bending_forward", "arms_down"}),
    "wide_stance": (wide_stance, {"upright", "legs_apart", "arms_down"}),
    "walking": (walking, {"upright", "stride", "arms_down"}),
}


@pytest.fixture(scope="module")
def built_joints() -> np.ndarray:
    poses = []
    for build, _ in CASES.values():
        b = PoseBuilder()
        build(b)
        poses.append(b.rotvec().astype(np.float32))
    return forward_kinematics(torch.from_numpy(np.stack(poses))).numpy()


def _truth(joints: np.ndarray) -> dict[str, set[str]]:
    got = {n: PROPERTIES[n](joints) for n in PROPERTIES}
    return {case: {n for n in PROPERTIES if got[n][i]} for i, case in enumerate(CASES)}


def test_predicates_on_hand_built_poses(built_joints):
    truth = _truth(built_joints)
    for case, (_, expected) in CASES.items():
        assert truth[case] == expected, case


@pytest.mark.parametrize("deg", [90.0, 200.0])
def test_predicates_do_not_depend_on_the_heading(built_joints, deg):
    t = np.radians(deg)
    ry = np.array([[np.cos(t), 0.0, np.sin(t)], [0.0, 1.0, 0.0], [-np.sin(t), 0.0, np.cos(t)]])
    assert _truth(built_joints @ ry.T) == _truth(built_joints)


# ------------------------------------------------------------------ the scoring, on a fake index
class _NoPerson(ValueError):
    pass


def test_scoring_on_a_fake_index(built_joints, tmp_path):
    """Every query returns the same 10 poses (standing x5, squatting x5, in that order); the
    no-person photo and one photo with a person are refused."""
    from benchmarks import real_photos as rp

    poses = []
    for name in ["standing"] * 5 + ["squatting"] * 5:
        b = PoseBuilder()
        CASES[name][0](b)
        poses.append(b.rotvec().astype(np.float32))
    poses = np.stack(poses)
    table = pa.table({"pose": pa.array(list(poses.reshape(10, 66)), type=pa.list_(pa.float32()))})
    photos = (
        Photo("a.jpg", "x", {"upright": True, "squat": False, "arms_down": True}),
        Photo("b.jpg", "x", {"squat": True, "knees_bent": True, "arms_up": False}, ("upper_body_only",)),
        Photo("c.jpg", "x", {"upright": True}),
        Photo("d.jpg", "x", {}, ("no_person",)),
    )

    def search(image, target, k):
        assert target == "pose"
        if Path(image).name in ("c.jpg", "d.jpg"):
            raise _NoPerson("no person found")
        return [SimpleNamespace(id=f"r{i}", pose=poses[i]) for i in range(k)]

    class _Table:  # what the service's lance dataset offers
        def to_batches(self, columns, batch_size):
            return table.select(columns).to_batches(max_chunksize=batch_size)

    service = SimpleNamespace(table=_Table(), search=search)
    result, hit_poses = rp.evaluate(service, photos, k=10)
    assert result["rows"] == 10 and result["scored_photos"] == 2 and result["refused"] == ["c.jpg"]
    assert result["no_person"] == {"d.jpg": {"error": "_NoPerson: no person found", "returned": 0}}
    assert set(hit_poses) == {"a.jpg", "b.jpg"}
    assert result["chance_per_property"]["squat"] == 0.5 and result["chance_per_property"]["upright"] == 1.0
    # a.jpg: upright (all 10 hits) and arms_down (the 5 standing, first) present; squat absent (5 last)
    a = result["per_photo"]["a.jpg"]
    assert a["labels"]["arms_down"]["top"] == "1111100000" and a["labels"]["squat"]["top"] == "0000011111"
    assert a["summary"]["top5"] == {"present": 1.0, "absent": 1.0, "balanced": 1.0}
    assert a["summary"]["top10"] == {"present": 0.75, "absent": 0.5, "balanced": 0.625}
    # b.jpg is upper body only: its leg labels are not scored, its arm label is
    assert set(result["per_photo"]["b.jpg"]["labels"]) == {"arms_up"}
    overall = result["overall"]
    assert (overall["present_labels"], overall["absent_labels"]) == (2, 2)
    assert overall["top5"]["present"] == 1.0 and overall["top10"]["absent"] == 0.75
    assert overall["chance"]["present"] == pytest.approx((1.0 + 0.5) / 2)
    assert result["by_group"]["legs"]["present_labels"] == 0 and result["by_group"]["legs"]["absent_labels"] == 1
    assert result["by_property"]["arms_down"]["top10"]["present"] == 0.5
    text = rp.table(result)
    assert "overall" in text and "c.jpg" in text and "d.jpg" in text
