"""Tests of the PoseFix pipeline: corrective instructions and pair mining."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch

from pose_search.body.convention import PARENTS, global_rotations
from pose_search.data.pairing import (
    NO_CHANGE,
    SIMPLIFIED_TEXT_INDEX,
    instruct_pairs,
    mine_pairs,
    pose_feature,
)
from pose_search.data.pairing.text import TURNS

torch.set_num_threads(1)

# Hand-made T-pose skeleton in the canonical frame (+y up, facing +z, +x = the body's left).
_TPOSE = np.array([
    [0, 0, 0], [0.10, -0.05, 0], [-0.10, -0.05, 0], [0, 0.10, 0], [0.13, -0.45, 0],
    [-0.13, -0.45, 0], [0, 0.22, 0], [0.15, -0.85, 0], [-0.15, -0.85, 0], [0, 0.30, 0],
    [0.15, -0.85, 0.12], [-0.15, -0.85, 0.12], [0, 0.50, 0], [0.07, 0.42, 0], [-0.07, 0.42, 0],
    [0, 0.61, 0], [0.17, 0.43, 0], [-0.17, 0.43, 0], [0.42, 0.43, 0], [-0.42, 0.43, 0],
    [0.65, 0.43, 0], [-0.65, 0.43, 0],
], dtype=np.float64)


def fk(pose: np.ndarray) -> np.ndarray:
    """Joints ``(B, 22, 3)`` of axis-angle poses ``(B, 22, 3)``; the lead's skeleton if present."""
    try:
        from pose_search.body.skeleton import forward_kinematics
    except ImportError:
        rot = global_rotations(torch.as_tensor(pose, dtype=torch.float64)).numpy()
        out = np.zeros(pose.shape[:1] + (22, 3))
        for j in range(1, 22):
            p = PARENTS[j]
            out[:, j] = out[:, p] + rot[:, p] @ (_TPOSE[j] - _TPOSE[p])
        return out
    return forward_kinematics(torch.as_tensor(pose, dtype=torch.float32)).numpy().astype(np.float64)


def _arms_down() -> np.ndarray:
    p = np.zeros((22, 3))
    p[16] = [0, 0, -1.3]  # left shoulder: arm down
    p[17] = [0, 0, 1.3]  # right shoulder: arm down
    return p


def _left_arm_up() -> np.ndarray:
    p = _arms_down()
    p[16] = [0, 0, 1.4]  # left arm above the head
    return p


def _right_knee_bent() -> np.ndarray:
    p = _arms_down()
    p[5] = [1.6, 0, 0]  # right knee bent ~90 degrees, shin going back
    return p


_RIGHT_ARM = re.compile(r"\bright (arm|hand|elbow|forearm|upper arm|shoulder|wrist)\b")
_LEFT_LEG = re.compile(r"\bleft (leg|knee|foot|shin|thigh|ankle)\b")


def _texts(a: np.ndarray, b: np.ndarray, seed: int, n_texts: int = 3, **kw) -> list[str]:
    return instruct_pairs(fk(a[None]), fk(b[None]), a[None], b[None], n_texts=n_texts,
                          rng=np.random.default_rng(seed), **kw)[0]


# ------------------------------------------------------------------------------------------
# Instructions
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_raising_left_arm_mentions_left_never_right(seed: int) -> None:
    for text in _texts(_arms_down(), _left_arm_up(), seed):
        low = text.lower()
        assert "left" in low, text
        assert not _RIGHT_ARM.search(low), text
        assert not re.search(r"\b(arms|hands|elbows)\b", low), text
        assert re.search(r"\b(raise|lift|up|higher|raising|lifting)\b", low), text


@pytest.mark.parametrize("seed", range(6))
def test_bending_right_knee_mentions_right_leg(seed: int) -> None:
    for text in _texts(_arms_down(), _right_knee_bent(), seed):
        low = text.lower()
        assert re.search(r"\bright (knee|leg|shin|foot)\b", low), text
        assert not _LEFT_LEG.search(low), text
    bend_said = any("bend" in t.lower() or "flex" in t.lower() or "fold" in t.lower()
                    for t in _texts(_arms_down(), _right_knee_bent(), seed, n_texts=6))
    assert bend_said


