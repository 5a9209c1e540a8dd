"""Embed a dataset into an index directory with Ray Data (``pose-search index build``).

    read_lance(DATA/poses.lance) -> map_batches(Embedder, actors) -> write_lance(staging) -> commit

:class:`Embedder` is a callable class: each Ray actor loads the model once and turns Arrow
batches of dataset rows into index rows (:func:`embed_batch`: metadata + one unit vector per
modality present). Actors get fractional CPUs on small machines (two whole-CPU actors and the
read task would deadlock a 2-core node) and one GPU each with ``gpu=True``. The rows go to a
staging dataset and become visible in one commit (:func:`indexing.table.commit_staging`); rows
whose id is already in the table are skipped, so a re-run or a resume after a crash gives
exactly one row per id. The ANN indexes are (re)built afterwards (:mod:`indexing.build`).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from indexing.table import STAGING_DIR, fixed_size, index_schema, vector_column

log = logging.getLogger(__name__)

READ_COLUMNS = ["id", "split", "family", "source", "meta", "pose", "captions", "image", "image_path"]


def _images(batch: dict[str, list]) -> torch.Tensor:
    """``(B, 3, 256, 192)`` float images of a batch: stored bytes, else the file at image_path."""
    from pose_search.models.encoders.image_files import decode_images, load_image_file

    out = []
    for i, (data, path) in enumerate(zip(batch["image"], batch["image_path"])):
        if data is not None:
            out.append(decode_images([data])[0])
        elif path:
            out.append(load_image_file(path))
        else:
            raise ValueError(f"row {batch['id'][i]!r} has neither image bytes nor image_path")
    return torch.stack(out)


@torch.no_grad()
def embed_batch(model: Any, batch: pa.Table, data_dir: str, modalities: Sequence[str],
                device: torch.device | str = "cpu") -> pa.Table:
    """Dataset rows (Arrow, :data:`READ_COLUMNS`) -> index rows (:func:`index_schema`).

    ``model``: a :class:`pose_search.models.search_model.PoseSearchModel`; vectors ``(B, D)`` are the core's
    reference embeddings of each modality in ``modalities`` (text: the first caption).
    """
    d = batch.to_pydict()
    n = len(d["id"])
    inputs: dict[str, Any] = {}
    if "pose" in modalities:
        inputs["poses"] = torch.tensor(np.asarray(d["pose"], dtype=np.float32).reshape(n, 22, 3), device=device)
    if "text" in modalities:
        inputs["texts"] = [c[0] for c in d["captions"]]
    if "image" in modalities:
        inputs["images"] = _images(d).to(device)
    refs = model.reference_embeddings(**inputs)
    image_ref = [f"{data_dir}#{i}" if img is not None else (p or "")
                 for i, img, p in zip(d["id"], d["image"], d["image_path"])]
    columns: dict[str, Any] = {
        "id": d["id"], "split": d["split"], "family": d["family"], "source": d["source"], "meta": d["meta"],
        "pose": fixed_size(np.asarray(d["pose"], dtype=np.float32).reshape(n, -1)),
        "captions": d["captions"], "image_ref": image_ref,
    }
    for m in sorted(refs):
        columns[vector_column(m)] = fixed_size(refs[m].float().cpu().numpy())
    dims = {m: int(refs[m].shape[1]) for m in refs}
    return pa.Table.from_pydict(columns, schema=index_schema(dims))


class Embedder:
    """Ray Data callable class: the model is loaded once per actor, then applied per batch."""

    def __init__(self, model_dir: str, data_dir: str, modalities: Sequence[str], skip_ids: Sequence[str] = (),
                 threads: int = 1, gpu: bool = False) -> None:
        from pose_search.runs import load_model

        torch.set_num_threads(max(1, threads))
        self.device = torch.device("cuda" if gpu else "cpu")
        self.model = load_model(model_dir).to(self.device)
        self.data_dir = data_dir
        self.modalities = tuple(modalities)
        self.skip = frozenset(skip_ids)
        self.dims = {m: int(self.model.core.cfg.latent_dim) for m in self.modalities}

    def __call__(self, batch: pa.Table) -> pa.Table:
        if self.skip:
            keep = [i for i, x in enumerate(batch.column("id").to_pylist()) if x not in self.skip]
            batch = batch.take(pa.array(keep, type=pa.int64()))
        if batch.num_rows == 0:
            return index_schema(self.dims).empty_table()
        return embed_batch(self.model, batch, self.data_dir, self.modalities, self.device)


def actor_resources(workers: int, gpu: bool, cpus: int | None = None) -> tuple[float, int]:
    """(Ray CPUs per actor, torch threads per actor).

    A whole CPU per actor when the node has room for the read task too; otherwise a fraction,
    keeping one CPU free (2 cores, 2 actors: 0.5 each). Threads: the node's cores shared out.
    """
    cpus = cpus or os.cpu_count() or 1
    per_actor = 1.0 if cpus >= workers + 2 else max(0.25, (cpus - 1) / workers)
    return (min(per_actor, 1.0) if not gpu else 0.5), max(1, cpus // workers)


def run_embedding(model_dir: str | Path, data_dir: str | Path, out: str | Path, dims: dict[str, int],
                  skip_ids: set[str], split: str | None, workers: int = 1, gpu: bool = False,
                  batch_size: int = 64) -> str | None:
    """Embed the rows of ``data_dir`` (``split`` or all) not in ``skip_ids`` with the model in
    ``model_dir`` for the modalities of ``dims`` (``{m: D}``) into a staging dataset under
    ``out``; returns its path, or None when there was nothing to embed.

    Any of the three may be a URI (``s3://...``): Ray Data then reads the dataset, loads the model
    and writes the staging rows through object storage, from whichever node runs each task.
    """
    import lance_ray
    import ray
    from ray.data import ActorPoolStrategy

    from pose_search import storage
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import table_uri
    from pose_search.resources import WorkerRequest, check_fits, live_node_resources

    staging_root = storage.join(out, STAGING_DIR)
    storage.remove_tree(staging_root)  # a crashed job's rows: recomputed below
    if not ray.is_initialized():
        ray.init(include_dashboard=False, logging_level=logging.WARNING, configure_logging=False)
    # sized on the cluster's CPUs (one machine: its cores), leaving room for the read task
    per_actor, threads = actor_resources(workers, gpu, int(ray.cluster_resources().get("CPU", 0)) or None)
    # an actor pool the cluster cannot place makes Ray Data wait for ever: refuse it now
    check_fits(WorkerRequest(workers, per_actor, 1.0 if gpu else 0.0), live_node_resources(ray.nodes()))
    flt = None if split is None else f"split = '{split}'"
    ds = lance_ray.read_lance(table_uri(data_dir, POSES_TABLE), columns=READ_COLUMNS, filter=flt)
    embedded = ds.map_batches(
        Embedder, batch_format="pyarrow", batch_size=batch_size,
        fn_constructor_kwargs={"model_dir": str(model_dir), "data_dir": str(data_dir),
                               "modalities": sorted(dims), "skip_ids": sorted(skip_ids),
                               "threads": threads, "gpu": gpu},
        compute=ActorPoolStrategy(size=workers), num_cpus=per_actor, num_gpus=1 if gpu else 0,
    )
    staging = storage.join(staging_root, f"{uuid.uuid4().hex}.lance")
    if not storage.is_uri(staging):
        Path(staging_root).mkdir(parents=True)
    lance_ray.write_lance(embedded, staging, schema=index_schema(dims), mode="create")
    if not storage.exists(staging):
        return None
    import lance

    return staging if lance.dataset(staging).count_rows() else None


def embed_in_process(model: Any, data_dir: Path, modalities: Sequence[str], split: str | None = None,
                     batch_size: int = 64) -> Iterator[pa.Table]:
    """The same embedding as the Ray job in a plain loop in this process (tests, benchmarks)."""
    import pyarrow.compute as pc

    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table

    ds = open_table(data_dir, POSES_TABLE)
    flt = None if split is None else pc.field("split") == split
    for rb in ds.to_batches(columns=READ_COLUMNS, filter=flt, batch_size=batch_size):
        yield embed_batch(model, pa.Table.from_batches([rb]), str(data_dir), modalities)
