"""Image encoders: person crops in, patch tokens out.

Images everywhere are person crops ``(B, 3, 256, 192)`` (H x W) in [0, 1] with **no** ImageNet
mean/std normalisation (the SMPLer-X convention, PoseEmbroider §1.1). Encoders return patch
tokens ``(B, N, D)`` (``token_output``); the core projects each patch, then pools.

* :class:`SmplerxImageEncoder` (``smplerx-vitb16``): the SMPLer-X ViT-B/16 backbone (768-d, 12
  layers, 12 heads, 31 task tokens, drop-path 0.3) -> ``(B, 192, 768)``; real weights come from
  ``smpler_x_b32.pth.tar`` through :meth:`SmplerxImageEncoder.from_smplerx_checkpoint`.
* :class:`ConvImageEncoder` (``cnn-small-render``, the default; ``cnn-tiny-test`` for tests): a
  small CNN (:mod:`pose_search.models.encoders.cnn`) trained here on our renders by the
  pose-regression pretraining (:mod:`pose_search.models.encoders.image_regressor`) -> ``(B, 12, 256)``.
* :class:`RenderImageEncoder` (``vit-small-render``; ``vit-tiny-test`` for tests): the small ViT
  alternative (it did not leave the mean pose in 3 CPU epochs on 20k renders; see ``cnn.py``).

Beside it: training augmentation (:mod:`~pose_search.models.encoders.image_augment`) and image
decoding, files and query photos (:mod:`~pose_search.models.encoders.image_files`). The ViT itself
is :mod:`pose_search.models.encoders.vit` (plain torch; timm is not usable here).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import torch

from pose_search.checkpoint import CheckpointError, load_weights
from pose_search.models.encoders.base import ModalityEncoder
from pose_search.models.encoders.cnn import ConvNet, ConvNetConfig
from pose_search.models.encoders.vit import ViT, ViTConfig
from pose_search.models.registry import register_model

log = logging.getLogger(__name__)

# ViTConfig fields of each preset (anything else keeps the ViTConfig default).
SMPLERX_VITB16: dict[str, Any] = dict(embed_dim=768, depth=12, num_heads=12, drop_path=0.3,
                                      num_extra_tokens=31, patch_padding=2)
RENDER_SMALL: dict[str, Any] = dict(embed_dim=192, depth=6, num_heads=3, drop_path=0.1,
                                    num_extra_tokens=0, patch_padding=0)
RENDER_TINY: dict[str, Any] = dict(embed_dim=32, depth=1, num_heads=2, drop_path=0.0,
                                   num_extra_tokens=0, patch_padding=0)


def unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 crops (0-255) -> float in [0, 1]; float input is returned as is."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images


class _ViTImageEncoder(ModalityEncoder):
    """A :class:`ViT` (``self.vit``) as an image :class:`ModalityEncoder`; ``preset`` + overrides."""

    modality: ClassVar[str] = "image"
    token_output: ClassVar[bool] = True
    preset: ClassVar[dict[str, Any]] = {}

    def __init__(self, **fields: Any) -> None:
        super().__init__()
        self.vit = ViT(ViTConfig(**{**self.preset, **fields}))
        self.output_dim = self.vit.cfg.embed_dim

    def config(self) -> dict[str, Any]:
        """Every :class:`ViTConfig` field (JSON-ready): ``type(self)(**config())`` rebuilds it."""
        return self.vit.cfg.to_dict()

    @property
    def num_tokens(self) -> int:
        """Number of patch tokens N of the output (192 for 256x192 crops and patch 16)."""
        return self.vit.num_patches

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 256, 192)`` float in [0, 1] (uint8 is divided by 255) -> ``(B, N, D)``."""
        return self.vit(unit_float(images))


class SmplerxImageEncoder(_ViTImageEncoder):
    """SMPLer-X ViT-B/16 backbone -> ``(B, 192, 768)``; overrides (a tiny config) for tests."""

    preset = SMPLERX_VITB16

    @classmethod
    def from_smplerx_checkpoint(cls, path: str | Path, **fields: Any) -> SmplerxImageEncoder:
        """Build the encoder and load the backbone of a SMPLer-X checkpoint strictly."""
        encoder = cls(**fields)
        load_weights(encoder.vit, read_smplerx_backbone(path), f"{str(path)!r} (SMPLer-X backbone)")
        log.info("loaded SMPLer-X backbone from %s", path)
        return encoder


