"""benchmarks/suite_time.py reads pytest's summary of a whole-suite run from its log."""

from __future__ import annotations

import pytest

from benchmarks.suite_time import read_log

LOG = """created: 2/2 workers
2 workers [751 items]
........F.. [100%]
============================= slowest 15 durations =============================
90.44s call     tests/training/test_ray_train.py::test_killed_run@ray
17.80s call     tests/data/test_generate.py::test_cli_generate_with_workers_and_show
=========================== short test summary info ============================
FAILED tests/test_demo.py::test_demo@ray - Ass...
=========== 1 failed, 750 passed, 779 warnings in 710.44s (0:11:50) ============
"""


def test_summary_counts_workers_and_slowest():
    r = read_log(LOG)
    assert r["seconds"] == 710.44 and r["minutes"] == 11.84 and r["workers"] == 2
    assert r["counts"] == {"failed": 1, "passed": 750, "warning": 779}
    assert r["slowest"][0] == {"seconds": 90.44, "phase": "call", "test": "tests/training/test_ray_train.py::test_killed_run@ray"}
    one_process = read_log("=== 3 passed in 1.50s ===\n")
    assert one_process["workers"] == 0 and one_process["counts"] == {"passed": 3}


def test_a_log_without_a_summary_is_refused():
    with pytest.raises(ValueError, match="no pytest summary"):
        read_log("make: *** [Makefile:113: test] Error 1\n")
