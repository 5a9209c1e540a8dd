"""Pretrain the default image encoder on our renders by regressing the pose (6D + joints).

SMPLer-X's image features are pose-aware because it was trained to recover bodies; ours become
pose-aware the same way: a small CNN (or ViT) + MLP regresses the 22 rotations of the rendered pose. The
exported ``encoder/`` is the backbone alone (frozen later for the core); ``model/`` is the regressor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pose_search.run_layout import ENCODER, MODEL
from training.tasks.base import Batch, Task
from training.tasks.data import load_split
from training.tasks.options import ImageOptions


class ImageTask(Task):
    options_type = ImageOptions
    score_name = "loss"
    higher_is_better = False


    def prepare(self) -> None:
        if not self.cfg.data:
            raise ValueError("image training needs --data (a script dataset with images)")
        for split in ("train", self.options.val_split):
            load_split(self.cfg.data, split, ("pose",))  # checks the dataset and the split early

    def build_model(self) -> torch.nn.Module:
        from pose_search.models.catalog import create_model

        return create_model(self.options.model, **self.options.model_config)

    def datasets(self) -> tuple[Batch, Batch]:
        train = load_split(self.cfg.data, "train", ("pose", "image"))
        val = load_split(self.cfg.data, self.options.val_split, ("pose", "image"))
        n = int(self.options.eval_rows)
        return ({"image": train["image"], "pose": train["pose"]},
                {"image": val["image"][:n], "pose": val["pose"][:n]})

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        from pose_search.models.encoders.image_augment import ImageAugment
        from pose_search.models.encoders.image_regressor import image_pose_loss

        images = batch["image"]
        if self.options.augment:
            gen = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,))))
            images = ImageAugment()(images, gen)
        else:
            images = images.float() / 255.0
        out = image_pose_loss(model(images), batch["pose"], self.options.joint_weight)
        return out["loss"], {"angle_deg": float(out["angle_deg"]), "joints_m": float(out["joints"].detach())}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        from pose_search.models.encoders.image_regressor import image_pose_loss

        model.eval()
        totals = {"loss": 0.0, "angle_deg": 0.0, "mpjpe_mm": 0.0}
        n = len(val["pose"])
        for s in range(0, n, 64):
            images = val["image"][s : s + 64].to(device).float() / 255.0
            out = image_pose_loss(model(images), val["pose"][s : s + 64].to(device), self.options.joint_weight)
            w = len(images) / n
            totals["loss"] += float(out["loss"]) * w
            totals["angle_deg"] += float(out["angle_deg"]) * w
            totals["mpjpe_mm"] += 1000 * float(out["joints"]) * w
        return totals

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        from pose_search.checkpoint import save_module

        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        save_module(directory / MODEL, self.options.model, model.config(), model, metrics=scalars)
        save_module(directory / ENCODER, model.backbone, model.encoder.config(), model.encoder, metrics=scalars)
