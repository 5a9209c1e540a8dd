"""Tests of the synthetic pose sampler: families, limits, capsules, mirroring, FPS, speed."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pytest
import roma
import torch

from pose_search.body.convention import JOINT_INDEX as J
from pose_search.body.convention import MIRROR, normalize_heading, yaw_of
from pose_search.body.skeleton import forward_kinematics
from pose_search.data.families import FAMILIES, list_families
from pose_search.data.limits import clamp_to_limits, violation_degrees, within_limits
from pose_search.data.pose_builder import mirror_pose
from pose_search.data.sampler import (
    SamplerConfig,
    farthest_point_sample,
    sample_motion_sequence,
    sample_poses,
    self_intersecting,
)

torch.set_num_threads(1)


def _draw(name: str, n: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.tensor(np.stack([FAMILIES[name](rng) for _ in range(n)]), dtype=torch.float32)


def _fk(poses: torch.Tensor) -> torch.Tensor:
    return forward_kinematics(normalize_heading(poses))


def _height(jt: torch.Tensor, j: int) -> torch.Tensor:
    """Height of joint ``j`` above the lowest joint, ``(B,)``."""
    return jt[:, j, 1] - jt[:, :, 1].amin(1)


def test_at_least_22_families() -> None:
    assert len(list_families()) >= 22
    assert list_families() == list(FAMILIES)
    assert len(_draw("standing", 1)[0]) == 22


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_valid_rate(name: str) -> None:
    poses = _draw(name, 40, seed=1)
    assert within_limits(poses).float().mean() >= 0.9, violation_degrees(poses).amax(0)
    assert (~self_intersecting(_fk(poses))).float().mean() >= 0.85


_LW, _RW, _LA, _RA = J["left_wrist"], J["right_wrist"], J["left_ankle"], J["right_ankle"]
SEMANTIC: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "reaching_up": lambda j: torch.maximum(j[:, _LW, 1], j[:, _RW, 1]) > j[:, J["head"], 1],
    "sitting_chair": lambda j: ((j[:, [4, 5], 1] - j[:, [1, 2], 1]).abs().amax(1) < 0.2)
    & ((j[:, [4, 5], 2] - j[:, [1, 2], 2]).amin(1) > 0.2),
    "lying_back": lambda j: (j[:, J["spine3"]] - j[:, 0])[:, 1].abs() < 0.15,
    "lying_front": lambda j: (j[:, J["spine3"]] - j[:, 0])[:, 1].abs() < 0.15,
    "lying_side": lambda j: (j[:, J["spine3"]] - j[:, 0])[:, 1].abs() < 0.15,
    "squatting": lambda j: _height(j, 0) < 0.6,
    "crouching": lambda j: _height(j, 0) < 0.55,
    "kicking_front": lambda j: torch.maximum(j[:, _LA, 2], j[:, _RA, 2]) - j[:, 0, 2] > 0.3,
    "t_pose": lambda j: ((j[:, [_LW, _RW], 1] - j[:, [16, 17], 1]).abs().amax(1) < 0.1),
    "jumping_star": lambda j: (j[:, _LA, 0] - j[:, _RA, 0]) > 0.5,
    "bending_forward": lambda j: (j[:, J["spine3"], 2] - j[:, 0, 2]) > 0.15,
    "kneeling_both": lambda j: (j[:, [4, 5], 1].amin(1) - j[:, :, 1].amin(1)) < 0.15,
    "hands_on_hips": lambda j: (j[:, [_LW, _RW], 1] - j[:, [1, 2], 1]).abs().amax(1) < 0.2,
    "standing": lambda j: _height(j, J["head"]) > 1.3,
}


@pytest.mark.parametrize("name", list(SEMANTIC))
def test_family_semantics(name: str) -> None:
    ok = SEMANTIC[name](_fk(_draw(name, 40, seed=2)))
    assert ok.float().mean() >= 0.9, f"{name}: {ok.float().mean():.2f}"


def test_semantic_checks_can_fail() -> None:
    """The checks discriminate: standing poses fail the family-specific ones."""
    jt = _fk(_draw("standing", 20))
    for name in ("reaching_up", "sitting_chair", "lying_back", "squatting", "kicking_front"):
        assert SEMANTIC[name](jt).float().mean() < 0.2, name


def test_mirror_swaps_left_right_by_fk() -> None:
    poses = _draw("dancing", 16) + 0.2 * torch.randn(16, 22, 3, generator=torch.Generator().manual_seed(0))
    a = forward_kinematics(poses)
    b = forward_kinematics(mirror_pose(poses))
    expected = a[:, list(MIRROR)] * torch.tensor([-1.0, 1.0, 1.0])
    torch.testing.assert_close(b, expected, atol=1e-4, rtol=0)
    # a pose pointing the left arm up becomes one pointing the right arm up
    up = _draw("waving", 1)
    assert torch.allclose(mirror_pose(mirror_pose(up)), up)


def test_sign_conventions_by_fk() -> None:
    p = torch.zeros(1, 22, 3)
    p[0, J["left_knee"], 0] = math.radians(90)  # knee flexion: shin backward
    p[0, J["left_hip"], 0] = -math.radians(90)  # hip flexion: thigh forward
    p[0, J["left_shoulder"], 2] = math.radians(90)  # left arm up
    jt = forward_kinematics(p)[0]
    assert jt[J["left_knee"], 2] > 0.3 and jt[J["left_ankle"], 1] < jt[J["left_knee"], 1] - 0.3
    assert jt[J["left_elbow"], 1] > jt[J["left_shoulder"], 1] + 0.2
    assert within_limits(p).item()


def test_limits_flag_and_clamp() -> None:
    p = torch.zeros(3, 22, 3)
    p[0, J["left_knee"], 0] = -math.radians(30)  # hyperextension
    p[1, J["right_elbow"], 1] = -math.radians(60)  # right elbow bent backwards
    p[2, J["spine2"], 0] = math.radians(80)  # far too much for one spine segment
    assert not within_limits(p).any()
    assert within_limits(clamp_to_limits(p)).all()
    ok = torch.zeros(1, 22, 3)
    ok[0, J["left_knee"], 0] = math.radians(120)
    assert within_limits(ok).all()
    torch.testing.assert_close(clamp_to_limits(ok), ok)


def test_self_intersection_detects_hand_through_torso() -> None:
    p = torch.zeros(3, 22, 3)
    # left arm forward, elbow bent 150 deg: the forearm folds back through the chest
    p[0, J["left_shoulder"], 1] = -math.radians(90)
    p[0, J["left_elbow"], 1] = -math.radians(150)
    # thighs crossing: both adducted 30 deg
    p[1, J["left_hip"], 2] = -math.radians(30)
    p[1, J["right_hip"], 2] = math.radians(30)
    res = self_intersecting(forward_kinematics(p))
    assert res[0] and res[1] and not res[2]


def _naive_fps(x: np.ndarray, k: int) -> list[int]:
    d = np.full(len(x), np.inf)
    out = [0]
    for _ in range(k - 1):
        d = np.minimum(d, np.linalg.norm(x - x[out[-1]], axis=-1).mean(-1))
        out.append(int(np.argmax(d)))
    return out


def test_fps_tiny_and_against_naive() -> None:
    base = np.zeros((22, 3), dtype=np.float32)
    shifts = [0.0, 1.0, 10.0, 11.0, 5.0]
    x = np.stack([base + np.array([s, 0, 0], dtype=np.float32) for s in shifts])
    assert farthest_point_sample(x, 3).tolist() == [0, 3, 4]
    assert farthest_point_sample(x, 2, start=3).tolist() == [3, 0]
    y = np.random.default_rng(0).normal(size=(300, 22, 3)).astype(np.float32)
    assert farthest_point_sample(y, 60).tolist() == _naive_fps(y, 60)


def test_sample_poses_deterministic_and_normalisable() -> None:
    cfg = SamplerConfig(oversample=2.0)
    a, la = sample_poses(60, seed=3, config=cfg)
    b, lb = sample_poses(60, seed=3, config=cfg)
    c, _ = sample_poses(60, seed=4, config=cfg)
    assert a.shape == (60, 22, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert la == lb and not np.allclose(a, c)
    t = torch.from_numpy(a)
    assert within_limits(t).all()
    assert not self_intersecting(_fk(t)).any()
    norm = normalize_heading(t)
    rm = roma.rotvec_to_rotmat(norm[:, 0])
    good = torch.sqrt(rm[:, 0, 2] ** 2 + rm[:, 2, 2] ** 2) > 0.3  # yaw well defined
    assert yaw_of(rm)[good].abs().max() < 1e-3
    # heading only: joints differ from the original ones by a rotation about y
    ja, jb = forward_kinematics(t), forward_kinematics(norm)
    torch.testing.assert_close(ja[..., 1], jb[..., 1], atol=1e-4, rtol=0)


def test_motion_sequence_is_smooth() -> None:
    rng = np.random.default_rng(0)
    seq = sample_motion_sequence("walking", 12, 30.0, rng=rng)
    assert seq.shape == (12, 22, 3) and seq.dtype == np.float32
    q = roma.rotvec_to_unitquat(torch.from_numpy(seq))
    step = roma.unitquat_geodesic_distance(q[1:], q[:-1]).amax()
    assert step < math.radians(20)
    assert within_limits(torch.from_numpy(seq)).all()
    seq2 = sample_motion_sequence(seq[0], 8, 30.0, rng=rng)
    np.testing.assert_allclose(seq2[0], seq[0], atol=1e-4)


@pytest.mark.slow
def test_sample_poses_speed() -> None:
    t0 = time.perf_counter()
    poses, labels = sample_poses(2000, seed=0)
    dt = time.perf_counter() - t0
    assert poses.shape == (2000, 22, 3) and len(labels) == 2000
    assert len({lab.split("+")[0] for lab in labels}) >= 22
    assert dt < 20.0, f"sample_poses(2000) took {dt:.1f} s"