def test_head_turn_and_forward_lean_directions() -> None:
    a = _arms_down()
    turned = a.copy()
    turned[15] = [0, 0.9, 0]  # head turned towards +x, the body's left
    for text in _texts(a, turned, 0, n_texts=4):
        assert re.search(r"(head|look).*\bleft", text.lower()), text
        assert "right" not in text.lower(), text
    bowed = a.copy()
    bowed[3] = [0.7, 0, 0]  # spine bent towards +z: leaning forward
    for text in _texts(a, bowed, 0, n_texts=4, with_facts=False):
        assert re.search(r"forward|bend over", text.lower()), text
        assert not re.search(r"lean back|arch|backward more", text.lower()), text


def test_clearly_different_pair_gets_n_texts() -> None:
    a = _arms_down()
    b = _left_arm_up()
    b[5] = [1.6, 0, 0]
    b[0] = [0.4, 0, 0]
    texts = _texts(a, b, 0, n_texts=5)
    assert len(texts) == 5
    assert all(t and t.endswith(".") and t[0].isupper() for t in texts)
    assert len(set(texts)) >= 3
    assert not any(t in NO_CHANGE for t in texts)


def test_simplified_text_has_no_aggregation() -> None:
    # Left hand and left elbow both go up: only aggregated texts may say "left arm".
    found_arm_in_simplified = False
    for seed in range(10):
        texts = _texts(_arms_down(), _left_arm_up(), seed, with_facts=False)
        found_arm_in_simplified |= "left arm" in texts[SIMPLIFIED_TEXT_INDEX].lower()
    assert not found_arm_in_simplified


def test_determinism() -> None:
    a, b = _arms_down(), _right_knee_bent()
    assert _texts(a, b, 7) == _texts(a, b, 7)
    many = {tuple(_texts(a, b, s)) for s in range(5)}
    assert len(many) > 1


def test_identical_poses_give_explicit_no_change() -> None:
    a = _arms_down()
    texts = _texts(a, a, 0)
    assert len(texts) == 3 and all(t in NO_CHANGE for t in texts)


def test_turn_sentence_is_prepended() -> None:
    a, b = _arms_down(), _right_knee_bent()
    texts = _texts(a, b, 0, turn_deg=np.array([90.0]))
    starts = tuple(t[0].upper() + t[1:] + "." for t in TURNS["quarter_left"])
    assert all(t.startswith(starts) for t in texts), texts
    only_turn = _texts(a, a, 0, turn_deg=np.array([-175.0]))
    assert all(t[:-1].lower() in TURNS["around"] for t in only_turn), only_turn


