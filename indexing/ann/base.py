"""The contract every vector index honours, the errors it raises, and the shared input checks.

Shapes used throughout the package:

* database vectors ``(N, D)`` float32, L2-normalised (the metric is the inner product);
* queries ``(Q, D)`` float32, L2-normalised;
* search results ``scores (Q, k)`` float32 and ``rows (Q, k)`` int64, best first, where ``rows``
  are positions ``0..N-1`` in the order the vectors were given to ``build_index``; a query with
  fewer than ``k`` results is padded with ``row = -1`` and ``score = -inf``.

Saving is atomic (:func:`atomic_directory`): files go to a hidden sibling directory that is
renamed into place last, so a failed save never leaves a half-written index where a reader looks.
``index.json`` (the index's ``info`` plus file checksums) is written last inside it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pose_search.files import FileError, read_json_file

KINDS = ("flat", "hnsw", "ivfpq", "lance")
MAX_K = 10_000
"""Largest ``k`` a search accepts (bigger asks are almost always a bug; use exact_search)."""
METRIC = "inner_product"
FORMAT_VERSION = 1
INFO_FILE = "index.json"


class IndexLoadError(Exception):
    """Base of the errors :func:`indexing.ann.load_index` raises for a bad index directory."""


class IndexNotFoundError(IndexLoadError, FileNotFoundError):
    """The index directory, or a file it must hold, does not exist."""


class CorruptIndexError(IndexLoadError, ValueError):
    """A file of the index directory exists but cannot be read or does not match index.json."""


class GpuUnavailableError(RuntimeError):
    """``gpu=True`` was asked but faiss sees no GPU (or is the CPU-only build)."""


@runtime_checkable
class VectorIndex(Protocol):
    """What the search service calls; implemented by the FAISS and LanceDB backends."""

    kind: str  # "flat" | "hnsw" | "ivfpq" | "lance"
    dim: int

    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``queries (Q, D)`` float32 -> ``(scores (Q, k) float32, rows (Q, k) int64)``."""
        ...

    def save(self, directory: str | Path) -> None: ...

    @property
    def info(self) -> dict: ...


# ---------------------------------------------------------------------------------------------
# input checks


def check_matrix(x: Any, name: str, dim: int | None = None, *, allow_empty: bool = False) -> np.ndarray:
    """Validate an ``(n, D)`` real matrix and return it as C-contiguous float32.

    Floating dtypes (float16/32/64) are accepted and cast; integers, booleans, complex and
    object arrays are refused, as are NaN/inf values and a width different from ``dim``.
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # noqa: BLE001 - anything numpy cannot take is bad input
            raise ValueError(f"{name}: expected a 2-D float32 array, got {type(x).__name__}") from exc
    if arr.dtype.kind != "f":
        raise ValueError(f"{name}: expected a float32 array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        hint = " (a single vector: use x.reshape(1, -1))" if arr.ndim == 1 else ""
        raise ValueError(f"{name}: expected a 2-D array (n, dim), got shape {arr.shape}{hint}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name}: vectors have dimension 0")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name}: dimension {arr.shape[1]} does not match the index dimension {dim}")
    if arr.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name}: empty (0 vectors)")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    step = 65_536  # blockwise: no (N, D) boolean temporary for a 1M x 512 database
    finite = np.concatenate([np.isfinite(arr[i : i + step]).all(axis=1) for i in range(0, len(arr), step)] or
                            [np.ones(0, dtype=bool)])
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(f"{name}: {bad.size} vector(s) contain NaN or inf (first at row {int(bad[0])})")
    return arr


def check_k(k: Any) -> int:
    """``k`` must be an int in ``1..MAX_K``; ``k`` larger than the index size is fine (padded)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer, got {k!r}")
    k = int(k)
    if k <= 0:
        raise ValueError(f"k must be >= 1, got {k}")
    if k > MAX_K:
        raise ValueError(f"k={k} exceeds the maximum of {MAX_K}; use exact_search for bigger k")
    return k


