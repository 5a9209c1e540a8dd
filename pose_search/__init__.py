"""pose-search: multimodal (image / pose / text) human pose retrieval, the library."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load_model(run_dir: Any, which: str = "best") -> Any:
    """Rebuild a ready model from a run directory alone (see :func:`pose_search.api.load_model`)."""
    from pose_search.api import load_model as _load

    return _load(run_dir, which)
