"""Synthetic pose sampler: parametric families, mixing, noise, limits, self-intersection, FPS.

:func:`sample_poses` draws ``oversample * n`` poses from the families of
:mod:`pose_search.data.families` (optionally blending the upper body of one family with the lower
body of another), perturbs every joint with Gaussian noise, clamps them to the anatomical limits
of :mod:`pose_search.data.limits`, adds a random heading, rejects poses whose limb capsules
interpenetrate deeply, and keeps the ``n`` most diverse ones by greedy farthest-point sampling on
the heading-normalised joints with the MPJE (mean per-joint L2 distance), as in PoseScript.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from pose_search.body.convention import JOINT_INDEX, normalize_heading
from pose_search.body.rotations import roma
from pose_search.data.families import FAMILIES
from pose_search.data.limits import clamp_to_limits, within_limits

log = logging.getLogger(__name__)

FK = Callable[[torch.Tensor], torch.Tensor]

# Joints taken from the second family when two families are blended (arms, neck and head).
UPPER_JOINTS = tuple(JOINT_INDEX[n] for n in (
    "neck", "head", "left_collar", "right_collar", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist"))
# Per-joint noise multiplier (root and spine move less, feet and head a bit less).
_NOISE_SCALE = np.ones(22, dtype=np.float32)
for _n, _v in (("pelvis", 0.5), ("spine1", 0.5), ("spine2", 0.5), ("spine3", 0.5),
               ("left_foot", 0.5), ("right_foot", 0.5), ("neck", 0.7), ("head", 0.7)):
    _NOISE_SCALE[JOINT_INDEX[_n]] = _v

# Capsules: name -> (joint a, joint b, radius m, extension of b past the joint as a fraction).
CAPSULES: dict[str, tuple[str, str, float, float]] = {
    "torso": ("pelvis", "neck", 0.11, 0.0),
    "pelvis": ("left_hip", "right_hip", 0.08, 0.0),
    "head": ("neck", "head", 0.09, 0.6),
    **{f"{s}_upper_arm": (f"{s}_shoulder", f"{s}_elbow", 0.05, 0.0) for s in ("left", "right")},
    **{f"{s}_forearm": (f"{s}_elbow", f"{s}_wrist", 0.04, 0.35) for s in ("left", "right")},
    **{f"{s}_thigh": (f"{s}_hip", f"{s}_knee", 0.07, 0.0) for s in ("left", "right")},
    **{f"{s}_shin": (f"{s}_knee", f"{s}_ankle", 0.05, 0.0) for s in ("left", "right")},
    **{f"{s}_foot": (f"{s}_ankle", f"{s}_foot", 0.04, 0.3) for s in ("left", "right")},
}


def _pairs() -> list[tuple[str, str]]:
    """Non-adjacent capsule pairs whose deep interpenetration is checked."""
    out: set[tuple[str, str]] = set()
    for s, o in (("left", "right"), ("right", "left")):
        for other in ("torso", "head", "pelvis", f"{s}_thigh", f"{o}_thigh", f"{s}_shin",
                      f"{o}_shin", f"{s}_foot", f"{o}_foot", f"{o}_forearm", f"{o}_upper_arm"):
            out.add(tuple(sorted((f"{s}_forearm", other))))
        for other in ("torso", "head", f"{o}_upper_arm", f"{s}_thigh", f"{o}_thigh"):
            out.add(tuple(sorted((f"{s}_upper_arm", other))))
        for part in ("thigh", "shin", "foot"):
            for other in (f"{o}_thigh", f"{o}_shin", f"{o}_foot"):
                out.add(tuple(sorted((f"{s}_{part}", other))))
        for part in ("shin", "foot"):
            for other in ("torso", "head"):
                out.add(tuple(sorted((f"{s}_{part}", other))))
    return sorted(out)


CAPSULE_PAIRS: list[tuple[str, str]] = _pairs()


def default_fk() -> FK:
    """The neutral body's forward kinematics (:mod:`pose_search.body.skeleton`)."""
    from pose_search.body.skeleton import forward_kinematics

    return forward_kinematics


