"""The default body: the free `anny` model (MakeHuman-based, CC0 assets), driven by SMPL-X poses.

Canonical SMPL-X poses are retargeted analytically onto anny's default 104-bone rig (see
``shared/reference/anny_notes.md`` section 4 for the derivation):

* SMPL-X local rotations are re-expressed in anny's axes (z up, facing -y): ``S = C R C^T``.
* World rotations chain like SMPL-X: ``G_j = G_parent(j) S_j``.
* Each anny bone is *owned* by the SMPL-X joint it maps to (or by its parent's owner) and gets
  ``G_owner Q_c``, where ``Q_c`` is a fixed correction taking anny's A-pose reference onto a
  SMPL-X-like T-pose (upper arm, forearm and hand straightened onto +-x, palms down).
* anny's ``local-ref`` parameterisation wants per-bone deltas ``D_c = G'_parent^T G'_c``.

Shape is anny's phenotype: ``(gender, age, muscle, weight, height, proportions)`` in [0, 1].
"""

from __future__ import annotations

import logging
import time
import typing
from functools import cached_property

import numpy as np
import torch

from pose_search.body.convention import NUM_BODY_JOINTS, PARENTS
from pose_search.body.model import BodyModel, BodyOutput, register_body_model
from pose_search.body.rotations import roma
from pose_search.config import anny_cache_dir

log = logging.getLogger(__name__)

PHENOTYPE_LABELS = ("gender", "age", "muscle", "weight", "height", "proportions")
NEUTRAL_PHENOTYPE = (0.5, 0.5, 0.5, 0.5, 0.5, 0.5)

# canonical (y up, +z front) -> anny (z up, -y front); x is the body's left in both.
C = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)

# SMPL-X body joint -> anny bone(s) whose head is that joint. Feet map onto all five toe roots.
JOINT_TO_BONES: dict[int, tuple[str, ...]] = {
    0: ("root",),
    1: ("upperleg01.L",),
    2: ("upperleg01.R",),
    3: ("spine03",),
    4: ("lowerleg01.L",),
    5: ("lowerleg01.R",),
    6: ("spine02",),
    7: ("foot.L",),
    8: ("foot.R",),
    9: ("spine01",),
    10: tuple(f"toe{i}-1.L" for i in range(1, 6)),
    11: tuple(f"toe{i}-1.R" for i in range(1, 6)),
    12: ("neck01",),
    13: ("clavicle.L",),
    14: ("clavicle.R",),
    15: ("head",),
    16: ("upperarm01.L",),
    17: ("upperarm01.R",),
    18: ("lowerarm01.L",),
    19: ("lowerarm01.R",),
    20: ("wrist.L",),
    21: ("wrist.R",),
}

# A-pose -> T-pose: (bone, the bone whose head ends it, target direction in anny axes).
TPOSE_TARGETS: tuple[tuple[str, str, tuple[float, float, float]], ...] = tuple(
    (f"{bone}.{side}", f"{end}.{side}", (sign, 0.0, 0.0))
    for side, sign in (("L", 1.0), ("R", -1.0))
    for bone, end in (("upperarm01", "lowerarm01"), ("lowerarm01", "wrist"), ("wrist", "finger3-1"))
)


