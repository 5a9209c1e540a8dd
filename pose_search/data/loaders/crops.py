"""Person-crop geometry shared by the image loaders (BEDLAM, 3DPW).

Boxes are ``(4,)`` float arrays ``[x0, y0, x1, y1]`` in pixels (x right, y down). The pipeline
follows PoseEmbroider §6.2/§6.7:

1. :func:`tight_box`: box of the projected points that lie inside the image;
2. :func:`enlarge_box`: each side pushed out by ``(factor - 1) * diagonal / 2`` ("sf11" is
   ``factor=1.1``; 3DPW uses 1.3), then clipped to the image;
3. :func:`crop_person`: crop that box, zero-pad it symmetrically to the 256:192 (H:W) aspect
   ratio, and resize it to 256x192 with bicubic (antialiased) resampling.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from pose_search.data.loaders.common import LoaderError

CROP_HEIGHT = 256
CROP_WIDTH = 192


def in_frame(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(N, 2)`` pixel points -> ``(N,)`` bool: strictly inside the ``width`` x ``height`` image."""
    p = np.asarray(points, dtype=np.float64)
    return (p[:, 0] > 0) & (p[:, 0] < width) & (p[:, 1] > 0) & (p[:, 1] < height) & np.isfinite(p).all(1)


def tight_box(points: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """Tight ``(4,)`` box around the in-frame points of ``(N, 2)``; ``None`` if fewer than 2."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    p = p[in_frame(p, width, height)]
    if len(p) < 2:
        return None
    return np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()])


def enlarge_box(box: np.ndarray, factor: float, width: int, height: int) -> np.ndarray:
    """Push each side of ``box`` out by ``(factor - 1) * diag / 2`` and clip to the image."""
    x0, y0, x1, y1 = (float(v) for v in box)
    margin = (factor - 1.0) * math.hypot(x1 - x0, y1 - y0) / 2.0
    return np.array([max(0.0, x0 - margin), max(0.0, y0 - margin),
                     min(float(width), x1 + margin), min(float(height), y1 + margin)])


def box_area(box: np.ndarray) -> float:
    """Area of a ``(4,)`` box (0 for an empty box)."""
    return max(0.0, float(box[2] - box[0])) * max(0.0, float(box[3] - box[1]))


def overlap_ratio(own: np.ndarray, other: np.ndarray) -> float:
    """``area(own ∩ other) / area(own)`` (0 when ``own`` is empty)."""
    inter = np.array([max(own[0], other[0]), max(own[1], other[1]),
                      min(own[2], other[2]), min(own[3], other[3])])
    area = box_area(own)
    return box_area(inter) / area if area > 0 else 0.0


def pad_to_aspect(image: Image.Image, height: int = CROP_HEIGHT, width: int = CROP_WIDTH) -> Image.Image:
    """Zero-pad ``image`` symmetrically (black) so that its H:W ratio is ``height:width``."""
    w, h = image.size
    target = height / width
    if h / w > target:  # too tall: widen
        new_w, new_h = int(round(h / target)), h
    else:  # too wide: heighten
        new_w, new_h = w, int(round(w * target))
    if (new_w, new_h) == (w, h):
        return image
    canvas = Image.new(image.mode, (new_w, new_h), 0)
    canvas.paste(image, ((new_w - w) // 2, (new_h - h) // 2))
    return canvas


def crop_person(image: Image.Image, box: np.ndarray, height: int = CROP_HEIGHT,
                width: int = CROP_WIDTH) -> Image.Image:
    """Crop ``box`` from ``image``, pad to ``height:width`` and resize to ``width`` x ``height``."""
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"empty crop box {list(map(float, box))}")
    crop = image.convert("RGB").crop((x0, y0, x1, y1))
    return pad_to_aspect(crop, height, width).resize((width, height), Image.Resampling.BICUBIC)


def encode_image(image: Image.Image, fmt: str = "PNG") -> bytes:
    """Encode a PIL image to ``PNG`` or ``JPEG`` bytes."""
    fmt = fmt.upper()
    if fmt not in ("PNG", "JPEG"):
        raise ValueError(f"image format must be 'PNG' or 'JPEG', got {fmt!r}")
    buf = io.BytesIO()
    image.save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def open_image(path: str, closeup: bool = False) -> Image.Image:
    """Open an image file (a path or a URI such as ``s3://...``) as RGB; ``closeup`` (BEDLAM)
    rotates it 90° clockwise to portrait."""
    from pose_search import storage

    source = io.BytesIO(storage.read_bytes(path)) if storage.is_uri(path) else path
    with Image.open(source) as im:
        im.load()
        out = im.convert("RGB")
    return out.transpose(Image.Transpose.ROTATE_270) if closeup else out


def image_size(path: str, what: str = "image") -> tuple[int, int]:
    """``(width, height)`` of an image file, reading only its header; errors name the file."""
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        raise LoaderError(f"{path}: {what} not found") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise LoaderError(f"{path}: {what} is not a readable image ({exc})") from None


def load_image(path: str, what: str = "image", closeup: bool = False) -> Image.Image:
    """:func:`open_image` with errors (``LoaderError``) that name the file."""
    try:
        return open_image(path, closeup)
    except FileNotFoundError:
        raise LoaderError(f"{path}: {what} not found") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:  # PIL's decoders raise all three
        raise LoaderError(f"{path}: {what} is not a readable image ({exc})") from None
