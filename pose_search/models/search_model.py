"""The search model: frozen encoders + a trained core, raw inputs in, embeddings out.

>>> model = pose_search.runs.load_model("runs/core")
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

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn

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
                                 "(pose_search.models.encoders.image_files.load_image_file fits a photo)")
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
