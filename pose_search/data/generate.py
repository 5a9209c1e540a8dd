"""The synthetic dataset generator: poses -> bodies -> renders + captions (+ pairs + instructions).

Stages, each a plain function of its inputs:

1. :func:`plan_script` draws every pose of the dataset at once (the sampler's farthest-point
   subsampling needs the whole pool), normalises their heading and assigns splits.
2. The plan is cut into chunks; :func:`build_chunk` turns one chunk into dataset rows (phenotype,
   camera and appearance drawn from a per-chunk seed, so a chunk's rows do not depend on which
   process builds it or on the chunks before it).
3. :func:`run` maps the missing chunks over a process pool and appends each finished chunk to
   the Lance table in one commit: re-running into the same directory skips what is stored.

``fix`` datasets add short motion sequences (in-sequence pairs, < 0.5 s apart) to a pose pool,
mine pairs (``in15_out20_t05_sim0709``-style) and write corrective instructions.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pose_search.body.convention import normalize_heading
from pose_search.data.manifest import build_manifest
from pose_search.data.pairing.features import HANDMADE, PairFeatureFn, handmade_pair_features
from pose_search.data.schema import (
    EVERYDAY_CAPTIONS,
    GENERATOR_VERSION,
    PAIRS_TABLE,
    POSES_TABLE,
    pair_rows_to_table,
    pose_rows_to_table,
)
from pose_search.data.store import (
    DatasetError,
    append_rows,
    read_manifest,
    stored_keys,
    write_json_atomic,
)

log = logging.getLogger(__name__)

KINDS = ("script", "fix")
MAX_SIZE = 50_000_000  # every pose is planned in memory at once (~1 kB each with its sampling pool)


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that decides the content of a synthetic dataset (stored in its manifest)."""

    kind: str = "script"
    size: int = 1000
    seed: int = 0
    val_fraction: float = 0.1
    chunk_size: int = 64
    image_format: str = "jpeg"  # "jpeg" (quality 92) or "png"
    n_captions: int = 3
    # everyday captions appended after the n_captions PoseScript-style ones (sentence, query, ...)
    everyday_captions: int = EVERYDAY_CAPTIONS
    topology: str = "notoes_collapse10pc"
    # fix only: fraction of the pool drawn as short motion sequences (in-sequence pairs)
    sequence_fraction: float = 0.5
    sequence_length: int = 15  # 15 frames at 30 fps: in-sequence pairs are < 0.5 s apart
    sequence_fps: float = 30.0
    # fix only: the feature pairs are mined on: "pose" (hand-made) or a PoseText run directory
    pair_feature: str = "pose"

    def check(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r}: expected one of {KINDS}")
        if self.size < 2:
            raise ValueError(f"size {self.size}: need at least 2 samples")
        if self.size > MAX_SIZE:
            raise ValueError(f"size {self.size}: at most {MAX_SIZE:,} poses per dataset (generate several)")
        if self.seed < 0:
            raise ValueError(f"seed {self.seed}: expected a non-negative integer")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction {self.val_fraction}: expected a value in [0, 1)")
        if self.image_format not in ("jpeg", "png"):
            raise ValueError(f"image_format {self.image_format!r}: expected 'jpeg' or 'png'")
        if self.chunk_size < 1 or self.n_captions < 1:
            raise ValueError("chunk_size and n_captions must be >= 1")
        if self.everyday_captions < 0:
            raise ValueError(f"everyday_captions {self.everyday_captions}: expected >= 0")
        if self.kind != "fix" and self.pair_feature != HANDMADE:
            raise ValueError(f"pair_feature {self.pair_feature!r}: only --kind fix mines pairs")


@dataclass
class PosePlan:
    """All poses of a dataset, decided before any rendering.

    poses:     ``(N, 22, 3)`` heading-normalised canonical poses.
    families:  N family labels.
    splits:    N split names.
    sequence:  ``(N,)`` motion sequence index (-1 = a lone pose).
    times:     ``(N,)`` time in its sequence (s).
    turn:      ``(N,)`` heading (rad) the pose had before normalisation, for in-sequence turns.
    """

    poses: np.ndarray
    families: list[str]
    splits: list[str]
    sequence: np.ndarray
    times: np.ndarray
    turn: np.ndarray
    ids: list[str] = field(default_factory=list)


