"""The real SMPL-X body, through the `smplx` package, for users who have the licensed model files.

The path comes from the ``model_path`` argument or ``$SMPLX_MODEL_PATH``: either a
``SMPLX_<GENDER>.npz`` file or a folder holding one (directly or under ``smplx/``). Only the
``.npz`` release is supported: the ``.pkl`` files pickle chumpy objects that do not load on
current Python. SMPL-X's model frame is already the canonical frame (y up, facing +z).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from pose_search.body.model import BodyModel, BodyOutput, register_body_model
from pose_search.body.safe_arrays import ArrayLimits, npz_member_shapes
from pose_search.config import smplx_model_path
from pose_search.files import describe

log = logging.getLogger(__name__)

GENDERS = ("neutral", "male", "female")
# smplx hard-codes landmark vertex ids up to 9,929: a smaller mesh cannot be a SMPL-X model.
MIN_VERTICES = 9930


def resolve_model_file(path: Path, gender: str) -> Path:
    """Find ``SMPLX_<GENDER>.npz`` at ``path`` (a file, or a folder, or its ``smplx/``)."""
    if path.is_file():
        candidates = [path]
    else:
        name = f"SMPLX_{gender.upper()}.npz"
        candidates = [path / name, path / "smplx" / name]
    for c in candidates:
        if c.is_file():
            if c.suffix != ".npz":
                raise ValueError(
                    f"SMPL-X model file {str(c)!r}: only the .npz release is supported "
                    "(the .pkl release needs chumpy, which does not load on current Python)"
                )
            return c
    raise FileNotFoundError(
        f"no SMPL-X model file for gender {gender!r} under {str(path)!r} "
        f"(looked for: {', '.join(str(c) for c in candidates)})"
    )


# A model file is big (SMPLX_NEUTRAL.npz: ~110 MB) but read here only through its central directory
# and one member's header; smplx itself then loads it.
MODEL_FILE_LIMITS = ArrayLimits(max_file_bytes=4 << 30, max_member_bytes=1 << 30, max_elements=1 << 27)
MODEL_KEYS = ("v_template", "f", "J_regressor", "weights", "posedirs", "shapedirs", "kintree_table")


def _check_model_file(path: Path) -> None:
    """Refuse what smplx would choke on, with a clear message, before smplx loads it: not a zip,
    a corrupt or encrypted archive, missing fields, a mesh too small to be SMPL-X."""
    members, shapes = npz_member_shapes(path, ("v_template",), "SMPL-X model file", MODEL_FILE_LIMITS)
    where = describe(path, "SMPL-X model file")
    missing = set(MODEL_KEYS) - set(members)
    if missing:
        raise ValueError(f"{where} lacks fields: {', '.join(sorted(missing))}")
    n_vertices = shapes["v_template"][0] if shapes["v_template"] else 0
    if n_vertices < MIN_VERTICES:
        raise ValueError(
            f"{where} has {n_vertices} vertices; a SMPL-X mesh has 10,475 (smplx needs at least {MIN_VERTICES})"
        )


@register_body_model("smplx")
class SmplxBody(BodyModel):
    """SMPL-X with ``num_betas`` shape coefficients; hands flat, face neutral."""

    name = "smplx"
    shape_space = "smplx-betas"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        gender: str = "neutral",
        num_betas: int = 10,
    ) -> None:
        if gender not in GENDERS:
            raise ValueError(f"gender {gender!r}: expected one of {GENDERS}")
        path = resolve_model_file(smplx_model_path(model_path), gender)
        _check_model_file(path)
        import smplx

        self.model = smplx.SMPLX(
            model_path=str(path),
            gender=gender,
            num_betas=num_betas,
            use_pca=False,
            flat_hand_mean=True,
            ext="npz",
        ).eval()
        self.shape_dim = num_betas
        self.path = path
        log.info("loaded SMPL-X model %s", path)

    def neutral_shape(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, self.shape_dim)

    @property
    def faces(self) -> torch.Tensor:
        return torch.as_tensor(np.asarray(self.model.faces, dtype=np.int64))

    def _forward(self, pose: torch.Tensor, shape: torch.Tensor, transl: torch.Tensor) -> BodyOutput:
        b = pose.shape[0]
        zeros3 = torch.zeros(b, 3)
        with torch.no_grad():
            out = self.model(
                global_orient=pose[:, 0],
                body_pose=pose[:, 1:].reshape(b, -1),
                betas=shape,
                jaw_pose=zeros3,
                leye_pose=zeros3,
                reye_pose=zeros3,
                left_hand_pose=torch.zeros(b, 45),
                right_hand_pose=torch.zeros(b, 45),
                expression=torch.zeros(b, self.model.num_expression_coeffs),
                return_verts=True,
            )
        # Put the pelvis at `transl`, as the other backends do.
        offset = transl[:, None] - out.joints[:, :1]
        return BodyOutput(
            joints=out.joints[:, :22] + offset,
            vertices=out.vertices + offset,
            faces=self.faces,
        )
