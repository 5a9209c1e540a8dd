"""A disk cache of a frozen text backbone's token outputs, per text.

The backbone is frozen, so its output for a caption never changes: computing it once per caption
lets PoseText train its topping (and the core cache its text features) on a CPU without running
the backbone every epoch. The cache is a folder of immutable *parts*, each written whole and then
renamed into place (a killed run leaves no half part)::

    <root>/part-<hex>/tokens.npy    (T, H) float16   the token outputs of the part's texts, end to end
    <root>/part-<hex>/offsets.npy   (n + 1,) int64   text i is tokens[offsets[i]:offsets[i+1]]
    <root>/part-<hex>/texts.json    [n strings]

``<root>`` names the backbone (its weights' hash) and the token limit, so another backbone never
reads these features. Parts are memory-mapped: a 60k-pose dataset's ~4 GB stays on disk.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

ComputeFn = Callable[[list[str]], list[np.ndarray]]  # texts -> per text (L_i, H) token outputs
PART_TEXTS = 8192  # texts per part: a fill cut short keeps the parts it finished


class TokenTable:
    """Token outputs of a list of texts (views into the cache's parts): ``gather`` pads a batch."""

    def __init__(self, parts: Sequence[np.ndarray], where: np.ndarray, hidden: int) -> None:
        self.parts = list(parts)
        self.where = where  # (n, 3) int64: part, start, length
        self.hidden = hidden

    def __len__(self) -> int:
        return len(self.where)

    def gather(self, index: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts ``index`` ``(B,)`` -> (token outputs ``(B, L, H)`` float32, mask ``(B, L)`` int64),
        padded with zeros to the longest of the batch."""
        rows = self.where[np.asarray(index, dtype=np.int64).reshape(-1)]
        longest = int(rows[:, 2].max()) if len(rows) else 0
        h = np.zeros((len(rows), longest, self.hidden), np.float32)
        mask = np.zeros((len(rows), longest), np.int64)
        for i, (part, start, length) in enumerate(rows):
            h[i, :length] = self.parts[part][start : start + length]
            mask[i, :length] = 1
        return torch.from_numpy(h), torch.from_numpy(mask)


class TokenCache:
    """The cache folder ``root`` for one backbone (``hidden`` = its width ``H``)."""

    def __init__(self, root: str | Path, hidden: int) -> None:
        self.root = Path(root)
        self.hidden = hidden

    def _parts(self) -> tuple[list[np.ndarray], dict[str, tuple[int, int, int]]]:
        parts: list[np.ndarray] = []
        known: dict[str, tuple[int, int, int]] = {}
        if not self.root.is_dir():
            return parts, known
        for folder in sorted(p for p in self.root.iterdir() if p.name.startswith("part-")):
            try:
                tokens = np.load(folder / "tokens.npy", mmap_mode="r", allow_pickle=False)
                offsets = np.load(folder / "offsets.npy", allow_pickle=False)
                texts = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:  # a damaged part: ignored (its texts are recomputed)
                log.warning("token cache part %s is unreadable (%s); ignoring it", folder, exc)
                continue
            if tokens.ndim != 2 or tokens.shape[1] != self.hidden or len(offsets) != len(texts) + 1 \
                    or offsets[-1] != len(tokens):
                log.warning("token cache part %s does not fit (shape %s); ignoring it", folder, tokens.shape)
                continue
            p = len(parts)
            parts.append(tokens)
            for i, text in enumerate(texts):
                known[text] = (p, int(offsets[i]), int(offsets[i + 1] - offsets[i]))
        return parts, known

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The distinct ``texts`` that the cache does not hold yet."""
        known = self._parts()[1]
        return list(dict.fromkeys(t for t in texts if t not in known))

    def table(self, texts: Sequence[str], compute: ComputeFn, batch: int = 64,
              progress: bool = False, part_texts: int = PART_TEXTS) -> TokenTable:
        """The token outputs of ``texts`` (in that order), computing the missing ones and storing
        them in parts of ``part_texts`` texts (a run killed mid-fill resumes after its last part)."""
        parts, known = self._parts()
        missing = sorted({t for t in texts if t not in known}, key=len)  # similar lengths batch well
        if missing:
            from tqdm import tqdm

            with tqdm(total=len(missing), desc="text backbone", unit="text", disable=not progress) as bar:
                for s in range(0, len(missing), part_texts):
                    self._write(missing[s : s + part_texts], compute, batch, bar.update)
            parts, known = self._parts()
        where = np.asarray([known[t] for t in texts], np.int64).reshape(-1, 3)
        return TokenTable(parts, where, self.hidden)

    def _write(self, texts: list[str], compute: ComputeFn, batch: int, done: Callable[[int], object]) -> None:
        """Compute ``texts`` in batches of ``batch`` (``done(n)`` after each) and store them as one part."""
        outputs: list[np.ndarray] = []
        for s in range(0, len(texts), batch):
            chunk = compute(texts[s : s + batch])
            outputs += [np.asarray(x, np.float16) for x in chunk]
            done(len(chunk))
        offsets = np.zeros(len(texts) + 1, np.int64)
        offsets[1:] = np.cumsum([len(x) for x in outputs])
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            np.save(tmp / "tokens.npy", np.concatenate(outputs) if outputs else
                    np.zeros((0, self.hidden), np.float16))
            np.save(tmp / "offsets.npy", offsets)
            (tmp / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
            os.replace(tmp, self.root / f"part-{uuid.uuid4().hex}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("token cache %s: %d texts, %d tokens added", self.root, len(texts), int(offsets[-1]))
