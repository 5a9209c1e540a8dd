"""PoseVAE: a VPoser-style variational auto-encoder of body poses, and its frozen pose encoder.

The VAE is trained on its own (``posevae-model``); PoseEmbroider then keeps only the encoder
trunk, whose 512-d *pre-latent* feature is the pose modality's raw feature (``posevae``,
:class:`PoseEncoder`). The 32-d latent only matters for the VAE's training.

Architecture (``J`` joints, ``H`` hidden, ``Z`` latent)::

    trunk:   (B, J, 3) -> flatten 3J -> BN -> Linear H -> LeakyReLU -> BN -> Dropout
             -> Linear H -> Linear H                                   (B, H)
    head:    mu = Linear Z, std = softplus(Linear Z)                   (B, Z) each
    decoder: Linear H -> LeakyReLU -> Dropout -> Linear H -> LeakyReLU -> Linear 6J
             -> 6D -> Gram-Schmidt rotation matrices (B, J, 3, 3) -> axis-angle (B, J, 3)

The two back-to-back linears at the end of the trunk (no activation between) follow VPoser.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_search.body.convention import PARENTS
from pose_search.body.rotations import roma
from pose_search.body.skeleton import REST_JOINTS
from pose_search.models.encoders.base import ModalityEncoder
from pose_search.models.registry import register_model


@dataclass(frozen=True)
class PoseVAEConfig:
    num_joints: int = 22
    hidden: int = 512
    latent: int = 32
    dropout: float = 0.1

    @classmethod
    def tiny(cls) -> PoseVAEConfig:
        """A small preset for tests."""
        return cls(hidden=64, latent=8)


class PoseTrunk(nn.Module):
    """The VPoser encoder trunk: poses ``(B, J, 3)`` (or ``(B, 3J)``) -> features ``(B, H)``."""

    def __init__(self, num_joints: int = 22, hidden: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        self.num_joints = num_joints
        d_in = 3 * num_joints
        self.net = nn.Sequential(
            nn.Flatten(1),
            nn.BatchNorm1d(d_in),
            nn.Linear(d_in, hidden),
            nn.LeakyReLU(),
            nn.BatchNorm1d(hidden),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.Linear(hidden, hidden),
        )

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        if pose.shape[1:] not in ((self.num_joints, 3), (3 * self.num_joints,)):
            raise ValueError(f"expected poses (B, {self.num_joints}, 3), got {tuple(pose.shape)}")
        return self.net(pose)


@dataclass
class PoseVAEOutput:
    """What :meth:`PoseVAE.forward` returns.

    pose:      ``(B, J, 3)`` reconstructed axis-angle pose
    rotmats:   ``(B, J, 3, 3)`` reconstructed rotation matrices
    mu, std:   ``(B, Z)`` posterior q(z|x) parameters
    z:         ``(B, Z)`` the latent that was decoded (a sample in training, ``mu`` in eval)
    log_sigma: the VAE's learnable log-scales of the likelihood terms (for :func:`posevae_loss`)
    """

    pose: torch.Tensor
    rotmats: torch.Tensor
    mu: torch.Tensor
    std: torch.Tensor
    z: torch.Tensor
    log_sigma: dict[str, torch.Tensor]


class PoseVAE(nn.Module):
    """The full VAE (encoder trunk + distribution head + decoder + likelihood scales)."""

    def __init__(self, cfg: PoseVAEConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or PoseVAEConfig()
        j, h, z = cfg.num_joints, cfg.hidden, cfg.latent
        self.encoder = PoseTrunk(j, h, cfg.dropout)
        self.mu = nn.Linear(h, z)
        self.scale = nn.Linear(h, z)
        self.decoder = nn.Sequential(
            nn.Linear(z, h),
            nn.LeakyReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(h, h),
            nn.LeakyReLU(),
            nn.Linear(h, 6 * j),
        )
        # Learnable log-scales of the reconstruction likelihoods (one scalar per term); they are
        # module parameters so the checkpoint keeps them.
        self.log_sigma_joints = nn.Parameter(torch.zeros(1))
        self.log_sigma_vertices = nn.Parameter(torch.zeros(1))
        self.log_sigma_rotmats = nn.Parameter(torch.zeros(1))

    def config(self) -> dict[str, Any]:
        return asdict(self.cfg)

    def encode_features(self, pose: torch.Tensor) -> torch.Tensor:
        """Pre-latent features ``(B, H)`` of poses ``(B, J, 3)``."""
        return self.encoder(pose)

    def posterior(self, pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) of poses ``(B, J, 3)``: mean and standard deviation, ``(B, Z)`` each."""
        h = self.encode_features(pose)
        return self.mu(h), F.softplus(self.scale(h))

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents ``(B, Z)`` -> (axis-angle ``(B, J, 3)``, rotation matrices ``(B, J, 3, 3)``)."""
        six = self.decoder(z).reshape(z.shape[0], self.cfg.num_joints, 3, 2)
        rotmats = roma.special_gramschmidt(six)
        return roma.rotmat_to_rotvec(rotmats), rotmats

    def forward(self, pose: torch.Tensor) -> PoseVAEOutput:
        """Auto-encode poses ``(B, J, 3)``; samples z in training mode, uses the mean in eval."""
        mu, std = self.posterior(pose)
        z = mu + std * torch.randn_like(std) if self.training else mu
        rec, rotmats = self.decode(z)
        log_sigma = {
            "joints": self.log_sigma_joints,
            "vertices": self.log_sigma_vertices,
            "rotmats": self.log_sigma_rotmats,
        }
        return PoseVAEOutput(rec, rotmats, mu, std, z, log_sigma)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` poses ``(n, J, 3)`` decoded from the N(0, I) prior."""
        device = self.mu.weight.device
        z = torch.randn(n, self.cfg.latent, generator=generator, device=device)
        return self.decode(z)[0]


