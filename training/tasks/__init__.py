"""Trainable tasks by name: ``pose-search train NAME ...``."""

from __future__ import annotations

from training.tasks.base import Task
from training.tasks.core import AlignerTask, CoreTask
from training.tasks.hps import HPSTask
from training.tasks.image import ImageTask
from training.tasks.instructions import InstructionsTask, PairTextTask
from training.tasks.posetext import PoseTextTask
from training.tasks.posevae import PoseVAETask

TASKS: dict[str, type[Task]] = {
    "core": CoreTask,
    "aligner": AlignerTask,
    "image": ImageTask,
    "posevae": PoseVAETask,
    "posetext": PoseTextTask,
    "hps": HPSTask,
    "instructions": InstructionsTask,
    "pairtext": PairTextTask,
}

__all__ = ["TASKS", "Task"]
