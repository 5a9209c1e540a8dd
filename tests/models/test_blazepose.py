"""BlazePose image encoder: the worker protocol and process handling (always), and MediaPipe
itself on renders, blank/noise images and real photos (where ``.venv-blazepose`` exists; ``make
test`` builds it with ``make blazepose-env``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pose_search.checkpoint import save_module
from pose_search.models.catalog import create_model, list_models, load_module
from pose_search.models.encoders import blazepose_worker as protocol
from pose_search.models.encoders.blazepose import (
    FEATURE_DIM,
    FEATURE_SLICES,
    LANDMARK_NAMES,
    BlazePoseEncoder,
    BlazePoseEnvError,
    BlazePoseLandmarks,
    PersonNotFound,
    env_python,
    images_to_uint8,
    landmark_features,
)
from pose_search.models.encoders.blazepose_process import (
    WorkerError,
    WorkerProcess,
    WorkerStartError,
)

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"

# A stand-in worker speaking the real protocol (loaded from the worker file, numpy only), with
# failure modes chosen on the command line: no MediaPipe needed.
FAKE_WORKER = textwrap.dedent(r'''
    import importlib.util, os, sys, time
    spec = importlib.util.spec_from_file_location("proto", sys.argv[1])
    proto = importlib.util.module_from_spec(spec); spec.loader.exec_module(proto)
    mode, marker = sys.argv[2], sys.argv[3]
    out = sys.stdout.buffer
    if mode == "die-at-start":
        print("fake: no mediapipe here", file=sys.stderr); sys.exit(3)
    if mode == "garbage":
        out.write(b"a library printing to stdout\n" * 4); out.flush(); time.sleep(60)
    if mode == "slow-start":
        time.sleep(60)
    out.write(proto.encode_message({"ok": True, "ready": True})); out.flush()
    while True:
        message = proto.read_message(sys.stdin.buffer)
        if message is None:
            sys.exit(0)
        header, payload = message
        if mode == "hang":
            time.sleep(60)
        if mode == "crash-always" or (mode == "crash-once" and not os.path.exists(marker)):
            open(marker, "w").close()
            print("fake: crashing now", file=sys.stderr, flush=True)
            os._exit(7)
        if header["op"] == "fail":
            out.write(proto.encode_message({"ok": False, "error": "ValueError: bad request"}))
        else:
            out.write(proto.encode_message({"ok": True, "pid": os.getpid()}, payload[::-1]))
        out.flush()
''')


@pytest.fixture
def fake_worker(tmp_path):
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    made = []

    def make(mode: str, startup_timeout_s: float = 30.0) -> WorkerProcess:
        command = [sys.executable, "-I", str(script), protocol.__file__, mode, str(tmp_path / "crashed")]
        worker = WorkerProcess(command, name="fake worker", startup_timeout_s=startup_timeout_s,
                               hint="\n(build hint)")
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.close()


# ---------------------------------------------------------------- protocol, inputs, features
def test_protocol_round_trip_is_binary_safe():
    import io

    payload = bytes(range(256)) * 3
    stream = io.BytesIO(protocol.encode_message({"op": "detect", "n": 2}, payload)
                        + protocol.encode_message({"op": "ping"}))
    assert protocol.read_message(stream) == ({"op": "detect", "n": 2}, payload)
    assert protocol.read_message(stream) == ({"op": "ping"}, b"")
    assert protocol.read_message(stream) is None  # end of input
    arrays = protocol.empty_result(2)
    back = protocol.from_npz(protocol.to_npz(arrays))
    assert set(back) == set(arrays) and back["image"].shape == (2, 33, 3)
    with pytest.raises(ValueError, match="corrupt"):
        protocol.frame_length(b"\xff\xff\xff\xff")


def test_bad_inputs_raise_value_error_before_any_worker():
    enc = BlazePoseEncoder(env_dir="/nonexistent", cache=False)  # would fail if a worker were started
    for bad in (torch.zeros(2, 256, 192, 3), torch.zeros(3, 256, 192), torch.zeros(2, 1, 256, 192),
                torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 256, 192, dtype=torch.int64),
                torch.full((1, 3, 256, 192), 255.0), torch.full((1, 3, 256, 192), float("nan"))):
        with pytest.raises(ValueError):
            enc(bad)
    with pytest.raises(ValueError, match="one image"):
        enc.landmarks(torch.zeros(2, 3, 256, 192))
    assert enc(torch.zeros(0, 3, 256, 192)).shape == (0, FEATURE_DIM)  # empty batch: no worker


def test_images_to_uint8_layout_and_rounding():
    x = torch.rand(2, 3, 256, 192)
    out = images_to_uint8(x)
    assert out.shape == (2, 256, 192, 3) and out.dtype == np.uint8
    assert np.array_equal(out, (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
    assert np.array_equal(images_to_uint8((x * 255).round().to(torch.uint8)), out)


def test_feature_layout_and_no_person_zeros():
    rng = np.random.default_rng(0)
    lm = BlazePoseLandmarks(found=np.array([True, False]),
                            image=rng.random((2, 33, 3), dtype=np.float32),
                            world=rng.random((2, 33, 3), dtype=np.float32),
                            visibility=rng.random((2, 33), dtype=np.float32),
                            presence=rng.random((2, 33), dtype=np.float32))
    f = landmark_features(lm)
    assert f.shape == (2, FEATURE_DIM) == (2, 265) and f.dtype == np.float32
    assert np.allclose(f[0, FEATURE_SLICES["world"]], lm.world[0].ravel())
    assert np.allclose(f[0, FEATURE_SLICES["image"]], lm.image[0].ravel())
    assert np.allclose(f[0, FEATURE_SLICES["presence"]], lm.presence[0])
    assert f[0, FEATURE_SLICES["found"]][0] == 1.0
    assert not f[1].any()  # no person: all zeros, flag 0
    assert np.allclose(lm.point("left_hip"), lm.world[:, LANDMARK_NAMES.index("left_hip")])


def test_registry_config_and_checkpoint_without_the_environment(tmp_path):
    assert "blazepose" in list_models("encoder.image")
    enc = create_model("blazepose", timeout_s=30.0).freeze()
    assert enc.modality == "image" and not enc.token_output and enc.output_dim == 265
    assert list(enc.parameters()) == [] and not enc.train().training  # frozen: nothing to train
    back = load_module(save_module(tmp_path / "enc", "blazepose", enc.config(), enc))
    assert isinstance(back, BlazePoseEncoder) and back.config() == enc.config()
    with pytest.raises(ValueError, match="only 1"):
        BlazePoseEncoder(model_complexity=0)


def test_missing_environment_is_a_clear_error_on_use(tmp_path, monkeypatch):
    monkeypatch.setenv("POSE_SEARCH_BLAZEPOSE_ENV", str(tmp_path / "no-env"))
    enc = BlazePoseEncoder(cache=False)
    with pytest.raises(BlazePoseEnvError, match="make blazepose-env"):
        enc(torch.zeros(1, 3, 256, 192))


def test_environment_without_mediapipe_is_a_clear_error(tmp_path):
    # an "environment" whose python is ours: numpy 2, no mediapipe
    (tmp_path / "env" / "bin").mkdir(parents=True)
    python = tmp_path / "env" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    enc = BlazePoseEncoder(env_dir=str(tmp_path / "env"), startup_timeout_s=60, cache=False)
    with pytest.raises(BlazePoseEnvError, match=r"(?s)cannot load MediaPipe.*make blazepose-env"):
        enc(torch.zeros(1, 3, 256, 192))


# ---------------------------------------------------------------- the worker process
def test_worker_is_started_lazily_and_reused(fake_worker):
    worker = fake_worker("ok")
    assert worker.pid is None
    header, payload = worker.request({"op": "echo"}, b"abc\x00")
    assert payload == b"\x00cba" and header["pid"] == worker.pid
    assert worker.request({"op": "echo"}, b"")[0]["pid"] == header["pid"] and worker.starts == 1
    with pytest.raises(WorkerError, match="bad request"):  # an error answer; the worker lives on
        worker.request({"op": "fail"})
    assert worker.pid == header["pid"]
    worker.close()
    assert worker.pid is None


def test_worker_dying_mid_request_is_restarted(fake_worker):
    worker = fake_worker("crash-once")
    assert worker.request({"op": "echo"}, b"xy")[1] == b"yx"
    assert worker.starts == 2


def test_worker_dying_on_every_request_reports_its_stderr(fake_worker):
    worker = fake_worker("crash-always")
    with pytest.raises(WorkerError, match=r"(?s)exit code 7.*fake: crashing now"):
        worker.request({"op": "echo"})


def test_worker_failing_to_start_reports_stderr_and_hint(fake_worker):
    with pytest.raises(WorkerStartError, match=r"(?s)exited while starting.*no mediapipe here.*build hint"):
        fake_worker("die-at-start").request({"op": "echo"})


@pytest.mark.parametrize("mode", ["hang", "slow-start", "garbage"])
def test_worker_never_hangs_the_caller(fake_worker, mode):
    worker = fake_worker(mode, startup_timeout_s=2.0)
    t0 = time.monotonic()
    with pytest.raises(WorkerError, match="time limit|protocol error"):
        worker.request({"op": "echo"}, b"x" * (1 << 20), timeout_s=2.0)
    assert time.monotonic() - t0 < 15
    assert worker.pid is None  # stopped, not left running


def test_worker_is_stopped_at_interpreter_exit(tmp_path):
    (tmp_path / "fake_worker.py").write_text(FAKE_WORKER)
    code = textwrap.dedent(f"""
        import sys
        from pose_search.models.encoders.blazepose_process import WorkerProcess
        w = WorkerProcess([sys.executable, "-I", {str(tmp_path / 'fake_worker.py')!r},
                           {protocol.__file__!r}, "ok", "unused"])
        print(w.request({{"op": "echo"}})[0]["pid"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.strip())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its dead parent's reaper) counts as stopped
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


# ---------------------------------------------------------------- MediaPipe itself
@pytest.fixture(scope="module")
def encoder():
    try:
        env_python()
    except BlazePoseEnvError:
        pytest.skip("the BlazePose environment (.venv-blazepose) is not built: run `make "
                    "blazepose-env` (`make test` does)")
    enc = BlazePoseEncoder(cache=False).freeze()  # MediaPipe itself on every call (see the cache's test)
    yield enc
    enc.close()


@pytest.mark.slow
def test_landmarks_on_anny_renders(encoder, tiny_dataset):
    from training.tasks.data import load_split

    images = load_split(str(tiny_dataset), "train", ("image",))["image"]  # (N, 3, 256, 192) uint8
    lm = encoder.detect(images)
    feats = encoder(images[:8])
    assert feats.shape == (8, FEATURE_DIM) and feats.dtype == torch.float32
    assert torch.equal(feats, torch.from_numpy(landmark_features(lm)[:8]))
    assert lm.found.mean() >= 0.75, f"person found in {lm.found.sum()} of {len(images)} renders"
    f = lm.found
    shoulders = (lm.point("left_shoulder", "image") + lm.point("right_shoulder", "image"))[f] / 2
    hips = (lm.point("left_hip", "image") + lm.point("right_hip", "image"))[f] / 2
    # most renders are upright-ish bodies: shoulders above hips (image y grows downwards)
    assert (shoulders[:, 1] < hips[:, 1]).mean() >= 0.7
    # world coordinates: metres, origin between the hips, a human shoulder width
    mid_hip = (lm.point("left_hip") + lm.point("right_hip"))[f] / 2
    assert np.abs(mid_hip).max() < 0.05
    width = np.linalg.norm(lm.point("left_shoulder") - lm.point("right_shoulder"), axis=1)[f]
    assert 0.15 < np.median(width) < 0.6
    assert ((lm.visibility >= 0) & (lm.visibility <= 1)).all()
    # float input gives the same result; results do not depend on the batch order
    assert torch.equal(encoder(images[:4].float() / 255.0), feats[:4])
    assert torch.equal(encoder(images[:4].flip(0)), feats[:4].flip(0))


@pytest.mark.slow
def test_two_worker_processes_give_the_same_features(encoder, tiny_dataset):
    from training.tasks.data import load_split

    images = load_split(str(tiny_dataset), "train", ("image",))["image"][:20]
    one = BlazePoseEncoder(cache=False, processes=1, batch_size=4).freeze()
    two = BlazePoseEncoder(cache=False, processes=2, batch_size=4).freeze()
    try:
        assert torch.equal(two(images), one(images))  # 5 chunks over 2 processes, back in order
        assert len(two._workers) == 2 and len({w.pid for w in two._workers}) == 2 and len(one._workers) == 1
    finally:
        one.close()
        two.close()
    with pytest.raises(ValueError, match="must be positive"):
        BlazePoseEncoder(processes=0)


def test_no_person_on_blank_and_noise(encoder):
    rng = np.random.default_rng(0)
    images = torch.stack([torch.zeros(3, 256, 192, dtype=torch.uint8),
                          torch.full((3, 256, 192), 200, dtype=torch.uint8),
                          torch.from_numpy(rng.integers(0, 256, (3, 256, 192), dtype=np.uint8))])
    feats = encoder(images)
    assert feats.shape == (3, FEATURE_DIM) and not feats.any()
    with pytest.raises(PersonNotFound, match="no person"):
        encoder.landmarks(images[0])


def test_killed_worker_is_restarted(encoder):
    image = torch.zeros(1, 3, 256, 192)
    encoder(image)
    pid, starts = encoder.worker.pid, encoder.worker.starts
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert not encoder(image).any()
    assert encoder.worker.pid not in (None, pid) and encoder.worker.starts == starts + 1


def _photo(name: str) -> torch.Tensor:
    with Image.open(PHOTOS / name) as im:
        return torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1)  # own resolution