class RenderImageEncoder(_ViTImageEncoder):
    """Small ViT trained on our renders (192-d, 6 layers, 3 heads) -> ``(B, 192, D)``."""

    preset = RENDER_SMALL


def _strip_prefixes(key: str, prefixes: tuple[str, ...] = ("module.", "backbone.", "encoder.")) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in prefixes:
            if key.startswith(prefix):
                key, stripped = key[len(prefix):], True
    return key


def read_smplerx_backbone(path: str | Path) -> dict[str, torch.Tensor]:
    """The ViT weights of a SMPLer-X checkpoint, keyed in :class:`ViT`'s layout.

    Reads ``torch.load(path, weights_only=True)["network"]``, keeps the keys containing
    ``backbone.`` or ``encoder.`` and strips the leading ``module.`` / ``backbone.`` /
    ``encoder.`` prefixes (``module.encoder.blocks.0.attn.qkv.weight`` -> ``blocks.0.attn.qkv.weight``).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"SMPLer-X checkpoint {str(path)!r} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip/OS errors: all mean "not a loadable weights file"
        raise CheckpointError(f"{str(path)!r} is not a readable torch checkpoint "
                              f"(loaded with weights_only=True): {exc}") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("network"), dict):
        keys = sorted(ckpt)[:10] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{str(path)!r} has no 'network' state dict (found {keys})")
    state = {_strip_prefixes(k): v for k, v in ckpt["network"].items()
             if ("backbone." in k or "encoder." in k) and torch.is_tensor(v)}
    if not state:
        raise CheckpointError(f"{str(path)!r}: no 'backbone.' or 'encoder.' keys in 'network'")
    return state


class ConvImageEncoder(ModalityEncoder):
    """The default render-trained image encoder: :class:`ConvNet` -> patch tokens ``(B, N, D)``."""

    modality: ClassVar[str] = "image"
    token_output: ClassVar[bool] = True

    def __init__(self, **fields: Any) -> None:
        super().__init__()
        self.cnn = ConvNet(ConvNetConfig(**fields))
        self.output_dim = self.cnn.cfg.widths[-1]

    def config(self) -> dict[str, Any]:
        """Every :class:`ConvNetConfig` field (JSON-ready): ``type(self)(**config())`` rebuilds it."""
        return self.cnn.cfg.to_dict()

    @property
    def num_tokens(self) -> int:
        h, w = self.cnn.grid
        return h * w

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 256, 192)`` float in [0, 1] (uint8 is divided by 255) -> ``(B, N, D)``."""
        return self.cnn(unit_float(images))


CNN_TINY: dict[str, Any] = dict(input_size=(32, 32), widths=(4, 8, 8))


@register_model("cnn-small-render", "encoder.image")
def cnn_small_render(**fields: Any) -> ConvImageEncoder:
    return ConvImageEncoder(**fields)


@register_model("cnn-tiny-test", "encoder.image")
def cnn_tiny_test(**fields: Any) -> ConvImageEncoder:
    return ConvImageEncoder(**{**CNN_TINY, **fields})


@register_model("smplerx-vitb16", "encoder.image")
def smplerx_vitb16(**fields: Any) -> SmplerxImageEncoder:
    return SmplerxImageEncoder(**fields)


@register_model("vit-small-render", "encoder.image")
def vit_small_render(**fields: Any) -> RenderImageEncoder:
    return RenderImageEncoder(**fields)


@register_model("vit-tiny-test", "encoder.image")
def vit_tiny_test(**fields: Any) -> RenderImageEncoder:
    return RenderImageEncoder(**{**RENDER_TINY, **fields})


# Encoders the pose-regression pretraining can train (registry name -> class).
RENDER_BACKBONES: dict[str, type[ModalityEncoder]] = {"cnn-small-render": ConvImageEncoder,
                                                      "vit-small-render": RenderImageEncoder}
# their tiny test configurations (``image-pose-regressor-tiny``)
TINY_BACKBONE_FIELDS: dict[str, dict[str, Any]] = {"cnn-small-render": CNN_TINY, "vit-small-render": RENDER_TINY}
