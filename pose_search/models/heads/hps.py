"""HPS head: a body (pose + shape) regressed from the fused pose representation (spec 5.2).

    x (B, 512) -> state_0 = 6D of the mean pose (learnable, (132,))
               -> 3 x: state <- state + MLP([x, state])          (HMR-style iterative residual)
               -> special Gram-Schmidt per joint -> rotations (B, 22, 3, 3), axis-angle (B, 22, 3)
    x (B, 512) -> Linear -> ReLU -> Linear -> shape (B, S)     (anny phenotype: S = 6; SMPL-X: 10)

The 6D of a rotation is its first two columns (``R[..., :, :2]``). The mean pose is a rotation
average of the training poses (per joint: sum of the matrices projected onto SO(3),
:func:`rotation_average`) set with :meth:`HPSHead.set_mean_pose` before training; never zeros
(degenerate for Gram-Schmidt). The head predicts the canonical global orientation (heading
removed), no camera, no translation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_search.body.rotations import roma
from pose_search.models.registry import register_model

NUM_JOINTS = 22


class HPSOutput(NamedTuple):
    rotmats: torch.Tensor  # (B, 22, 3, 3)
    pose: torch.Tensor  # (B, 22, 3) axis-angle (the canonical pose convention)
    shape: torch.Tensor | None  # (B, S)


@dataclass
class HPSConfig:
    rep_dim: int = 512
    hidden: int = 1024
    iterations: int = 3
    dropout: float = 0.5
    shape_dim: int = 6  # 0: no shape head
    shape_space: str = "anny-phenotype"


def rotation_average(rotmats: torch.Tensor) -> torch.Tensor:
    """Per-joint chordal mean ``(N, J, 3, 3) -> (J, 3, 3)``: sum, then the nearest rotation."""
    return roma.special_procrustes(rotmats.double().sum(0)).float()


def to_6d(rotmats: torch.Tensor) -> torch.Tensor:
    """``(..., J, 3, 3) -> (..., J * 6)``: the first two columns of each matrix."""
    return rotmats[..., :, :2].flatten(-3)


def from_6d(x: torch.Tensor, joints: int = NUM_JOINTS) -> torch.Tensor:
    """``(B, J * 6) -> (B, J, 3, 3)`` by special Gram-Schmidt."""
    return roma.special_gramschmidt(x.view(x.shape[0], joints, 3, 2))


class HPSHead(nn.Module):
    """Iterative residual pose regressor + shape head (see module docstring)."""

    def __init__(self, **config: object) -> None:
        super().__init__()
        self.cfg = HPSConfig(**config)  # type: ignore[arg-type]
        c = self.cfg
        if c.iterations < 1 or c.rep_dim < 1:
            raise ValueError("iterations and rep_dim must be >= 1")
        d6 = NUM_JOINTS * 6
        self.init_state = nn.Parameter(to_6d(torch.eye(3).expand(NUM_JOINTS, 3, 3)).clone())
        self.mlp = nn.Sequential(
            nn.Linear(c.rep_dim + d6, c.hidden), nn.Dropout(c.dropout), nn.LeakyReLU(),
            nn.Linear(c.hidden, c.hidden), nn.Dropout(c.dropout), nn.LeakyReLU(),
            nn.Linear(c.hidden, d6),
        )
        nn.init.xavier_uniform_(self.mlp[-1].weight, gain=0.01)
        nn.init.zeros_(self.mlp[-1].bias)
        self.shape_head = (nn.Sequential(nn.Linear(c.rep_dim, c.rep_dim), nn.ReLU(), nn.Linear(c.rep_dim, c.shape_dim))
                           if c.shape_dim > 0 else None)

    def config(self) -> dict:
        return asdict(self.cfg)

    @torch.no_grad()
    def set_mean_pose(self, rotmats: torch.Tensor) -> None:
        """Start the regression from the rotation average of ``rotmats`` ``(N, 22, 3, 3)``."""
        self.init_state.copy_(to_6d(rotation_average(rotmats)))

    def forward(self, x: torch.Tensor) -> HPSOutput:
        if x.ndim != 2 or x.shape[1] != self.cfg.rep_dim:
            raise ValueError(f"representation: expected (B, {self.cfg.rep_dim}), got {tuple(x.shape)}")
        state = self.init_state.expand(x.shape[0], -1)
        for _ in range(self.cfg.iterations):
            state = state + self.mlp(torch.cat([x, state], dim=1))
        rot = from_6d(state)
        shape = self.shape_head(x) if self.shape_head is not None else None
        return HPSOutput(rot, roma.rotmat_to_rotvec(rot), shape)


def hps_loss(out: HPSOutput, rotmats: torch.Tensor, shape: torch.Tensor | None = None,
             joint_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Geodesic angle summed over the 22 joints (mean over the batch), smooth-L1 on the shape
    (summed over its values), smooth-L1 on the forward-kinematics joints (metres, summed over
    joints and axes); ``loss`` = the mean of the active terms."""
    from pose_search.body.skeleton import forward_kinematics

    terms = {"rotation": roma.rotmat_geodesic_distance(out.rotmats, rotmats, clamping=0.99).sum(1).mean()}
    if shape is not None and out.shape is not None:
        terms["shape"] = F.smooth_l1_loss(out.shape, shape, reduction="none").sum(1).mean()
    if joint_weight > 0:
        pj = forward_kinematics(out.pose)
        gj = forward_kinematics(roma.rotmat_to_rotvec(rotmats))
        terms["joints"] = joint_weight * F.smooth_l1_loss(pj, gj, reduction="none", beta=0.01).sum((1, 2)).mean()
    terms["loss"] = torch.stack(list(terms.values())).mean()
    return terms


@register_model("hps-head", kind="head.hps")
def _hps_head(**config: object) -> HPSHead:
    return HPSHead(**config)


@register_model("hps-head-tiny", kind="head.hps")
def _hps_head_tiny(**config: object) -> HPSHead:
    return HPSHead(**{"rep_dim": 32, "hidden": 32, **config})
