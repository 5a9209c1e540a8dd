"""Helpers shared by the dataset loaders: errors, file reading, canonicalisation, joints.

Every loader converts a source into row dicts of :data:`pose_search.data.schema.POSE_SCHEMA`
(and :data:`PAIR_SCHEMA`). Poses end in the canonical frame of
:mod:`pose_search.body.convention` (+y up, facing +z, +x = the body's left), heading removed.
"""

from __future__ import annotations

import json
import logging
import math
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pose_search.body.convention import NUM_BODY_JOINTS, normalize_heading, yaw_of
from pose_search.body.rotations import roma
from pose_search.data.splits import SPLIT_ALIASES

log = logging.getLogger(__name__)

# (B, 22, 3) canonical axis-angle poses -> (B, 22, 3) joint positions, pelvis at the origin
JointsFn = Callable[[np.ndarray], np.ndarray]
# (22, 3) canonical axis-angle pose -> encoded PNG/JPEG bytes of a rendered person image
RenderFn = Callable[[np.ndarray], bytes]
# (22, 3) canonical axis-angle pose -> >= 1 captions (e.g. the automatic captioner), as a list of
# strings (kinds unknown) or an object with parallel ``texts`` and ``kinds`` lists
# (:class:`pose_search.data.captioning.PoseCaptions`)
CaptionFn = Callable[[np.ndarray], Any]

class LoaderError(ValueError):
    """A source file is missing, unreadable or malformed; the message names the file and field."""


def normalize_split(split: str, where: str) -> str:
    """Map a source's split name (``training``, ``validation``, ...) to train/val/test."""
    try:
        return SPLIT_ALIASES[split.lower()]
    except KeyError:
        raise LoaderError(f"{where}: unknown split {split!r}; expected one of {sorted(SPLIT_ALIASES)}") from None


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise :class:`LoaderError` naming it and ``what``."""
    if not path.is_file():
        raise LoaderError(f"{path}: {what} not found")
    return path


def read_json(path: Path, what: str) -> Any:
    """Parse a JSON file; a clear :class:`LoaderError` for a missing or malformed file."""
    require_file(path, what)
    try:
        with path.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LoaderError(f"{path}: {what} is not valid JSON ({exc})") from None


def _check_zip(path: Path, what: str) -> None:
    require_file(path, what)
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise LoaderError(f"{path}: {what} is corrupt or not an npz (no zip header)")


def read_npz(path: Path, what: str, fields: Iterable[str]) -> tuple[dict[str, np.ndarray], frozenset[str]]:
    """Read only the members ``fields`` of an ``.npz`` (those present), never unpickling.

    ``np.load`` of an npz is lazy: a member is decoded only when indexed, so extra members that
    hold pickled objects (AMASS SMPL-X ``markers_latent_vids``) are never touched. Returns the
    arrays read and the names of every member. A needed member that holds pickled objects is a
    :class:`LoaderError` naming the file and the member.
    """
    _check_zip(path, what)
    out: dict[str, np.ndarray] = {}
    member = None
    try:
        with np.load(path, allow_pickle=False) as data:
            names = frozenset(data.files)
            for member in (f for f in fields if f in names):
                out[member] = data[member]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise LoaderError(f"{path}: {what}: member {member!r} contains pickled Python objects, "
                              "which are refused") from None
        raise LoaderError(f"{path}: {what} is corrupt or not an npz ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise LoaderError(f"{path}: {what} is corrupt or not an npz ({exc})") from None
    return out, names


def load_npz(path: Path, what: str = "npz file") -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` (no pickled objects allowed) into a dict."""
    _check_zip(path, what)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise LoaderError(f"{path}: {what} contains pickled Python objects, which are refused") from None
        raise LoaderError(f"{path}: {what} is corrupt or not an npz ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise LoaderError(f"{path}: {what} is corrupt or not an npz ({exc})") from None


@dataclass
class LoadReport:
    """What a loader left out and what looked wrong, for the log and the dataset's manifest.

    ``skipped`` counts input files or items by reason; ``warnings`` are sentences for a person.
    """

    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def skip(self, reason: str, n: int = 1) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    def warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)


