"""Contrastive losses shared by every retrieval model (PoseText, PairText, the core).

symBBC ("symmetric batch-based classification") is the symmetric InfoNCE of CLIP: each query's
positive is the target with the same batch index, every other target is a negative, and the
loss is averaged over both directions.

With several data-parallel workers the negatives can come from the *global* batch:
:func:`gather_with_grad` concatenates every worker's features while keeping the gradient of the
local slice only (the other slices are constants on this worker). Each worker then computes the
same global loss, and its backward pass reaches exactly the features it produced. Under DDP,
whose all-reduce *averages* gradients, the resulting parameter gradient is the global-batch
gradient divided by the world size: a constant factor that Adam is insensitive to (multiply the
loss by the world size where exact equivalence with SGD matters).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


def _distributed_world() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` without an initialised process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` ``(B, ...)`` over every rank -> ``(W * B, ...)``, rank order.

    The local rank's slice is ``x`` itself (so gradients flow into it); the other ranks' slices
    are detached copies. Every rank must pass the same batch size. Without ``torch.distributed``
    (or with one process) ``x`` is returned unchanged.
    """
    rank, world = _distributed_world()
    if world == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(parts, x.detach().contiguous())
    parts[rank] = x  # all_gather has no autograd: put the live local tensor back in its place
    return torch.cat(parts, dim=0)


def symbbc(
    q: torch.Tensor, z: torch.Tensor, scale: torch.Tensor | float, gather: bool = False
) -> torch.Tensor:
    """Symmetric InfoNCE of queries ``q`` ``(B, D)`` against targets ``z`` ``(B, D)`` -> scalar.

    ``S = scale * q @ z.T`` ``(B, B)``; ``L = (CE(S, diag) + CE(S.T, diag)) / 2`` with mean
    cross-entropies over rows. Inputs are expected L2-normalised (then S holds scaled cosines),
    but nothing here requires it. ``scale`` is the learnable logit scale (a scalar tensor) or a
    number. With ``gather=True`` both sides are gathered over all workers first (see
    :func:`gather_with_grad`), so the loss is the one of the global batch.
    """
    if q.ndim != 2 or q.shape != z.shape:
        raise ValueError(
            f"symbbc: expected two (B, D) tensors of one shape, got {tuple(q.shape)} "
            f"and {tuple(z.shape)}"
        )
    if gather:
        q, z = gather_with_grad(q), gather_with_grad(z)
    logits = scale * (q @ z.t())  # (B, B): row i = query i against every target
    labels = torch.arange(q.shape[0], device=q.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
