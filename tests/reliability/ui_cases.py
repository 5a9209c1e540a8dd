"""Bad requests to the served UI's named endpoints through ``gradio_client`` (their documented
error: ``AppError`` carrying the backend's message)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability import junk
from tests.reliability.harness import Case
from tests.reliability.service_cases import bad_pose_files

GOOD_TEXT = "the arms are raised"
UPLOAD_CAP = 900_000  # the test server takes uploads up to 1 MB (tests/tiny.py serve_app)


class ServerError(Exception):
    """The server answered a raw request with an error event (its message)."""


def _errors() -> tuple[type[BaseException], ...]:
    from gradio_client.exceptions import AppError

    return (AppError, ServerError)


def _predict(client: Any, api_name: str, *args: Any) -> Any:
    return client.predict(*args, api_name=api_name)


def raw_call(server: str, api_name: str, *args: Any) -> Any:
    """Call an endpoint with a hand-made request (``gradio_client`` would upload a local path
    given as a file; a forged payload has to be sent as is); ServerError for an error event."""
    import httpx

    name = api_name.lstrip("/")
    with httpx.Client(base_url=server, timeout=60) as http:
        r = http.post(f"/gradio_api/call/{name}", json={"data": list(args)})
        if r.status_code != 200:
            raise ServerError(f"HTTP {r.status_code}: {r.text[:300]}")
        stream = http.get(f"/gradio_api/call/{name}/{r.json()['event_id']}").text
    events = [line.split(": ", 1) for line in stream.splitlines() if line.startswith(("event: ", "data: "))]
    for (_, value), (_, data) in zip(events[::2], events[1::2]):
        if value == "error":
            raise ServerError(data)
        if value == "complete":
            return data
    raise RuntimeError(f"no complete or error event in {stream[:300]!r}")


def _search_args(text: Any = GOOD_TEXT, image: Any = None, pose_id: Any = None, pose_file: Any = None,
                 target: Any = "pose", k: Any = 4, split: Any = "any", caption: Any = "") -> tuple:
    return text, image, pose_id, pose_file, target, k, split, caption


def _case(client: Any, api: str, name: str, mentions: str, *args: Any) -> Case:
    return Case(f"{api}({name})", functools.partial(_predict, client, api, *args), mentions, _errors())


def _forged(server: str, api: str, name: str, *args: Any) -> Case:
    return Case(f"{api}(forged {name})", functools.partial(raw_call, server, api, *args),
                r"upload|path|FileData|ImageData", _errors())


def _uploads(folder: Path, rng: np.random.Generator) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(bad image uploads, bad pose-file uploads) as ``handle_file`` payloads; none over the
    server's 1 MB upload cap."""
    from gradio_client import handle_file

    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for i, (label, data) in enumerate(junk.bad_image_bytes(rng, n_each=4)):
        if len(data) > 500_000:
            continue
        path = folder / f"image{i}.png"
        path.write_bytes(data)
        images.append((label, handle_file(str(path))))
    poses = [(label, handle_file(str(path))) for label, path in bad_pose_files(folder / "poses", rng)
             if path.is_file() and path.stat().st_size < UPLOAD_CAP]
    (folder / "pose.txt").write_text("0 0 0")
    poses.append(("a .txt pose file", handle_file(str(folder / "pose.txt"))))
    return images, poses


def forged_payloads(secret: Path) -> list[tuple[str, Any]]:
    """File payloads a client forges instead of uploading: paths the server must never read."""
    meta = {"_type": "gradio.FileData"}
    return [("path to a server file", {"path": str(secret), "meta": meta}),
            ("relative path", {"path": "../../etc/passwd", "meta": meta}),
            ("no path", {"meta": meta, "orig_name": "x.png"}), ("path int", {"path": 3, "meta": meta}),
            ("bare string path", str(secret)), ("a list", [str(secret)]), ("a number", 12)]


def search_cases(client: Any, server: str, ids: list[str], images: list, poses: list, forged: list,
                 rng: np.random.Generator) -> list[Case]:
    from indexing.service import MAX_K
    from pose_search.models.encoders.tokenizer import MAX_QUERY_CHARS

    s = "/search"
    cases = [_case(client, s, label, r"\bk\b|k=|results", *_search_args(k=k)) for label, k in junk.bad_ks(MAX_K)
             if isinstance(k, (int, str, list, dict, type(None))) or (isinstance(k, float) and np.isfinite(k))]
    for label, value in junk.NON_STRINGS[:8]:
        if label in ("nan", "set", "bytes", "ndarray"):
            continue  # not JSON
        cases.append(_case(client, s, f"text {label}", "text", *_search_args(text=value)))
        cases.append(_case(client, s, f"caption {label}", "caption", *_search_args(caption=value)))
        cases.append(_case(client, s, f"split {label}", "split", *_search_args(split=value)))
        cases.append(_case(client, s, f"pose id {label}", r"\bid\b", *_search_args(text=None, pose_id=value)))
        cases.append(_case(client, s, f"target {label}", "target", *_search_args(target=value)))
    for label, text in junk.junk_texts(rng, 25, surrogates=False) + junk.long_texts(MAX_QUERY_CHARS)[:2]:
        cases.append(_case(client, s, label, "text", *_search_args(text=text)))
    for target in ["", "shoe", "POSE", "images"]:
        cases.append(_case(client, s, f"target {target!r}", "target", *_search_args(target=target)))
    for split in ["nope", "VAL", "train,val", "<script>"]:
        cases.append(_case(client, s, f"split {split!r}", "split", *_search_args(split=split)))
    for _ in range(10):
        fake = "".join(rng.choice(list("abcdef0123456789-:'\"<>%"), size=rng.integers(1, 30)))
        cases.append(_case(client, s, f"unknown pose id {fake!r}", r"unknown id", *_search_args(text=None, pose_id=fake)))
    cases.append(_case(client, s, "pose id 10k chars", r"\bid\b", *_search_args(text=None, pose_id="x" * 10_000)))
    for label, payload in images:
        cases.append(_case(client, s, f"image {label}", "image", *_search_args(text=None, image=payload)))
    for label, payload in poses:
        cases.append(_case(client, s, f"pose file {label}", "pose", *_search_args(text=None, pose_file=payload)))
    for label, payload in forged:
        cases.append(_forged(server, s, f"image {label}", *_search_args(image=payload)))
        cases.append(_forged(server, s, f"pose file {label}", *_search_args(pose_file=payload)))
    cases.append(_case(client, s, "pose id and pose file", "pose", *_search_args(pose_id=ids[0], pose_file=poses[0][1])))
    cases.append(_case(client, s, "nothing", "empty", *_search_args(text=None)))
    return cases


