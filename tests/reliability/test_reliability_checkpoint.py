"""Broken checkpoints (cut or bit-flipped weights, garbage configs, other shapes, a pickle where
the weights belong, missing files): each a clear CheckpointError naming the directory, and no
pickle is ever loaded."""

from __future__ import annotations

import numpy as np

from tests.reliability.checkpoint_cases import MARKER_ENV, checkpoint_cases
from tests.reliability.harness import SEED, assert_all_clear, run_cases


def test_broken_checkpoints_get_clear_errors(tiny_encoders, tiny_core_run, tmp_path, monkeypatch):
    marker = tmp_path / "UNPICKLED"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    cases = checkpoint_cases(tmp_path / "cases", tiny_encoders, tiny_core_run, np.random.default_rng(SEED))
    report = run_cases("checkpoint", cases)
    assert_all_clear(report, minimum=150)
    assert not marker.exists(), "a pickle planted as a checkpoint was unpickled"
