"""UI fixtures: random-init tiny HPS and instruction runs (the run-dir layout training leaves),
a backend over the tiny index, and the app served on a free local port."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch


def _representation(run: Path, core_run: Path) -> int:
    """Copy the core run into ``run/representation`` as training does; its representation size."""
    from pose_search.api import copy_model, load_model, model_files

    rep = load_model(copy_model(model_files(core_run), run / "representation"))
    return int(rep.representation(texts=["a pose"]).shape[1])


@pytest.fixture(scope="session")
def tiny_hps_run(tmp_path_factory, tiny_core_run, tiny_dataset) -> Path:
    import roma

    from pose_search.checkpoint import save_module
    from pose_search.models.registry import create_model
    from training.tasks.data import load_split

    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("hps_run")
    head = create_model("hps-head-tiny", rep_dim=_representation(run, tiny_core_run), shape_dim=6)
    poses = torch.as_tensor(load_split(str(tiny_dataset), "train", ("pose",))["pose"], dtype=torch.float32)
    head.set_mean_pose(roma.rotvec_to_rotmat(poses.reshape(-1, 22, 3)))
    save_module(run / "best" / "head", "hps-head-tiny", head.config(), head)
    return run


@pytest.fixture(scope="session")
def tiny_instructions_run(tmp_path_factory, tiny_core_run) -> Path:
    from pose_search.checkpoint import save_module
    from pose_search.models.encoders.tokenizer import TOKENIZER_FILE, TextTokenizer
    from pose_search.models.registry import create_model

    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("instructions_run")
    rep_dim = _representation(run, tiny_core_run)
    tok = TextTokenizer.load(run / "representation" / "encoders" / "text" / TOKENIZER_FILE)
    head = create_model("instruction-generator-tiny", tokenizer=tok, rep_dim=rep_dim)
    save_module(run / "best" / "head", "instruction-generator-tiny", head.config(), head)
    return run


@pytest.fixture(scope="session")
def backend(tiny_index, tiny_hps_run, tiny_instructions_run, tiny_dataset):
    from ui.backend import BackendConfig, UIBackend

    # batching on (off is the CPU default) so the tests cover the batched path too
    b = UIBackend(tiny_index, hps_run=tiny_hps_run, instructions_run=tiny_instructions_run, data_dir=tiny_dataset,
                  config=BackendConfig(batching=True))
    yield b
    b.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(backend):
    """The app served in-process on a free local port; its URL."""
    from ui.app import build_app, launch

    app = build_app(backend)
    url = launch(app, port=free_port(), prevent_thread_lock=True, quiet=True, max_file_size="1mb")
    yield url
    app.close()


@pytest.fixture(scope="session")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False, download_files=False)
