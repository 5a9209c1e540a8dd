"""Train the VPoser-style pose VAE; its encoder trunk becomes the frozen pose encoder.

Reconstruction goes through the body: joints by forward kinematics on the neutral skeleton,
vertices by differentiable skinning of the neutral anny mesh (:class:`NeutralSkin`, 1,229
vertices), rotation matrices directly, plus the clamped KL (PoseVAE spec, section 3.5).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pose_search.run_layout import ENCODER, MODEL
from training.tasks.base import Batch, Task
from training.tasks.data import load_split
from training.tasks.options import PoseVAEOptions


class PoseVAETask(Task):
    options_type = PoseVAEOptions
    score_name = "loss"
    higher_is_better = False


    def prepare(self) -> None:
        if not self.cfg.data:
            raise ValueError("posevae training needs --data (a dataset with poses)")
        for split in ("train", self.options.val_split):
            load_split(self.cfg.data, split, ("pose",))

    def build_model(self) -> torch.nn.Module:
        from pose_search.models.catalog import create_model

        self._skin = None
        if self.options.vertices:
            from pose_search.body.anny_backend import AnnyBody
            from pose_search.body.skinning import NeutralSkin

            self._skin = NeutralSkin.from_anny(AnnyBody())
        return create_model(self.options.model, **self.options.model_config)

    def datasets(self) -> tuple[Batch, Batch]:
        return (load_split(self.cfg.data, "train", ("pose",)),
                load_split(self.cfg.data, self.options.val_split, ("pose",)))

    def _loss(self, model: torch.nn.Module, pose: torch.Tensor, kld_epsilon: float) -> dict[str, torch.Tensor]:
        from pose_search.models.encoders.pose_vae import posevae_loss

        skin = self._skin.to(pose.device) if self._skin is not None else None
        return posevae_loss(model(pose), pose, vertices_fn=skin, kld_epsilon=kld_epsilon)

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        out = self._loss(model, batch["pose"], self.options.kld_epsilon)
        return out["loss"], {k: float(v.detach()) for k, v in out.items() if k != "loss"}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        from pose_search.body.skeleton import forward_kinematics

        model.eval()
        pose = val["pose"].to(device)
        out = model(pose)
        metrics = {k: float(v) for k, v in self._loss(model, pose, 0.0).items()}
        metrics["mpjpe_mm"] = 1000 * float((forward_kinematics(out.pose) - forward_kinematics(pose)).norm(dim=-1).mean())
        return metrics

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        from pose_search.checkpoint import save_module
        from pose_search.models.encoders.pose_vae import PoseEncoder

        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        save_module(directory / MODEL, self.options.model, model.config(), model, metrics=scalars)
        encoder = PoseEncoder.from_vae(model)
        save_module(directory / ENCODER, "posevae", encoder.config(), encoder, metrics=scalars)
