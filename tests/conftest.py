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


# ---- a tiny dataset and tiny (untrained) model checkpoints (training and indexing tests)
@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    from pose_search.data.generate import GenerateConfig, run

    out = tmp_path_factory.mktemp("tiny_ds")
    run(out, GenerateConfig(kind="script", size=48, seed=0, chunk_size=16, val_fraction=0.25), workers=1)
    return out


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory, tiny_dataset):
    """Checkpoint directories of random-init tiny encoders (real architectures, untrained)."""
    import torch

    from pose_search.checkpoint import save_module
    from pose_search.models.encoders.tokenizer import TextTokenizer
    from pose_search.models.registry import create_model
    from training.tasks.data import load_split

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("encoders")
    caps = load_split(str(tiny_dataset), "train", ("captions",))["captions"]
    tok = TextTokenizer.train([c for cs in caps for c in cs], vocab_size=300)
    out = {}
    for modality, name, kwargs in (("pose", "posevae-tiny", {}), ("image", "vit-tiny-test", {}),
                                   ("text", "posetext-text-tiny", {"tokenizer": tok})):
        enc = create_model(name, **kwargs)
        out[modality] = save_module(root / modality, name, enc.config(), enc)
    return out


@pytest.fixture(scope="session")
def tiny_core_run(tmp_path_factory, tiny_encoders):
    """A core run directory as training leaves it (encoders/ + best/core), random-init tiny core."""
    import shutil

    from pose_search.checkpoint import load_module, save_module
    from pose_search.models.registry import create_model

    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("core_run")
    dims = {}
    for m, directory in tiny_encoders.items():
        shutil.copytree(directory, run / "encoders" / m)
        dims[m] = int(load_module(directory).output_dim)
    core = create_model("core-tiny", input_dims=dims)
    save_module(run / "best" / "core", "core-tiny", core.config(), core)
    return run


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory, tiny_core_run, tiny_dataset):
    """An index directory of the tiny dataset built with the tiny core (Ray Data embedding, flat
    FAISS indexes). Shared: tests must not modify it (copy it first)."""
    import ray

    from indexing.build import BuildConfig, build

    started_here = not ray.is_initialized()
    out = tmp_path_factory.mktemp("index") / "idx"
    build(BuildConfig(model=str(tiny_core_run), data=str(tiny_dataset), out=str(out), workers=2, batch_size=8),
          progress=False)
    if started_here:  # free the cores for the tests that follow; a later build starts Ray again
        ray.shutdown()
    return out
