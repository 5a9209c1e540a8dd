"""`ModalityEncoder`: the frozen encoder of one modality (image, pose or text).

An encoder turns raw inputs of its modality into features for the PoseEmbroider core:

* ``pose``:  ``(B, 22, 3)`` axis-angle -> ``(B, D)``
* ``text``:  token ids ``(B, L)`` + attention mask ``(B, L)`` -> ``(B, D)``
             (``tokenize(list[str])`` builds them with the encoder's own tokenizer)
* ``image``: ``(B, 3, 256, 192)`` float in [0, 1] (no mean/std normalisation) -> ``(B, N, D)``
             patch tokens (the core's projection is applied per patch, then pooled)

When frozen (``freeze()``), an encoder stays in eval mode even if a parent module calls
``train()``, and no parameter requires grad: dropout, drop-path and BatchNorm statistics do not
move while the core trains (the released PoseEmbroider code let them; we do not).

Every encoder is saved as a directory: ``config.json`` (``{"name": ..., "config": {...}}``) and
``model.safetensors``; see :mod:`pose_search.checkpoint`.

An image encoder with a person detector (BlazePose) says, from its features, in which images it
found a person (:meth:`ModalityEncoder.person_found`); queries then refuse a photo with nobody in it
(:class:`PersonNotFound`). The others (our CNN / ViT, trained on renders of one person, cropped)
have no detector and cannot tell: they embed whatever they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn as nn

MODALITIES = ("image", "pose", "text")
NO_PERSON_HINT = "use a photo of one person with the upper body or whole body visible, not too small in the frame"


class PersonNotFound(ValueError):
    """The image encoder's person detector found nobody in a query image (a ``ValueError``: the
    CLIs print it as one line, the UI shows it). ``indices``: the batch positions without a person."""

    def __init__(self, message: str, indices: Sequence[int] = (0,)) -> None:
        super().__init__(message)
        self.indices = tuple(int(i) for i in indices)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (Ray, subprocesses) with its indices
        return type(self), (str(self), self.indices)

    @classmethod
    def in_images(cls, indices: Sequence[int], batch: int, names: Sequence[str] | None = None) -> PersonNotFound:
        """The error for images ``indices`` of a batch of ``batch`` (one image: "in the image"),
        named by ``names`` (one per image of the batch) when given, else by their positions (from 0)."""
        indices = [int(i) for i in indices]
        if batch == 1:
            where = "in the image"
        elif names:
            where = f"in {len(indices)} of {batch} images ({', '.join(str(names[i]) for i in indices)})"
        else:
            where = (f"in {len(indices)} of {batch} images (batch position{'s' if len(indices) > 1 else ''} "
                     f"{', '.join(map(str, indices))}, counting from 0)")
        return cls(f"no person found {where}: {NO_PERSON_HINT}", indices)


class ModalityEncoder(nn.Module):
    """Base class. Subclasses set ``modality``, ``output_dim`` and ``token_output``."""

    modality: ClassVar[str] = ""
    token_output: ClassVar[bool] = False  # True: (B, N, D) tokens (image); False: (B, D)
    # True (image encoders): takes photos at their own size, one by one (no 256x192 crop fit)
    any_size: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._frozen = False
        self.output_dim = 0

    def config(self) -> dict[str, Any]:
        """The constructor arguments, enough to rebuild the architecture (JSON-serialisable)."""
        raise NotImplementedError

    def freeze(self) -> ModalityEncoder:
        """Eval mode for good, no gradients. Returns self."""
        self._frozen = True
        for p in self.parameters():
            p.requires_grad_(False)
        return super().train(False)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def train(self, mode: bool = True) -> ModalityEncoder:
        return super().train(False if self._frozen else mode)

    @torch.no_grad()
    def encode(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Features of a batch, without gradients (the frozen use)."""
        return self(*inputs)

    def person_found(self, features: torch.Tensor) -> torch.Tensor | None:
        """``(B,)`` bool: in which images of a batch this (image) encoder found a person, from its
        features; None when it cannot tell (no person detector: the default)."""
        return None

    def legs_visible(self, features: torch.Tensor) -> torch.Tensor | None:
        """``(B,)`` bool: in which images of a batch the person's legs are in view, from the
        features; None when this (image) encoder cannot tell (the default)."""
        return None

    def body_joints(self, features: torch.Tensor) -> tuple[np.ndarray, np.ndarray] | None:
        """The 3D skeleton this (image) encoder sees, from its features: the 22 canonical joints
        ``(B, 22, 3)`` (y up, metres) and their confidences ``(B, 22)``; None when it has none
        (the default)."""
        return None
