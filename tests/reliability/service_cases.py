"""Bad queries for :class:`indexing.service.SearchService` (its documented errors: ValueError,
FileNotFoundError)."""

from __future__ import annotations

import functools
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability import junk
from tests.reliability.harness import Case

GOOD_TEXT = "the person kneels with both arms raised"
ERRORS = (ValueError, FileNotFoundError)
BODY_ONLY_SHAPES = ((21, 3), (63,), (1, 21, 3), (1, 63))  # pose files that load with an identity root


def _case(service: Any, name: str, mentions: str, **query: Any) -> Case:
    return Case(f"search({name})", functools.partial(service.search, **query), mentions, ERRORS)


def bad_pose_files(folder: Path, rng: np.random.Generator, hostile: bool = True) -> list[tuple[str, Path]]:
    """Pose files that hold no single finite ``(22, 3)`` pose (written into ``folder``); with
    ``hostile``, the generated classes of :mod:`tests.reliability.pose_file_cases` too (bombs,
    broken zips, lying headers, deep JSON, bad SMPL-X parameters)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, Path]] = [("missing file", folder / "nope.npy"), ("a directory", folder)]

    def put(name: str, write: Any) -> None:
        path = folder / name
        write(path)
        files.append((name, path))

    put("empty.npy", lambda p: p.write_bytes(b""))
    put("text.npy", lambda p: p.write_text("0 0 0"))
    put("truncated.npy", lambda p: p.write_bytes(_npy(np.zeros((22, 3)))[:100]))
    put("object.npy", lambda p: np.save(p, np.array([{"pose": 1}], dtype=object), allow_pickle=True))
    put("pickle.npy", lambda p: p.write_bytes(pickle.dumps({"pose": np.zeros((22, 3))})))
    put("nokey.npz", lambda p: np.savez(p, body=np.zeros((22, 3))))
    put("nan.npz", lambda p: np.savez(p, pose=np.full((22, 3), np.nan)))
    put("two.npy", lambda p: np.save(p, np.zeros((2, 22, 3))))
    put("strings.npy", lambda p: np.save(p, np.full((22, 3), "x")))
    put("complex.npy", lambda p: np.save(p, np.zeros((22, 3), complex)))
    for shape in junk.wrong_shapes(rng, 10):
        if shape in BODY_ONLY_SHAPES:  # documented: the body joints alone, with an identity root
            continue
        put(f"shape{'x'.join(map(str, shape)) or 'scalar'}.npy", lambda p, s=shape: np.save(p, np.zeros(s)))
    if hostile:
        from tests.reliability.pose_file_cases import hostile_pose_files

        files += [(f"{label} ({path.name})", path) for label, path in hostile_pose_files(folder / "hostile", rng)]
    return files


def _npy(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def pose_values(rng: np.random.Generator) -> list[tuple[str, Any]]:
    """In-memory poses that are no ``(22, 3)`` / ``(B, 22, 3)`` array of finite numbers."""
    out: list[tuple[str, Any]] = [(f"shape {s}", np.zeros(s, np.float32)) for s in junk.wrong_shapes(rng, 30)]
    for _ in range(12):
        pose = rng.normal(size=(22, 3)).astype(np.float32)
        j, c = int(rng.integers(22)), int(rng.integers(3))
        value = [np.nan, np.inf, -np.inf][int(rng.integers(3))]
        pose[j, c] = value
        out.append((f"{value} at joint {j} axis {c}", pose))
    out += [("strings", np.full((22, 3), "a")), ("object", np.empty((22, 3), object)), ("bool", np.zeros((22, 3), bool)),
            ("complex", np.zeros((22, 3), complex)), ("ragged list", [[0.0, 0.0, 0.0]] * 21 + [[0.0, 0.0]]),
            ("dict", {"pose": np.zeros((22, 3))}), ("int", 5), ("None in list", [None] * 66),
            ("nested strings", [["0", "0", "0"]] * 22), ("set", {1.0, 2.0})]
    return out


def service_cases(service: Any, folder: Path, rng: np.random.Generator) -> list[Case]:
    """Every bad query for ``service`` (an index with image, pose and text columns)."""
    from indexing.service import MAX_K
    from pose_search.models.encoders.tokenizer import MAX_QUERY_CHARS

    cases: list[Case] = []
    queries = {"text": {"text": GOOD_TEXT}, "pose": {"pose": np.zeros((22, 3), np.float32)}}
    for label, k in junk.bad_ks(MAX_K):
        for kind, query in queries.items():
            cases.append(_case(service, f"{kind}, {label}", r"\bk\b|k=", k=k, **query))
    for target in ["", "shoe", "POSE", " pose", "images", None, 3, ["pose"], b"pose", ("pose",), "pose\x00"]:
        cases.append(_case(service, f"target={target!r}", "target", text=GOOD_TEXT, target=target))
    for label, query in [("nothing", {}), ("text ''", {"text": ""}), ("text blank", {"text": " \t\n "}),
                         ("text []", {"text": []}), ("text ['']", {"text": [""]}), ("image []", {"image": []}),
                         ("text ['a', '  ']", {"text": ["a", "  "]}), ("image b''", {"image": b""}),
                         ("pose (0, 22, 3)", {"pose": np.zeros((0, 22, 3))})]:
        cases.append(_case(service, f"empty: {label}", r"empty|pose|image", **query))
    for label, value in junk.NON_STRINGS:
        if label != "list":
            cases.append(_case(service, f"text {label}", "text", text=value))
        cases.append(_case(service, f"text list with {label}", "text", text=["kneeling", value]))
    for label, text in junk.junk_texts(rng, 60) + junk.surrogate_texts(rng, 10) + junk.long_texts(MAX_QUERY_CHARS):
        cases.append(_case(service, label, "text", text=text))
    for label, pose in pose_values(rng):
        cases.append(_case(service, f"pose {label}", "pose", pose=pose))
    for label, path in bad_pose_files(folder / "poses", rng):
        cases.append(_case(service, f"pose file {label}", "pose", pose=str(path)))
    cases += image_cases(service, folder / "images", rng)
    cases += filter_cases(service, rng)
    cases.append(_case(service, "2 texts, 3 poses", "batch", text=["a", "b"], pose=np.zeros((3, 22, 3))))
    cases.append(_case(service, "2 texts, 1 image", "batch", text=["a", "b"], image=[junk.png_bytes(rng)]))
    return cases


def image_cases(service: Any, folder: Path, rng: np.random.Generator) -> list[Case]:
    from PIL import Image

    cases = [_case(service, f"image {label}", "image", image=data) for label, data in junk.bad_image_bytes(rng)]
    cases += [_case(service, f"image array {label}", "image", image=a) for label, a in junk.bad_image_arrays(rng)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("not an image")
    (folder / "cut.png").write_bytes(junk.png_bytes(rng)[:60])
    for label, value in [("missing file", str(folder / "nope.png")), ("a directory", str(folder)),
                         ("text file", str(folder / "notes.txt")), ("truncated file", folder / "cut.png"),
                         ("empty path", ""), ("int", 3), ("dict", {"path": "x.png"}), ("None in list", [None]),
                         ("zero-size PIL image", Image.new("RGB", (0, 0))),
                         ("list with a bad item", [junk.png_bytes(rng), b"garbage"])]:
        cases.append(_case(service, f"image {label}", "image", image=value))
    return cases


def filter_cases(service: Any, rng: np.random.Generator) -> list[Case]:
    cases = []
    for label, filters in [("a list", [("split", "val")]), ("a string", "split=val"), ("an int", 3),
                           ("a set", {"split"}), ("True", True), ("a tuple", ("split", "val"))]:
        cases.append(_case(service, f"filters {label}", "filter", text=GOOD_TEXT, filters=filters))
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz_ "))
    for _ in range(15):
        key = "".join(rng.choice(letters, size=rng.integers(1, 12)))
        if key.strip() in ("split", "family", "source", "caption"):
            continue
        cases.append(_case(service, f"filter key {key!r}", "filter", text=GOOD_TEXT, filters={key: "val"}))
    for key in [1, None, ("split",), b"split", "Split", " split"]:
        cases.append(_case(service, f"filter key {key!r}", "filter", text=GOOD_TEXT, filters={key: "val"}))
    for value in ["", "   ", [""], [" ", "\t"], []]:
        cases.append(_case(service, f"caption filter {value!r}", "caption", text=GOOD_TEXT,
                           filters={"caption": value}))
    for key in ("split", "family", "source", "caption"):
        for label, value in [("None", None), ("int", 3), ("dict", {"a": 1}), ("nested", [["val"]]),
                             ("empty list", []), ("float", 0.5), ("bytes", b"val")]:
            if key == "caption" and label == "empty list":
                continue
            cases.append(_case(service, f"filter {key}={label}", "filter", text=GOOD_TEXT, filters={key: value}))
    return cases
