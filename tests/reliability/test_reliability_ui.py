"""Generated bad requests to every named endpoint of the served app (through gradio_client, and
forged file payloads as raw HTTP): each an error event with a message naming the problem, no
stack trace, and the server still answers a good query afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reliability.harness import SEED, assert_all_clear, run_cases
from tests.reliability.ui_cases import ui_cases

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_bad_requests_get_clear_errors_and_the_server_stays_up(client, server, backend, tmp_path):
    ids = [r["id"] for r in backend.index.take([0, 1], ["id"])]
    report = run_cases("ui", ui_cases(client, server, ids, tmp_path, np.random.default_rng(SEED)))
    assert_all_clear(report, minimum=150)
    assert not [o.case for o in report.outcomes if "Traceback" in o.detail]
    gallery, table = client.predict("the arms are raised", None, None, None, "pose", 3, "any", "", api_name="/search")
    assert len(gallery) == len(table) == 3
    assert backend.status()["batching"]["mode"] == "micro-batcher"  # the batched path served the text queries
