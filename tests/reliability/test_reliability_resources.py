"""Resource requests no cluster can give get a clear error within seconds, before Ray starts;
generated clusters place exactly the requests that fit them."""

from __future__ import annotations

import time

import numpy as np

from pose_search.resources import check_fits, workers_that_fit
from tests.reliability.cli_run import tripwires
from tests.reliability.harness import SEED, assert_all_clear, run_cases
from tests.reliability.resource_cases import driver_cases, placement_cases


def test_impossible_counts_fail_fast_before_ray_starts(tmp_path):
    with tripwires():
        report = run_cases("resources", driver_cases(tmp_path, np.random.default_rng(SEED)))
    assert_all_clear(report, minimum=90)
    assert max(o.seconds for o in report.outcomes) < 5


def test_requests_that_do_not_fit_a_cluster_are_refused_and_the_others_pass():
    refused, fitting = placement_cases(np.random.default_rng(SEED), n=80)
    assert_all_clear(run_cases("placement", refused), minimum=40)
    assert len(fitting) >= 40
    for request, nodes in fitting:
        check_fits(request, nodes)  # no error


def test_each_worker_must_fit_on_one_node():
    nodes = [{"CPU": 1.0}, {"CPU": 1.0}]
    assert workers_that_fit(nodes, 2.0) == 0  # 2 CPUs in all, but no node holds a 2-CPU worker
    assert workers_that_fit(nodes, 0.5) == 4
    assert workers_that_fit([{"CPU": 8.0, "GPU": 1.0}], 1.0, 1.0) == 1


def test_a_million_workers_fail_in_well_under_a_second(tmp_path):
    from training.driver import TrainConfig, fit

    start = time.perf_counter()
    try:
        with tripwires():
            fit(TrainConfig(task="posevae", run_dir=str(tmp_path / "run"), workers=1_000_000))
    except ValueError as exc:
        assert "workers 1000000" in str(exc) and "1,024" in str(exc)
    else:
        raise AssertionError("a million workers were accepted")
    assert time.perf_counter() - start < 5
