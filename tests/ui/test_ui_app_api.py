"""The served app through gradio_client: every named endpoint, bad inputs as clear errors (and the
server still answering after each), and paths a client names refused."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ENDPOINTS = {"/search", "/body", "/mesh", "/instruct", "/explore", "/status"}


def _search(client, text=None, image=None, pose_id=None, pose_file=None, target="pose", k=6, split="any", caption=""):
    return client.predict(text, image, pose_id, pose_file, target, k, split, caption, api_name="/search")


def _ids(backend, n=2):
    return [r["id"] for r in backend.index.take(list(range(n)), ["id"])]


def _still_answers(client) -> None:
    gallery, table = _search(client, text="the arms are raised", k=2)
    assert len(gallery) == len(table) == 2


def test_every_action_has_a_named_endpoint(client):
    named = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert ENDPOINTS <= named


def test_search_endpoint(client, backend):
    gallery, table = _search(client, text="the left knee is bent", k=5)  # (the ids state is UI-only)
    assert len(gallery) == len(table) == 5
    assert [r["id"] for r in table] == [h.id for h in backend.service.search(text="the left knee is bent", k=5)]
    assert gallery[0]["caption"].startswith("#1 · ") and gallery[0]["image"]["url"].startswith("http")
    assert {"id", "score", "caption", "split"} <= set(table[0])
    _, table = _search(client, text="standing", k=48, split="val")
    assert len(table) == 12 and {r["split"] for r in table} == {"val"}
    _, by_id = _search(client, pose_id=table[0]["id"], k=3)
    assert len(by_id) == 3


def test_search_with_uploads(client, backend, tmp_path):
    item = _ids(backend, 1)[0]
    image = backend.image_file(item)
    _, table = _search(client, image=handle_file(str(image)), k=4, target="image")
    assert len(table) == 4
    np.savez(tmp_path / "pose.npz", pose=backend.pose_of(item))
    _, by_file = _search(client, pose_file=handle_file(str(tmp_path / "pose.npz")), k=4)
    _, by_id = _search(client, pose_id=item, k=4)
    assert [r["id"] for r in by_file] == [r["id"] for r in by_id]


def test_body_mesh_instruct_explore_status(client, backend):
    a, b = _ids(backend)
    body = client.predict(a, api_name="/body")
    assert body["url"].startswith("http") and body["path"].endswith(".glb")
    image = handle_file(str(backend.image_file(a)))
    mesh, params, summary = client.predict(image, "kneeling", api_name="/mesh")
    assert mesh["path"].endswith(".glb") and params["path"].endswith(".npz") and "image + text" in summary
    text, body_a, body_b = client.predict(a, None, None, b, None, None, api_name="/instruct")
    assert text.strip() and body_a["path"].endswith(".glb") and body_b["path"].endswith(".glb")
    items, note = client.predict(1, "val", "", api_name="/explore")
    assert len(items) == 12 and "12 matching items" in note
    status = client.predict(api_name="/status")
    assert status["rows"] == 48 and status["heads"]["hps"]


@pytest.mark.parametrize("kind", ["empty query", "blank text", "k zero", "k huge", "unknown id", "unknown target"])
def test_bad_search_inputs_are_clear_errors(client, kind):
    args, message = {
        "empty query": ({}, "empty query"),
        "blank text": ({"text": "   "}, "empty query"),
        "k zero": ({"text": "a", "k": 0}, "k=0: expected between 1 and"),
        "k huge": ({"text": "a", "k": 5000}, "k=5000: expected between 1 and 1000"),
        "unknown id": ({"pose_id": "<b>no-such-id</b>"}, "unknown id"),
        "unknown target": ({"text": "a", "target": "shoe"}, "shoe"),
    }[kind]
    with pytest.raises(AppError, match=message) as err:
        _search(client, **args)
    assert "Traceback" not in str(err.value) and "<b>" not in str(err.value)  # no stack trace, no markup
    assert "&#" not in str(err.value)  # plain text: no HTML entities
    _still_answers(client)


def test_bad_uploads_are_clear_errors(client, tmp_path):
    (tmp_path / "photo.png").write_bytes(b"these bytes are not a PNG")
    with pytest.raises(AppError, match="cannot be decoded"):
        _search(client, image=handle_file(str(tmp_path / "photo.png")))
    (tmp_path / "pose.npz").write_text("not a zip archive")
    with pytest.raises(AppError, match="not a readable"):
        _search(client, pose_file=handle_file(str(tmp_path / "pose.npz")))
    np.savez(tmp_path / "wrong.npz", pose=np.zeros((20, 3)))  # (21, 3): the body alone, a documented pose
    with pytest.raises(AppError, match=r"expected shape \(22, 3\)"):
        _search(client, pose_file=handle_file(str(tmp_path / "wrong.npz")))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(AppError, match="expected a .npz"):
        _search(client, pose_file=handle_file(str(tmp_path / "notes.txt")))
    _still_answers(client)


def test_bad_head_inputs_are_clear_errors(client, tmp_path):
    with pytest.raises(AppError, match="empty input"):
        client.predict(None, "", api_name="/mesh")
    (tmp_path / "x.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(AppError, match="cannot be decoded"):
        client.predict(handle_file(str(tmp_path / "x.jpg")), "", api_name="/mesh")
    with pytest.raises(AppError, match="pose A: give exactly one"):
        client.predict("", None, None, "x", None, None, api_name="/instruct")
    with pytest.raises(AppError, match="unknown id"):
        client.predict("nope", api_name="/body")
    with pytest.raises(AppError, match="less than minimum value 1"):
        client.predict(0, "any", "", api_name="/explore")
    _still_answers(client)


def test_uploads_over_the_size_cap_are_refused(client, tmp_path):
    big = tmp_path / "big.npz"
    np.savez(big, pose=np.zeros((22, 3)), padding=np.random.default_rng(0).random(200_000))  # 1.6 MB > 1mb cap
    with pytest.raises(Exception, match="(?i)too large|exceed|413|size"):
        _search(client, pose_file=handle_file(str(big)))
    _still_answers(client)


def test_a_path_named_by_the_client_is_never_read(server, tmp_path):
    """A FileData pointing at a server file it did not upload: refused, nothing read."""
    secret = tmp_path / "secret.npz"
    np.savez(secret, pose=np.zeros((22, 3)))
    file_data = {"path": str(secret), "meta": {"_type": "gradio.FileData"}, "orig_name": "secret.npz"}
    with httpx.Client(base_url=server, timeout=60) as http:
        r = http.post("/gradio_api/call/search", json={"data": [None, None, None, file_data, "pose", 3, "any", ""]})
        assert r.status_code == 200, r.text
        stream = http.get(f"/gradio_api/call/search/{r.json()['event_id']}").text
    events = [line.split(": ", 1) for line in stream.splitlines() if line.startswith(("event", "data"))]
    kinds = [v for k, v in events if k == "event"]
    assert "error" in kinds and "complete" not in kinds, stream


def test_use_as_pose_a_or_b_checks_the_id(backend):
    """"Use as pose A/B" (a UI-only event): the id is checked before the Instruction tab opens."""
    import gradio as gr

    from ui.app import Callbacks

    cb = Callbacks(backend)
    known = _ids(backend, 1)[0]
    item, tabs = cb.use_as(f"  {known} ")
    assert item == known and tabs.selected == "instruction"
    with pytest.raises(gr.Error, match="choose a result first"):
        cb.use_as("   ")
    with pytest.raises(gr.Error, match="unknown id"):
        cb.use_as("no-such-id")
