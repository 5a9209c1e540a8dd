"""Row lookups by id and filtered rows over a Lance table (the index's or a dataset's).

The UI asks "the pose of id X" and "page 3 of the val rows whose captions mention 'knee'" many
times, and a filtered search asks which rows pass its filters; :class:`RowLookup` reads the small
columns once (ids, then each filter column when first asked) and answers from memory, then fetches
the wide columns (poses, images) of just the rows it needs. It is the one implementation of the
filters of :mod:`pose_search.query` (a column equal to one of the values; ``caption``: any caption
contains one of the substrings, case-insensitive).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pose_search.query import CAPTION_FILTER


class UnknownIdError(ValueError):
    """No row has this id."""


class RowLookup:
    """A Lance dataset seen through its ``id`` column (``split`` and ``captions`` for filters)."""

    def __init__(self, dataset: Any, name: str) -> None:
        self.dataset = dataset
        self.name = name
        self._lock = threading.Lock()
        self._rows: dict[str, int] | None = None
        self._columns: dict[str, np.ndarray] = {}  # filter columns, as read (captions: joined, lower case)

    @classmethod
    def open(cls, path: str | Path, name: str) -> RowLookup:
        import lance

        return cls(lance.dataset(str(path)), name)

    def __len__(self) -> int:
        return self.dataset.count_rows()

    def _ids(self) -> dict[str, int]:
        with self._lock:
            if self._rows is None:
                ids = self.dataset.to_table(columns=["id"]).column(0).to_pylist()
                self._rows = {i: r for r, i in enumerate(ids)}
            return self._rows

    def _column(self, key: str) -> np.ndarray:
        with self._lock:
            if key not in self._columns:
                if key == CAPTION_FILTER:
                    caps = self.dataset.to_table(columns=["captions"]).column(0).to_pylist()
                    self._columns[key] = np.asarray(["\n".join(c or []).lower() for c in caps], dtype=object)
                else:
                    col = self.dataset.to_table(columns=[key]).column(0).to_numpy(zero_copy_only=False)
                    self._columns[key] = col.astype(str)
            return self._columns[key]

    def row_of(self, item_id: str) -> int | None:
        """The row number of ``item_id``, or None."""
        return self._ids().get(item_id)

    def get(self, item_id: str, columns: list[str]) -> dict[str, Any]:
        """``columns`` of the row with ``item_id``; :class:`UnknownIdError` when there is none."""
        row = self.row_of(item_id)
        if row is None:
            raise UnknownIdError(f"unknown id {item_id!r}: not in the {self.name}")
        return self.dataset.take([row], columns=columns).to_pylist()[0]

    def mask(self, filters: Mapping[str, tuple[str, ...]]) -> np.ndarray:
        """``(rows,)`` bool: the rows that pass every filter (checked ones: :func:`pose_search.query.check_filters`)."""
        keep = np.ones(len(self), dtype=bool)
        for key, values in filters.items():
            column = self._column(key)
            if key != CAPTION_FILTER:
                keep &= np.isin(column, values)
                continue
            needles = [n.strip().lower() for n in values if n.strip()]
            if not needles:
                raise ValueError("filter 'caption': expected a non-empty substring")
            keep &= np.fromiter((any(n in c for n in needles) for c in column), dtype=bool, count=len(column))
        return keep

    def matching(self, split: str | None = None, caption_contains: str | None = None) -> np.ndarray:
        """Row numbers with ``split`` (None: any) whose captions contain the substring
        (case-insensitive; None: any), in table order."""
        filters = {"split": (split,)} if split else {}
        if caption_contains and caption_contains.strip():
            filters[CAPTION_FILTER] = (caption_contains,)
        return np.flatnonzero(self.mask(filters))

    def take(self, rows: list[int], columns: list[str]) -> list[dict[str, Any]]:
        return self.dataset.take(rows, columns=columns).to_pylist() if rows else []