# ------------------------------------------------------------------------------------- loss --


def joints_from_rotmats(
    rotmats: torch.Tensor, rest_joints: torch.Tensor | None = None
) -> torch.Tensor:
    """Forward kinematics from local rotation matrices ``(B, 22, 3, 3)`` -> joints ``(B, 22, 3)``.

    Same result as :func:`pose_search.body.skeleton.forward_kinematics` on the axis-angle pose,
    but it skips the matrix -> axis-angle conversion (whose gradient is unstable near the
    identity) and follows the input's device.
    """
    rest = (REST_JOINTS if rest_joints is None else rest_joints).to(rotmats)
    offsets = rest - rest[[max(p, 0) for p in PARENTS]]  # (22, 3) bone vectors, root: zero
    glob = [rotmats[:, 0]]
    pos = [rotmats.new_zeros(rotmats.shape[0], 3)]
    for j in range(1, len(PARENTS)):
        p = PARENTS[j]
        glob.append(glob[p] @ rotmats[:, j])
        pos.append(pos[p] + glob[p] @ offsets[j])
    return torch.stack(pos, dim=1)


def laplace_nll(x: torch.Tensor, target: torch.Tensor, log_b: torch.Tensor) -> torch.Tensor:
    """Per-sample Laplacian negative log-likelihood, summed over all but the batch dim: ``(B,)``."""
    nll = (x - target).abs() * torch.exp(-log_b) + log_b + math.log(2.0)
    return nll.flatten(1).sum(1)


