"""Corrupt, truncated, empty and wrong-schema files in every real format the loaders read (and a
broken dataset directory): each a clear error naming the file."""

from __future__ import annotations

import numpy as np

from tests.reliability.file_cases import file_cases
from tests.reliability.harness import SEED, assert_all_clear, run_cases


def test_broken_dataset_files_get_clear_errors(tmp_path):
    report = run_cases("loaders", file_cases(tmp_path, np.random.default_rng(SEED)))
    assert_all_clear(report, minimum=250)