def _xy(lm: BlazePoseLandmarks, name: str) -> np.ndarray:
    return lm.point(name, "image")[0, :2]


@pytest.mark.parametrize("name", ["astronaut.jpg", "grace_hopper.jpg"])
def test_photo_portraits_upright_facing_the_camera(encoder, name):
    lm = encoder.landmarks(_photo(name))  # PersonNotFound would fail the test
    nose, ls, rs = _xy(lm, "nose"), _xy(lm, "left_shoulder"), _xy(lm, "right_shoulder")
    assert nose[1] < min(ls[1], rs[1])  # upright: nose above both shoulders
    assert ls[0] > rs[0]  # facing the camera: the person's left shoulder on the image's right
    assert abs(ls[1] - rs[1]) < 0.1  # shoulders level
    if name == "astronaut.jpg":  # arms down
        assert _xy(lm, "left_elbow")[1] > ls[1] and _xy(lm, "right_elbow")[1] > rs[1]


def test_photo_cameraman_hands_raised_facing_right(encoder):
    lm = encoder.landmarks(_photo("camera.png"))
    shoulders_x = max(_xy(lm, "left_shoulder")[0], _xy(lm, "right_shoulder")[0])
    assert _xy(lm, "nose")[0] > shoulders_x  # facing the image's right
    for side in ("left", "right"):
        wrist, elbow = _xy(lm, f"{side}_wrist"), _xy(lm, f"{side}_elbow")
        assert wrist[0] > shoulders_x and wrist[1] < elbow[1]  # hands raised in front


