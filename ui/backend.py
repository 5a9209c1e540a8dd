"""Everything the UI does, without the UI: search, bodies, mesh recovery, instructions, the dataset
explorer and the status page, over one :class:`~indexing.service.SearchService` and the heads.

    backend = UIBackend("indexes/script", hps_run="runs/hps", instructions_run="runs/instructions")
    cards = backend.search(text="kneeling with the arms raised", target="pose", k=12)
    glb = backend.body_file(cards[0].id)

Every bad input raises a ``ValueError`` (or ``FileNotFoundError``) whose message a user can act
on; the app shows it as is. That includes an uploaded photo in which the image encoder finds
nobody (BlazePose): search, mesh recovery and instructions raise
:class:`~pose_search.models.encoders.base.PersonNotFound` ("no person found in the image: use a
photo of one person ..."; instructions say which pose) instead of giving results. Inputs that are
files (``pose_file``) are paths the *app* vouches for (uploads its web framework received), never
paths a client named.

Text-only searches can go through a :class:`~ui.batcher.MicroBatcher` (concurrent users' queries
become one encoder call). By default it is on for a GPU and off on CPU, where one torch thread per
request and concurrent requests beat batching (padding to the longest caption costs more than
batching saves; numbers in ``benchmarks/README.md``, from ``benchmarks/ui_load.py``).
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexing.rows import RowLookup, UnknownIdError
from indexing.service import Hit, SearchService, load_query_image
from pose_search import storage
from pose_search.messages import brief
from pose_search.models.encoders.base import PersonNotFound
from pose_search.models.encoders.tokenizer import check_query_text
from pose_search.query import Query
from ui.assets import Bodies, FileCache
from ui.batcher import MicroBatcher
from ui.results import ExplorerPage, InstructionResult, MeshResult, PoseInput, ResultCard, present

__all__ = ["BackendConfig", "ExplorerPage", "HeadMissingError", "InstructionResult", "MeshResult", "PoseInput",
           "ResultCard", "UIBackend"]

log = logging.getLogger(__name__)

SPLIT_ANY = ("", "any", "all")


class HeadMissingError(ValueError):
    """A tab needs a head the UI was started without."""


@dataclass
class BackendConfig:
    """Knobs of :class:`UIBackend` (defaults suit a laptop)."""

    batching: bool | None = None  # text queries through the micro-batcher; None: on GPU only
    batch_window_ms: float = 2.0
    max_batch: int = 32
    batch_workers: int = 2  # batches encoded at once (one per core keeps the cores busy)
    body: str = "anny"
    device: str = "cpu"
    explorer_page_size: int = 24


SPLITS = ("train", "val", "test")


def _clean(text: Any, what: str = "text") -> str | None:
    """A text field stripped; None when blank; ValueError naming ``what`` when not a string."""
    if text is not None and not isinstance(text, str):
        raise ValueError(f"{what}: expected a string, got {type(text).__name__}")
    return text.strip() if text and text.strip() else None


def _split(split: Any) -> str | None:
    """A split name (None for any); ValueError for another value."""
    split = _clean(split, "split")
    if split is None or split.lower() in SPLIT_ANY:
        return None
    if split not in SPLITS:
        raise ValueError(f"split {brief(split)}: expected one of any, {', '.join(SPLITS)}")
    return split


def _photo(image: Any, pipe: Any) -> Any:
    """An uploaded image as the head ``pipe``'s image encoder takes it: the whole photo at its own
    size (``any_size`` encoders such as BlazePose) or the 256x192 crop fit, ``(3, H, W)``."""
    return load_query_image(image, fit=not (pipe is not None and pipe.representation_model.image_any_size))


def _default_data_dir(info: dict[str, Any]) -> str | None:
    """The dataset the index was built from, when it is still where the index says (a path or a
    URI)."""
    data = info.get("data")
    return str(data) if data and storage.exists(storage.join(data, "manifest.json")) else None


class UIBackend:
    """The UI's logic over an index directory and optional HPS / instructions runs."""

    def __init__(self, index_dir: str | Path, hps_run: str | Path | None = None,
                 instructions_run: str | Path | None = None, data_dir: str | Path | None = None,
                 config: BackendConfig | None = None) -> None:
        from pose_search.data.schema import POSES_TABLE
        from pose_search.data.store import read_manifest, table_uri

        self.config = config or BackendConfig()
        self.service = SearchService(index_dir, device=self.config.device)
        self.index_source = str(index_dir)  # as given, for the Status tab
        self.index = self.service.lookup
        self.data_dir = str(data_dir) if data_dir else _default_data_dir(self.service.describe())
        self.dataset: RowLookup | None = None
        if self.data_dir is not None:
            read_manifest(self.data_dir)  # a clear error for a wrong --data
            self.dataset = RowLookup.open(table_uri(self.data_dir, POSES_TABLE), f"dataset {self.data_dir!r}")
        self.hps_run, self.instructions_run = hps_run, instructions_run
        self.hps = self._load_head(hps_run, "hps")
        self.instructions = self._load_head(instructions_run, "instructions")
        self.files = FileCache()
        self.bodies = Bodies(self.config.body)
        self._other_body: Any = None
        self._batcher: MicroBatcher | None = None
        batching = self.config.batching if self.config.batching is not None else self.config.device != "cpu"
        if batching:
            self._batcher = MicroBatcher(self._search_text_batch, self.config.batch_window_ms / 1000.0,
                                         self.config.max_batch, self.config.batch_workers, name="ui-text-batcher")

    @staticmethod
    def _load_head(run: str | Path | None, kind: str) -> Any:
        if not run:
            return None
        from pose_search.runs import load_head

        return load_head(run, kind)

    def close(self) -> None:
        """Stop the batcher and remove the backend's files."""
        if self._batcher is not None:
            self._batcher.close()
        self.files.close()

    # ------------------------------------------------------------------ search
    def search(self, text: str | None = None, image: Any = None, pose_id: str | None = None,
               pose_file: str | Path | None = None, target: str = "pose", k: Any = 10,
               split: str | None = None, caption_contains: str | None = None) -> list[ResultCard]:
        """Top-``k`` rows of ``target`` for any mix of a text, an image (encoded bytes or an
        ``(H, W, 3)`` array) and a pose (a result / dataset id, or a .npy/.npz pose file)."""
        text = _clean(text)
        pose = self._query_pose(pose_id, pose_file)
        image = image if present(image) else None
        if text is None and image is None and pose is None:
            raise ValueError("empty query: type a description, upload an image or choose a pose")
        query = Query.make(text=text, image=image, pose=pose, target=target, k=k,
                           filters=self.search_filters(split, caption_contains))
        if self._batcher is not None and query.texts is not None and query.images is None and query.poses is None:
            hits = self._batcher.submit(self._batch_key(query), query.texts[0])
        else:
            hits = self.service.search(query)
        return [self._card(h) for h in hits]

    def photo_notes(self, image: Any) -> list[str]:
        """Notes on a query photo (encoded bytes or an ``(H, W, 3)`` array) to show beside its
        results, e.g. that its legs are out of view (:meth:`SearchService.photo_notes`)."""
        return self.service.photo_notes(image) if present(image) else []

    def search_texts(self, texts: list[str], target: str = "pose", k: Any = 10,
                     filters: dict[str, Any] | None = None) -> list[list[ResultCard]]:
        """Several text queries in one encoder call (no batcher: the caller batched already)."""
        hits = self.service.search(text=list(texts), target=target, k=k, filters=filters)
        return [[self._card(h) for h in row] for row in hits]

    @staticmethod
    def _batch_key(query: Query) -> Hashable:
        """What text queries must share to be encoded and searched together."""
        return query.target, query.k, tuple(sorted(query.filters.items()))

    def _search_text_batch(self, key: Hashable, texts: list[str]) -> list[list[Hit]]:
        target, k, filters = key  # type: ignore[misc]
        # each text was checked when its own query was made
        return self.service.search(Query(texts=tuple(texts), target=target, k=k, filters=dict(filters), batched=True))

    def search_filters(self, split: str | None, caption_contains: str | None) -> dict[str, Any] | None:
        """The service's filters for a split ("any": none) and a caption substring (blank: none)."""
        filters: dict[str, Any] = {}
        split = _split(split)
        if split is not None:
            filters["split"] = split
        caption = _clean(caption_contains, "caption")
        if caption is not None:
            filters["caption"] = caption
        return filters or None

    def _query_pose(self, pose_id: str | None, pose_file: str | Path | None) -> np.ndarray | None:
        _clean(pose_id, "pose id")
        if present(pose_id) and present(pose_file):
            raise ValueError("pose: give a pose id or a pose file, not both")
        if present(pose_id):
            return self.pose_of(pose_id.strip())  # type: ignore[union-attr]
        if present(pose_file):
            return self.pose_from_file(pose_file)  # type: ignore[arg-type]
        return None

    @staticmethod
    def pose_from_file(path: str | Path) -> np.ndarray:
        """A ``(22, 3)`` pose from a .npy / .npz / .json upload (ours or SMPL-X's global_orient +
        body_pose); messages name the file by its name only (never the server's upload folder)."""
        from pose_search.body.io import check_pose_suffix, load_pose_file

        name = Path(path).name
        check_pose_suffix(path, name)
        return load_pose_file(path, name=name)

    # ------------------------------------------------------------------ items
    def _row(self, item_id: str, columns: list[str]) -> dict[str, Any]:
        """``columns`` of an id's row: from the index, else from the dataset."""
        item_id = _clean(item_id, "id") or ""
        if not item_id:
            raise ValueError("empty id: choose a result or type a dataset id")
        if self.index.row_of(item_id) is not None:
            return self.index.get(item_id, columns)
        if self.dataset is not None and self.dataset.row_of(item_id) is not None:
            return self.dataset.get(item_id, columns)
        where = "index" + (" nor the dataset" if self.dataset is not None else "")
        raise UnknownIdError(f"unknown id {brief(item_id)}: not in the {where}")

    def pose_of(self, item_id: str) -> np.ndarray:
        """The ``(22, 3)`` pose of a result or dataset id."""
        row = self._row(item_id, ["pose"])
        return np.asarray(row["pose"], np.float32).reshape(22, 3)

    def _shape_of(self, item_id: str) -> np.ndarray | None:
        if self.dataset is None or self.dataset.row_of(item_id) is None:
            return None
        row = self.dataset.get(item_id, ["shape", "shape_space"])
        return self.bodies.shape_for(row["shape"], row["shape_space"])

    def body_file(self, item_id: str) -> Path:
        """A .glb of the body of a result or dataset id (its own shape when the dataset has it)."""
        pose = self.pose_of(item_id)
        shape = self._shape_of(item_id.strip())
        return self.files.cached("bodies", item_id.strip(), ".glb", lambda p: self.bodies.write_glb(p, pose, shape))

    def _image_bytes(self, item_id: str, image_ref: str | None, pose: Any) -> bytes:
        """The row's own encoded image; a render of its pose when it has none."""
        data = None
        if self.dataset is not None and self.dataset.row_of(item_id) is not None:
            # read by row number (fast), and it still works when index and dataset moved together
            row = self.dataset.get(item_id, ["image", "image_path"])
            path = row["image_path"]
            data = row["image"] or (storage.read_bytes(path) if path and storage.exists(path) else None)
        if data is None and image_ref:
            data = self.service.image(image_ref)
        if data is None:
            p = pose if pose is not None else self.pose_of(item_id)
            data = self.bodies.render_png(p, self._shape_of(item_id), seed=zlib.crc32(item_id.encode()))
        return data

    def image_file(self, item_id: str, image_ref: str | None = None, pose: Any = None) -> Path:
        """The row's image as a .jpg / .png file in the backend's cache."""
        return self.files.cached_image("images", item_id, lambda: self._image_bytes(item_id, image_ref, pose))

    def _card(self, hit: Hit) -> ResultCard:
        return ResultCard(id=hit.id, caption=hit.caption, captions=list(hit.captions), split=hit.split,
                          family=hit.family, image=self.image_file(hit.id, hit.image_ref, hit.pose),
                          score=round(float(hit.score), 4), rank=hit.rank)

    # ------------------------------------------------------------------ heads
    def _need(self, head: Any, what: str, flag: str) -> Any:
        if head is None:
            raise HeadMissingError(f"{what} is not available: start the UI with {flag} RUN")
        return head

    def _hps_body(self) -> Any:
        """The body model for the HPS head's shape space (ours when they agree: built once)."""
        space = self.hps.head.cfg.shape_space
        if self.bodies.model().shape_space == space:
            return self.bodies.model()
        if self._other_body is None:
            self._other_body = self.hps.body_model()
        return self._other_body

    def recover_mesh(self, image: Any = None, text: str | None = None) -> MeshResult:
        """Image (and/or text) -> the body: a .glb to look at and an .npz of its parameters."""
        from pose_search.models.heads.hps_pipeline import recover_body

        pipe = self._need(self.hps, "Mesh recovery", "--hps")
        text = _clean(text)
        if not present(image) and text is None:
            raise ValueError("empty input: upload an image of a person (a text may help)")
        if text is not None:
            text = check_query_text(text)
        tensor = _photo(image, pipe) if present(image) else None
        with self.bodies.lock:
            body = recover_body(pipe, image=tensor, text=text, body=self._hps_body())
        mesh, params = body.save(self.files.unique("meshes", "body", ".glb"))
        angle = float(np.degrees(np.linalg.norm(body.pose, axis=1)[1:].mean()))
        summary = (f"recovered from {' + '.join(n for n, v in (('image', tensor), ('text', text)) if v is not None)}; "
                   f"mean joint rotation {angle:.1f}°; shape "
                   f"{'predicted' if tensor is not None else 'neutral (no image)'} ({body.shape_space})")
        return MeshResult(mesh=mesh, params=params, summary=summary)

    def _instruction_input(self, side: PoseInput, name: str) -> tuple[dict[str, Any], Path | None]:
        _clean(side.id, f"pose {name} id")
        given = side.given()
        if len(given) != 1:
            raise ValueError(f"pose {name}: give exactly one of an id, a pose file or an image"
                             + (f" (got {' and '.join(given)})" if given else ""))
        if present(side.image):
            image = _photo(side.image, self.instructions)
            body = None
            if self.hps is not None:  # show what the HPS head sees in the image
                from pose_search.models.heads.hps_pipeline import recover_body

                same = self.hps.representation_model.image_any_size == self.instructions.representation_model.image_any_size
                try:
                    with self.bodies.lock:
                        rec = recover_body(self.hps, image=image if same else _photo(side.image, self.hps),
                                           body=self._hps_body())
                except PersonNotFound as exc:  # say which side (instruct says it when there is no HPS head)
                    raise PersonNotFound(f"pose {name}: {exc}", exc.indices) from None
                body, _ = rec.save(self.files.unique("bodies", name, ".glb"))
            return {"images": image[None]}, body
        if present(side.id):
            pose = self.pose_of(side.id.strip())  # type: ignore[union-attr]
            return {"poses": pose[None]}, self.body_file(side.id)  # type: ignore[arg-type]
        pose = self.pose_from_file(side.file)  # type: ignore[arg-type]
        key = "upload-" + hashlib.sha1(pose.tobytes()).hexdigest()
        return {"poses": pose[None]}, self.files.cached("bodies", key, ".glb", lambda p: self.bodies.write_glb(p, pose))

    def instruct(self, a: PoseInput, b: PoseInput) -> InstructionResult:
        """The corrective instruction to go from pose A to pose B, and both bodies."""
        pipe = self._need(self.instructions, "Instructions", "--instructions")
        inp_a, body_a = self._instruction_input(a, "A")
        inp_b, body_b = self._instruction_input(b, "B")
        text = pipe.instruct(inp_a, inp_b)[0]
        return InstructionResult(text=text, body_a=body_a, body_b=body_b)

    # ------------------------------------------------------------------ explorer and status
    def dataset_page(self, page: Any = 1, split: str | None = None,
                     caption_contains: str | None = None) -> ExplorerPage:
        """One page of the dataset's rows (the index's when no dataset is known), with captions."""
        table = self.dataset or self.index
        size = self.config.explorer_page_size
        rows = table.matching(_split(split), _clean(caption_contains, "caption"))
        pages = max(1, -(-len(rows) // size))
        if isinstance(page, bool) or not isinstance(page, (int, float, np.integer, np.floating)) \
                or page != int(page) or page < 1:
            raise ValueError(f"page {brief(page)}: expected a page number from 1")
        page = min(int(page), pages)
        chosen = rows[(page - 1) * size : page * size].tolist()
        ref = "image_ref" if table is self.index else None
        cols = ["id", "captions", "split", "family", "pose"] + ([ref] if ref else [])
        items = []
        for r in table.take(chosen, cols):
            caps = r["captions"] or []
            items.append(ResultCard(id=r["id"], caption=caps[0] if caps else "", captions=caps, split=r["split"],
                                    family=r["family"], image=self.image_file(r["id"], r.get(ref) if ref else None,
                                                                              np.asarray(r["pose"]).reshape(22, 3))))
        return ExplorerPage(items=items, page=page, pages=pages, total=len(rows))

    def status(self) -> dict[str, Any]:
        """What this UI serves: index size and modalities, the model, the ANN backend, the heads."""
        index = self.service.describe()
        ann = {m: f"{a.get('kind', '?')} ({'LanceDB' if a.get('kind') == 'lance' else 'FAISS'}"
                  f"{', GPU' if a.get('gpu') else ''})" for m, a in index["ann"].items()}
        batching = ({"mode": "micro-batcher", "window_ms": self.config.batch_window_ms,
                     "max_batch": self.config.max_batch, "workers": self.config.batch_workers,
                     **self._batcher.stats.as_dict()}
                    if self._batcher is not None else {"mode": "off"})
        return {
            "index": self.index_source, "rows": index["rows"], "modalities": index["modalities"],
            "model": index["model"],
            "ann": ann, "data": str(self.data_dir) if self.data_dir else None,
            "heads": {"hps": str(self.hps_run) if self.hps is not None else None,
                      "instructions": str(self.instructions_run) if self.instructions is not None else None},
            "body_model": self.config.body, "device": self.config.device, "batching": batching,
        }
