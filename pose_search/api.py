"""The Python API: rebuild a ready model from a run directory alone, and query it.

>>> model = load_model("runs/core")
>>> vec = model.query(texts=["the person raises the left arm"], target="pose")   # (1, 512)

Queries refuse a photo without a person: with an image encoder that detects people (BlazePose),
:meth:`PoseSearchModel.query` (and the heads' ``predict`` / ``instruct``, through
``require_person=True``) raise :class:`~pose_search.models.encoders.base.PersonNotFound` ("no person
found in the image: use a photo of one person ..."; for a batch, which images) instead of returning
the poses nearest to nothing. Embedding a dataset (:meth:`PoseSearchModel.reference_embeddings`,
:meth:`PoseSearchModel.features`, what index building uses) keeps such images, as zero features.
Image encoders without a detector (our CNN / ViT, trained on renders) cannot tell: they embed any
image, so a photo with nobody in it still gets results (``model.detects_person`` is False).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from pose_search.checkpoint import CheckpointError, load_module, pickle_note
from pose_search.models.encoders.base import MODALITIES, ModalityEncoder, PersonNotFound


class PoseSearchModel(nn.Module):
    """Frozen encoders + a trained core: raw inputs in, embeddings out (all in eval mode)."""

    def __init__(self, encoders: dict[str, ModalityEncoder], core: nn.Module) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict({m: e.freeze() for m, e in encoders.items()})
        self.core = core.eval()
        for p in self.core.parameters():
            p.requires_grad_(False)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if m in self.encoders)

    @property
    def image_any_size(self) -> bool:
        """Whether the image encoder takes whole photos at their own size (BlazePose: use
        ``load_query_image(photo, fit=False)``) rather than 256x192 crops."""
        return "image" in self.encoders and bool(self.encoders["image"].any_size)

    @property
    def detects_person(self) -> bool:
        """Whether the image encoder can tell that an image shows no person (BlazePose: queries
        then raise :class:`PersonNotFound`); False for encoders without a detector (our CNN)."""
        enc = self.encoders["image"] if "image" in self.encoders else None
        return enc is not None and type(enc).person_found is not ModalityEncoder.person_found

    @torch.no_grad()
    def features(self, images: torch.Tensor | None = None, poses: torch.Tensor | np.ndarray | None = None,
                 texts: Sequence[str] | None = None, *, require_person: bool = False) -> dict[str, torch.Tensor]:
        """Encoder features of whichever inputs are given (same batch size for all).
        ``require_person``: :class:`PersonNotFound` for images where the image encoder's detector
        found nobody (queries); off, they get the encoder's no-person features (datasets)."""
        from pose_search.body.convention import validate_pose

        given = {"image": images, "pose": poses, "text": texts}
        feats: dict[str, torch.Tensor] = {}
        for m, value in given.items():
            if value is None:
                continue
            if m not in self.encoders:
                raise ValueError(f"this model has no {m} encoder (it has {', '.join(self.modalities)})")
            if m == "pose":
                feats[m] = self.encoders[m](validate_pose(value))
            elif m == "text":
                if isinstance(value, str) or not all(isinstance(t, str) and t.strip() for t in value):
                    raise ValueError("texts: expected a list of non-empty strings")
                feats[m] = self.encoders[m](*self.encoders[m].tokenize(list(value)))
            else:
                feats[m] = self._image_features(value, require_person)
        if not feats:
            raise ValueError("empty query: give at least one of images, poses, texts")
        sizes = {len(v) for v in feats.values()}
        if len(sizes) > 1:
            raise ValueError(f"inputs have different batch sizes: { {m: len(v) for m, v in feats.items()} }")
        return feats

    def _image_features(self, images: torch.Tensor | Sequence[torch.Tensor], require_person: bool = False
                        ) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1], or a list of ``(3, H, W)`` photos of any sizes when the image
        encoder takes them (``any_size``: encoded one by one) -> image features ``(B, ...)``.

        The one place where a query's images are checked: with ``require_person``, images in which
        the encoder's detector found nobody raise :class:`PersonNotFound` naming them (encoders
        without a detector cannot tell, and pass every image)."""
        enc = self.encoders["image"]
        if isinstance(images, (list, tuple)):
            if not images or any(not torch.is_tensor(x) or x.ndim != 3 or x.shape[0] != 3 for x in images):
                raise ValueError("images: expected a non-empty list of (3, H, W) tensors in [0, 1]")
            if enc.any_size:
                feats = torch.cat([enc(x[None].float()) for x in images])
                return self._check_person(feats) if require_person else feats
            if len({tuple(x.shape) for x in images}) > 1:
                raise ValueError("images of different sizes: this image encoder takes 256x192 crops "
                                 "(pose_search.models.encoders.image.load_image_file fits a photo)")
            images = torch.stack(list(images))
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images: expected (B, 3, H, W) in [0, 1], got {tuple(images.shape)}")
        feats = enc(images.float())
        return self._check_person(feats) if require_person else feats

    def _check_person(self, feats: torch.Tensor) -> torch.Tensor:
        found = self.encoders["image"].person_found(feats)
        if found is not None and not bool(found.all()):
            raise PersonNotFound.in_images(torch.nonzero(~found.cpu()).flatten().tolist(), len(feats))
        return feats

    @torch.no_grad()
    def legs_visible(self, images: torch.Tensor | Sequence[torch.Tensor]) -> list[bool] | None:
        """Per image (as :meth:`features` takes them): whether the person's legs are in view;
        None when the image encoder cannot tell (only BlazePose reads it from its landmarks)."""
        enc = self.encoders["image"] if "image" in self.encoders else None
        if enc is None or type(enc).legs_visible is ModalityEncoder.legs_visible:
            return None  # (without encoding the images)
        seen = enc.legs_visible(self._image_features(images))
        return None if seen is None else [bool(x) for x in seen.cpu()]

    @torch.no_grad()
    def photo_poses(self, images: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor | None:
        """Per image (as :meth:`features` takes them), the body pose of the skeleton the image
        encoder sees, fitted bone by bone (:func:`~pose_search.body.fit_joints.fit_pose_to_joints`):
        ``(B, 22, 3)`` heading-free axis-angle, a pose query; None when the encoder has no
        skeleton (only BlazePose has one). :class:`PersonNotFound` for images without a person."""
        from pose_search.body.fit_joints import fit_pose_to_joints

        enc = self.encoders["image"] if "image" in self.encoders else None
        if enc is None or type(enc).body_joints is ModalityEncoder.body_joints:
            return None
        joints, confidence = enc.body_joints(self._image_features(images, require_person=True))
        return fit_pose_to_joints(joints, confidence)

    @torch.no_grad()
    def reference_embeddings(self, *, require_person: bool = False, **inputs) -> dict[str, torch.Tensor]:
        """``{m: (B, 512)}`` unit vectors of the given inputs (what an index stores: images without
        a person are embedded too, unless ``require_person``)."""
        return self.core.reference_embeddings(self.features(**inputs, require_person=require_person))

    @torch.no_grad()
    def query(self, target: str, *, require_person: bool = True, **inputs) -> torch.Tensor:
        """``(B, 512)`` query vectors in the space of ``target`` for any subset of inputs;
        :class:`PersonNotFound` for images without a person (when the image encoder can tell)."""
        refs = self.reference_embeddings(require_person=require_person, **inputs)
        return self.core.query_embedding(refs, tuple(refs), target)

    @torch.no_grad()
    def representation(self, *, require_person: bool = False, **inputs) -> torch.Tensor:
        """The fused pose representation ``(B, 512)`` of the given inputs (downstream heads; the
        heads' query paths pass ``require_person=True``, their evaluations on datasets do not)."""
        refs = self.reference_embeddings(require_person=require_person, **inputs)
        return self.core.representation(refs, tuple(refs))


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


def load_model(run_dir: str | Path, which: str = "best") -> nn.Module:
    """A ready model from a run directory (or a checkpoint directory) alone.

    * core / aligner runs -> :class:`PoseSearchModel` (``RUN/encoders/*`` + ``RUN/<which>/core``);
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
    if (run / "config.json").exists():
        return load_module(run)
    part = run / which
    if not part.is_dir() and which == "best":
        part = run / "last"
    if (part / "head").is_dir() and (run / "representation").is_dir():
        from pose_search.checkpoint import read_config
        from pose_search.models.registry import model_kind

        if model_kind(read_config(part / "head")["name"]) == "head.instructions":
            from pose_search.models.heads.instruction_pipeline import load_instruction_pipeline

            return load_instruction_pipeline(run, which)
        from pose_search.models.heads.hps_pipeline import load_hps_pipeline

        return load_hps_pipeline(run, which)
    if (part / "core").is_dir():
        encoders = {m: load_module(run / "encoders" / m) for m in MODALITIES if (run / "encoders" / m).is_dir()}
        if not encoders:
            raise CheckpointError(f"{str(run)!r} has a core but no encoders/ directory")
        return PoseSearchModel(encoders, load_module(part / "core"))
    for name in ("encoder", "model"):
        if (part / name / "config.json").exists():
            module = load_module(part / name)
            return module.freeze() if isinstance(module, ModalityEncoder) else module.eval()
    raise CheckpointError(f"{str(run)!r} holds no model (no config.json, {which}/core, or {which}/encoder)"
                          + pickle_note(run))


def model_files(run: str | Path) -> dict[str, Path]:
    """The files of a core run that make the model (``encoders/`` + the best, else last, core),
    under their names in a copy: ``encoders/...``, ``best/core/...``."""
    run = _local_run(run)
    core = next((run / w / "core" for w in ("best", "last") if (run / w / "core").is_dir()), None)
    if core is None or not (run / "encoders").is_dir():
        raise CheckpointError(f"{str(run)!r} is not a trained core run (needs encoders/ and best/core/); "
                              "train one with `pose-search train core`")
    files = {f"encoders/{f.relative_to(run / 'encoders')}": f for f in (run / "encoders").rglob("*") if f.is_file()}
    files.update({f"best/core/{f.relative_to(core)}": f for f in core.rglob("*") if f.is_file()})
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
