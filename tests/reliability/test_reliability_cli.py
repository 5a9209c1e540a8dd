"""Generated bad command lines for every subcommand: exit code 2 and one
``pose-search <cmd>: error: ...`` line naming the problem, refused before any real work (a Ray
cluster, rendering, a build, a server, a body model) starts. A handful run through a real
``python -m pose_search_app`` to check that no traceback leaks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reliability.cli_cases import Places, cli_cases, subprocess_cases
from tests.reliability.cli_run import tripwires
from tests.reliability.harness import SEED, assert_all_clear, run_cases

pytestmark = [pytest.mark.ray, pytest.mark.slow]  # the tiny index is built with Ray Data


@pytest.fixture(scope="module")
def places(tiny_dataset, tiny_core_run, tiny_index, tiny_hps_run, tiny_instructions_run, tmp_path_factory):
    return Places(tiny_dataset, tiny_core_run, tiny_index, tiny_hps_run, tiny_instructions_run,
                  tmp_path_factory.mktemp("cli"))


def test_bad_command_lines_get_one_clear_error_line(places):
    cases = cli_cases(places, np.random.default_rng(SEED))
    with tripwires():
        report = run_cases("cli", cases)
    assert_all_clear(report, minimum=400)


def test_no_traceback_leaks_from_a_real_process(places):
    report = run_cases("cli (process)", subprocess_cases(places, np.random.default_rng(SEED)))
    assert_all_clear(report, minimum=6)
