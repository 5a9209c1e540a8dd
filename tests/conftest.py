"""Shared fixtures. Body models are expensive to build, so they are session-scoped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)
# Use the project's anny cache when the Makefile did not say otherwise.
_REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("ANNY_CACHE_DIR", str(_REPO / ".cache" / "anny"))
os.environ.setdefault("WARP_CACHE_PATH", str(_REPO / ".cache" / "warp"))


@pytest.fixture(scope="session")
def anny_body():
    from pose_search.body.anny_backend import AnnyBody

    return AnnyBody()


@pytest.fixture(scope="session")
def anny_full_body():
    from pose_search.body.anny_backend import AnnyBody

    return AnnyBody(topology="anny")


@pytest.fixture(scope="session")
def smplx_model_dir(tmp_path_factory, anny_full_body) -> Path:
    """A folder with SMPLX_NEUTRAL.npz in the real SMPL-X layout, written by the test session."""
    from pose_search.body.smplx_export import write_smplx_npz

    folder = tmp_path_factory.mktemp("smplx")
    write_smplx_npz(folder / "SMPLX_NEUTRAL.npz", anny_full_body)
    return folder


@pytest.fixture(scope="session")
def smplx_body(smplx_model_dir):
    from pose_search.body.smplx_backend import SmplxBody

    return SmplxBody(model_path=smplx_model_dir)
