"""Fast forward kinematics of the 22 body joints on the neutral body's T-pose skeleton.

The anny backend's joints follow SMPL-X-style forward kinematics exactly (its retargeting gives
every bone its owner joint's world rotation), so the neutral body's joints for any pose are
``FK(pose, REST_JOINTS)``: no mesh needed. Captions, pair mining and pose distances use this;
a test checks it against the anny backend.
"""

from __future__ import annotations

import numpy as np
import torch

from pose_search.body.convention import NUM_BODY_JOINTS, PARENTS, global_rotations, validate_pose

# Neutral anny body (all phenotypes 0.5) in the T-pose, canonical frame, pelvis at the origin (m).
REST_JOINTS = torch.tensor(
    [
        (0.0000, 0.0000, 0.0000),  # pelvis
        (0.1023, -0.0074, -0.0039),  # left_hip
        (-0.1023, -0.0074, -0.0039),  # right_hip
        (0.0000, 0.1360, -0.0193),  # spine1
        (0.1332, -0.3962, 0.0275),  # left_knee
        (-0.1332, -0.3962, 0.0275),  # right_knee
        (0.0000, 0.2110, -0.0175),  # spine2
        (0.1704, -0.7958, -0.0005),  # left_ankle
        (-0.1704, -0.7958, -0.0005),  # right_ankle
        (0.0000, 0.3447, -0.0353),  # spine3
        (0.1821, -0.8414, 0.1318),  # left_foot
        (-0.1821, -0.8414, 0.1318),  # right_foot
        (0.0000, 0.5125, -0.0056),  # neck
        (0.0220, 0.4470, 0.0163),  # left_collar
        (-0.0220, 0.4470, 0.0163),  # right_collar
        (0.0000, 0.6093, 0.0298),  # head
        (0.1651, 0.4271, 0.0134),  # left_shoulder
        (-0.1651, 0.4271, 0.0134),  # right_shoulder
        (0.4177, 0.4271, 0.0134),  # left_elbow
        (-0.4177, 0.4271, 0.0134),  # right_elbow
        (0.6448, 0.4271, 0.0134),  # left_wrist
        (-0.6448, 0.4271, 0.0134),  # right_wrist
    ],
    dtype=torch.float32,
)


def forward_kinematics(
    pose: torch.Tensor | np.ndarray, rest_joints: torch.Tensor | None = None
) -> torch.Tensor:
    """Joint positions ``(B, 22, 3)`` of poses ``(B, 22, 3)`` (pelvis at the origin).

    ``rest_joints`` ``(22, 3)`` defaults to :data:`REST_JOINTS`.
    """
    p = validate_pose(pose)
    rest = REST_JOINTS if rest_joints is None else rest_joints.to(torch.float32)
    rot = global_rotations(p)  # (B, 22, 3, 3)
    offsets = rest - rest[list(max(q, 0) for q in PARENTS)]
    out = [torch.zeros(p.shape[0], 3)]
    for j in range(1, NUM_BODY_JOINTS):
        parent = PARENTS[j]
        out.append(out[parent] + (rot[:, parent] @ offsets[j, :, None])[..., 0])
    return torch.stack(out, dim=1)


def neutral_joints(pose: torch.Tensor | np.ndarray) -> np.ndarray:
    """NumPy convenience: ``(B, 22, 3)`` poses -> ``(B, 22, 3)`` float32 joints."""
    return forward_kinematics(pose).numpy()
