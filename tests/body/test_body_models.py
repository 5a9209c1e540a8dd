"""Both body backends give the canonical pose the same meaning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pose_search.body.backends import create_body_model, list_body_models
from pose_search.body.convention import JOINT_INDEX as J
from pose_search.body.skeleton import REST_JOINTS, forward_kinematics


def _arms_up() -> torch.Tensor:
    p = torch.zeros(1, 22, 3)
    p[0, J["left_shoulder"]] = torch.tensor([0.0, 0.0, math.pi / 2])
    p[0, J["right_shoulder"]] = torch.tensor([0.0, 0.0, -math.pi / 2])
    return p


def _left_knee_bent() -> torch.Tensor:
    p = torch.zeros(1, 22, 3)
    p[0, J["left_hip"]] = torch.tensor([-math.pi / 2, 0.0, 0.0])
    p[0, J["left_knee"]] = torch.tensor([math.pi / 2, 0.0, 0.0])
    return p


@pytest.fixture(params=["anny", "smplx"])
def body(request, anny_body, smplx_body):
    return anny_body if request.param == "anny" else smplx_body


def test_registry_lists_both_backends():
    assert {"anny", "smplx"} <= set(list_body_models())
    with pytest.raises(ValueError, match="unknown body model 'nope'"):
        create_body_model("nope")


def test_tpose_arms_are_horizontal_and_left_is_plus_x(body):
    j = body(torch.zeros(1, 22, 3)).joints[0]
    arm = j[J["left_wrist"]] - j[J["left_shoulder"]]
    assert arm[0] > 0.4 and abs(arm[1]) < 0.01 and abs(arm[2]) < 0.01
    assert j[J["right_wrist"], 0] < -0.5
    assert j[J["head"], 1] > 0.5 and j[J["left_ankle"], 1] < -0.7  # y is up
    assert torch.allclose(j[J["pelvis"]], torch.zeros(3), atol=1e-5)


def test_arms_up_puts_both_wrists_above_the_head(body):
    j = body(_arms_up()).joints[0]
    head_y = j[J["head"], 1]
    assert j[J["left_wrist"], 1] > head_y + 0.2
    assert j[J["right_wrist"], 1] > head_y + 0.2


def test_left_knee_bent_moves_the_left_knee_only(body):
    rest = body(torch.zeros(1, 22, 3)).joints[0]
    bent = body(_left_knee_bent()).joints[0]
    moved = (bent - rest).norm(dim=-1)
    assert moved[J["left_knee"]] > 0.3 and moved[J["right_knee"]] < 1e-4
    # thigh forward (+z) to hip height, shin hanging down
    assert bent[J["left_knee"], 2] > 0.3 and abs(bent[J["left_knee"], 1] - bent[J["left_hip"], 1]) < 0.1
    assert bent[J["left_ankle"], 1] < bent[J["left_knee"], 1] - 0.3


def test_anny_joints_equal_skeleton_fk(anny_body):
    torch.manual_seed(0)
    pose = torch.randn(8, 22, 3) * 0.5
    assert torch.allclose(anny_body(pose).joints, forward_kinematics(pose), atol=2e-3)
    assert torch.allclose(anny_body(torch.zeros(1, 22, 3)).joints[0], REST_JOINTS, atol=1e-3)


def test_smplx_file_and_anny_agree(anny_full_body, smplx_body):
    torch.manual_seed(1)
    pose = torch.randn(4, 22, 3) * 0.4
    a, s = anny_full_body(pose), smplx_body(pose)
    assert torch.allclose(a.joints, s.joints, atol=1e-4)
    n = a.vertices.shape[1]  # the exported file appends one vertex per joint
    assert (a.vertices - s.vertices[:, :n]).norm(dim=-1).mean() < 0.005
    assert s.vertices.shape[1] >= 9930


def test_shape_changes_the_body(anny_body):
    pose = torch.zeros(2, 22, 3)
    shape = torch.tensor([[0.5, 0.5, 0.5, 0.5, 0.0, 0.5], [0.5, 0.5, 0.5, 0.5, 1.0, 0.5]])
    v = anny_body(pose, shape=shape).vertices
    heights = v[:, :, 1].amax(1) - v[:, :, 1].amin(1)
    assert heights[1] > heights[0] + 0.1


def test_translation_moves_the_pelvis(anny_body):
    out = anny_body(torch.zeros(1, 22, 3), transl=torch.tensor([[1.0, 2.0, 3.0]]))
    assert torch.allclose(out.joints[0, 0], torch.tensor([1.0, 2.0, 3.0]), atol=1e-4)


@pytest.mark.parametrize(
    "pose, message",
    [
        (np.zeros((21, 3)), "expected shape"),
        (np.full((22, 3), np.nan), "NaN"),
        (np.zeros((2, 22, 4)), "expected shape"),
    ],
)
def test_bad_poses_get_clear_errors(anny_body, pose, message):
    with pytest.raises(ValueError, match=message):
        anny_body(pose)


def test_bad_shape_gets_a_clear_error(anny_body):
    with pytest.raises(ValueError, match="shape: backend 'anny' expects"):
        anny_body(np.zeros((1, 22, 3)), shape=np.zeros((1, 10)))


def test_anny_refuses_noncommercial_topologies():
    from pose_search.body.anny_backend import AnnyBody

    with pytest.raises(ValueError, match="non-commercial"):
        AnnyBody(topology="smplx")
