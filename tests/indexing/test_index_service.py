"""Embed -> index -> search round trip on a tiny synthetic dataset (Ray Data, LanceDB, FAISS)."""

from __future__ import annotations

import json
import shutil
import sys

import lance
import numpy as np
import pytest

from indexing.build import BuildConfig, _select_modalities, build, read_vectors
from indexing.service import SearchService
from indexing.table import IndexDirError, read_info, table_path
from pose_search.query import Query
from tests.processes import run_together

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def index_dir(tiny_index):
    return tiny_index


def _ids(out) -> list[str]:
    return lance.dataset(str(table_path(out))).to_table(columns=["id"]).column("id").to_pylist()


def test_build_writes_one_row_per_id_with_every_modality(index_dir, tiny_dataset):
    info = read_info(index_dir)
    ids = _ids(index_dir)
    assert len(ids) == len(set(ids)) == info["rows"] == 48
    assert info["modalities"] == ["image", "pose", "text"]
    t = lance.dataset(str(table_path(index_dir))).to_table()
    for m in info["modalities"]:
        v = read_vectors(index_dir, m)
        assert v.shape == (48, 32) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
        assert str(t.schema.field(f"vec_{m}").type).startswith("fixed_size_list<item: float>[32]")
        assert info["ann"][m]["kind"] == "flat"  # tiny: exact
    assert all(r.startswith(f"{tiny_dataset}#") for r in t.column("image_ref").to_pylist())


def test_embedding_equals_the_in_process_loop(index_dir, tiny_dataset):
    """Ray Data actors give the same vectors as a plain loop over the same model."""
    from indexing.embed import embed_in_process
    from pose_search.runs import load_model

    model = load_model(index_dir / "model")
    local = {}
    for t in embed_in_process(model, tiny_dataset, ("image", "pose", "text"), batch_size=16):
        for i, x in zip(t.column("id").to_pylist(), t.column("vec_text").to_pylist()):
            local[i] = np.asarray(x)
    stored = dict(zip(_ids(index_dir), read_vectors(index_dir, "text")))
    assert set(local) == set(stored)
    for i in local:
        np.testing.assert_allclose(local[i], stored[i], atol=1e-5)


def test_rerun_is_idempotent_and_resumes_missing_rows(index_dir, tiny_core_run, tiny_dataset, tmp_path):
    cfg = BuildConfig(model=str(tiny_core_run), data=str(tiny_dataset), out=str(index_dir), workers=1)
    version = read_info(index_dir)["table_version"]
    info = build(cfg, progress=False)  # nothing new: no commit, no rebuild
    assert info["rows"] == 48 and info["table_version"] == version
    # a crash after 10 rows were committed (simulated by deleting rows), and a stale staging folder
    copy = tmp_path / "idx"
    shutil.copytree(index_dir, copy)
    ds = lance.dataset(str(table_path(copy)))
    keep = _ids(copy)[:10]
    ds.delete("id NOT IN (" + ",".join(f"'{x}'" for x in keep) + ")")
    (copy / "staging" / "junk.lance").mkdir(parents=True)
    info = build(BuildConfig(model=str(tiny_core_run), data=str(tiny_dataset), out=str(copy)), progress=False)
    ids = _ids(copy)
    assert len(ids) == len(set(ids)) == 48 and info["rows"] == 48
    assert not (copy / "staging").exists() or not any((copy / "staging").iterdir())


def test_search_matches_exact_search_over_the_table(index_dir):
    service = SearchService(index_dir)
    caption = service.table.to_table(columns=["captions"]).column(0)[5].as_py()[0]
    hits = service.search(text=caption, target="pose", k=5)
    assert len(hits) == 5 and [h.rank for h in hits] == list(range(5))
    q = service.encode(Query.make(text=caption, target="pose")).numpy()
    scores = (read_vectors(index_dir, "pose") @ q[0])
    order = np.argsort(-scores)[:5]
    assert [h.id for h in hits] == [_ids(index_dir)[i] for i in order]
    np.testing.assert_allclose([h.score for h in hits], scores[order], atol=1e-4)
    h = hits[0]
    assert h.pose.shape == (22, 3) and h.captions and h.family and h.split in ("train", "val")
    assert service.image(h)[:2] == b"\xff\xd8"  # the JPEG of that row, from its dataset


