"""Vector indexes for pose-search: exact and approximate inner-product top-k over L2-normalised
embeddings, with search parameters tuned against exact search.

Backends (``kind``): ``flat`` (faiss IndexFlatIP, exact), ``hnsw`` (faiss IndexHNSWFlat),
``ivfpq`` (faiss IVF-PQ whose shortlist is re-ranked exactly) and ``lance`` (LanceDB's own
IVF_PQ with refine). ``kind="auto"`` picks by size and memory (:mod:`indexing.ann.sizing`).

    index = build_index(vectors, "auto", tune_queries=text_to_pose_queries, recall_target=0.95)
    scores, rows = index.search(queries, k=10)   # (Q, k) float32, (Q, k) int64 (-1 pads)
    index.save("index/pose");  index = load_index("index/pose")
    index.info   # kind, params, build_seconds, memory_bytes, recall@k vs exact, QPS, ...

Shapes: vectors ``(N, D)``, queries ``(Q, D)`` float32; ``rows`` are positions ``0..N-1`` of the
vectors given to ``build_index``. faiss / lancedb are imported only by the backend in use.
"""

from __future__ import annotations

from indexing.ann.api import build_index, load_index
from indexing.ann.base import (
    KINDS,
    MAX_K,
    CorruptIndexError,
    GpuUnavailableError,
    IndexLoadError,
    IndexNotFoundError,
    VectorIndex,
)
from indexing.ann.exact import exact_search, recall_at_k
from indexing.ann.sizing import choose_kind, estimate_memory


def set_num_threads(n: int | None = None) -> int:
    """faiss OpenMP threads: ``n``, else ``$POSE_SEARCH_ANN_THREADS``, else ``os.cpu_count()``."""
    from indexing.ann.faiss_backend import set_num_threads as _set

    return _set(n)


__all__ = [
    "KINDS",
    "MAX_K",
    "CorruptIndexError",
    "GpuUnavailableError",
    "IndexLoadError",
    "IndexNotFoundError",
    "VectorIndex",
    "build_index",
    "choose_kind",
    "estimate_memory",
    "exact_search",
    "load_index",
    "recall_at_k",
    "set_num_threads",
]