def gaussian_nll(x: torch.Tensor, target: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """Per-sample Gaussian negative log-likelihood, summed over all but the batch dim: ``(B,)``."""
    nll = 0.5 * (x - target).square() * torch.exp(-2.0 * log_sigma) + log_sigma
    return (nll + 0.5 * math.log(2.0 * math.pi)).flatten(1).sum(1)


def posevae_loss(
    out: PoseVAEOutput,
    pose: torch.Tensor,
    vertices_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    weights: dict[str, float] | None = None,
    kld_weight: float = 1.0,
    kld_epsilon: float = 10.0,
) -> dict[str, torch.Tensor]:
    """The PoseVAE training loss of a batch of target poses ``(B, J, 3)``.

    For each reconstructed quantity X (joints ``(B, 22, 3)`` by forward kinematics; rotation
    matrices ``(B, J, 3, 3)``; vertices ``(B, V, 3)`` when ``vertices_fn(pose)`` is given, e.g.
    ``lambda p: body(p).vertices``)::

        loss += w_X * (mean_B NLL_X + kld_weight * KL') / (number of coefficients of X)

    NLL_X is Laplacian for joints and vertices and Gaussian for rotation matrices, each with the
    model's learnable log-scale. KL' is KL(q(z|x) || N(0, I)) summed over the latent dims,
    averaged over the batch and clamped below at ``kld_epsilon`` ("free bits": no pressure on
    the posterior while it carries fewer nats; pass 0 to evaluate the plain KL).

    Returns ``{"loss": scalar with grad, "nll_joints", "nll_rotmats", ["nll_vertices"], "kld"}``
    (the extra terms are detached per-sample means, for logging).
    """
    w = {"joints": 1.0, "vertices": 1.0, "rotmats": 1.0, **(weights or {})}
    target_rot = roma.rotvec_to_rotmat(pose.reshape(out.rotmats.shape[:-2] + (3,)))
    with torch.no_grad():
        target_joints = joints_from_rotmats(target_rot)
    kld = (0.5 * (out.std.square() + out.mu.square() - 1.0) - torch.log(out.std)).sum(1).mean()
    kld_term = kld_weight * torch.clamp(kld, min=kld_epsilon)

    nll = {
        "joints": laplace_nll(
            joints_from_rotmats(out.rotmats), target_joints, out.log_sigma["joints"]
        ),
        "rotmats": gaussian_nll(out.rotmats, target_rot, out.log_sigma["rotmats"]),
    }
    numel = {"joints": target_joints[0].numel(), "rotmats": target_rot[0].numel()}
    if vertices_fn is not None:
        with torch.no_grad():
            target_verts = vertices_fn(pose)
        nll["vertices"] = laplace_nll(
            vertices_fn(out.pose), target_verts, out.log_sigma["vertices"]
        )
        numel["vertices"] = target_verts[0].numel()

    loss = sum(w[k] * (nll[k].mean() + kld_term) / numel[k] for k in nll)
    if vertices_fn is None:
        # Touch the unused vertex scale (zero gradient) so DDP sees every parameter used.
        loss = loss + 0.0 * out.log_sigma["vertices"].sum()
    stats = {f"nll_{k}": v.detach().mean() for k, v in nll.items()}
    return {"loss": loss, **stats, "kld": kld.detach()}


# ---------------------------------------------------------------------------- pose encoder --


class PoseEncoder(ModalityEncoder):
    """The frozen pose encoder of PoseEmbroider: the PoseVAE trunk, ``(B, J, 3)`` -> ``(B, H)``."""

    modality = "pose"
    token_output = False

    def __init__(self, num_joints: int = 22, hidden: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        self._config = {"num_joints": num_joints, "hidden": hidden, "dropout": dropout}
        self.trunk = PoseTrunk(num_joints, hidden, dropout)
        self.output_dim = hidden

    def config(self) -> dict[str, Any]:
        return dict(self._config)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        """Poses ``(B, J, 3)`` axis-angle -> pre-latent features ``(B, H)`` (not normalised)."""
        return self.trunk(pose)

    @classmethod
    def from_vae(cls, vae: PoseVAE) -> PoseEncoder:
        """An encoder holding a copy of a trained VAE's trunk weights."""
        cfg = vae.cfg
        enc = cls(cfg.num_joints, cfg.hidden, cfg.dropout)
        enc.trunk.load_state_dict(vae.encoder.state_dict())
        return enc


@register_model("posevae", kind="encoder.pose")
def posevae(**config: Any) -> PoseEncoder:
    return PoseEncoder(**config)


@register_model("posevae-tiny", kind="encoder.pose")
def posevae_tiny(**config: Any) -> PoseEncoder:
    tiny = PoseVAEConfig.tiny()
    return PoseEncoder(
        **{"num_joints": tiny.num_joints, "hidden": tiny.hidden, "dropout": tiny.dropout, **config}
    )


@register_model("posevae-model", kind="trainable.posevae")
def posevae_model(**config: Any) -> PoseVAE:
    return PoseVAE(PoseVAEConfig(**config))


@register_model("posevae-model-tiny", kind="trainable.posevae")
def posevae_model_tiny(**config: Any) -> PoseVAE:
    return PoseVAE(replace(PoseVAEConfig.tiny(), **config))
