"""PairText: pose pair (A -> B) <-> instruction retrieval, the evaluator of generated instructions.

    pair tower: A, B (B, 22, 3) -> shared VPoser trunk (B, H) each -> TIRG(main = B, modifier = A)
                -> Linear H -> E -> L2
    text tower: ids, mask (B, L) -> TextEncoder (B, E) -> L2       (same layout as PoseText's)
    loss:       symbbc(pair, text, gamma), gamma learnable from 10

R-precision of generated texts (spec 5.4) ranks the true pair among random ones by cosine to
the text through these two towers (:func:`pose_search.metrics.instructions.r_precision`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_search.losses import symbbc
from pose_search.models.encoders.pose_vae import PoseTrunk
from pose_search.models.encoders.text import TextEncoder, TextEncoderConfig, with_text_preset
from pose_search.models.encoders.tokenizer import TextTokenizer
from pose_search.models.heads.instructions import TIRG
from pose_search.models.registry import register_model


class PairText(nn.Module):
    def __init__(self, num_joints: int = 22, pose_hidden: int = 512, dropout: float = 0.1,
                 logit_scale_init: float = 10.0, text: dict[str, Any] | None = None,
                 tokenizer: TextTokenizer | str | Path | None = None) -> None:
        super().__init__()
        self.text = TextEncoder(tokenizer=tokenizer, **(text or {}))
        e = self.text.output_dim
        self.trunk = PoseTrunk(num_joints, pose_hidden, dropout)
        self.compare = TIRG(pose_hidden)
        self.head = nn.Linear(pose_hidden, e)
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale_init)))
        self._config = {"num_joints": num_joints, "pose_hidden": pose_hidden, "dropout": dropout,
                        "logit_scale_init": logit_scale_init}

    def config(self) -> dict[str, Any]:
        return {**self._config, "text": self.text.config()}

    def pair_embedding(self, pose_a: torch.Tensor, pose_b: torch.Tensor) -> torch.Tensor:
        """L2-normalised ``(B, E)`` embeddings of pairs of poses ``(B, 22, 3)``."""
        return F.normalize(self.head(self.compare(self.trunk(pose_b), self.trunk(pose_a))), dim=-1)

    def text_embedding(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text(ids, mask), dim=-1)

    def embed_texts(self, texts: list[str], batch: int = 256) -> torch.Tensor:
        out = []
        for s in range(0, len(texts), batch):
            ids, mask = self.text.tokenize([t if t.strip() else "." for t in texts[s : s + batch]])
            out.append(self.text_embedding(ids.to(self.logit_scale.device), mask.to(self.logit_scale.device)))
        return torch.cat(out)

    def forward(self, pose_a: torch.Tensor, pose_b: torch.Tensor, ids: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pair_embedding(pose_a, pose_b), self.text_embedding(ids, mask)

    def loss(self, pair: torch.Tensor, text: torch.Tensor, gather: bool = False) -> torch.Tensor:
        return symbbc(pair, text, self.logit_scale, gather=gather)

    def save_extra(self, directory: Path) -> None:
        self.text.save_extra(directory)

    def load_extra(self, directory: Path) -> None:
        self.text.load_extra(directory)


def _pairtext(text_preset: TextEncoderConfig, preset: dict[str, Any], config: dict[str, Any]) -> PairText:
    config = {**preset, **config}
    text = dict(config.pop("text", None) or {})
    probe = {**text, "tokenizer": config.get("tokenizer")}
    text = {k: v for k, v in with_text_preset(text_preset, probe).items() if k not in ("tokenizer", "pretrained_dir")}
    return PairText(text=text, **config)


@register_model("pairtext", kind="trainable.pairtext")
def pairtext(**config: Any) -> PairText:
    return _pairtext(TextEncoderConfig(), {}, config)


@register_model("pairtext-tiny", kind="trainable.pairtext")
def pairtext_tiny(**config: Any) -> PairText:
    return _pairtext(TextEncoderConfig.tiny(), {"pose_hidden": 32}, config)
