"""Reading the pose pairs of a ``fix`` dataset (pairs.lance + poses.lance) into memory."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import torch

from pose_search.data.schema import PAIRS_TABLE, POSES_TABLE
from pose_search.data.store import open_table, read_manifest, table_exists


def load_pairs(data_dir: str, split: str, kinds: str = "all") -> dict[str, object]:
    """``{"a": (P,) int64, "b": (P,) int64, "instructions": [[str]], "kind": [str], "pair_id": [str]}``
    with ``a``/``b`` indexing ``load_pool(data_dir)``'s rows; ``kinds``: all, in or out."""
    read_manifest(data_dir)
    if not table_exists(data_dir, PAIRS_TABLE):
        raise ValueError(f"dataset {data_dir!r} has no pairs ({PAIRS_TABLE}); generate one with --kind fix")
    if kinds not in ("all", "in", "out"):
        raise ValueError(f"pair kinds {kinds!r}: expected all, in or out")
    flt = pc.field("split") == split
    if kinds != "all":
        flt = flt & (pc.field("kind") == kinds)
    t = open_table(data_dir, PAIRS_TABLE).to_table(columns=["pair_id", "a_id", "b_id", "kind", "instructions"], filter=flt)
    if t.num_rows == 0:
        raise ValueError(f"dataset {data_dir!r} has no {kinds} pairs in split {split!r}")
    ids = pool_ids(data_dir)
    pos = {x: i for i, x in enumerate(ids)}
    try:
        a = np.asarray([pos[x] for x in t.column("a_id").to_pylist()])
        b = np.asarray([pos[x] for x in t.column("b_id").to_pylist()])
    except KeyError as exc:
        raise ValueError(f"dataset {data_dir!r}: a pair names pose {exc} that is not in {POSES_TABLE}") from None
    return {"a": torch.from_numpy(a), "b": torch.from_numpy(b), "instructions": t.column("instructions").to_pylist(),
            "kind": t.column("kind").to_pylist(), "pair_id": t.column("pair_id").to_pylist()}


def pool_ids(data_dir: str) -> list[str]:
    return open_table(data_dir, POSES_TABLE).to_table(columns=["id"]).column("id").to_pylist()


def load_pool_poses(data_dir: str) -> torch.Tensor:
    """Every pose of the dataset ``(N, 22, 3)``, in :func:`pool_ids` order."""
    t = open_table(data_dir, POSES_TABLE).to_table(columns=["pose"])
    return torch.from_numpy(np.asarray(t.column("pose").to_pylist(), dtype=np.float32).reshape(-1, 22, 3))


def tokenize_texts(tokenizer, texts: list[list[str]], max_tokens: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """``[[str]]`` (P lists of >= 1 texts) -> ids, mask ``(P, C, L)`` (short lists repeat their last text)."""
    c = max(len(x) for x in texts)
    flat = [(list(x) + [x[-1]] * c)[:c][k] for x in texts for k in range(c)]
    ids, mask = tokenizer(flat, max_length=max_tokens)
    return ids.view(len(texts), c, -1), mask.view(len(texts), c, -1)


def pick_text(ids: torch.Tensor, mask: torch.Tensor, index: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One text per row of ``(P, C, L)``: random, or ``index % C``; padding shared by all cut."""
    n, c = ids.shape[:2]
    index = torch.randint(c, (n,)) if index is None else index % c
    i, m = ids[torch.arange(n), index], mask[torch.arange(n), index]
    width = int(m.sum(1).max())
    return i[:, :width], m[:, :width]