def _assign_splits(n: int, val_fraction: float, rng: np.random.Generator, groups: np.ndarray) -> list[str]:
    """Split by group (a motion sequence stays in one split), ``val_fraction`` of groups to val."""
    uniq = np.unique(groups)
    val = set(rng.permutation(uniq)[: int(round(val_fraction * len(uniq)))].tolist())
    return ["val" if g in val else "train" for g in groups]


def plan_script(cfg: GenerateConfig) -> PosePlan:
    """Draw the poses of a ``script`` dataset (or the pose pool of a ``fix`` dataset)."""
    from pose_search.body.convention import yaw_of
    from pose_search.data.sampler import sample_motion_sequence, sample_poses

    rng = np.random.default_rng([cfg.seed, 1])
    n_seq_poses = int(cfg.size * cfg.sequence_fraction) if cfg.kind == "fix" else 0
    n_seq = n_seq_poses // cfg.sequence_length
    n_single = cfg.size - n_seq * cfg.sequence_length
    poses, families = sample_poses(n_single, seed=cfg.seed)
    poses = np.asarray(poses, dtype=np.float32)
    families = list(families)
    sequence = np.full(len(poses), -1, dtype=np.int64)
    times = np.zeros(len(poses))
    seq_rng = np.random.default_rng([cfg.seed, 2])
    for s in range(n_seq):
        # a motion between two poses of one family (the family of a drawn pose, so the shares match)
        family = families[s % max(n_single, 1)].split("+")[0]
        seq = np.asarray(sample_motion_sequence(family, cfg.sequence_length, cfg.sequence_fps, rng=seq_rng))
        poses = np.concatenate([poses, seq.astype(np.float32)])
        families += [family] * len(seq)
        sequence = np.concatenate([sequence, np.full(len(seq), s)])
        times = np.concatenate([times, np.arange(len(seq)) / cfg.sequence_fps])
    pt = torch.from_numpy(poses)
    from roma import rotvec_to_rotmat

    turn = yaw_of(rotvec_to_rotmat(pt[:, 0])).numpy()
    # In a sequence every frame is normalised by the sequence's first yaw, so turns survive.
    ref = turn.copy()
    for s in range(n_seq):
        members = np.flatnonzero(sequence == s)
        ref[members] = turn[members[0]]
    canon = normalize_heading(pt, yaw=torch.from_numpy(ref).float()).numpy()
    groups = np.where(sequence >= 0, sequence + len(poses), np.arange(len(poses)))
    splits = _assign_splits(len(poses), cfg.val_fraction, rng, groups)
    ids = [f"{cfg.kind}-{cfg.seed}-{i:07d}" for i in range(len(poses))]
    return PosePlan(canon, families, splits, sequence, times, turn - ref, ids)


# ---------------------------------------------------------------------------------------------
# Per-chunk work (runs in worker processes; the body model is built once per process)

_WORKER: dict[str, Any] = {}


def _worker_init(topology: str) -> None:
    torch.set_num_threads(1)
    from pose_search.body.anny_backend import AnnyBody
    from pose_search.body.parts import anny_part_borders

    body = AnnyBody(topology=topology)
    _WORKER["body"] = body
    _WORKER["parts"] = body.vertex_parts()
    _WORKER["borders"] = anny_part_borders(body.model)  # straight sleeve and trouser ends
    from pose_search.data.captioning.contact import contact_model

    contact_model(topology, body)  # self-contact tables, built once per process from this body


