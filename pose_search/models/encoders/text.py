"""The from-scratch text encoder: a DistilBERT-layout transformer -> a transformer "topping".

The default text encoder is the pretrained one (:mod:`.pretrained_text`: frozen all-MiniLM-L6-v2
+ the same :class:`TextTopping`); this one, trained from random weights on our captions, stays as
the tiny variant of the tests and as an ablation (it knows no word outside the captions).

Architecture (``D`` = DistilBERT dim, ``E`` = output dim)::

    input_ids, attention_mask (B, L)
    -> DistilBERT (frozen by default)                         (B, L, D)
    -> ReLU -> Linear D->E -> + sinusoidal positions, dropout (B, L, E)
    -> post-norm TransformerEncoder (GELU, key-padding mask)  (B, L, E)
    -> mean over the valid tokens                             (B, E)   not normalised

DistilBERT is built from a config (random weights; the default has DistilBERT-base sizes, the
vocabulary being the tokenizer's) or loaded from a local ``distilbert-base-uncased`` directory;
never downloaded. The tokenizer travels with the checkpoint as ``tokenizer.json``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_search.checkpoint import CheckpointError
from pose_search.models.encoders.base import ModalityEncoder
from pose_search.models.encoders.tokenizer import TOKENIZER_FILE, TextTokenizer
from pose_search.models.registry import register_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextEncoderConfig:
    vocab_size: int = 30522
    dim: int = 768  # DistilBERT width
    n_layers: int = 6
    n_heads: int = 12
    hidden_dim: int = 3072
    max_position_embeddings: int = 512
    out_dim: int = 512  # topping width = output dim
    topping_layers: int = 4
    topping_heads: int = 4
    topping_ffn: int = 1024
    dropout: float = 0.1
    freeze_backbone: bool = True  # DistilBERT frozen (eval mode, no grad) even when training

    @classmethod
    def tiny(cls) -> TextEncoderConfig:
        """A small preset for tests."""
        return cls(
            vocab_size=4000,
            dim=64,
            n_layers=2,
            n_heads=2,
            hidden_dim=128,
            max_position_embeddings=256,
            out_dim=64,
            topping_layers=2,
            topping_heads=2,
            topping_ffn=128,
        )


class SinusoidalPositions(nn.Module):
    """Adds fixed sine/cosine position codes to ``(B, L, E)`` features, then dropout."""

    def __init__(self, dim: int, max_len: int, dropout: float) -> None:
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        table = torch.zeros(max_len, dim)
        table[:, 0::2] = torch.sin(pos * freq)
        table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
        self.register_buffer("table", table, persistent=False)  # fixed: not worth checkpointing
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] > self.table.shape[0]:
            raise ValueError(f"sequence of {x.shape[1]} tokens > {self.table.shape[0]} positions")
        return self.dropout(x + self.table[: x.shape[1]])


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` ``(B, L, E)`` over the positions where ``mask`` ``(B, L)`` is nonzero."""
    m = mask.to(x.dtype)[..., None]
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


# TextTopping runs a batch in chunks of this many rows of similar length (each cut to its longest)
BUCKET_ROWS = 32


