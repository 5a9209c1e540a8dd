"""The options of ``pose-search data convert``, declared per source.

Each :class:`SourceOption` names the sources it applies to and the loader argument it becomes;
:func:`check_options` turns what a user gave into a :class:`ConvertOptions` value, refusing an
option that does not apply to the chosen source (a ``ValueError`` naming the option and the
sources it is for), a missing required option, or a bad value. The CLI builds its flags from
:data:`OPTIONS`, so the parser, the check and the README table cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pose_search.data.splits import SPLIT_ALIASES

SOURCES = ("bedlam", "bedlam-raw", "amass", "posescript", "posefix", "3dpw")


@dataclass(frozen=True)
class SourceOption:
    """One per-source option: its ``name`` (``--name-with-dashes`` on the command line), the
    sources it applies to, those that require it, and the loader argument per source."""

    name: str
    help: str
    sources: tuple[str, ...]
    required: tuple[str, ...] = ()
    loader_arg: Mapping[str, str] = field(default_factory=dict)  # source -> loader keyword
    kind: str = "path"  # "path", "int" or "splits"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def argument(self, source: str) -> str:
        return self.loader_arg.get(source, self.name)


OPTIONS: tuple[SourceOption, ...] = (
    SourceOption("amass_root", "AMASS folder the poses are read from (posescript, posefix)",
                 ("posescript", "posefix"), required=("posescript", "posefix")),
    SourceOption("posescript_root", "PoseScript release folder: the pose captions of PoseFix (posefix)",
                 ("posefix",), loader_arg={"posefix": "posescript_dir"}),
    SourceOption("gt_root", "BEDLAM ground-truth motions <person_id>/<seq_id>/motion_seq.npz (bedlam-raw)",
                 ("bedlam-raw",), required=("bedlam-raw",)),
    SourceOption("image_root", "image folder, one for every split (bedlam, bedlam-raw: default the scene "
                 "folders; 3dpw: the folder holding imageFiles/, default ROOT)", ("bedlam", "bedlam-raw", "3dpw")),
    SourceOption("stride", "keep every N-th frame (amass: default 30; 3dpw: 1; bedlam-raw: frame numbers "
                 "divisible by N, default 5 = 6 fps)", ("amass", "3dpw", "bedlam-raw"),
                 loader_arg={"bedlam-raw": "frame_step"}, kind="int"),
    SourceOption("split", "convert only these splits (train, val, test; repeat or comma-separate; "
                 "default: every split)", ("bedlam", "bedlam-raw", "3dpw", "posescript", "posefix"),
                 loader_arg={s: "splits" for s in SOURCES}, kind="splits"),
)
OPTIONS_BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class ConvertOptions:
    """What ``convert`` needs beyond the source and its root: the loader's keyword arguments
    (already mapped from the per-source options) and the options as the user gave them."""

    source: str
    loader_kwargs: dict[str, Any]
    given: dict[str, Any]


def _splits(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    names = [s.strip() for item in items for s in str(item).split(",")]
    bad = [s for s in names if s.lower() not in SPLIT_ALIASES]
    if bad or not names:
        raise ValueError(f"--split {','.join(names)!s}: expected train, val or test (or training, validation)")
    return sorted({SPLIT_ALIASES[s.lower()] for s in names}, key=("train", "val", "test").index)


def _value(opt: SourceOption, value: Any) -> Any:
    if opt.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{opt.flag} {value}: expected a whole number >= 1")
        return value
    if opt.kind == "splits":
        return _splits(value)
    if not str(value).strip():
        raise ValueError(f"{opt.flag}: give a folder")
    return str(value)


def check_options(source: str, given: Mapping[str, Any]) -> ConvertOptions:
    """Check the per-source options ``given`` (name -> value; ``None`` = not given) for ``source``.

    Raises ``ValueError`` naming the option for an unknown source, an option that does not apply
    to ``source``, a missing required option, or a bad value.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    given = {k: v for k, v in given.items() if v is not None}
    unknown = [k for k in given if k not in OPTIONS_BY_NAME]
    if unknown:
        raise ValueError(f"unknown convert option(s) {unknown}; expected some of {sorted(OPTIONS_BY_NAME)}")
    wrong = [OPTIONS_BY_NAME[k] for k in given if source not in OPTIONS_BY_NAME[k].sources]
    if wrong:
        opt = wrong[0]
        raise ValueError(f"{opt.flag} does not apply to {source} (it is for {', '.join(opt.sources)})"
                         + (f"; also not for {source}: {', '.join(o.flag for o in wrong[1:])}" if wrong[1:] else ""))
    for opt in OPTIONS:
        if source in opt.required and opt.name not in given:
            raise ValueError(f"{source}: {opt.flag} is required ({opt.help})")
    kwargs = {OPTIONS_BY_NAME[k].argument(source): _value(OPTIONS_BY_NAME[k], v) for k, v in given.items()}
    return ConvertOptions(source, kwargs, dict(given))


def applicable(source: str) -> list[SourceOption]:
    """The options that apply to ``source``."""
    return [o for o in OPTIONS if source in o.sources]


def not_applicable(source: str) -> list[SourceOption]:
    """The options that do not apply to ``source``."""
    return [o for o in OPTIONS if source not in o.sources]


__all__ = ["OPTIONS", "SOURCES", "ConvertOptions", "SourceOption", "applicable", "check_options",
           "not_applicable"]

