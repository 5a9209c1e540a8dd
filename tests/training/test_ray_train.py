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

from tests.processes import kill_ray_instance

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CORE = {"latent_dim": 32, "core_width": 16, "core_heads": 2, "core_ffn": 32}


def _cmd(run_dir, data, encoders, epochs):
    return [sys.executable, "-m", "pose_search", "train", "core", "--data", str(data), "--run", str(run_dir),
            "--epochs", str(epochs), "--batch-size", "8", "--workers", "2", "--lr", "1e-3",
            "--pose-encoder", str(encoders["pose"]), "--image-encoder", str(encoders["image"]),
            "--text-encoder", str(encoders["text"]), "--set", f"model_config={json.dumps(CORE)}"]


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_killed_run_resumes_and_ends_like_an_uninterrupted_one(tmp_path, tiny_dataset, tiny_encoders):
    epochs = 8  # killed after 3: enough epochs left that the kill lands mid-run
    # its own Ray temp dir (short: Unix socket paths), apart from any other Ray instance here
    ray_tmp = tempfile.mkdtemp(prefix="rk", dir="/tmp")
    env = {**os.environ, "RAY_DEDUP_LOGS": "0", "RAY_TMPDIR": ray_tmp}
    reference = tmp_path / "reference"
    r = subprocess.run(_cmd(reference, tiny_dataset, tiny_encoders, epochs), capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]

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
    a, b = _metrics(reference), _metrics(killed)
    assert [m["epoch"] for m in b] == list(range(1, epochs + 1))  # one row per epoch, none repeated
    assert b[-1]["train/loss"] == pytest.approx(a[-1]["train/loss"], rel=1e-3, abs=1e-4)
    assert b[-1]["val/mRecall"] == pytest.approx(a[-1]["val/mRecall"], abs=1e-6)
    assert (killed / "best" / "core" / "model.safetensors").exists()
    assert (killed / "curves.png").exists()
    shutil.rmtree(ray_tmp, ignore_errors=True)


def test_bad_config_fails_before_any_work(tmp_path, tiny_dataset):
    r = subprocess.run([sys.executable, "-m", "pose_search", "train", "core", "--data", str(tiny_dataset),
                        "--run", str(tmp_path / "r"), "--pose-encoder", str(tmp_path / "nope"),
                        "--text-encoder", str(tmp_path / "nope2")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "neither an encoder checkpoint nor a run directory" in r.stderr
    r = subprocess.run([sys.executable, "-m", "pose_search", "train", "core", "--run", str(tmp_path / "r"),
                        "--set", "modle=x"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "unknown options ['modle']" in r.stderr
    r = subprocess.run([sys.executable, "-m", "pose_search", "train", "nonsense", "--run", str(tmp_path / "r")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "unknown task 'nonsense'" in r.stderr
