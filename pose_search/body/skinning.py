"""Differentiable linear blend skinning of the neutral body on the 22 SMPL-X joints.

The anny backend poses its mesh under ``torch.no_grad`` through its 104-bone rig; training losses
need vertices *with* gradients. Since every anny bone follows its SMPL-X owner joint's world
rotation, the same mesh is skinned exactly enough by merging anny's skinning weights onto the 22
joints: ``v' = sum_j w_j (G_j (v - J_j) + P_j)`` with ``G`` the joints' world rotations and ``P``
their posed positions (forward kinematics on the T-pose skeleton).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from pose_search.body.convention import NUM_BODY_JOINTS, global_rotations
from pose_search.body.skeleton import REST_JOINTS, forward_kinematics


class NeutralSkin(nn.Module):
    """``forward(pose (B, 22, 3)) -> vertices (B, V, 3)`` of the neutral anny body (with grad)."""

    def __init__(self, template: torch.Tensor, weights: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("template", template.float())  # (V, 3), T-pose, canonical frame
        self.register_buffer("weights", weights.float())  # (V, 22), rows sum to 1

    @classmethod
    def from_anny(cls, body) -> NeutralSkin:
        """Build from an :class:`~pose_search.body.anny_backend.AnnyBody` (any topology)."""
        rest = body(torch.zeros(1, NUM_BODY_JOINTS, 3))
        owner = body.retarget.owner
        idx = body.model.vertex_bone_indices
        w = body.model.vertex_bone_weights.float()
        weights = torch.zeros(idx.shape[0], NUM_BODY_JOINTS)
        weights.scatter_add_(1, owner[idx], w)
        weights = weights / weights.sum(1, keepdim=True).clamp_min(1e-8)
        return cls(rest.vertices[0], weights)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        rot = global_rotations(pose)  # (B, 22, 3, 3)
        joints = forward_kinematics(pose)  # differentiable
        local = self.template[None, :, None, :] - REST_JOINTS.to(pose)[None, None]  # (1, V, 22, 3)
        moved = torch.einsum("bjxy,bvjy->bvjx", rot, local.expand(pose.shape[0], -1, -1, -1)) + joints[:, None]
        return (self.weights[None, :, :, None] * moved).sum(2)

