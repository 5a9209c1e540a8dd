"""The generic epoch loop's learning-rate warm-up and gradient clipping (tasks that declare them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from training.driver import TrainConfig
from training.tasks.base import Batch, Task
from training.tasks.options import ScheduleOptions


class _Linear(Task):
    """y = w.x on 64 rows; records the learning rate and gradient norm at every optimizer step."""

    options_type = ScheduleOptions

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.lrs: list[float] = []
        self.grad_norms: list[float] = []

    def build_model(self) -> torch.nn.Module:
        return torch.nn.Linear(4, 1)

    def datasets(self) -> tuple[Batch, Batch]:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(64, 4, generator=g)
        data = {"x": x, "y": 100.0 * x.sum(1, keepdim=True)}  # large errors: large gradients
        return data, data

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        return torch.nn.functional.mse_loss(model(batch["x"]), batch["y"]), {}

    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        return {}

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        pass


def _run(tmp_path: Path, epochs: tuple[int, ...], **options: Any) -> tuple[_Linear, torch.nn.Module]:
    cfg = TrainConfig(task="core", run_dir=str(tmp_path), epochs=10, batch_size=8, lr=0.1, task_options=options)
    task = _Linear(cfg)
    model = task.build_model()
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    step = opt.step

    def recording_step(*args: Any, **kwargs: Any) -> Any:
        task.lrs.append(opt.param_groups[0]["lr"])
        task.grad_norms.append(float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm()))
        return step(*args, **kwargs)

    opt.step = recording_step  # type: ignore[method-assign]
    train, _ = task.datasets()
    for epoch in epochs:
        task.train_epoch(model, opt, train, epoch, rank=0, world=1, device=torch.device("cpu"))
    return task, model


def test_warmup_is_linear_capped_at_a_tenth_of_the_run_and_continues_on_resume(tmp_path):
    task, _ = _run(tmp_path, (0, 1), warmup_steps=5)  # 8 steps per epoch, 80 in the run: 5 <= 8
    assert task.lrs[:6] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1, 0.1])
    assert set(task.lrs[5:]) == {0.1}
    resumed, _ = _run(tmp_path, (0,), warmup_steps=50)  # capped at 80 // 10 = 8 steps
    assert resumed.lrs == pytest.approx([0.1 * (i + 1) / 8 for i in range(8)])
    later, _ = _run(tmp_path, (1,), warmup_steps=50)  # a resumed run starts at step 8: past it
    assert set(later.lrs) == {0.1}


def test_gradients_are_clipped_only_when_asked(tmp_path):
    free, _ = _run(tmp_path, (0,))
    clipped, _ = _run(tmp_path, (0,), grad_clip=1.0)
    assert max(free.grad_norms) > 10.0
    assert max(clipped.grad_norms) == pytest.approx(1.0, rel=1e-4)
    assert free.lrs == clipped.lrs == [0.1] * 8  # no warm-up unless asked


def test_cosine_decay_follows_the_step_number_with_warmup_and_on_resume(tmp_path):
    import math

    task, _ = _run(tmp_path, tuple(range(10)), lr_decay="cosine")  # 80 steps in the run
    expected = [0.05 * (1 + math.cos(math.pi * s / 80)) for s in range(80)]
    assert task.lrs == pytest.approx(expected)
    assert task.lrs[0] == pytest.approx(0.1) and task.lrs[-1] < 0.001
    later, _ = _run(tmp_path, (5,), lr_decay="cosine")  # a resumed run continues the curve
    assert later.lrs == pytest.approx(expected[40:48])
    warm, _ = _run(tmp_path, (0,), lr_decay="cosine", warmup_steps=4)
    assert warm.lrs == pytest.approx([expected[s] * min(1.0, (s + 1) / 4) for s in range(8)])


@pytest.mark.parametrize("options", [{"warmup_steps": -1}, {"grad_clip": -0.5}, {"grad_clip": "big"},
                                     {"lr_decay": "linear"}])
def test_bad_schedule_options_are_refused_before_training(tmp_path, options):
    with pytest.raises(ValueError, match=next(iter(options))):
        _Linear(TrainConfig(task="core", run_dir=str(tmp_path), task_options=options))
