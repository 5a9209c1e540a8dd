"""Trainable tasks by name: ``pose-search train NAME ...``."""

from __future__ import annotations

from training.tasks.base import Task
from training.tasks.core import AlignerTask, CoreTask

TASKS: dict[str, type[Task]] = {
    "core": CoreTask,
    "aligner": AlignerTask,
}

__all__ = ["TASKS", "Task"]
