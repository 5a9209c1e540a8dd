"""Project-wide locations read from the environment (never at import time of leaf modules)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of pose-search's caches: ``$POSE_SEARCH_CACHE`` or ``~/.cache/pose_search``."""
    return Path(os.environ.get("POSE_SEARCH_CACHE", Path.home() / ".cache" / "pose_search"))


def anny_cache_dir() -> Path:
    """Where anny's built model data lives: ``$ANNY_CACHE_DIR`` or ``cache_dir()/anny``.

    anny builds ~790 MB of data there the first time (about 2 minutes); later starts read one
    compact file from it in well under a second.
    """
    env = os.environ.get("ANNY_CACHE_DIR")
    return Path(env) if env else cache_dir() / "anny"


def smplx_model_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Location of real SMPL-X model files: the explicit argument, else ``$SMPLX_MODEL_PATH``.

    Raises ``FileNotFoundError`` with a message that says how to provide the files.
    """
    value = explicit if explicit is not None else os.environ.get("SMPLX_MODEL_PATH")
    if not value:
        raise FileNotFoundError(
            "no SMPL-X model path: pass model_path=... or set SMPLX_MODEL_PATH to the folder "
            "holding SMPLX_NEUTRAL.npz (or to the .npz file itself); the files are licensed and "
            "must be downloaded by you from the SMPL-X website"
        )
    path = Path(value)
    if not path.exists():
        raise FileNotFoundError(f"SMPL-X model path {str(path)!r} does not exist")
    return path
