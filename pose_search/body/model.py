"""`BodyModel`: (pose, shape) -> 22 SMPL-X body joints and a mesh, behind a registry of backends.

Backends register themselves by name (``anny``: the free default; ``smplx``: real SMPL-X files)
and are built with :func:`pose_search.body.backends.create_body_model`. Every backend speaks the
canonical convention of :mod:`pose_search.body.convention`: input poses ``(B, 22, 3)`` axis-angle, outputs in the
canonical frame (+y up, facing +z, +x = body's left), metres, the pelvis at ``transl``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from pose_search.body.convention import validate_pose


@dataclass
class BodyOutput:
    """Posed bodies.

    joints:   ``(B, 22, 3)`` SMPL-X body joints (canonical frame, metres).
    vertices: ``(B, V, 3)`` mesh vertices in the same frame.
    faces:    ``(F, 3)`` int64 triangle indices, shared by the batch.
    """

    joints: torch.Tensor
    vertices: torch.Tensor
    faces: torch.Tensor


class BodyModel(ABC):
    """A body model backend. Subclasses set the class attributes and implement ``_forward``."""

    name: str = ""
    shape_space: str = ""  # value of the dataset column `shape_space` for this backend
    shape_dim: int = 0

    def __call__(
        self,
        pose: np.ndarray | torch.Tensor,
        shape: np.ndarray | torch.Tensor | None = None,
        transl: np.ndarray | torch.Tensor | None = None,
    ) -> BodyOutput:
        """Pose bodies: pose ``(B, 22, 3)``, shape ``(B, shape_dim)`` or None (neutral),
        transl ``(B, 3)`` or None (pelvis at the origin)."""
        p = validate_pose(pose)
        b = p.shape[0]
        s = self.neutral_shape(b) if shape is None else self._check_shape(shape, b)
        t = torch.zeros(b, 3) if transl is None else torch.as_tensor(transl, dtype=torch.float32)
        if t.shape != (b, 3) or not torch.isfinite(t).all():
            raise ValueError(f"transl: expected finite values of shape ({b}, 3), got {tuple(t.shape)}")
        return self._forward(p, s, t)

    def _check_shape(self, shape: np.ndarray | torch.Tensor, batch: int) -> torch.Tensor:
        s = torch.as_tensor(np.asarray(shape) if not torch.is_tensor(shape) else shape)
        s = s.to(torch.float32)
        if s.ndim == 1:
            s = s[None].expand(batch, -1)
        if s.shape != (batch, self.shape_dim):
            raise ValueError(
                f"shape: backend {self.name!r} expects ({batch}, {self.shape_dim}) "
                f"({self.shape_space}), got {tuple(s.shape)}"
            )
        if not torch.isfinite(s).all():
            raise ValueError("shape: contains NaN or inf values")
        return s

    @abstractmethod
    def neutral_shape(self, batch: int) -> torch.Tensor:
        """The neutral body's shape parameters, ``(batch, shape_dim)``."""

    @abstractmethod
    def _forward(self, pose: torch.Tensor, shape: torch.Tensor, transl: torch.Tensor) -> BodyOutput:
        """Validated inputs: pose ``(B,22,3)``, shape ``(B,S)``, transl ``(B,3)``."""

    @property
    @abstractmethod
    def faces(self) -> torch.Tensor:
        """``(F, 3)`` int64 triangles."""


_BODY_MODELS: dict[str, Callable[..., BodyModel]] = {}


def register_body_model(name: str) -> Callable[[Callable[..., BodyModel]], Callable[..., BodyModel]]:
    """Class decorator: make a backend available under ``name``
    (:func:`pose_search.body.backends.create_body_model`)."""

    def wrap(factory: Callable[..., BodyModel]) -> Callable[..., BodyModel]:
        _BODY_MODELS[name] = factory
        return factory

    return wrap