def segment_distance(p1: torch.Tensor, q1: torch.Tensor, p2: torch.Tensor,
                     q2: torch.Tensor) -> torch.Tensor:
    """Distance between segments ``[p1, q1]`` and ``[p2, q2]`` (``(..., 3)`` each) -> ``(...)``."""
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a = (d1 * d1).sum(-1).clamp_min(1e-12)
    e = (d2 * d2).sum(-1).clamp_min(1e-12)
    b, c, f = (d1 * d2).sum(-1), (d1 * r).sum(-1), (d2 * r).sum(-1)
    denom = a * e - b * b
    s = torch.where(denom > 1e-10, ((b * f - c * e) / denom.clamp_min(1e-10)).clamp(0, 1),
                    torch.zeros_like(a))
    t = (b * s + f) / e
    s = torch.where(t < 0, (-c / a).clamp(0, 1), torch.where(t > 1, ((b - c) / a).clamp(0, 1), s))
    t = t.clamp(0, 1)
    diff = (p1 + s[..., None] * d1) - (p2 + t[..., None] * d2)
    return diff.norm(dim=-1)


def capsule_penetration(joints: torch.Tensor) -> torch.Tensor:
    """Relative penetration ``(B, P)`` of every checked capsule pair: ``1 - d / (r1 + r2)``
    (<= 0: apart; 1: axes cross) for FK joints ``(B, 22, 3)``; pairs in :data:`CAPSULE_PAIRS`."""
    ends = {}
    for name, (ja, jb, _, ext) in CAPSULES.items():
        a, b = joints[:, JOINT_INDEX[ja]], joints[:, JOINT_INDEX[jb]]
        ends[name] = (a, b + ext * (b - a))
    p1 = torch.stack([ends[x][0] for x, _ in CAPSULE_PAIRS], 1)
    q1 = torch.stack([ends[x][1] for x, _ in CAPSULE_PAIRS], 1)
    p2 = torch.stack([ends[y][0] for _, y in CAPSULE_PAIRS], 1)
    q2 = torch.stack([ends[y][1] for _, y in CAPSULE_PAIRS], 1)
    radii = torch.tensor([CAPSULES[x][2] + CAPSULES[y][2] for x, y in CAPSULE_PAIRS])
    return 1.0 - segment_distance(p1, q1, p2, q2) / radii


def self_intersecting(joints: torch.Tensor, max_penetration: float = 0.5) -> torch.Tensor:
    """Mask ``(B,)``: some pair of non-adjacent capsules is closer than ``(1 - max_penetration)``
    times the sum of their radii (deep interpenetration), for FK joints ``(B, 22, 3)``."""
    return (capsule_penetration(joints) > max_penetration).any(-1)


def farthest_point_sample(joints: np.ndarray | torch.Tensor, k: int, start: int = 0) -> np.ndarray:
    """Greedy farthest-point sampling of ``k`` indices ``(k,)`` among ``N`` joint sets
    ``(N, 22, 3)`` under the MPJE (mean per-joint L2 distance).

    O(N k) with a running min-distance; each step only re-measures the points that the new
    centre can improve, found with the triangle inequality (a point ``p`` whose nearest centre
    ``c`` satisfies ``d(q, c) >= 2 d(p, c)`` cannot get closer to the new centre ``q``).
    """
    x = np.ascontiguousarray(np.asarray(joints, dtype=np.float32).reshape(len(joints), -1, 3))
    n = len(x)
    if not 0 < k <= n:
        raise ValueError(f"farthest_point_sample: k must be in [1, {n}], got {k}")
    if not 0 <= start < n:
        raise ValueError(f"farthest_point_sample: start must be in [0, {n}), got {start}")

    def mpje(pts: np.ndarray, q: np.ndarray) -> np.ndarray:
        d = pts - q
        return np.sqrt(np.einsum("nji,nji->nj", d, d)).mean(-1)

    sel = np.empty(k, dtype=np.int64)
    centres = np.empty((k,) + x.shape[1:], dtype=np.float32)
    mind = mpje(x, x[start])
    assign = np.zeros(n, dtype=np.int64)
    sel[0], centres[0] = start, x[start]
    for i in range(1, k):
        q = int(np.argmax(mind))
        sel[i], centres[i] = q, x[q]
        dqc = mpje(centres[:i], x[q])
        cand = np.flatnonzero(dqc[assign] < 2.0 * mind)
        d = mpje(x[cand], x[q])
        better = d < mind[cand]
        idx = cand[better]
        mind[idx] = d[better]
        assign[idx] = i
    return sel


