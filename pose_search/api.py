"""The Python API: rebuild a ready model from a run directory alone, and query it.

>>> model = load_model("runs/core")
>>> vec = model.query(texts=["the person raises the left arm"], target="pose")   # (1, 512)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from pose_search.checkpoint import CheckpointError, load_module
from pose_search.models.encoders.base import MODALITIES, ModalityEncoder


class PoseSearchModel(nn.Module):
    """Frozen encoders + a trained core: raw inputs in, embeddings out (all in eval mode)."""

    def __init__(self, encoders: dict[str, ModalityEncoder], core: nn.Module) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict({m: e.freeze() for m, e in encoders.items()})
        self.core = core.eval()
        for p in self.core.parameters():
            p.requires_grad_(False)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if m in self.encoders)

    @torch.no_grad()
    def features(self, images: torch.Tensor | None = None, poses: torch.Tensor | np.ndarray | None = None,
                 texts: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Encoder features of whichever inputs are given (same batch size for all)."""
        from pose_search.body.convention import validate_pose

        given = {"image": images, "pose": poses, "text": texts}
        feats: dict[str, torch.Tensor] = {}
        for m, value in given.items():
            if value is None:
                continue
            if m not in self.encoders:
                raise ValueError(f"this model has no {m} encoder (it has {', '.join(self.modalities)})")
            if m == "pose":
                feats[m] = self.encoders[m](validate_pose(value))
            elif m == "text":
                if isinstance(value, str) or not all(isinstance(t, str) and t.strip() for t in value):
                    raise ValueError("texts: expected a list of non-empty strings")
                feats[m] = self.encoders[m](*self.encoders[m].tokenize(list(value)))
            else:
                if value.ndim != 4 or value.shape[1] != 3:
                    raise ValueError(f"images: expected (B, 3, H, W) in [0, 1], got {tuple(value.shape)}")
                feats[m] = self.encoders[m](value.float())
        if not feats:
            raise ValueError("empty query: give at least one of images, poses, texts")
        sizes = {len(v) for v in feats.values()}
        if len(sizes) > 1:
            raise ValueError(f"inputs have different batch sizes: { {m: len(v) for m, v in feats.items()} }")
        return feats

    @torch.no_grad()
    def reference_embeddings(self, **inputs) -> dict[str, torch.Tensor]:
        """``{m: (B, 512)}`` unit vectors of the given inputs (what an index stores)."""
        return self.core.reference_embeddings(self.features(**inputs))

    @torch.no_grad()
    def query(self, target: str, **inputs) -> torch.Tensor:
        """``(B, 512)`` query vectors in the space of ``target`` for any subset of inputs."""
        refs = self.reference_embeddings(**inputs)
        return self.core.query_embedding(refs, tuple(refs), target)

    @torch.no_grad()
    def representation(self, **inputs) -> torch.Tensor:
        """The fused pose representation ``(B, 512)`` of the given inputs (downstream heads)."""
        refs = self.reference_embeddings(**inputs)
        return self.core.representation(refs, tuple(refs))


def load_model(run_dir: str | Path, which: str = "best") -> nn.Module:
    """A ready model from a run directory (or a checkpoint directory) alone.

    * core / aligner runs -> :class:`PoseSearchModel` (``RUN/encoders/*`` + ``RUN/<which>/core``);
    * encoder runs -> the frozen encoder (``RUN/<which>/encoder``);
    * a checkpoint directory (``config.json`` + ``model.safetensors``) -> its module.
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"run directory {str(run)!r} does not exist")
    if (run / "config.json").exists():
        return load_module(run)
    part = run / which
    if not part.is_dir() and which == "best":
        part = run / "last"
    if (part / "core").is_dir():
        encoders = {m: load_module(run / "encoders" / m) for m in MODALITIES if (run / "encoders" / m).is_dir()}
        if not encoders:
            raise CheckpointError(f"{str(run)!r} has a core but no encoders/ directory")
        return PoseSearchModel(encoders, load_module(part / "core"))
    for name in ("encoder", "model"):
        if (part / name / "config.json").exists():
            module = load_module(part / name)
            return module.freeze() if isinstance(module, ModalityEncoder) else module.eval()
    raise CheckpointError(f"{str(run)!r} holds no model (no config.json, {which}/core, or {which}/encoder)")
