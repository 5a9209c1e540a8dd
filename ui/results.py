"""What the backend hands the UI: result cards, recovered meshes, instructions, explorer pages,
and the input of one pose (an id, a pose file or an image)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


def present(value: Any) -> bool:
    """Whether a widget value holds something (not None, not blank text, not empty bytes)."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (bytes, bytearray)):
        return len(value) > 0
    return True


@dataclass
class ResultCard:
    """One row to show: a hit of a search, or an item of the dataset explorer."""

    id: str
    caption: str
    captions: list[str]
    split: str
    family: str
    image: Path | None  # a render of the row, in the backend's file cache
    score: float | None = None
    rank: int | None = None

    @property
    def label(self) -> str:
        head = f"#{self.rank + 1} · {self.score:.3f} · " if self.rank is not None and self.score is not None else ""
        return f"{head}{self.caption}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("image")
        return d


@dataclass
class MeshResult:
    """A recovered body: the mesh (.glb), its parameters (.npz) and a one-line summary."""

    mesh: Path
    params: Path
    summary: str


@dataclass
class InstructionResult:
    """The instruction from A to B and the two bodies (None where an input has no body)."""

    text: str
    body_a: Path | None
    body_b: Path | None


@dataclass
class ExplorerPage:
    items: list[ResultCard]
    page: int
    pages: int
    total: int


@dataclass
class PoseInput:
    """One side of an instruction (or a search pose): exactly one of an id, a pose file, an image."""

    id: str | None = None
    file: str | Path | None = None
    image: Any = None

    def given(self) -> list[str]:
        return [n for n, v in (("id", self.id), ("pose file", self.file), ("image", self.image)) if present(v)]