def head_cases(client: Any, server: str, ids: list[str], images: list, poses: list, forged: list,
               rng: np.random.Generator) -> list[Case]:
    """/body, /mesh, /instruct and /explore."""
    cases = []
    for label, value in [("empty", ""), ("blank", "  "), ("int", 5), ("list", [ids[0]]), ("dict", {"id": ids[0]}),
                         ("unknown", "no-such-id"), ("quote", "x' OR '1'='1"), ("10k chars", "y" * 10_000)]:
        cases.append(_case(client, "/body", f"id {label}", r"\bid\b", value))
    for label, payload in images[:12]:
        cases.append(_case(client, "/mesh", f"image {label}", "image", payload, ""))
    for label, payload in forged:
        cases.append(_forged(server, "/mesh", f"image {label}", payload, "kneeling"))
    for label, text in junk.junk_texts(rng, 6, surrogates=False) + [("int text", 3), ("list text", ["a"])]:
        cases.append(_case(client, "/mesh", f"no image, {label}", r"text|image|empty", None, text))
    a, b = ids[0], ids[1]
    for label, args, mentions in [
        ("A: nothing", ("", None, None, b, None, None), "pose A"),
        ("B: nothing", (a, None, None, "", None, None), "pose B"),
        ("A: id and file", (a, poses[-2][1], None, b, None, None), "pose A"),
        ("B: id and image", (a, None, None, b, None, dict(images)["text"]), "pose B"),
        ("A: unknown id", ("no-such-id", None, None, b, None, None), "unknown id"),
        ("A: int id", (7, None, None, b, None, None), r"\bid\b"),
        ("B: list id", (a, None, None, [b], None, None), r"\bid\b"),
    ]:
        cases.append(_case(client, "/instruct", label, mentions, *args))
    for label, payload in poses[:10]:
        cases.append(_case(client, "/instruct", f"A: pose file {label}", "pose", "", payload, None, b, None, None))
    for label, payload in images[:6]:
        cases.append(_case(client, "/instruct", f"B: image {label}", "image", a, None, None, "", None, payload))
    for label, payload in forged[:4]:
        cases.append(_forged(server, "/instruct", f"A: file {label}", "", payload, None, b, None, None))
    # /explore's inputs go through Gradio's own checks (a number, a dropdown choice)
    for label, page in [("0", 0), ("-1", -1), ("'two'", "two"), ("list", [1]), ("dict", {"p": 1})]:
        cases.append(_case(client, "/explore", f"page {label}", r"page|minimum|number|float", page, "any", ""))
    for label, split in [("nope", "nope"), ("int", 3), ("list", ["val"])]:
        cases.append(_case(client, "/explore", f"split {label}", "split|choices", 1, split, ""))
    return cases


def ui_cases(client: Any, server: str, ids: list[str], folder: Path, rng: np.random.Generator) -> list[Case]:
    """Every bad request to the app at ``server`` (``ids``: two ids of the served index;
    ``folder``: for the uploads)."""
    images, poses = _uploads(folder, rng)
    secret = folder / "secret.npy"
    np.save(secret, np.zeros((22, 3), np.float32))
    forged = forged_payloads(secret)
    return (search_cases(client, server, ids, images, poses, forged, rng)
            + head_cases(client, server, ids, images, poses, forged, rng))


def _rss_bytes() -> int:
    """This process's resident memory now (Linux: /proc/self/statm)."""
    import os

    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bomb_upload_memory(client: Any, folder: Path, mib: int = 800) -> dict[str, Any]:
    """Upload a ``.npz`` pose file inflating to ``mib`` MiB to the app served *in this process*
    and measure what the refusal cost the server: the growth of resident memory and the peak of
    Python / numpy allocations (``tracemalloc``) while the request ran, in MiB."""
    import tracemalloc

    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from tests.reliability.pose_file_cases import zero_bomb, zip_bytes

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bomb.npz"
    path.write_bytes(zip_bytes([zero_bomb("pose.npy", mib)]))
    before = _rss_bytes()
    tracemalloc.start()
    try:
        client.predict(*_search_args(text=None, pose_file=handle_file(str(path))), api_name="/search")
        message = None
    except AppError as exc:
        message = str(exc)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"file_kib": round(path.stat().st_size / 1024, 1), "inflates_to_mib": mib, "refused": message is not None,
            "message": message, "rss_growth_mib": round((_rss_bytes() - before) / 2**20, 2),
            "traced_peak_mib": round(peak / 2**20, 2)}
