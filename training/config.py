"""The options of a training run besides the task's own (:class:`TrainConfig`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from pose_search.resources import MAX_WORKERS, check_amount, check_count

MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1 << 16
MAX_CPUS_PER_WORKER = 1024.0


@dataclass
class TrainConfig:
    """Everything a training run needs besides the task's own options (``task_options``)."""

    task: str
    run_dir: str
    data: str = ""
    epochs: int = 10
    batch_size: int = 128
    lr: float = 2e-4
    weight_decay: float = 0.0
    seed: int = 1
    workers: int = 1
    gpu: bool = False
    cpus_per_worker: float = 0.5  # fractional: two whole-CPU actors deadlock a 2-core node
    max_failures: int = 2
    val_every: int = 1
    # stop once the validation score has not improved for this many epochs (0: every epoch runs);
    # like ``epochs``, it may change when a run resumes
    patience: int = 0
    task_options: dict[str, Any] = field(default_factory=dict)

    def check(self, tasks: Collection[str]) -> None:
        """Types and bounds of every field (``task`` one of ``tasks``), before anything is read or
        any cluster asked."""
        if self.task not in tasks:
            raise ValueError(f"unknown task {self.task!r}; expected one of {sorted(tasks)}")
        for name, high in (("epochs", MAX_EPOCHS), ("batch_size", MAX_BATCH_SIZE), ("workers", MAX_WORKERS),
                           ("val_every", MAX_EPOCHS)):
            check_count(name, getattr(self, name), 1, high)
        check_count("max_failures", self.max_failures, -1, MAX_EPOCHS)
        check_count("patience", self.patience, 0, MAX_EPOCHS)
        check_amount("cpus_per_worker", self.cpus_per_worker, MAX_CPUS_PER_WORKER)
        check_amount("lr", self.lr, 1e3)
        if not isinstance(self.gpu, bool):
            raise ValueError(f"gpu must be True or False, got {self.gpu!r}")
