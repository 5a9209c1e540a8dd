"""Tiny artefacts for the tests (session fixtures in tests/conftest.py) and the reliability
benchmark: a 48-pose synthetic dataset, random-init tiny encoders and core (real architectures,
untrained), an index built with Ray Data, HPS / instruction runs in the layout training leaves,
and the UI app served in-process.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import torch


def make_dataset(out: Path) -> Path:
    """48 ``script`` poses (36 train / 12 val) in 3 chunks."""
    from pose_search.data.generate import GenerateConfig, run

    run(out, GenerateConfig(kind="script", size=48, seed=0, chunk_size=16, val_fraction=0.25), workers=1)
    return out


def make_encoders(root: Path, dataset: Path) -> dict[str, Path]:
    """Checkpoint directories of random-init tiny encoders, by modality."""
    from pose_search.checkpoint import save_module
    from pose_search.models.catalog import create_model
    from pose_search.models.encoders.tokenizer import TextTokenizer
    from training.tasks.data import load_split

    torch.manual_seed(0)
    caps = load_split(str(dataset), "train", ("captions",))["captions"]
    tok = TextTokenizer.train([c for cs in caps for c in cs], vocab_size=300)
    out = {}
    for modality, name, kwargs in (("pose", "posevae-tiny", {}), ("image", "vit-tiny-test", {}),
                                   ("text", "posetext-text-tiny", {"tokenizer": tok})):
        enc = create_model(name, **kwargs)
        out[modality] = save_module(root / modality, name, enc.config(), enc)
    return out


def make_core_run(run: Path, encoders: dict[str, Path]) -> Path:
    """A core run directory as training leaves it (encoders/ + best/core), random-init tiny core."""
    from pose_search.checkpoint import save_module
    from pose_search.models.catalog import create_model, load_module

    torch.manual_seed(0)
    dims = {}
    for m, directory in encoders.items():
        shutil.copytree(directory, run / "encoders" / m)
        dims[m] = int(load_module(directory).output_dim)
    core = create_model("core-tiny", input_dims=dims)
    save_module(run / "best" / "core", "core-tiny", core.config(), core)
    return run


def make_index(out: Path, core_run: Path, dataset: Path) -> Path:
    """The dataset embedded with the core (Ray Data, flat FAISS indexes); Ray is shut down again
    when this started it (the cores are free for what follows)."""
    import ray

    from indexing.build import BuildConfig, build

    started_here = not ray.is_initialized()
    build(BuildConfig(model=str(core_run), data=str(dataset), out=str(out), workers=2, batch_size=8), progress=False)
    if started_here:
        ray.shutdown()
    return out


def representation_size(run: Path, core_run: Path) -> int:
    """Copy the core run into ``run/representation`` as training does; its representation size."""
    from pose_search.runs import copy_model, load_model, model_files

    rep = load_model(copy_model(model_files(core_run), run / "representation"))
    return int(rep.representation(texts=["a pose"]).shape[1])


def make_hps_run(run: Path, core_run: Path, dataset: Path) -> Path:
    """A random-init tiny HPS head over the core, its mean pose from the dataset's train split."""
    import roma

    from pose_search.checkpoint import save_module
    from pose_search.models.catalog import create_model
    from training.tasks.data import load_split

    torch.manual_seed(0)
    head = create_model("hps-head-tiny", rep_dim=representation_size(run, core_run), shape_dim=6)
    poses = torch.as_tensor(load_split(str(dataset), "train", ("pose",))["pose"], dtype=torch.float32)
    head.set_mean_pose(roma.rotvec_to_rotmat(poses.reshape(-1, 22, 3)))
    save_module(run / "best" / "head", "hps-head-tiny", head.config(), head)
    return run


def make_instructions_run(run: Path, core_run: Path) -> Path:
    """A random-init tiny instruction generator over the core, with the text encoder's tokenizer."""
    from pose_search.checkpoint import save_module
    from pose_search.models.catalog import create_model
    from pose_search.models.encoders.tokenizer import TOKENIZER_FILE, TextTokenizer

    torch.manual_seed(0)
    rep_dim = representation_size(run, core_run)
    tok = TextTokenizer.load(run / "representation" / "encoders" / "text" / TOKENIZER_FILE)
    head = create_model("instruction-generator-tiny", tokenizer=tok, rep_dim=rep_dim)
    save_module(run / "best" / "head", "instruction-generator-tiny", head.config(), head)
    return run


def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app(backend: Any, max_file_size: str = "1mb") -> tuple[str, Any]:
    """The UI app over ``backend`` served in this process on a free local port: (URL, app)."""
    from ui.app import build_app, launch

    app = build_app(backend)
    return launch(app, port=free_port(), prevent_thread_lock=True, quiet=True, max_file_size=max_file_size), app
