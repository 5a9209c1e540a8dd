"""Mesh-recovery errors as PoseEmbroider reports them (spec 5.2), in millimetres / degrees.

* ``mpjpe_mm``: mean L2 over the 22 body joints, **no root alignment** (both bodies at the origin,
  canonical orientation);
* ``pa_mpjpe_mm``: the same after a per-sample similarity Procrustes (scale, rotation,
  translation: ``roma.rigid_points_registration``);
* ``v2v_mm``: mean L2 over all mesh vertices;
* ``rot_err_deg``: mean geodesic angle over the 22 joint rotations (local, as predicted).

Not comparable to the usual 3DPW protocols (14 regressed joints, camera frame): the ground
truth here is the canonical, heading-normalised body.
"""

from __future__ import annotations

from typing import Any

import torch

from pose_search.body.rotations import roma


def procrustes_aligned(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """``pred`` ``(B, J, 3)`` after the similarity transform that best maps it onto ``gt``."""
    R, t, s = roma.rigid_points_registration(pred.double(), gt.double(), compute_scaling=True)
    return (s[:, None, None] * (pred.double() @ R.transpose(-1, -2)) + t[:, None]).to(pred.dtype)


def point_errors(pred: torch.Tensor, gt: torch.Tensor) -> dict[str, float]:
    """``{"mpjpe_mm", "pa_mpjpe_mm"}`` of joints ``(B, J, 3)`` (metres)."""
    return {"mpjpe_mm": 1000 * float((pred - gt).norm(dim=-1).mean()),
            "pa_mpjpe_mm": 1000 * float((procrustes_aligned(pred, gt) - gt).norm(dim=-1).mean())}


def rotation_error_deg(pred_pose: torch.Tensor, gt_pose: torch.Tensor) -> float:
    """Mean geodesic angle (degrees) between axis-angle poses ``(B, 22, 3)``."""
    d = roma.rotmat_geodesic_distance(roma.rotvec_to_rotmat(pred_pose), roma.rotvec_to_rotmat(gt_pose))
    return float(torch.rad2deg(d).mean())


@torch.no_grad()
def skeleton_errors(pred_pose: torch.Tensor, gt_pose: torch.Tensor) -> dict[str, float]:
    """Errors on the neutral skeleton (forward kinematics, no mesh): fast, for validation."""
    from pose_search.body.skeleton import forward_kinematics

    out = point_errors(forward_kinematics(pred_pose), forward_kinematics(gt_pose))
    out["rot_err_deg"] = rotation_error_deg(pred_pose, gt_pose)
    return out


@torch.no_grad()
def body_errors(body: Any, pred_pose: torch.Tensor, gt_pose: torch.Tensor, pred_shape: torch.Tensor | None = None,
                gt_shape: torch.Tensor | None = None, batch: int = 64) -> dict[str, float]:
    """MPJPE, PA-MPJPE, V2V (mm) and rotation error (deg) through a body model.

    ``body``: a :class:`pose_search.body.model.BodyModel`; shapes ``(B, S)`` or None (neutral:
    the paper gives shapes to the bodies only when images are among the inputs).
    """
    sums = {"mpjpe_mm": 0.0, "pa_mpjpe_mm": 0.0, "v2v_mm": 0.0}
    n = len(pred_pose)
    if n == 0:
        raise ValueError("no samples to evaluate")
    for s in range(0, n, batch):
        sl = slice(s, s + batch)
        p = body(pred_pose[sl], None if pred_shape is None else pred_shape[sl])
        g = body(gt_pose[sl], None if gt_shape is None else gt_shape[sl])
        m = point_errors(p.joints, g.joints)
        w = len(p.joints)
        sums["mpjpe_mm"] += m["mpjpe_mm"] * w
        sums["pa_mpjpe_mm"] += m["pa_mpjpe_mm"] * w
        sums["v2v_mm"] += 1000 * float((p.vertices - g.vertices).norm(dim=-1).mean()) * w
    out = {k: v / n for k, v in sums.items()}
    out["rot_err_deg"] = rotation_error_deg(pred_pose, gt_pose)
    return out
