"""HPS head: the model, its losses and metrics on hand-checked cases, training through Ray Train,
the image -> mesh pipeline, the CLI and its bad inputs."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import roma
import torch

from pose_search.metrics.hps import point_errors, rotation_error_deg
from pose_search.models.catalog import create_model
from pose_search.models.heads.hps import from_6d, hps_loss, rotation_average, to_6d
from tests.processes import Together


def test_6d_round_trip_and_rotation_average():
    r = roma.random_rotmat((5, 22))
    torch.testing.assert_close(from_6d(to_6d(r).reshape(5, -1)), r, atol=1e-5, rtol=0)
    axis = torch.tensor([0.0, 1.0, 0.0])
    a, b = roma.rotvec_to_rotmat(0.3 * axis), roma.rotvec_to_rotmat(-0.3 * axis)
    mean = rotation_average(torch.stack([a, b])[:, None])  # (2, 1, 3, 3) -> (1, 3, 3)
    torch.testing.assert_close(mean[0], torch.eye(3), atol=1e-6, rtol=0)
    three = rotation_average(torch.stack([a, a, a])[:, None])
    torch.testing.assert_close(three[0], a, atol=1e-6, rtol=0)


def test_head_starts_from_the_mean_pose_and_learns():
    torch.manual_seed(0)
    head = create_model("hps-head-tiny", shape_dim=6, dropout=0.0)
    gt = roma.rotvec_to_rotmat(0.4 * torch.randn(16, 22, 3))
    head.set_mean_pose(gt)
    with torch.no_grad():
        head.mlp[-1].weight.zero_()
        out = head(torch.randn(3, 32))
    torch.testing.assert_close(out.rotmats, rotation_average(gt).expand(3, -1, -1, -1), atol=1e-5, rtol=0)
    assert out.pose.shape == (3, 22, 3) and out.shape.shape == (3, 6)

    torch.manual_seed(0)
    head = create_model("hps-head-tiny", shape_dim=6, dropout=0.0)
    head.set_mean_pose(gt)
    x, shape = torch.randn(16, 32), torch.rand(16, 6)
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        terms = hps_loss(head(x), gt, shape)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(float(terms["loss"]))
    assert set(terms) == {"rotation", "shape", "joints", "loss"}
    assert losses[-1] < 0.5 * losses[0], losses[::10]


def test_errors_on_hand_checked_cases():
    gt = torch.randn(4, 22, 3)
    m = point_errors(gt + torch.tensor([0.01, 0.0, 0.0]), gt)  # 1 cm shift everywhere
    assert m["mpjpe_mm"] == pytest.approx(10.0, abs=1e-3) and m["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-3)
    R = roma.random_rotmat(4)
    m = point_errors(1.3 * gt @ R.transpose(-1, -2) + 0.5, gt)  # a similarity: PA removes it
    assert m["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-2) and m["mpjpe_mm"] > 100
    pose = torch.zeros(2, 22, 3)
    other = pose.clone()
    other[:, 5] = torch.tensor([0.0, math.pi / 2, 0.0])  # one joint of 22 off by 90 degrees
    assert rotation_error_deg(other, pose) == pytest.approx(90 / 22, abs=1e-3)


@pytest.mark.ray
@pytest.mark.slow
def test_train_hps_then_mesh_and_eval(tmp_path, tiny_core_run, tiny_dataset):
    from pose_search.models.heads.hps_pipeline import HPSPipeline, evaluate_hps
    from pose_search.runs import load_model
    from training.driver import TrainConfig, fit

    run = tmp_path / "hps"
    fit(TrainConfig(task="hps", run_dir=str(run), data=str(tiny_dataset), epochs=2, batch_size=8, lr=1e-3,
                    task_options={"core": str(tiny_core_run), "model": "hps-head-tiny"}))
    # the CLI: image -> mesh + parameters, and two bad inputs; three independent processes started
    # now, together: they start up while this process evaluates the run
    from PIL import Image

    img = tmp_path / "person.png"
    Image.fromarray((np.random.default_rng(0).random((256, 192, 3)) * 255).astype(np.uint8)).save(img)
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    cli = [sys.executable, "-m", "pose_search_app", "mesh"]
    with Together([
        [*cli, "--model", str(run), "--image", str(img), "--text", "the left knee is bent",
         "--out", str(tmp_path / "body.glb")],
        [*cli, "--model", str(run), "--image", str(bad), "--out", str(tmp_path / "x.glb")],
        [*cli, "--model", str(tiny_core_run), "--image", str(img), "--out", str(tmp_path / "y.glb")],
    ]) as children:
        lines = (run / "metrics.jsonl").read_text().splitlines()
        assert len(lines) == 2 and "val/mpjpe_mm" in json.loads(lines[-1])
        pipe = load_model(run)
        assert isinstance(pipe, HPSPipeline)
        report = evaluate_hps(pipe, tiny_dataset, "val", progress=False)
        assert report["rows"] == 12 and {"image", "text", "image+text"} <= set(report)
        for name in ("image", "text", "image+text"):
            assert 0 < report[name]["mpjpe_mm"] < 2000 and report[name]["pa_mpjpe_mm"] <= report[name]["mpjpe_mm"] + 1e-6
            assert report[name]["v2v_mm"] > 0
        mesh_run, not_an_image, not_hps = children.results(timeout=300)
    r = mesh_run
    assert r.returncode == 0, r.stderr
    import trimesh

    mesh = trimesh.load(tmp_path / "body.glb", force="mesh")
    assert len(mesh.vertices) > 1000
    params = np.load(tmp_path / "body.npz")
    assert params["pose"].shape == (22, 3) and params["shape"].shape == (6,)
    r = not_an_image
    assert r.returncode == 2 and "Traceback" not in r.stderr and "notes.txt" in r.stderr
    r = not_hps
    assert r.returncode == 2 and "not an HPS run" in r.stderr


def test_hps_training_without_a_core_fails_before_work(tmp_path, tiny_dataset):
    from training.driver import TrainConfig, fit

    with pytest.raises(ValueError, match="core=RUN"):
        fit(TrainConfig(task="hps", run_dir=str(tmp_path / "r"), data=str(tiny_dataset), epochs=1))
