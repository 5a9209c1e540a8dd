"""R-precision of generated instructions through a PairText model (spec 5.4).

For each query text i: 10 times, draw ``pool - 1`` random other pairs, add the true pair i, rank
the ``pool`` pairs by cosine to text i and note the rank of the true pair; average the rank over
the repetitions; R@k = % of queries whose *mean* rank is < k (k = 1, 2, 3). With fewer than
``pool`` pairs, every pair is in the pool (and the repetitions agree).
"""

from __future__ import annotations

import numpy as np
import torch


def r_precision(pair_emb: torch.Tensor, text_emb: torch.Tensor, ks: tuple[int, ...] = (1, 2, 3),
                pool: int = 200, repeats: int = 10, seed: int = 0) -> dict[str, float]:
    """``{"R@1": %, ...}`` for texts ``(N, E)`` against their pairs ``(N, E)`` (unit vectors)."""
    if pair_emb.shape != text_emb.shape or pair_emb.ndim != 2:
        raise ValueError(f"expected two (N, E) arrays, got {tuple(pair_emb.shape)} and {tuple(text_emb.shape)}")
    n = len(pair_emb)
    if n < 2:
        raise ValueError("R-precision needs at least 2 pairs")
    rng = np.random.default_rng(seed)
    scores = (text_emb.double() @ pair_emb.double().T).numpy()  # (N, N)
    size = min(pool, n)
    ranks = np.zeros(n)
    for i in range(n):
        others = np.delete(np.arange(n), i)
        total = 0.0
        for _ in range(repeats):
            pick = rng.choice(others, size=size - 1, replace=False)
            total += float((scores[i, pick] > scores[i, i]).sum())
        ranks[i] = total / repeats
    return {f"R@{k}": 100.0 * float((ranks < k).mean()) for k in ks}
