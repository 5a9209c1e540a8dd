"""The index's LanceDB table: one row per embedded pose, vectors of every modality + metadata.

Layout of an index directory::

    INDEX/index.json          what was built (model, data, counts, table version, ANN indexes)
    INDEX/model/              the model (encoders/ + best/core), so INDEX alone answers queries
    INDEX/db/poses.lance      the LanceDB table (store of record, versioned)
    INDEX/ann/<modality>/     one ANN index per vector column (:mod:`indexing.ann`)
    INDEX/hits-v<N>.arrow     the metadata columns of table version N as an uncompressed Arrow
                              IPC file: memory-mapped, so a query's top-k rows are read in
                              microseconds instead of a Lance ``take`` (~14 ms on 1M rows)

Columns: ``id``, ``split``, ``family``, ``source``, ``meta`` (JSON), ``pose`` (66 float32, the
canonical ``(22, 3)`` pose), ``captions`` (list of strings), ``image_ref`` (where the image is:
``DATASET#ID`` for images stored in a dataset, a file path, or empty), and ``vec_<m>``, a
``fixed_size_list<float32>[D]`` unit vector per modality ``m`` (``vec_text``: the first caption).

Writes never show half a job: a build writes its rows to a staging Lance dataset first; the
first build renames it into place, later builds merge it by ``id`` in one commit
(:func:`commit_staging`), so re-running or resuming gives exactly one row per id.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pose_search.data.schema import POSE_DIM
from pose_search.files import FileError, check_path, read_json_file

TABLE = "poses"
VECTOR_PREFIX = "vec_"
INFO_FILE = "index.json"
MODEL_DIR = "model"
DB_DIR = "db"
ANN_DIR = "ann"
STAGING_DIR = "staging"
HITS_FILE = "hits-v{version}.arrow"
METADATA_COLUMNS = ("id", "split", "family", "source", "meta", "pose", "captions", "image_ref")


class IndexDirError(ValueError):
    """A missing, corrupt or incompatible index directory (a ValueError: one clear CLI line)."""


def vector_column(modality: str) -> str:
    return VECTOR_PREFIX + modality


def index_schema(dims: dict[str, int]) -> pa.Schema:
    """The table schema for vector sizes ``{modality: D}``."""
    fields = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("split", pa.string()),
        pa.field("family", pa.string()),
        pa.field("source", pa.string()),
        pa.field("meta", pa.string()),
        pa.field("pose", pa.list_(pa.float32(), POSE_DIM)),
        pa.field("captions", pa.list_(pa.string())),
        pa.field("image_ref", pa.string()),
    ]
    fields += [pa.field(vector_column(m), pa.list_(pa.float32(), d)) for m, d in sorted(dims.items())]
    return pa.schema(fields)


def fixed_size(x: np.ndarray) -> pa.FixedSizeListArray:
    """``(N, D)`` float -> an Arrow ``fixed_size_list<float32>[D]`` column (what Lance indexes)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def table_path(index_dir: str | Path) -> Path:
    return Path(index_dir) / DB_DIR / f"{TABLE}.lance"


def read_info(index_dir: str | Path) -> dict[str, Any]:
    """``index.json`` of an index directory, with clear errors when it is missing or corrupt."""
    try:
        root = check_path(index_dir, "index directory")
    except FileError as exc:
        raise IndexDirError(str(exc)) from None
    if not root.is_dir():
        raise IndexDirError(f"index directory {str(root)!r} does not exist")
    path = root / INFO_FILE
    if not path.is_file():
        raise IndexDirError(f"{str(root)!r} is not an index directory (no {INFO_FILE}); "
                          "build one with `pose-search index build`")
    try:
        info = read_json_file(path, "index description")
    except FileError as exc:
        raise IndexDirError(f"{exc} (the index is corrupt)") from None
    if not isinstance(info, dict):
        raise IndexDirError(f"{str(path)!r} is corrupt: expected a JSON object, got {type(info).__name__}")
    for key in ("modalities", "table_version", "rows"):
        if key not in info:
            raise IndexDirError(f"{str(path)!r} is corrupt: no {key!r}")
    if not table_path(root).is_dir():
        raise IndexDirError(f"index {str(root)!r} has no table ({str(table_path(root))!r} is missing)")
    return info