def sample_phenotypes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Adult phenotypes ``(n, 6)``: gender, age, muscle, weight, height, proportions in [0, 1]."""
    ph = np.empty((n, 6), dtype=np.float32)
    ph[:, 0] = rng.uniform(0.0, 1.0, n)  # gender
    ph[:, 1] = rng.uniform(0.42, 0.95, n)  # age: young adult to senior (0.25 would be a child)
    ph[:, 2] = np.clip(rng.normal(0.5, 0.18, n), 0.0, 1.0)  # muscle
    ph[:, 3] = np.clip(rng.normal(0.5, 0.2, n), 0.0, 1.0)  # weight
    ph[:, 4] = np.clip(rng.normal(0.5, 0.2, n), 0.0, 1.0)  # height
    ph[:, 5] = np.clip(rng.normal(0.5, 0.15, n), 0.0, 1.0)  # proportions
    return ph


def encode_image(image: np.ndarray, fmt: str) -> bytes:
    """``(H, W, 3)`` uint8 -> encoded bytes."""
    from PIL import Image

    buf = io.BytesIO()
    if fmt == "png":
        Image.fromarray(image).save(buf, format="PNG", optimize=False)
    else:
        Image.fromarray(image).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def build_chunk(task: tuple[GenerateConfig, int, PosePlan]) -> list[dict[str, Any]]:
    """Rows for one chunk of the plan (``task`` = config, chunk index, the chunk's sub-plan)."""
    from pose_search.body.skeleton import neutral_joints
    from pose_search.data.captioning import describe_poses
    from pose_search.data.render import render_person, sample_render_settings

    cfg, chunk, plan = task
    rng = np.random.default_rng([cfg.seed, 3, chunk])
    body, parts = _WORKER["body"], _WORKER["parts"]
    n = len(plan.ids)
    pheno = sample_phenotypes(rng, n)
    out = body(plan.poses, shape=pheno)
    joints = neutral_joints(plan.poses)
    # self-contact ("touch") codes come from this person's own posed mesh
    captions = describe_poses(joints, plan.poses, n_captions=cfg.n_captions,
                              everyday=cfg.everyday_captions, rng=rng,
                              vertices=out.vertices.numpy(), topology=cfg.topology)
    rows = []
    for i in range(n):
        settings = sample_render_settings(rng)
        image = render_person(out.vertices[i].numpy(), body.faces.numpy(), parts, settings,
                              _WORKER["borders"])
        meta = {"render": _jsonable(settings), "sequence": int(plan.sequence[i]),
                "time": float(plan.times[i]), "turn_deg": float(np.degrees(plan.turn[i]))}
        rows.append(
            {
                "id": plan.ids[i],
                "pose": plan.poses[i],
                "shape": pheno[i],
                "shape_space": body.shape_space,
                "joints": joints[i],
                "image": encode_image(image, cfg.image_format),
                "captions": captions[i].texts,
                "caption_kinds": captions[i].kinds,
                "family": plan.families[i],
                "split": plan.splits[i],
                "source": GENERATOR_VERSION,
                "meta": json.dumps(meta),
            }
        )
    return rows


def _jsonable(settings: Any) -> Any:
    try:
        value = asdict(settings)
    except TypeError:
        value = dict(vars(settings))
    return json.loads(json.dumps(value, default=lambda o: np.asarray(o).tolist()))


def _chunks(plan: PosePlan, size: int) -> Iterator[tuple[int, PosePlan]]:
    for c, start in enumerate(range(0, len(plan.ids), size)):
        sl = slice(start, start + size)
        yield c, PosePlan(plan.poses[sl], plan.families[sl], plan.splits[sl], plan.sequence[sl],
                          plan.times[sl], plan.turn[sl], plan.ids[sl])


# ---------------------------------------------------------------------------------------------
# Driver


def _check_existing(out: Path, cfg: GenerateConfig) -> None:
    if not (out / "manifest.json").exists():
        if any(not p.name.startswith(".") for p in out.iterdir()):  # (hidden: e.g. a sync state)
            raise DatasetError(f"{str(out)!r} holds files but is not a pose-search dataset (no manifest.json); "
                               "use a new --out directory")
        return
    manifest = read_manifest(out)
    version = manifest.get("generator_version")
    if version != GENERATOR_VERSION:  # another caption layout and table schema: cannot append
        raise DatasetError(
            f"{str(out)!r} holds a dataset of generator {version!r}, this is "
            f"{GENERATOR_VERSION!r}; use a new --out directory"
        )
    # fields added after a dataset was made take their defaults (older manifests stay resumable)
    stored = {**asdict(GenerateConfig(kind=cfg.kind)), **manifest.get("config", {})}
    if stored != asdict(cfg):
        raise DatasetError(
            f"{str(out)!r} already holds a dataset generated with another configuration "
            f"({stored}); use a new --out directory or the same settings to resume"
        )


def run(
    out: str | Path,
    cfg: GenerateConfig,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    pair_features: PairFeatureFn | None = None,
) -> dict[str, Any]:
    """Generate (or resume) a synthetic dataset in ``out``; returns its manifest.

    ``pair_features``: the feature function of a learned ``cfg.pair_feature`` (a PoseText model,
    resolved with :func:`pose_search.models.pair_features.for_config`); None for ``"pose"``."""
    cfg.check()
    if cfg.kind == "fix" and cfg.pair_feature != HANDMADE and pair_features is None:
        raise ValueError(f"pair_feature {cfg.pair_feature!r}: a learned pair feature needs its model's feature "
                         "function (pose_search.models.pair_features.for_config resolves both)")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, no permission, ...
        raise DatasetError(f"output {str(out)!r} cannot be a dataset directory: {exc}") from None
    _check_existing(out, cfg)
    start = time.perf_counter()
    plan = plan_script(cfg)
    write_json_atomic(out / "manifest.json", build_manifest(out, cfg, status="incomplete"))
    done = stored_keys(out, POSES_TABLE)
    todo = [(cfg, c, sub) for c, sub in _chunks(plan, cfg.chunk_size) if not set(sub.ids) <= done]
    n_done = len(plan.ids) - sum(len(t[2].ids) for t in todo)
    if progress:
        progress(n_done, len(plan.ids))
    for rows in _map_chunks(todo, cfg.topology, workers):
        append_rows(out, POSES_TABLE, pose_rows_to_table(rows))
        n_done += len(rows)
        if progress:
            progress(n_done, len(plan.ids))
    if cfg.kind == "fix":
        _build_pairs(out, cfg, plan, pair_features or handmade_pair_features)
    seconds = time.perf_counter() - start
    manifest = build_manifest(out, cfg, status="complete", seconds=seconds)
    write_json_atomic(out / "manifest.json", manifest)
    return manifest


def _map_chunks(todo: list, topology: str, workers: int) -> Iterator[list[dict[str, Any]]]:
    if not todo:
        return
    if workers <= 1:
        _worker_init(topology)
        for task in todo:
            yield build_chunk(task)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # torch and fork do not mix
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(topology,)) as pool:
        yield from pool.map(build_chunk, todo)