def pad_results(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Widen ``(Q, k')`` results to ``(Q, k)`` and normalise missing hits to ``(-inf, -1)``."""
    q = rows.shape[0]
    out_s = np.full((q, k), -np.inf, dtype=np.float32)
    out_r = np.full((q, k), -1, dtype=np.int64)
    w = min(k, rows.shape[1])
    out_r[:, :w] = rows[:, :w]
    out_s[:, :w] = scores[:, :w]
    out_s[out_r < 0] = -np.inf
    out_r[out_r < 0] = -1
    return out_s, out_r


def empty_results(q: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((q, k), -np.inf, dtype=np.float32), np.full((q, k), -1, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# files


def file_checksum(path: Path, chunk: int = 1 << 24) -> dict[str, int]:
    """``{"bytes": size, "crc32": crc}``: cheap corruption detection (not a security hash)."""
    crc = 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            crc = zlib.crc32(block, crc)
    return {"bytes": path.stat().st_size, "crc32": crc}


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield an empty hidden sibling of ``target``; on success rename it to ``target``.

    An existing ``target`` directory is replaced (moved aside, then deleted after the rename).
    On any exception the temporary directory is removed and ``target`` is left untouched.
    """
    target = Path(target).absolute()
    if target.exists() and not target.is_dir():
        raise ValueError(f"cannot save an index to {target}: it exists and is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_info(directory: Path, info: dict) -> None:
    """Write ``index.json`` (call last: its presence marks a complete index directory)."""
    payload = {"format_version": FORMAT_VERSION, **info}
    (directory / INFO_FILE).write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")


def read_info(directory: str | Path) -> dict:
    """Read and sanity-check ``index.json``; raise IndexNotFoundError / CorruptIndexError."""
    d = Path(directory)
    if not d.exists():
        raise IndexNotFoundError(f"index directory {d} does not exist")
    if not d.is_dir():
        raise IndexNotFoundError(f"index directory {d} is not a directory")
    path = d / INFO_FILE
    if not path.is_file():
        raise IndexNotFoundError(
            f"index directory {d} has no {INFO_FILE} (not an index, or its save did not finish)"
        )
    try:
        info = read_json_file(path, "ANN index description")
    except (FileError, OSError) as exc:
        raise CorruptIndexError(f"index directory {d}: {INFO_FILE} is not valid JSON ({exc})") from None
    if not isinstance(info, dict):
        raise CorruptIndexError(f"index directory {d}: {INFO_FILE} does not hold an object")
    missing = [key for key in ("format_version", "kind", "dim", "n") if key not in info]
    if missing:
        raise CorruptIndexError(f"index directory {d}: {INFO_FILE} lacks {', '.join(missing)}")
    if info["format_version"] != FORMAT_VERSION:
        raise CorruptIndexError(
            f"index directory {d}: {INFO_FILE} format_version {info['format_version']!r}, "
            f"this code reads {FORMAT_VERSION}"
        )
    if info["kind"] not in KINDS:
        raise CorruptIndexError(f"index directory {d}: unknown kind {info['kind']!r} in {INFO_FILE}")
    if not isinstance(info["dim"], int) or not isinstance(info["n"], int) or info["dim"] <= 0 or info["n"] <= 0:
        raise CorruptIndexError(f"index directory {d}: bad dim/n in {INFO_FILE}")
    return info


def verify_file(directory: Path, name: str, expected: dict | None) -> Path:
    """Check a data file of the index exists and matches the size/CRC stored in index.json."""
    path = directory / name
    if not path.is_file():
        raise IndexNotFoundError(f"index directory {directory}: missing {name}")
    if expected is not None:
        got = file_checksum(path)
        if got != expected:
            raise CorruptIndexError(
                f"index directory {directory}: {name} is corrupt (size/crc32 {got} != {expected} "
                f"recorded in {INFO_FILE})"
            )
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