def split_from_path(parts: Iterable[str]) -> str | None:
    """The split a folder name among ``parts`` names (innermost first wins): ``training`` ->
    train, ``validation`` -> val, ``test`` -> test; ``None`` when no part is a split name."""
    for part in reversed(list(parts)):
        split = SPLIT_ALIASES.get(part.lower())
        if split is not None:
            return split
    return None


def get_array(data: Mapping[str, Any], field: str, where: str, ndim: int | None = None,
              last: int | tuple[int, ...] | None = None, finite: bool = True) -> np.ndarray:
    """Fetch ``data[field]`` as a float64 array and check its rank, trailing size and values.

    ``last`` is the allowed size(s) of the last axis. Errors name ``where`` and ``field``.
    """
    if field not in data:
        raise LoaderError(f"{where}: missing field {field!r}")
    kind = np.asarray(data[field]).dtype.kind if not isinstance(data[field], (list, tuple)) else "f"
    if kind in "bcmM":  # booleans, complex numbers, dates: not real-valued measurements
        raise LoaderError(f"{where}: field {field!r} is not numeric (dtype {np.asarray(data[field]).dtype})")
    try:
        arr = np.asarray(data[field], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LoaderError(f"{where}: field {field!r} is not numeric ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise LoaderError(f"{where}: field {field!r} has shape {arr.shape}, expected {ndim} dimensions")
    if last is not None:
        allowed = (last,) if isinstance(last, int) else last
        if arr.ndim == 0 or arr.shape[-1] not in allowed:
            raise LoaderError(
                f"{where}: field {field!r} has shape {arr.shape}, expected last dimension in {list(allowed)}"
            )
    if finite and not np.isfinite(arr).all():
        raise LoaderError(f"{where}: field {field!r} contains NaN or inf")
    return arr


def get_text(data: Mapping[str, Any], field: str, default: str = "") -> str:
    """A string field of an npz/pickle (0-d str/bytes array, bytes or str); ``default`` if absent."""
    if field not in data:
        return default
    value = data[field]
    if isinstance(value, np.ndarray):
        value = value.item() if value.ndim == 0 else (value.reshape(-1)[0] if value.size else default)
    if isinstance(value, bytes):
        value = value.decode("latin1")
    return str(value)


def rot_x(angle: float) -> np.ndarray:
    """``(3, 3)`` rotation about +x by ``angle`` radians."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def canonicalize(poses: np.ndarray, pre_rot: np.ndarray | None = None,
                 yaw: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bring ``(B, 22, 3)`` axis-angle poses into the canonical frame and remove their heading.

    ``pre_rot`` (``(3, 3)`` or ``(B, 3, 3)``) is left-composed with the global orientation first
    (it maps the source's world/camera frame to +y up). ``yaw`` (``(B,)`` radians) overrides the
    heading removed (PoseFix in-sequence pairs). Returns the ``(B, 22, 3)`` float32 canonical
    poses and the ``(B,)`` removed yaws (float64).
    """
    t = torch.as_tensor(np.asarray(poses, dtype=np.float64)).reshape(-1, NUM_BODY_JOINTS, 3)
    if pre_rot is not None:
        r = torch.as_tensor(np.asarray(pre_rot, dtype=np.float64))
        root = roma.rotvec_to_rotmat(t[:, 0])
        t = t.clone()
        t[:, 0] = roma.rotmat_to_rotvec(r @ root)
    root = roma.rotvec_to_rotmat(t[:, 0])
    yaws = yaw_of(root) if yaw is None else torch.as_tensor(np.asarray(yaw, dtype=np.float64))
    out = normalize_heading(t.to(torch.float32), yaw=yaws.to(torch.float32))
    return out.numpy().astype(np.float32), yaws.numpy().astype(np.float64)


def default_joints_fn(poses: np.ndarray) -> np.ndarray:
    """Joints of the neutral body: ``(B, 22, 3)`` poses -> ``(B, 22, 3)`` positions.

    Uses :func:`pose_search.body.skeleton.forward_kinematics`, imported lazily so that the loaders
    work (with a caller-supplied ``joints_fn``) before/without it.
    """
    from pose_search.body.skeleton import forward_kinematics  # lazy: optional dependency

    with torch.no_grad():
        out = forward_kinematics(torch.as_tensor(np.asarray(poses, dtype=np.float32)))
    return np.asarray(out.detach().cpu().numpy() if torch.is_tensor(out) else out, dtype=np.float32)


def compute_joints(joints_fn: JointsFn | None, poses: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Run ``joints_fn`` (default :func:`default_joints_fn`) in batches and check its output."""
    fn = joints_fn or default_joints_fn
    poses = np.asarray(poses, dtype=np.float32).reshape(-1, NUM_BODY_JOINTS, 3)
    parts = []
    for start in range(0, len(poses), batch):
        chunk = poses[start:start + batch]
        out = np.asarray(fn(chunk), dtype=np.float32)
        if out.shape != chunk.shape:
            raise LoaderError(f"joints_fn returned shape {out.shape}, expected {chunk.shape}")
        parts.append(out)
    return np.concatenate(parts) if parts else np.zeros((0, NUM_BODY_JOINTS, 3), np.float32)


def clean_texts(value: Any, where: str) -> list[str]:
    """A caption entry (a string or a list of strings) -> the list of its non-empty strings."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise LoaderError(f"{where}: expected a string or a list of strings, got {type(value).__name__}")
    return [str(v).strip() for v in value if isinstance(v, str) and v.strip()]


def caption_fields(value: Any, where: str) -> dict[str, Any]:
    """A ``caption_fn`` result -> the row fields ``captions`` and ``caption_kinds``.

    A list of strings (or one string) gives its non-empty strings and no kinds (``None``); an
    object with ``texts`` and ``kinds`` (e.g. :class:`~pose_search.data.captioning.PoseCaptions`)
    keeps each kept text's kind. Raises :class:`LoaderError` when nothing is left.
    """
    texts, kinds = getattr(value, "texts", None), getattr(value, "kinds", None)
    if texts is None:
        captions = clean_texts(value, where)
        if not captions:
            raise LoaderError(f"{where} returned no caption")
        return {"captions": captions, "caption_kinds": None}
    texts, kinds = list(texts), list(kinds or [])
    if len(kinds) != len(texts):
        raise LoaderError(f"{where}: {len(texts)} captions but {len(kinds)} kinds")
    kept = [(str(t).strip(), str(k)) for t, k in zip(texts, kinds, strict=True)
            if isinstance(t, str) and t.strip()]
    if not kept:
        raise LoaderError(f"{where} returned no caption")
    return {"captions": [t for t, _ in kept], "caption_kinds": [k for _, k in kept]}


def to_meta(meta: Mapping[str, Any]) -> str:
    """Serialise a meta dict to the JSON string stored in the ``meta`` column (sorted keys)."""
    def conv(o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    return json.dumps(meta, sort_keys=True, default=conv)


def split_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Separate the pose rows from the pair rows (pair rows have a ``pair_id``) of a loader."""
    poses, pairs = [], []
    for row in rows:
        (pairs if "pair_id" in row else poses).append(row)
    return poses, pairs


def check_render(image: Any, where: str) -> bytes:
    """Check that a ``render_fn`` returned non-empty bytes."""
    if not isinstance(image, (bytes, bytearray)) or not image:
        raise LoaderError(f"{where}: render_fn must return non-empty encoded image bytes, got {type(image).__name__}")
    return bytes(image)
