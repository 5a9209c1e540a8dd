"""Contact sheets: a grid of dataset images with their captions, to look at."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np

from pose_search.data.schema import PAIRS_TABLE, POSES_TABLE
from pose_search.data.store import open_table, read_manifest, table_exists


def load_image(image: bytes | None, path: str | None) -> np.ndarray:
    """Decode a dataset image (bytes or path) to ``(H, W, 3)`` uint8."""
    from PIL import Image

    src = io.BytesIO(image) if image is not None else path
    if src is None:
        raise ValueError("row has neither image bytes nor an image path")
    with Image.open(src) as im:
        return np.asarray(im.convert("RGB"))


SHEET_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")


def check_sheet_args(out: str | Path, n: int) -> None:
    """ValueError for a sheet file matplotlib cannot write or a number of samples below 1."""
    if Path(out).suffix.lower() not in SHEET_SUFFIXES or not Path(out).stem:
        raise ValueError(f"--out {str(out)!r}: expected an image file ending in {', '.join(SHEET_SUFFIXES)}")
    if n < 1:
        raise ValueError(f"-n {n}: expected at least 1 sample")


def contact_sheet(root: str | Path, out: str | Path, n: int = 12, seed: int = 0, cols: int = 2) -> Path:
    """Draw ``n`` random samples of a dataset into a PNG: each image beside all of its captions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    check_sheet_args(out, n)
    if read_manifest(root).get("kind") == "fix" and table_exists(root, PAIRS_TABLE):
        return pairs_sheet(root, out, n=n, seed=seed)
    ds = open_table(root, POSES_TABLE)
    total = ds.count_rows()
    if total == 0:
        raise ValueError(f"dataset {str(root)!r} has no rows")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(total, size=min(n, total), replace=False))
    rows = ds.take(idx.tolist(), columns=["id", "image", "image_path", "captions", "family"]).to_pylist()
    n_rows = (len(rows) + cols - 1) // cols
    fig = plt.figure(figsize=(cols * 9.0, n_rows * 3.9), dpi=90)
    grid = fig.add_gridspec(n_rows, 2 * cols, width_ratios=[1.0, 3.2] * cols, wspace=0.04, hspace=0.12)
    for k, row in enumerate(rows):
        r, c = divmod(k, cols)
        ax = fig.add_subplot(grid[r, 2 * c])
        ax.imshow(load_image(row["image"], row["image_path"]))
        ax.set_axis_off()
        ax.set_title(f"{row['id']}\n[{row['family']}]", fontsize=7)
        tx = fig.add_subplot(grid[r, 2 * c + 1])
        tx.set_axis_off()
        text = "\n".join(textwrap.fill(f"{i + 1}. {cap}", 105) for i, cap in enumerate(row["captions"]))
        tx.text(0.0, 1.0, text, va="top", ha="left", fontsize=6.2, transform=tx.transAxes)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.98, bottom=0.01)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def pairs_sheet(root: str | Path, out: str | Path, n: int = 8, seed: int = 0) -> Path:
    """Draw ``n`` random pairs of a ``fix`` dataset: image A, image B and the instructions A -> B."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pyarrow.compute as pc

    pairs = open_table(root, PAIRS_TABLE)
    total = pairs.count_rows()
    if total == 0:
        raise ValueError(f"dataset {str(root)!r} has no pairs")
    rng = np.random.default_rng(seed)
    chosen = pairs.take(np.sort(rng.choice(total, size=min(n, total), replace=False)).tolist()).to_pylist()
    ids = sorted({p["a_id"] for p in chosen} | {p["b_id"] for p in chosen})
    poses = open_table(root, POSES_TABLE).to_table(
        columns=["id", "image", "image_path"], filter=pc.field("id").isin(ids)
    ).to_pylist()
    images = {r["id"]: load_image(r["image"], r["image_path"]) for r in poses}
    fig = plt.figure(figsize=(14.0, len(chosen) * 3.2), dpi=90)
    grid = fig.add_gridspec(len(chosen), 3, width_ratios=[1.0, 1.0, 4.2], wspace=0.04, hspace=0.15)
    for k, pair in enumerate(chosen):
        for c, key in enumerate(("a_id", "b_id")):
            ax = fig.add_subplot(grid[k, c])
            ax.imshow(images[pair[key]])
            ax.set_axis_off()
            ax.set_title(f"{'A' if c == 0 else 'B'}: {pair[key]}", fontsize=7)
        tx = fig.add_subplot(grid[k, 2])
        tx.set_axis_off()
        text = "\n".join(textwrap.fill(f"{i + 1}. {t}", 120) for i, t in enumerate(pair["instructions"]))
        tx.text(0.0, 1.0, f"[{pair['kind']}-sequence] A -> B\n{text}", va="top", ha="left", fontsize=6.5,
                transform=tx.transAxes)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.98, bottom=0.01)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
