"""FAISS backends: ``flat`` (IndexFlatIP), ``hnsw`` (IndexHNSWFlat, inner product) and ``ivfpq``
(IndexIVFPQ whose ``k * k_factor`` shortlist is re-ranked exactly by IndexRefineFlat).

All three hold the raw ``(N, D)`` float32 vectors, so the scores they return are exact inner
products (for ``ivfpq`` thanks to the refine step). On GPU (``gpu=True`` with faiss-gpu and a
CUDA device) ``flat`` is cloned with ``faiss.index_cpu_to_all_gpus``; for ``ivfpq`` the IVF-PQ
part goes to the GPU(s) and the exact re-ranking stays on the CPU over the same host vectors.
faiss has no GPU HNSW.

The directory written by :meth:`FaissIndex.save` holds ``index.faiss`` (``faiss.write_index``)
and ``index.json`` (info + size/CRC32 of ``index.faiss``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import faiss
import numpy as np

from indexing.ann.base import (
    CorruptIndexError,
    GpuUnavailableError,
    atomic_directory,
    check_k,
    check_matrix,
    empty_results,
    file_checksum,
    pad_results,
    verify_file,
    write_info,
)

log = logging.getLogger("indexing.ann")

INDEX_FILE = "index.faiss"
ADD_CHUNK = 65_536
GPU_MAX_K = 2048  # faiss GPU k-selection limit (also bounds k * k_factor for ivfpq on GPU)
_threads: int | None = None


def set_num_threads(n: int | None = None) -> int:
    """Set faiss' OpenMP thread count: ``n``, else ``$POSE_SEARCH_ANN_THREADS``, else ``os.cpu_count()``."""
    global _threads
    if n is None:
        env = os.environ.get("POSE_SEARCH_ANN_THREADS")
        n = int(env) if env else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {n}")
    faiss.omp_set_num_threads(int(n))
    _threads = int(n)
    return _threads


def num_threads() -> int:
    """The thread count in use (set to the default on first use)."""
    return _threads if _threads is not None else set_num_threads()


def gpu_count() -> int:
    return int(faiss.get_num_gpus()) if hasattr(faiss, "get_num_gpus") else 0


def check_gpu(kind: str, gpu: bool) -> None:
    """Raise when ``gpu=True`` cannot be honoured for ``kind`` on this machine."""
    if not gpu:
        return
    if kind not in ("flat", "ivfpq"):
        raise ValueError(f"gpu=True: no GPU implementation for kind {kind!r}; use kind='flat' or 'ivfpq'")
    if gpu_count() == 0:
        raise GpuUnavailableError(
            f"gpu=True but faiss {faiss.__version__} sees no GPU (CPU-only faiss build or no CUDA device); "
            "install faiss-gpu on a machine with a GPU, or pass gpu=False"
        )


class FaissIndex:
    """A built or loaded FAISS index (see :class:`indexing.ann.base.VectorIndex`)."""

    def __init__(self, kind: str, index: faiss.Index, info: dict, *, gpu: bool = False) -> None:
        if kind not in ("flat", "hnsw", "ivfpq"):
            raise ValueError(f"not a faiss kind: {kind!r}")
        self.kind = kind
        self.dim = int(index.d)
        self._cpu = index  # kept for save(); the object searched may be a GPU clone
        self._n = int(index.ntotal)
        self._gpu = bool(gpu)
        self._info = dict(info)
        self._keep: list[object] = []  # python references that GPU wrappers borrow
        self._ivf = faiss.extract_index_ivf(index) if kind == "ivfpq" else None
        self._search_index = self._to_gpu() if gpu else index
        self._refine = faiss.downcast_index(self._search_index) if kind == "ivfpq" else None
        self._params: dict[str, int] = {}
        self.set_search_params(self._info.get("search_params") or {})

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"FaissIndex(kind={self.kind!r}, n={self._n}, dim={self.dim}, params={self._params})"

    @property
    def info(self) -> dict:
        return {**self._info, "search_params": dict(self._params), "gpu": self._gpu}

    def set_info(self, info: dict) -> None:
        self._info = dict(info)

    # -- search --------------------------------------------------------------------------------

    def set_search_params(self, params: Mapping[str, int]) -> None:
        """``hnsw``: ``efSearch``; ``ivfpq``: ``nprobe`` and ``k_factor``; ``flat``: none."""
        allowed = {"flat": set(), "hnsw": {"efSearch"}, "ivfpq": {"nprobe", "k_factor"}}[self.kind]
        unknown = set(params) - allowed
        if unknown:
            raise ValueError(f"{self.kind}: unknown search parameter(s) {sorted(unknown)}; expected {sorted(allowed)}")
        if self.kind == "hnsw" and "efSearch" in params:
            faiss.downcast_index(self._cpu).hnsw.efSearch = int(params["efSearch"])
        if self.kind == "ivfpq":
            if "nprobe" in params:
                if self._gpu:
                    faiss.GpuParameterSpace().set_index_parameter(self._keep[0], "nprobe", int(params["nprobe"]))
                else:
                    self._ivf.nprobe = int(params["nprobe"])
            if "k_factor" in params:
                self._refine.k_factor = float(params["k_factor"])
        self._params.update({key: int(v) for key, v in params.items()})

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``queries (Q, D)`` -> ``scores (Q, k)`` float32 (exact inner products), ``rows (Q, k)`` int64."""
        q = check_matrix(queries, "queries", self.dim, allow_empty=True)
        k = check_k(k)
        if len(q) == 0:
            return empty_results(0, k)
        if self._gpu and min(k, self._n) * self._params.get("k_factor", 1) > GPU_MAX_K:
            raise ValueError(f"k={k} (x k_factor {self._params.get('k_factor', 1)}) exceeds the faiss GPU limit "
                             f"of {GPU_MAX_K}; use a smaller k or a CPU index")
        scores, rows = self._search_index.search(q, min(k, self._n))
        return pad_results(scores, rows, k)

    @property
    def on_gpu(self) -> bool:
        return self._gpu

    def search_with(self, queries: np.ndarray, k: int, params: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Search with other search parameters (used by tuning; they stay set afterwards)."""
        self.set_search_params(params)
        return self.search(queries, k)

    # -- size and persistence --------------------------------------------------------------------

    def memory_bytes(self) -> int:
        """Resident bytes of the index structures (vectors, graph, lists, codebooks)."""
        idx = faiss.downcast_index(self._cpu)
        raw = self._n * self.dim * 4
        if self.kind == "flat":
            return raw
        if self.kind == "hnsw":
            h = idx.hnsw
            return raw + h.neighbors.size() * 4 + h.offsets.size() * 8 + h.levels.size() * 4
        ivf = faiss.downcast_index(self._ivf)
        invl = ivf.invlists
        entries = sum(invl.list_size(i) for i in range(ivf.nlist))
        return (raw + entries * (ivf.code_size + 8) + ivf.nlist * self.dim * 4
                + ivf.pq.centroids.size() * 4)

    def save(self, directory: str | Path) -> None:
        """Write ``index.faiss`` + ``index.json`` atomically into ``directory`` (replacing it)."""
        with atomic_directory(directory) as tmp:
            faiss.write_index(self._cpu, str(tmp / INDEX_FILE))
            info = self.info
            info["files"] = {INDEX_FILE: file_checksum(tmp / INDEX_FILE)}
            write_info(tmp, info)

    def _to_gpu(self) -> faiss.Index:
        if self.kind == "flat":
            gpu_index = faiss.index_cpu_to_all_gpus(self._cpu)
            self._keep = [gpu_index]
            return gpu_index
        refine_cpu = faiss.downcast_index(self._cpu)
        options = faiss.GpuMultipleClonerOptions()
        options.useFloat16 = True  # float16 lookup tables: needed for PQ codes of >= 56 bytes
        base_gpu = faiss.index_cpu_to_all_gpus(faiss.downcast_index(refine_cpu.base_index), co=options)
        refine_flat = faiss.downcast_index(refine_cpu.refine_index)
        wrapper = faiss.IndexRefine(base_gpu, refine_flat)  # re-rank on the CPU vectors, no copy
        self._keep = [base_gpu, refine_flat, refine_cpu]
        return wrapper