def _min_rotation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Smallest rotation ``(3, 3)`` taking direction ``a`` onto direction ``b``."""
    a = a / a.norm()
    b = b / b.norm()
    axis = torch.linalg.cross(a, b)
    angle = torch.atan2(axis.norm(), torch.dot(a, b))
    if axis.norm() < 1e-12:
        return torch.eye(3, dtype=a.dtype)
    return roma.rotvec_to_rotmat(axis / axis.norm() * angle)


class SmplxToAnnyRetarget:
    """Turns canonical poses into anny ``local-ref`` pose parameters ``(B, bones, 4, 4)``."""

    def __init__(self, model: torch.nn.Module) -> None:
        labels: list[str] = list(model.bone_labels)
        index = {label: i for i, label in enumerate(labels)}
        parents: list[int] = list(model.bone_parents)
        if any(p >= c for c, p in enumerate(parents) if p >= 0):
            raise RuntimeError("anny rig is not ordered parents-first; unsupported anny version")
        self.bone_count = len(labels)
        self.parents = torch.tensor([max(p, 0) for p in parents])

        owner = [0] * self.bone_count
        mapped = {index[b]: j for j, bones in JOINT_TO_BONES.items() for b in bones}
        for c in range(1, self.bone_count):
            owner[c] = mapped.get(c, owner[parents[c]])
        self.owner = torch.tensor(owner)
        self.joint_bones = [[index[b] for b in JOINT_TO_BONES[j]] for j in range(NUM_BODY_JOINTS)]

        with torch.no_grad():
            heads = model()["bone_poses"][0, :, :3, 3].to(torch.float64)
        targets = {index[b]: (index[e], torch.tensor(t, dtype=torch.float64)) for b, e, t in TPOSE_TARGETS}
        q = torch.eye(3, dtype=torch.float64).repeat(self.bone_count, 1, 1)
        for c in range(1, self.bone_count):
            q[c] = q[parents[c]]
            if c in targets:
                end, target = targets[c]
                q[c] = _min_rotation(q[c] @ (heads[end] - heads[c]), target) @ q[c]
        self.q = q

    def pose_parameters(self, pose: torch.Tensor, transl: torch.Tensor) -> torch.Tensor:
        """Pose ``(B, 22, 3)`` axis-angle + transl ``(B, 3)`` -> ``(B, bones, 4, 4)`` float64."""
        b = pose.shape[0]
        local = C @ roma.rotvec_to_rotmat(pose.to(torch.float64)) @ C.T
        glob = [local[:, 0]]
        for j in range(1, NUM_BODY_JOINTS):
            glob.append(glob[PARENTS[j]] @ local[:, j])
        g = torch.stack(glob, dim=1)[:, self.owner] @ self.q  # (B, bones, 3, 3)
        delta = g[:, self.parents].transpose(-1, -2) @ g
        delta[:, 0] = g[:, 0]
        out = torch.eye(4, dtype=torch.float64).repeat(b, self.bone_count, 1, 1)
        out[:, :, :3, :3] = delta
        out[:, 0, :3, 3] = transl.to(torch.float64) @ C.T
        return out


def _quiet_warp() -> None:
    """Warp (anny's skinning kernels) greets on stdout when it starts and reports every kernel
    module it loads; in every process that builds a body, data-generation workers included. Only
    with debug logging (``pose-search -v``) do those lines show; Warp's warnings and errors always do."""
    if log.isEnabledFor(logging.DEBUG):
        return
    import warp

    warp.config.log_level = max(warp.config.log_level, warp.LOG_WARNING)


@register_body_model("anny")
class AnnyBody(BodyModel):
    """anny driven by canonical SMPL-X poses.

    ``topology``: ``"notoes_collapse10pc"`` (1,229 vertices, the default: renders at 256x192 look
    the same as the full mesh at a quarter of the cost) or ``"anny"`` (13,718 vertices).
    The anny cache is built once into :func:`pose_search.config.anny_cache_dir`.
    """

    name = "anny"
    shape_space = "anny-phenotype"
    shape_dim = len(PHENOTYPE_LABELS)

    def __init__(self, topology: str = "notoes_collapse10pc", dtype: torch.dtype = torch.float32) -> None:
        if topology in ("smplx", "smpl"):
            raise ValueError(
                f"anny topology {topology!r} needs non-commercial data downloads; "
                "use 'anny' or 'notoes_collapse10pc'"
            )
        import anny  # heavy; imported only when a body is built
        import anny.paths
        from anny.typing import AlternativeTopology

        known = ("anny", *(t for t in typing.get_args(AlternativeTopology) if t not in ("smplx", "smpl")))
        if topology not in known:
            raise ValueError(f"unknown anny topology {topology!r}; expected one of {', '.join(known)}")

        cache = anny_cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
        anny.paths.set_anny_cache_path(cache)
        _quiet_warp()
        start = time.perf_counter()
        self.model = anny.Anny(topology=topology).to(dtype)
        elapsed = time.perf_counter() - start
        if elapsed > 10:
            log.info("built the anny cache in %.0f s under %s (done once)", elapsed, cache)
        self.topology = topology
        self.dtype = dtype
        self.retarget = SmplxToAnnyRetarget(self.model)

    def neutral_shape(self, batch: int) -> torch.Tensor:
        return torch.tensor(NEUTRAL_PHENOTYPE, dtype=torch.float32).repeat(batch, 1)

    @property
    def faces(self) -> torch.Tensor:
        return self.model.faces

    @cached_property
    def bone_labels(self) -> list[str]:
        return list(self.model.bone_labels)

    def _forward(self, pose: torch.Tensor, shape: torch.Tensor, transl: torch.Tensor) -> BodyOutput:
        params = self.retarget.pose_parameters(pose, transl).to(self.dtype)
        phenotype = {k: shape[:, i].to(self.dtype) for i, k in enumerate(PHENOTYPE_LABELS)}
        with torch.no_grad():
            out = self.model(pose_parameters=params, phenotype_kwargs=phenotype)
        c = C.to(self.dtype)
        heads = out["bone_poses"][:, :, :3, 3]
        joints = torch.stack([heads[:, bones].mean(dim=1) for bones in self.retarget.joint_bones], dim=1)
        # row vectors: canonical = anny @ C  (the inverse of canonical -> anny, C^T)
        return BodyOutput(
            joints=(joints @ c).float(),
            vertices=(out["vertices"] @ c).float(),
            faces=self.model.faces,
        )

    def vertex_parts(self) -> np.ndarray:
        """Body-part label of every vertex ``(V,)`` (see :mod:`pose_search.body.parts`)."""
        from pose_search.body.parts import anny_vertex_parts

        return anny_vertex_parts(self.model)