def test_forked_child_starts_its_own_worker(tmp_path):
    # in a fresh interpreter: forking this test process (threads of torch, lance) is not safe
    (tmp_path / "fake_worker.py").write_text(FAKE_WORKER)
    code = textwrap.dedent(f"""
        import os, sys
        from pose_search.models.encoders.blazepose_process import WorkerProcess
        w = WorkerProcess([sys.executable, "-I", {str(tmp_path / 'fake_worker.py')!r},
                           {protocol.__file__!r}, "ok", "unused"])
        pid = lambda: w.request({{"op": "echo"}})[0]["pid"]
        parent = pid()
        r, wr = os.pipe()
        child = os.fork()
        if child == 0:
            os.write(wr, str(pid()).encode()); w.close(); os._exit(0)
        os.waitpid(child, 0)
        print(parent, int(os.read(r, 64)), pid())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    parent, in_child, parent_after = map(int, out.stdout.split())
    assert in_child != parent and parent_after == parent  # the parent's worker is untouched


def test_result_cache_answers_images_met_before(encoder, tiny_dataset, tmp_path, monkeypatch):
    """Results by image content: the same pixels again are a lookup (even in another process or
    after the worker died), equal to MediaPipe's answer; other settings do not share entries."""
    from pose_search.models.encoders.blazepose import landmarks_from_features
    from training.tasks.data import load_split

    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path / "cache"))
    images = load_split(str(tiny_dataset), "train", ("image",))["image"][:6]
    direct = encoder(images)
    cached = BlazePoseEncoder().freeze()
    try:
        assert torch.equal(cached(images[:4]), direct[:4]) and len(cached.results) == 4
        os.kill(cached.worker.pid, signal.SIGKILL)  # answers from the cache need no worker
        starts = cached.worker.starts
        assert torch.equal(cached(images[:4].flip(0)), direct[:4].flip(0)) and cached.worker.starts == starts
        assert torch.equal(cached(images), direct) and len(cached.results) == 6  # 2 new ones computed
        fresh = BlazePoseEncoder(env_dir="/nonexistent")  # another process's view: no worker needed
        assert torch.equal(fresh(images), direct)
        other = BlazePoseEncoder(env_dir="/nonexistent", min_detection_confidence=0.7)
        with pytest.raises(BlazePoseEnvError):  # not the same settings: not the same entries
            other(images[:1])
        lm = cached.detect(images)
        assert np.array_equal(landmark_features(landmarks_from_features(direct.numpy())), direct.numpy())
        assert np.array_equal(lm.found, direct[:, -1].numpy() > 0.5)
    finally:
        cached.close()
    for f in (tmp_path / "cache" / "blazepose").iterdir():  # the database and its write-ahead log
        f.unlink()
    (tmp_path / "cache" / "blazepose" / "results.sqlite").write_bytes(b"not a database" * 100)
    broken = BlazePoseEncoder(env_dir="/nonexistent")
    with pytest.raises(BlazePoseEnvError):  # an unusable cache is skipped, not an error of its own
        broken(images[:1])