def test_bad_inputs_raise() -> None:
    a = fk(_arms_down()[None])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="joints_a"):
        instruct_pairs(a[:, :10], a, rng=rng)
    with pytest.raises(ValueError, match="same number"):
        instruct_pairs(np.concatenate([a, a]), a, rng=rng)
    bad = a.copy()
    bad[0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        instruct_pairs(a, bad, rng=rng)
    with pytest.raises(ValueError, match="rotations"):
        instruct_pairs(a, a, np.zeros((1, 22, 3)), rng=rng)
    with pytest.raises(ValueError, match="turn_deg"):
        instruct_pairs(a, a, turn_deg=np.zeros(2), rng=rng)
    with pytest.raises(ValueError, match="n_texts"):
        instruct_pairs(a, a, n_texts=0, rng=rng)


# ------------------------------------------------------------------------------------------
# Mining
# ------------------------------------------------------------------------------------------
def _coarse_signature(joints: np.ndarray) -> np.ndarray:
    """Stand-in posecode signature: pelvis-relative coordinates in 10 cm bins ``(N, 66)``."""
    rel = joints - joints[:, :1]
    return np.floor(rel.reshape(len(joints), -1) / 0.10).astype(np.int64)


def _synthetic_set(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """12 sequences of 10 frames at 10 fps (fast random motions) + 60 loose poses."""
    rng = np.random.default_rng(seed)
    poses, seqs, times = [], [], []
    for s in range(12):
        start, end = rng.normal(0, 0.5, (2, 22, 3))
        for f in range(10):
            w = f / 9
            poses.append((1 - w) * start + w * end)
            seqs.append(s)
            times.append(f / 10)
    loose_base = rng.normal(0, 0.3, (6, 22, 3))
    for i in range(60):
        poses.append(loose_base[i % 6] + rng.normal(0, 0.2, (22, 3)))
        seqs.append(-1)
        times.append(0.0)
    joints = fk(np.stack(poses))
    return joints, _coarse_signature(joints), np.array(seqs), np.array(times)


def test_pose_feature_calibration() -> None:
    f = pose_feature(fk(np.stack([_arms_down(), _arms_down(), _left_arm_up(), _right_knee_bent()])))
    assert f.shape == (4, 126) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    assert f[0] @ f[1] > 0.999
    assert 0.7 < f[0] @ f[2] < 0.9  # one clearly raised arm: inside the default band
    small = _arms_down() + np.random.default_rng(0).normal(0, 0.03, (22, 3))
    assert pose_feature(fk(small[None]))[0] @ f[0] > 0.95  # near duplicate: above the band
    with pytest.raises(ValueError):
        pose_feature(np.full((2, 22, 3), np.nan))


def test_mining_respects_every_constraint() -> None:
    joints, sig, seq, t = _synthetic_set()
    feats = pose_feature(joints)
    kw = dict(max_dt=0.35, sim_band=(0.6, 0.95), min_diff_in=4, min_diff_out=10, top_k=30,
              max_a_per_b=3)
    pairs = mine_pairs(feats, sig, seq, t, rng=np.random.default_rng(0), **kw)
    kinds = [k for _, _, k in pairs]
    assert "in" in kinds and "out" in kinds
    sims = feats @ feats.T
    np.fill_diagonal(sims, -np.inf)
    in_a, in_b, out_per_b = set(), set(), {}
    for a, b, kind in pairs:
        assert a != b
        assert 0.6 < sims[b, a] < 0.95
        rank = int((sims[b] > sims[b, a]).sum())
        assert rank < 30  # A among the top-k of B
        d = int((sig[a] != sig[b]).sum())
        if kind == "in":
            assert seq[a] == seq[b] >= 0 and 0 < t[b] - t[a] < 0.35
            assert d > 4
            assert a not in in_a and b not in in_b  # each A starts once, each B once
            in_a.add(a)
            in_b.add(b)
        else:
            assert seq[a] != seq[b] or seq[a] == -1
            assert d > 10
            out_per_b.setdefault(b, set()).add(a)
    assert all(len(v) <= 3 for v in out_per_b.values())
    again = mine_pairs(feats, sig, seq, t, rng=np.random.default_rng(0), **kw)
    assert again == pairs


def test_mining_two_way_pairs_and_block_independence() -> None:
    joints, sig, seq, t = _synthetic_set(1)
    feats = pose_feature(joints)
    kw = dict(sim_band=(0.6, 0.95), min_diff_in=4, min_diff_out=10, top_k=30)
    p1 = mine_pairs(feats, sig, seq, t, rng=np.random.default_rng(3), block=7, **kw)
    p2 = mine_pairs(feats, sig, seq, t, rng=np.random.default_rng(3), block=1000, **kw)
    assert p1 == p2
    out = {(a, b) for a, b, k in p1 if k == "out"}
    assert any((b, a) in out for a, b in out)  # some two-way pairs


def test_mining_bad_inputs() -> None:
    joints, sig, seq, t = _synthetic_set()
    feats = pose_feature(joints)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="L2"):
        mine_pairs(feats * 2, sig, seq, t, rng=rng)
    bad = feats.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mine_pairs(bad, sig, seq, t, rng=rng)
    with pytest.raises(ValueError, match="signatures"):
        mine_pairs(feats, sig[:-1], seq, t, rng=rng)
    with pytest.raises(ValueError, match="signatures"):
        mine_pairs(feats, sig.astype(float), seq, t, rng=rng)
    with pytest.raises(ValueError, match="times"):
        mine_pairs(feats, sig, seq, t[:-1], rng=rng)
    with pytest.raises(ValueError, match="sim_band"):
        mine_pairs(feats, sig, seq, t, rng=rng, sim_band=(0.9, 0.7))


@pytest.mark.slow
def test_mining_scales_to_20k() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    centres = rng.normal(size=(300, 126))
    f = centres[rng.integers(0, 300, n)] + rng.normal(0, 0.6, (n, 126))
    f = (f / np.linalg.norm(f, axis=1, keepdims=True)).astype(np.float32)
    sig = rng.integers(0, 4, (n, 200))
    seq = np.repeat(np.arange(n // 100), 100)
    times = np.tile(np.arange(100) / 30, n // 100)
    start = time.perf_counter()
    pairs = mine_pairs(f, sig, seq, times, rng=rng)
    assert time.perf_counter() - start < 60
    assert len(pairs) > 0
