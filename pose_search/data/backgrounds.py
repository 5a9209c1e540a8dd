"""2-D layers and colours of the synthetic person renders: backgrounds, occluders, looks.

Everything here is an image-space layer drawn with torch on the CPU, deterministic given its
settings dataclass (the random parts, e.g. noise grids and tile shades, come from the ``seed``
stored in the settings). Colours are sRGB floats in ``[0, 1]``; layers are ``(H, W, 3)`` float32.

Background kinds: ``linear`` and ``radial`` gradients, ``noise`` (an upsampled random colour grid),
``stripes``, ``checker`` and ``tiles`` (with grout), each optionally split by a horizon into a wall
and a floor, with a low-frequency brightness noise, a vignette and an optional defocus blur.
Occluders are rectangles, ellipses or random blobs, flat, striped, noisy or shaded.
Person looks (:class:`Appearance`): skin tones from a light-to-dark palette, natural hair
colours, clothing mostly in neutral/denim shades, short sleeves, shorts, bald heads.
"""

from __future__ import annotations

import colorsys
import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pose_search.body.parts import PART_KINDS

RGB = tuple[float, float, float]
GAMMA = 2.2  # sRGB <-> linear approximation
BACKGROUND_KINDS: tuple[str, ...] = ("linear", "radial", "noise", "stripes", "checker", "tiles")
OCCLUDER_SHAPES: tuple[str, ...] = ("rect", "ellipse", "blob")
OCCLUDER_TEXTURES: tuple[str, ...] = ("flat", "stripes", "noise", "gradient")
CLOTH_PATTERNS: tuple[str, ...] = ("plain", "stripes", "checks")


# ----------------------------------------------------------------------------- colour helpers
def random_color(
    rng: np.random.Generator,
    sat: tuple[float, float] = (0.0, 0.7),
    val: tuple[float, float] = (0.2, 0.95),
) -> RGB:
    """A random sRGB colour with saturation and value drawn uniformly from the given ranges."""
    h, s, v = rng.random(), rng.uniform(*sat), rng.uniform(*val)
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (float(r), float(g), float(b))


def kelvin_to_rgb(kelvin: float) -> RGB:
    """Approximate linear-RGB tint of a black body at ``kelvin`` (1000-12000 K), max channel 1."""
    t = min(max(kelvin, 1000.0), 12000.0) / 100.0
    r = 1.0 if t <= 66 else 1.293 * (t - 60) ** -0.1332
    g = 0.390 * math.log(t) - 0.632 if t <= 66 else 1.130 * (t - 60) ** -0.0755
    b = 1.0 if t >= 66 else (0.0 if t <= 19 else 0.543 * math.log(t - 10) - 1.196)
    rgb = np.clip(np.array([r, g, b]), 0.0, 1.0) ** 2.2  # the fit is in sRGB-ish units
    rgb = rgb / rgb.max()
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


def _lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``a + (b - a) t`` with colours ``(3,)`` and weights ``(H, W)`` -> ``(H, W, 3)``."""
    return a + (b - a) * t[..., None]


@functools.lru_cache(maxsize=8)
def _grid(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates normalised by the height: ``x, y`` each ``(H, W)``, y down."""
    y = (torch.arange(height, dtype=torch.float32) + 0.5) / height
    x = (torch.arange(width, dtype=torch.float32) + 0.5) / height
    return x[None, :].expand(height, width), y[:, None].expand(height, width)


