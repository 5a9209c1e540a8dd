"""``build_index`` (choose, build, tune, describe) and ``load_index``."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from indexing.ann.base import (
    KINDS,
    METRIC,
    VectorIndex,
    check_k,
    check_matrix,
    read_info,
)
from indexing.ann.exact import exact_search
from indexing.ann.sizing import choose_kind, default_build_params, estimate_memory
from indexing.ann.tuning import TuneResult, measure_qps, report, tune_1d, tune_2d

log = logging.getLogger("indexing.ann")

MAX_TUNE_QUERIES = 5_000  # more given tune queries are subsampled (seeded)
DB_SAMPLE_QUERIES = 1_000  # tune queries drawn from the database when none are given
EF_SEARCH = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)
K_FACTORS = (1, 2, 4, 8, 16, 32, 64)
REFINE_FACTORS = (1, 2, 5, 10, 20, 50)


def build_index(
    vectors: np.ndarray,
    kind: str = "auto",
    *,
    tune_queries: np.ndarray | None = None,
    recall_target: float = 0.95,
    k: int = 10,
    memory_budget_bytes: int | None = None,
    gpu: bool = False,
    seed: int = 0,
    progress: bool = False,
    build_params: Mapping | None = None,
    tune_exact_rows: np.ndarray | None = None,
    workdir: str | Path | None = None,
) -> VectorIndex:
    """Build, tune and describe a vector index over ``vectors (N, D)`` (L2-normalised float32).

    ``kind``: ``"flat" | "hnsw" | "ivfpq" | "lance" | "auto"`` (rule: :mod:`indexing.ann.sizing`;
    Flat below 50k vectors, HNSW when it fits ``memory_budget_bytes``, IVF-PQ + refine otherwise).

    Tuning: search parameters (efSearch; nprobe + k_factor; nprobes + refine_factor) are set to
    the cheapest setting whose recall@``k`` against :func:`exact_search` reaches ``recall_target``
    on ``tune_queries (Q, D)`` (give the queries users will send, e.g. text->pose embeddings; at
    most 5,000 are used). Without them a sample of 1,000 database vectors is used, which
    overestimates recall for cross-modal queries (``info["tuning"]["queries"]`` says which).
    A missed target is logged as a warning and recorded (``info["recall_target_reached"]``).
    ``tune_exact_rows (Q, >=k)``: precomputed exact top-k rows of ``tune_queries`` (saves the
    exact search; only used when all tune queries are used).

    ``build_params`` overrides the defaults (flat: none; hnsw: ``M``, ``efConstruction``; ivfpq:
    ``nlist``, ``pq_m``, ``pq_nbits``, ``train_size``; lance: ``num_partitions``,
    ``num_sub_vectors``, ``max_iterations``, ``ann_index``). ``gpu=True`` puts flat / ivfpq on all GPUs (error when
    faiss sees none). ``workdir``: where the lance backend writes its table before ``save``.
    """
    x = check_matrix(vectors, "vectors")
    n, dim = x.shape
    k = check_k(k)
    if kind not in (*KINDS, "auto"):
        raise ValueError(f"unknown index kind {kind!r}; expected one of {(*KINDS, 'auto')}")
    if not isinstance(recall_target, (int, float)) or not 0.0 < float(recall_target) <= 1.0:
        raise ValueError(f"recall_target must be in (0, 1], got {recall_target!r}")
    if memory_budget_bytes is not None and (isinstance(memory_budget_bytes, bool) or int(memory_budget_bytes) <= 0):
        raise ValueError(f"memory_budget_bytes must be a positive int or None, got {memory_budget_bytes!r}")
    auto_reason = None
    if kind == "auto":
        kind, auto_reason = choose_kind(n, dim, memory_budget_bytes, gpu)
        log.info("auto index kind: %s (%s)", kind, auto_reason)
    if kind != "lance":
        from indexing.ann.faiss_backend import check_gpu

        check_gpu(kind, gpu)
    elif gpu:
        raise ValueError("gpu=True: the lance backend has no GPU search; use kind='flat' or 'ivfpq'")
    params = default_build_params(kind, n, dim)
    unknown = set(build_params or {}) - set(params)
    if unknown:
        raise ValueError(f"{kind}: unknown build parameter(s) {sorted(unknown)}; expected {sorted(params)}")
    params.update(build_params or {})
    estimate = estimate_memory(kind, n, dim, params)
    if memory_budget_bytes is not None and estimate > memory_budget_bytes:
        log.warning("%s over %d x %d needs ~%d B, above memory_budget_bytes=%d", kind, n, dim, estimate,
                    memory_budget_bytes)

    tq, exact_rows, tune_info = _tune_queries(x, tune_queries, tune_exact_rows, k, seed)

    start = time.perf_counter()
    index: VectorIndex
    if kind == "lance":
        from indexing.ann.lance_backend import LanceIndex, build_lance

        root = build_lance(x, params, progress=progress, workdir=workdir)
        build_seconds = time.perf_counter() - start
        index = LanceIndex(root, {"dim": dim, "n": n, "build_params": params}, owned=True)
        versions = _versions("lancedb", "lance")
    else:
        from indexing.ann.faiss_backend import FaissIndex, build_faiss, num_threads

        cpu_index = build_faiss(kind, x, params, seed=seed, progress=progress)
        index = FaissIndex(kind, cpu_index, {}, gpu=gpu)
        build_seconds = time.perf_counter() - start
        versions = {**_versions("faiss"), "threads": num_threads()}

    start = time.perf_counter()
    if exact_rows is None and kind != "flat" and not (kind == "lance" and not params.get("ann_index", True)):
        exact_rows = exact_search(x, tq, k, progress=progress)[1]
    result = _tune(index, kind, params, tq, exact_rows, k, float(recall_target), n)
    report(kind, result, float(recall_target), k)
    tune_seconds = time.perf_counter() - start
    index.set_search_params(result.params)

    memory = int(index.memory_bytes())
    info = {
        "kind": kind,
        "dim": dim,
        "n": n,
        "metric": METRIC,
        "build_params": params,
        "search_params": result.params,
        "build_seconds": round(build_seconds, 3),
        "tune_seconds": round(tune_seconds, 3),
        "memory_bytes": memory,
        "memory_bytes_per_vector": round(memory / n, 2),
        "memory_estimate_bytes": estimate,
        "k": k,
        "recall_target": float(recall_target),
        "recall_at_k": round(result.recall, 5),
        "recall": round(result.recall, 5),  # alias of recall_at_k
        "recall_target_reached": result.reached,
        "qps": round(result.qps, 2),
        "qps_mode": "single query (1 x D per call), measured at tuning",
        "tuning": {**tune_info, "curve": result.curve},
        "auto_reason": auto_reason,
        "memory_budget_bytes": memory_budget_bytes,
        "seed": seed,
        "versions": versions,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if kind == "lance":
        info["disk_bytes"] = index.disk_bytes()
        info["memory_note"] = "memory_bytes = ANN index files (cached in RAM); the raw vectors stay on disk (disk_bytes)"
    if not result.reached:
        info["warning"] = (f"recall@{k} target {recall_target} not reached on the tune queries: best {result.recall:.3f} "
                           f"with {result.params}")
    index.set_info(info)
    return index


def load_index(directory: str | Path, *, gpu: bool = False) -> VectorIndex:
    """Open an index written by ``index.save(directory)``.

    Raises :class:`~indexing.ann.base.IndexNotFoundError` (a FileNotFoundError) when the
    directory or one of its files is missing and :class:`~indexing.ann.base.CorruptIndexError`
    (a ValueError) when a file is unreadable or disagrees with ``index.json``; both name the
    directory and the file. ``gpu=True`` moves a flat / ivfpq index to the GPU(s).
    """
    directory = Path(directory)
    info = read_info(directory)
    if info["kind"] == "lance":
        if gpu:
            raise ValueError("gpu=True: the lance backend has no GPU search")
        from indexing.ann.lance_backend import load_lance

        return load_lance(directory, info)
    from indexing.ann.faiss_backend import FaissIndex, check_gpu, load_faiss

    check_gpu(info["kind"], gpu)
    return FaissIndex(info["kind"], load_faiss(directory, info), info, gpu=gpu)


def _tune_queries(x: np.ndarray, tune_queries: np.ndarray | None, tune_exact_rows: np.ndarray | None,
                  k: int, seed: int) -> tuple[np.ndarray, np.ndarray | None, dict]:
    rng = np.random.default_rng(seed)
    n, dim = x.shape
    if tune_queries is None:
        if tune_exact_rows is not None:
            raise ValueError("tune_exact_rows given without tune_queries")
        take = np.sort(rng.choice(n, min(DB_SAMPLE_QUERIES, n), replace=False))
        note = ("no tune queries given: tuned on database vectors (each finds itself); recall for "
                "cross-modal queries is usually lower")
        log.info("ann tuning: %s", note)
        return x[take], None, {"queries": "database_sample", "n_queries": len(take), "note": note}
    tq = check_matrix(tune_queries, "tune_queries", dim)
    exact = None
    if tune_exact_rows is not None:
        exact = np.asarray(tune_exact_rows)
        if exact.ndim != 2 or exact.shape[0] != len(tq) or exact.shape[1] < min(k, n) or exact.dtype.kind not in "iu":
            raise ValueError(f"tune_exact_rows: expected int rows of shape ({len(tq)}, >={k}), got {exact.dtype} {exact.shape}")
        exact = exact[:, :k] if exact.shape[1] >= k else np.pad(exact, ((0, 0), (0, k - exact.shape[1])), constant_values=-1)
    if len(tq) > MAX_TUNE_QUERIES:
        take = np.sort(rng.choice(len(tq), MAX_TUNE_QUERIES, replace=False))
        tq = tq[take]
        exact = exact[take] if exact is not None else None
    return tq, exact, {"queries": "given", "n_queries": len(tq)}


def _tune(index: VectorIndex, kind: str, params: Mapping, tq: np.ndarray, exact_rows: np.ndarray | None,
          k: int, target: float, n: int) -> TuneResult:
    """Tune ``index``'s search parameters on ``tq (Q, D)`` against ``exact_rows (Q, k)``."""
    search = index.search_with  # type: ignore[attr-defined]
    if kind == "flat" or (kind == "lance" and not params.get("ann_index", True)):  # exact by construction
        qps = measure_qps(search, {}, tq, k)
        return TuneResult(params={}, recall=1.0, qps=qps, reached=True,
                          curve=[{"recall": 1.0, "qps": qps, "note": "exact search, recall 1 by construction"}])
    assert exact_rows is not None
    if kind == "hnsw":
        values = sorted({max(v, min(k, n)) for v in EF_SEARCH})  # faiss uses max(efSearch, k) anyway
        return tune_1d(search, "efSearch", values, tq, exact_rows, k, target)
    if kind == "ivfpq":
        nlist = int(params["nlist"])
        probes = _powers_of_two(nlist)
        factors = K_FACTORS
        if getattr(index, "on_gpu", False):  # faiss GPU selects at most GPU_MAX_K candidates
            from indexing.ann.faiss_backend import GPU_MAX_K

            factors = tuple(f for f in K_FACTORS if min(k, n) * f <= GPU_MAX_K) or (1,)
        return tune_2d(search, ("nprobe", probes), ("k_factor", factors), tq, exact_rows, k, target)
    if kind == "lance":
        probes = _powers_of_two(int(params["num_partitions"]))
        return tune_2d(search, ("nprobes", probes), ("refine_factor", REFINE_FACTORS), tq, exact_rows, k, target)
    raise AssertionError(kind)


def _powers_of_two(limit: int) -> list[int]:
    values = [1 << i for i in range(int(math.log2(max(1, limit))) + 1)]
    return values if values[-1] == limit else [*values, limit]


def _versions(*modules: str) -> dict[str, str]:
    import importlib
    import importlib.metadata

    out = {}
    for name in modules:
        try:
            out[name] = importlib.import_module(name).__version__
        except (ImportError, AttributeError):
            try:
                out[name] = importlib.metadata.version({"lance": "pylance"}.get(name, name))
            except importlib.metadata.PackageNotFoundError:
                out[name] = "unknown"
    return out
