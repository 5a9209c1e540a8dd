"""Train the PoseEmbroider core (or the Aligner, or an ablation) on frozen-encoder features.

``prepare`` (driver side) loads the three frozen encoders, computes the features of the train and
val splits once into ``RUN/features/`` and copies the encoders into ``RUN/encoders/`` so that the
run directory alone rebuilds the full model (:func:`pose_search.runs.load_model`).
Training samples one of the captions of each pose per step (uniformly); validation uses caption
``row mod C`` ("deterministic mix"). The best checkpoint is the one with the highest val mRecall.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pose_search.losses import symbbc
from pose_search.run_layout import CHECKPOINTS, CORE, ENCODER, ENCODERS
from training.tasks.base import Batch, Task
from training.tasks.options import AlignerOptions, CoreOptions

log = logging.getLogger(__name__)

ENCODER_OPTIONS = {"image": "image_encoder", "pose": "pose_encoder", "text": "text_encoder"}


class CoreTask(Task):
    options_type = CoreOptions
    score_name = "mRecall"
    workers_read_data = False  # the features cached by prepare()
    higher_is_better = True


    # ----------------------------------------------------------------- driver side
    def prepare(self) -> None:
        from pose_search.config import cache_dir
        from pose_search.data.store import read_manifest
        from pose_search.models.catalog import load_module
        from pose_search.models.features import dataset_features, save_features, split_size

        if not self.cfg.data:
            raise ValueError("core training needs --data (a script dataset directory)")
        read_manifest(self.cfg.data)
        given = {m: getattr(self.options, o) for m, o in ENCODER_OPTIONS.items() if getattr(self.options, o)}
        if len(given) < 2:
            raise ValueError("core training needs at least two encoders: --image-encoder, --pose-encoder, "
                             "--text-encoder (run directories of trained encoders)")
        for split in ("train", self.options.val_split):
            if split_size(self.cfg.data, split) == 0:
                raise ValueError(f"dataset {self.cfg.data!r} has no rows in split {split!r}")
        encoders, dirs = {}, {}
        for m, path in given.items():
            directory = _encoder_dir(Path(path), m) if not _frozen_name(path, m) else \
                _save_frozen(path, self.run_dir / ENCODERS / m)
            dirs[m] = directory
            module = load_module(directory)
            if getattr(module, "modality", None) != m:
                raise ValueError(f"{path!r} holds a {getattr(module, 'modality', type(module).__name__)!r} "
                                 f"encoder, not a {m} encoder")
            encoders[m] = module.freeze()
            target = self.run_dir / ENCODERS / m
            if not target.exists():
                shutil.copytree(directory, target)
        key = _features_key(self.cfg.data, dirs)
        for split in ("train", self.options.val_split):
            path = self.run_dir / "features" / f"{split}.safetensors"
            if path.exists():
                continue
            # shared between runs on the same data and encoders (the Aligner and the ablations)
            shared = cache_dir() / "features" / key / f"{split}.safetensors"
            if not shared.exists():
                save_features(shared, dataset_features(self.cfg.data, encoders, split, self.options.feature_batch))
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(shared, path)
            except OSError:
                shutil.copyfile(shared, path)

    # ----------------------------------------------------------------- worker side
    def _load(self, split: str) -> Batch:
        from pose_search.models.features import load_features

        feats = load_features(self.run_dir / "features" / f"{split}.safetensors")
        return {m: torch.from_numpy(v.astype(np.float32)) for m, v in feats.items() if m != "ids"}

    def datasets(self) -> tuple[Batch, Batch]:
        return self._load("train"), self._load(self.options.val_split)

    def build_model(self) -> torch.nn.Module:
        from pose_search.models.catalog import create_model
        from pose_search.models.features import feature_dims

        dims = feature_dims(self.run_dir / "features" / "train.safetensors")
        return create_model(self.options.model, **{**self.options.model_config, "input_dims": dims})

    @staticmethod
    def _pick_captions(batch: Batch, index: torch.Tensor | None = None) -> Batch:
        if "text" not in batch or batch["text"].ndim != 3:
            return batch
        n, c = batch["text"].shape[:2]
        if index is None:
            index = torch.randint(c, (n,))
        return {**batch, "text": batch["text"][torch.arange(n), index % c]}

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        queries, targets, scale = model(self._pick_captions(batch))
        gather = torch.distributed.is_available() and torch.distributed.is_initialized()
        terms = torch.stack([symbbc(q, z, scale, gather=gather) for q, z in zip(queries, targets)])
        return terms.mean(), {"logit_scale": float(scale.detach())}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        from pose_search.metrics.retrieval import retrieval_metrics

        model.eval()
        n = min(len(next(iter(val.values()))), int(self.options.eval_rows))
        feats = self._pick_captions({k: v[:n] for k, v in val.items()}, torch.arange(n))
        refs = {}
        for s in range(0, n, 512):
            part = model.reference_embeddings({k: v[s : s + 512].to(device) for k, v in feats.items()})
            for k, v in part.items():
                refs.setdefault(k, []).append(v.cpu())
        refs = {k: torch.cat(v) for k, v in refs.items()}
        metrics = retrieval_metrics(refs, model.query_embedding)
        pairs = model.contrastive_pairs({k: v[:1024] for k, v in refs.items()})
        metrics["loss"] = float(torch.stack([symbbc(q, z, model.logit_scale) for _, q, z in pairs]).mean())
        return metrics

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        from pose_search.checkpoint import save_module

        save_module(directory / CORE, self.options.model, model.config(), model,
                    metrics={k: v for k, v in metrics.items() if isinstance(v, (int, float))})


class AlignerTask(CoreTask):
    options_type = AlignerOptions


def _frozen_name(value: str, modality: str) -> bool:
    """Whether ``value`` names a registered pretrained encoder that needs no training (e.g.
    ``blazepose``) rather than a checkpoint or run directory."""
    from pose_search.models.catalog import list_models

    return not Path(value).exists() and value in list_models(f"encoder.{modality}")


def _save_frozen(name: str, target: Path) -> Path:
    """A config-only checkpoint of the pretrained encoder ``name`` in ``target`` (once)."""
    from pose_search.checkpoint import save_module
    from pose_search.models.catalog import create_model

    if (target / "config.json").exists():
        return target
    module = create_model(name)
    if any(True for _ in module.parameters()):
        raise ValueError(f"encoder {name!r} has weights to train: give the run directory of a trained one")
    return save_module(target, name, module.config(), module)


def _encoder_dir(path: Path, modality: str) -> Path:
    """An encoder checkpoint directory, given it or a training run directory that exported one:
    ``<modality>_encoder/`` before ``encoder/`` (a PoseText run exports its text tower as
    ``encoder/`` and its pose trunk as ``pose_encoder/``)."""
    names = (f"{modality}_encoder", ENCODER)
    candidates = [path] + [path / which / name for which in CHECKPOINTS for name in names]
    for candidate in candidates:
        if (candidate / "config.json").exists():
            return candidate
    raise ValueError(f"{str(path)!r} is neither an encoder checkpoint nor a run directory with one "
                     f"(looked for config.json, best/{modality}_encoder/, best/encoder/, last/...), nor a "
                     "pretrained encoder's name (image: blazepose)")


def _features_key(data: str, encoders: dict[str, Path]) -> str:
    """Identity of a feature cache: the dataset (path + manifest) and the encoders' weights."""
    h = hashlib.sha256(str(Path(data).resolve()).encode())
    h.update((Path(data) / "manifest.json").read_bytes())
    for m in sorted(encoders):
        h.update(m.encode())
        config = (encoders[m] / "config.json").read_bytes()
        h.update(config)
        if b"weights_sha256" not in config:  # older checkpoints: the weights file's size and time
            f = encoders[m] / "model.safetensors"
            h.update(str(f.stat().st_size).encode() + str(f.stat().st_mtime_ns).encode())
    return h.hexdigest()[:20]
