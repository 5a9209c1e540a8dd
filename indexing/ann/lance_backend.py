"""LanceDB backend: a LanceDB table ``vectors`` (``row`` int64, ``vector`` fixed_size_list<float32>[D])
with LanceDB's own IVF_PQ index (``distance_type="dot"``), searched with ``nprobes`` and an exact
``refine_factor`` re-ranking (so returned scores are exact inner products).

Lance reports ``_distance = 1 - <q, x>`` for the dot metric; scores are ``1 - _distance``.
``row`` maps hits back to positions ``0..N-1`` of the vectors given to ``build_index``.

A single query goes through the Lance scanner of the table's dataset (``LanceTable.to_lance()``,
the same engine with less per-call overhead than the query builder); batches go through
LanceDB's multi-vector query. Both use the same index and parameters.

Below ``LANCE_MIN_N`` vectors no ANN index is built (Lance cannot train PQ on so few) and
searches are exact scans. The build writes the table to a temporary directory owned by the
index object (removed with it); :meth:`LanceIndex.save` copies it next to ``index.json``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa

from indexing.ann.base import (
    CorruptIndexError,
    IndexNotFoundError,
    atomic_directory,
    check_k,
    check_matrix,
    directory_bytes,
    empty_results,
    write_info,
)

log = logging.getLogger("indexing.ann")

TABLE = "vectors"
VECTOR = "vector"
ROW = "row"
BATCH = 256  # queries per LanceDB multi-vector call


def _schema(dim: int) -> pa.Schema:
    return pa.schema([pa.field(ROW, pa.int64()), pa.field(VECTOR, pa.list_(pa.float32(), dim))])


class LanceIndex:
    """A LanceDB table + IVF_PQ index (see :class:`indexing.ann.base.VectorIndex`)."""

    kind = "lance"

    def __init__(self, root: Path, info: dict, *, owned: bool = False) -> None:
        self._root = Path(root)
        self._info = dict(info)
        self.dim = int(info["dim"])
        self._n = int(info["n"])
        self._params: dict[str, int] = {}
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self._root), True) if owned else None
        self._open()
        self.set_search_params(self._info.get("search_params") or {})

    def _open(self) -> None:
        self._table = lancedb.connect(str(self._root)).open_table(TABLE)
        self._dataset = self._table.to_lance()
        self._indexed = bool(self._table.list_indices())

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"LanceIndex(n={self._n}, dim={self.dim}, params={self._params}, root={str(self._root)!r})"

    @property
    def info(self) -> dict:
        return {**self._info, "search_params": dict(self._params), "gpu": False}

    def set_info(self, info: dict) -> None:
        self._info = dict(info)

    @property
    def table_dir(self) -> Path:
        return self._root / f"{TABLE}.lance"

    # -- search --------------------------------------------------------------------------------

    def set_search_params(self, params: Mapping[str, int]) -> None:
        """``nprobes`` (IVF partitions probed) and ``refine_factor`` (re-rank ``k * refine_factor``)."""
        unknown = set(params) - {"nprobes", "refine_factor"}
        if unknown:
            raise ValueError(f"lance: unknown search parameter(s) {sorted(unknown)}; expected nprobes, refine_factor")
        self._params.update({key: int(v) for key, v in params.items()})

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``queries (Q, D)`` -> ``scores (Q, k)`` float32, ``rows (Q, k)`` int64 (-1 pads)."""
        q = check_matrix(queries, "queries", self.dim, allow_empty=True)
        k = check_k(k)
        out_s, out_r = empty_results(len(q), k)
        kk = min(k, self._n)
        if len(q) == 1:
            table = self._dataset.to_table(columns=[ROW], nearest=self._nearest(q[0], kk), with_row_id=False)
            rows = table[ROW].to_numpy()
            out_r[0, : len(rows)] = rows
            out_s[0, : len(rows)] = 1.0 - table["_distance"].to_numpy()
            return out_s, out_r
        for start in range(0, len(q), BATCH):
            chunk = q[start : start + BATCH]
            table = self._builder(chunk, kk).to_arrow()
            qi = table["query_index"].to_numpy().astype(np.int64) + start
            rows = table[ROW].to_numpy()
            dist = table["_distance"].to_numpy()
            order = np.lexsort((dist, qi))
            qi, rows, dist = qi[order], rows[order], dist[order]
            first = np.searchsorted(qi, qi, side="left")
            rank = np.arange(len(qi)) - first
            keep = rank < k
            out_r[qi[keep], rank[keep]] = rows[keep]
            out_s[qi[keep], rank[keep]] = 1.0 - dist[keep]
        return out_s, out_r

    def search_with(self, queries: np.ndarray, k: int, params: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Search with other search parameters (used by tuning; they stay set afterwards)."""
        self.set_search_params(params)
        return self.search(queries, k)

    def _nearest(self, q: np.ndarray, k: int) -> dict:
        spec: dict = {"column": VECTOR, "q": q, "k": k, "metric": "dot"}
        if self._indexed:
            nprobes = self._params.get("nprobes", 20)
            spec.update(minimum_nprobes=nprobes, maximum_nprobes=nprobes)
            if self._params.get("refine_factor"):
                spec["refine_factor"] = self._params["refine_factor"]
        return spec

    def _builder(self, queries: np.ndarray, k: int):
        b = self._table.search(queries, vector_column_name=VECTOR).distance_type("dot").limit(k)
        if self._indexed:
            b = b.nprobes(self._params.get("nprobes", 20))
            if self._params.get("refine_factor"):
                b = b.refine_factor(self._params["refine_factor"])
        return b.select([ROW, "_distance"])

    # -- size and persistence --------------------------------------------------------------------

    def memory_bytes(self) -> int:
        """Bytes of the ANN index files (PQ codes, row ids, centroids: what Lance caches in RAM).

        The raw vectors stay on disk (:meth:`disk_bytes`) and are read for the refine step.
        """
        return sum(int(ix.size_bytes or 0) for ix in self._table.list_indices())

    def disk_bytes(self) -> int:
        return directory_bytes(self.table_dir)

    def save(self, directory: str | Path) -> None:
        """Copy the table (+ index) and write ``index.json`` atomically into ``directory``."""
        target = Path(directory).absolute()
        same = target == self._root.absolute()
        with atomic_directory(target) as tmp:
            shutil.copytree(self.table_dir, tmp / f"{TABLE}.lance")
            info = self.info
            info["files"] = {f"{TABLE}.lance": {"bytes": directory_bytes(tmp / f"{TABLE}.lance")}}
            write_info(tmp, info)
        if same:  # the files we had open were replaced by their copy
            self._open()


def build_lance(vectors: np.ndarray, params: Mapping, *, progress: bool = False,
                workdir: str | Path | None = None) -> Path:
    """Write ``vectors (N, D)`` into a new LanceDB table in a temporary directory and build the
    IVF_PQ index (``num_partitions``, ``num_sub_vectors``, k-means ``max_iterations``) when
    ``params["ann_index"]``.
    Returns the directory (the caller's :class:`LanceIndex` owns and removes it)."""
    from lancedb.index import IvfPq

    n, dim = vectors.shape
    root = Path(tempfile.mkdtemp(prefix="pose-search-lance-", dir=workdir))
    try:
        db = lancedb.connect(str(root))
        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        data = pa.table({ROW: pa.array(np.arange(n, dtype=np.int64)),
                         VECTOR: pa.FixedSizeListArray.from_arrays(flat, dim)}, schema=_schema(dim))
        if progress:
            log.info("lance: writing %d x %d vectors to %s", n, dim, root)
        table = db.create_table(TABLE, data=data)
        if params.get("ann_index", True):
            if progress:
                log.info("lance: building IVF_PQ (num_partitions=%s, num_sub_vectors=%s) on %d vectors",
                         params["num_partitions"], params["num_sub_vectors"], n)
            config = IvfPq(distance_type="dot", num_partitions=int(params["num_partitions"]),
                           num_sub_vectors=int(params["num_sub_vectors"]),
                           max_iterations=int(params.get("max_iterations", 50)))
            table.create_index(VECTOR, config=config)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


def load_lance(directory: Path, info: dict) -> LanceIndex:
    """Open the table of a saved index and check it against ``info``."""
    table_dir = directory / f"{TABLE}.lance"
    if not table_dir.is_dir():
        raise IndexNotFoundError(f"index directory {directory}: missing {TABLE}.lance (the LanceDB table)")
    try:
        index = LanceIndex(directory, info)
        schema = index._table.schema
        count = index._table.count_rows()
        probe = index.search(np.zeros((1, info["dim"]), dtype=np.float32), 1)
    except Exception as exc:  # lance raises OSError, ValueError, RuntimeError, pyo3 panics...
        raise CorruptIndexError(f"index directory {directory}: {TABLE}.lance cannot be opened ({exc})") from exc
    want = _schema(info["dim"])
    if not all(schema.field(name).type == want.field(name).type for name in (ROW, VECTOR) if name in schema.names) \
            or not {ROW, VECTOR} <= set(schema.names):
        raise CorruptIndexError(f"index directory {directory}: {TABLE}.lance has schema {schema}, expected {want}")
    if count != info["n"]:
        raise CorruptIndexError(f"index directory {directory}: {TABLE}.lance has {count} rows, index.json says {info['n']}")
    if info.get("build_params", {}).get("ann_index") and not index._indexed:
        raise CorruptIndexError(f"index directory {directory}: {TABLE}.lance lost its IVF_PQ index")
    if probe[1][0, 0] < 0:
        raise CorruptIndexError(f"index directory {directory}: a probe search over {TABLE}.lance returned nothing")
    return index
