"""Instruction head: pose pair (A -> B) representations -> a corrective text (spec 5.3).

    x_A, x_B (B, 512) -> TIRG (main = B, modifier = A) -> Linear -> one memory token (B, 1, d)
    tokens (B, L)     -> embedding (init std d^-1/2) * sqrt(d) + sinusoidal positions -> TransformerDecoder
                         (causal, post-norm, GELU, cross-attention to the memory) -> Linear -> vocab

TIRG: ``c = [x_B; x_A]``; ``z = a0 * sigmoid(gate(c)) * x_B + a1 * res(c)`` with
``gate = BN -> ReLU -> Linear(2D -> D)``, ``res = BN -> ReLU -> Linear(2D -> 2D) -> ReLU ->
Linear(2D -> D)``, ``(a0, a1)`` learnable from (1, 1). The tokenizer is the text encoder's (saved
with the checkpoint). Decoding: greedy or sampling from [CLS], [SEP] forbidden before
``min_length`` tokens (per sequence), until every sequence has emitted [SEP] or ``max_length``
tokens are out.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from pose_search.models.encoders.tokenizer import TOKENIZER_FILE, TextTokenizer
from pose_search.models.registry import register_model


class TIRG(nn.Module):
    """Text-image-residual-gating composition of a main vector and a modifier, ``(B, D) x 2 -> (B, D)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(nn.BatchNorm1d(2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        self.res = nn.Sequential(nn.BatchNorm1d(2 * dim), nn.ReLU(), nn.Linear(2 * dim, 2 * dim), nn.ReLU(),
                                 nn.Linear(2 * dim, dim))
        self.a = nn.Parameter(torch.ones(2))

    def forward(self, main: torch.Tensor, modifier: torch.Tensor) -> torch.Tensor:
        c = torch.cat([main, modifier], dim=1)
        return self.a[0] * torch.sigmoid(self.gate(c)) * main + self.a[1] * self.res(c)


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """``(length, dim)`` fixed sinusoidal position encodings."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: dim // 2])
    return pe


@dataclass
class InstructionConfig:
    rep_dim: int = 512
    d_model: int = 512
    n_heads: int = 8
    n_layers: int = 4
    ffn: int = 1024
    dropout: float = 0.1
    vocab_size: int = 30522
    max_length: int = 128


class InstructionGenerator(nn.Module):
    """TIRG comparison + transformer text decoder (see module docstring)."""

    def __init__(self, tokenizer: TextTokenizer | str | Path | None = None, **config: object) -> None:
        super().__init__()
        if isinstance(tokenizer, (str, Path)):
            tokenizer = TextTokenizer.load(tokenizer)
        if tokenizer is not None and "vocab_size" not in config:
            config["vocab_size"] = tokenizer.vocab_size
        self.cfg = InstructionConfig(**config)  # type: ignore[arg-type]
        c = self.cfg
        self.tokenizer = tokenizer
        self.compare = TIRG(c.rep_dim)
        self.adapter = nn.Linear(c.rep_dim, c.d_model)
        self.embed = nn.Embedding(c.vocab_size, c.d_model, padding_idx=0)
        # scaled by sqrt(d) in ``logits``: start at unit scale, like the positions, instead of
        # sqrt(d) times larger (nn.Embedding's N(0, 1)), which drowns the positions (measured: that
        # init needed 600 steps for the loss this one reaches in 150; benchmarks/README.md)
        nn.init.normal_(self.embed.weight, std=c.d_model ** -0.5)
        with torch.no_grad():
            self.embed.weight[0].zero_()
        self.register_buffer("positions", sinusoidal_positions(c.max_length + 1, c.d_model), persistent=False)
        self.pos_dropout = nn.Dropout(c.dropout)
        layer = nn.TransformerDecoderLayer(c.d_model, c.n_heads, c.ffn, c.dropout, activation="gelu", batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, c.n_layers)
        self.out = nn.Linear(c.d_model, c.vocab_size)

    def config(self) -> dict:
        return asdict(self.cfg)

    # ---------------------------------------------------------------- checkpoint hooks
    def save_extra(self, directory: Path) -> None:
        if self.tokenizer is not None:
            self.tokenizer.save(Path(directory))

    def load_extra(self, directory: Path) -> None:
        from pose_search.checkpoint import CheckpointError

        file = Path(directory) / TOKENIZER_FILE
        if not file.is_file():
            raise CheckpointError(f"instruction model {str(directory)!r} has no {TOKENIZER_FILE}")
        self.tokenizer = TextTokenizer.load(file)

    # ---------------------------------------------------------------- model
    def memory(self, rep_a: torch.Tensor, rep_b: torch.Tensor) -> torch.Tensor:
        """``(B, D) x 2 -> (B, 1, d_model)``: the single memory token of the pair A -> B."""
        if rep_a.shape != rep_b.shape or rep_a.ndim != 2 or rep_a.shape[1] != self.cfg.rep_dim:
            raise ValueError(f"representations: expected two (B, {self.cfg.rep_dim}) tensors, "
                             f"got {tuple(rep_a.shape)} and {tuple(rep_b.shape)}")
        return self.adapter(self.compare(rep_b, rep_a))[:, None]

    def logits(self, memory: torch.Tensor, ids: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        """Next-token logits ``(B, L, V)`` for token ids ``(B, L)`` given the memory ``(B, 1, d)``."""
        length = ids.shape[1]
        if length > self.cfg.max_length + 1:
            raise ValueError(f"sequence of {length} tokens exceeds max_length {self.cfg.max_length}")
        x = self.embed(ids) * math.sqrt(self.cfg.d_model) + self.positions[:length]
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=ids.device), diagonal=1)
        h = self.decoder(self.pos_dropout(x), memory, tgt_mask=causal, tgt_key_padding_mask=pad)
        return self.out(h)

    def loss(self, rep_a: torch.Tensor, rep_b: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Next-token cross-entropy over the non-pad tokens of ``ids`` / ``mask`` ``(B, L)``
        (columns past the longest text are cut first: the same loss, less work)."""
        longest = max(2, int(mask.sum(1).max()))
        ids, mask = ids[:, :longest], mask[:, :longest]
        logits = self.logits(self.memory(rep_a, rep_b), ids[:, :-1], pad=mask[:, :-1] == 0)
        target = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)

    @torch.no_grad()
    def generate(self, rep_a: torch.Tensor, rep_b: torch.Tensor, max_new: int | None = None, min_length: int = 10,
                 sample: bool = False, temperature: float = 1.0, top_k: int = 0,
                 generator: torch.Generator | None = None,
                 no_repeat_ngram: int = 0) -> tuple[list[str], torch.Tensor]:
        """Texts for each pair and their mean token log-likelihood ``(B,)``; at most ``max_new``
        tokens (default: the model's ``max_length``, the longest text it was trained on).
        ``no_repeat_ngram=n`` (> 1) forbids a token that would repeat an n-gram of the same text
        (not in the paper; 0: off)."""
        if self.tokenizer is None:
            raise RuntimeError("this instruction model has no tokenizer")
        if no_repeat_ngram < 0 or no_repeat_ngram == 1:
            raise ValueError(f"no_repeat_ngram {no_repeat_ngram}: expected 0 (off) or an n-gram length >= 2")
        tok = self.tokenizer
        memory = self.memory(rep_a, rep_b)
        b = memory.shape[0]
        ids = torch.full((b, 1), tok.cls_id, dtype=torch.long, device=memory.device)
        done = torch.zeros(b, dtype=torch.bool, device=memory.device)
        logp_sum = torch.zeros(b, device=memory.device)
        steps = torch.zeros(b, device=memory.device)
        for t in range(min(max_new or self.cfg.max_length, self.cfg.max_length)):
            logits = self.logits(memory, ids)[:, -1].float()
            logits[:, tok.pad_id] = float("-inf")
            if t < min_length:
                logits[:, tok.sep_id] = float("-inf")
            if no_repeat_ngram:
                _block_repeats(logits, ids, no_repeat_ngram)
            logp = F.log_softmax(logits / max(temperature, 1e-6), dim=-1)
            if sample:
                if top_k > 0:
                    kth = logp.topk(top_k, dim=-1).values[:, -1:]
                    logp = logp.masked_fill(logp < kth, float("-inf"))
                nxt = torch.multinomial(logp.exp(), 1, generator=generator)[:, 0]
            else:
                nxt = logp.argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, tok.pad_id), nxt)
            logp_sum += torch.where(done, torch.zeros_like(logp_sum), logp.gather(1, nxt[:, None])[:, 0])
            steps += (~done).float()
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            done |= nxt == tok.sep_id
            if done.all():
                break
        texts = [postprocess(tok.decode([i for i in row.tolist() if i not in (tok.pad_id,)])) for row in ids]
        return texts, logp_sum / steps.clamp(min=1)


