"""Files the UI hands to the browser (renders, .glb bodies, .npz parameters) and the body model
that makes the meshes.

:class:`FileCache` owns one temporary folder: per-item files (the render or the body of a dataset
id) are written once and reused; per-request files (a recovered mesh) get unique names. Nothing
outside that folder is ever written or served by the backend.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
IMAGE_SUFFIXES = (".jpg", ".png")


def image_suffix(data: bytes) -> str | None:
    """``.jpg`` / ``.png`` from the bytes' signature, None for other formats."""
    if data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ".png"
    return None


def to_png(data: bytes) -> bytes:
    """Re-encode any image PIL reads as PNG."""
    from PIL import Image

    buf = io.BytesIO()
    with Image.open(io.BytesIO(data)) as im:
        im.convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


class FileCache:
    """A temporary folder the backend owns; removed by :meth:`close`."""

    def __init__(self, prefix: str = "pose-search-ui-") -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.root = Path(self._tmp.name)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path(self, kind: str, key: str, suffix: str) -> Path:
        """A stable file name for ``key`` (any string: ids may hold any character)."""
        digest = hashlib.sha1(key.encode()).hexdigest()[:10]
        name = f"{_UNSAFE.sub('_', key)[:60]}-{digest}{suffix}"
        folder = self.root / kind
        folder.mkdir(exist_ok=True)
        return folder / name

    def unique(self, kind: str, stem: str, suffix: str) -> Path:
        """A fresh file name (one request's output)."""
        folder = self.root / kind / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        return folder / f"{_UNSAFE.sub('_', stem)}{suffix}"

    def _lock(self, kind: str, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(f"{kind}/{key}", threading.Lock())

    def cached(self, kind: str, key: str, suffix: str, write: Callable[[Path], Any]) -> Path:
        """The file for ``key``, made by ``write(path)`` the first time (once, even when asked
        concurrently); written to a temporary name first so a reader never sees half a file."""
        path = self.path(kind, key, suffix)
        if path.is_file():
            return path
        with self._lock(kind, key):
            if not path.is_file():
                tmp = path.with_name(path.stem + ".part" + path.suffix)
                write(tmp)
                tmp.replace(path)
        return path

    def cached_image(self, kind: str, key: str, make: Callable[[], bytes]) -> Path:
        """An image file for ``key`` from the encoded bytes ``make()`` returns, named by its format
        (.jpg / .png; anything else is re-encoded as PNG) so browsers and Gradio know what it is."""
        for suffix in IMAGE_SUFFIXES:
            if (path := self.path(kind, key, suffix)).is_file():
                return path
        with self._lock(kind, key):
            for suffix in IMAGE_SUFFIXES:
                if (path := self.path(kind, key, suffix)).is_file():
                    return path
            data = make()
            suffix = image_suffix(data)
            if suffix is None:
                data, suffix = to_png(data), ".png"
            path = self.path(kind, key, suffix)
            tmp = path.with_name(path.stem + ".part" + suffix)
            tmp.write_bytes(data)
            tmp.replace(path)
            return path

    def close(self) -> None:
        self._tmp.cleanup()


class Bodies:
    """A lazily built body model (building anny takes seconds), shared by every request."""

    def __init__(self, backend: str = "anny") -> None:
        self.backend = backend
        self._model: Any = None
        self._render_parts: tuple[Any, Any] | None = None
        self._build_lock = threading.Lock()
        # the skinning backend is not known to be thread-safe: one posing at a time
        self.lock = threading.RLock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def model(self) -> Any:
        with self._build_lock:
            if self._model is None:
                from pose_search.body.backends import create_body_model

                self._model = create_body_model(self.backend)
            return self._model

    def shape_for(self, shape: Any, shape_space: str | None) -> np.ndarray | None:
        """``shape`` when it is in this body's shape space, else None (the neutral shape)."""
        model = self.model()
        if shape is None or shape_space != model.shape_space:
            return None
        s = np.asarray(shape, np.float32).reshape(1, -1)
        return s if s.shape[1] == model.shape_dim else None

    def mesh(self, pose: np.ndarray, shape: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Vertices ``(V, 3)`` and faces ``(F, 3)`` of one pose ``(22, 3)``."""
        model = self.model()
        with self.lock:
            out = model(np.asarray(pose, np.float32).reshape(1, 22, 3), shape)
        return out.vertices[0].numpy(), np.asarray(out.faces)

    def write_glb(self, path: Path, pose: np.ndarray, shape: np.ndarray | None = None) -> Path:
        from pose_search.body.io import save_mesh

        vertices, faces = self.mesh(pose, shape)
        return save_mesh(path.with_suffix(".glb") if path.suffix != ".glb" else path, vertices, faces)

    def render_png(self, pose: np.ndarray, shape: np.ndarray | None = None, seed: int = 0) -> bytes:
        """A 256x192 render of the body in ``pose`` (for rows that have no image of their own)."""
        from PIL import Image

        from pose_search.data.render import render_person, sample_render_settings

        model = self.model()
        if not hasattr(model, "vertex_parts"):
            raise ValueError(f"the {self.backend} body cannot be rendered (no body-part labels); use anny")
        if self._render_parts is None:
            from pose_search.body.parts import anny_part_borders

            borders = anny_part_borders(model.model) if self.backend == "anny" else None
            self._render_parts = (model.vertex_parts(), borders)
        parts, borders = self._render_parts
        vertices, faces = self.mesh(pose, shape)
        image = render_person(vertices, faces, parts, sample_render_settings(np.random.default_rng(seed)), borders)
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="PNG")
        return buf.getvalue()
