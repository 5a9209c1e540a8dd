"""Deeply nested, huge or mistyped JSON descriptions and hostile paths (too long, NUL, FIFOs,
devices, folders where a file should be) for the checkpoint, dataset, index and bundle readers:
each a clear error naming the file or the path (shortened), never a RecursionError, a bare
OSError or a reader blocked on a pipe."""

from __future__ import annotations

import numpy as np

from tests.reliability.config_path_cases import config_path_cases
from tests.reliability.harness import SEED, assert_all_clear, run_cases


def test_hostile_configs_and_paths_get_clear_errors(tmp_path):
    report = run_cases("config files and paths", config_path_cases(tmp_path, np.random.default_rng(SEED)))
    assert_all_clear(report, minimum=50)
    assert max(o.seconds for o in report.outcomes) < 10
