"""Runs: rebuild a ready model from a run directory alone, and copy / fingerprint a model's files.

>>> model = load_model("runs/core")
>>> vec = model.query(texts=["the person raises the left arm"], target="pose")   # (1, 512)

A run directory, as ``pose-search train`` leaves it (the folder names are
:mod:`pose_search.run_layout`'s):

* ``run.json`` (the training options), ``metrics.jsonl``, ``curves.png``, ``ray/`` (Ray's
  checkpoints);
* ``best/`` and ``last/``: the model of the best and of the last epoch: ``core/`` (core and
  aligner runs), ``encoder/`` (+ ``pose_encoder/`` for PoseText), ``model/``, or ``head/``;
* ``encoders/<modality>/``: the frozen encoders of a core run;
* ``representation/``: the frozen search model a head run (HPS, instructions) reads.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch.nn as nn

from pose_search.checkpoint import CheckpointError, pickle_note, read_config
from pose_search.models.catalog import load_module, model_kind
from pose_search.models.encoders.base import MODALITIES, ModalityEncoder
from pose_search.models.heads.hps_pipeline import HPSPipeline
from pose_search.models.heads.instruction_pipeline import InstructionPipeline
from pose_search.models.search_model import PoseSearchModel
from pose_search.run_layout import BEST, CORE, ENCODER, ENCODERS, HEAD, LAST, MODEL, REPRESENTATION


@dataclass(frozen=True)
class RunDir:
    """A local run directory and which of its checkpoints to read (``best``, else ``last``)."""

    path: Path
    which: str = BEST

    def part(self, name: str) -> Path | None:
        """``<which>/<name>`` (``last/<name>`` when ``best`` lacks it), or None."""
        for which in (self.which, LAST) if self.which == BEST else (self.which,):
            if (self.path / which / name).is_dir():
                return self.path / which / name
        return None

    @property
    def kind(self) -> str:
        """``checkpoint``, ``head``, ``core``, ``encoder`` or ``model`` (what :meth:`load` returns)."""
        if (self.path / "config.json").exists():
            return "checkpoint"
        if self.part(HEAD) and (self.path / REPRESENTATION).is_dir():
            return "head"
        if self.part(CORE):
            return "core"
        for name in (ENCODER, MODEL):
            part = self.part(name)
            if part and (part / "config.json").exists():
                return name
        raise CheckpointError(f"{str(self.path)!r} holds no model (no config.json, {self.which}/core, or "
                              f"{self.which}/encoder)" + pickle_note(self.path))

    def load(self) -> nn.Module:
        kind = self.kind
        if kind == "checkpoint":
            return load_module(self.path)
        if kind == "head":
            return self._head()
        if kind == "core":
            encoders = {m: load_module(self.path / ENCODERS / m) for m in MODALITIES
                        if (self.path / ENCODERS / m).is_dir()}
            if not encoders:
                raise CheckpointError(f"{str(self.path)!r} has a core but no encoders/ directory")
            return PoseSearchModel(encoders, load_module(self.part(CORE)))
        module = load_module(self.part(kind))
        return module.freeze() if isinstance(module, ModalityEncoder) else module.eval()

    def _head(self) -> nn.Module:
        head_dir = self.part(HEAD)
        head = load_module(head_dir)
        representation = RunDir(self.path / REPRESENTATION).load()
        if model_kind(read_config(head_dir)["name"]) == "head.instructions":
            return InstructionPipeline(representation, head)
        return HPSPipeline(representation, head)


def _local_run(run: str | Path) -> Path:
    """A run given as a URI: its local mirror, without what a model does not need."""
    from pose_search import storage
    from pose_search.files import FileError, check_path

    try:
        if not storage.is_uri(run):
            check_path(run, "run directory")
        return storage.local_copy(run, exclude=("ray", "features", "representations"))
    except FileError as exc:
        raise CheckpointError(str(exc)) from None
    except FileNotFoundError:
        raise CheckpointError(f"run directory {str(run)!r} does not exist" + pickle_note(run)) from None


def load_model(run_dir: str | Path, which: str = BEST) -> nn.Module:
    """A ready model from a run directory (or a checkpoint directory) alone.

    * core / aligner runs -> :class:`~pose_search.models.search_model.PoseSearchModel`
      (``RUN/encoders/*`` + ``RUN/<which>/core``);
    * encoder runs -> the frozen encoder (``RUN/<which>/encoder``);
    * HPS runs -> :class:`~pose_search.models.heads.hps_pipeline.HPSPipeline` (image/text -> body);
    * instructions runs -> :class:`~pose_search.models.heads.instruction_pipeline.InstructionPipeline`;
    * a checkpoint directory (``config.json`` + ``model.safetensors``) -> its module.

    ``run_dir`` may be a URI (``s3://...``): its model files are mirrored locally first.
    """
    run = _local_run(run_dir)
    if not run.is_dir():
        state = "is a file, not a directory" if run.is_file() else "does not exist"
        raise CheckpointError(f"run directory {str(run)!r} {state}" + pickle_note(run))
    return RunDir(run, which).load()


def model_files(run: str | Path) -> dict[str, Path]:
    """The files of a core run that make the model (``encoders/`` + the best, else last, core),
    under their names in a copy: ``encoders/...``, ``best/core/...``."""
    run = _local_run(run)
    core = RunDir(run).part(CORE)
    if core is None or not (run / ENCODERS).is_dir():
        raise CheckpointError(f"{str(run)!r} is not a trained core run (needs encoders/ and best/core/); "
                              "train one with `pose-search train core`")
    files = {f"{ENCODERS}/{f.relative_to(run / ENCODERS)}": f for f in (run / ENCODERS).rglob("*") if f.is_file()}
    files.update({f"{BEST}/{CORE}/{f.relative_to(core)}": f for f in core.rglob("*") if f.is_file()})
    return files


def model_fingerprint(files: dict[str, Path]) -> str:
    """A short hash of the names and bytes of ``files`` (which model an index was built with)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        h.update(files[name].read_bytes())
    return h.hexdigest()[:16]


def copy_model(files: dict[str, Path], target: Path) -> Path:
    """Copy the files of :func:`model_files` into ``target`` (a minimal run directory that
    :func:`load_model` reads), atomically; an existing ``target`` is kept as it is."""
    if target.is_dir():
        return target
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, src in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, tmp / name)
    tmp.rename(target)
    return target


HEAD_RUNS = {"hps": (HPSPipeline, "an HPS"), "instructions": (InstructionPipeline, "an instructions")}


def load_head(run_dir: str | Path, kind: str, which: str = BEST) -> nn.Module:
    """The pipeline of a head run of ``kind`` (``hps`` or ``instructions``); a clear error for any
    other run."""
    pipeline, what = HEAD_RUNS[kind]
    run = RunDir(_local_run(run_dir), which)
    if run.part(HEAD) is None or not (run.path / REPRESENTATION).is_dir():
        raise CheckpointError(f"{str(run_dir)!r} is not {what} run (needs representation/ and best/head/)")
    model = run.load()
    if not isinstance(model, pipeline):
        raise CheckpointError(f"{str(run_dir)!r} is not {what} run (it holds a {type(model).__name__})")
    return model
