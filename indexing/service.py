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
from collections.abc import Mapping
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
    open_hit_cache,
    read_info,
    table_path,
    vector_column,
)
from pose_search.messages import brief
from pose_search.models.encoders.base import PersonNotFound
from pose_search.models.encoders.image import MAX_PHOTO_SIDE, load_query_image  # noqa: F401 (re-exported)
from pose_search.models.encoders.tokenizer import check_query_text

MAX_K = 1000
# SearchService.photo_notes: a query photo whose legs are out of view (a portrait, a crop)
LEGS_NOT_VISIBLE = ("the legs are not visible in the photo: only its upper body can match, "
                    "the legs of the results are a guess")
FILTER_COLUMNS = ("split", "family", "source")
# not a column match: keeps rows any of whose captions contains the value (case-insensitive)
CAPTION_FILTER = "caption"
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


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _ndim(value: Any) -> int:
    """Dimensions of an array-like; -1 when it is none (the pose check then says why)."""
    try:
        return int(np.ndim(value))
    except (TypeError, ValueError):
        return -1


def check_filters(filters: Any) -> dict[str, list[str]]:
    """``{column: [values]}`` from a filters mapping; ValueError naming the bad key or value."""
    if not isinstance(filters, Mapping):
        raise ValueError(f"filters: expected a mapping like {{'split': 'val'}}, got {type(filters).__name__}")
    out: dict[str, list[str]] = {}
    for key, value in filters.items():
        if key not in (*FILTER_COLUMNS, CAPTION_FILTER):
            raise ValueError(f"filter {brief(key)}: expected one of {(*FILTER_COLUMNS, CAPTION_FILTER)}")
        values = _as_list(value)
        if not values or not all(isinstance(v, str) for v in values):
            raise ValueError(f"filter {brief(key)}: expected a string or a non-empty list of strings, got {brief(value)}")
        out[key] = values
    return out


def load_query_pose(value: Any) -> torch.Tensor:
    """A ``(22, 3)`` / ``(B, 22, 3)`` array or a ``.npy`` / ``.npz`` / ``.json`` pose file -> ``(B, 22, 3)``."""
    from pose_search.body.convention import validate_pose
    from pose_search.body.io import load_pose_file

    pose = validate_pose(load_pose_file(value) if isinstance(value, (str, Path)) else value)
    if len(pose) == 0:
        raise ValueError("empty query: pose holds no poses (0, 22, 3)")
    return pose


class SearchService:
    """Query an index directory built by ``pose-search index build`` (a path, or a URI such as
    ``s3://...``, mirrored locally first)."""

    def __init__(self, index_dir: str | Path, device: str = "cpu") -> None:
        from indexing.ann import load_index
        from pose_search import storage
        from pose_search.api import load_model

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
        self._columns: dict[str, np.ndarray] = {}
        self._vectors: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ queries
    @torch.no_grad()
    def encode(self, target: str, image: Any = None, text: Any = None, pose: Any = None) -> torch.Tensor:
        """Query vectors ``(B, D)`` in ``target``'s space for the given inputs (any subset);
        :class:`PersonNotFound` for images without a person (a batch's: named by file name)."""
        if target not in self.modalities:
            raise ValueError(f"target {brief(target)}: this index holds {', '.join(self.modalities)}")
        inputs: dict[str, Any] = {}
        if text is not None:
            texts = _as_list(text)
            if not texts:
                raise ValueError("empty query: text must be non-empty strings")
            inputs["texts"] = [check_query_text(t) for t in texts]
        if pose is not None:
            inputs["poses"] = load_query_pose(pose).to(self.device)
        if image is not None:
            images = _as_list(image)
            if not images:
                raise ValueError("empty query: no image given")
            inputs["images"] = self._query_images(images)
        if not inputs:
            raise ValueError("empty query: give at least one of image, text, pose")
        try:
            return self.model.query(target, **inputs)
        except PersonNotFound as exc:
            if image is None or len(images) < 2:
                raise
            names = [Path(x).name if isinstance(x, (str, Path)) else f"#{i}" for i, x in enumerate(images)]
            raise PersonNotFound.in_images(exc.indices, len(images), names) from None

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

    def search(self, image: Any = None, text: Any = None, pose: Any = None, target: str = "pose", k: int = 10,
               filters: dict[str, Any] | None = None) -> list[Hit] | list[list[Hit]]:
        """Top-``k`` rows of the ``target`` column for the query; a list of lists for batches."""
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k <= 0:
            raise ValueError(f"k={brief(k)}: expected a positive integer")
        if k > MAX_K:
            raise ValueError(f"k={k}: at most {MAX_K} results per query")
        batched = isinstance(text, (list, tuple)) or isinstance(image, (list, tuple)) or (
            pose is not None and not isinstance(pose, (str, Path)) and _ndim(pose) == 3)
        filters = check_filters(filters) if filters is not None else None
        q = self.encode(target, image=image, text=text, pose=pose).float().cpu().numpy()
        scores, rows = self.search_vectors(q, target, min(int(k), self.rows), filters)
        hits = [self._hits(s, r) for s, r in zip(scores, rows)]
        return hits if batched else hits[0]

    def search_vectors(self, queries: np.ndarray, target: str, k: int,
                       filters: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """ANN search of ``(Q, D)`` query vectors -> (scores, rows) ``(Q, k)``; rows -1 = none."""
        index = self.indexes[target]
        if filters is None or (isinstance(filters, Mapping) and not filters):
            return index.search(queries, k)
        allowed = self._filter_mask(check_filters(filters))
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
    def _filter_mask(self, filters: dict[str, list[str]]) -> np.ndarray:
        mask = np.ones(self.rows, dtype=bool)
        for key, values in filters.items():
            if key == CAPTION_FILTER:
                mask &= self._caption_mask(values)
                continue
            if key not in self._columns:
                col = self.table.to_table(columns=[key]).column(0).to_numpy(zero_copy_only=False)
                self._columns[key] = col.astype(str)
            mask &= np.isin(self._columns[key], values)
        return mask

    def _caption_mask(self, needles: list[str]) -> np.ndarray:
        """Rows any of whose captions contains any of ``needles`` (case-insensitive)."""
        needles = [n.strip().lower() for n in needles if n.strip()]
        if not needles:
            raise ValueError("filter 'caption': expected a non-empty substring")
        if CAPTION_FILTER not in self._columns:
            caps = self.table.to_table(columns=["captions"]).column(0).to_pylist()
            self._columns[CAPTION_FILTER] = np.asarray(["\n".join(c or []).lower() for c in caps], dtype=object)
        joined = self._columns[CAPTION_FILTER]
        return np.fromiter((any(n in c for n in needles) for c in joined), dtype=bool, count=len(joined))

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
