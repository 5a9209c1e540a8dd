"""Fitting a pose to another skeleton's joints (a photo's BlazePose landmarks): bone directions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import roma
import torch

from pose_search.body.convention import normalize_heading, rot_y
from pose_search.body.fit_joints import fit_pose_to_joints
from pose_search.body.skeleton import forward_kinematics
from pose_search.models.encoders.blazepose import BlazePoseLandmarks, landmark_joints


def _poses(n: int, seed: int = 0) -> torch.Tensor:
    """Random bodies facing any way, upright to lying on the back or front (a heading is defined
    for all of them; not upside down)."""
    g = torch.Generator().manual_seed(seed)
    pose = torch.randn(n, 22, 3, generator=g) * 0.3
    tilt = (torch.rand(n, generator=g) - 0.5) * math.pi  # -90..90 degrees about x
    yaw = torch.rand(n, generator=g) * 2 * math.pi
    tilt_x = roma.rotvec_to_rotmat(torch.stack([tilt, torch.zeros(n), torch.zeros(n)], -1))
    pose[:, 0] = roma.rotmat_to_rotvec(rot_y(yaw) @ tilt_x)
    return pose


def test_fit_recovers_the_pose_of_a_longer_noisy_turned_skeleton():
    pose = _poses(12)
    turn = rot_y(torch.linspace(0, 2 * math.pi, 12))  # another heading: removed by the fit
    joints = (turn[:, None] @ forward_kinematics(pose)[..., None])[..., 0] * 1.15
    joints = joints + torch.randn(joints.shape, generator=torch.Generator().manual_seed(1)) * 0.01
    fit = fit_pose_to_joints(joints)
    err = (forward_kinematics(fit) - forward_kinematics(normalize_heading(pose))).norm(dim=-1)
    assert err.mean() < 0.04 and err.max() < 0.2  # metres on the neutral body (arms span 1.3 m)
    assert torch.allclose(normalize_heading(fit), fit, atol=1e-4)  # heading-free like the gallery


def test_an_unseen_limb_stays_at_rest_and_the_seen_ones_fit():
    pose = _poses(1, seed=3)
    confidence = np.ones((1, 22), np.float32)
    confidence[0, [19, 21]] = 0.0  # the right elbow and wrist: out of view
    fit = fit_pose_to_joints(forward_kinematics(pose), confidence)
    assert fit[0, 19].norm() < 0.05  # the right elbow's rotation: nothing pulls it off rest
    err = (forward_kinematics(fit) - forward_kinematics(normalize_heading(pose))).norm(dim=-1)[0]
    assert err[[4, 5, 7, 8, 18, 20]].max() < 0.08  # knees, ankles, the left arm


def test_bad_joints_are_refused():
    with pytest.raises(ValueError, match=r"finite joints \(B, 22, 3\)"):
        fit_pose_to_joints(np.zeros((1, 21, 3)))
    with pytest.raises(ValueError, match="finite"):
        fit_pose_to_joints(np.full((1, 22, 3), np.nan))


def test_blazepose_world_landmarks_become_canonical_joints():
    """Landmarks laid out as BlazePose gives them (hip-centred, y down, z away from the camera)
    at a known body's joints: the joints come back y up, and the fit finds the body's pose."""
    pose = _poses(2, seed=5)
    j = forward_kinematics(normalize_heading(pose)).numpy()
    world = np.zeros((2, 33, 3), np.float32)
    for landmark, joint in {23: 1, 24: 2, 25: 4, 26: 5, 27: 7, 28: 8, 31: 10, 32: 11, 11: 16, 12: 17,
                            13: 18, 14: 19, 15: 20, 16: 21, 7: 15, 8: 15}.items():
        world[:, landmark] = j[:, joint]
    world *= np.array([1, -1, -1], np.float32)  # our y up, z to the camera -> BlazePose's frame
    visibility = np.ones((2, 33), np.float32)
    visibility[:, 27] = 0.2  # a left ankle barely seen
    lm = BlazePoseLandmarks(found=np.ones(2, bool), image=np.zeros((2, 33, 3), np.float32), world=world,
                            visibility=visibility, presence=np.ones((2, 33), np.float32))
    joints, confidence = landmark_joints(lm)
    np.testing.assert_allclose(joints[:, [1, 4, 7, 16, 18, 20]], j[:, [1, 4, 7, 16, 18, 20]], atol=1e-6)
    np.testing.assert_allclose(joints[:, 0], (j[:, 1] + j[:, 2]) / 2, atol=1e-6)  # pelvis: mid-hips
    assert confidence[0, 7] == pytest.approx(0.2) and confidence[0, 4] == 1.0
    fit = fit_pose_to_joints(joints, confidence)
    err = (forward_kinematics(fit).numpy() - j)[:, [4, 5, 8, 18, 19, 20, 21]]
    assert np.linalg.norm(err, axis=-1).max() < 0.1
