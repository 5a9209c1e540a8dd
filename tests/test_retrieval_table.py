"""benchmarks/retrieval_table.py: the reference experiment's table, copied from its result file."""

from __future__ import annotations

import json
import sys

import pytest

from benchmarks import retrieval_table
from benchmarks.retrieval_table import QUERIES, table


def _result() -> dict:
    metrics = {c: {**{f"{q}/R@{k}": 10.0 * i + k + (0.25 if c == "aligner" else 0.0)
                      for i, q in enumerate(QUERIES) for k in (1, 5, 10)},
                   "mRecall_single": 20.0, "mRecall_dual": 30.0, "mRecall": 25.0 + (c == "aligner")}
               for c in ("poseembroider", "aligner")}
    return {"benchmark": "retrieval_synthetic", "results": metrics,
            "epochs": {"core_trained": {"poseembroider": 23, "aligner": 17}},
            "paper_bedlam_script_val": {"poseembroider": {"mRecall": 74.6}, "aligner": {"mRecall": 72.4}}}


def test_every_query_and_core_beside_the_paper(tmp_path, monkeypatch, capsys):
    text = table(_result())
    lines = text.splitlines()
    assert lines[0] == "| query (R@1 / R@5 / R@10) | poseembroider | aligner |"
    assert "| image->pose | 1.0 / 5.0 / 10.0 | 1.2 / 5.2 / 10.2 |" in lines  # (one decimal)
    assert "| image+text->pose | 81.0 / 85.0 / 90.0 | 81.2 / 85.2 / 90.2 |" in lines
    assert "| **mRecall** | 25.0 | 26.0 |" in lines and "| paper mRecall (BEDLAM-Script val) | 74.6 | 72.4 |" in lines
    assert lines[-1] == "| epochs trained | 23 | 17 |"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_result()))
    monkeypatch.setattr(sys, "argv", ["retrieval_table.py", str(path)])
    retrieval_table.main()
    assert capsys.readouterr().out.strip() == text


@pytest.mark.parametrize("content", ['{"benchmark": "hps", "results": {}}', "[1]", "{", '{"benchmark": "retrieval_synthetic"}'])
def test_another_file_is_a_clear_error(tmp_path, monkeypatch, capsys, content):
    path = tmp_path / "r.json"
    path.write_text(content)
    monkeypatch.setattr(sys, "argv", ["retrieval_table.py", str(path)])
    with pytest.raises(SystemExit) as exc:
        retrieval_table.main()
    assert exc.value.code == 2 and "not a retrieval_synthetic.py result" in capsys.readouterr().err