def smooth_noise(gen: np.random.Generator, h: int, w: int, cells: int, ch: int = 1) -> torch.Tensor:
    """Low-frequency noise ``(H, W, ch)`` in [0, 1]: a random ``cells``-wide grid, upsampled."""
    gh = max(2, round(cells * h / w))
    grid = torch.from_numpy(gen.random((1, ch, gh, cells), dtype=np.float32))
    up = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
    return up[0].permute(1, 2, 0).clamp(0.0, 1.0)


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of an ``(H, W, C)`` image (edge padding); identity if sigma<0.3."""
    if sigma < 0.3:
        return img
    h, w = img.shape[:2]
    r = max(1, int(math.ceil(2.5 * sigma)))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    k = (k / k.sum()).tolist()
    x = img[:, torch.arange(-r, w + r).clamp(0, w - 1)]
    x = sum(k[i] * x[:, i : i + w] for i in range(2 * r + 1))
    x = x[torch.arange(-r, h + r).clamp(0, h - 1)]
    return sum(k[i] * x[i : i + h] for i in range(2 * r + 1))  # type: ignore[return-value]


# ----------------------------------------------------------------------------- backgrounds
@dataclass(frozen=True)
class BackgroundSettings:
    """Parameters of a procedural background (all colours sRGB in [0, 1])."""

    kind: str = "linear"  # one of BACKGROUND_KINDS
    color_a: RGB = (0.55, 0.6, 0.65)
    color_b: RGB = (0.35, 0.38, 0.4)
    angle: float = 0.0  # radians: gradient / stripe direction
    period: float = 0.15  # texture period as a fraction of the image height
    cells: int = 4  # noise grid width (cells across the image)
    horizon: float | None = None  # floor split at this fraction of the height (None: no floor)
    floor_a: RGB = (0.4, 0.35, 0.3)
    floor_b: RGB = (0.3, 0.27, 0.24)
    floor_tiles: bool = False
    noise_amp: float = 0.1  # low-frequency brightness modulation (0 = none)
    vignette: float = 0.2
    blur_sigma: float = 0.0  # defocus, pixels
    seed: int = 0


def _pattern(
    s: BackgroundSettings, x: torch.Tensor, y: torch.Tensor, gen: np.random.Generator
) -> torch.Tensor:
    """The wall layer ``(H, W, 3)`` of kind ``s.kind`` between ``s.color_a`` and ``s.color_b``."""
    h, w = x.shape
    kind, period, cells = s.kind, s.period, s.cells
    a, b = torch.tensor(s.color_a), torch.tensor(s.color_b)
    ca, sa = math.cos(s.angle), math.sin(s.angle)
    u, v = x * ca + y * sa, -x * sa + y * ca
    if kind == "linear":
        t = (u - u.min()) / (u.max() - u.min()).clamp_min(1e-6)
        return _lerp(a, b, t)
    if kind == "radial":
        cx, cy = gen.uniform(0.1, 0.65), gen.uniform(0.1, 0.9)
        return _lerp(a, b, (((x - cx) ** 2 + (y - cy) ** 2).sqrt() / 0.9).clamp(0, 1))
    if kind == "noise":
        return _lerp(a, b, smooth_noise(gen, h, w, cells)[..., 0]) * (
            0.85 + 0.3 * smooth_noise(gen, h, w, cells + 2, 3)
        )
    if kind == "stripes":
        s = torch.sin(2 * math.pi * u / period)
        return _lerp(a, b, (s * 3.0).clamp(-1, 1) * 0.5 + 0.5)
    if kind == "checker":
        parity = (torch.floor(u / period) + torch.floor(v / period)).remainder(2)
        return _lerp(a, b, parity)
    if kind == "tiles":
        iu, iv = torch.floor(u / period), torch.floor(v / period)
        shade = torch.from_numpy(gen.uniform(-0.12, 0.12, 97).astype(np.float32))
        tile = a * (1 + shade[((iu * 31 + iv * 17) % 97).long()])[..., None]
        fu, fv = u / period - iu, v / period - iv
        grout = (torch.minimum(torch.minimum(fu, 1 - fu), torch.minimum(fv, 1 - fv)) < 0.06).float()
        return tile * (1 - grout[..., None]) + b * grout[..., None]
    raise ValueError(f"unknown background kind {kind!r}; expected one of {BACKGROUND_KINDS}")


def make_background(s: BackgroundSettings, height: int, width: int) -> torch.Tensor:
    """Render a background; returns ``(H, W, 3)`` float32 sRGB in [0, 1]."""
    gen = np.random.default_rng(s.seed)
    x, y = _grid(height, width)
    img = _pattern(s, x, y, gen)
    if s.horizon is not None:
        fa, fb = torch.tensor(s.floor_a), torch.tensor(s.floor_b)
        depth = ((y - s.horizon) / max(1.0 - s.horizon, 1e-3)).clamp(0, 1)
        if s.floor_tiles:  # cheap perspective: tile period grows towards the bottom
            fy = 0.05 / (y - s.horizon).clamp_min(0.02)
            fx = (x - 0.5 * width / height) * fy * 3.0
            chk = (torch.floor(fx) + torch.floor(fy)).remainder(2)
            floor = _lerp(fa, fb, chk * depth.clamp(0.2, 1))
        else:
            floor = _lerp(fb, fa, depth) * (0.9 + 0.2 * smooth_noise(gen, height, width, 6))
        soft = ((y - s.horizon) * height / 1.5).clamp(0, 1)[..., None]
        img = img * (1 - soft) + floor * soft
    if s.noise_amp > 0:
        img = img * (1.0 + s.noise_amp * (2 * smooth_noise(gen, height, width, 3) - 1))
    if s.vignette > 0:
        r2 = (x - 0.5 * width / height) ** 2 + (y - 0.5) ** 2
        img = img * (1.0 - s.vignette * r2 / 0.4)[..., None]
    img = gaussian_blur(img, s.blur_sigma)
    return img.clamp(0.0, 1.0)


def sample_background(rng: np.random.Generator) -> BackgroundSettings:
    """Draw random background settings."""
    kind = str(rng.choice(BACKGROUND_KINDS, p=[0.2, 0.15, 0.25, 0.13, 0.12, 0.15]))
    a = random_color(rng, (0.0, 0.6), (0.25, 0.95))
    contrast = rng.uniform(*((0.1, 0.5) if kind in ("stripes", "checker", "tiles") else (0.2, 0.8)))
    b = random_color(rng, (0.0, 0.6), (0.25, 0.95)) if rng.random() < 0.5 else None
    b = tuple(float(c * (1 - contrast)) for c in a) if b is None else b
    floor = rng.random() < 0.45
    return BackgroundSettings(
        kind=kind,
        color_a=a,
        color_b=b,  # type: ignore[arg-type]
        angle=float(rng.uniform(0, math.pi)),
        period=float(rng.uniform(0.04, 0.25)),
        cells=int(rng.integers(2, 9)),
        horizon=float(rng.uniform(0.45, 0.85)) if floor else None,
        floor_a=random_color(rng, (0.0, 0.4), (0.2, 0.7)),
        floor_b=random_color(rng, (0.0, 0.4), (0.15, 0.6)),
        floor_tiles=bool(rng.random() < 0.3),
        noise_amp=float(rng.uniform(0.0, 0.25)),
        vignette=float(rng.uniform(0.0, 0.4)),
        blur_sigma=float(rng.uniform(0.5, 2.5)) if rng.random() < 0.4 else 0.0,
        seed=int(rng.integers(0, 2**31 - 1)),
    )


# ----------------------------------------------------------------------------- occluders
@dataclass(frozen=True)
class OccluderSettings:
    """A 2-D occluder drawn in front of the person (positions/sizes are fractions of H and W)."""

    shape: str = "rect"  # one of OCCLUDER_SHAPES
    center: tuple[float, float] = (0.5, 0.7)  # (x / W, y / H)
    size: tuple[float, float] = (0.5, 0.3)  # full width / W, full height / H
    angle: float = 0.0  # radians
    color_a: RGB = (0.5, 0.3, 0.2)
    color_b: RGB = (0.3, 0.2, 0.1)
    texture: str = "flat"  # one of OCCLUDER_TEXTURES
    seed: int = 0


def make_occluder(
    o: OccluderSettings, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render an occluder: ``(rgb (H, W, 3), alpha (H, W))`` float32, alpha in [0, 1]."""
    gen = np.random.default_rng(o.seed)
    px = torch.arange(width, dtype=torch.float32)[None, :] + 0.5
    py = torch.arange(height, dtype=torch.float32)[:, None] + 0.5
    dx, dy = px - o.center[0] * width, py - o.center[1] * height
    ca, sa = math.cos(o.angle), math.sin(o.angle)
    u, v = dx * ca + dy * sa, -dx * sa + dy * ca
    hw, hh = max(o.size[0] * width / 2, 1.0), max(o.size[1] * height / 2, 1.0)
    if o.shape == "rect":
        dist = torch.maximum(u.abs() - hw, v.abs() - hh)  # pixels outside the box
    elif o.shape in ("ellipse", "blob"):
        r = ((u / hw) ** 2 + (v / hh) ** 2).sqrt()
        if o.shape == "blob":
            theta = torch.atan2(v / hh, u / hw)
            amps = gen.uniform(0.0, 0.18, 4)
            phases = gen.uniform(0, 2 * math.pi, 4)
            wob = sum(
                float(amps[k]) * torch.cos((k + 2) * theta + float(phases[k])) for k in range(4)
            )
            r = r / (1.0 + wob)
        dist = (r - 1.0) * min(hw, hh)
    else:
        raise ValueError(f"unknown occluder shape {o.shape!r}; expected one of {OCCLUDER_SHAPES}")
    alpha = (0.5 - dist).clamp(0.0, 1.0)
    a, b = torch.tensor(o.color_a), torch.tensor(o.color_b)
    if o.texture == "flat":
        rgb = a.expand(height, width, 3)
    elif o.texture == "stripes":
        rgb = _lerp(a, b, (torch.sin(u / max(hw, hh) * 12.0) > 0).float())
    elif o.texture == "noise":
        rgb = _lerp(a, b, smooth_noise(gen, height, width, 8)[..., 0])
    elif o.texture == "gradient":
        rgb = _lerp(a, b, ((v / hh) * 0.5 + 0.5).clamp(0, 1))
    else:
        raise ValueError(
            f"unknown occluder texture {o.texture!r}; expected one of {OCCLUDER_TEXTURES}"
        )
    return rgb, alpha


