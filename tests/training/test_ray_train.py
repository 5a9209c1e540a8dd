"""Ray Train: 2 DDP workers, checkpoints every epoch, a killed run resumes to the same end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from tests.processes import kill_ray_instance, run_together

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CORE = {"latent_dim": 32, "core_width": 16, "core_heads": 2, "core_ffn": 32}


def _cmd(run_dir, data, encoders, epochs):
    return [sys.executable, "-m", "pose_search_app", "train", "core", "--data", str(data), "--run", str(run_dir),
            "--epochs", str(epochs), "--batch-size", "8", "--workers", "2", "--lr", "1e-3",
            "--pose-encoder", str(encoders["pose"]), "--image-encoder", str(encoders["image"]),
            "--text-encoder", str(encoders["text"]), "--set", f"model_config={json.dumps(CORE)}"]


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_killed_run_resumes_and_ends_like_an_uninterrupted_one(tmp_path, tiny_dataset, tiny_encoders):
    epochs = 6  # killed after 3: enough epochs left that the kill lands mid-run
    # each run its own Ray temp dir (short: Unix socket paths), apart from any other Ray instance here
    ray_tmp, reference_tmp = (tempfile.mkdtemp(prefix="rk", dir="/tmp") for _ in range(2))
    env = {**os.environ, "RAY_DEDUP_LOGS": "0", "RAY_TMPDIR": ray_tmp}
    # the uninterrupted reference runs alongside the killed run and its resume, so that the runs'
    # start-ups overlap: its own session, Ray instance and cache (the runs would otherwise write the
    # same shared feature cache at the same time)
    reference, reference_log = tmp_path / "reference", tmp_path / "reference.stderr"
    reference_env = {**env, "RAY_TMPDIR": reference_tmp, "POSE_SEARCH_CACHE": str(tmp_path / "reference-cache")}
    with open(reference_log, "w") as log:
        ref = subprocess.Popen(_cmd(reference, tiny_dataset, tiny_encoders, epochs), stdout=subprocess.DEVNULL,
                               stderr=log, env=reference_env, start_new_session=True)
    try:
        killed = tmp_path / "killed"
        proc = subprocess.Popen(_cmd(killed, tiny_dataset, tiny_encoders, epochs), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.time() + 300
        while time.time() < deadline:
            path = killed / "metrics.jsonl"
            if path.exists() and len(path.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the driver, its Ray cluster and the workers
        proc.wait()
        done_before = len(_metrics(killed))
        assert 3 <= done_before < epochs, "the run was not interrupted mid-way"
        # anything of that Ray instance still alive (it was killed, not shut down); never `ray stop`,
        # which would also kill every other Ray instance on the machine
        kill_ray_instance(proc.pid, ray_tmp)

        r = subprocess.run(_cmd(killed, tiny_dataset, tiny_encoders, epochs), capture_output=True, text=True,
                           timeout=600, env=env)
        assert r.returncode == 0, r.stderr[-3000:]
        assert ref.wait(timeout=600) == 0, reference_log.read_text()[-3000:]
    finally:
        if ref.poll() is None:  # a failure above: the reference run and its Ray instance go too
            os.killpg(ref.pid, signal.SIGKILL)
            ref.wait()
            kill_ray_instance(ref.pid, reference_tmp)
    a, b = _metrics(reference), _metrics(killed)
    assert [m["epoch"] for m in b] == list(range(1, epochs + 1))  # one row per epoch, none repeated
    assert b[-1]["train/loss"] == pytest.approx(a[-1]["train/loss"], rel=1e-3, abs=1e-4)
    assert b[-1]["val/mRecall"] == pytest.approx(a[-1]["val/mRecall"], abs=1e-6)
    assert (killed / "best" / "core" / "model.safetensors").exists()
    assert (killed / "curves.png").exists()
    for tmp in (ray_tmp, reference_tmp):
        shutil.rmtree(tmp, ignore_errors=True)


def test_bad_config_fails_before_any_work(tmp_path, tiny_dataset):
    cli = [sys.executable, "-m", "pose_search_app", "train"]
    # three independent processes, run together (their start-ups overlap)
    missing, unknown_option, unknown_task, bad_patience = run_together([
        [*cli, "core", "--data", str(tiny_dataset), "--run", str(tmp_path / "r"), "--pose-encoder",
         str(tmp_path / "nope"), "--text-encoder", str(tmp_path / "nope2")],
        [*cli, "core", "--run", str(tmp_path / "r"), "--set", "modle=x"],
        [*cli, "nonsense", "--run", str(tmp_path / "r")],
        [*cli, "core", "--run", str(tmp_path / "r"), "--patience", "-1"],
    ], timeout=300)
    assert missing.returncode == 2 and "neither an encoder checkpoint nor a run directory" in missing.stderr
    assert unknown_option.returncode == 2 and "unknown options ['modle']" in unknown_option.stderr
    assert unknown_task.returncode == 2 and "unknown task 'nonsense'" in unknown_task.stderr
    assert bad_patience.returncode == 2 and "patience -1" in bad_patience.stderr


def test_patience_stops_a_run_that_no_longer_improves_and_a_resume_keeps_it_stopped(tmp_path, tiny_dataset,
                                                                                    tiny_encoders):
    import ray

    from training.driver import TrainConfig, fit

    run = tmp_path / "run"

    def train(patience: int) -> None:  # in this process: Ray starts once for the three runs
        # a learning rate too small to move a float32 weight: the validation score of epoch 1 stays the best
        fit(TrainConfig(task="core", run_dir=str(run), data=str(tiny_dataset), epochs=8, batch_size=8, lr=1e-12,
                        patience=patience, task_options={"model": "core", "model_config": CORE, **{
                            f"{m}_encoder": str(path) for m, path in tiny_encoders.items()}}))

    try:
        train(2)
        rows = _metrics(run)
        assert [r["epoch"] for r in rows] == [1, 2, 3]  # epochs 2 and 3 did not beat epoch 1
        assert "best: epoch 1" in rows[-1]["stopped"] and "stopped" not in rows[1]
        train(2)  # resumes: nothing left to try
        assert len(_metrics(run)) == 3
        train(4)  # more patience: training goes on from epoch 3
        assert [r["epoch"] for r in _metrics(run)] == [1, 2, 3, 4, 5]
    finally:
        ray.shutdown()
    assert json.loads((run / "run.json").read_text())["patience"] == 4  # (`--patience` of `pose-search train`)
