"""The names real releases give their splits, mapped to ours (``train``, ``val``, ``test``).

Its own module, free of torch and numpy, because ``pose-search data convert`` builds its
``--split`` choices from it before any loader is imported.
"""

from __future__ import annotations

SPLIT_ALIASES: dict[str, str] = {
    "train": "train", "training": "train",
    "val": "val", "validation": "val", "valid": "val",
    "test": "test", "testing": "test",
}
