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
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn as nn

MODALITIES = ("image", "pose", "text")


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
