"""The hand-written pose properties of the real-photo evaluation, on poses built by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pose_search.body.convention import JOINT_INDEX
from pose_search.body.skeleton import forward_kinematics
from pose_search.metrics.properties import PROPERTIES, check_property


def _pose(**rotvecs: tuple[float, float, float]) -> torch.Tensor:
    pose = torch.zeros(1, 22, 3)
    for name, v in rotvecs.items():
        pose[0, JOINT_INDEX[name]] = torch.tensor(v)
    return pose


def _props(pose: torch.Tensor) -> dict[str, bool]:
    joints = forward_kinematics(pose)
    return {name: bool(check_property(name, joints)[0]) for name in PROPERTIES}


def test_t_pose_is_upright_and_level_with_the_arms_out():
    assert _props(_pose()) == {"upright": True, "shoulders_level": True, "arms_down": False,
                               "hands_raised_in_front": False}


def test_arms_down():
    down = _pose(left_shoulder=(0, 0, -1.2), right_shoulder=(0, 0, 1.2))  # arms lowered along the body
    assert _props(down) == {"upright": True, "shoulders_level": True, "arms_down": True,
                            "hands_raised_in_front": False}


def test_hands_raised_in_front():
    # arms pointing forward (+z), forearms bent up: like holding a camera at eye level
    fwd = _pose(left_shoulder=(0, -1.5, 0), right_shoulder=(0, 1.5, 0),
                left_elbow=(0, 0, 1.0), right_elbow=(0, 0, -1.0))
    joints = forward_kinematics(fwd)[0]
    assert joints[JOINT_INDEX["left_wrist"], 2] > 0.3  # (the pose really has the hands in front)
    props = _props(fwd)
    assert props["hands_raised_in_front"] and props["upright"] and not props["arms_down"]


def test_bent_over_and_tilted_shoulders():
    bent = _pose(pelvis=(1.3, 0.0, 0.0))
    assert not _props(bent)["upright"]  # trunk 75 degrees forward
    leaning = _pose(spine1=(0, 0, 0.35), spine2=(0, 0, 0.2))  # side bend: one shoulder lower
    assert not _props(leaning)["shoulders_level"]


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown pose property 'tall'"):
        check_property("tall", np.zeros((1, 22, 3)))
    with pytest.raises(ValueError, match=r"expected \(N, 22, 3\)"):
        check_property("upright", np.zeros((22, 3)))