# ---------------------------------------------------------------- as a core's image modality
@pytest.mark.slow
def test_core_on_blazepose_features_and_a_photo_query(encoder, tmp_path, tiny_dataset, tiny_encoders):
    """`train core --image-encoder blazepose`'s driver side (config-only checkpoint, features
    through the worker), then the run as a model: a real photo at its own size is a query."""
    from pose_search.models.encoders.image_files import load_query_image
    from pose_search.models.features import load_features
    from pose_search.runs import load_model
    from tests.tiny import make_core_run
    from training.driver import TrainConfig
    from training.tasks.core import CoreTask

    run = tmp_path / "run"
    cfg = TrainConfig(task="core", run_dir=str(run), data=str(tiny_dataset), epochs=1, batch_size=8,
                      task_options={"image_encoder": "blazepose", "pose_encoder": str(tiny_encoders["pose"])})
    CoreTask(cfg).prepare()
    saved = load_module(run / "encoders" / "image")
    assert type(saved).__name__ == "BlazePoseEncoder" and not list(saved.parameters())
    feats = load_features(run / "features" / "train.safetensors")
    assert feats["image"].shape == (36, FEATURE_DIM) and feats["image"][:, -1].mean() >= 0.75  # found
    assert CoreTask(cfg).prepare() is None  # again: nothing recomputed, nothing refused

    make_core_run(tmp_path / "model", {"image": run / "encoders" / "image", "pose": tiny_encoders["pose"]})
    model = load_model(tmp_path / "model")
    assert model.image_any_size
    photo = load_query_image(PHOTOS / "camera.png", fit=False)  # the cameraman: lost in the crop fit
    assert photo.shape == (3, 512, 512)
    whole, fitted = model.features(images=[photo])["image"], model.features(images=load_query_image(
        PHOTOS / "camera.png")[None])["image"]
    assert whole[0, -1] == 1.0 and fitted[0, -1] == 0.0  # found at its own size only
    q = model.query("pose", images=[photo, load_query_image(PHOTOS / "astronaut.jpg", fit=False)])
    assert q.shape[0] == 2 and torch.allclose(q.norm(dim=1), torch.ones(2), atol=1e-4)
    # the photo as a pose query: the cameraman stands, his head above his pelvis above his ankles
    from pose_search.body.skeleton import forward_kinematics

    pose = model.photo_poses([photo])
    assert pose.shape == (1, 22, 3)
    j = forward_kinematics(pose)[0]
    assert j[15, 1] > j[0, 1] + 0.3 and j[7, 1] < j[4, 1] < j[0, 1] and j[8, 1] < j[5, 1] < j[0, 1]
