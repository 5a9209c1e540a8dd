"""Retrieval recall as PoseEmbroider reports it: 9 query types, R@1/5/10, mRecall.

Every sample j of the evaluation set is a query and its own index is the one true match in the
gallery of the target modality (all N reference embeddings; no de-duplication). Scores are dot
products of unit vectors; rank = number of gallery items scored strictly higher than the match.

* ``mRecall_single``: mean of the 6 single query types x 3 values of K (18 numbers).
* ``mRecall_dual``: mean of the 3 dual query types x 3 values of K (9 numbers).
* ``mRecall``: half their sum (not the flat mean of the 27 numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

Subset = tuple[str, ...]
# (query subset, target) for the paper's 9 query types
QUERY_TYPES: tuple[tuple[Subset, str], ...] = (
    (("image",), "pose"), (("image",), "text"), (("pose",), "image"),
    (("pose",), "text"), (("text",), "image"), (("text",), "pose"),
    (("image", "pose"), "text"), (("pose", "text"), "image"), (("image", "text"), "pose"),
)
KS = (1, 5, 10)


def query_name(subset: Subset, target: str) -> str:
    return f"{'+'.join(subset)}->{target}"


def ranks_of_matches(queries: torch.Tensor, gallery: torch.Tensor, block: int = 1024) -> torch.Tensor:
    """Rank ``(N,)`` of item i in the gallery ``(N, D)`` for query i ``(N, D)`` (0 = top)."""
    if queries.shape != gallery.shape:
        raise ValueError(f"queries {tuple(queries.shape)} and gallery {tuple(gallery.shape)} differ")
    out = torch.empty(len(queries), dtype=torch.long)
    for s in range(0, len(queries), block):
        q = queries[s : s + block]
        scores = q @ gallery.T  # (b, N)
        # the match's score from the same product, so rounding cannot rank it below itself
        true = scores.gather(1, torch.arange(s, s + len(q))[:, None])
        out[s : s + block] = (scores > true).sum(-1)
    return out


def recall_at(ranks: torch.Tensor, ks: Sequence[int] = KS) -> dict[int, float]:
    return {k: 100.0 * float((ranks < k).double().mean()) for k in ks}


def retrieval_metrics(
    refs: dict[str, torch.Tensor],
    query_fn: Callable[[dict[str, torch.Tensor], Subset, str], torch.Tensor],
    query_types: Sequence[tuple[Subset, str]] = QUERY_TYPES,
    ks: Sequence[int] = KS,
    search_fn: Callable[[torch.Tensor, str], torch.Tensor] | None = None,
) -> dict[str, float]:
    """R@K for each available query type plus the mRecall aggregates.

    ``refs``: reference embeddings ``{m: (N, D)}`` of the evaluation set (the galleries).
    ``query_fn(refs, subset, target) -> (N, D)``: query embeddings, e.g. a model's
    ``query_embedding``. ``search_fn(queries, target) -> ranks (N,)`` replaces exact ranking
    (e.g. with an ANN index). Query types needing a modality absent from ``refs`` are skipped.
    """
    metrics: dict[str, float] = {}
    single: list[float] = []
    dual: list[float] = []
    for subset, target in query_types:
        if not all(m in refs for m in (*subset, target)):
            continue
        with torch.no_grad():
            q = query_fn(refs, subset, target)
            ranks = search_fn(q, target) if search_fn else ranks_of_matches(q, refs[target])
        rec = recall_at(ranks, ks)
        name = query_name(subset, target)
        for k, v in rec.items():
            metrics[f"{name}/R@{k}"] = v
        metrics[f"{name}/mean"] = float(np.mean(list(rec.values())))
        (single if len(subset) == 1 else dual).extend(rec.values())
    if single:
        metrics["mRecall_single"] = float(np.mean(single))
    if dual:
        metrics["mRecall_dual"] = float(np.mean(dual))
    if single and dual:
        metrics["mRecall"] = 0.5 * (metrics["mRecall_single"] + metrics["mRecall_dual"])
    elif single or dual:
        metrics["mRecall"] = metrics.get("mRecall_single", metrics.get("mRecall_dual", 0.0))
    return metrics