def sample_occluder(rng: np.random.Generator) -> OccluderSettings:
    """Draw a random occluder covering roughly 5-30% of the crop, mostly on the lower/side parts."""
    w, h = rng.uniform(0.25, 0.65), rng.uniform(0.12, 0.4)
    return OccluderSettings(
        shape=str(rng.choice(OCCLUDER_SHAPES, p=[0.45, 0.2, 0.35])),
        center=(float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.3, 0.95))),
        size=(float(w), float(h)),
        angle=float(rng.normal(0.0, 0.25)),
        color_a=random_color(rng, (0.0, 0.8), (0.15, 0.9)),
        color_b=random_color(rng, (0.0, 0.8), (0.1, 0.8)),
        texture=str(rng.choice(OCCLUDER_TEXTURES)),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


# ----------------------------------------------------------------------------- person colours
# fmt: off
_SKIN_TONES = np.array([  # sRGB, light to dark
    (0.98, 0.87, 0.78), (0.94, 0.78, 0.66), (0.88, 0.68, 0.54), (0.78, 0.56, 0.40),
    (0.64, 0.44, 0.30), (0.48, 0.32, 0.21), (0.34, 0.22, 0.15)])
_HAIR_COLORS = np.array([  # black, browns, blond, red, grey, white
    (0.06, 0.05, 0.05), (0.16, 0.11, 0.08), (0.30, 0.20, 0.12), (0.50, 0.36, 0.22),
    (0.78, 0.66, 0.42), (0.52, 0.24, 0.12), (0.62, 0.62, 0.60), (0.85, 0.84, 0.80)])
