"""The pose feature that pair mining compares: hand-made here, or a trained PoseText's pose tower.

PoseFix mines its out-of-sequence pairs with PoseText pose embeddings (cosine band 0.7-0.9).
Before any PoseText exists we use :func:`~pose_search.data.pairing.mining.pose_feature`
(``"pose"``); once one is trained, ``pair_feature=RUN`` switches mining to its embeddings:

    pose-search data generate --kind fix --size 2000 --out data/fix --pair-feature runs/posetext

The learned feature needs a model, a floor above the data: :mod:`pose_search.models.pair_features`
resolves ``RUN`` and gives the feature function that :func:`pose_search.data.generate.run` takes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["HANDMADE", "PairFeatureFn", "handmade_pair_features"]

HANDMADE = "pose"

# joints (N, 22, 3), canonical poses (N, 22, 3) -> features (N, D) that mining compares by cosine
PairFeatureFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def handmade_pair_features(joints: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """The hand-made joint feature ``(N, 126)`` of joints ``(N, 22, 3)`` (``poses`` unused)."""
    from pose_search.data.pairing.mining import pose_feature

    return pose_feature(joints)
