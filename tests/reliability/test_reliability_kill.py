"""SIGKILL in the middle of ``pose-search index build`` and ``pose-search data generate``: what
was committed stays readable, and running the same command again completes with every row
exactly once (none lost, none duplicated)."""

from __future__ import annotations

import pytest

from tests.reliability.kill import data_generate_scenario, index_build_scenario

pytestmark = [pytest.mark.slow]


@pytest.mark.ray
def test_killed_index_build_keeps_the_previous_version_and_resumes(tiny_core_run, tiny_dataset, tmp_path):
    # the first version is built in this process: the killed build and the re-run are the real command
    r = index_build_scenario(tiny_core_run, tiny_dataset, tmp_path / "index", first_build_here=True)
    assert r.killed_mid_way, "the build ended before it could be killed mid-way"
    assert r.readable_after_kill and r.rows_after_kill == r.rows_before == 48  # the old version answers
    assert r.rows_final == r.rows_expected > r.rows_before
    assert r.rows_lost == r.rows_duplicated == 0 and r.recovered


def test_killed_generation_keeps_its_committed_chunks_and_resumes(tmp_path):
    r = data_generate_scenario(tmp_path / "generate")
    assert r.killed_mid_way, "the generator ended before it could be killed mid-way"
    assert r.readable_after_kill and r.rows_after_kill % 64 == 0  # whole chunks, nothing half-written
    assert r.rows_final == r.rows_expected == 192
    assert r.rows_lost == r.rows_duplicated == 0 and r.recovered
