"""Each task's options are a typed dataclass: defaults, types and bounds checked once, where made."""

from __future__ import annotations

import json

import pytest

from training.config import TrainConfig
from training.driver import _write_run_config
from training.tasks import TASKS
from training.tasks.options import (
    CoreOptions,
    InstructionsOptions,
    PoseTextOptions,
    ScheduleOptions,
)


def _task(name: str, tmp_path, **options):
    return TASKS[name](TrainConfig(task=name, run_dir=str(tmp_path), task_options=options))


def test_defaults_and_given_values(tmp_path):
    task = _task("posetext", tmp_path, max_tokens=64, lr_decay="cosine")
    assert isinstance(task.options, PoseTextOptions)
    assert (task.options.max_tokens, task.options.lr_decay, task.options.eval_rows) == (64, "cosine", 2000)
    assert _task("aligner", tmp_path).options.model == "aligner"
    assert _task("core", tmp_path).options.model == "poseembroider"
    # a whole number is a number; the warm-up belongs to the tasks that declare a schedule
    assert _task("instructions", tmp_path, grad_clip=2).options.grad_clip == 2
    assert isinstance(_task("instructions", tmp_path).options, ScheduleOptions)
    assert isinstance(_task("core", tmp_path, warmup_steps=10).options, ScheduleOptions)
    assert not isinstance(_task("hps", tmp_path).options, ScheduleOptions)


@pytest.mark.parametrize("task, options, message", [
    ("core", {"modle": "x"}, r"task 'core': unknown options \['modle'\]; known: \[.*'model'"),
    ("posetext", {"image_encoder": "blazepose"}, r"task 'posetext': unknown options \['image_encoder'\]"),
    ("hps", {"warmup_steps": 10}, r"unknown options \['warmup_steps'\]"),  # hps has no schedule
    ("core", {"lr_decay": "step"}, r"option lr_decay='step': expected one of 'none', 'cosine'"),
    ("posetext", {"max_tokens": "64"}, r"option max_tokens='64': expected a whole number"),
    ("posetext", {"max_tokens": True}, r"option max_tokens=True: expected a whole number"),
    ("posetext", {"max_tokens": 0}, r"option max_tokens=0: expected a whole number >= 1"),
    ("posetext", {"text_model": "bert"}, r"option text_model='bert': expected one of 'pretrained', 'scratch'"),
    ("posetext", {"lr_decay": "linear"}, r"option lr_decay='linear': expected one of 'none', 'cosine'"),
    ("posetext", {"text_model": "scratch", "text_pretrained_dir": "/m"}, r"it needs text_model=pretrained"),
    ("image", {"augment": "yes"}, r"option augment='yes': expected true or false"),
    ("core", {"image_encoder": 3}, r"option image_encoder=3: expected a string or null"),
    ("instructions", {"grad_clip": -1.0}, r"option grad_clip=-1.0: expected a number >= 0"),
    ("pairtext", {"lr_flip": 1.5}, r"option lr_flip=1.5: expected a probability in \[0, 1\]"),
    ("hps", {"model_config": []}, r"option model_config=\[\]: expected an object"),
    ("posevae", {"val_split": " "}, r"option val_split: give a split name"),
])
def test_bad_options_are_clear_errors(tmp_path, task, options, message):
    with pytest.raises(ValueError, match=message):
        _task(task, tmp_path, **options)


def test_path_options_are_declared_by_the_options_that_hold_them():
    assert CoreOptions.path_options == {"image_encoder", "pose_encoder", "text_encoder"}
    assert InstructionsOptions.path_options == {"core", "init"}
    assert TASKS["posevae"].options_type.path_options == frozenset()


def test_run_json_stores_the_typed_options_in_full(tmp_path):
    cfg = TrainConfig(task="posetext", run_dir=str(tmp_path), task_options={"max_tokens": 64})
    task = TASKS["posetext"](cfg)
    _write_run_config(tmp_path, cfg, task.options.as_dict())
    stored = json.loads((tmp_path / "run.json").read_text())
    assert stored["task_options"] == {"max_tokens": 64}  # as given: what a resume compares
    assert stored["options"] == {**PoseTextOptions.defaults(), "max_tokens": 64}
    assert PoseTextOptions.parse("posetext", stored["options"]) == task.options
