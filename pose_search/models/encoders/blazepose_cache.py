"""BlazePose results by image content, kept on disk (SQLite) and shared by processes.

BlazePose runs each image alone in static-image mode, so its answer depends only on the pixels
and the settings: the same render met again (the core's feature cache, then the HPS head's, then
the index's embedding actors) costs one hash and one lookup instead of ~50 ms of MediaPipe.

    cache = ResultCache(cache_dir() / "blazepose" / "results.sqlite", namespace="mediapipe0.10.21-c1-d0.5")
    keys = [cache.key(px) for px in pixels]        # (H, W, 3) uint8 each
    hit = cache.get(keys)                           # {key: (265,) float32}
    cache.put({k: feats[i] for i, k in ...})

The cache never breaks encoding: an unreadable or locked database logs a warning and the images
are simply computed. Pickled copies (Ray tasks) and forked children open their own connection.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class ResultCache:
    """Feature vectors ``(D,)`` float32 by image-content key, in one SQLite file."""

    def __init__(self, path: str | Path, namespace: str) -> None:
        self.path, self.namespace = Path(path), namespace
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._broken = False

    def key(self, pixels: np.ndarray) -> str:
        """Identity of one uint8 image ``(H, W, 3)`` under this cache's settings."""
        h = hashlib.sha256(self.namespace.encode())
        h.update(repr(pixels.shape).encode())
        h.update(np.ascontiguousarray(pixels).tobytes())
        return h.hexdigest()

    def _connect(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        if self._conn is None or self._pid != os.getpid():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)
                return None
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _give_up(self, exc: Exception) -> None:
        log.warning("BlazePose result cache %s unusable (%s): computing without it", self.path, exc)
        self._broken = True

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys``."""
        conn = self._connect()
        if conn is None or not keys:
            return {}
        out: dict[str, np.ndarray] = {}
        try:
            for s in range(0, len(keys), 500):  # SQLite's limit on bound parameters
                part = keys[s : s + 500]
                rows = conn.execute(f"SELECT key, value FROM results WHERE key IN ({','.join('?' * len(part))})",
                                    part).fetchall()
                out.update((k, np.frombuffer(v, dtype=np.float32).copy()) for k, v in rows)
        except sqlite3.Error as exc:
            self._give_up(exc)
            return {}
        return out

    def put(self, items: dict[str, np.ndarray]) -> None:
        """Store vectors (float32) under their keys, in one transaction."""
        conn = self._connect()
        if conn is None or not items:
            return
        try:
            with conn:  # (isolation_level None: the context manager still commits or rolls back)
                conn.execute("BEGIN")
                conn.executemany("INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)",
                                 [(k, np.asarray(v, np.float32).tobytes()) for k, v in items.items()])
        except sqlite3.Error as exc:
            self._give_up(exc)

    def __len__(self) -> int:
        conn = self._connect()
        return 0 if conn is None else int(conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_conn"], state["_pid"] = None, None
        return state
