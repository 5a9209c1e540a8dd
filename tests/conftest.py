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
# Ray Train's controller collects each worker's report of an epoch when it polls them, every 2 s by
# default, and a worker's next report waits for that (a one-slot queue): an epoch of the tiny test
# models (well under a second) took 2 s, and every run waited up to 2 s more to end. Polling more
# often only shortens those waits (the processes here and the children started with this
# environment: Ray passes the variable on to its controller and workers).
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")

# ---- Ray only in tests marked `ray`, and those one at a time
# `make test` runs two pytest-xdist workers. Two Ray instances on one machine are not independent:
# `ray.init()` without an address joins the cluster `ray start` recorded, and finds "multiple
# active Ray instances" when several run. So every test that starts Ray (in-process or in a child
# process) carries the `ray` marker, and the marked tests share one xdist group: one worker runs
# them one after another, while the other runs the rest. Tests that use the shared Ray-built index
# are marked here; any other unmarked test that starts Ray fails at once: RAY_ADDRESS (which Ray
# reads first, children inherit it) is set to a value that is no address while it runs.
RAY_FIXTURES = ("tiny_index",)  # session fixtures built with Ray Data (and all that use them)
NO_RAY = "no-address:this-test-lacks-the-ray-marker"


def pytest_itemcollected(item):
    # here, before pytest_collection_modifyitems, where xdist reads the groups
    if any(name in item.fixturenames for name in RAY_FIXTURES):
        item.add_marker(pytest.mark.ray)
    if item.get_closest_marker("ray") is not None:
        item.add_marker(pytest.mark.xdist_group("ray"))


def pytest_collection_finish(session):
    """On an xdist worker with ``--dist loadgroup``: the Ray tests really are one group. xdist
    carries the group in the test's id (``...@ray``); pytest 9.2 ignores that (pytest-xdist issue
    1386, hence ``pytest<9.2`` in pyproject.toml), and the tests would run side by side silently."""
    if getattr(session.config, "workerinput", None) is None or not session.config.getoption("loadgroup", False):
        return
    lost = [i.nodeid for i in session.items if i.get_closest_marker("ray") and not i.nodeid.endswith("@ray")]
    if lost:
        raise pytest.UsageError(f"xdist did not group the Ray tests (e.g. {lost[0]}): pytest "
                                f"{pytest.__version__} with this pytest-xdist; see tests/conftest.py")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    guard = item.get_closest_marker("ray") is None and "RAY_ADDRESS" not in os.environ
    if guard:
        os.environ["RAY_ADDRESS"] = NO_RAY
    try:
        yield
    finally:
        if guard:
            os.environ.pop("RAY_ADDRESS", None)


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


# ---- a tiny dataset, tiny (untrained) model checkpoints and an index (tests/tiny.py builds them)
@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    from tests.tiny import make_dataset

    return make_dataset(tmp_path_factory.mktemp("tiny_ds"))


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory, tiny_dataset):
    """Checkpoint directories of random-init tiny encoders (real architectures, untrained)."""
    from tests.tiny import make_encoders

    return make_encoders(tmp_path_factory.mktemp("encoders"), tiny_dataset)


@pytest.fixture(scope="session")
def tiny_core_run(tmp_path_factory, tiny_encoders):
    """A core run directory as training leaves it (encoders/ + best/core), random-init tiny core."""
    from tests.tiny import make_core_run

    return make_core_run(tmp_path_factory.mktemp("core_run"), tiny_encoders)


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory, tiny_core_run, tiny_dataset):
    """An index directory of the tiny dataset built with the tiny core (Ray Data embedding, flat
    FAISS indexes). Shared: tests must not modify it (copy it first)."""
    from tests.tiny import make_index

    return make_index(tmp_path_factory.mktemp("index") / "idx", tiny_core_run, tiny_dataset)


# ---- the UI over the tiny index: random-init tiny HPS and instruction runs (the run-dir layout
# training leaves), a backend, and the app served on a free local port
@pytest.fixture(scope="session")
def tiny_hps_run(tmp_path_factory, tiny_core_run, tiny_dataset) -> Path:
    from tests.tiny import make_hps_run

    return make_hps_run(tmp_path_factory.mktemp("hps_run"), tiny_core_run, tiny_dataset)


@pytest.fixture(scope="session")
def tiny_instructions_run(tmp_path_factory, tiny_core_run) -> Path:
    from tests.tiny import make_instructions_run

    return make_instructions_run(tmp_path_factory.mktemp("instructions_run"), tiny_core_run)


@pytest.fixture(scope="session")
def backend(tiny_index, tiny_hps_run, tiny_instructions_run, tiny_dataset):
    from ui.backend import BackendConfig, UIBackend

    # batching on (off is the CPU default) so the tests cover the batched path too
    b = UIBackend(tiny_index, hps_run=tiny_hps_run, instructions_run=tiny_instructions_run, data_dir=tiny_dataset,
                  config=BackendConfig(batching=True))
    yield b
    b.close()


@pytest.fixture(scope="session")
def server(backend):
    """The app served in-process on a free local port (uploads capped at 1 MB); its URL."""
    from tests.tiny import serve_app

    url, app = serve_app(backend)
    yield url
    app.close()


@pytest.fixture(scope="session")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False, download_files=False)


@pytest.fixture
def s3():
    """A local S3-compatible server (moto's: a real HTTP S3 API on 127.0.0.1) with a bucket
    ``pose-search``; yields the environment variables pointing to it, also set in os.environ
    for the test. Object storage cannot be reached from the test machines; the code under test
    talks to this server through the standard AWS variables, as it would to S3, MinIO or Ceph."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ALLOW_HTTP": "true",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        boto3.client("s3").create_bucket(Bucket="pose-search")
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()
