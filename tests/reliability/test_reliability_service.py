"""Generated bad queries to SearchService: each a clear ValueError / FileNotFoundError naming the
problem, and the service still answers a good query afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from indexing.service import SearchService
from tests.reliability.harness import SEED, assert_all_clear, run_cases
from tests.reliability.service_cases import service_cases

pytestmark = [pytest.mark.ray, pytest.mark.slow]  # the tiny index is built with Ray Data


def test_bad_queries_get_clear_errors_and_the_service_stays_up(tiny_index, tmp_path):
    service = SearchService(tiny_index)
    report = run_cases("service", service_cases(service, tmp_path, np.random.default_rng(SEED)))
    assert_all_clear(report, minimum=300)
    hits = service.search(text="the person kneels with both arms raised", k=5)
    assert len(hits) == 5 and len({h.id for h in hits}) == 5
