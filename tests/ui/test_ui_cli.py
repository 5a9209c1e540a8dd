"""``pose-search ui``: bundle reading, flags, the exposure warning, and a real start from a bundle."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from ui.cli import add_arguments, exposure_warning, parse_auth, read_bundle, resolve


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(list(argv))


def test_bundle_paths_are_relative_to_the_bundle_and_flags_override_them(tmp_path):
    (tmp_path / "bundle.json").write_text(json.dumps({"index": "index", "hps": "runs/hps", "data": "data/script",
                                                      "pairs": "data/fix", "scale": {"poses": 600}}))
    parts = read_bundle(tmp_path)  # keys the UI does not use (the demo builder's own) are ignored
    assert parts == {"index": tmp_path / "index", "hps": tmp_path / "runs/hps", "data": tmp_path / "data/script"}
    resolved = resolve(_args("--bundle", str(tmp_path), "--hps", "/elsewhere/hps"))
    assert resolved["index"] == tmp_path / "index" and str(resolved["hps"]) == "/elsewhere/hps"
    assert resolved["instructions"] is None


@pytest.mark.parametrize("content, message", [
    (None, "has no bundle.json"),
    ("{oops", "not valid JSON"),
    (json.dumps({"hps": "runs/hps"}), "at least \"index\""),
    (json.dumps({"index": "i", "hps": 3}), "hps must be a path"),
])
def test_bad_bundles(tmp_path, content, message):
    if content is not None:
        (tmp_path / "bundle.json").write_text(content)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        read_bundle(tmp_path)


def test_flags():
    with pytest.raises(ValueError, match="give --index"):
        resolve(_args())
    assert parse_auth("ann:s3cret:x") == ("ann", "s3cret:x") and parse_auth(None) is None
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(ValueError, match="USER:PASS"):
            parse_auth(bad)
    args = _args("--index", "i")
    assert (args.host, args.port, args.share, args.auth) == ("127.0.0.1", 7860, False, None)


def test_exposure_warning():
    assert exposure_warning("127.0.0.1", None, False) is None
    assert exposure_warning("0.0.0.0", ("a", "b"), False) is None
    assert "reachable from other machines" in exposure_warning("0.0.0.0", None, False)
    assert "public" in exposure_warning("127.0.0.1", None, True)


@pytest.mark.ray
@pytest.mark.slow
def test_ui_command_serves_a_bundle(tmp_path, tiny_index, tiny_dataset):
    """The real command from a bundle, bound to 127.0.0.2 without --auth (loopback, but not the
    default address: it must warn), answers /status, stops on SIGTERM."""
    from gradio_client import Client

    (tmp_path / "index").symlink_to(tiny_index)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "script").symlink_to(tiny_dataset)
    (tmp_path / "bundle.json").write_text(json.dumps({"index": "index", "data": "data/script"}))
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "pose_search_app", "ui", "--bundle", str(tmp_path), "--host",
                             "127.0.0.2", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.time() + 300
        line = ""
        while time.time() < deadline and "pose-search UI: http://" not in line:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read()
        assert line.strip() == f"pose-search UI: http://127.0.0.2:{port}/"
        status = Client(f"http://127.0.0.2:{port}/", verbose=False).predict(api_name="/status")
        assert status["rows"] == 48 and status["data"] == str(tmp_path / "data" / "script")
        assert status["heads"] == {"hps": None, "instructions": None}
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert "reachable from other machines" in proc.stderr.read()


def test_ui_command_errors_are_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pose_search_app", "ui", "--bundle", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "has no bundle.json" in r.stderr and "Traceback" not in r.stderr
