"""SearchService: poses by image, text, pose or any mix, from an index directory alone.

    service = SearchService("indexes/script")
    hits = service.search(text="the left arm is raised above the head", target="pose", k=10)
    hits = service.search(image="photo.jpg", text="kneeling", target="pose", filters={"split": "val"})

``search`` encodes the given inputs with the frozen encoders, runs the core on exactly that
subset, re-projects into the ``target`` modality's space and searches that column's ANN index.
Several queries at once: give lists (or a ``(B, 22, 3)`` pose array) and get one list of hits
per query. The same service backs the CLI, the Python API, the UI and the evaluation.

A query image in which the image encoder finds nobody (BlazePose) raises
:class:`~pose_search.models.encoders.base.PersonNotFound` ("no person found in the image: use a
photo of one person ..."; for a batch, the files or positions without a person) instead of
returning hits; encoders without a person detector (our CNN) cannot tell and search anyway.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from indexing.rows import RowLookup
from indexing.table import (
    ANN_DIR,
    INFO_FILE,
    MODEL_DIR,
    IndexDirError,
    open_hit_cache,
    read_info,
    table_path,
    vector_column,
)
from pose_search.messages import brief
from pose_search.models.encoders.base import PersonNotFound
from pose_search.models.encoders.image_files import MAX_PHOTO_SIDE, load_query_image  # noqa: F401 (re-exported)
from pose_search.query import CAPTION_FILTER, FILTER_COLUMNS, MAX_K, Query, check_filters  # noqa: F401 (re-exported)

# SearchService.photo_notes: a query photo whose legs are out of view (a portrait, a crop)
LEGS_NOT_VISIBLE = ("the legs are not visible in the photo: only its upper body can match, "
                    "the legs of the results are a guess")
HIT_COLUMNS = ["id", "split", "family", "source", "pose", "captions", "image_ref", "meta"]


@dataclass
class Hit:
    """One result: the pose ``(22, 3)``, its captions, where its image is, and the score."""

    id: str
    score: float
    rank: int
    caption: str
    captions: list[str]
    pose: np.ndarray
    image_ref: str
    split: str
    family: str
    source: str
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pose"] = np.asarray(self.pose).round(5).tolist()
        return d


class SearchService:
    """Query an index directory built by ``pose-search index build`` (a path, or a URI such as
    ``s3://...``, mirrored locally first)."""

    def __init__(self, index_dir: str | Path, device: str = "cpu") -> None:
        from indexing.ann import load_index
        from pose_search import storage
        from pose_search.runs import load_model

        try:
            self.root = storage.local_copy(index_dir, exclude=("staging",), pointer=INFO_FILE)
        except FileNotFoundError:
            raise IndexDirError(f"index {str(index_dir)!r} does not exist") from None
        self.info = read_info(self.root)
        self.model = load_model(self.root / MODEL_DIR).to(device)
        self.device = torch.device(device)
        self.modalities: tuple[str, ...] = tuple(self.info["modalities"])
        import lance

        try:
            self.table = lance.dataset(str(table_path(self.root)), version=int(self.info["table_version"]))
        except (ValueError, OSError) as exc:
            raise IndexDirError(f"index {str(self.root)!r}: cannot open its table: {exc}") from exc
        self.rows = self.table.count_rows()
        self.lookup = RowLookup(self.table, "index")  # ids and filter columns, read once
        self._hit_cache = open_hit_cache(self.root, int(self.info["table_version"]), self.rows)
        self.indexes = {}
        for m in self.modalities:
            try:
                self.indexes[m] = load_index(self.root / ANN_DIR / m)
            except (ValueError, OSError) as exc:
                raise IndexDirError(f"index {str(self.root)!r}: the {m} ANN index is missing or corrupt "
                                    f"({exc}); rebuild with `pose-search index build`") from exc
            if len(self.indexes[m]) != self.rows:
                raise IndexDirError(f"index {str(self.root)!r}: the {m} ANN index has {len(self.indexes[m])} "
                                    f"rows, the table {self.rows}; rebuild with `pose-search index build`")
        self._vectors: dict[str, np.ndarray] = {}

    def describe(self) -> dict[str, Any]:
        """What this index holds: ``rows``, ``modalities``, the ``model`` (core and encoder
        architectures, where it came from, its fingerprint), the ``ann`` indexes and the ``data``
        it was built from."""
        from pose_search.checkpoint import read_config
        from pose_search.run_layout import CORE, ENCODERS
        from pose_search.runs import RunDir

        model = RunDir(self.root / MODEL_DIR)
        encoders = {m: read_config(model.path / ENCODERS / m)["name"] for m in self.modalities
                    if (model.path / ENCODERS / m).is_dir()}
        core = model.part(CORE)
        return {"rows": self.rows, "modalities": list(self.modalities),
                "model": {"core": read_config(core)["name"] if core else None, "encoders": encoders,
                          "source": self.info.get("model_source"), "fingerprint": self.info.get("model_fingerprint")},
                "ann": dict(self.info.get("ann", {})), "data": self.info.get("data")}

    def row(self, item_id: str, columns: list[str]) -> dict[str, Any]:
        """``columns`` of the row ``item_id``; :class:`~indexing.rows.UnknownIdError` when there is none."""
        return self.lookup.get(item_id, columns)

    # ------------------------------------------------------------------ queries
    @torch.no_grad()
    def encode(self, query: Query) -> torch.Tensor:
        """Query vectors ``(B, D)`` in ``query.target``'s space for its inputs (any subset);
        :class:`PersonNotFound` for images without a person (a batch's: named by file name)."""
        self._check_target(query.target)
        inputs: dict[str, Any] = {}
        if query.texts is not None:
            inputs["texts"] = list(query.texts)
        if query.poses is not None:
            inputs["poses"] = query.poses.to(self.device)
        if query.images is not None:
            inputs["images"] = self._query_images(list(query.images))
        try:
            return self.model.query(query.target, **inputs)
        except PersonNotFound as exc:
            if query.images is None or len(query.images) < 2:
                raise
            names = [Path(x).name if isinstance(x, (str, Path)) else f"#{i}" for i, x in enumerate(query.images)]
            raise PersonNotFound.in_images(exc.indices, len(query.images), names) from None

    def _check_target(self, target: str) -> None:
        if target not in self.modalities:
            raise ValueError(f"target {brief(target)}: this index holds {', '.join(self.modalities)}")

    @torch.no_grad()
    def photo_notes(self, image: Any) -> list[str]:
        """What a person should know about one query photo's results: :data:`LEGS_NOT_VISIBLE`
        when the image encoder sees no leg in it (BlazePose's landmark visibility; encoders that
        cannot tell give no note). Cheap after a search with the same photo (BlazePose caches)."""
        if "image" not in self.model.encoders:
            return []
        seen = self.model.legs_visible(self._query_images([image]))
        return [LEGS_NOT_VISIBLE] if seen is not None and not seen[0] else []

    def photo_pose(self, image: Any) -> np.ndarray | None:
        """The body pose of the 3D skeleton the image encoder sees in one query photo: ``(22, 3)``
        heading-free axis-angle, a pose query (``search(pose=...)``); None when the encoder has no
        skeleton (only BlazePose has one). :class:`PersonNotFound` when nobody is in it."""
        if "image" not in self.model.encoders:
            return None
        poses = self.model.photo_poses(self._query_images([image]))
        return None if poses is None else poses[0].cpu().numpy()

    def _query_images(self, images: list[Any]) -> torch.Tensor | list[torch.Tensor]:
        """Query photos as the image encoder takes them: whole photos ``[(3, H, W)]`` for one that
        takes any size (BlazePose), else our 256x192 crop fit stacked ``(B, 3, 256, 192)``."""
        if self.model.image_any_size:
            return [load_query_image(x, fit=False).to(self.device) for x in images]
        return torch.stack([load_query_image(x) for x in images]).to(self.device)

    def search(self, query: Query | None = None, **inputs: Any) -> list[Hit] | list[list[Hit]]:
        """Top-``k`` rows of the ``target`` column for ``query`` (or for ``Query.make(**inputs)``:
        ``image``, ``text``, ``pose``, ``target``, ``k``, ``filters``); a list of lists for batches."""
        if query is None:
            query = Query.make(**inputs)
        elif inputs:
            raise ValueError(f"give a Query or its parts, not both ({', '.join(sorted(inputs))})")
        self._check_target(query.target)
        q = self.encode(query).float().cpu().numpy()
        scores, rows = self._search_vectors(q, query.target, min(query.k, self.rows), query.filters)
        hits = [self._hits(s, r) for s, r in zip(scores, rows)]
        return hits if query.batched else hits[0]

    def search_vectors(self, queries: np.ndarray, target: str, k: int,
                       filters: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """ANN search of ``(Q, D)`` query vectors -> (scores, rows) ``(Q, k)``; rows -1 = none."""
        self._check_target(target)
        return self._search_vectors(queries, target, k, check_filters(filters or {}))

    def _search_vectors(self, queries: np.ndarray, target: str, k: int,
                        filters: dict[str, tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
        index = self.indexes[target]
        if not filters:
            return index.search(queries, k)
        allowed = self.lookup.mask(filters)
        n_allowed = int(allowed.sum())
        if n_allowed == 0:
            return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
        kk = min(self.rows, max(4 * k, int(np.ceil(4 * k * self.rows / n_allowed))))
        if kk <= min(self.rows, 4 * MAX_K):  # oversample, then drop the rows the filters exclude
            s, r = index.search(queries, kk)
            ok = np.where(r >= 0, allowed[np.clip(r, 0, None)], False)
            if (ok.sum(1) >= min(k, n_allowed)).all():
                out_s = np.full((len(queries), k), -np.inf, np.float32)
                out_r = np.full((len(queries), k), -1, np.int64)
                for i in range(len(queries)):
                    keep = np.flatnonzero(ok[i])[:k]
                    out_s[i, : len(keep)], out_r[i, : len(keep)] = s[i, keep], r[i, keep]
                return out_s, out_r
        # selective filters: exact search over the allowed rows only
        rows = np.flatnonzero(allowed)
        vecs = self._column_vectors(target)[rows]
        scores = queries @ vecs.T
        top = np.argsort(-scores, axis=1)[:, :k]
        out_r = np.full((len(queries), k), -1, np.int64)
        out_s = np.full((len(queries), k), -np.inf, np.float32)
        out_r[:, : top.shape[1]] = rows[top]
        out_s[:, : top.shape[1]] = np.take_along_axis(scores, top, 1)
        return out_s, out_r

    # ------------------------------------------------------------------ helpers
    def _column_vectors(self, modality: str) -> np.ndarray:
        if modality not in self._vectors:
            col = self.table.to_table(columns=[vector_column(modality)]).column(0).combine_chunks()
            self._vectors[modality] = col.values.to_numpy(zero_copy_only=False).reshape(len(col), -1)
        return self._vectors[modality]

    def _hits(self, scores: np.ndarray, rows: np.ndarray) -> list[Hit]:
        valid = rows >= 0
        if not valid.any():
            return []
        rows, scores = rows[valid], scores[valid]
        if self._hit_cache is not None:  # memory-mapped Arrow: microseconds
            data = self._hit_cache.take(rows, HIT_COLUMNS)
        else:
            data = self.table.take(rows.tolist(), columns=HIT_COLUMNS).to_pydict()
        hits = []
        for i, s in enumerate(scores):
            caps = data["captions"][i] or []
            hits.append(Hit(id=data["id"][i], score=float(s), rank=i, caption=caps[0] if caps else "", captions=caps,
                            pose=np.asarray(data["pose"][i], np.float32).reshape(22, 3), image_ref=data["image_ref"][i] or "",
                            split=data["split"][i], family=data["family"][i], source=data["source"][i],
                            meta=json.loads(data["meta"][i] or "{}")))
        return hits

    def image(self, hit_or_ref: Hit | str) -> bytes | None:
        """The encoded image of a hit (from its dataset, or its file), or None when it has none."""
        ref = hit_or_ref.image_ref if isinstance(hit_or_ref, Hit) else hit_or_ref
        if not ref:
            return None
        if "#" in ref:
            import lance

            data_dir, rid = ref.rsplit("#", 1)
            from pose_search.data.schema import POSES_TABLE

            t = lance.dataset(str(Path(data_dir) / POSES_TABLE)).to_table(
                columns=["image"], filter=f"id = '{rid.replace(chr(39), chr(39) * 2)}'")
            return t.column(0)[0].as_py() if t.num_rows else None
        path = Path(ref)
        return path.read_bytes() if path.is_file() else None

    @staticmethod
    def to_png(data: bytes) -> bytes:
        """Re-encode image bytes as PNG (for UIs that want one format)."""
        from PIL import Image

        buf = io.BytesIO()
        with Image.open(io.BytesIO(data)) as im:
            im.convert("RGB").save(buf, format="PNG")
        return buf.getvalue()
