"""One Ray Train driver for every trainable model.

A *task* (see :mod:`training.tasks`) knows its model, data, loss and validation metric; this
driver knows Ray: it runs ``train_loop_per_worker`` under a ``TorchTrainer`` with
``ScalingConfig(num_workers, use_gpu)``, DDP, a checkpoint every epoch, ``FailureConfig``, a
JSONL metric log with a PNG curve, and the best checkpoint by the task's validation score.

Storage: ``run_dir``, ``data`` and path options may be URIs (``s3://...``; see
:mod:`pose_search.storage`). The driver and every worker then work in a node-local mirror of the
run (:func:`localized`) and rank 0 uploads what it writes (``last/``, ``best/``, the metric log and
curve) each epoch; Ray stores its checkpoints under ``RUN/ray`` itself. Nothing assumes a disk
shared between nodes.

Resuming: each epoch's state (weights, optimiser, epoch, best score) is reported to Ray as a
checkpoint under ``RUN/ray``. A restarted worker continues from ``ray.train.get_checkpoint()``;
a new ``fit`` on the same run directory continues from the newest complete checkpoint found
there. Data order and dropout are seeded by (seed, epoch, rank), so a resumed run ends where an
uninterrupted one does.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from pose_search import storage
from pose_search.run_layout import BEST, LAST, METRICS_FILE, read_metrics
from training.config import TrainConfig

log = logging.getLogger(__name__)

STATE_FILE = "train_state.pt"  # optimiser + counters, our own file, loaded with weights_only=True
RUN_CONFIG_FILE = "run.json"


def check_cluster_fits(cfg: TrainConfig) -> None:
    """ResourceError unless the running Ray cluster can place ``cfg.workers`` workers of
    ``cfg.cpus_per_worker`` CPUs (+ a GPU each with ``cfg.gpu``): Ray would wait for ever."""
    import ray

    from pose_search.resources import WorkerRequest, check_fits, live_node_resources

    check_fits(WorkerRequest(cfg.workers, cfg.cpus_per_worker, 1.0 if cfg.gpu else 0.0),
               live_node_resources(ray.nodes()))


def localized(cfg: TrainConfig, checkpoints: bool = False, data: bool = True) -> TrainConfig:
    """``cfg`` with every URI replaced by a node-local path: the run by its working mirror
    (without Ray's checkpoints unless ``checkpoints``), the dataset (unless not ``data``: it
    stays a URI, which the readers also take) and path options by synced copies. Local paths are
    kept as they are."""
    if not any(storage.is_uri(v) for v in (cfg.run_dir, cfg.data, *cfg.task_options.values()) if isinstance(v, str)):
        return cfg
    run = storage.working_dir(cfg.run_dir, exclude=("ray",))
    if checkpoints and storage.is_uri(cfg.run_dir) and storage.exists(storage.join(cfg.run_dir, "ray")):
        storage.pull(storage.join(cfg.run_dir, "ray"), run / "ray")
    options = {k: str(storage.local_copy(v)) if isinstance(v, str) and storage.is_uri(v) else v
               for k, v in cfg.task_options.items()}
    local_data = str(storage.local_copy(cfg.data)) if cfg.data and data else cfg.data
    return TrainConfig(**{**asdict(cfg), "run_dir": str(run), "data": local_data, "task_options": options})


# ------------------------------------------------------------------------------ worker side


def _rank_info() -> tuple[int, int]:
    import ray.train

    ctx = ray.train.get_context()
    return ctx.get_world_rank(), ctx.get_world_size()


def _latest_local_checkpoint(run_dir: Path) -> Path | None:
    """Newest complete checkpoint Ray stored under ``run_dir/ray`` (a new fit on the same run)."""
    found = []
    for state in (run_dir / "ray").glob("checkpoint_*/" + STATE_FILE):
        try:
            found.append((int(torch.load(state, map_location="cpu", weights_only=True)["epoch"]), state.parent))
        except Exception:  # a checkpoint cut short by a crash: ignore it
            continue
    return max(found)[1] if found else None


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Runs on every Ray Train worker."""
    import ray.train
    import ray.train.torch

    from training.tasks import TASKS

    given = TrainConfig(**config["train"])  # as the user gave it (paths may be URIs)
    cfg = localized(given, checkpoints=True, data=TASKS[given.task].workers_read_data)
    run_dir = Path(cfg.run_dir)
    rank, world = _rank_info()
    torch.set_num_threads(max(1, int(os.environ.get("POSE_SEARCH_TORCH_THREADS", "1"))))
    task = TASKS[cfg.task](cfg)
    torch.manual_seed(cfg.seed)
    model = task.build_model()
    device = ray.train.torch.get_device()
    train_set, val_set = task.datasets()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=cfg.weight_decay
    )

    start_epoch, best, best_epoch = 0, None, 0
    ckpt = ray.train.get_checkpoint()
    ckpt_dir = None
    if ckpt is not None:
        ckpt_dir = Path(ckpt.to_directory())
    else:
        ckpt_dir = _latest_local_checkpoint(run_dir)
    if ckpt_dir is not None:
        start_epoch, best, best_epoch = _restore(ckpt_dir, model, optimizer)
        log.info("rank %d resumes at epoch %d from %s", rank, start_epoch, ckpt_dir)

    model = ray.train.torch.prepare_model(model, parallel_strategy="ddp" if world > 1 else None)
    for epoch in range(start_epoch, cfg.epochs):
        if _patience_spent(cfg.patience, epoch, best_epoch):  # a resumed run that had stopped
            break
        torch.manual_seed(cfg.seed * 100003 + epoch * 101 + rank)
        started = time.perf_counter()
        train_metrics = task.train_epoch(model, optimizer, train_set, epoch, rank, world, device)
        metrics: dict[str, Any] = {"epoch": epoch + 1, **{f"train/{k}": v for k, v in train_metrics.items()}}
        metrics["train_seconds"] = time.perf_counter() - started
        if (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs:
            metrics.update({f"val/{k}": v for k, v in task.evaluate(_unwrap(model), val_set, device).items()})
        metrics["epoch_seconds"] = time.perf_counter() - started
        score = metrics.get(f"val/{task.score_name}")
        improved = score is not None and (best is None or (score > best if task.higher_is_better else score < best))
        if improved:
            best, best_epoch = score, epoch + 1
        metrics["best_score"] = best
        stop = score is not None and _patience_spent(cfg.patience, epoch + 1, best_epoch)
        if stop:
            metrics["stopped"] = f"no better validation score for {cfg.patience} epochs (best: epoch {best_epoch})"
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = None
            if rank == 0:
                _save_state(Path(tmp), _unwrap(model), optimizer, epoch + 1, best, best_epoch)
                checkpoint = ray.train.Checkpoint.from_directory(tmp)
                task.export(_unwrap(model), run_dir / LAST, metrics)
                if improved:
                    task.export(_unwrap(model), run_dir / BEST, metrics)
                _append_metrics(run_dir, metrics)
                # best/ last: a reader that finds it complete also finds the log it belongs to
                storage.publish(run_dir, given.run_dir, [LAST, METRICS_FILE, "curves.png"]
                                + ([BEST] if improved else []))
            ray.train.report(metrics, checkpoint=checkpoint)
        if stop:  # every rank: the score is computed on the whole validation split by each
            break


def _patience_spent(patience: int, epochs_done: int, best_epoch: int) -> bool:
    """Whether ``patience`` (> 0) epochs have passed since the best one (``best_epoch``, 1-based)."""
    return patience > 0 and best_epoch > 0 and epochs_done - best_epoch >= patience


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model


def _save_state(directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                epoch: int, best: float | None, best_epoch: int) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
              str(directory / "model.safetensors"))
    torch.save({"optimizer": optimizer.state_dict(), "epoch": epoch, "best": best, "best_epoch": best_epoch},
               directory / STATE_FILE)


