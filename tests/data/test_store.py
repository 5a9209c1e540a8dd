"""Dataset rows are validated before writing; appends are idempotent by key."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pose_search.data.schema import (
    PAIRS_TABLE,
    POSES_TABLE,
    SchemaError,
    pair_rows_to_table,
    pose_rows_to_table,
)
from pose_search.data.store import DatasetError, append_rows, read_manifest, read_table, stored_keys


def _row(i: int, **over) -> dict:
    row = {"id": f"p{i}", "pose": np.zeros((22, 3)), "shape": np.full(6, 0.5), "joints": np.zeros((22, 3)),
           "image": b"\x89PNG", "captions": ["a", "b", "c"], "family": "standing", "split": "train",
           "source": "test", "meta": "{}"}
    row.update(over)
    return row


def test_append_is_idempotent_by_id(tmp_path):
    assert append_rows(tmp_path, POSES_TABLE, pose_rows_to_table([_row(i) for i in range(5)])) == 5
    assert append_rows(tmp_path, POSES_TABLE, pose_rows_to_table([_row(i) for i in range(3, 8)])) == 3
    t = read_table(tmp_path, POSES_TABLE)
    assert sorted(t.column("id").to_pylist()) == [f"p{i}" for i in range(8)]
    assert stored_keys(tmp_path, POSES_TABLE) == {f"p{i}" for i in range(8)}
    assert np.asarray(t.column("pose")[0].as_py()).shape == (66,)
    assert t.column("caption_kinds").to_pylist() == [None] * 8  # rows without kinds: null
    kinds = ["posescript", "everyday", "human"]
    append_rows(tmp_path, POSES_TABLE, pose_rows_to_table([_row(9, caption_kinds=kinds)]))
    t = read_table(tmp_path, POSES_TABLE, ["id", "caption_kinds"])
    assert dict(zip(t.column("id").to_pylist(), t.column("caption_kinds").to_pylist()))["p9"] == kinds


def test_pairs_roundtrip(tmp_path):
    rows = [{"pair_id": "a>b", "a_id": "a", "b_id": "b", "kind": "in", "instructions": ["bend"], "split": "val"}]
    append_rows(tmp_path, PAIRS_TABLE, pair_rows_to_table(rows))
    assert read_table(tmp_path, PAIRS_TABLE).column("kind").to_pylist() == ["in"]


@pytest.mark.parametrize(
    "override, message",
    [
        ({"pose": np.zeros((21, 3))}, "'pose' has 63 values, expected 66"),
        ({"pose": np.full((22, 3), np.nan)}, "'pose' contains NaN"),
        ({"captions": []}, "'captions' must be a non-empty list"),
        ({"captions": ["", " "]}, "only empty strings"),
        ({"caption_kinds": ["posescript", "query"]}, "'caption_kinds' must be a list of 3 kinds"),
        ({"caption_kinds": ["posescript", "query", "poem"]}, "'caption_kinds' has 'poem'"),
        ({"split": "training"}, "'split' is 'training'"),
        ({"image": None}, "needs 'image' bytes or an 'image_path'"),
        ({"id": ""}, "invalid id"),
        ({"joints": "abc"}, "'joints' is not numeric"),
    ],
)
def test_bad_rows_name_the_field(override, message):
    with pytest.raises(SchemaError, match=message):
        pose_rows_to_table([_row(0), _row(1, **override)])


def test_bad_pair_kind():
    with pytest.raises(SchemaError, match="'kind' is 'sideways'"):
        pair_rows_to_table([{"pair_id": "x", "a_id": "a", "b_id": "b", "kind": "sideways",
                             "instructions": ["x"], "split": "train"}])


def test_nothing_is_written_when_a_batch_is_bad(tmp_path):
    with pytest.raises(SchemaError):
        append_rows(tmp_path, POSES_TABLE, pose_rows_to_table([_row(0), _row(1, split="x")]))
    assert stored_keys(tmp_path, POSES_TABLE) == set()


def test_duplicate_ids_in_one_batch(tmp_path):
    with pytest.raises(DatasetError, match="duplicate id"):
        append_rows(tmp_path, POSES_TABLE, pose_rows_to_table([_row(0), _row(0)]))


def test_manifest_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_manifest(tmp_path / "missing")
    with pytest.raises(DatasetError, match="not a pose-search dataset"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(DatasetError, match="not valid JSON"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"x": 1}))
    with pytest.raises(DatasetError, match="no 'kind'"):
        read_manifest(tmp_path)


def test_corrupt_table_is_reported(tmp_path):
    (tmp_path / POSES_TABLE / "_versions").mkdir(parents=True)
    (tmp_path / POSES_TABLE / "_versions" / "1.manifest").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="cannot be read"):
        read_table(tmp_path, POSES_TABLE)