def _block_repeats(logits: torch.Tensor, ids: torch.Tensor, n: int) -> None:
    """In place: ``-inf`` on every next token of ``logits`` ``(B, V)`` that would end an n-gram
    already in its row of ``ids`` ``(B, T)``."""
    if ids.shape[1] < n:
        return
    grams = ids.unfold(1, n, 1)  # (B, T - n + 1, n)
    prefix = ids[:, -(n - 1):]  # (B, n - 1): the n-gram the next token would end
    hit = (grams[:, :, :-1] == prefix[:, None]).all(-1)  # (B, T - n + 1)
    rows, cols = hit.nonzero(as_tuple=True)
    logits[rows, grams[rows, cols, -1]] = float("-inf")


def postprocess(text: str) -> str:
    """Capitalise sentence starts and letter shapes ("an L shape": the tokenizer is uncased), and
    re-join WordPiece-split punctuation spacing."""
    text = re.sub(r"\s+([,.;:!?])", r"\1", text.strip())
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\b([b-z])([ -]shaped?)\b", lambda m: m.group(1).upper() + m.group(2), text)
    parts = re.split(r"([.!?]\s+)", text)
    return "".join(p[:1].upper() + p[1:] if i % 2 == 0 else p for i, p in enumerate(parts))


@register_model("instruction-generator", kind="head.instructions")
def _generator(**config: object) -> InstructionGenerator:
    return InstructionGenerator(**config)


@register_model("instruction-generator-tiny", kind="head.instructions")
def _generator_tiny(**config: object) -> InstructionGenerator:
    return InstructionGenerator(**{"rep_dim": 32, "d_model": 32, "n_heads": 2, "n_layers": 1, "ffn": 64, **config})