def _restore(directory: Path, model: torch.nn.Module,
             optimizer: torch.optim.Optimizer) -> tuple[int, float | None, int]:
    """``(epochs done, best score, epoch of the best score)`` of a checkpoint, its weights and
    optimiser state loaded (a checkpoint from before ``best_epoch`` was kept: its own epoch)."""
    from safetensors.torch import load_file

    from pose_search.checkpoint import load_weights

    load_weights(model, load_file(str(directory / "model.safetensors")), repr(str(directory)))
    state = torch.load(directory / STATE_FILE, map_location="cpu", weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    best_epoch = state.get("best_epoch", state["epoch"] if state["best"] is not None else 0)
    return int(state["epoch"]), state["best"], int(best_epoch)


def _append_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    path = run_dir / METRICS_FILE
    rows = [r for r in read_metrics(run_dir) if r["epoch"] < metrics["epoch"]]  # a resumed epoch replaces its row
    rows.append({k: (float(v) if isinstance(v, (int, float)) and v is not None else v) for k, v in metrics.items()})
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(path)
    plot_curves(run_dir)


def plot_curves(run_dir: Path) -> Path | None:
    """``run_dir/curves.png``: every logged metric against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(run_dir)
    keys = sorted({k for r in rows for k in r if k.startswith(("train/", "val/")) and "/" in k
                   and isinstance(r[k], float)})
    keys = [k for k in keys if k.count("/") == 1][:8]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    for ax, k in zip(axes[0], keys):
        pts = [(r["epoch"], r[k]) for r in rows if k in r]
        ax.plot(*zip(*pts), marker="o", ms=3)
        ax.set_title(k, fontsize=8)
        ax.set_xlabel("epoch", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    out = run_dir / "curves.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


# ------------------------------------------------------------------------------ driver side


def fit(cfg: TrainConfig) -> dict[str, Any]:
    """Train (or resume) ``cfg.task`` into ``cfg.run_dir``; returns the last reported metrics."""
    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from training.tasks import TASKS

    cfg.check(TASKS)
    # workers may run in another working directory (or on another node): absolute paths or URIs
    if not storage.is_uri(cfg.run_dir):
        cfg.run_dir = str(Path(cfg.run_dir).absolute())
    if cfg.data and not storage.is_uri(cfg.data):
        cfg.data = str(Path(cfg.data).absolute())
    cfg.task_options = _absolute_paths(cfg.task, cfg.task_options)
    local = localized(cfg)
    run_dir = Path(local.run_dir)
    task = TASKS[cfg.task](local)  # checks the task options
    _check_run_config(run_dir, cfg)
    task.prepare()  # checks the inputs and caches features once, before any worker starts
    run_dir.mkdir(parents=True, exist_ok=True)  # a file in the way: an error before Ray starts
    if not ray.is_initialized():
        ray.init(include_dashboard=False, logging_level=logging.WARNING, configure_logging=False)
    check_cluster_fits(cfg)  # before Ray is asked: it would wait for ever for workers it cannot place
    _write_run_config(run_dir, cfg, task.options.as_dict())
    storage.publish(run_dir, cfg.run_dir, [p.name for p in run_dir.iterdir() if p.name != "ray"])
    resources = {"CPU": cfg.cpus_per_worker}
    if cfg.gpu:
        resources["GPU"] = 1
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"train": asdict(cfg)},
        scaling_config=ScalingConfig(num_workers=cfg.workers, use_gpu=cfg.gpu, resources_per_worker=resources),
        run_config=RunConfig(
            name="ray",
            storage_path=cfg.run_dir,  # a URI: Ray writes its checkpoints there through pyarrow
            failure_config=FailureConfig(max_failures=cfg.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
        ),
    )
    result = trainer.fit()
    return dict(result.metrics or {})


def _absolute_paths(task: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the task's path options that name local files made absolute (workers may
    run in another directory)."""
    from training.tasks import TASKS

    paths = TASKS[task].options_type.path_options if task in TASKS else frozenset()

    def local(v: Any) -> bool:  # a path here (not a URI, nor a name such as a frozen encoder's)
        return isinstance(v, str) and bool(v) and not storage.is_uri(v) and Path(v).exists()

    return {k: str(Path(v).absolute()) if k in paths and local(v) else v for k, v in options.items()}


def _check_run_config(run_dir: Path, cfg: TrainConfig) -> None:
    """A run directory belongs to one configuration; only ``epochs`` (and ``patience``, the
    resources) may change on a resume."""
    path = run_dir / RUN_CONFIG_FILE
    mine = {k: v for k, v in asdict(cfg).items() if k not in ("epochs", "patience", "workers", "gpu", "max_failures")}
    if path.exists():
        stored = {k: v for k, v in json.loads(path.read_text()).items() if k in mine}
        if isinstance(stored.get("task_options"), dict):  # runs written before paths were made absolute
            stored["task_options"] = _absolute_paths(cfg.task, stored["task_options"])
        if stored != mine:
            diff = sorted(k for k in mine if stored.get(k) != mine[k])
            raise ValueError(f"run {cfg.run_dir!r} was started with other settings ({', '.join(diff)}); "
                             "use a new run directory")


def _write_run_config(run_dir: Path, cfg: TrainConfig, options: dict[str, Any]) -> None:
    """``run.json``: the run's settings as given, and ``options``: the task's typed options in full
    (defaults included; for reading, a resume compares the settings as given)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / RUN_CONFIG_FILE).write_text(json.dumps({**asdict(cfg), "options": options}, indent=2, sort_keys=True) + "\n")
