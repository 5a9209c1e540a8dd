"""Write the anny body as a model file in the real SMPL-X ``.npz`` layout.

The licensed SMPL-X files cannot ship with pose-search, but code paths that read them (the
``smplx`` backend, loaders, HPS) must still be exercised. This writes a genuine SMPL-X-layout
file from the free anny mesh: its T-pose as the template, anny's skinning weights merged onto the
55 SMPL-X joints, and one extra vertex per joint so that the joint regressor reproduces anny's
skeleton exactly. Posed with the same canonical pose, the ``smplx`` backend on this file and the
``anny`` backend give the same joints. Pose correctives are zero; betas 0 scales the body.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pose_search.body.anny_backend import AnnyBody
from pose_search.body.convention import NUM_BODY_JOINTS, PARENTS

NUM_SMPLX_JOINTS = 55  # 22 body + jaw + 2 eyes + 2 x 15 finger joints
NUM_SHAPE = 20  # 10 shape + 10 expression directions (smplx's "reduced" layout)


def smplx_parents() -> np.ndarray:
    """Parents ``(55,)`` of the SMPL-X joints (-1 for the root)."""
    parents = list(PARENTS) + [15, 15, 15]  # jaw, left eye, right eye
    for wrist, first in ((20, 25), (21, 40)):
        for finger in range(5):
            base = first + 3 * finger
            parents += [wrist, base, base + 1]
    return np.asarray(parents, dtype=np.int64)


def write_smplx_npz(path: str | Path, body: AnnyBody | None = None) -> Path:
    """Write ``SMPLX_NEUTRAL``-layout data to ``path`` (``.npz``) from an anny body.

    ``body`` should use the full ``anny`` topology (13,718 vertices), since smplx needs at least
    9,930 vertices; it is built when not given.
    """
    body = body or AnnyBody(topology="anny")
    rest = body(torch.zeros(1, NUM_BODY_JOINTS, 3))
    verts = rest.vertices[0].double().numpy()
    joints = rest.joints[0].double().numpy()
    n_mesh = verts.shape[0]

    # Joint positions of all 55 joints: body joints exact; face and finger joints near the head/wrists.
    all_joints = np.zeros((NUM_SMPLX_JOINTS, 3))
    all_joints[:NUM_BODY_JOINTS] = joints
    all_joints[22:25] = joints[15]
    for wrist, first, sign in ((20, 25, 1.0), (21, 40, -1.0)):
        for k in range(15):
            all_joints[first + k] = joints[wrist] + np.array([sign * 0.02 * (1 + k % 3), 0.0, 0.0])

    v_template = np.concatenate([verts, all_joints], axis=0)
    n_vert = v_template.shape[0]

    # Skinning: anny bone weights summed per owning SMPL-X body joint; joint vertices rigid.
    owner = body.retarget.owner.numpy()
    idx = body.model.vertex_bone_indices.numpy()
    w = body.model.vertex_bone_weights.double().numpy()
    weights = np.zeros((n_vert, NUM_SMPLX_JOINTS))
    np.add.at(weights, (np.repeat(np.arange(n_mesh), idx.shape[1]), owner[idx].reshape(-1)), w.reshape(-1))
    weights[:n_mesh] /= np.clip(weights[:n_mesh].sum(1, keepdims=True), 1e-8, None)
    weights[n_mesh + np.arange(NUM_SMPLX_JOINTS), np.arange(NUM_SMPLX_JOINTS)] = 1.0

    j_regressor = np.zeros((NUM_SMPLX_JOINTS, n_vert))
    j_regressor[np.arange(NUM_SMPLX_JOINTS), n_mesh + np.arange(NUM_SMPLX_JOINTS)] = 1.0

    shapedirs = np.zeros((n_vert, 3, NUM_SHAPE))
    shapedirs[:, :, 0] = 0.05 * v_template  # beta_0: uniform scale (taller / shorter)

    kintree = np.stack([smplx_parents(), np.arange(NUM_SMPLX_JOINTS)]).astype(np.int64)
    kintree[0, 0] = 2**32 - 1  # the official files store the root's parent as uint32 -1

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        v_template=v_template.astype(np.float64),
        f=body.faces.numpy().astype(np.int64),
        J_regressor=j_regressor,
        weights=weights,
        posedirs=np.zeros((n_vert, 3, 9 * (NUM_SMPLX_JOINTS - 1))),
        shapedirs=shapedirs,
        kintree_table=kintree,
        hands_componentsl=np.eye(45),
        hands_componentsr=np.eye(45),
        hands_meanl=np.zeros(45),
        hands_meanr=np.zeros(45),
        lmk_faces_idx=np.zeros(51, dtype=np.int64),
        lmk_bary_coords=np.full((51, 3), 1.0 / 3.0),
        dynamic_lmk_faces_idx=np.zeros((79, 17), dtype=np.int64),
        dynamic_lmk_bary_coords=np.full((79, 17, 3), 1.0 / 3.0),
    )
    return out
