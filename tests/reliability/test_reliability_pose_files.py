"""Hostile pose and SMPL-X parameter files (bombs, broken zips, lying .npy headers, deep JSON,
long paths, FIFOs and devices, batch sizes that disagree, NaN): each a clear error naming the
pose file, within bounded memory; the documented formats (any byte order, JSON, a body pose
without its root) load as the pose they hold."""

from __future__ import annotations

import numpy as np
import pytest

from pose_search.body.io import load_pose_file
from tests.reliability.harness import SEED, assert_all_clear, run_cases
from tests.reliability.pose_file_cases import good_pose_files, pose_file_cases

PEAK_LIMIT_MIB = 40  # the 16 MiB file cap read once, plus the arrays of a pose (and tracemalloc's own)


def test_hostile_pose_files_get_clear_errors_in_bounded_memory(tmp_path):
    report = run_cases("pose files", pose_file_cases(tmp_path, np.random.default_rng(SEED)), measure_memory=True)
    assert_all_clear(report, minimum=120)
    peak = report.peak_mib()
    assert peak is not None and peak["max"] < PEAK_LIMIT_MIB, peak
    bombs = [o for o in report.outcomes if "bomb" in o.case]
    assert bombs and all(o.peak_bytes < 8 << 20 for o in bombs), [(o.case, o.peak_bytes) for o in bombs]


def test_messages_never_give_pickle_advice_nor_list_every_member(tmp_path):
    report = run_cases("pose files", pose_file_cases(tmp_path, np.random.default_rng(SEED + 1)))
    for o in report.outcomes:
        assert "allow_pickle" not in o.detail, o
        assert len(o.detail) < 400, o


@pytest.mark.parametrize("seed", [SEED, SEED + 7])
def test_documented_pose_files_load_as_the_pose_they_hold(tmp_path, seed):
    cases = good_pose_files(tmp_path, np.random.default_rng(seed))
    assert len(cases) >= 40
    for label, path, expect in cases:
        pose = load_pose_file(path)
        assert pose.shape == (22, 3) and pose.dtype == np.float32, label
        np.testing.assert_allclose(pose, expect, rtol=1e-3, atol=1e-3, err_msg=label)


def test_a_given_name_replaces_the_path_in_messages(tmp_path):
    path = tmp_path / "upload-folder-1234" / "pose.npz"
    path.parent.mkdir()
    path.write_bytes(b"PK\x03\x04 cut")
    with pytest.raises(ValueError, match="pose file 'pose.npz'") as err:
        load_pose_file(path, name="pose.npz")
    assert "upload-folder" not in str(err.value)
