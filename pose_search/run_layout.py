"""The names of a run directory's folders: what ``pose-search train`` writes and readers look for.

A run holds ``best/`` and ``last/`` (the model of the best and of the last epoch), each with one
or more parts (``core/``, ``head/``, ``encoder/``, ``pose_encoder/``, ``model/``); a core run also
``encoders/<modality>/`` (its frozen encoders), a head run ``representation/`` (the frozen search
model it reads). Training writes these names and :mod:`pose_search.runs` reads them; nothing else
spells them. Plain names (and the reader of the metrics file), so that every floor of the code
can use them.
"""

from __future__ import annotations

import json
from pathlib import Path

BEST, LAST = "best", "last"
CHECKPOINTS = (BEST, LAST)  # where a reader looks for a part, in this order
ENCODERS, REPRESENTATION = "encoders", "representation"
CORE, HEAD, ENCODER, POSE_ENCODER, MODEL = "core", "head", "encoder", "pose_encoder", "model"
METRICS_FILE = "metrics.jsonl"  # one JSON line per finished epoch


def read_metrics(run: Path) -> list[dict]:
    """The rows of ``run/metrics.jsonl``, one per finished epoch (``[]`` before the first)."""
    path = Path(run) / METRICS_FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def part_dirs(run: Path, part: str) -> tuple[Path, ...]:
    """``run/best/<part>``, then ``run/last/<part>``: where a run's checkpoint of ``part`` may be."""
    return tuple(Path(run) / which / part for which in CHECKPOINTS)
