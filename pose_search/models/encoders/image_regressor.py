"""The image encoders' pretraining: regress the body pose from a render (``image-pose-regressor``),
and its loss."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from pose_search.body.convention import NUM_BODY_JOINTS, PARENTS, validate_pose
from pose_search.body.rotations import roma
from pose_search.body.skeleton import REST_JOINTS, forward_kinematics
from pose_search.models.encoders.image import RENDER_BACKBONES, TINY_BACKBONE_FIELDS
from pose_search.models.registry import register_model


def joints_from_rotmats(rotmats: torch.Tensor) -> torch.Tensor:
    """Local joint rotations ``(B, 22, 3, 3)`` -> joints ``(B, 22, 3)``, pelvis at the origin.

    Same skeleton as :func:`pose_search.body.skeleton.forward_kinematics`, but from rotation
    matrices, so gradients never go through an axis-angle conversion.
    """
    rest = REST_JOINTS.to(rotmats)
    offsets = rest - rest[[max(p, 0) for p in PARENTS]]  # (22, 3)
    world = [rotmats[:, 0]]
    pos = [rotmats.new_zeros(rotmats.shape[0], 3)]
    for j in range(1, NUM_BODY_JOINTS):
        parent = PARENTS[j]
        world.append(world[parent] @ rotmats[:, j])
        pos.append(pos[parent] + world[parent] @ offsets[j])
    return torch.stack(pos, dim=1)


class ImagePoseRegressor(nn.Module):
    """Pretraining model: encoder -> mean-pooled tokens -> MLP -> 22 rotations (6D) + joints.

    ``forward(images (B, 3, H, W))`` returns ``{"rotmat": (B, 22, 3, 3), "pose": (B, 22, 3)
    axis-angle, "joints": (B, 22, 3) root-relative (m)}``. ``.encoder`` (the registered image
    encoder ``backbone`` built with the ``encoder`` fields) is what is saved and frozen for the core.
    """

    def __init__(self, encoder: dict[str, Any] | None = None, hidden_dim: int = 512,
                 dropout: float = 0.1, backbone: str = "cnn-small-render") -> None:
        super().__init__()
        if backbone not in RENDER_BACKBONES:
            raise ValueError(f"backbone {backbone!r}: expected one of {sorted(RENDER_BACKBONES)}")
        self.encoder = RENDER_BACKBONES[backbone](**(encoder or {}))
        self.backbone, self.hidden_dim, self.dropout = backbone, hidden_dim, dropout
        d = self.encoder.output_dim
        self.head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, hidden_dim), nn.GELU(),
                                  nn.Dropout(dropout), nn.Linear(hidden_dim, NUM_BODY_JOINTS * 6))
        last = self.head[-1]
        nn.init.normal_(last.weight, std=1e-3)
        with torch.no_grad():  # start at the rest pose: the 6D of the identity is columns e_x, e_y
            last.bias.copy_(torch.eye(3)[:, :2].reshape(6).repeat(NUM_BODY_JOINTS))

    def config(self) -> dict[str, Any]:
        return {"encoder": self.encoder.config(), "hidden_dim": self.hidden_dim, "dropout": self.dropout,
                "backbone": self.backbone}

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.encoder(images).mean(dim=1)  # (B, D)
        six = self.head(feats).view(-1, NUM_BODY_JOINTS, 3, 2)
        rotmat = roma.special_gramschmidt(six, epsilon=1e-6)  # (B, 22, 3, 3)
        return {"rotmat": rotmat, "pose": roma.rotmat_to_rotvec(rotmat),
                "joints": joints_from_rotmats(rotmat)}


def image_pose_loss(pred: dict[str, torch.Tensor], pose: torch.Tensor,
                    joint_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Loss of :class:`ImagePoseRegressor` outputs against target poses ``(B, 22, 3)``.

    ``rotation``: squared Frobenius (chordal) distance per joint, ``||R - R*||^2 = 4 (1 - cos a)``
    (the smooth form of the geodesic angle a), averaged; ``joints``: mean Euclidean joint error
    (m) of the forward-kinematics joints. ``loss = rotation + joint_weight * joints``;
    ``angle_deg`` (mean geodesic angle) is reported without gradient.
    """
    target = validate_pose(pose).to(pred["rotmat"])
    target_rot = roma.rotvec_to_rotmat(target)
    rotation = (pred["rotmat"] - target_rot).square().sum(dim=(-2, -1)).mean()
    joints = (pred["joints"] - forward_kinematics(target).to(target)).norm(dim=-1).mean()
    with torch.no_grad():
        angle = torch.rad2deg(roma.rotmat_geodesic_distance(pred["rotmat"], target_rot)).mean()
    return {"loss": rotation + joint_weight * joints, "rotation": rotation, "joints": joints,
            "angle_deg": angle}


@register_model("image-pose-regressor", "trainable.image")
def image_pose_regressor(encoder: dict[str, Any] | None = None, hidden_dim: int = 512,
                         dropout: float = 0.1, backbone: str = "cnn-small-render") -> ImagePoseRegressor:
    return ImagePoseRegressor(encoder, hidden_dim, dropout, backbone)


@register_model("image-pose-regressor-tiny", "trainable.image")
def image_pose_regressor_tiny(encoder: dict[str, Any] | None = None, hidden_dim: int = 32,
                              dropout: float = 0.0, backbone: str = "cnn-small-render") -> ImagePoseRegressor:
    tiny = TINY_BACKBONE_FIELDS.get(backbone, {})  # an unknown backbone: the regressor's clear error
    return ImagePoseRegressor({**tiny, **(encoder or {})}, hidden_dim, dropout, backbone)
