"""Exact inner-product top-k (the ground truth every ANN backend is measured against) and recall."""

from __future__ import annotations

import numpy as np

from indexing.ann.base import check_k, check_matrix, empty_results

_BLOCK_ELEMENTS = 1 << 25  # one (query block x database block) score matrix: 32 M floats = 128 MiB


def exact_search(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    block_rows: int | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by inner product, blocked over database and queries.

    ``vectors (N, D)`` (a ``np.memmap`` works: it is read one block at a time),
    ``queries (Q, D)`` -> ``scores (Q, k)`` float32, ``rows (Q, k)`` int64, best first, ties
    broken by the smaller row; ``k > N`` pads with ``(-inf, -1)``. Peak extra memory is one
    ``(query block, database block)`` score matrix (<= 128 MiB) plus ``(Q, 2k)`` candidates, so
    1M x 512 runs in the memory of the vectors themselves.
    """
    k = check_k(k)
    if not hasattr(vectors, "ndim") or vectors.ndim != 2:
        raise ValueError(f"vectors: expected a 2-D array (n, dim), got {getattr(vectors, 'shape', type(vectors))}")
    n, dim = vectors.shape
    if n == 0:
        raise ValueError("vectors: empty database (0 vectors)")
    q = check_matrix(queries, "queries", dim, allow_empty=True)
    if len(q) == 0:
        return empty_results(0, k)
    rows_per_block = block_rows or max(1024, _BLOCK_ELEMENTS // max(1, min(len(q), 4096)))
    q_block = max(1, _BLOCK_ELEMENTS // rows_per_block)
    kk = min(k, n)
    best_s = np.full((len(q), kk), -np.inf, dtype=np.float32)
    best_r = np.full((len(q), kk), -1, dtype=np.int64)
    starts = range(0, n, rows_per_block)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="exact search", unit="block")
    for start in starts:
        block = check_matrix(vectors[start : start + rows_per_block], f"vectors[{start}:]", dim)
        for qs in range(0, len(q), q_block):
            scores = q[qs : qs + q_block] @ block.T  # (qb, nb)
            part = _top_columns(scores, min(kk, scores.shape[1]))
            cand_s = np.concatenate([best_s[qs : qs + q_block], np.take_along_axis(scores, part, 1)], axis=1)
            cand_r = np.concatenate([best_r[qs : qs + q_block], part.astype(np.int64) + start], axis=1)
            keep = np.argpartition(-cand_s, kk - 1, axis=1)[:, :kk]
            best_s[qs : qs + q_block] = np.take_along_axis(cand_s, keep, 1)
            best_r[qs : qs + q_block] = np.take_along_axis(cand_r, keep, 1)
    # final order: score descending, then row ascending (deterministic ties)
    order = np.lexsort((best_r, -best_s), axis=1)
    best_s = np.take_along_axis(best_s, order, 1)
    best_r = np.take_along_axis(best_r, order, 1)
    out_s, out_r = empty_results(len(q), k)
    out_s[:, :kk], out_r[:, :kk] = best_s, best_r
    return out_s, out_r


def _top_columns(scores: np.ndarray, take: int, chunk: int = 64) -> np.ndarray:
    """Column indices ``(qb, take)`` of the ``take`` largest values of each row (unordered).

    Two stages, ~2x faster than one argpartition over the whole row: the maximum of each run of
    ``chunk`` columns, the ``take`` runs with the largest maxima (they hold every top-``take``
    value: a run holding one has its maximum >= that value, and at most ``take`` runs can),
    then the top ``take`` among those runs' columns.
    """
    qb, nb = scores.shape
    if take >= nb:
        return np.broadcast_to(np.arange(nb), (qb, nb))
    runs = nb // chunk
    if take * 4 >= runs:
        return np.argpartition(scores, nb - take, axis=1)[:, nb - take :]
    run_max = scores[:, : runs * chunk].reshape(qb, runs, chunk).max(axis=2)
    best_runs = np.argpartition(run_max, runs - take, axis=1)[:, runs - take :]
    cols = (best_runs[:, :, None] * chunk + np.arange(chunk)).reshape(qb, take * chunk)
    if runs * chunk < nb:  # the ragged tail is always a candidate
        tail = np.broadcast_to(np.arange(runs * chunk, nb), (qb, nb - runs * chunk))
        cols = np.concatenate([cols, tail], axis=1)
    cand = np.take_along_axis(scores, cols, 1)
    sel = np.argpartition(cand, cand.shape[1] - take, axis=1)[:, cand.shape[1] - take :]
    return np.take_along_axis(cols, sel, 1)


def recall_at_k(approx_rows: np.ndarray, exact_rows: np.ndarray, k: int) -> float:
    """Mean over queries of ``|approx[:k] ∩ exact[:k]| / |exact[:k]|``.

    ``approx_rows (Q, >=k)`` and ``exact_rows (Q, >=k)`` int; ``-1`` pads are ignored, so when the
    database holds fewer than ``k`` vectors the denominator is the number that exist (with a
    full database it is ``k``). Returns 1.0 for zero queries.
    """
    k = check_k(k)
    a = np.asarray(approx_rows)
    e = np.asarray(exact_rows)
    if a.ndim != 2 or e.ndim != 2 or a.shape[0] != e.shape[0]:
        raise ValueError(f"recall_at_k: expected two (Q, k) arrays, got {a.shape} and {e.shape}")
    if a.shape[1] < k or e.shape[1] < k:
        raise ValueError(f"recall_at_k: k={k} but the arrays have {a.shape[1]} and {e.shape[1]} columns")
    if a.shape[0] == 0:
        return 1.0
    a, e = a[:, :k], e[:, :k]
    if k <= 64:
        found = ((a[:, :, None] == e[:, None, :]).any(axis=1) & (e >= 0)).sum(axis=1)
    else:  # avoid a (Q, k, k) temporary
        found = np.array([np.isin(er[er >= 0], ar).sum() for ar, er in zip(a, e)])
    denom = np.maximum((e >= 0).sum(axis=1), 1)
    return float(np.mean(found / denom))
