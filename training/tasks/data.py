"""Reading dataset splits into memory for the encoder-training tasks."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import torch

from pose_search.data.schema import POSES_TABLE
from pose_search.data.store import open_table, read_manifest


def load_split(data_dir: str, split: str, columns: tuple[str, ...]) -> dict[str, object]:
    """``{"pose": (N, 22, 3) float32, "image": (N, 3, 256, 192) uint8, "captions": [[str]]}``
    for the requested columns of one split; a clear error when the split is empty or a column is
    missing from the dataset."""
    read_manifest(data_dir)
    ds = open_table(data_dir, POSES_TABLE)
    names = set(ds.schema.names)
    need = {"pose": ["pose"], "image": ["image", "image_path"], "captions": ["captions"]}
    missing = [c for c in columns if not set(need[c]) <= names]
    if missing:
        raise ValueError(f"dataset {data_dir!r} has no {', '.join(missing)} column")
    table = ds.to_table(columns=[x for c in columns for x in need[c]], filter=pc.field("split") == split)
    if table.num_rows == 0:
        raise ValueError(f"dataset {data_dir!r} has no rows in split {split!r}")
    out: dict[str, object] = {}
    if "pose" in columns:
        out["pose"] = torch.from_numpy(np.asarray(table.column("pose").to_pylist(), dtype=np.float32).reshape(-1, 22, 3))
    if "captions" in columns:
        out["captions"] = table.column("captions").to_pylist()
    if "image" in columns:
        from pose_search.models.encoders.image_files import decode_images, load_image_file

        blobs, paths = table.column("image").to_pylist(), table.column("image_path").to_pylist()
        images = []
        for s in range(0, len(blobs), 256):
            part = blobs[s : s + 256]
            if all(b is not None for b in part):
                images.append(decode_images(part, uint8=True))
            else:
                images.append(torch.stack([
                    decode_images([b], uint8=True)[0] if b is not None
                    else (load_image_file(p) * 255).round().to(torch.uint8)
                    for b, p in zip(part, paths[s : s + 256])]))
        out["image"] = torch.cat(images)
    return out
