"""Fit a body pose to 3D joint positions (e.g. a photo's BlazePose landmarks) by bone directions.

Another skeleton's joints (a detector's, a person's) have other bone lengths than our neutral
body, so the fit matches *directions*: for each bone (parent -> child joint) of the 22-joint
tree, ``1 - cos`` between the bone of :func:`~pose_search.body.skeleton.forward_kinematics` of
the pose and the same bone of the target, weighted by how much the bone is seen (its ends'
confidences) and by how well the target places it (a detector's spine and collars are
interpolated: low weights). A small pull toward zero keeps what the joints cannot tell (the
twist of a limb about itself, a bend spread over the spine) at rest. The root starts from the
target's own frame (hip line, pelvis -> neck), so a body seen from the back or lying down is
not a local minimum away. Returns heading-free canonical poses like the gallery's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pose_search.body.convention import NUM_BODY_JOINTS, PARENTS, normalize_heading
from pose_search.body.rotations import roma
from pose_search.body.skeleton import forward_kinematics

# bone (the child joint, whose parent is PARENTS[child]) -> weight; a detector's legs and arms are
# real landmarks, its spine, neck and collars are interpolated between them
BONE_WEIGHTS = {
    1: 1.0, 2: 1.0, 4: 1.0, 5: 1.0, 7: 1.0, 8: 1.0, 10: 0.5, 11: 0.5,  # hips, thighs, shins, feet
    3: 0.3, 6: 0.3, 9: 0.3, 12: 0.3, 15: 0.3,  # spine, neck, head
    13: 0.1, 14: 0.1, 16: 0.5, 17: 0.5,  # collars, shoulders
    18: 1.0, 19: 1.0, 20: 1.0, 21: 1.0,  # upper arms, forearms
}


@dataclass(frozen=True)
class FitOptions:
    steps: int = 150
    lr: float = 0.05
    prior: float = 2e-3  # weight of the pull of the 21 body joints' axis-angles toward zero


def root_frame(joints: torch.Tensor) -> torch.Tensor:
    """``(B, 22, 3)`` joints -> ``(B, 3, 3)`` rotations whose columns are the body's left (hip
    line), up (pelvis -> neck, made orthogonal) and forward axes: the rest pose's frame turned."""
    left = F.normalize(joints[:, 1] - joints[:, 2], dim=-1)
    up = joints[:, 12] - joints[:, 0]
    up = F.normalize(up - (up * left).sum(-1, keepdim=True) * left, dim=-1)
    return torch.stack([left, up, torch.cross(left, up, dim=-1)], dim=-1)


def fit_pose_to_joints(joints: torch.Tensor | np.ndarray, confidence: torch.Tensor | np.ndarray | None = None,
                       options: FitOptions = FitOptions()) -> torch.Tensor:
    """Joint positions ``(B, 22, 3)`` (y up, any scale; ``confidence`` ``(B, 22)`` in [0, 1],
    default all 1) -> heading-free axis-angle poses ``(B, 22, 3)`` float32."""
    target = torch.as_tensor(np.asarray(joints, dtype=np.float32))
    if target.ndim != 3 or target.shape[1:] != (NUM_BODY_JOINTS, 3) or not torch.isfinite(target).all():
        raise ValueError(f"expected finite joints (B, {NUM_BODY_JOINTS}, 3), got shape {tuple(target.shape)}")
    conf = torch.ones(target.shape[:2]) if confidence is None else \
        torch.as_tensor(np.asarray(confidence, dtype=np.float32)).clamp(0, 1)
    children = torch.tensor(sorted(BONE_WEIGHTS))
    parents = torch.tensor([PARENTS[c] for c in children.tolist()])
    weight = torch.tensor([BONE_WEIGHTS[c] for c in children.tolist()]) * torch.minimum(conf[:, children], conf[:, parents])
    goal = F.normalize(target[:, children] - target[:, parents], dim=-1)

    pose = torch.zeros(len(target), NUM_BODY_JOINTS, 3)
    pose[:, 0] = roma.rotmat_to_rotvec(root_frame(target))
    pose.requires_grad_(True)
    opt = torch.optim.Adam([pose], lr=options.lr)
    with torch.enable_grad():
        for _ in range(options.steps):
            j = forward_kinematics(pose)
            bones = F.normalize(j[:, children] - j[:, parents], dim=-1)
            loss = (weight * (1 - (bones * goal).sum(-1))).sum() + options.prior * pose[:, 1:].square().sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return normalize_heading(pose.detach()).float()