def build_faiss(kind: str, vectors: np.ndarray, params: Mapping[str, int], *, seed: int = 0,
                progress: bool = False) -> faiss.Index:
    """Build a CPU index of ``kind`` over ``vectors (N, D)`` float32 with build ``params``."""
    num_threads()
    n, dim = vectors.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, int(params["M"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(params["efConstruction"])
    elif kind == "ivfpq":
        m, nbits, nlist = int(params["pq_m"]), int(params["pq_nbits"]), int(params["nlist"])
        if dim % m:
            raise ValueError(f"ivfpq: pq_m={m} must divide the dimension {dim}")
        index = faiss.index_factory(dim, f"IVF{nlist},PQ{m}x{nbits},RFlat", faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.seed = seed
        ivfpq = faiss.downcast_index(ivf)
        ivfpq.pq.cp.seed = seed
        ivfpq.do_polysemous_training = False  # index_factory turns it on; we never use Hamming filtering
        rng = np.random.default_rng(seed)
        size = min(n, int(params.get("train_size", n)))
        sample = vectors[np.sort(rng.choice(n, size, replace=False))] if size < n else vectors
        log.info("ivfpq: training IVF%d,PQ%dx%d on %d vectors", nlist, m, nbits, size)
        index.train(sample)
    else:
        raise ValueError(f"not a faiss kind: {kind!r}")
    _add_chunked(index, vectors, kind, progress)
    return index


def load_faiss(directory: Path, info: dict) -> faiss.Index:
    """Read and check ``index.faiss`` against ``info``; CorruptIndexError on any mismatch."""
    path = verify_file(directory, INDEX_FILE, (info.get("files") or {}).get(INDEX_FILE))
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise CorruptIndexError(f"index directory {directory}: {INDEX_FILE} cannot be read by faiss ({exc})") from exc
    expected = {"flat": faiss.IndexFlat, "hnsw": faiss.IndexHNSWFlat, "ivfpq": faiss.IndexRefine}[info["kind"]]
    typed = faiss.downcast_index(index)  # a borrowed view: ``index`` keeps owning the C++ object
    if not isinstance(typed, expected):
        raise CorruptIndexError(
            f"index directory {directory}: {INDEX_FILE} holds a {type(typed).__name__}, index.json says {info['kind']}"
        )
    if index.d != info["dim"] or index.ntotal != info["n"] or index.metric_type != faiss.METRIC_INNER_PRODUCT:
        raise CorruptIndexError(
            f"index directory {directory}: {INDEX_FILE} has d={index.d}, n={index.ntotal}, metric={index.metric_type}; "
            f"index.json says dim={info['dim']}, n={info['n']}, inner product"
        )
    return index


def _add_chunked(index: faiss.Index, vectors: np.ndarray, kind: str, progress: bool) -> None:
    n = len(vectors)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=f"faiss {kind} add", unit="vec", unit_scale=True)
    for start in range(0, n, ADD_CHUNK):
        chunk = vectors[start : start + ADD_CHUNK]
        index.add(chunk)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