def test_mixed_batched_and_filtered_queries(index_dir):
    service = SearchService(index_dir)
    row = service.table.take([3], columns=["pose", "captions"]).to_pylist()[0]
    pose = np.asarray(row["pose"], np.float32).reshape(22, 3)
    image = service.image(service.table.take([3], columns=["image_ref"]).to_pylist()[0]["image_ref"])
    hits = service.search(image=image, text=row["captions"][0], pose=pose, target="text", k=3)
    assert len(hits) == 3
    batch = service.search(text=[row["captions"][0], "the left knee is bent"], target="image", k=4)
    assert len(batch) == 2 and all(len(b) == 4 for b in batch)
    val = service.search(text="the arms are raised", target="pose", k=20, filters={"split": "val"})
    assert 0 < len(val) <= 12 and all(h.split == "val" for h in val)
    fam = service.table.to_table(columns=["family"]).column(0)[0].as_py()
    hits = service.search(text="standing", k=3, filters={"family": fam, "split": ["train", "val"]})
    assert hits and all(h.family == fam for h in hits)
    assert len(service.search(text="x y", k=100)) == 48  # k > rows: every row once
    caps = [" ".join(c).lower() for c in service.table.to_table(columns=["captions"]).column(0).to_pylist()]
    word = next(w for w in ("knee", "elbow", "hand", "foot") if 0 < sum(w in c for c in caps) < 48)
    hits = service.search(text="standing", k=48, filters={"caption": word.upper()})
    assert len(hits) == sum(word in c for c in caps) and all(word in " ".join(h.captions).lower() for h in hits)


@pytest.mark.parametrize("kwargs, message", [
    ({"text": "a", "target": "shoe"}, "target 'shoe'"),
    ({}, "empty query"),
    ({"text": "   "}, "empty query"),
    ({"pose": np.zeros((21, 3))}, "expected shape"),
    ({"image": b"not an image"}, "image"),
    ({"text": "a", "k": 0}, "k=0"),
    ({"text": "a", "k": 10**7}, "expected between 1 and 1000"),
    ({"text": "a", "filters": {"colour": "red"}}, "filter 'colour'"),
    ({"text": "a", "filters": {"caption": "  "}}, "non-empty substring"),
])
def test_bad_queries_are_clear_errors(index_dir, kwargs, message):
    service = SearchService(index_dir)
    with pytest.raises(ValueError, match=message):
        service.search(**kwargs)


def test_missing_or_corrupt_index_dir(index_dir, tmp_path):
    with pytest.raises(IndexDirError, match="does not exist"):
        SearchService(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexDirError, match="not an index directory"):
        SearchService(tmp_path / "empty")
    broken = tmp_path / "broken"
    shutil.copytree(index_dir, broken)
    (broken / "index.json").write_text("{not json")
    with pytest.raises(IndexDirError, match="corrupt"):
        SearchService(broken)
    shutil.copytree(index_dir, tmp_path / "noann")
    shutil.rmtree(tmp_path / "noann" / "ann" / "pose")
    with pytest.raises(IndexDirError, match="pose ANN index"):
        SearchService(tmp_path / "noann")


def test_bad_build_inputs_fail_before_any_work(tiny_core_run, tiny_dataset, tiny_encoders, tmp_path):
    with pytest.raises(ValueError, match="not a trained core run"):
        build(BuildConfig(model=str(tiny_encoders["pose"]), data=str(tiny_dataset), out=str(tmp_path / "a")))
    with pytest.raises(ValueError, match="does not exist|manifest"):
        build(BuildConfig(model=str(tiny_core_run), data=str(tmp_path / "nodata"), out=str(tmp_path / "b")))
    with pytest.raises(ValueError, match="ann 'annoy'"):
        build(BuildConfig(model=str(tiny_core_run), data=str(tiny_dataset), out=str(tmp_path / "c"), ann="annoy"))
    with pytest.raises(ValueError, match="modalities pose, depth: expected some of"):
        build(BuildConfig(model=str(tiny_core_run), data=str(tiny_dataset), out=str(tmp_path / "d"),
                          modalities=("pose", "depth")))
    assert not any((tmp_path / x).exists() for x in ("a", "b", "c", "d"))


