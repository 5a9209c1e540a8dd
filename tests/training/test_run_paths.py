"""Path options of a training run are made absolute on the driver: Ray's workers run in another
working directory (or on another node), where a relative encoder path names nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.driver import TrainConfig, _absolute_paths, _check_run_config


def test_relative_path_options_become_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "posetext").mkdir(parents=True)
    out = _absolute_paths("pairtext", {"text_encoder": "runs/posetext", "pair_kinds": "all", "vocab_size": 10})
    assert out == {"text_encoder": str(tmp_path / "runs/posetext"), "pair_kinds": "all", "vocab_size": 10}
    # URIs, unset options and names that are not paths here (a pretrained encoder's) stay as given
    options = {"image_encoder": "blazepose", "text_encoder": "s3://bucket/text", "pose_encoder": None, "model": "aligner"}
    assert _absolute_paths("core", options) == options


def test_a_run_started_with_relative_paths_resumes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "posetext").mkdir(parents=True)
    run = tmp_path / "run"
    run.mkdir()
    old = TrainConfig(task="pairtext", run_dir=str(run), data=str(tmp_path / "fix"),
                      task_options={"text_encoder": "runs/posetext"})
    (run / "run.json").write_text(json.dumps(old.__dict__))
    new = TrainConfig(task="pairtext", run_dir=str(run), data=str(tmp_path / "fix"),
                      task_options=_absolute_paths("pairtext", {"text_encoder": "runs/posetext"}))
    _check_run_config(Path(run), new)  # the same run: accepted
    other = TrainConfig(task="pairtext", run_dir=str(run), data=str(tmp_path / "fix"),
                        task_options={"text_encoder": str(tmp_path / "elsewhere")})
    with pytest.raises(ValueError, match="other settings"):
        _check_run_config(Path(run), other)
