"""Image encoders, their pose-regression pretraining model, augmentation and image decoding.

Images everywhere are person crops ``(B, 3, 256, 192)`` (H x W) in [0, 1] with **no** ImageNet
mean/std normalisation (the SMPLer-X convention, PoseEmbroider §1.1). Encoders return patch
tokens ``(B, N, D)`` (``token_output``); the core projects each patch, then pools.

* :class:`SmplerxImageEncoder` (``smplerx-vitb16``): the SMPLer-X ViT-B/16 backbone (768-d, 12
  layers, 12 heads, 31 task tokens, drop-path 0.3) -> ``(B, 192, 768)``; real weights come from
  ``smpler_x_b32.pth.tar`` through :meth:`SmplerxImageEncoder.from_smplerx_checkpoint`.
* :class:`ConvImageEncoder` (``cnn-small-render``, the default; ``cnn-tiny-test`` for tests): a
  small CNN (:mod:`pose_search.models.encoders.cnn`) trained here on our renders by
  :class:`ImagePoseRegressor` (``image-pose-regressor``) -> ``(B, 12, 256)``.
* :class:`RenderImageEncoder` (``vit-small-render``; ``vit-tiny-test`` for tests): the small ViT
  alternative (it did not leave the mean pose in 3 CPU epochs on 20k renders; see ``cnn.py``).
* :class:`ImageAugment`: training augmentation in plain torch (no torchvision, which does not
  load with this torch build).
* :func:`decode_images` / :func:`load_image_file`: bytes or files -> ``(B, 3, 256, 192)``.

The ViT itself is :mod:`pose_search.models.encoders.vit` (plain torch; timm is not usable here).
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import roma
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from pose_search.body.convention import NUM_BODY_JOINTS, PARENTS, validate_pose
from pose_search.body.skeleton import REST_JOINTS, forward_kinematics
from pose_search.checkpoint import CheckpointError, load_weights
from pose_search.data.loaders.crops import CROP_HEIGHT, CROP_WIDTH, load_image, pad_to_aspect
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


# --------------------------------------------------------------------------- pose regression
def joints_from_rotmats(rotmats: torch.Tensor) -> torch.Tensor:
    """Local joint rotations ``(B, 22, 3, 3)`` -> joints ``(B, 22, 3)``, pelvis at the origin.

    Same skeleton as :func:`pose_search.body.skeleton.forward_kinematics`, but from rotation
    matrices, so gradients never go through an axis-angle conversion.
    """
    rest = REST_JOINTS.to(rotmats)
    offsets = rest - rest[[max(p, 0) for p in PARENTS]]  # (22, 3)
    world = [rotmats[:, 0]]
    pos = [rotmats.new_zeros(rotmats.shape[0], 3)]
    for j in range(1, NUM_BODY_JOINTS):
        parent = PARENTS[j]
        world.append(world[parent] @ rotmats[:, j])
        pos.append(pos[parent] + world[parent] @ offsets[j])
    return torch.stack(pos, dim=1)


class ImagePoseRegressor(nn.Module):
    """Pretraining model: encoder -> mean-pooled tokens -> MLP -> 22 rotations (6D) + joints.

    ``forward(images (B, 3, H, W))`` returns ``{"rotmat": (B, 22, 3, 3), "pose": (B, 22, 3)
    axis-angle, "joints": (B, 22, 3) root-relative (m)}``. ``.encoder`` (the registered image
    encoder ``backbone`` built with the ``encoder`` fields) is what is saved and frozen for the core.
    """

    def __init__(self, encoder: dict[str, Any] | None = None, hidden_dim: int = 512,
                 dropout: float = 0.1, backbone: str = "cnn-small-render") -> None:
        super().__init__()
        if backbone not in RENDER_BACKBONES:
            raise ValueError(f"backbone {backbone!r}: expected one of {sorted(RENDER_BACKBONES)}")
        self.encoder = RENDER_BACKBONES[backbone](**(encoder or {}))
        self.backbone, self.hidden_dim, self.dropout = backbone, hidden_dim, dropout
        d = self.encoder.output_dim
        self.head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, hidden_dim), nn.GELU(),
                                  nn.Dropout(dropout), nn.Linear(hidden_dim, NUM_BODY_JOINTS * 6))
        last = self.head[-1]
        nn.init.normal_(last.weight, std=1e-3)
        with torch.no_grad():  # start at the rest pose: the 6D of the identity is columns e_x, e_y
            last.bias.copy_(torch.eye(3)[:, :2].reshape(6).repeat(NUM_BODY_JOINTS))

    def config(self) -> dict[str, Any]:
        return {"encoder": self.encoder.config(), "hidden_dim": self.hidden_dim, "dropout": self.dropout,
                "backbone": self.backbone}

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.encoder(images).mean(dim=1)  # (B, D)
        six = self.head(feats).view(-1, NUM_BODY_JOINTS, 3, 2)
        rotmat = roma.special_gramschmidt(six, epsilon=1e-6)  # (B, 22, 3, 3)
        return {"rotmat": rotmat, "pose": roma.rotmat_to_rotvec(rotmat),
                "joints": joints_from_rotmats(rotmat)}


def image_pose_loss(pred: dict[str, torch.Tensor], pose: torch.Tensor,
                    joint_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Loss of :class:`ImagePoseRegressor` outputs against target poses ``(B, 22, 3)``.

    ``rotation``: squared Frobenius (chordal) distance per joint, ``||R - R*||^2 = 4 (1 - cos a)``
    (the smooth form of the geodesic angle a), averaged; ``joints``: mean Euclidean joint error
    (m) of the forward-kinematics joints. ``loss = rotation + joint_weight * joints``;
    ``angle_deg`` (mean geodesic angle) is reported without gradient.
    """
    target = validate_pose(pose).to(pred["rotmat"])
    target_rot = roma.rotvec_to_rotmat(target)
    rotation = (pred["rotmat"] - target_rot).square().sum(dim=(-2, -1)).mean()
    joints = (pred["joints"] - forward_kinematics(target).to(target)).norm(dim=-1).mean()
    with torch.no_grad():
        angle = torch.rad2deg(roma.rotmat_geodesic_distance(pred["rotmat"], target_rot)).mean()
    return {"loss": rotation + joint_weight * joints, "rotation": rotation, "joints": joints,
            "angle_deg": angle}


