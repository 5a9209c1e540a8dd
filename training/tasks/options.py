"""Each training task's options, typed: a frozen dataclass per task with defaults, types and bounds.

``pose-search train TASK --set KEY=VALUE`` (and ``TrainConfig.task_options``) fill it; a
misspelled key, a key of another task or a value of the wrong type or out of bounds is a clear
``ValueError`` naming the task and the option, before any work:

>>> PoseTextOptions.parse("posetext", {"max_tokens": 64})
PoseTextOptions(model='posetext', ..., max_tokens=64, ...)
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal, Self


@dataclass(frozen=True)
class TaskOptions:
    """What every task has: the architecture (a registry name) and its config."""

    model: str = ""
    model_config: dict[str, Any] = field(default_factory=dict)
    val_split: str = "val"

    # options naming files or runs (workers resolve them, maybe in another working directory)
    path_options: ClassVar[frozenset[str]] = frozenset()
    # bounds beyond the types: whole numbers >= 1, probabilities in [0, 1], numbers >= 0 (0: off)
    counts: ClassVar[tuple[str, ...]] = ()
    probabilities: ClassVar[tuple[str, ...]] = ()
    non_negative: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, task: str, values: Mapping[str, Any]) -> Self:
        """The options of ``task`` from ``values`` (missing keys keep their defaults)."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"task {task!r}: unknown options {unknown}; known: {sorted(known)}")
        hints = typing.get_type_hints(cls)
        for name, value in values.items():
            if not _is_a(value, hints[name]):
                raise ValueError(f"task {task!r}: option {name}={value!r}: expected {_describe(hints[name])}")
        options = cls(**values)
        options.check(task)
        return options

    def check(self, task: str) -> None:
        """Bounds beyond the types (subclasses add theirs)."""
        if not self.val_split.strip():
            raise ValueError(f"task {task!r}: option val_split: give a split name")
        for name in self.counts:
            if getattr(self, name) < 1:
                raise ValueError(f"task {task!r}: option {name}={getattr(self, name)!r}: expected a whole number >= 1")
        for name in self.probabilities:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"task {task!r}: option {name}={getattr(self, name)!r}: expected a probability in [0, 1]")
        for name in self.non_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"task {task!r}: option {name}={getattr(self, name)!r}: expected a number >= 0 (0: off)")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {f.name: (f.default_factory() if f.default is MISSING else f.default) for f in fields(cls)}


@dataclass(frozen=True)
class ScheduleOptions(TaskOptions):
    """Tasks whose epoch loop takes a learning-rate warm-up, a decay and gradient clipping."""

    warmup_steps: int = 0  # linear warm-up over the first N optimizer steps (at most a tenth of the run)
    grad_clip: float = 0.0  # max global gradient norm (0: off)
    lr_decay: Literal["none", "cosine"] = "none"

    non_negative: ClassVar[tuple[str, ...]] = ("warmup_steps", "grad_clip")



@dataclass(frozen=True)
class PoseVAEOptions(TaskOptions):
    model: str = "posevae-model"
    vertices: bool = True  # the mesh-vertex reconstruction term
    kld_epsilon: float = 10.0


@dataclass(frozen=True)
class PoseTextOptions(ScheduleOptions):
    model: str = "posetext"
    text_model: Literal["pretrained", "scratch"] = "pretrained"
    text_pretrained_dir: str | None = None  # a local BERT / DistilBERT folder instead of the packaged MiniLM
    vocab_size: int = 4000  # the scratch tokenizer's
    max_tokens: int = 128
    eval_rows: int = 2000

    path_options: ClassVar[frozenset[str]] = frozenset({"text_pretrained_dir"})
    counts: ClassVar[tuple[str, ...]] = ("vocab_size", "max_tokens", "eval_rows")

    def check(self, task: str) -> None:
        super().check(task)
        if self.text_pretrained_dir and self.text_model != "pretrained":
            raise ValueError(f"task {task!r}: option text_pretrained_dir names a pretrained backbone: it needs "
                             "text_model=pretrained")


@dataclass(frozen=True)
class ImageOptions(TaskOptions):
    model: str = "image-pose-regressor"
    augment: bool = True
    joint_weight: float = 1.0
    eval_rows: int = 2000

    counts: ClassVar[tuple[str, ...]] = ("eval_rows",)


@dataclass(frozen=True)
class CoreOptions(ScheduleOptions):
    """The paper trains its cores at a constant lr (no warm-up, no decay): the defaults; the
    schedule options are there to test that choice."""

    model: str = "poseembroider"
    image_encoder: str | None = None  # a checkpoint or run directory, or "blazepose"
    pose_encoder: str | None = None
    text_encoder: str | None = None
    feature_batch: int = 64
    eval_rows: int = 10000

    path_options: ClassVar[frozenset[str]] = frozenset({"image_encoder", "pose_encoder", "text_encoder"})
    counts: ClassVar[tuple[str, ...]] = ("feature_batch", "eval_rows")


@dataclass(frozen=True)
class AlignerOptions(CoreOptions):
    model: str = "aligner"


@dataclass(frozen=True)
class HPSOptions(TaskOptions):
    model: str = "hps-head"
    core: str | None = None  # the trained core run the head reads
    feature_batch: int = 64
    joint_weight: float = 1.0

    path_options: ClassVar[frozenset[str]] = frozenset({"core"})
    counts: ClassVar[tuple[str, ...]] = ("feature_batch",)


@dataclass(frozen=True)
class InstructionsOptions(ScheduleOptions):
    model: str = "instruction-generator"
    core: str | None = None
    init: str | None = None  # an instructions run to start from (stage 2)
    pair_kinds: str = "all"
    max_tokens: int = 96
    warmup_steps: int = 100
    grad_clip: float = 1.0
    lr_flip: float = 0.5  # left-right flip augmentation: a probability
    vocab_size: int = 4000

    path_options: ClassVar[frozenset[str]] = frozenset({"core", "init"})
    counts: ClassVar[tuple[str, ...]] = ("max_tokens", "vocab_size")
    probabilities: ClassVar[tuple[str, ...]] = ("lr_flip",)


@dataclass(frozen=True)
class PairTextOptions(TaskOptions):
    model: str = "pairtext"
    text_model: Literal["pretrained", "scratch"] = "pretrained"
    text_encoder: str | None = None
    pair_kinds: str = "all"
    vocab_size: int = 4000
    max_tokens: int = 96
    lr_flip: float = 0.5

    path_options: ClassVar[frozenset[str]] = frozenset({"text_encoder"})
    counts: ClassVar[tuple[str, ...]] = ("max_tokens", "vocab_size")
    probabilities: ClassVar[tuple[str, ...]] = ("lr_flip",)


def _is_a(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the annotation ``hint`` (a whole number fits a float; a bool fits
    neither an int nor a float)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_is_a(value, h) for h in typing.get_args(hint))
    if origin is Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin or hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in typing.get_args(hint))
    if hint is type(None):
        return "null"
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", dict: "an object"}
    return names.get(origin or hint, str(hint))
