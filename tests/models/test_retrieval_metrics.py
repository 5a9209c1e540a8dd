"""Retrieval recall on hand-checked examples."""

from __future__ import annotations

import torch

from pose_search.metrics.retrieval import (
    QUERY_TYPES,
    ranks_of_matches,
    recall_at,
    retrieval_metrics,
)


def test_ranks_on_a_hand_made_gallery():
    gallery = torch.eye(4)
    queries = torch.tensor([[1.0, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 0, 0, 1.0], [0, 0, 0, 1.0]])
    # query 1 prefers item 0 (rank 1); query 2 prefers item 3 over its match 2 (rank 1)
    assert ranks_of_matches(queries, gallery, block=3).tolist() == [0, 1, 1, 0]
    assert recall_at(torch.tensor([0, 1, 1, 0, 7]), (1, 5)) == {1: 40.0, 5: 80.0}


def test_mrecall_is_half_single_plus_dual():
    n = 20
    refs = {m: torch.nn.functional.normalize(torch.randn(n, 8), dim=-1) for m in ("image", "pose", "text")}

    def perfect_for_duals(r, subset, target):
        return r[target] if len(subset) == 2 else torch.nn.functional.normalize(torch.randn(n, 8), dim=-1)

    m = retrieval_metrics(refs, perfect_for_duals)
    assert len([k for k in m if k.endswith("/R@1")]) == len(QUERY_TYPES) == 9
    assert m["mRecall_dual"] == 100.0
    assert abs(m["mRecall"] - 0.5 * (m["mRecall_single"] + 100.0)) < 1e-9


def test_missing_modalities_are_skipped():
    refs = {m: torch.eye(5) for m in ("image", "pose")}
    m = retrieval_metrics(refs, lambda r, s, t: r[t])
    assert set(k.split("/")[0] for k in m if "/" in k) == {"image->pose", "pose->image"}
    assert m["mRecall"] == 100.0