@register_model("image-pose-regressor", "trainable.image")
def image_pose_regressor(encoder: dict[str, Any] | None = None, hidden_dim: int = 512,
                         dropout: float = 0.1, backbone: str = "cnn-small-render") -> ImagePoseRegressor:
    return ImagePoseRegressor(encoder, hidden_dim, dropout, backbone)


@register_model("image-pose-regressor-tiny", "trainable.image")
def image_pose_regressor_tiny(encoder: dict[str, Any] | None = None, hidden_dim: int = 32,
                              dropout: float = 0.0, backbone: str = "cnn-small-render") -> ImagePoseRegressor:
    tiny = TINY_BACKBONE_FIELDS.get(backbone, {})  # an unknown backbone: the regressor's clear error
    return ImagePoseRegressor({**tiny, **(encoder or {})}, hidden_dim, dropout, backbone)


# --------------------------------------------------------------------------- augmentation
@dataclass
class AugmentConfig:
    """Training augmentation of PoseEmbroider (§3): no flips, they would change the pose."""

    out_size: tuple[int, int] = (CROP_HEIGHT, CROP_WIDTH)
    crop_scale: tuple[float, float] = (0.5, 1.0)  # area fraction of the random resized crop
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)  # crop width / height
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.2
    hue: float = 0.1  # fraction of a full turn of hue, in [0, 0.5]
    blur_p: float = 0.9
    blur_kernel: int = 9
    blur_sigma: tuple[float, float] = (0.1, 1.0)
    solarize_p: float = 0.2
    solarize_threshold: float = 0.5  # pixels >= threshold are inverted


_GRAY = (0.299, 0.587, 0.114)
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


