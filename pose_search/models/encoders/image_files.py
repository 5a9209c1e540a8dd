"""Images in: bytes or files -> crops ``(B, 3, 256, 192)`` in [0, 1] (:func:`decode_images`,
:func:`load_image_file`), and a query photo of any kind (:func:`load_query_image`)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from pose_search.data.loaders.crops import CROP_HEIGHT, CROP_WIDTH, load_image, pad_to_aspect


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
