"""A plain Vision Transformer in the SMPLer-X / ViTPose parameter layout, written in plain torch.

timm is not usable in this environment (it imports torchvision, which does not load with the
pinned torch build), so this is a small self-contained ViT in the nanoGPT spirit: a patch
embedding, pre-norm transformer blocks (attention + MLP, stochastic depth), a final LayerNorm.

Layout (what a SMPLer-X / ViTPose backbone checkpoint holds, once its ``module.`` /
``backbone.`` / ``encoder.`` prefixes are stripped)::

    patch_embed.proj.{weight,bias}    Conv2d(3, D, kernel=patch, stride=patch, padding=p)
    pos_embed                         (1, 1 + N, D): slot 0 is a "class token" position
    task_tokens                       (1, T, D)      only when num_extra_tokens T > 0
    blocks.{i}.norm1 / attn.qkv / attn.proj / norm2 / mlp.fc1 / mlp.fc2
    last_norm.{weight,bias}           the final LayerNorm (ViTPose calls it ``last_norm``,
                                      not timm's ``norm``)

Behaviour that matters for loading real weights (checked against the ViTPose naming):

* the patch convolution of ViTPose pads by ``4 + 2 * (ratio // 2 - 1) = 2`` pixels at
  ``ratio = 1``; a 256x192 input still gives a 16x12 grid. ``patch_padding`` keeps that (2 for
  SMPLer-X; our own encoder uses 0, i.e. exact non-overlapping patches);
* no class token is used: the slot-0 position embedding is *added to every patch*
  (``x + pos_embed[:, 1:] + pos_embed[:, :1]``);
* the ``T`` task tokens are prepended after the position embedding (they get none), go through
  the blocks and the final norm, and their outputs are dropped;
* LayerNorm eps 1e-6, exact GELU, qkv bias, attention scale ``head_dim ** -0.5``.

Input: ``(B, 3, H, W)`` float in [0, 1] (no mean/std normalisation), output ``(B, N, D)`` patch
tokens with ``N = (H // patch) * (W // patch)`` (row-major over the patch grid).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ViTConfig:
    """Architecture of :class:`ViT` (every field JSON-serialisable)."""

    img_size: tuple[int, int] = (256, 192)  # (H, W)
    patch_size: int = 16
    in_chans: int = 3
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    drop_path: float = 0.0  # max stochastic-depth rate, linearly increased over the blocks
    num_extra_tokens: int = 0  # SMPLer-X "task tokens" (31), prepended, outputs discarded
    patch_padding: int = 2  # ViTPose pads its patch conv by 2 pixels (ratio 1)
    norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        self.img_size = (int(self.img_size[0]), int(self.img_size[1]))
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        h, w = self.grid_size
        if h < 1 or w < 1:
            raise ValueError(f"img_size {self.img_size} is smaller than one patch of {self.patch_size}")
        if not 0.0 <= self.drop_path < 1.0:
            raise ValueError(f"drop_path must be in [0, 1), got {self.drop_path}")

    @property
    def grid_size(self) -> tuple[int, int]:
        """Patch grid ``(H // patch, W // patch)``; also the conv's output size with the padding."""
        return self.img_size[0] // self.patch_size, self.img_size[1] // self.patch_size

    @property
    def num_patches(self) -> int:
        h, w = self.grid_size
        return h * w

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``img_size`` as a list); ``ViTConfig(**d)`` rebuilds it."""
        d = asdict(self)
        d["img_size"] = list(self.img_size)
        return d


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch of whole samples with probability ``p``."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, ...) -> (B, ...)
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class PatchEmbed(nn.Module):
    """``(B, C, H, W)`` -> ``(B, N, D)`` by a strided convolution (``proj``)."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.proj = nn.Conv2d(cfg.in_chans, cfg.embed_dim, kernel_size=cfg.patch_size,
                              stride=cfg.patch_size, padding=cfg.patch_padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection: ``(B, L, D) -> (B, L, D)``."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, heads, L, head_dim), scale hd^-0.5
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class MLP(nn.Module):
    """``fc1`` -> GELU -> ``fc2``: ``(B, L, D) -> (B, L, D)``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + drop(attn(norm1 x))``, then ``x + drop(mlp(norm2 x))``."""

    def __init__(self, cfg: ViTConfig, drop_path: float) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.norm1 = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.attn = Attention(d, cfg.num_heads, cfg.qkv_bias)
        self.norm2 = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.mlp = MLP(d, int(d * cfg.mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class ViT(nn.Module):
    """Plain ViT returning patch tokens: ``(B, 3, H, W)`` in [0, 1] -> ``(B, N, D)``."""

    def __init__(self, cfg: ViTConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or ViTConfig()
        d = cfg.embed_dim
        self.patch_embed = PatchEmbed(cfg)
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + cfg.num_patches, d))
        if cfg.num_extra_tokens > 0:
            self.task_tokens = nn.Parameter(torch.zeros(1, cfg.num_extra_tokens, d))
        else:
            self.register_parameter("task_tokens", None)
        rates = [cfg.drop_path * i / max(cfg.depth - 1, 1) for i in range(cfg.depth)]  # linear
        self.blocks = nn.ModuleList(Block(cfg, r) for r in rates)
        self.last_norm = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Truncated-normal (std 0.02) linears, tokens and position embedding; zero biases."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if self.task_tokens is not None:
            nn.init.trunc_normal_(self.task_tokens, std=0.02)

    @property
    def num_patches(self) -> int:
        return self.cfg.num_patches

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` float in [0, 1] -> patch tokens ``(B, N, D)``."""
        cfg = self.cfg
        if images.ndim != 4 or images.shape[1] != cfg.in_chans or tuple(images.shape[2:]) != cfg.img_size:
            raise ValueError(f"expected images of shape (B, {cfg.in_chans}, {cfg.img_size[0]}, "
                             f"{cfg.img_size[1]}), got {tuple(images.shape)}")
        x = self.patch_embed(images)  # (B, N, D)
        if x.shape[1] != cfg.num_patches:  # padding/patch combination not matching the grid
            raise ValueError(f"patch grid gives {x.shape[1]} tokens, expected {cfg.num_patches}")
        x = x + self.pos_embed[:, 1:] + self.pos_embed[:, :1]
        t = 0
        if self.task_tokens is not None:
            t = self.task_tokens.shape[1]
            x = torch.cat([self.task_tokens.expand(x.shape[0], -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.last_norm(x)[:, t:]


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def vit_flops(cfg: ViTConfig) -> float:
    """Approximate multiply-adds of one forward pass of one image (for logging)."""
    n = cfg.num_patches + cfg.num_extra_tokens
    d = cfg.embed_dim
    per_block = n * (4 * d * d + 2 * d * int(d * cfg.mlp_ratio)) + 2 * n * n * d
    patch = cfg.num_patches * d * cfg.in_chans * cfg.patch_size**2
    return float(cfg.depth * per_block + patch)
