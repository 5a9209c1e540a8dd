"""benchmarks/core_curves.py: the cores' learning curves from their metrics.jsonl, one picture."""

from __future__ import annotations

import json
import sys

import pytest

from benchmarks import core_curves
from benchmarks.core_curves import core_runs, plot, read_curve


def _write_runs(tmp_path):
    runs = tmp_path / "runs"
    rows = {"poseembroider": [20.0, 25.0, 24.0, 24.5], "aligner": [21.0, 22.0]}
    for name, scores in rows.items():
        (runs / name).mkdir(parents=True)
        lines = [{"epoch": i + 1, "train/loss": 3.0 - i, "val/mRecall": v} for i, v in enumerate(scores)]
        if name == "poseembroider":
            lines[-1]["stopped"] = "no better validation score for 2 epochs (best: epoch 2)"
        (runs / name / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (runs / "posetext").mkdir()  # an encoder run: not a core
    (runs / "posetext" / "metrics.jsonl").write_text('{"epoch": 1, "val/loss": 1.0}\n')
    return rows


def test_curves_of_every_core_run_with_the_best_epoch_and_the_stop(tmp_path):
    rows = _write_runs(tmp_path)
    found = core_runs(tmp_path)
    assert sorted(found) == ["aligner", "poseembroider"]
    curves = {name: read_curve(run) for name, run in found.items()}
    assert curves["poseembroider"]["mRecall"] == rows["poseembroider"] and curves["poseembroider"]["stopped"]
    assert not curves["aligner"]["stopped"]
    out = plot(curves, tmp_path / "curves.png", "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


def test_a_picture_of_chosen_runs_and_a_clear_error_for_a_missing_one(tmp_path, monkeypatch, capsys):
    _write_runs(tmp_path)
    out = tmp_path / "chosen.png"
    monkeypatch.setattr(sys, "argv", ["core_curves.py", "--root", str(tmp_path), "--out", str(out), "--runs", "aligner"])
    core_curves.main()
    printed = capsys.readouterr().out
    assert out.is_file() and "aligner: 2 epochs" in printed and "poseembroider" not in printed
    monkeypatch.setattr(sys, "argv", ["core_curves.py", "--root", str(tmp_path), "--runs", "aligner-temp30"])
    with pytest.raises(SystemExit):
        core_curves.main()
    assert "no core run aligner-temp30" in capsys.readouterr().err
