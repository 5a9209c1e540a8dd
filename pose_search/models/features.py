"""Frozen-encoder features of a dataset, computed once (the core trains on these).

Image features are the encoder's patch tokens (the core's projection is per patch), stored in
float16; pose features one vector per row; text features one vector per caption, ``(N, C, D)``
with C captions per row (rows with fewer captions repeat their last one).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import torch

from pose_search.data.schema import POSES_TABLE
from pose_search.data.store import open_table
from pose_search.models.encoders.base import ModalityEncoder

log = logging.getLogger(__name__)


def _batches(ds, split: str | None, columns: list[str], batch_size: int) -> Iterator[dict]:
    flt = None if split is None else pc.field("split") == split
    for rb in ds.to_batches(columns=columns, filter=flt, batch_size=batch_size):
        yield rb.to_pydict()


def split_size(data_dir: str | Path, split: str | None) -> int:
    ds = open_table(data_dir, POSES_TABLE)
    return ds.count_rows(filter=None if split is None else pc.field("split") == split)


@torch.no_grad()
def dataset_features(
    data_dir: str | Path,
    encoders: Mapping[str, ModalityEncoder],
    split: str | None = None,
    batch_size: int = 64,
    n_captions: int | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Features ``{"ids": (N,), m: array}`` of the rows of ``split`` for each given encoder."""
    from tqdm import tqdm

    ds = open_table(data_dir, POSES_TABLE)
    total = split_size(data_dir, split)
    if total == 0:
        raise ValueError(f"dataset {str(data_dir)!r} has no rows in split {split!r}")
    columns = ["id"] + [c for m, c in (("pose", "pose"), ("image", "image"), ("text", "captions")) if m in encoders]
    if "image" in encoders:
        columns.append("image_path")
    out: dict[str, list[np.ndarray]] = {m: [] for m in encoders}
    ids: list[str] = []
    captions: list[list[str]] = []
    bar = tqdm(total=total, desc=f"features {split or 'all'}", unit="row", disable=not progress)
    for batch in _batches(ds, split, columns, batch_size):
        ids += batch["id"]
        if "pose" in encoders:
            pose = torch.tensor(np.asarray(batch["pose"], dtype=np.float32).reshape(-1, 22, 3))
            out["pose"].append(encoders["pose"].encode(pose).float().numpy())
        if "image" in encoders:
            from pose_search.models.encoders.image_files import decode_images, load_image_file

            if any(b is None for b in batch["image"]):
                imgs = torch.stack([decode_images([b])[0] if b is not None else load_image_file(p)
                                    for b, p in zip(batch["image"], batch["image_path"])])
            else:
                imgs = decode_images(batch["image"])
            out["image"].append(encoders["image"].encode(imgs).to(torch.float16).numpy())
        if "text" in encoders:
            captions += batch["captions"]
        bar.update(len(batch["id"]))
    bar.close()
    if "text" in encoders:  # all captions at once: a pretrained backbone reads its token cache once
        out["text"] = [text_features(encoders["text"], captions, n_captions, progress)]
    result = {m: np.concatenate(v) for m, v in out.items()}
    result["ids"] = np.asarray(ids)
    return result


def flat_captions(captions: list[list[str]], n_captions: int | None = None) -> tuple[list[str], int]:
    """Rows' captions -> (the ``N * C`` texts row by row, ``C``): ``C`` = ``n_captions`` or the most
    captions of a row; rows with fewer repeat their last one."""
    c = n_captions or max(len(x) for x in captions)
    return [t for x in captions for t in (list(x) + [x[-1]] * c)[:c]], c


def text_features(encoder: ModalityEncoder, captions: list[list[str]], n_captions: int | None = None,
                  progress: bool = False) -> np.ndarray:
    """Features ``(N, C, D)`` float32 of the rows' captions (:func:`flat_captions`)."""
    flat, c = flat_captions(captions, n_captions)
    feats = encoder.encode_texts(flat, cached=True, progress=progress)
    return feats.float().numpy().reshape(len(captions), c, -1)


def save_features(path: str | Path, feats: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tensors = {k: np.ascontiguousarray(v) for k, v in feats.items() if k != "ids"}
    save_file(tensors, str(tmp), metadata={"ids": "\n".join(feats["ids"].tolist())})
    tmp.replace(path)


def load_features(path: str | Path) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        out = {k: f.get_tensor(k) for k in f.keys()}
        out["ids"] = np.asarray((f.metadata() or {}).get("ids", "").split("\n"))
    return out


def feature_dims(path: str | Path) -> dict[str, int]:
    """Feature width of each modality in a features file, without loading it."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        return {k: int(f.get_slice(k).get_shape()[-1]) for k in f.keys()}
