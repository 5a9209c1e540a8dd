"""UIBackend over the tiny index and tiny random-init heads: every action, and its bad inputs."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import trimesh

from pose_search.data.pairing.text import NO_CHANGE
from ui.backend import HeadMissingError, PoseInput, UIBackend

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _rows(backend, n=48):
    return backend.index.take(list(range(n)), ["id", "pose", "captions", "split"])


def _selective_word(rows) -> str:
    """A caption word some rows have and others lack (the one closest to half of them)."""
    texts = [" ".join(r["captions"]).lower() for r in rows]
    words = sorted({w.strip(".,;") for t in texts for w in t.split() if len(w) > 4})
    return min(words, key=lambda w: abs(sum(w in t for t in texts) - len(texts) / 2))


def test_text_search_gives_cards_with_images_and_matches_the_service(backend):
    cards = backend.search(text="the left knee is bent", k=5)
    direct = backend.service.search(text="the left knee is bent", k=5)
    assert [c.id for c in cards] == [h.id for h in direct]  # through the batcher: same answer
    assert [c.rank for c in cards] == list(range(5))
    for c in cards:
        assert c.image.is_file() and c.image.suffix in (".jpg", ".png") and c.image.stat().st_size > 1000
        assert c.caption and c.label.startswith(f"#{c.rank + 1} · ")
    assert backend.search(text="x", target="text", k=3)[0].id  # other target spaces


def test_filters_split_and_caption_substring(backend):
    val = backend.search(text="standing", k=48, split="val")
    assert val and all(c.split == "val" for c in val) and len(val) == 12
    word = _selective_word(_rows(backend))
    expected = {r["id"] for r in _rows(backend) if any(word in c.lower() for c in r["captions"])}
    assert 10 < len(expected) < 38  # the word picks a real subset
    hits = backend.search(text="standing", k=48, caption_contains=f" {word.upper()} ")
    assert {c.id for c in hits} == expected
    assert len(backend.search(text="standing", k=48, split="any")) == 48


def test_pose_by_id_file_and_mixed_queries(backend, tmp_path):
    row = _rows(backend, 4)[3]
    by_id = backend.search(pose_id=row["id"], k=6)
    np.savez(tmp_path / "smplx.npz", global_orient=np.asarray(row["pose"][:3]), body_pose=np.asarray(row["pose"][3:]))
    by_file = backend.search(pose_file=tmp_path / "smplx.npz", k=6)
    assert [c.id for c in by_id] == [c.id for c in by_file]
    image = backend.image_file(row["id"]).read_bytes()
    mixed = backend.search(text=row["captions"][0], image=image, pose_id=row["id"], target="image", k=4)
    assert len(mixed) == 4
    arr = np.zeros((300, 200, 3), np.uint8)  # an (H, W, 3) array, as the app's image widget sends
    assert len(backend.search(image=arr, k=2)) == 2


def test_concurrent_text_queries_are_batched(backend):
    before = backend._batcher.stats.calls, backend._batcher.stats.items
    out: dict[int, list[str]] = {}
    barrier = threading.Barrier(12)

    def ask(i: int) -> None:
        barrier.wait()
        out[i] = [c.id for c in backend.search(text=f"raise arm number {i}", k=3)]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    calls, items = backend._batcher.stats.calls - before[0], backend._batcher.stats.items - before[1]
    assert items == 12 and calls < 12  # fewer encoder calls than queries
    for i in range(12):
        assert out[i] == [h.id for h in backend.service.search(text=f"raise arm number {i}", k=3)]


def test_body_files(backend):
    item = _rows(backend, 1)[0]["id"]
    glb = backend.body_file(item)
    assert glb.suffix == ".glb" and backend.body_file(item) == glb  # cached
    mesh = trimesh.load(glb, force="mesh")
    assert len(mesh.vertices) > 1000 and len(mesh.faces) > 1000
    extent = mesh.vertices.max(0) - mesh.vertices.min(0)
    assert 1.0 < extent.max() < 2.5  # a person, in metres
    assert str(glb).startswith(str(backend.files.root))


def test_mesh_recovery_writes_a_glb_and_parameters_that_load_back_as_a_query(backend):
    image = backend.image_file(_rows(backend, 1)[0]["id"]).read_bytes()
    out = backend.recover_mesh(image=image, text="the arms are raised")
    assert "image + text" in out.summary and "predicted" in out.summary
    params = np.load(out.params)
    assert params["pose"].shape == (22, 3) and params["shape"].shape == (6,) and params["joints"].shape == (22, 3)
    assert len(trimesh.load(out.mesh, force="mesh").vertices) > 1000
    assert len(backend.search(pose_file=out.params, k=3)) == 3
    text_only = backend.recover_mesh(text="kneeling")
    assert "neutral" in text_only.summary and text_only.mesh != out.mesh


def test_instructions(backend, tmp_path):
    a, b = (r["id"] for r in _rows(backend, 2))
    same = backend.instruct(PoseInput(id=a), PoseInput(id=a))
    assert same.text == NO_CHANGE[0] and same.body_a == same.body_b
    out = backend.instruct(PoseInput(id=a), PoseInput(id=b))
    assert out.text.strip() and out.text != NO_CHANGE[0] and out.body_a != out.body_b
    np.save(tmp_path / "b.npy", backend.pose_of(b))
    from_file = backend.instruct(PoseInput(id=a), PoseInput(file=tmp_path / "b.npy"))
    assert from_file.text == out.text and from_file.body_b.is_file()
    image = backend.image_file(a).read_bytes()
    with_image = backend.instruct(PoseInput(image=image), PoseInput(id=b))
    assert with_image.text.strip() and with_image.body_a.is_file()  # the HPS head's body of the image


def test_dataset_pages(backend):
    first = backend.dataset_page(1)
    assert first.total == 48 and first.pages == 2 and len(first.items) == 24
    second = backend.dataset_page(2)
    assert {c.id for c in first.items}.isdisjoint(c.id for c in second.items)
    assert backend.dataset_page(99).page == 2  # clamped to the last page
    val = backend.dataset_page(1, split="val")
    assert val.total == 12 and all(c.split == "val" for c in val.items)
    word = _selective_word(_rows(backend))
    some = backend.dataset_page(1, caption_contains=word)
    assert 0 < some.total < 48 and all(word in " ".join(c.captions).lower() for c in some.items)
    assert all(c.image.is_file() and c.caption for c in first.items)


def test_status(backend, tiny_index, tiny_dataset):
    st = backend.status()
    assert st["rows"] == 48 and st["modalities"] == ["image", "pose", "text"]
    assert st["model"]["core"] == "core-tiny" and st["model"]["encoders"]["text"] == "posetext-text-tiny"
    assert st["ann"] == {m: "flat (FAISS)" for m in ("image", "pose", "text")}
    assert st["heads"]["hps"] and st["heads"]["instructions"] and st["data"] == str(tiny_dataset)
    assert st["batching"]["mode"] == "micro-batcher" and st["batching"]["items"] >= 1


@pytest.mark.parametrize("kwargs, message", [
    ({}, "empty query"),
    ({"text": "   "}, "empty query"),
    ({"text": "a", "k": 0}, "k=0"),
    ({"text": "a", "k": 2.5}, "whole number"),
    ({"text": "a", "k": "10"}, "whole number"),
    ({"text": "a", "target": "shoe"}, "target 'shoe'"),
    ({"pose_id": "no-such-id"}, "unknown id 'no-such-id'"),
    ({"image": b"definitely not an image"}, "cannot be decoded"),
])
def test_bad_searches(backend, kwargs, message):
    with pytest.raises(ValueError, match=message):
        backend.search(**kwargs)


def test_bad_pose_files(backend, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="expected a .npz"):
        backend.search(pose_file=tmp_path / "notes.txt")
    (tmp_path / "fake.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        backend.search(pose_file=tmp_path / "fake.npz")
    np.savez(tmp_path / "short.npz", pose=np.zeros((20, 3)))  # (21, 3): the body alone, a documented pose
    with pytest.raises(ValueError, match=r"expected shape \(22, 3\)"):
        backend.search(pose_file=tmp_path / "short.npz")
    np.save(tmp_path / "p.npy", np.zeros((22, 3)))
    with pytest.raises(ValueError, match="not both"):
        backend.search(pose_id="x", pose_file=tmp_path / "p.npy")


def test_bad_head_inputs(backend):
    with pytest.raises(ValueError, match="empty input"):
        backend.recover_mesh()
    with pytest.raises(ValueError, match="cannot be decoded"):
        backend.recover_mesh(image=b"\x89PNG broken")
    with pytest.raises(ValueError, match="pose A: give exactly one"):
        backend.instruct(PoseInput(), PoseInput(id="x"))
    a = _rows(backend, 1)[0]["id"]
    with pytest.raises(ValueError, match=r"pose B: .*\(got id and image\)"):
        backend.instruct(PoseInput(id=a), PoseInput(id=a, image=b"x"))
    with pytest.raises(ValueError, match="unknown id"):
        backend.instruct(PoseInput(id=a), PoseInput(id="nope"))
    with pytest.raises(ValueError, match="page 0"):
        backend.dataset_page(0)


def test_without_heads_the_actions_say_what_is_missing(tiny_index, tmp_path):
    bare = UIBackend(tiny_index)
    try:
        with pytest.raises(HeadMissingError, match="Mesh recovery is not available.*--hps"):
            bare.recover_mesh(text="x")
        with pytest.raises(HeadMissingError, match="Instructions is not available.*--instructions"):
            bare.instruct(PoseInput(id="a"), PoseInput(id="b"))
        st = bare.status()
        assert st["heads"] == {"hps": None, "instructions": None}
        assert st["batching"] == {"mode": "off"}  # the CPU default
        assert st["data"] is not None  # the dataset the index was built from, found via index.json
    finally:
        bare.close()
    assert not bare.files.root.exists()  # close() removes the backend's files