_CLOTHES_NEUTRAL = np.array([  # black, greys, white, navy, denim, khaki, olive
    (0.08, 0.08, 0.09), (0.22, 0.22, 0.24), (0.45, 0.45, 0.46), (0.88, 0.88, 0.86),
    (0.12, 0.16, 0.30), (0.22, 0.32, 0.52), (0.55, 0.48, 0.36), (0.30, 0.28, 0.18)])
_SHOES: list[RGB] = [(0.07, 0.07, 0.07), (0.85, 0.85, 0.83), (0.3, 0.2, 0.12), (0.4, 0.4, 0.42)]
# fmt: on


def sample_skin(rng: np.random.Generator) -> RGB:
    """A realistic skin albedo: a random point between two neighbouring tones of a palette."""
    i = int(rng.integers(0, len(_SKIN_TONES) - 1))
    c = _SKIN_TONES[i] + rng.random() * (_SKIN_TONES[i + 1] - _SKIN_TONES[i])
    c = np.clip(c * rng.uniform(0.95, 1.05, 3), 0, 1)
    return (float(c[0]), float(c[1]), float(c[2]))


def sample_hair(rng: np.random.Generator) -> RGB:
    """A natural hair colour (black, browns, blond, red, grey, white) with a small jitter."""
    c = np.clip(_HAIR_COLORS[rng.integers(0, len(_HAIR_COLORS))] * rng.uniform(0.85, 1.15), 0, 1)
    return (float(c[0]), float(c[1]), float(c[2]))


def sample_clothing(rng: np.random.Generator) -> RGB:
    """A clothing colour: 55% neutral/denim/khaki shades, 45% any hue."""
    if rng.random() < 0.55:
        c = np.clip(
            _CLOTHES_NEUTRAL[rng.integers(0, len(_CLOTHES_NEUTRAL))] * rng.uniform(0.8, 1.2), 0, 1
        )
        return (float(c[0]), float(c[1]), float(c[2]))
    return random_color(rng, (0.25, 0.9), (0.2, 0.95))