@dataclass
class SamplerConfig:
    """Knobs of :func:`sample_poses`.

    ``family_weights``: relative weight per family name (missing names: weight 0; ``None``:
    uniform over all families). ``noise_deg``: std of the per-joint Gaussian rotation noise.
    ``mix_prob``: probability of taking arms/neck/head from a second family (label ``"a+b"``).
    ``oversample``: candidates per kept pose before FPS. ``max_penetration``: capsule
    interpenetration tolerance (see :func:`self_intersecting`). ``random_heading``: add a uniform
    yaw to the global orientation.
    """

    family_weights: dict[str, float] | None = None
    noise_deg: float = 4.0
    mix_prob: float = 0.25
    oversample: float = 4.0
    max_penetration: float = 0.5
    random_heading: bool = True
    max_rounds: int = 50

    def probabilities(self) -> tuple[list[str], np.ndarray]:
        """Family names and their sampling probabilities."""
        names = list(FAMILIES)
        w = np.array([1.0 if self.family_weights is None else self.family_weights.get(n, 0.0)
                      for n in names])
        unknown = set(self.family_weights or {}) - set(names)
        if unknown or w.sum() <= 0 or (w < 0).any():
            raise ValueError(f"bad family_weights (unknown: {sorted(unknown)}); families: {names}")
        return names, w / w.sum()


def perturb(pose: torch.Tensor, noise_deg: float, rng: np.random.Generator) -> torch.Tensor:
    """Left-compose Gaussian rotation noise (``noise_deg`` std, scaled per joint) onto poses
    ``(B, 22, 3)`` and clamp to the limits."""
    noise = rng.normal(size=pose.shape).astype(np.float32) * math.radians(noise_deg)
    noise *= _NOISE_SCALE[None, :, None]
    out = roma.rotvec_composition([torch.from_numpy(noise), pose])
    return clamp_to_limits(out)