def test_index_of_some_modalities(index_dir, tiny_core_run, tiny_dataset, tmp_path):
    """`--modalities pose`: only pose vectors stored and searched; queries still take any input."""
    info = build(BuildConfig(model=str(tiny_core_run), data=str(tiny_dataset), out=str(tmp_path / "p"),
                             modalities=("pose",)), progress=False)
    assert info["modalities"] == ["pose"] and info["rows"] == 48 and set(info["ann"]) == {"pose"}
    service = SearchService(tmp_path / "p")
    full = SearchService(index_dir)
    text = "the left knee is bent"
    assert [h.id for h in service.search(text=text, k=5)] == [h.id for h in full.search(text=text, k=5)]
    with pytest.raises(ValueError, match="this index holds pose"):
        service.search(text=text, target="image")
    with pytest.raises(IndexDirError, match="indexes pose, not pose, text"):  # resuming with others
        build(BuildConfig(model=str(tiny_core_run), data=str(tiny_dataset), out=str(tmp_path / "p"),
                          modalities=("pose", "text")), progress=False)
    assert _select_modalities(("pose", "text"), ("text",)) == ("text",)
    with pytest.raises(ValueError, match="modalities image: this model and dataset have pose, text"):
        _select_modalities(("pose", "text"), ("image",))  # e.g. a dataset without images


def test_eval_retrieval_exact_and_through_the_index(index_dir, tiny_core_run, tiny_dataset, tmp_path):
    from indexing.evaluate import evaluate_retrieval

    report = evaluate_retrieval(tiny_core_run, tiny_dataset, "val", index=index_dir, plot=tmp_path / "r.png",
                                progress=False)
    assert report["rows"] == 12 and len([k for k in report["exact"] if k.endswith("/R@10")]) == 9
    assert 0 <= report["exact"]["mRecall"] <= 100
    # a flat index is exact: the ANN numbers equal exact search over the same gallery
    assert report["index"]["gallery_rows"] == 48
    assert abs(report["index"]["mRecall_difference"]) < 1e-9
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_cli_search_json_and_table(index_dir):
    search = [sys.executable, "-m", "pose_search_app", "search", "--index", str(index_dir)]
    # three independent read-only searches, run together (their start-ups overlap)
    as_json, as_table, bad_target = run_together([
        [*search, "--text", "the left knee is bent", "-k", "3", "--json"],
        [*search, "--text", "kneeling", "--target", "image", "-k", "2"],
        [*search, "--text", "x", "--target", "shoe"],
    ], timeout=600)
    r = as_json
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)
    assert len(hits) == 3 and {"id", "score", "caption", "pose", "image_ref"} <= set(hits[0])
    r = as_table
    assert r.returncode == 0 and "score" in r.stdout
    r = bad_target
    assert r.returncode == 2 and "target 'shoe'" in r.stderr and "Traceback" not in r.stderr


def test_hit_metadata_cache_matches_the_lance_table(index_dir, tmp_path):
    import shutil

    from indexing.table import HITS_FILE

    info = read_info(index_dir)
    cache = index_dir / HITS_FILE.format(version=info["table_version"])
    assert cache.is_file()  # written by `index build`
    work = tmp_path / "idx"
    shutil.copytree(index_dir, work)
    with_cache = SearchService(work)
    assert with_cache._hit_cache is not None
    fast = with_cache.search(text="the person raises both arms", target="pose", k=5)
    (work / cache.name).write_bytes(b"not arrow")  # corrupt: ignored, rows come from Lance
    slow_service = SearchService(work)
    assert slow_service._hit_cache is None
    slow = slow_service.search(text="the person raises both arms", target="pose", k=5)
    assert [h.to_dict() for h in fast] == [h.to_dict() for h in slow]


def test_describe_and_row_tell_what_the_ui_shows(index_dir):
    service = SearchService(index_dir)
    about = service.describe()
    assert about["rows"] == service.rows and about["modalities"] == list(service.modalities)
    assert about["model"]["core"] and set(about["model"]["encoders"]) == set(service.modalities)
    assert set(about["ann"]) == set(service.modalities) and about["model"]["fingerprint"]
    first = _ids(index_dir)[0]
    assert service.row(first, ["id", "split"])["id"] == first
    with pytest.raises(ValueError, match="unknown id 'nobody'"):
        service.row("nobody", ["id"])
    # the explorer's rows and a filtered search's rows come from the same filter
    val = service.lookup.matching(split="val")
    assert np.array_equal(val, np.flatnonzero(service.lookup.mask({"split": ("val",)})))
