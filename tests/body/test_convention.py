from __future__ import annotations

import math

import numpy as np
import pytest
import roma
import torch

from pose_search.body.convention import (
    JOINT_NAMES,
    MIRROR,
    joint_index,
    normalize_heading,
    rot_y,
    validate_pose,
    yaw_of,
    zup_to_yup,
)
from pose_search.body.skeleton import forward_kinematics


def test_joint_tables():
    assert len(JOINT_NAMES) == 22
    assert JOINT_NAMES[MIRROR[joint_index("left_wrist")]] == "right_wrist"
    assert MIRROR[joint_index("head")] == joint_index("head")
    with pytest.raises(ValueError, match="unknown joint name 'left_tail'"):
        joint_index("left_tail")


@pytest.mark.parametrize("shape", [(22, 3), (66,), (5, 22, 3), (5, 66)])
def test_validate_accepts_the_documented_shapes(shape):
    assert validate_pose(np.zeros(shape)).shape[1:] == (22, 3)


def test_validate_rejects_inf():
    p = np.zeros((22, 3))
    p[3, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        validate_pose(p)


def test_heading_is_removed_but_tilt_kept():
    torch.manual_seed(0)
    base = torch.randn(6, 22, 3) * 0.3
    base[:, 0] = torch.tensor([0.4, 0.0, 0.1])  # a tilt, no yaw about y... nearly
    yaw = torch.linspace(-3.0, 3.0, 6)
    turned = base.clone()
    turned[:, 0] = roma.rotmat_to_rotvec(rot_y(yaw) @ roma.rotvec_to_rotmat(base[:, 0]))
    a = forward_kinematics(normalize_heading(base))
    b = forward_kinematics(normalize_heading(turned))
    assert torch.allclose(a, b, atol=1e-4)
    assert torch.allclose(yaw_of(roma.rotvec_to_rotmat(normalize_heading(turned)[:, 0])), torch.zeros(6), atol=1e-5)


def test_heading_normalisation_can_use_another_poses_yaw():
    p = torch.zeros(1, 22, 3)
    p[0, 0] = torch.tensor([0.0, 0.5, 0.0])
    out = normalize_heading(p, yaw=torch.tensor([0.2]))
    assert torch.allclose(out[0, 0], torch.tensor([0.0, 0.3, 0.0]), atol=1e-5)


def test_zup_standing_pose_becomes_upright():
    p = torch.zeros(1, 22, 3)
    p[0, 0] = torch.tensor([math.pi / 2, 0.0, 0.0])  # how AMASS stands a body up in a z-up world
    j = forward_kinematics(zup_to_yup(p))[0]
    assert j[joint_index("head"), 1] > 0.5


@pytest.mark.parametrize("pitch", [-math.pi / 2, -1.2, 0.0, 0.7, math.pi / 2])
def test_heading_is_defined_for_lying_and_upright_bodies(pitch):
    # the same body (tilted by `pitch` about x, i.e. up to lying on the back or front) under
    # different headings normalises to one orientation
    tilt = roma.rotvec_to_rotmat(torch.tensor([[pitch, 0.0, 0.3]]))
    yaws = torch.tensor([-2.5, -0.4, 0.0, 1.1, 3.0])
    turned = rot_y(yaws) @ tilt
    norm = rot_y(-yaw_of(turned)) @ turned
    assert torch.allclose(norm, norm[:1].expand_as(norm), atol=1e-5)
    assert torch.allclose(yaw_of(turned) - yaw_of(tilt), torch.remainder(yaws + math.pi, 2 * math.pi) - math.pi, atol=1e-5)


def test_any_byte_order_and_int_type_is_a_pose():
    import numpy as np

    from pose_search.body.convention import validate_pose

    pose = np.random.default_rng(0).normal(size=(22, 3))
    for dtype in (">f8", ">f4", "<f2", ">i4", "|u1", "<u2"):
        arr = pose.astype(dtype)
        out = validate_pose(arr)
        assert out.shape == (1, 22, 3) and out.dtype.is_floating_point
        np.testing.assert_allclose(out[0].numpy(), arr.astype(np.float64), rtol=1e-3, atol=1e-3)
