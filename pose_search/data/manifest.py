"""Dataset manifests: what a dataset directory holds and how it was made (``manifest.json``)."""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from pose_search.data.schema import GENERATOR_VERSION, PAIRS_TABLE, POSES_TABLE
from pose_search.data.store import read_table, table_exists


def caption_statistics(captions: list[list[str]]) -> dict[str, float]:
    """Counts a reader checks first: captions per pose, words per caption, vocabulary size."""
    flat = [c for caps in captions for c in caps if c.strip()]
    words = [w.strip(".,;:!?").lower() for c in flat for w in c.split()]
    return {
        "captions_per_item_min": min((len(c) for c in captions), default=0),
        "captions_per_item_mean": (len(flat) / len(captions)) if captions else 0.0,
        "words_per_caption_mean": (len(words) / len(flat)) if flat else 0.0,
        "vocabulary_size": len(set(words)),
        "unique_captions": len(set(flat)),
    }


def build_manifest(root: str | Path, config: Any, *, status: str, seconds: float | None = None,
                   source: str = "synthetic") -> dict[str, Any]:
    """Summarise the tables under ``root`` into a manifest dict."""
    cfg = asdict(config) if is_dataclass(config) else dict(config)
    manifest: dict[str, Any] = {
        "kind": cfg.get("kind", "script"),
        "source": source,
        "generator_version": GENERATOR_VERSION,
        "seed": cfg.get("seed"),
        "config": cfg,
        "status": status,
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "counts": {},
    }
    if seconds is not None:
        manifest["seconds"] = round(seconds, 2)
    if table_exists(root, POSES_TABLE):
        t = read_table(root, POSES_TABLE, ["split", "family", "captions", "caption_kinds"])
        manifest["counts"]["poses"] = t.num_rows
        manifest["counts"]["poses_per_split"] = dict(collections.Counter(t.column("split").to_pylist()))
        manifest["counts"]["families"] = dict(sorted(collections.Counter(t.column("family").to_pylist()).items()))
        manifest["caption_statistics"] = caption_statistics(t.column("captions").to_pylist())
        kinds = [k for ks in t.column("caption_kinds").to_pylist() if ks for k in ks]
        if kinds:  # (datasets written before caption kinds have none)
            manifest["counts"]["caption_kinds"] = dict(sorted(collections.Counter(kinds).items()))
    if table_exists(root, PAIRS_TABLE):
        t = read_table(root, PAIRS_TABLE, ["split", "kind", "instructions"])
        manifest["counts"]["pairs"] = t.num_rows
        manifest["counts"]["pairs_per_split_kind"] = dict(
            collections.Counter(f"{s}/{k}" for s, k in zip(t.column("split").to_pylist(), t.column("kind").to_pylist()))
        )
        manifest["instruction_statistics"] = caption_statistics(t.column("instructions").to_pylist())
    return manifest
