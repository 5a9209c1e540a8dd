"""symBBC and its multi-worker gathering (a real 2-process gloo group on CPU)."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from pose_search.losses import gather_with_grad, symbbc

WORLD = 2
B_LOCAL = 4
DIM = 8


def _features(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(WORLD * B_LOCAL, DIM, generator=g), dim=-1)
    z = F.normalize(torch.randn(WORLD * B_LOCAL, DIM, generator=g), dim=-1)
    return q, z


def test_perfect_alignment_gives_low_loss() -> None:
    q = torch.eye(8)  # orthonormal: each query matches its own target only
    assert float(symbbc(q, q.clone(), 10.0)) < 1e-3


def test_shuffled_gives_about_log_b() -> None:
    g = torch.Generator().manual_seed(0)
    b = 64
    q = F.normalize(torch.randn(b, 32, generator=g), dim=-1)
    z = F.normalize(torch.randn(b, 32, generator=g), dim=-1)  # unrelated targets
    assert abs(float(symbbc(q, z, 1.0)) - math.log(b)) < 0.1
    # scale 0: all logits equal, exactly log(B)
    assert abs(float(symbbc(q, z, 0.0)) - math.log(b)) < 1e-5


def test_symmetric_and_scale_gets_gradient() -> None:
    q, z = _features()
    scale = torch.tensor(10.0, requires_grad=True)
    loss = symbbc(q, z, scale)
    torch.testing.assert_close(loss, symbbc(z, q, scale))
    loss.backward()
    assert scale.grad is not None and scale.grad != 0


def test_gather_without_distributed_is_identity() -> None:
    x = torch.randn(3, 5, requires_grad=True)
    assert gather_with_grad(x) is x
    q, z = _features()
    torch.testing.assert_close(symbbc(q, z, 10.0, gather=True), symbbc(q, z, 10.0))


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        q_all, z_all = _features()
        sl = slice(rank * B_LOCAL, (rank + 1) * B_LOCAL)
        q = q_all[sl].clone().requires_grad_(True)
        z = z_all[sl].clone().requires_grad_(True)
        gathered = gather_with_grad(q)
        loss = symbbc(q, z, 10.0, gather=True)
        loss.backward()
        torch.save(
            {
                "loss": loss.detach(),
                "q_grad": q.grad,
                "z_grad": z.grad,
                "gathered": gathered.detach(),
            },
            Path(out_dir) / f"rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def test_two_process_gather_matches_global_batch(tmp_path) -> None:
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=True)
    q_all, z_all = _features()
    q_ref = q_all.clone().requires_grad_(True)
    z_ref = z_all.clone().requires_grad_(True)
    ref = symbbc(q_ref, z_ref, 10.0)
    ref.backward()
    for rank in range(WORLD):
        res = torch.load(tmp_path / f"rank{rank}.pt")
        sl = slice(rank * B_LOCAL, (rank + 1) * B_LOCAL)
        torch.testing.assert_close(res["gathered"], q_all)  # rank order kept
        torch.testing.assert_close(res["loss"], ref.detach())
        # the local features get exactly their share of the global-batch gradient
        assert res["q_grad"].abs().sum() > 0
        torch.testing.assert_close(res["q_grad"], q_ref.grad[sl])
        torch.testing.assert_close(res["z_grad"], z_ref.grad[sl])
