"""Default build parameters, memory estimates and the ``kind="auto"`` rule.

The rule (like autofaiss: by size first, then by memory), for ``N`` vectors of dimension ``D``:

1. ``N < 50,000`` -> **flat** (exact). A single query scans ``N*D`` floats: at D = 512 that is
   100 MB and a few ms per query on one core, fast enough, and it is exact.
2. otherwise **ivfpq** (IVF with ~sqrt(N) lists, PQ with D/8 sub-quantizers of 8 bits, exact
   re-ranking of a ``k * k_factor`` shortlist against the raw vectors), on CPU and GPU alike,
   when it fits ``memory_budget_bytes`` (or no budget is given). It needs about
   ``N * (4*D + D/8 + 8)`` bytes: at D = 512, 2,120 B per vector = 2.1 GB for 1M. Measured on
   pose embeddings it beats HNSW at the recall target: 1M x 512, text->pose queries,
   recall@10 0.969 at 1,408 single-query QPS against HNSW32's 0.882 at 169 QPS (its ceiling,
   efSearch 2048); 200k: 0.99 at 6.8k QPS against 0.961 at 4.0k (benchmarks/README.md).
3. a budget below that raises ``ValueError`` (every backend here keeps the raw float32
   vectors for exact scores; store them as float16 or shard the database).

HNSW (M = 32, efConstruction = 40; ``N * (4*D + 8*M + 16)`` bytes, 2,320 B per vector at
D = 512) and the LanceDB backend (``kind="lance"``) are never chosen automatically: they are
asked for by name.
"""

from __future__ import annotations

import math

FLAT_MAX_N = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
IVF_TRAIN_MAX = 65_536  # training vectors for the coarse k-means / PQ (sampled)
LANCE_MIN_N = 1_024  # below this the Lance backend scans without an ANN index
LANCE_KMEANS_ITERATIONS = 20  # Lance's default is 50; its k-means dominates the build (20k x 512:
# 81 s at 50, 18 s at 10 on the 2-core box) while the exact refine absorbs coarser centroids


def pow2_near(x: float) -> int:
    """The power of two nearest to ``x`` in log scale (>= 1)."""
    return 1 << max(0, round(math.log2(max(x, 1.0))))


def pq_subquantizers(dim: int, dims_per_code: int = 8) -> int:
    """Largest divisor of ``dim`` that is <= dim / dims_per_code (sub-vectors of 1 byte each)."""
    target = max(1, dim // dims_per_code)
    return max(m for m in range(1, target + 1) if dim % m == 0)


def default_build_params(kind: str, n: int, dim: int) -> dict:
    """Build parameters for ``kind`` at size ``n`` (see the module docstring)."""
    if kind == "flat":
        return {}
    if kind == "hnsw":
        return {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}
    if kind == "ivfpq":
        nlist = pow2_near(math.sqrt(n))
        while nlist > 1 and n < 39 * nlist:  # faiss k-means wants >= 39 points per centroid
            nlist //= 2
        nbits = int(min(8, max(1, math.floor(math.log2(max(2, n // 39))))))
        train = min(n, max(IVF_TRAIN_MAX, 64 * nlist))
        return {"nlist": nlist, "pq_m": pq_subquantizers(dim), "pq_nbits": nbits, "train_size": train}
    if kind == "lance":
        parts = min(pow2_near(math.sqrt(n)), max(1, n // 256))  # lance trains on 256 per partition
        # D/16 sub-vectors from D = 256 up (Lance's usual choice): its PQ training time grows steeply
        # with the count (50k x 512 on the 2-core box: 47 s at 32, 140 s at 64); the refine absorbs
        # the coarser codes. Smaller D keeps D/8 (a 4-byte code of a 64-d vector is too coarse).
        sub = pq_subquantizers(dim, 16 if dim >= 256 else 8)
        return {"num_partitions": int(parts), "num_sub_vectors": sub,
                "max_iterations": LANCE_KMEANS_ITERATIONS, "ann_index": n >= LANCE_MIN_N}
    raise ValueError(f"unknown index kind {kind!r}")


def estimate_memory(kind: str, n: int, dim: int, params: dict | None = None) -> int:
    """Approximate resident bytes of an index of ``n`` vectors (see the module docstring).

    For ``lance`` it is the ANN index (PQ codes + row ids + centroids) that is cached in RAM;
    the raw vectors stay on disk and are read for re-ranking.
    """
    p = {**default_build_params(kind, n, dim), **(params or {})}
    raw = 4 * dim
    if kind == "flat":
        return n * raw
    if kind == "hnsw":
        return n * (raw + 8 * int(p["M"]) + 16)
    if kind == "ivfpq":
        code = math.ceil(int(p["pq_m"]) * int(p["pq_nbits"]) / 8)
        return n * (raw + code + 8) + int(p["nlist"]) * raw + (1 << int(p["pq_nbits"])) * raw
    if kind == "lance":
        return n * (int(p["num_sub_vectors"]) + 8) + int(p["num_partitions"]) * raw
    raise ValueError(f"unknown index kind {kind!r}")


def choose_kind(n: int, dim: int, memory_budget_bytes: int | None = None, gpu: bool = False) -> tuple[str, str]:
    """``(kind, reason)`` by the rule of the module docstring; ValueError when nothing fits.

    ``gpu``: the same rule (faiss runs IVF-PQ + refine on the GPU; it has no GPU HNSW)."""
    del gpu
    budget = memory_budget_bytes

    def fits(kind: str) -> bool:
        return budget is None or estimate_memory(kind, n, dim) <= budget

    if n < FLAT_MAX_N:
        if fits("flat"):
            return "flat", f"N={n} < {FLAT_MAX_N}: exact search is fast enough"
    elif fits("ivfpq"):
        return "ivfpq", (f"N={n} >= {FLAT_MAX_N}: IVF-PQ + exact refine (~{estimate_memory('ivfpq', n, dim):,} B"
                         + (f" <= budget {budget:,} B" if budget is not None else "")
                         + "; faster than HNSW at the recall target on pose embeddings)")
    need = min(estimate_memory(kind, n, dim) for kind in ("flat", "ivfpq"))
    raise ValueError(
        f"no index kind fits memory_budget_bytes={budget:,}: {n} x {dim} vectors need at least ~{need:,} B "
        "(every backend keeps the float32 vectors for exact scores); raise the budget or shard the database"
    )
