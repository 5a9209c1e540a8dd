"""PoseVAE, its loss and the frozen pose encoder (tiny models, CPU)."""

from __future__ import annotations

import roma
import torch

from pose_search.body.skeleton import forward_kinematics
from pose_search.checkpoint import save_module
from pose_search.models.catalog import create_model, load_module, model_kind
from pose_search.models.encoders.pose_vae import (
    PoseEncoder,
    PoseVAE,
    PoseVAEConfig,
    joints_from_rotmats,
    posevae_loss,
)


def _poses(n: int, seed: int = 0, scale: float = 0.4) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 22, 3, generator=g) * scale


def test_shapes_and_valid_rotations() -> None:
    torch.manual_seed(0)
    vae = PoseVAE(PoseVAEConfig.tiny())
    pose = _poses(8)
    assert vae.encode_features(pose).shape == (8, 64)
    mu, std = vae.posterior(pose)
    assert mu.shape == std.shape == (8, 8) and (std > 0).all()
    vae.eval()
    out = vae(pose)
    assert torch.equal(out.z, out.mu)  # eval decodes the mean
    assert out.pose.shape == (8, 22, 3) and out.rotmats.shape == (8, 22, 3, 3)
    assert roma.is_rotation_matrix(out.rotmats, epsilon=1e-5)
    # the axis-angle output is the same rotation as the matrices
    torch.testing.assert_close(roma.rotvec_to_rotmat(out.pose), out.rotmats, atol=1e-5, rtol=0)
    assert vae.sample(3).shape == (3, 22, 3)


def test_fk_from_rotmats_matches_skeleton() -> None:
    pose = _poses(5, seed=1, scale=0.8)
    torch.testing.assert_close(
        joints_from_rotmats(roma.rotvec_to_rotmat(pose)),
        forward_kinematics(pose),
        atol=1e-5,
        rtol=0,
    )


def test_loss_terms_and_backward() -> None:
    torch.manual_seed(0)
    vae = PoseVAE(PoseVAEConfig.tiny())
    pose = _poses(6)
    out = vae(pose)
    calls = []

    def vertices_fn(p: torch.Tensor) -> torch.Tensor:  # a stand-in body: joints as "vertices"
        calls.append(p.shape)
        return forward_kinematics(p)

    terms = posevae_loss(out, pose, vertices_fn=vertices_fn)
    assert set(terms) == {"loss", "nll_joints", "nll_rotmats", "nll_vertices", "kld"}
    assert len(calls) == 2 and terms["loss"].ndim == 0
    terms["loss"].backward()
    for name in ("log_sigma_joints", "log_sigma_rotmats", "log_sigma_vertices"):
        assert getattr(vae, name).grad is not None, name
    assert vae.encoder.net[2].weight.grad.abs().sum() > 0
    # without vertices the vertex term is skipped; KL below 10 is clamped to 10 (no gradient)
    vae.zero_grad()
    terms = posevae_loss(vae(pose), pose)
    assert "nll_vertices" not in terms and terms["kld"] < 10
    terms["loss"].backward()
    assert float(vae.log_sigma_vertices.grad.abs().sum()) == 0.0
    assert vae.scale.weight.grad is not None  # the std still gets the reconstruction gradient


def test_loss_is_normalised_per_coefficient() -> None:
    vae = PoseVAE(PoseVAEConfig.tiny()).eval()
    pose = _poses(4)
    out = vae(pose)
    t = posevae_loss(out, pose, kld_epsilon=0.0)
    expected = (t["nll_joints"] + t["kld"]) / 66 + (t["nll_rotmats"] + t["kld"]) / 198
    torch.testing.assert_close(t["loss"].detach(), expected)


def test_overfits_a_small_batch() -> None:
    torch.manual_seed(0)
    vae = PoseVAE(PoseVAEConfig.tiny())
    pose = _poses(16, seed=3)
    target = forward_kinematics(pose)

    def joint_error() -> float:  # mean joint distance (m) of the eval-mode reconstruction
        vae.eval()
        with torch.no_grad():
            err = (joints_from_rotmats(vae(pose).rotmats) - target).norm(dim=-1).mean()
        vae.train()
        return float(err)

    before = joint_error()
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        terms = posevae_loss(vae(pose), pose)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(float(terms["loss"].detach()))
    assert losses[-1] < losses[0] - 0.3, losses
    assert joint_error() < 0.6 * before  # the reconstruction itself improved, not only the sigmas


def test_pose_encoder_from_vae_and_registry() -> None:
    vae = create_model("posevae-model-tiny")
    assert model_kind("posevae-model-tiny") == "trainable.posevae"
    assert isinstance(vae, PoseVAE) and vae.cfg == PoseVAEConfig.tiny()
    vae.eval()
    enc = PoseEncoder.from_vae(vae).freeze()
    assert enc.modality == "pose" and enc.output_dim == 64 and not enc.token_output
    pose = _poses(4)
    torch.testing.assert_close(enc.encode(pose), vae.encode_features(pose))
    again = create_model("posevae-tiny", **enc.config())
    assert again.config() == enc.config() == {"num_joints": 22, "hidden": 64, "dropout": 0.1}
    assert create_model("posevae").output_dim == 512


def test_checkpoints_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    vae = create_model("posevae-model-tiny")
    with torch.no_grad():
        vae.log_sigma_joints.fill_(-1.5)
    vae.train()
    vae(_poses(8))  # move the BatchNorm statistics away from their init
    vae.eval()
    save_module(tmp_path / "vae", "posevae-model-tiny", vae.config(), vae)
    loaded = load_module(tmp_path / "vae").eval()
    pose = _poses(4, seed=5)
    torch.testing.assert_close(loaded(pose).pose, vae(pose).pose)
    assert float(loaded.log_sigma_joints.detach()) == -1.5

    enc = PoseEncoder.from_vae(vae)
    save_module(tmp_path / "enc", "posevae-tiny", enc.config(), enc)
    enc2 = load_module(tmp_path / "enc").freeze()
    torch.testing.assert_close(enc2(pose), vae.encode_features(pose))


def test_frozen_encoder_stays_in_eval() -> None:
    enc = create_model("posevae-tiny").freeze()
    parent = torch.nn.ModuleDict({"enc": enc, "head": torch.nn.Linear(64, 2)})
    parent.train()
    assert parent["head"].training and not enc.training
    assert not any(m.training for m in enc.modules())
    assert not any(p.requires_grad for p in enc.parameters())
