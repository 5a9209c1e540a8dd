"""The pose feature that pair mining compares: hand-made, or a trained PoseText's pose tower.

PoseFix mines its out-of-sequence pairs with PoseText pose embeddings (cosine band 0.7-0.9).
Before any PoseText exists we use :func:`~pose_search.data.pairing.mining.pose_feature`
(``"pose"``); once one is trained, ``pair_feature=RUN`` switches mining to its embeddings:

    pose-search data generate --kind fix --size 2000 --out data/fix --pair-feature runs/posetext

``RUN`` is a PoseText run directory (its ``best/model`` or ``last/model``) or a PoseText
checkpoint directory (``config.json`` + ``model.safetensors``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = ["HANDMADE", "resolve_pair_feature", "pair_features"]

HANDMADE = "pose"


def resolve_pair_feature(spec: str) -> str:
    """``"pose"``, or the absolute PoseText checkpoint directory that ``spec`` names.

    Raises ``ValueError`` naming ``spec`` when it is neither (checked before any work starts).
    """
    if spec == HANDMADE:
        return spec
    path = Path(spec).expanduser()
    for candidate in (path, path / "best" / "model", path / "last" / "model"):
        if (candidate / "config.json").is_file():
            from pose_search.checkpoint import read_config
            from pose_search.models.registry import model_kind

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
    from pose_search.data.pairing.mining import pose_feature

    resolved = resolve_pair_feature(spec)
    if resolved == HANDMADE:
        return pose_feature(joints)
    from pose_search.checkpoint import load_module

    model = load_module(resolved).eval()
    x = torch.as_tensor(np.asarray(poses, dtype=np.float32))
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"poses: expected shape (N, 22, 3), got {tuple(x.shape)}")
    out = [model.pose_embedding(x[s : s + batch]) for s in range(0, len(x), batch)]
    return torch.cat(out).numpy().astype(np.float64)
