"""Generated bad requests to every named endpoint of the served app (through gradio_client, and
forged file payloads as raw HTTP): each an error event with a message naming the problem, no
stack trace, and the server still answers a good query afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reliability.harness import SEED, assert_all_clear, run_cases
from tests.reliability.ui_cases import bomb_upload_memory, ui_cases

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_bad_requests_get_clear_errors_and_the_server_stays_up(client, server, backend, tmp_path):
    ids = [r["id"] for r in backend.index.take([0, 1], ["id"])]
    report = run_cases("ui", ui_cases(client, server, ids, tmp_path, np.random.default_rng(SEED)))
    assert_all_clear(report, minimum=150)
    assert not [o.case for o in report.outcomes if "Traceback" in o.detail]
    # plain text (no HTML entities) and no server folder (Gradio's uploads, the temp folder)
    import re
    import tempfile

    import gradio as gr

    folders = (gr.utils.get_upload_folder(), tempfile.gettempdir())
    entity = re.compile(r"&(#x?[0-9a-fA-F]+|quot|amp|lt|gt|apos);")
    ours = [o for o in report.outcomes if "forged" not in o.case]  # Gradio's own checks echo a forged path
    leaks = [o.detail for o in ours if entity.search(o.detail) or any(f in o.detail for f in folders)]
    assert not leaks, leaks[:5]
    gallery, table = client.predict("the arms are raised", None, None, None, "pose", 3, "any", "", api_name="/search")
    assert len(gallery) == len(table) == 3
    assert backend.status()["batching"]["mode"] == "micro-batcher"  # the batched path served the text queries


def test_a_bomb_upload_is_refused_without_the_server_growing(client, tmp_path):
    cost = bomb_upload_memory(client, tmp_path, mib=800)
    assert cost["refused"] and "would inflate" in cost["message"] and "pose file 'bomb.npz'" in cost["message"], cost
    assert cost["traced_peak_mib"] < 8 and cost["rss_growth_mib"] < 16, cost