class ImageAugment:
    """Random resized crop, colour jitter, Gaussian blur, solarize: ``(B, 3, H, W) -> (B, 3, h, w)``.

    Input uint8 (0-255) or float in [0, 1]; output float in [0, 1] of ``out_size``. Every random
    draw uses ``generator`` (a CPU generator, whatever the images' device), so a seeded
    generator gives the same batch. Differences from
    torchvision: the jitter is applied in a fixed order (brightness, contrast, saturation, hue),
    and the hue shift is a rotation of the chroma plane in YIQ space (close to the HSV shift).
    """

    def __init__(self, config: AugmentConfig | None = None) -> None:
        self.cfg = config or AugmentConfig()

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got {tuple(images.shape)}")
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        g = generator
        crops = [self._resized_crop(im, g) for im in x]
        x = torch.stack(crops) if crops else x.new_zeros(0, 3, *self.cfg.out_size)
        x = self._jitter(x, g)
        x = self._blur(x, g)
        solarize = (torch.rand(len(x), generator=g) < self.cfg.solarize_p).to(x.device)[:, None, None, None]
        x = torch.where(solarize & (x >= self.cfg.solarize_threshold), 1.0 - x, x)
        return x.clamp_(0.0, 1.0)

    def _resized_crop(self, image: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        """``(3, H, W)`` -> ``(3, *out_size)``: crop of random area and aspect, bicubic resize."""
        cfg, (_, h, w) = self.cfg, image.shape
        lo, hi = math.log(cfg.crop_ratio[0]), math.log(cfg.crop_ratio[1])
        box = None
        for _ in range(10):  # rejection sampling as in the usual RandomResizedCrop
            u = torch.rand(2, generator=g).tolist()
            area = h * w * (cfg.crop_scale[0] + u[0] * (cfg.crop_scale[1] - cfg.crop_scale[0]))
            ratio = math.exp(lo + u[1] * (hi - lo))
            cw, ch = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
            if 0 < cw <= w and 0 < ch <= h:
                top = int(torch.randint(0, h - ch + 1, (1,), generator=g))
                left = int(torch.randint(0, w - cw + 1, (1,), generator=g))
                box = (top, left, ch, cw)
                break
        if box is None:  # fallback: the largest centred crop within the aspect range
            ratio = min(max(w / h, cfg.crop_ratio[0]), cfg.crop_ratio[1])
            cw, ch = (w, round(w / ratio)) if w / h < ratio else (round(h * ratio), h)
            box = ((h - ch) // 2, (w - cw) // 2, ch, cw)
        top, left, ch, cw = box
        crop = image[None, :, top:top + ch, left:left + cw]
        return F.interpolate(crop, size=cfg.out_size, mode="bicubic", align_corners=False,
                             antialias=True)[0].clamp(0.0, 1.0)

    def _jitter(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        """Per-sample brightness, contrast, saturation, hue with probability ``jitter_p``."""
        cfg, b = self.cfg, len(x)
        on = torch.rand(b, generator=g) < cfg.jitter_p

        def factor(amount: float) -> torch.Tensor:  # (B, 1, 1, 1), 1 where jitter is off
            f = 1.0 + (2.0 * torch.rand(b, generator=g) - 1.0) * amount
            return torch.where(on, f, torch.ones_like(f)).to(x)[:, None, None, None]

        bright, contrast, sat = factor(cfg.brightness), factor(cfg.contrast), factor(cfg.saturation)
        hue = torch.where(on, (2.0 * torch.rand(b, generator=g) - 1.0) * cfg.hue, torch.zeros(b)).to(x)
        gray_w = x.new_tensor(_GRAY)[None, :, None, None]
        x = (x * bright).clamp(0.0, 1.0)
        mean = (x * gray_w).sum(1, keepdim=True).mean(dim=(2, 3), keepdim=True)
        x = (contrast * x + (1.0 - contrast) * mean).clamp(0.0, 1.0)
        gray = (x * gray_w).sum(1, keepdim=True)
        x = (sat * x + (1.0 - sat) * gray).clamp(0.0, 1.0)
        angle = 2.0 * math.pi * hue  # rotate the (I, Q) chroma plane
        cos, sin = torch.cos(angle), torch.sin(angle)
        rot = x.new_zeros(b, 3, 3)
        rot[:, 0, 0], rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = 1.0, cos, -sin, sin, cos
        yiq = _RGB_TO_YIQ.to(x)
        mat = torch.linalg.inv(yiq) @ rot @ yiq  # (B, 3, 3) acting on RGB
        shifted = torch.einsum("bij,bjhw->bihw", mat, x).clamp(0.0, 1.0)
        return torch.where((hue != 0)[:, None, None, None], shifted, x)

    def _blur(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        """Separable Gaussian blur (reflect padding), sigma per sample, probability ``blur_p``."""
        cfg, (b, c, h, w) = self.cfg, x.shape
        k = cfg.blur_kernel
        on = torch.rand(b, generator=g) < cfg.blur_p
        sigma = cfg.blur_sigma[0] + torch.rand(b, generator=g) * (cfg.blur_sigma[1] - cfg.blur_sigma[0])
        if b == 0 or not on.any():
            return x
        on, sigma = on.to(x.device), sigma.to(x)
        t = torch.arange(k, dtype=x.dtype, device=x.device) - (k - 1) / 2
        kern = torch.exp(-(t[None] ** 2) / (2.0 * sigma[:, None] ** 2))
        kern = kern / kern.sum(dim=1, keepdim=True)
        delta = (t == 0).to(x.dtype).expand(b, k)
        kern = torch.where(on[:, None], kern, delta).repeat_interleave(c, dim=0)  # (B*C, k)
        y = F.pad(x.reshape(1, b * c, h, w), (k // 2,) * 4, mode="reflect")
        y = F.conv2d(y, kern.view(b * c, 1, 1, k), groups=b * c)
        y = F.conv2d(y, kern.view(b * c, 1, k, 1), groups=b * c)
        return y.view(b, c, h, w)


# --------------------------------------------------------------------------- image decoding
class ImageDecodeError(ValueError):
    """Image bytes or an image file cannot be decoded; the message names the item."""


def fit_crop(image: Image.Image, height: int = CROP_HEIGHT, width: int = CROP_WIDTH) -> Image.Image:
    """Zero-pad ``image`` to the ``height:width`` aspect and resize it (bicubic) to that size."""
    image = image.convert("RGB")
    if image.size == (width, height):
        return image
    return pad_to_aspect(image, height, width).resize((width, height), Image.Resampling.BICUBIC)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> uint8 tensor ``(3, H, W)``."""
    return torch.from_numpy(np.array(image.convert("RGB"), dtype=np.uint8)).permute(2, 0, 1).contiguous()


def decode_images(items: Sequence[bytes], uint8: bool = False, height: int = CROP_HEIGHT,
                  width: int = CROP_WIDTH) -> torch.Tensor:
    """Encoded images (PNG/JPEG bytes) -> ``(B, 3, height, width)`` float in [0, 1] (or uint8).

    Images of another size are zero-padded to the aspect ratio and resized. Undecodable bytes
    raise :class:`ImageDecodeError` naming the item's index.
    """
    out = []
    for i, data in enumerate(items):
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                out.append(pil_to_tensor(fit_crop(im, height, width)))
        except (OSError, ValueError, TypeError, SyntaxError, Image.DecompressionBombError) as exc:
            is_bytes = isinstance(data, (bytes, bytearray, memoryview))
            size = f"{len(data)} bytes" if is_bytes else type(data).__name__
            raise ImageDecodeError(f"image {i} of {len(items)} ({size}) cannot be decoded: {exc}") from None
    batch = torch.stack(out) if out else torch.zeros(0, 3, height, width, dtype=torch.uint8)
    return batch if uint8 else batch.float() / 255.0


def load_image_file(path: str | Path, height: int = CROP_HEIGHT, width: int = CROP_WIDTH) -> torch.Tensor:
    """A user photo -> ``(3, height, width)`` float in [0, 1]: zero-padded to 256:192, resized.

    The whole photo is kept (centred padding, no cropping): crop it around the person first.
    """
    return pil_to_tensor(fit_crop(load_image(str(path), what="image file"), height, width)).float() / 255.0


MAX_PHOTO_SIDE = 1024  # photos given at their own size are shrunk to this longest side


def load_query_image(item: Any, fit: bool = True) -> torch.Tensor:
    """A path, encoded bytes, a PIL image or an ``(H, W, 3)`` uint8 array -> ``(3, 256, 192)`` in
    [0, 1] (zero-padded to the crop's aspect and resized), or with ``fit=False`` the whole photo
    ``(3, H, W)`` at its own size (longest side at most :data:`MAX_PHOTO_SIDE`), for image encoders
    that take any size."""
    if isinstance(item, (str, Path)):
        if not Path(item).is_file():
            raise FileNotFoundError(f"image file {str(item)!r} does not exist or is not a file")
        item = load_image(str(item), what="image file")
    elif isinstance(item, (bytes, bytearray)):
        try:
            with Image.open(io.BytesIO(bytes(item))) as im:
                im.load()
                item = im.convert("RGB")
        except (OSError, ValueError, TypeError, SyntaxError, Image.DecompressionBombError) as exc:
            raise ImageDecodeError(f"image ({len(item)} bytes) cannot be decoded: {exc}") from None
    elif isinstance(item, np.ndarray) and item.ndim == 3 and item.shape[2] == 3:
        if item.dtype != np.uint8:
            raise ImageDecodeError(f"image: expected an (H, W, 3) uint8 array, got dtype {item.dtype}")
        _check_image_size(item.shape[1], item.shape[0])
        item = Image.fromarray(item)
    if not isinstance(item, Image.Image):
        raise ImageDecodeError(f"image: expected a file path, encoded bytes, a PIL image or an (H, W, 3) array, "
                               f"got {type(item).__name__}")
    _check_image_size(item.width, item.height)
    if fit:
        return pil_to_tensor(fit_crop(item)).float() / 255.0
    item = item.convert("RGB")
    if max(item.size) > MAX_PHOTO_SIDE:
        scale = MAX_PHOTO_SIDE / max(item.size)
        item = item.resize((max(1, round(item.width * scale)), max(1, round(item.height * scale))),
                           Image.Resampling.BICUBIC)
    return pil_to_tensor(item).float() / 255.0


def _check_image_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ImageDecodeError(f"image: {width}x{height} pixels, an empty image")
    if width * height > Image.MAX_IMAGE_PIXELS:  # the limit PIL puts on decoded files (bombs)
        raise ImageDecodeError(f"image: {width}x{height} pixels, more than {Image.MAX_IMAGE_PIXELS}")