@dataclass(frozen=True)
class Appearance:
    """Albedos (sRGB) of skin, hair and clothes, and which limbs show skin."""

    skin: RGB = (0.85, 0.65, 0.52)
    hair: RGB = (0.2, 0.14, 0.1)
    top: RGB = (0.2, 0.3, 0.6)
    bottom: RGB = (0.15, 0.15, 0.2)
    shoes: RGB = (0.1, 0.1, 0.1)
    short_sleeves: bool = False  # forearms show skin
    sleeveless: bool = False  # upper arms show skin too
    shorts: bool = False  # shins show skin
    bald: bool = False  # hair region uses the skin colour
    pattern: str = "plain"  # on the torso: one of CLOTH_PATTERNS
    pattern_color: RGB = (0.9, 0.9, 0.9)
    pattern_period: float = 0.08  # metres


def part_albedos(app: Appearance) -> torch.Tensor:
    """Linear-RGB albedo of each part of :data:`pose_search.body.parts.PART_NAMES`, ``(P, 3)``."""
    sleeve = app.skin if (app.short_sleeves or app.sleeveless) else app.top
    skin, bottom = app.skin, app.bottom
    # fmt: off
    by_kind = {"head": skin, "neck": skin, "hand": skin, "eyes": (0.08, 0.06, 0.05),
               "hair": skin if app.bald else app.hair, "torso": app.top, "forearm": sleeve,
               "upper_arm": skin if app.sleeveless else app.top, "pelvis": bottom,
               "thigh": bottom, "shin": skin if app.shorts else bottom, "foot": app.shoes}
    # fmt: on
    return torch.tensor([by_kind[k] for k in PART_KINDS]) ** GAMMA


def cloth_pattern(points: torch.Tensor, app: Appearance) -> torch.Tensor:
    """Weight ``(N,)`` in [0, 1] of ``app.pattern_color`` at posed surface points ``(N, 3)``
    (metres): a solid texture, horizontal stripes or 3-D checks with ``app.pattern_period``."""
    q = points / app.pattern_period
    if app.pattern == "stripes":
        return (torch.sin(math.pi * q[:, 1]) * 3.0).clamp(-1, 1) * 0.5 + 0.5
    if app.pattern == "checks":
        return torch.floor(q).sum(1).remainder(2) * 0.7
    if app.pattern == "plain":
        return torch.zeros(len(points))
    raise ValueError(f"unknown cloth pattern {app.pattern!r}; expected one of {CLOTH_PATTERNS}")


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """Random skin tone, hair, clothes and sleeve/leg lengths."""
    top, bottom = sample_clothing(rng), sample_clothing(rng)
    if rng.random() < 0.25:  # jeans-like bottoms are common
        bottom = (0.14, 0.2, 0.36) if rng.random() < 0.5 else (0.3, 0.38, 0.55)
    sleeves = rng.random()
    return Appearance(
        skin=sample_skin(rng),
        hair=sample_hair(rng),
        top=top,
        bottom=bottom,
        shoes=_SHOES[rng.integers(0, len(_SHOES))] if rng.random() < 0.75 else sample_clothing(rng),
        short_sleeves=bool(sleeves < 0.4),
        sleeveless=bool(sleeves < 0.1),
        shorts=bool(rng.random() < 0.25),
        bald=bool(rng.random() < 0.08),
        pattern=str(rng.choice(CLOTH_PATTERNS, p=[0.75, 0.15, 0.1])),
        pattern_color=sample_clothing(rng),
        pattern_period=float(rng.uniform(0.03, 0.1)),
    )


def antialias_edges(img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Blend the silhouette pixels of ``mask (H, W)`` in ``img (H, W, 3)`` with their 3x3 mean."""
    h, w = mask.shape
    edge = torch.zeros_like(mask)
    dv, dh = mask[1:] != mask[:-1], mask[:, 1:] != mask[:, :-1]
    edge[1:] |= dv
    edge[:-1] |= dv
    edge[:, 1:] |= dh
    edge[:, :-1] |= dh
    ys, xs = edge.nonzero(as_tuple=True)
    if ys.numel() == 0:
        return img
    acc = torch.zeros(ys.numel(), 3)
    for dy in (-1, 0, 1):
        yy = (ys + dy).clamp(0, h - 1)
        for dx in (-1, 0, 1):
            acc += img[yy, (xs + dx).clamp(0, w - 1)]
    out = img.clone()
    out[ys, xs] = 0.5 * img[ys, xs] + acc / 18.0
    return out
