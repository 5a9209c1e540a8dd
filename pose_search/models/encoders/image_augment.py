"""Training augmentation of the image encoders, in plain torch (no torchvision, which does not load
with this torch build)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from pose_search.data.loaders.crops import CROP_HEIGHT, CROP_WIDTH

log = logging.getLogger(__name__)


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
