"""The careful reader of array files: limits checked before inflating, members read only when
asked for, shortened paths and bounded name lists in messages."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from pose_search.body.safe_arrays import (
    ArrayFileError,
    ArrayLimits,
    names_text,
    npz_member_shapes,
    read_array_file,
)
from pose_search.files import short_path
from tests.reliability.pose_file_cases import deflated, npy_bytes, zero_bomb, zip_bytes


def test_only_the_wanted_members_are_opened(tmp_path):
    path = tmp_path / "a.npz"  # a bomb and an encrypted member beside the pose: never opened
    secret = deflated("secret.npy", npy_bytes(np.ones(3)))
    secret.flags |= 1
    path.write_bytes(zip_bytes([zero_bomb("bomb.npy", 256), secret, deflated("pose.npy", npy_bytes(np.ones((22, 3))))]))
    found = read_array_file(path, ["pose"])
    assert found.kind == "npz" and set(found.arrays) == {"pose"} and set(found.members) == {"bomb", "secret", "pose"}
    with pytest.raises(ArrayFileError, match="'bomb.npy' would inflate to 256 MiB"):
        read_array_file(path, ["bomb"])
    with pytest.raises(ArrayFileError, match="'secret.npy' is encrypted"):
        read_array_file(path, ["secret"])


def test_header_shapes_come_without_inflating(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(zip_bytes([zero_bomb("posedirs.npy", 512), deflated("v_template.npy", npy_bytes(np.zeros((10475, 3))))]))
    limits = ArrayLimits(max_member_bytes=1 << 30, max_elements=1 << 27)
    members, shapes = npz_member_shapes(path, ["v_template"], "model", limits)
    assert set(members) == {"posedirs", "v_template"} and shapes == {"v_template": (10475, 3)}
    with pytest.raises(ArrayFileError, match="would inflate 1011 times"):  # under the size cap, but a bomb
        npz_member_shapes(path, ["posedirs"], "model", limits)


def test_limits_are_the_callers(tmp_path):
    path = tmp_path / "p.npy"
    path.write_bytes(npy_bytes(np.zeros((100, 3))))
    with pytest.raises(ArrayFileError, match="at most 200 values"):
        read_array_file(path, limits=ArrayLimits(max_elements=200))
    with pytest.raises(ArrayFileError, match="at most 1 KiB is read"):
        read_array_file(path, limits=ArrayLimits(max_file_bytes=1024))
    (tmp_path / "p.json").write_text(json.dumps([0.0] * 300))
    with pytest.raises(ArrayFileError, match="JSON of"):
        read_array_file(tmp_path / "p.json", limits=ArrayLimits(max_json_bytes=100))


def test_byte_order_becomes_native_and_arrays_are_writable(tmp_path):
    path = tmp_path / "be.npy"
    buf = io.BytesIO()
    np.save(buf, np.arange(6, dtype=">f8").reshape(2, 3))
    path.write_bytes(buf.getvalue())
    arr = read_array_file(path).arrays[""]
    assert arr.dtype == np.dtype("=f8") and arr.flags.writeable and arr[1, 2] == 5.0


def test_messages_stay_short():
    assert names_text([f"m{i}" for i in range(3000)]).endswith("and 2,992 more")
    long = "/data/" + "x" * 3000 + "/pose.npy"
    assert len(short_path(long)) <= 96 and short_path(long).endswith("/pose.npy")
    assert short_path("/tmp/a.npy") == "/tmp/a.npy"
