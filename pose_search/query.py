"""One search request, checked once where it is made: :class:`Query`.

The CLI (``pose-search search``), the UI and the Python API build a query with :meth:`Query.make`
and hand it to :meth:`indexing.service.SearchService.search`; nothing after it checks the inputs
again (only what depends on the index: whether it holds the ``target`` column).

>>> q = Query.make(text="a deep squat", target="pose", k=10, filters={"split": "val"})
>>> q.texts, q.k, q.filters
(('a deep squat',), 10, {'split': ('val',)})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pose_search.body.convention import validate_pose
from pose_search.body.io import load_pose_file
from pose_search.messages import brief
from pose_search.models.encoders.base import MODALITIES
from pose_search.models.encoders.tokenizer import check_query_text

MAX_K = 1000  # results per query
FILTER_COLUMNS = ("split", "family", "source")  # a row is kept when its column has one of the values
# not a column match: keeps rows any of whose captions contains the value (case-insensitive)
CAPTION_FILTER = "caption"


@dataclass(frozen=True)
class Query:
    """Any mix of texts, images and poses (the same batch size for all given), searched in the
    ``target`` column (``pose``, ``image`` or ``text``) for the top ``k`` rows that pass ``filters``.

    ``texts``: stripped query texts; ``images``: query photos as given (paths, encoded bytes,
    ``(H, W, 3)`` arrays: decoded by the search model's image encoder); ``poses``: ``(B, 22, 3)``
    axis-angle; ``batched``: the caller gave lists (one list of hits per query comes back)."""

    texts: tuple[str, ...] | None = None
    images: tuple[Any, ...] | None = None
    poses: torch.Tensor | None = None
    target: str = "pose"
    k: int = 10
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    batched: bool = False

    @classmethod
    def make(cls, text: Any = None, image: Any = None, pose: Any = None, target: Any = "pose", k: Any = 10,
             filters: Any = None) -> Query:
        """A checked query; ``ValueError`` naming the bad part otherwise. ``text``: a string or a
        list of them; ``image``: one or a list; ``pose``: a ``(22, 3)`` / ``(B, 22, 3)`` array or a
        ``.npy`` / ``.npz`` / ``.json`` pose file; ``filters``: ``{column: value or [values]}``."""
        batched = isinstance(text, (list, tuple)) or isinstance(image, (list, tuple)) or (
            pose is not None and not isinstance(pose, (str, Path)) and _ndim(pose) == 3)
        texts = images = poses = None
        if text is not None:
            texts = tuple(check_query_text(t) for t in _as_list(text))
            if not texts:
                raise ValueError("empty query: text must be non-empty strings")
        if image is not None:
            images = tuple(_as_list(image))
            if not images:
                raise ValueError("empty query: no image given")
        if pose is not None:
            poses = query_poses(pose)
        if texts is None and images is None and poses is None:
            raise ValueError("empty query: give at least one of image, text, pose")
        sizes = {name: len(v) for name, v in (("text", texts), ("image", images), ("pose", poses)) if v is not None}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"inputs have different batch sizes: {sizes}")
        if target not in MODALITIES:
            raise ValueError(f"target {brief(target)}: expected one of {', '.join(MODALITIES)}")
        return cls(texts, images, poses, target, check_k(k), check_filters(filters or {}), batched)

    @property
    def size(self) -> int:
        """The number of queries in the batch."""
        return next(len(v) for v in (self.texts, self.images, self.poses) if v is not None)


def check_k(k: Any) -> int:
    """``k`` as an int in ``1..MAX_K`` (a whole float such as a UI number field sends is taken)."""
    if (isinstance(k, bool) or not isinstance(k, (int, float, np.integer, np.floating)) or not np.isfinite(k)
            or k != int(k)):
        raise ValueError(f"k={brief(k)}: expected a whole number of results")
    if not 1 <= int(k) <= MAX_K:
        raise ValueError(f"k={int(k)}: expected between 1 and {MAX_K} results")
    return int(k)


def check_filters(filters: Any) -> dict[str, tuple[str, ...]]:
    """``{column: (values...)}`` from a filters mapping; ValueError naming the bad key or value."""
    if not isinstance(filters, Mapping):
        raise ValueError(f"filters: expected a mapping like {{'split': 'val'}}, got {type(filters).__name__}")
    out: dict[str, tuple[str, ...]] = {}
    for key, value in filters.items():
        if key not in (*FILTER_COLUMNS, CAPTION_FILTER):
            raise ValueError(f"filter {brief(key)}: expected one of {(*FILTER_COLUMNS, CAPTION_FILTER)}")
        values = tuple(_as_list(value))
        if not values or not all(isinstance(v, str) for v in values):
            raise ValueError(f"filter {brief(key)}: expected a string or a non-empty list of strings, got {brief(value)}")
        out[key] = values
    return out


def query_poses(value: Any) -> torch.Tensor:
    """A ``(22, 3)`` / ``(B, 22, 3)`` array or a ``.npy`` / ``.npz`` / ``.json`` pose file -> ``(B, 22, 3)``."""
    pose = validate_pose(load_pose_file(value) if isinstance(value, (str, Path)) else value)
    if len(pose) == 0:
        raise ValueError("empty query: pose holds no poses (0, 22, 3)")
    return pose


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _ndim(value: Any) -> int:
    """Dimensions of an array-like; -1 when it is none (the pose check then says why)."""
    try:
        return int(np.ndim(value))
    except (TypeError, ValueError):
        return -1
