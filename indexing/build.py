"""``pose-search index build``: model + dataset -> an index directory that answers queries alone.

Steps (each checked before any work starts, each idempotent):

1. copy the model (``encoders/`` + the best ``core``) into ``INDEX/model``;
2. embed the dataset rows not yet in the table with Ray Data (:mod:`indexing.embed`) and commit
   them in one go (:mod:`indexing.table`);
3. (re)build one ANN index per vector column when the table changed (:mod:`indexing.ann`), its
   search parameters tuned on *cross-modal* queries (e.g. text -> pose for the pose column), the
   way users query, to reach ``recall_target`` recall@10 against exact search;
4. write ``INDEX/index.json``.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from indexing.table import (
    ANN_DIR,
    INFO_FILE,
    MODEL_DIR,
    IndexDirError,
    commit_staging,
    read_info,
    stored_ids,
    table_path,
    vector_column,
    write_hit_cache,
    write_info,
)
from pose_search import storage
from pose_search.runs import copy_model as _copy_model_files
from pose_search.runs import model_files as _model_files
from pose_search.runs import model_fingerprint as _fingerprint

log = logging.getLogger(__name__)

MAX_BATCH_SIZE = 1 << 16  # rows per embedding batch

INDEX_FORMAT = 1
TUNE_QUERIES = 1000


@dataclass
class BuildConfig:
    model: str  # a core / aligner run directory (or another index's model/)
    data: str  # a dataset directory
    out: str  # the index directory (given again: resume / add new rows)
    split: str | None = None  # index only this split (None: every row)
    workers: int = 1
    gpu: bool = False
    batch_size: int = 64
    ann: str = "auto"  # auto | flat | hnsw | ivfpq | lance
    recall_target: float = 0.95
    modalities: tuple[str, ...] | None = None  # index only these (None: all the model and dataset have)


def _dataset_modalities(data: Path, model_modalities: tuple[str, ...]) -> tuple[str, ...]:
    """Modalities both the model and the dataset have (a dataset without images: pose + text)."""
    import pyarrow.compute as pc

    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table

    ds = open_table(data, POSES_TABLE)
    has_image = ds.count_rows(filter=pc.field("image").is_valid() | pc.field("image_path").is_valid()) > 0
    present = {"pose", "text"} | ({"image"} if has_image else set())
    return tuple(m for m in model_modalities if m in present)


def _select_modalities(available: tuple[str, ...], wanted: tuple[str, ...] | None) -> tuple[str, ...]:
    """``available`` restricted to ``wanted`` (in the model's order); ValueError for the others."""
    if wanted is None:
        return available
    missing = [m for m in wanted if m not in available]
    if not wanted or missing:
        raise ValueError(f"modalities {', '.join(wanted) or '(none)'}: this model and dataset have "
                         f"{', '.join(available)}")
    return tuple(m for m in available if m in wanted)


def _check_split(data: Path | str, split: str) -> None:
    """ValueError naming the splits there are when the dataset has no row in ``split``."""
    import pyarrow.compute as pc

    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table

    ds = open_table(data, POSES_TABLE)
    if ds.count_rows(filter=pc.field("split") == split) == 0:
        have = sorted(set(ds.to_table(columns=["split"]).column(0).to_pylist()))
        raise ValueError(f"split {split!r}: dataset {str(data)!r} has no rows in it (splits: {', '.join(have)})")


def build(cfg: BuildConfig, progress: bool = True) -> dict[str, Any]:
    """Build or update the index ``cfg.out``; returns its ``index.json`` content."""
    from indexing.embed import run_embedding
    from pose_search.data.store import read_manifest
    from pose_search.models.search_model import PoseSearchModel
    from pose_search.resources import check_count
    from pose_search.runs import load_model

    if cfg.ann not in ("auto", "flat", "hnsw", "ivfpq", "lance"):
        raise ValueError(f"ann {cfg.ann!r}: expected auto, flat, hnsw, ivfpq or lance")
    check_count("workers", cfg.workers)  # a sanity cap; run_embedding checks the cluster itself
    check_count("batch_size", cfg.batch_size, 1, MAX_BATCH_SIZE)
    if cfg.modalities is not None and not set(cfg.modalities) <= {"pose", "image", "text"}:
        raise ValueError(f"modalities {', '.join(cfg.modalities)}: expected some of pose, image, text")
    if not 0.0 < cfg.recall_target <= 1.0:  # also refuses nan
        raise ValueError(f"recall_target {cfg.recall_target}: expected a recall in (0, 1]")
    # URIs (s3://...) stay URIs: Ray Data reads the dataset from object storage on every node, the
    # index is built in a local mirror of --out and uploaded at the end (index.json last)
    run, data = (p if storage.is_uri(p) else Path(p).absolute() for p in (cfg.model, cfg.data))
    remote_out = storage.is_uri(cfg.out) and not cfg.out.startswith("file://")
    out = storage.working_dir(cfg.out) if storage.is_uri(cfg.out) else Path(cfg.out).absolute()
    manifest = read_manifest(data)  # clear error for a missing / corrupt dataset
    if out.exists() and not out.is_dir():
        raise IndexDirError(f"{str(out)!r} is a file, not an index directory; choose a new --out")
    if cfg.split is not None:
        _check_split(data, cfg.split)
    if (out / INFO_FILE).exists():
        old = read_info(out)
        if old["data"] != str(data) or old.get("split") != cfg.split:
            raise IndexDirError(f"{str(out)!r} indexes {old['data']!r} (split {old.get('split')}); "
                                "use a new --out for another dataset")
    elif out.exists() and any(p.name not in (MODEL_DIR, "staging", "db", storage.SYNC_STATE) for p in out.iterdir()):
        raise IndexDirError(f"{str(out)!r} exists and is not an index directory; choose a new --out")
    files = _model_files(run)
    fingerprint = _fingerprint(files)
    copied = out / MODEL_DIR
    if copied.is_dir() and _fingerprint({str(f.relative_to(copied)): f for f in copied.rglob("*")
                                         if f.is_file()}) != fingerprint:
        raise IndexDirError(f"{str(out)!r} was built with another model; use a new --out")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model_dir = _copy_model_files(files, out / MODEL_DIR)
    model = load_model(model_dir)
    if not isinstance(model, PoseSearchModel):
        raise IndexDirError(f"{str(run)!r} is not a core run")
    modalities = _select_modalities(_dataset_modalities(data, model.modalities), cfg.modalities)
    if (out / INFO_FILE).exists() and list(read_info(out)["modalities"]) != list(modalities):
        raise IndexDirError(f"{str(out)!r} indexes {', '.join(read_info(out)['modalities'])}, not "
                            f"{', '.join(modalities)}; use a new --out")
    dims = {m: int(model.core.cfg.latent_dim) for m in modalities}
    timings: dict[str, float] = {}

    t = time.perf_counter()
    have = stored_ids(out)
    if remote_out:  # actors on any node load the model and write their rows through the URI
        storage.publish(out, cfg.out, [MODEL_DIR])
    staging = run_embedding(storage.join(cfg.out, MODEL_DIR) if remote_out else model_dir, data,
                            cfg.out if remote_out else out, dims, have, cfg.split, cfg.workers, cfg.gpu,
                            cfg.batch_size)
    version = commit_staging(out, staging) if staging is not None else _table_version(out)
    timings["embed"] = round(time.perf_counter() - t, 2)
    if version is None:
        raise IndexDirError(f"dataset {str(data)!r} has no rows{'' if cfg.split is None else ' in split ' + repr(cfg.split)}")

    old = read_info(out) if (out / INFO_FILE).exists() else {}
    t = time.perf_counter()
    ann = old.get("ann", {}) if old.get("table_version") == version and old.get("ann_kind") == cfg.ann else {}
    if not ann:
        ann = build_ann_indexes(out, model, modalities, cfg, progress)
    timings["ann"] = round(time.perf_counter() - t, 2)
    import lance

    info = {
        "format": INDEX_FORMAT,
        "model_source": str(run),
        "model_fingerprint": fingerprint,
        "data": str(data),
        "data_kind": manifest.get("kind"),
        "split": cfg.split,
        "modalities": list(modalities),
        "dims": dims,
        "rows": lance.dataset(str(table_path(out))).count_rows(),
        "table_version": version,
        "ann_kind": cfg.ann,
        "ann": ann,
        "build": {**asdict(cfg), "seconds": {**timings, "total": round(time.perf_counter() - start, 2)}},
    }
    write_info(out, info)
    write_hit_cache(out, version)  # after index.json: the service opens only the version it names
    if remote_out:  # the table, the ANN files and the hit cache first; the pointer (index.json) last
        storage.publish(out, cfg.out, [p.name for p in out.iterdir() if p.name not in (INFO_FILE, "staging")])
        storage.publish(out, cfg.out, [INFO_FILE])
    return info


def _table_version(out: Path) -> int | None:
    import lance

    path = table_path(out)
    return int(lance.dataset(str(path)).version) if path.is_dir() else None


def read_vectors(out: Path, modality: str, version: int | None = None) -> np.ndarray:
    """``(N, D)`` float32 vectors of one modality, in table order (the ANN's row positions)."""
    import lance

    ds = lance.dataset(str(table_path(out)), version=version)
    col = ds.to_table(columns=[vector_column(modality)]).column(0).combine_chunks()
    return col.values.to_numpy(zero_copy_only=False).reshape(len(col), -1).astype(np.float32)


@torch.no_grad()
def cross_modal_queries(model: Any, out: Path, target: str, modalities: tuple[str, ...], n: int = TUNE_QUERIES,
                        seed: int = 0) -> np.ndarray:
    """``(Q, D)`` queries into ``target``'s space from the *other* modalities of stored rows."""
    others = [m for m in modalities if m != target] or [target]
    refs = {m: torch.from_numpy(read_vectors(out, m)) for m in set(others) | {target}}
    rows = len(next(iter(refs.values())))
    pick = np.random.default_rng(seed).choice(rows, size=min(n, rows), replace=False)
    parts = []
    for i, m in enumerate(others):
        sel = torch.from_numpy(np.sort(pick[i :: len(others)]))
        parts.append(model.core.query_embedding({m: refs[m][sel]}, (m,), target))
    return torch.cat(parts).float().numpy()


def build_ann_indexes(out: Path, model: Any, modalities: tuple[str, ...], cfg: BuildConfig,
                      progress: bool) -> dict[str, Any]:
    """One ANN index per modality column under ``INDEX/ann/<m>``; returns their infos."""
    from indexing.ann import build_index

    infos = {}
    for m in modalities:
        vectors = read_vectors(out, m)
        queries = cross_modal_queries(model, out, m, modalities)
        index = build_index(vectors, cfg.ann, tune_queries=queries, recall_target=cfg.recall_target,
                            gpu=cfg.gpu, progress=progress)
        target = out / ANN_DIR / m
        shutil.rmtree(target, ignore_errors=True)
        index.save(target)
        infos[m] = index.info
        log.info("ann %s: %s", m, {k: v for k, v in index.info.items() if k in ("kind", "recall", "qps")})
    return infos
