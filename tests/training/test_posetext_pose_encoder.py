"""A PoseText run gives the core two frozen encoders: its text tower and its pose trunk."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pose_search.models.catalog import create_model, load_module
from pose_search.models.encoders.pose_vae import PoseEncoder
from training.driver import TrainConfig
from training.tasks.core import CoreTask
from training.tasks.data import load_split
from training.tasks.posetext import PoseTextTask

TEXT = {"out_dim": 32, "topping_ffn": 64}


@pytest.fixture(scope="module")
def posetext_run(tmp_path_factory, tiny_dataset):
    """A PoseText run directory with ``best/`` exported the way training exports it."""
    torch.manual_seed(0)
    model = create_model("posetext-tiny", text_model="pretrained", text=TEXT).eval()
    for p in model.pose.trunk.parameters():  # not the initial weights: a copy must carry these
        p.data.normal_()
    run = tmp_path_factory.mktemp("posetext")
    task = PoseTextTask(TrainConfig(task="posetext", run_dir=str(run), data=str(tiny_dataset), epochs=1,
                                    task_options={"model": "posetext-tiny", "model_config": {"text": TEXT}}))
    task.export(model, run / "best", {"val/loss": 1.0})
    return run, model


def test_pose_encoder_is_the_pose_towers_trunk(posetext_run):
    run, model = posetext_run
    encoder = load_module(run / "best" / "pose_encoder")
    assert isinstance(encoder, PoseEncoder) and encoder.modality == "pose"
    pose = torch.randn(5, 22, 3) * 0.3
    with torch.no_grad():
        torch.testing.assert_close(encoder.eval()(pose), model.pose.trunk(pose))
    assert load_module(run / "best" / "encoder").modality == "text"  # the text tower is unchanged


def test_core_takes_both_encoders_from_one_posetext_run(posetext_run, tiny_dataset, tmp_path):
    """``--pose-encoder RUN --text-encoder RUN``: each modality finds its own export in the run."""
    from pose_search.models.features import load_features

    run, model = posetext_run
    core = tmp_path / "core"
    cfg = TrainConfig(task="core", run_dir=str(core), data=str(tiny_dataset), epochs=1, batch_size=8,
                      task_options={"pose_encoder": str(run), "text_encoder": str(run)})
    CoreTask(cfg).prepare()
    assert load_module(core / "encoders" / "pose").modality == "pose"
    assert load_module(core / "encoders" / "text").modality == "text"
    feats = load_features(core / "features" / "train.safetensors")
    poses = torch.from_numpy(np.asarray(load_split(str(tiny_dataset), "train", ("pose",))["pose"]))
    with torch.no_grad():
        expected = model.pose.trunk(poses).numpy()
    np.testing.assert_allclose(feats["pose"].astype(np.float32), expected, rtol=1e-2, atol=1e-2)


def test_a_run_without_the_modalitys_export_is_refused(posetext_run, tiny_dataset, tmp_path):
    run, _ = posetext_run
    cfg = TrainConfig(task="core", run_dir=str(tmp_path / "core"), data=str(tiny_dataset), epochs=1,
                      task_options={"pose_encoder": str(run / "best" / "model"), "text_encoder": str(run)})
    with pytest.raises(ValueError, match="not a pose encoder"):
        CoreTask(cfg).prepare()
