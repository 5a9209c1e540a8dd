"""`pose-search demo` builds the whole embedded default (data -> encoders -> core -> heads ->
index) into a bundle the UI serves, and a second run reuses it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pose_search.data.store import read_manifest
from pose_search_app.build import resolve_image_encoder

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"


@pytest.mark.slow
@pytest.mark.ray
def test_demo_builds_every_stage_then_reuses(tmp_path):
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "pose_search_app", "demo", "--out", str(out), "--poses", "40", "--workers", "1",
           "--build-only"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    image_encoder = resolve_image_encoder("auto")  # BlazePose where `make test` built its environment
    assert "about" in r.stdout and "left" in r.stdout  # the time-left estimate is shown
    # the stages and their progress bars, not the libraries' lines (those need --verbose)
    assert "  core: 100%" in r.stderr and "epoch" in r.stderr
    output = r.stdout + r.stderr
    # (Warp's native "CUDA driver not found" warning, printed by its C++ library, cannot be turned off)
    for chatter in ("RayTrainWorker", "TrainController", "initialized:", "INFO ", "Checkpoint successfully"):
        assert chatter not in output, chatter
    bundle = json.loads((out / "bundle.json").read_text())
    assert read_manifest(out / bundle["data"])["counts"]["poses"] == 40
    assert read_manifest(out / bundle["pairs"])["counts"]["pairs"] > 0
    trained = ["posetext"] + (["image"] if image_encoder == "cnn" else [])
    for run in (*trained, "core", bundle["hps"].split("/")[-1], bundle["instructions"].split("/")[-1]):
        assert (out / "runs" / run / "best").is_dir(), run
    state = json.loads((out / "build.json").read_text())
    assert list(state["stages"]) == ["data", "pairs", *trained, "core", "hps", "instructions", "index"]
    assert state["image_encoder"] == image_encoder

    def second_run() -> tuple[subprocess.CompletedProcess, float]:
        start = time.perf_counter()  # everything is built: only checks, no stage runs
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600), time.perf_counter() - start

    # the second run (it only reads the bundle) goes on in a thread while this process uses the bundle
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(second_run)
        from indexing.service import SearchService

        service = SearchService(out / bundle["index"])
        assert service.rows == 40
        hits = service.search(text="the person raises both arms", target="pose", k=5)
        assert len(hits) == 5 and len({h.id for h in hits}) == 5
        assert service.model.image_any_size == (image_encoder == "blazepose")
        photo = service.search(image=str(PHOTOS / "astronaut.jpg"), target="pose", k=5)  # a real photo
        assert len({h.id for h in photo}) == 5
        from ui.backend import UIBackend  # the UI's path for uploads: the same service, the heads

        backend = UIBackend(out / bundle["index"], hps_run=out / bundle["hps"],
                            instructions_run=out / bundle["instructions"], data_dir=out / bundle["data"])
        try:
            upload = (PHOTOS / "astronaut.jpg").read_bytes()
            assert [c.id for c in backend.search(image=upload, k=5)] == [h.id for h in photo]
            assert backend.recover_mesh(image=upload).mesh.stat().st_size > 1000
        finally:
            backend.close()
        r, seconds = second.result()
    assert r.returncode == 0, r.stderr[-2000:]
    assert seconds < 60 and "[1/" not in r.stdout


def test_demo_refuses_bad_sizes_and_foreign_folders(tmp_path):
    from pose_search_app.build import clear, scale_for

    with pytest.raises(ValueError, match="--poses 10"):
        scale_for("small", 10)
    with pytest.raises(ValueError, match="--size 'huge'"):
        scale_for("huge")
    assert scale_for("small", 60).core_epochs == 2  # smoke-test sizes train briefly
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a demo folder"):
        clear(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").exists()


def test_demo_image_encoder_choice(tmp_path, monkeypatch):
    from pose_search.models.encoders.blazepose import BlazePoseEnvError
    from pose_search_app.build import DemoBuilder, scale_for

    monkeypatch.setenv("POSE_SEARCH_BLAZEPOSE_ENV", str(tmp_path / "no-env"))
    assert resolve_image_encoder("auto") == "cnn" and resolve_image_encoder("cnn") == "cnn"
    with pytest.raises(BlazePoseEnvError, match="make blazepose-env"):
        resolve_image_encoder("blazepose")
    with pytest.raises(ValueError, match="--image-encoder 'vit'"):
        resolve_image_encoder("vit")
    scale = scale_for("small", 60)
    blaze = DemoBuilder(tmp_path / "demo", scale, image_encoder="blazepose")
    assert [n for n, _, _ in blaze.stages()] == ["data", "pairs", "posetext", "core", "hps",
                                                  "instructions", "index"]
    (tmp_path / "demo").mkdir()
    blaze._save_state(blaze._state())
    with pytest.raises(ValueError, match="built with the blazepose image encoder, not cnn"):
        DemoBuilder(tmp_path / "demo", scale, image_encoder="cnn")._state()
    from pose_search_app.build import built_image_encoder

    assert built_image_encoder(tmp_path / "demo") == "blazepose"  # what `--image-encoder auto` keeps
    assert built_image_encoder(tmp_path / "nothing") is None


def test_epoch_bar_follows_the_metrics_file(tmp_path, capsys):
    from pose_search_app.progress import epoch_bar

    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n')  # a resumed run: one epoch done
    with epoch_bar(tmp_path, 3, "  core"):
        time.sleep(0.7)
        with (tmp_path / "metrics.jsonl").open("a") as f:
            f.write('{"epoch": 2}\n{"epoch": 3}\n')  # the last lines land just before training returns
    err = capsys.readouterr().err
    assert "1/3" in err and "3/3" in err
