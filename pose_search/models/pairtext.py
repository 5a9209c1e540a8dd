"""PairText: pose pair (A -> B) <-> instruction retrieval, the evaluator of generated instructions.

    pair tower: A, B (B, 22, 3) -> shared VPoser trunk (B, H) each -> TIRG(main = B, modifier = A)
                -> Linear H -> E -> L2
    text tower: ids, mask (B, L) -> text encoder (B, E) -> L2       (PoseText's, :func:`text_tower`);
                ``text_model`` picks it: "pretrained" (frozen MiniLM + topping, the default of
                training; it also takes the backbone's cached token outputs (B, L, H)) or "scratch"
    loss:       symbbc(pair, text, gamma), gamma learnable from 10

R-precision of generated texts (spec 5.4) ranks the true pair among random ones by cosine to
the text through these two towers (:func:`pose_search.metrics.instructions.r_precision`).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_search.losses import symbbc
from pose_search.models.encoders.pose_vae import PoseTrunk
from pose_search.models.encoders.pretrained_text import PretrainedTextConfig
from pose_search.models.encoders.text import TextEncoder, TextEncoderConfig, with_text_preset
from pose_search.models.encoders.tokenizer import TextTokenizer
from pose_search.models.heads.instructions import TIRG
from pose_search.models.posetext import text_tower
from pose_search.models.registry import register_model


class PairText(nn.Module):
    """The two-tower pair <-> instruction model; ``text`` holds the text encoder's config fields.

    ``text_model`` picks the text encoder (:func:`~pose_search.models.posetext.text_tower`;
    checkpoints written before the choice existed hold a ``scratch`` one). ``tokenizer`` is for a
    scratch tower only (saved as a checkpoint extra, not part of :meth:`config`).
    """

    def __init__(self, num_joints: int = 22, pose_hidden: int = 512, dropout: float = 0.1,
                 logit_scale_init: float = 10.0, text: dict[str, Any] | None = None,
                 tokenizer: TextTokenizer | str | Path | None = None, text_model: str = "scratch") -> None:
        super().__init__()
        self.text = text_tower(text_model, text or {}, tokenizer)
        self.text_model = text_model
        e = self.text.output_dim
        self.trunk = PoseTrunk(num_joints, pose_hidden, dropout)
        self.compare = TIRG(pose_hidden)
        self.head = nn.Linear(pose_hidden, e)
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale_init)))
        self._config = {"num_joints": num_joints, "pose_hidden": pose_hidden, "dropout": dropout,
                        "logit_scale_init": logit_scale_init}

    def config(self) -> dict[str, Any]:
        return {**self._config, "text_model": self.text_model, "text": self.text.config()}

    def pair_embedding(self, pose_a: torch.Tensor, pose_b: torch.Tensor) -> torch.Tensor:
        """L2-normalised ``(B, E)`` embeddings of pairs of poses ``(B, 22, 3)``."""
        return F.normalize(self.head(self.compare(self.trunk(pose_b), self.trunk(pose_a))), dim=-1)

    def text_embedding(self, text: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """L2-normalised ``(B, E)`` embeddings of token ids and mask ``(B, L)`` (a pretrained tower
        also takes its backbone's cached token outputs ``(B, L, H)`` float as ``text``)."""
        return F.normalize(self.text(text, mask), dim=-1)

    def embed_texts(self, texts: list[str], batch: int = 256) -> torch.Tensor:
        """L2-normalised ``(N, E)`` embeddings of N texts (either tower tokenizes its own way; an
        empty text counts as ".")."""
        device = self.logit_scale.device
        out = []
        for s in range(0, len(texts), batch):
            ids, mask = self.text.tokenize([t if t.strip() else "." for t in texts[s : s + batch]])
            out.append(self.text_embedding(ids.to(device), mask.to(device)))
        return torch.cat(out)

    def forward(self, pose_a: torch.Tensor, pose_b: torch.Tensor, text: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Poses ``(B, 22, 3)`` x2, texts ``(B, L)`` ids or ``(B, L, H)`` token outputs, mask
        ``(B, L)`` -> (pair embeddings ``(B, E)``, text embeddings ``(B, E)``), L2-normalised."""
        return self.pair_embedding(pose_a, pose_b), self.text_embedding(text, mask)

    def loss(self, pair: torch.Tensor, text: torch.Tensor, gather: bool = False) -> torch.Tensor:
        """symBBC of the batch (of the global batch across workers with ``gather``)."""
        return symbbc(pair, text, self.logit_scale, gather=gather)

    def save_extra(self, directory: Path) -> None:
        if isinstance(self.text, TextEncoder):  # a pretrained tower's tokenizer is its backbone's
            self.text.save_extra(directory)

    def load_extra(self, directory: Path) -> None:
        if isinstance(self.text, TextEncoder):
            self.text.load_extra(directory)


def _pairtext(text_preset: TextEncoderConfig, pretrained_preset: PretrainedTextConfig, preset: dict[str, Any],
              config: dict[str, Any]) -> PairText:
    config = {**preset, **config}
    text = dict(config.pop("text", None) or {})
    if config.get("text_model", "scratch") != "scratch":  # the pretrained tower's own presets
        return PairText(text={**asdict(pretrained_preset), **text}, **config)
    probe = {**text, "tokenizer": config.get("tokenizer")}
    text = {k: v for k, v in with_text_preset(text_preset, probe).items() if k not in ("tokenizer", "pretrained_dir")}
    return PairText(text=text, **config)


@register_model("pairtext", kind="trainable.pairtext")
def pairtext(**config: Any) -> PairText:
    """``text_model="pretrained"``: the CPU-sized topping (:meth:`PretrainedTextConfig.small`)."""
    return _pairtext(TextEncoderConfig(), PretrainedTextConfig.small(), {}, config)


@register_model("pairtext-tiny", kind="trainable.pairtext")
def pairtext_tiny(**config: Any) -> PairText:
    return _pairtext(TextEncoderConfig.tiny(), PretrainedTextConfig.tiny(), {"pose_hidden": 32}, config)
