"""Pair mining on a trained PoseText's pose tower (the learned feature of
:mod:`pose_search.data.pairing.features`).

``RUN`` is a PoseText run directory (its ``best/model`` or ``last/model``) or a PoseText checkpoint
directory (``config.json`` + ``model.safetensors``):

>>> cfg, features = for_config(GenerateConfig(kind="fix", size=2000, pair_feature="runs/posetext"))
>>> generate.run("data/fix", cfg, pair_features=features)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from pose_search.checkpoint import read_config
from pose_search.data.generate import GenerateConfig
from pose_search.data.pairing.features import HANDMADE, PairFeatureFn, handmade_pair_features
from pose_search.models.catalog import load_module, model_kind
from pose_search.run_layout import MODEL, part_dirs


def resolve_pair_feature(spec: str) -> str:
    """``"pose"``, or the absolute PoseText checkpoint directory that ``spec`` names.

    Raises ``ValueError`` naming ``spec`` when it is neither (checked before any work starts).
    """
    if spec == HANDMADE:
        return spec
    path = Path(spec).expanduser()
    for candidate in (path, *part_dirs(path, MODEL)):
        if (candidate / "config.json").is_file():
            name = read_config(candidate)["name"]
            if model_kind(name) != "trainable.posetext":
                raise ValueError(f"pair_feature {spec!r}: {str(candidate)!r} holds a {name!r} model, "
                                 "not a PoseText model (train one with `pose-search train posetext`)")
            return str(candidate.resolve())
    raise ValueError(f"pair_feature {spec!r}: expected 'pose' or a PoseText run / checkpoint directory "
                     "(looked for config.json, best/model/config.json, last/model/config.json)")


@torch.no_grad()
def pair_features(spec: str, joints: np.ndarray, poses: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Features ``(N, D)`` for mining, from joints ``(N, 22, 3)`` and canonical poses ``(N, 22, 3)``.

    ``"pose"``: the hand-made joint feature (D = 126); a PoseText directory: its L2-normalised pose
    embeddings (D = the model's embedding size), computed on CPU in batches of ``batch``.
    """
    resolved = resolve_pair_feature(spec)
    if resolved == HANDMADE:
        return handmade_pair_features(joints, poses)
    return posetext_pair_features(resolved, batch)(joints, poses)


def posetext_pair_features(checkpoint: str | Path, batch: int = 1024) -> PairFeatureFn:
    """The feature function of the PoseText checkpoint directory ``checkpoint`` (resolved)."""
    model = load_module(checkpoint).eval()

    @torch.no_grad()
    def features(joints: np.ndarray, poses: np.ndarray) -> np.ndarray:
        return _embed(model, poses, batch)

    return features


def for_config(cfg: GenerateConfig) -> tuple[GenerateConfig, PairFeatureFn | None]:
    """``cfg`` with its ``pair_feature`` resolved (``"pose"`` or an absolute PoseText checkpoint
    folder, as the manifest stores it) and that model's feature function (None for ``"pose"``);
    a clear ``ValueError`` before any work for anything else."""
    if cfg.kind != "fix" or cfg.pair_feature == HANDMADE:
        return cfg, None
    resolved = resolve_pair_feature(cfg.pair_feature)
    return replace(cfg, pair_feature=resolved), posetext_pair_features(resolved)


def _embed(model: torch.nn.Module, poses: np.ndarray, batch: int) -> np.ndarray:
    x = torch.as_tensor(np.asarray(poses, dtype=np.float32))
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"poses: expected shape (N, 22, 3), got {tuple(x.shape)}")
    out = [model.pose_embedding(x[s : s + batch]) for s in range(0, len(x), batch)]
    return torch.cat(out).numpy().astype(np.float64)