def _build_pairs(out: Path, cfg: GenerateConfig, plan: PosePlan, features: PairFeatureFn) -> None:
    """Mine pairs over the pool (per split) and write their instructions."""
    from pose_search.body.skeleton import neutral_joints
    from pose_search.data.captioning import posecode_signature
    from pose_search.data.pairing import instruct_pairs, mine_pairs

    if stored_keys(out, PAIRS_TABLE):
        return  # pairs are written in one commit: present means complete
    rng = np.random.default_rng([cfg.seed, 4])
    joints = neutral_joints(plan.poses)
    rows = []
    for split in ("train", "val"):
        idx = np.flatnonzero(np.asarray(plan.splits) == split)
        if len(idx) < 2:
            continue
        sig = posecode_signature(joints[idx], plan.poses[idx], rng=rng)
        feats = features(joints[idx], plan.poses[idx])
        pairs = mine_pairs(feats, sig, plan.sequence[idx], plan.times[idx], rng=rng)
        if not pairs:
            continue
        for kind in ("in", "out"):
            chosen = [p for p in pairs if p[2] == kind]
            if not chosen:
                continue
            a = idx[[p[0] for p in chosen]]
            b = idx[[p[1] for p in chosen]]
            turn = np.degrees(plan.turn[b] - plan.turn[a]) if kind == "in" else None
            texts = instruct_pairs(joints[a], joints[b], plan.poses[a], plan.poses[b],
                                   turn_deg=turn, n_texts=cfg.n_captions, rng=rng)
            for ia, ib, t in zip(a, b, texts):
                if not any(s.strip() for s in t):
                    continue  # nothing to say (mining requires many differences, so rare)
                rows.append({"pair_id": f"{plan.ids[ia]}>{plan.ids[ib]}", "a_id": plan.ids[ia],
                             "b_id": plan.ids[ib], "kind": kind, "instructions": t,
                             "split": split, "source": GENERATOR_VERSION, "meta": "{}"})
    if rows:
        append_rows(out, PAIRS_TABLE, pair_rows_to_table(rows))
    log.info("mined %d pairs", len(rows))


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
