"""What a trainable task gives the driver, and a generic epoch loop over in-memory tensors."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from training.config import TrainConfig
from training.tasks.options import ScheduleOptions, TaskOptions

Batch = dict[str, torch.Tensor]


class Task(ABC):
    """One trainable model: its data, loss, validation score and exported artefact."""

    score_name: str = "loss"
    # whether the workers read the dataset (False: they read caches the driver made, so a dataset
    # in object storage is not copied to every training node)
    workers_read_data: bool = True
    higher_is_better: bool = False
    # the task's options (training/tasks/options.py): typed, with defaults and bounds
    options_type: ClassVar[type[TaskOptions]] = TaskOptions

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.options = self.options_type.parse(cfg.task, cfg.task_options)

    @property
    def run_dir(self) -> Path:
        return Path(self.cfg.run_dir)

    def prepare(self) -> None:  # noqa: B027 (optional hook: most tasks only check inputs here)
        """Driver side, before any worker: validate inputs, build caches (idempotent)."""

    @abstractmethod
    def build_model(self) -> torch.nn.Module: ...

    @abstractmethod
    def datasets(self) -> tuple[Batch, Batch]:
        """(train, val) tensors with the same first dimension per split."""

    @abstractmethod
    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]: ...

    @abstractmethod
    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]: ...

    @abstractmethod
    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None: ...

    def train_epoch(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, train: Batch,
                    epoch: int, rank: int, world: int, device: torch.device) -> dict[str, float]:
        """One pass over ``train``: a (seed, epoch) permutation, each rank its slice of every
        global batch of ``batch_size`` (last partial batch dropped, like the original).

        Tasks whose options are :class:`~training.tasks.options.ScheduleOptions` get them here:
        ``warmup_steps`` (linear learning-rate warm-up over the first N optimizer steps of the run,
        at most a tenth of the run), ``lr_decay`` ("cosine": the learning rate follows half a
        cosine from ``lr`` down to 0 at the last step of the run; "none") and ``grad_clip`` (max
        global gradient norm). The schedule is computed
        from the step number, so a resumed run continues it."""
        n = len(next(iter(train.values())))
        schedule = self.options if isinstance(self.options, ScheduleOptions) else ScheduleOptions()
        clip = float(schedule.grad_clip)
        per_epoch = max(0, (n - self.cfg.batch_size) // self.cfg.batch_size + 1)
        warmup = min(int(schedule.warmup_steps), max(1, self.cfg.epochs * per_epoch // 10))
        cosine = schedule.lr_decay == "cosine"
        total = max(1, self.cfg.epochs * per_epoch)
        perm = np.random.default_rng([self.cfg.seed, epoch]).permutation(n)
        per_rank = self.cfg.batch_size // world
        if per_rank < 2:
            raise ValueError(f"batch_size {self.cfg.batch_size} is too small for {world} workers")
        model.train()
        totals: dict[str, float] = {}
        steps = 0
        for start in range(0, n - self.cfg.batch_size + 1, self.cfg.batch_size):
            idx = perm[start + rank * per_rank : start + (rank + 1) * per_rank]
            batch = {k: v[idx].to(device) for k, v in train.items()}
            loss, logs = self.loss(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if warmup or cosine:
                step = epoch * per_epoch + steps
                scale = min(1.0, (step + 1) / warmup) if warmup else 1.0
                if cosine:
                    scale *= 0.5 * (1.0 + math.cos(math.pi * min(1.0, step / total)))
                for group in optimizer.param_groups:
                    group["lr"] = self.cfg.lr * scale
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            steps += 1
            for k, v in {"loss": float(loss.detach()), **logs}.items():
                totals[k] = totals.get(k, 0.0) + v
        if steps == 0:
            raise ValueError(f"the training split has {n} rows, fewer than one batch of {self.cfg.batch_size}")
        return {k: v / steps for k, v in totals.items()}


@torch.no_grad()
def two_tower_metrics(model: torch.nn.Module, inputs: list[torch.Tensor], names: tuple[str, str],
                      device: torch.device, batch: int = 128) -> dict[str, float]:
    """Validation of a two-tower retrieval model (PoseText, PairText): ``model(*inputs)`` gives
    unit embeddings ``(a (N, E), b (N, E))``; returns the symBBC loss (first 1,024 rows), R@1/5/10
    both ways and their mean ``mRecall``."""
    from pose_search.metrics.retrieval import ranks_of_matches, recall_at

    model.eval()
    n = len(inputs[0])
    outs_a, outs_b = [], []
    for s in range(0, n, batch):
        a, b = model(*(x[s : s + batch].to(device) for x in inputs))
        outs_a.append(a.cpu())
        outs_b.append(b.cpu())
    a, b = torch.cat(outs_a), torch.cat(outs_b)
    metrics = {"loss": float(model.loss(a[:1024], b[:1024]))}
    for name, q, g in ((f"{names[0]}->{names[1]}", a, b), (f"{names[1]}->{names[0]}", b, a)):
        for k, v in recall_at(ranks_of_matches(q, g)).items():
            metrics[f"{name}/R@{k}"] = v
    metrics["mRecall"] = float(np.mean([v for k, v in metrics.items() if "/R@" in k]))
    return metrics
