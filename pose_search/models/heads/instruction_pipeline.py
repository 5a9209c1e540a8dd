"""Pose pair -> corrective instruction: the frozen representation model + the instruction head.

    pipe = load_model("runs/instructions")                       # -> InstructionPipeline
    pipe.instruct({"poses": pose_a}, {"poses": pose_b})          # ["Bend your left knee ..."]
    pipe.instruct({"images": img_a}, {"poses": pose_b}, sample=True)

Identical inputs get a "no change" sentence (the instruction the data generator writes for them)
instead of a generated text. :func:`evaluate_instructions` gives BLEU-4 / ROUGE-L / METEOR against
all references and R-precision through a PairText model, for the input kinds pose-pose,
image-image and pose-image, with a ground-truth ceiling and a random floor computed the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from pose_search.models.heads.instructions import InstructionGenerator

KINDS = ("pose-pose", "image-image", "pose-image")
_INPUT = {"pose": "poses", "image": "images"}


def _same(a: dict[str, Any], b: dict[str, Any]) -> torch.Tensor | None:
    """Per-pair "the two inputs are identical" ``(B,)``, or None when they differ in kind."""
    if set(a) != set(b):
        return None
    same = None
    for k in a:
        x, y = torch.as_tensor(np.asarray(a[k]) if not torch.is_tensor(a[k]) else a[k]), \
            torch.as_tensor(np.asarray(b[k]) if not torch.is_tensor(b[k]) else b[k])
        if x.shape != y.shape:
            return None
        eq = (x.float() - y.float()).flatten(1).abs().amax(1) < 1e-6 if x.ndim > 1 else x == y
        same = eq if same is None else same & eq
    return same


class InstructionPipeline(nn.Module):
    def __init__(self, representation: nn.Module, head: InstructionGenerator) -> None:
        super().__init__()
        self.representation_model = representation.eval()
        self.head = head.eval()

    @torch.no_grad()
    def instruct(self, a: dict[str, Any], b: dict[str, Any], sample: bool = False, seed: int | None = None,
                 **decoding: Any) -> list[str]:
        """Instructions to go from A to B; ``a``/``b``: ``{"poses": (B, 22, 3)}`` and/or
        ``{"images": (B, 3, 256, 192)}`` (any subset the representation model takes). An image
        without a person raises :class:`~pose_search.models.encoders.base.PersonNotFound` saying
        which side ("pose A: no person found in the image: ..."), when the image encoder can tell."""
        from pose_search.body.convention import validate_pose
        from pose_search.data.pairing import NO_CHANGE
        from pose_search.models.encoders.base import PersonNotFound

        a = {k: (validate_pose(v) if k == "poses" else v) for k, v in a.items()}
        b = {k: (validate_pose(v) if k == "poses" else v) for k, v in b.items()}
        reps = []
        for name, inputs in (("A", a), ("B", b)):
            try:
                reps.append(self.representation_model.representation(**inputs, require_person=True))
            except PersonNotFound as exc:
                raise PersonNotFound(f"pose {name}: {exc}", exc.indices) from None
        rep_a, rep_b = reps
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        texts, _ = self.head.generate(rep_a, rep_b, sample=sample, generator=gen, **decoding)
        same = _same(a, b)
        if same is not None:
            texts = [NO_CHANGE[0] if s else t for s, t in zip(same.tolist(), texts)]
        return texts


@torch.no_grad()
def evaluate_instructions(pipe: InstructionPipeline, data: str | Path, split: str = "val",
                          pairtext: nn.Module | None = None, kinds: tuple[str, ...] = KINDS,
                          limit: int | None = None, batch: int = 64, progress: bool = True,
                          decoding: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{kind: {"BLEU-4", "ROUGE-L", "METEOR", "R@1/2/3"?, "loglik"}, "ground_truth": ..., "random": ...}``;
    ``decoding``: options of :meth:`InstructionGenerator.generate` (default: plain greedy)."""
    from tqdm import tqdm

    from pose_search.data.pairs import load_pairs, load_pool_poses
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table
    from pose_search.metrics.instructions import r_precision
    from pose_search.metrics.text import text_metrics
    from pose_search.models.encoders.image_files import decode_images, load_image_file

    bad = [k for k in kinds if set(k.split("-")) - set(_INPUT)]
    if bad:
        raise ValueError(f"input kinds {bad}: expected e.g. pose-pose, image-image, pose-image")
    if limit is not None and limit < 1:
        raise ValueError(f"limit {limit}: expected at least 1 pair")
    pairs = load_pairs(str(data), split)
    n = len(pairs["a"]) if not limit else min(limit, len(pairs["a"]))
    a_idx, b_idx, refs = pairs["a"][:n], pairs["b"][:n], pairs["instructions"][:n]
    poses = load_pool_poses(str(data))
    images = None
    if any("image" in k for k in kinds):
        t = open_table(data, POSES_TABLE).to_table(columns=["image", "image_path"])
        blobs, paths = t.column("image").to_pylist(), t.column("image_path").to_pylist()

        def images(idx: torch.Tensor) -> torch.Tensor:  # noqa: F811 - a loader, defined only when needed
            return torch.stack([decode_images([blobs[i]])[0] if blobs[i] is not None else load_image_file(paths[i])
                                for i in idx.tolist()])

    pair_emb = pairtext.pair_embedding(poses[a_idx], poses[b_idx]) if pairtext is not None else None

    def scores(hyps: list[str]) -> dict[str, float]:
        out = text_metrics(hyps, refs)
        if pairtext is not None:
            out.update(r_precision(pair_emb, pairtext.embed_texts(hyps)))
        return out

    report: dict[str, Any] = {"data": str(data), "split": split, "pairs": n, "pairtext": pairtext is not None}
    report["ground_truth"] = scores([r[0] for r in refs])
    report["random"] = scores([refs[(i + 1) % n][0] for i in range(n)])
    for kind in kinds:
        ka, kb = kind.split("-")
        hyps: list[str] = []
        loglik = []
        for s in tqdm(range(0, n, batch), desc=f"instructions {kind}", disable=not progress):
            ia, ib = a_idx[s : s + batch], b_idx[s : s + batch]
            inp_a = {"poses": poses[ia]} if ka == "pose" else {"images": images(ia)}
            inp_b = {"poses": poses[ib]} if kb == "pose" else {"images": images(ib)}
            rep_a = pipe.representation_model.representation(**inp_a)
            rep_b = pipe.representation_model.representation(**inp_b)
            texts, ll = pipe.head.generate(rep_a, rep_b, **(decoding or {}))
            hyps += texts
            loglik.append(ll)
        report[kind] = {**scores(hyps), "loglik": float(torch.cat(loglik).mean()), "examples": hyps[:5]}
    report["references_examples"] = [r[0] for r in refs[:5]]
    return report
