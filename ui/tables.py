"""Row lookups by id and filtered paging over a Lance table (the index's or a dataset's).

The UI asks "the pose of id X" and "page 3 of the val rows whose captions mention 'knee'" many
times; :class:`RowLookup` reads the small columns once (ids, splits, captions) and answers both
from memory, then fetches the wide columns (poses, images) of just the rows it needs.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np


class UnknownIdError(ValueError):
    """No row has this id."""


class RowLookup:
    """A Lance dataset seen through its ``id`` column (``split`` and ``captions`` for filters)."""

    def __init__(self, dataset: Any, name: str) -> None:
        self.dataset = dataset
        self.name = name
        self._lock = threading.Lock()
        self._rows: dict[str, int] | None = None
        self._split: np.ndarray | None = None
        self._captions: list[str] | None = None

    @classmethod
    def open(cls, path: str | Path, name: str) -> RowLookup:
        import lance

        return cls(lance.dataset(str(path)), name)

    def __len__(self) -> int:
        return self.dataset.count_rows()

    def _load(self) -> None:
        with self._lock:
            if self._rows is not None:
                return
            t = self.dataset.to_table(columns=["id", "split", "captions"])
            ids = t.column("id").to_pylist()
            self._split = np.asarray(t.column("split").to_pylist(), dtype=object)
            self._captions = ["\n".join(c or []).lower() for c in t.column("captions").to_pylist()]
            self._rows = {i: r for r, i in enumerate(ids)}

    def row_of(self, item_id: str) -> int | None:
        """The row number of ``item_id``, or None."""
        self._load()
        assert self._rows is not None
        return self._rows.get(item_id)

    def get(self, item_id: str, columns: list[str]) -> dict[str, Any]:
        """``columns`` of the row with ``item_id``; :class:`UnknownIdError` when there is none."""
        row = self.row_of(item_id)
        if row is None:
            raise UnknownIdError(f"unknown id {item_id!r}: not in the {self.name}")
        return self.dataset.take([row], columns=columns).to_pylist()[0]

    def matching(self, split: str | None = None, caption_contains: str | None = None) -> np.ndarray:
        """Row numbers with ``split`` (None: any) whose captions contain the substring
        (case-insensitive; None: any), in table order."""
        self._load()
        assert self._split is not None and self._captions is not None
        keep = np.ones(len(self._split), dtype=bool)
        if split:
            keep &= self._split == split
        needle = (caption_contains or "").strip().lower()
        if needle:
            keep &= np.fromiter((needle in c for c in self._captions), dtype=bool, count=len(self._captions))
        return np.flatnonzero(keep)

    def take(self, rows: list[int], columns: list[str]) -> list[dict[str, Any]]:
        return self.dataset.take(rows, columns=columns).to_pylist() if rows else []
