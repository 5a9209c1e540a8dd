"""Loaders that convert real (licensed) datasets into pose-search rows.

Each loader yields row dicts accepted by :func:`pose_search.data.schema.pose_rows_to_table`
(and, for PoseFix, pair rows for :func:`~pose_search.data.schema.pair_rows_to_table`; separate
them with :func:`split_rows`). Nothing is written: collect the rows, then build the tables, so a
bad input file raises (a :class:`LoaderError` naming the file and field) before anything is stored.

=============  ===========================================================================
kind           call
=============  ===========================================================================
``bedlam``     ``load_bedlam(labels, image_root, caption_fn=..., splits=None)`` (processed scene npz)
``bedlam-raw`` ``load_bedlam_raw(root, gt_root, caption_fn=..., splits=None)`` (be_seq.csv + motion_seq.npz)
``amass``      ``load_amass(root, caption_fn=..., render_fn=..., report=None)``
``posescript`` ``load_posescript(root, amass_root, render_fn=...)``
``posefix``    ``load_posefix(root, amass_root, render_fn=..., posescript_dir=..., report=None)``
``3dpw``       ``load_3dpw(root, caption_fn=..., splits=None)`` (``None``: every split present)
=============  ===========================================================================

Callables supplied by the caller: ``render_fn(pose (22, 3)) -> PNG bytes`` (sources without
images), ``caption_fn(pose (22, 3)) -> [str]`` (sources without captions) and
``joints_fn((B, 22, 3) poses) -> (B, 22, 3) joints`` (default: the neutral skeleton of
:mod:`pose_search.body.skeleton`; pass the SMPL-X body model's joints instead if you have it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pose_search.data.loaders.amass import load_amass, load_posefix, load_posescript
from pose_search.data.loaders.bedlam import load_bedlam
from pose_search.data.loaders.bedlam_raw import load_bedlam_raw
from pose_search.data.loaders.common import LoaderError, LoadReport, split_rows
from pose_search.data.loaders.safe_pickle import UnsafePickleError, safe_load_pickle
from pose_search.data.loaders.threedpw import load_3dpw

LOADERS: dict[str, Callable[..., Iterator[dict[str, Any]]]] = {
    "bedlam": load_bedlam,
    "bedlam-raw": load_bedlam_raw,
    "amass": load_amass,
    "posescript": load_posescript,
    "posefix": load_posefix,
    "3dpw": load_3dpw,
}


def load_dataset(kind: str, root: str | Path, *args: Any, **kw: Any) -> Iterator[dict[str, Any]]:
    """Dispatch to ``LOADERS[kind](root, *args, **kw)``; a clear error for an unknown kind."""
    try:
        loader = LOADERS[kind]
    except KeyError:
        raise ValueError(f"unknown dataset kind {kind!r}; expected one of {sorted(LOADERS)}") from None
    return loader(root, *args, **kw)


__all__ = [
    "LOADERS", "LoaderError", "LoadReport", "UnsafePickleError", "load_dataset", "load_amass", "load_posescript",
    "load_posefix", "load_bedlam", "load_bedlam_raw", "load_3dpw", "safe_load_pickle", "split_rows",
]
