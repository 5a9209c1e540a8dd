"""One Query value, checked once where it is made; the service takes it as it is."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pose_search.query import MAX_K, Query


def test_a_query_holds_checked_parts(tmp_path):
    q = Query.make(text="  a deep squat ", k=5.0, filters={"split": "val", "caption": ["squat", "knee"]})
    assert (q.texts, q.images, q.poses, q.target, q.k, q.batched) == (("a deep squat",), None, None, "pose", 5, False)
    assert q.filters == {"split": ("val",), "caption": ("squat", "knee")} and q.size == 1
    poses = np.zeros((3, 22, 3))
    batch = Query.make(pose=poses, text=["a", "b", "c"], target="text")
    assert batch.batched and batch.size == 3 and tuple(batch.poses.shape) == (3, 22, 3)
    (tmp_path / "p.json").write_text(json.dumps(np.zeros((22, 3)).tolist()))
    one = Query.make(pose=str(tmp_path / "p.json"), image="photo.jpg")
    assert not one.batched and one.size == 1 and one.images == ("photo.jpg",)


@pytest.mark.parametrize("parts, message", [
    ({}, "empty query: give at least one of image, text, pose"),
    ({"text": []}, "empty query: text must be non-empty strings"),
    ({"text": "   "}, "empty query: text must be non-empty strings"),
    ({"text": 3}, "text: expected a string, got int"),
    ({"image": []}, "empty query: no image given"),
    ({"pose": np.zeros((0, 22, 3))}, "empty query: pose holds no poses"),
    ({"text": ["a", "b"], "pose": np.zeros((3, 22, 3))}, "different batch sizes"),
    ({"text": "a", "target": "mesh"}, "target 'mesh': expected one of"),
    ({"text": "a", "k": 0}, "k=0: expected between 1 and"),
    ({"text": "a", "k": MAX_K + 1}, f"k={MAX_K + 1}: expected between 1 and {MAX_K}"),
    ({"text": "a", "k": 2.5}, "k=2.5: expected a whole number"),
    ({"text": "a", "k": True}, "k=True: expected a whole number"),
    ({"text": "a", "k": float("inf")}, "k=inf: expected a whole number"),
    ({"text": "a", "k": float("nan")}, "k=nan: expected a whole number"),
    ({"text": "a", "filters": {"colour": "red"}}, "filter 'colour': expected one of"),
    ({"text": "a", "filters": {"split": []}}, "filter 'split': expected a string or a non-empty list"),
    ({"text": "a", "filters": ["split"]}, "filters: expected a mapping"),
])
def test_bad_parts_are_named(parts, message):
    with pytest.raises(ValueError, match=message):
        Query.make(**parts)