class TextTopping(nn.Module):
    """The trainable part on a frozen backbone's token outputs (PoseScript's "topping")::

        h (B, L, D) -> ReLU -> Linear D->E -> + sinusoidal positions, dropout
        -> post-norm TransformerEncoder (GELU, key-padding mask) -> mean over the valid tokens (B, E)
    """

    def __init__(self, in_dim: int, out_dim: int, layers: int, heads: int, ffn: int, dropout: float,
                 max_len: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, out_dim)
        self.positions = SinusoidalPositions(out_dim, max_len, dropout)
        layer = nn.TransformerEncoderLayer(out_dim, heads, ffn, dropout, activation="gelu",
                                           batch_first=True, norm_first=False)
        self.topping = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Token features ``(B, L, D)`` + mask ``(B, L)`` (1 = token, padding at the end) ->
        features ``(B, E)``.

        A batch of mixed lengths (long PoseScript captions, 3-word queries) runs sorted by length
        in chunks of :data:`BUCKET_ROWS` rows, each cut to its own longest text: the padding never
        reaches the transformer, and the result is the same as one padded pass (the key-padding
        mask already kept padding out of every real token's output)."""
        lengths = mask.sum(1)
        if h.shape[0] <= BUCKET_ROWS:
            n = max(1, int(lengths.max()))
            return self._pooled(h[:, :n], mask[:, :n])
        order = torch.argsort(lengths)
        parts = []
        for rows in order.split(BUCKET_ROWS):
            n = max(1, int(lengths[rows].max()))
            parts.append(self._pooled(h[rows, :n], mask[rows, :n]))
        return torch.cat(parts)[torch.argsort(order)]

    def _pooled(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(b, n, D)``, ``(b, n)`` -> ``(b, E)``: the topping over one chunk of rows."""
        x = self.positions(self.proj(F.relu(h)))
        x = self.topping(x, src_key_padding_mask=mask == 0)
        return masked_mean(x, mask)


def _distilbert_config(cfg: TextEncoderConfig) -> Any:
    from transformers import DistilBertConfig

    return DistilBertConfig(
        vocab_size=cfg.vocab_size,
        dim=cfg.dim,
        n_layers=cfg.n_layers,
        n_heads=cfg.n_heads,
        hidden_dim=cfg.hidden_dim,
        max_position_embeddings=cfg.max_position_embeddings,
        pad_token_id=0,
    )


class TextEncoder(ModalityEncoder):
    """Texts (token ids ``(B, L)`` + mask ``(B, L)``) -> features ``(B, E)``, not normalised.

    ``tokenizer`` is a :class:`TextTokenizer` or the path of a ``tokenizer.json`` (or of a
    directory holding one); the vocabulary size defaults to its size. ``pretrained_dir`` loads
    DistilBERT's weights (and, without ``tokenizer``, its tokenizer) from a local
    ``distilbert-base-uncased`` directory; the architecture fields then come from that model.
    """

    modality = "text"
    token_output = False

    def __init__(
        self,
        tokenizer: TextTokenizer | str | Path | None = None,
        pretrained_dir: str | Path | None = None,
        **config: Any,
    ) -> None:
        super().__init__()
        if isinstance(tokenizer, (str, Path)):
            tokenizer = TextTokenizer.load(tokenizer)
        if pretrained_dir is not None and tokenizer is None:
            tokenizer = TextTokenizer.from_distilbert_dir(pretrained_dir)
        if tokenizer is not None and "vocab_size" not in config:
            config["vocab_size"] = tokenizer.vocab_size
        cfg = TextEncoderConfig(**config)
        self.tokenizer = tokenizer
        self.bert = self._build_backbone(cfg, pretrained_dir)
        bert_cfg = self.bert.config
        # The loaded model's sizes win over the config given (it is what the weights are).
        self.cfg = cfg = replace(
            cfg,
            vocab_size=bert_cfg.vocab_size,
            dim=bert_cfg.dim,
            n_layers=bert_cfg.n_layers,
            n_heads=bert_cfg.n_heads,
            hidden_dim=bert_cfg.hidden_dim,
            max_position_embeddings=bert_cfg.max_position_embeddings,
        )
        self._check_vocab()
        if cfg.freeze_backbone:
            self.bert.requires_grad_(False)
            self.bert.eval()
        self.head = TextTopping(cfg.dim, cfg.out_dim, cfg.topping_layers, cfg.topping_heads, cfg.topping_ffn,
                                cfg.dropout, cfg.max_position_embeddings)
        self.output_dim = cfg.out_dim

    @staticmethod
    def _build_backbone(cfg: TextEncoderConfig, pretrained_dir: str | Path | None) -> nn.Module:
        from transformers import DistilBertModel

        if pretrained_dir is None:
            return DistilBertModel(_distilbert_config(cfg))
        path = Path(pretrained_dir)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"{str(path)!r} is not a local DistilBERT directory (no config.json)"
            )
        log.info("loading DistilBERT weights from %s", path)
        return DistilBertModel.from_pretrained(str(path), local_files_only=True)

    def _check_vocab(self) -> None:
        if self.tokenizer is not None and self.tokenizer.vocab_size > self.cfg.vocab_size:
            raise ValueError(
                f"tokenizer has {self.tokenizer.vocab_size} tokens but the model "
                f"embeds only {self.cfg.vocab_size}"
            )

    def config(self) -> dict[str, Any]:
        return asdict(self.cfg)

    def train(self, mode: bool = True) -> TextEncoder:
        super().train(mode)
        if self.cfg.freeze_backbone:
            self.bert.train(False)  # a frozen backbone keeps its dropout off
        return self

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, L)`` int64 + mask ``(B, L)`` (1 = token) -> features ``(B, E)``."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.cfg.freeze_backbone):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(h, attention_mask)

    @torch.no_grad()
    def encode_texts(self, texts: list[str], cached: bool = False, batch: int = 256,
                     progress: bool = False) -> torch.Tensor:
        """Features ``(B, E)`` of texts (tokenised here, ``batch`` at a time), without gradients
        (``cached`` and ``progress``: accepted for the pretrained encoder's interface; no cache)."""
        device = next(self.parameters()).device
        return torch.cat([self(*(x.to(device) for x in self.tokenize(texts[s : s + batch]))).cpu()
                          for s in range(0, len(texts), batch)])

    def tokenize(
        self, texts: str | list[str], max_length: int = 256
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (``input_ids`` ``(B, L)``, ``attention_mask`` ``(B, L)``), on CPU."""
        if self.tokenizer is None:
            raise RuntimeError(
                "this text encoder has no tokenizer: pass one to the constructor "
                "or load the encoder from a checkpoint directory"
            )
        return self.tokenizer(texts, max_length=min(max_length, self.cfg.max_position_embeddings))

    def save_extra(self, directory: Path) -> None:
        """Checkpoint hook: write the tokenizer beside the weights."""
        if self.tokenizer is None:
            log.warning("saving a text encoder without a tokenizer to %s", directory)
            return
        self.tokenizer.save(Path(directory))

    def load_extra(self, directory: Path) -> None:
        """Checkpoint hook: read the tokenizer saved beside the weights."""
        file = Path(directory) / TOKENIZER_FILE
        if not file.is_file():
            raise CheckpointError(
                f"text encoder checkpoint {str(directory)!r} has no {TOKENIZER_FILE}; "
                "it cannot tokenise texts without it"
            )
        self.tokenizer = TextTokenizer.load(file)
        self._check_vocab()


def with_text_preset(preset: TextEncoderConfig, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` completed by ``preset``'s fields; the vocabulary size is left to a tokenizer or
    pretrained directory when ``config`` names one."""
    out = {k: v for k, v in asdict(preset).items() if k not in config}
    if config.get("tokenizer") is not None or config.get("pretrained_dir") is not None:
        out.pop("vocab_size", None)  # then the tokenizer / pretrained model decides
    return {**out, **config}


@register_model("posetext-text", kind="encoder.text")
def posetext_text(**config: Any) -> TextEncoder:
    return TextEncoder(**with_text_preset(TextEncoderConfig(), config))


@register_model("posetext-text-tiny", kind="encoder.text")
def posetext_text_tiny(**config: Any) -> TextEncoder:
    return TextEncoder(**with_text_preset(TextEncoderConfig.tiny(), config))