def add_heading(pose: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Rotate the global orientation of poses ``(B, 22, 3)`` by uniform random yaws."""
    yaw = torch.from_numpy(rng.uniform(-math.pi, math.pi, size=len(pose)).astype(np.float32))
    out = pose.clone()
    ry = roma.rotvec_to_rotmat(torch.stack([torch.zeros_like(yaw), yaw, torch.zeros_like(yaw)], -1))
    out[:, 0] = roma.rotmat_to_rotvec(ry @ roma.rotvec_to_rotmat(pose[:, 0]))
    return out


def draw_candidates(m: int, rng: np.random.Generator,
                    config: SamplerConfig) -> tuple[torch.Tensor, list[str]]:
    """``m`` raw family poses (mixed, noised, clamped, with heading) ``(m, 22, 3)`` + labels."""
    names, prob = config.probabilities()
    fam = rng.choice(len(names), size=m, p=prob)
    mix = rng.random(m) < config.mix_prob
    other = rng.choice(len(names), size=m, p=prob)
    poses = np.empty((m, 22, 3), dtype=np.float32)
    labels = []
    for i in range(m):
        poses[i] = FAMILIES[names[fam[i]]](rng)
        label = names[fam[i]]
        if mix[i] and other[i] != fam[i]:
            poses[i, list(UPPER_JOINTS)] = FAMILIES[names[other[i]]](rng)[list(UPPER_JOINTS)]
            label = f"{label}+{names[other[i]]}"
        labels.append(label)
    out = perturb(torch.from_numpy(poses), config.noise_deg, rng)
    if config.random_heading:
        out = add_heading(out, rng)
    return out, labels


def sample_poses(n: int, *, seed: int, config: SamplerConfig | None = None,
                 fk: FK | None = None) -> tuple[np.ndarray, list[str]]:
    """``n`` diverse plausible poses ``(n, 22, 3)`` float32 (SMPL-X axis-angle, random heading)
    and their family labels (``"a"`` or ``"a+b"`` for a blend), deterministic given ``seed``.

    Draws ``ceil(oversample * n)`` valid candidates (within limits, no deep self-intersection),
    then keeps ``n`` of them by farthest-point sampling inside each family
    (:func:`stratified_fps`) on the FK joints of the heading-normalised poses.
    """
    config = config or SamplerConfig()
    fk = fk or default_fk()
    rng = np.random.default_rng(seed)
    target = max(n, math.ceil(config.oversample * n))
    kept: list[torch.Tensor] = []
    labels: list[str] = []
    joints: list[torch.Tensor] = []
    total = 0
    for _ in range(config.max_rounds):
        need = target - total
        if need <= 0:
            break
        batch, lab = draw_candidates(math.ceil(need * 1.1) + 8, rng, config)
        j = fk(normalize_heading(batch))
        ok = within_limits(batch) & ~self_intersecting(j, config.max_penetration)
        idx = torch.nonzero(ok).flatten()[:need]
        kept.append(batch[idx])
        joints.append(j[idx])
        labels += [lab[i] for i in idx.tolist()]
        total += len(idx)
        log.debug("sampler round: %d/%d valid, %d/%d kept", int(ok.sum()), len(batch), total, target)
    if total < n:
        raise RuntimeError(f"sample_poses: only {total} valid poses after {config.max_rounds} rounds")
    poses = torch.cat(kept)
    sel = stratified_fps(torch.cat(joints).numpy(), labels, n)
    return poses[sel].numpy().astype(np.float32), [labels[i] for i in sel]


def stratified_fps(joints: np.ndarray, labels: list[str], n: int) -> np.ndarray:
    """Pick ``n`` of the candidates ``(M, 22, 3)``: FPS inside each base family.

    Plain FPS over the whole pool favours the outliers (lying bodies are far from every upright
    pose, so they would fill a third of the set); FPS per family keeps the families' shares as
    drawn while still spreading the poses inside each family, as the paper's FPS does.
    The result is interleaved across families, so any prefix is balanced too.
    """
    base = np.array([lab.split("+")[0] for lab in labels])
    fams, counts = np.unique(base, return_counts=True)
    quota = np.floor(counts / counts.sum() * n).astype(int)
    for k in np.argsort(-(counts / counts.sum() * n - quota))[: n - quota.sum()]:
        quota[k] += 1  # largest remainders
    picks = []
    for fam, q in zip(fams, quota):
        members = np.flatnonzero(base == fam)
        order = farthest_point_sample(joints[members], int(q), start=0) if q else []
        picks.append(members[np.asarray(order, dtype=np.int64)])
    rank = np.concatenate([np.arange(len(p)) / max(len(p), 1) for p in picks])
    flat = np.concatenate(picks)
    return flat[np.argsort(rank, kind="stable")]


def sample_motion_sequence(source: str | np.ndarray | torch.Tensor, length: int, fps: float, *,
                           rng: np.random.Generator, max_speed_deg: float = 240.0,
                           noise_deg: float = 1.0) -> np.ndarray:
    """A short smooth motion ``(length, 22, 3)`` float32 between two related poses.

    ``source`` is a family name (pose A is drawn from it, B from the same family then pulled
    towards A) or a pose A ``(22, 3)`` (B is a noisy variant). The per-joint rotations are
    slerped (roma) with a smoothstep profile, with the motion scaled so that no joint turns faster
    than ``max_speed_deg`` per second over ``length / fps`` seconds; a smooth small noise
    (``noise_deg``) is added and every frame is clamped to the limits.
    """
    if length < 2:
        raise ValueError(f"sample_motion_sequence: length must be >= 2, got {length}")
    if isinstance(source, str):
        if source not in FAMILIES:
            raise ValueError(f"unknown family {source!r}; expected one of {list(FAMILIES)}")
        a = add_heading(torch.from_numpy(FAMILIES[source](rng)).float()[None], rng)[0]
        b = torch.from_numpy(FAMILIES[source](rng)).float()
        b[0] = a[0]  # keep the same global orientation family tilt + heading, turn a little below
    else:
        a = torch.as_tensor(np.asarray(source), dtype=torch.float32).reshape(22, 3)
        b = a.clone()
    b = perturb(b[None], 10.0, rng)[0]
    qa, qb = roma.rotvec_to_unitquat(a), roma.rotvec_to_unitquat(b)
    angle = roma.unitquat_geodesic_distance(qa, qb).max()
    duration = (length - 1) / fps
    reach = min(1.0, math.radians(max_speed_deg) * duration / max(float(angle), 1e-6))
    t = torch.linspace(0.0, 1.0, length)
    steps = reach * t * t * (3.0 - 2.0 * t)
    seq = roma.unitquat_to_rotvec(roma.unitquat_slerp(qa, qb, steps))  # (T, 22, 3)
    keys = rng.normal(size=(4, 22, 3)).astype(np.float32) * math.radians(noise_deg)
    keys[0] = 0.0
    tk = np.linspace(0.0, 1.0, 4)
    smooth = np.stack([np.stack([np.interp(t.numpy(), tk, keys[:, j, c]) for c in range(3)], -1)
                       for j in range(22)], 1)
    seq = roma.rotvec_composition([torch.from_numpy(smooth.astype(np.float32)), seq])
    return clamp_to_limits(seq).numpy().astype(np.float32)