def write_info(index_dir: str | Path, info: dict[str, Any]) -> None:
    path = Path(index_dir) / INFO_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    os.replace(tmp, path)


def stored_ids(index_dir: str | Path) -> set[str]:
    """Ids already in the table (empty when there is no table yet)."""
    import lance

    path = table_path(index_dir)
    if not path.is_dir():
        return set()
    return set(lance.dataset(str(path)).to_table(columns=["id"]).column("id").to_pylist())


def commit_staging(index_dir: str | Path, staging: str | Path) -> int:
    """Make the staged rows visible in one commit; returns the table's new version.

    No table yet: the staging dataset is renamed into place (atomic), or, staged in object
    storage (a URI), copied into a new table in one commit. Otherwise the rows are merged by
    ``id`` (``merge_insert``: existing ids updated, new ids inserted) in one commit. The staging
    directory is removed afterwards.
    """
    import lance

    from pose_search import storage

    target = table_path(index_dir)
    if not target.is_dir() and not storage.is_uri(staging):
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
        return int(lance.dataset(str(target)).version)
    src = lance.dataset(str(staging))
    if not target.is_dir():
        tmp = target.with_name(target.name + ".tmp")  # renamed into place once complete
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        lance.write_dataset(src.scanner().to_reader(), str(tmp), schema=src.schema, mode="create")
        os.replace(tmp, target)
        storage.remove_tree(staging)
        return int(lance.dataset(str(target)).version)
    dst = lance.dataset(str(target))
    if src.schema != dst.schema:
        raise IndexDirError(f"new rows do not match the table's columns in {str(target)!r} "
                          "(a different model? build into a new --out)")
    dst.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(
        src.scanner().to_reader())
    storage.remove_tree(staging)
    return int(lance.dataset(str(target)).version)


def write_hit_cache(index_dir: str | Path, version: int) -> Path:
    """Write ``hits-v<version>.arrow`` (metadata columns, table row order) and remove older ones.

    Written to a temporary name and renamed: a reader sees a complete file or none."""
    import lance

    root = Path(index_dir)
    path = root / HITS_FILE.format(version=version)
    if path.exists():
        return path
    ds = lance.dataset(str(table_path(root)), version=version)
    tmp = path.with_suffix(".arrow.tmp")
    with pa.OSFile(str(tmp), "wb") as sink:
        scanner = ds.scanner(columns=list(METADATA_COLUMNS), batch_size=8192)
        with pa.ipc.new_file(sink, scanner.projected_schema) as writer:
            for batch in scanner.to_batches():
                writer.write_batch(batch)
    os.replace(tmp, path)
    for old in root.glob(HITS_FILE.format(version="*")):
        if old != path:
            old.unlink(missing_ok=True)
    return path


class HitCache:
    """Memory-mapped record batches of ``hits-v<N>.arrow``; :meth:`take` slices single rows out of
    their batch (zero-copy), avoiding Arrow's ``take`` on a chunked table, which concatenates the
    chunks (~300 ms per query on 1M rows)."""

    def __init__(self, batches: list[pa.RecordBatch]) -> None:
        self.batches = batches
        self.starts = np.cumsum([0] + [b.num_rows for b in batches])
        self.num_rows = int(self.starts[-1])

    def take(self, rows: np.ndarray, columns: list[str]) -> dict[str, list]:
        """``{column: [value per row]}`` for table rows ``rows`` (in that order)."""
        which = np.searchsorted(self.starts, rows, side="right") - 1
        parts = [self.batches[b].slice(int(r - self.starts[b]), 1).select(columns) for r, b in zip(rows, which)]
        return pa.Table.from_batches(parts).to_pydict() if parts else {c: [] for c in columns}


def open_hit_cache(index_dir: str | Path, version: int, rows: int) -> HitCache | None:
    """The memory-mapped metadata of table version ``version``, or None when there is no valid
    cache (the caller then reads rows from the Lance table)."""
    path = Path(index_dir) / HITS_FILE.format(version=version)
    if not path.is_file():
        return None
    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path), "r"))
        cache = HitCache([reader.get_batch(i) for i in range(reader.num_record_batches)])
    except (OSError, pa.ArrowInvalid):
        return None
    return cache if cache.num_rows == rows else None
