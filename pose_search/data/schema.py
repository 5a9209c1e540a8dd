"""Arrow schemas of the pose-search datasets, and the checks every writer runs before writing.

Two kinds of dataset, both stored as Lance datasets inside a dataset directory:

* ``script``: ``DIR/poses.lance``, one row per posed person (a pose, its body shape, its canonical
  joints, an image of it and >= 1 automatic or human captions, with each caption's kind).
* ``fix``: ``DIR/poses.lance`` (the poses the pairs refer to, same schema as ``script``) and
  ``DIR/pairs.lance``, one row per (pose A, pose B, corrective instructions) pair.

Every dataset directory also has ``manifest.json`` (see :mod:`pose_search.data.manifest`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from pose_search.body.convention import NUM_BODY_JOINTS

# the synthetic generator's version, the "source" of its rows (pose_search.data.generate)
# v2: 4 everyday captions after the 3 PoseScript-style ones, and the caption_kinds column;
# v3: the search-box captions always say a bend, a kick or a wide stance
GENERATOR_VERSION = "synthetic-v3"

POSE_DIM = 3 * NUM_BODY_JOINTS  # 66: flattened (22, 3) axis-angle
JOINTS_DIM = 3 * NUM_BODY_JOINTS  # 66: flattened (22, 3) positions in metres
SPLITS = ("train", "val", "test")
PAIR_KINDS = ("in", "out")
# What wrote a caption: the PoseScript-style captioner, the everyday layer (a sentence or a
# search-box query) or a person (captions a real dataset ships).
CAPTION_KINDS = ("posescript", "everyday", "query", "human")
# everyday captions per pose by default (the generator, the converters' automatic captions): the
# text encoder learns people's phrasings from their variety (human-query benchmark, small demo:
# mean precision@5 0.33 with 2, 0.47 with 4; benchmarks/README.md, "Pretrained text encoder")
EVERYDAY_CAPTIONS = 4
# Pose columns added after datasets were first written: tables written before them lack them,
# and :func:`pose_search.data.store.read_table` fills them with nulls.
OPTIONAL_POSE_COLUMNS = ("caption_kinds",)

POSES_TABLE = "poses.lance"
PAIRS_TABLE = "pairs.lance"

POSE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        # (22, 3) SMPL-X axis-angle, heading-normalised, canonical frame (see body.convention)
        pa.field("pose", pa.list_(pa.float32(), POSE_DIM), nullable=False),
        # shape parameters; their meaning is given by `shape_space`
        pa.field("shape", pa.list_(pa.float32()), nullable=False),
        # "anny-phenotype" (gender, age, muscle, weight, height, proportions in [0, 1]) or
        # "smplx-betas" (SMPL-X betas of the neutral model)
        pa.field("shape_space", pa.string(), nullable=False),
        # (22, 3) joints of the neutral body in this pose, pelvis at the origin, metres
        pa.field("joints", pa.list_(pa.float32(), JOINTS_DIM), nullable=False),
        # encoded PNG/JPEG person crop (256x192), or null when `image_path` is used instead
        pa.field("image", pa.binary()),
        # path to the image (big real datasets), or null
        pa.field("image_path", pa.string()),
        pa.field("captions", pa.list_(pa.string()), nullable=False),
        # kind of each caption (CAPTION_KINDS), parallel to `captions`; null when unknown
        pa.field("caption_kinds", pa.list_(pa.string())),
        # pose family of the synthetic sampler, or the source's activity label; "" if unknown
        pa.field("family", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        # JSON: camera, render settings, sequence/frame, ... (free-form, per source)
        pa.field("meta", pa.string(), nullable=False),
    ]
)

PAIR_SCHEMA = pa.schema(
    [
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("a_id", pa.string(), nullable=False),
        pa.field("b_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # "in" (same sequence) or "out"
        pa.field("instructions", pa.list_(pa.string()), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("meta", pa.string(), nullable=False),
    ]
)


class SchemaError(ValueError):
    """A row does not fit the dataset schema; the message names the row and field."""


def _row_name(row: Mapping[str, Any], key: str) -> str:
    return f"row {row.get(key, '?')!r}"


def _check_vector(row: Mapping[str, Any], field: str, dim: int, key: str) -> list[float]:
    try:
        arr = np.asarray(row[field], dtype=np.float32).reshape(-1)
    except KeyError:
        raise SchemaError(f"{_row_name(row, key)}: missing field {field!r}") from None
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{_row_name(row, key)}: field {field!r} is not numeric ({exc})") from None
    if arr.size != dim:
        raise SchemaError(
            f"{_row_name(row, key)}: field {field!r} has {arr.size} values, expected {dim}"
        )
    if not np.isfinite(arr).all():
        raise SchemaError(f"{_row_name(row, key)}: field {field!r} contains NaN or inf")
    return arr.tolist()


def _check_texts(row: Mapping[str, Any], field: str, key: str) -> list[str]:
    texts = row.get(field)
    if texts is None or isinstance(texts, str) or len(texts) == 0:
        raise SchemaError(f"{_row_name(row, key)}: field {field!r} must be a non-empty list of strings")
    texts = [str(t) for t in texts]
    if not any(t.strip() for t in texts):
        raise SchemaError(f"{_row_name(row, key)}: field {field!r} holds only empty strings")
    return texts


def _check_kinds(row: Mapping[str, Any], texts: list[str], key: str) -> list[str] | None:
    kinds = row.get("caption_kinds")
    if kinds is None:
        return None
    if isinstance(kinds, str) or len(kinds) != len(texts):
        raise SchemaError(f"{_row_name(row, key)}: field 'caption_kinds' must be a list of "
                          f"{len(texts)} kinds, one per caption, got {kinds!r}")
    bad = [k for k in kinds if k not in CAPTION_KINDS]
    if bad:
        raise SchemaError(f"{_row_name(row, key)}: field 'caption_kinds' has {bad[0]!r}, "
                          f"expected one of {list(CAPTION_KINDS)}")
    return [str(k) for k in kinds]


def _check_choice(row: Mapping[str, Any], field: str, choices: Sequence[str], key: str) -> str:
    value = row.get(field)
    if value not in choices:
        raise SchemaError(
            f"{_row_name(row, key)}: field {field!r} is {value!r}, expected one of {list(choices)}"
        )
    return str(value)


def pose_rows_to_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Validate pose rows (dicts) and build an Arrow table in :data:`POSE_SCHEMA`."""
    cols: dict[str, list[Any]] = {f.name: [] for f in POSE_SCHEMA}
    for row in rows:
        rid = row.get("id")
        if not isinstance(rid, str) or not rid:
            raise SchemaError(f"pose row with invalid id {rid!r}: expected a non-empty string")
        cols["id"].append(rid)
        cols["pose"].append(_check_vector(row, "pose", POSE_DIM, "id"))
        shape = np.asarray(row.get("shape", []), dtype=np.float32).reshape(-1)
        if not np.isfinite(shape).all():
            raise SchemaError(f"{_row_name(row, 'id')}: field 'shape' contains NaN or inf")
        cols["shape"].append(shape.tolist())
        cols["shape_space"].append(str(row.get("shape_space", "anny-phenotype")))
        cols["joints"].append(_check_vector(row, "joints", JOINTS_DIM, "id"))
        image, path = row.get("image"), row.get("image_path")
        if image is None and not path:
            raise SchemaError(f"{_row_name(row, 'id')}: needs 'image' bytes or an 'image_path'")
        cols["image"].append(None if image is None else bytes(image))
        cols["image_path"].append(None if not path else str(path))
        captions = _check_texts(row, "captions", "id")
        cols["captions"].append(captions)
        cols["caption_kinds"].append(_check_kinds(row, captions, "id"))
        cols["family"].append(str(row.get("family", "")))
        cols["split"].append(_check_choice(row, "split", SPLITS, "id"))
        cols["source"].append(str(row.get("source", "")))
        cols["meta"].append(str(row.get("meta", "{}")))
    return pa.table(cols, schema=POSE_SCHEMA)


def pair_rows_to_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Validate pair rows (dicts) and build an Arrow table in :data:`PAIR_SCHEMA`."""
    cols: dict[str, list[Any]] = {f.name: [] for f in PAIR_SCHEMA}
    for row in rows:
        for field in ("pair_id", "a_id", "b_id"):
            value = row.get(field)
            if not isinstance(value, str) or not value:
                raise SchemaError(f"{_row_name(row, 'pair_id')}: field {field!r} must be a non-empty string")
            cols[field].append(value)
        cols["kind"].append(_check_choice(row, "kind", PAIR_KINDS, "pair_id"))
        cols["instructions"].append(_check_texts(row, "instructions", "pair_id"))
        cols["split"].append(_check_choice(row, "split", SPLITS, "pair_id"))
        cols["source"].append(str(row.get("source", "")))
        cols["meta"].append(str(row.get("meta", "{}")))
    return pa.table(cols, schema=PAIR_SCHEMA)
