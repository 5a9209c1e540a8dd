"""Reading and writing dataset directories: Lance tables plus ``manifest.json``.

Writes are crash-safe and idempotent by key: :func:`append_rows` drops rows whose key is already
stored and commits the rest in one Lance transaction, so a generator killed half-way leaves the
previous version readable and a re-run neither duplicates nor loses rows.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pose_search.data.schema import (
    OPTIONAL_POSE_COLUMNS,
    PAIR_SCHEMA,
    PAIRS_TABLE,
    POSE_SCHEMA,
    POSES_TABLE,
)

MANIFEST = "manifest.json"
TABLE_KEYS = {POSES_TABLE: "id", PAIRS_TABLE: "pair_id"}
TABLE_SCHEMAS = {POSES_TABLE: POSE_SCHEMA, PAIRS_TABLE: PAIR_SCHEMA}
OPTIONAL_COLUMNS = {POSES_TABLE: OPTIONAL_POSE_COLUMNS, PAIRS_TABLE: ()}


class DatasetError(ValueError):
    """A dataset directory is missing, corrupt or of the wrong kind; the message names it."""


def _lance():  # imported lazily: pylance is heavy
    import lance

    return lance


def table_uri(root: str | Path, table: str) -> str:
    """Where a table of a dataset lives: a local path or, for a dataset at a URI, a URI."""
    from pose_search import storage

    return storage.join(root, table)


def table_exists(root: str | Path, table: str) -> bool:
    from pose_search import storage

    return storage.exists(storage.join(table_uri(root, table), "_versions"))


def stored_keys(root: str | Path, table: str) -> set[str]:
    """Keys (``id`` / ``pair_id``) already stored in ``root/table``; empty if it does not exist."""
    if not table_exists(root, table):
        return set()
    key = TABLE_KEYS[table]
    ds = open_table(root, table)
    return set(ds.to_table(columns=[key]).column(key).to_pylist())


def append_rows(root: str | Path, table: str, data: pa.Table) -> int:
    """Append the rows of ``data`` whose key is not stored yet, in one commit. Returns the count."""
    schema = TABLE_SCHEMAS[table]
    if not data.schema.equals(schema):
        raise DatasetError(f"{table}: rows do not match the schema (got {data.schema})")
    key = TABLE_KEYS[table]
    keys = data.column(key)
    if len(set(keys.to_pylist())) != data.num_rows:
        raise DatasetError(f"{table}: duplicate {key} values inside one batch")
    if table_exists(root, table):
        stored = set(open_table(root, table).schema.names)
        missing = [f.name for f in schema if f.name not in stored]
        if missing:
            raise DatasetError(f"{table_uri(root, table)!r} was written before the column(s) "
                               f"{missing} existed; write into a new dataset directory")
    existing = stored_keys(root, table)
    if existing:
        data = data.filter(pc.invert(pc.is_in(keys, value_set=pa.array(sorted(existing)))))
    if data.num_rows == 0:
        return 0
    Path(root).mkdir(parents=True, exist_ok=True)
    mode = "append" if table_exists(root, table) else "create"
    _lance().write_dataset(data, table_uri(root, table), schema=schema, mode=mode)
    return data.num_rows


def open_table(root: str | Path, table: str) -> Any:
    """Open ``root/table`` as a ``lance.LanceDataset`` with a clear error when it is not one."""
    from pose_search import storage

    path = table_uri(root, table)
    if not storage.exists(path):
        raise DatasetError(f"dataset table {path!r} does not exist")
    try:
        return _lance().dataset(path)
    except Exception as exc:  # lance raises OSError/ValueError/its own types for corrupt data
        raise DatasetError(f"dataset table {str(path)!r} cannot be read: {exc}") from None


def read_table(root: str | Path, table: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Read a whole table (or some columns) into Arrow.

    Columns added to the schema after a dataset was written (:data:`OPTIONAL_COLUMNS`, e.g.
    ``caption_kinds``) come back as all-null columns of the schema's type, in the schema's place
    (or where ``columns`` asks), so readers see one layout for old and new datasets.
    """
    ds = open_table(root, table)
    schema, optional = TABLE_SCHEMAS.get(table), OPTIONAL_COLUMNS.get(table, ())
    stored = set(ds.schema.names)
    wanted = list(columns) if columns else None
    absent = [c for c in (wanted or optional) if c in optional and c not in stored]
    names = wanted or ([f.name for f in schema if f.name in stored or f.name in absent]
                       if schema is not None and absent else None)
    read = [c for c in names if c not in absent] if names is not None else None
    try:
        data = ds.to_table(columns=read)
    except Exception as exc:
        raise DatasetError(f"dataset table {table_uri(root, table)!r} cannot be read: {exc}") from None
    if not absent or schema is None or names is None:
        return data
    cols = {c: (pa.nulls(data.num_rows, schema.field(c).type) if c in absent else data.column(c))
            for c in names}
    return pa.table(cols)


def write_json_atomic(path: str | Path, value: Any) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(value, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def read_manifest(root: str | Path) -> dict[str, Any]:
    """The dataset's manifest; a clear error when the directory is not a dataset.

    ``root`` may be a URI (``s3://...``); only the manifest file is read then."""
    from pose_search import storage
    from pose_search.files import FileError, check_path, read_json_file

    if not storage.is_uri(root):
        try:
            check_path(root, "dataset directory")
        except FileError as exc:
            raise DatasetError(str(exc)) from None
    path = storage.join(root, MANIFEST)
    if not storage.exists(root):
        raise DatasetError(f"dataset directory {str(root)!r} does not exist")
    if not storage.is_uri(path) and Path(path).exists() and not Path(path).is_dir():
        try:  # a regular file within size limits (a FIFO there would block the reader)
            manifest = read_json_file(path, "dataset manifest")
        except FileError as exc:
            raise DatasetError(str(exc)) from None
        return _check_manifest(manifest, path)
    try:
        text = storage.read_bytes(path).decode(errors="replace")
    except FileNotFoundError:
        raise DatasetError(f"{str(root)!r} is not a pose-search dataset (no {MANIFEST})") from None
    except (IsADirectoryError, NotADirectoryError):
        raise DatasetError(f"{str(root)!r} is not a pose-search dataset (no {MANIFEST} file)") from None
    except OSError as exc:
        raise DatasetError(f"{path!r} cannot be read: {exc}") from None
    try:
        manifest = json.loads(text)
    except RecursionError:
        raise DatasetError(f"{str(path)!r}: JSON nested too deeply") from None
    except ValueError as exc:
        raise DatasetError(f"{str(path)!r} is not valid JSON: {exc}") from None
    return _check_manifest(manifest, path)


def _check_manifest(manifest: Any, path: str | Path) -> dict[str, Any]:
    if not isinstance(manifest, dict) or "kind" not in manifest:
        raise DatasetError(f"{str(path)!r} has no 'kind' field")
    return manifest
