"""Local paths and object-storage URIs (pose_search.storage) against a local S3 server."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from pose_search import storage


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(storage.SYNC_STATE)}


def test_uri_rules():
    assert storage.is_uri("s3://bucket/key") and storage.is_uri("file:///tmp/x") and storage.is_uri("gs://b")
    assert not storage.is_uri("/tmp/x") and not storage.is_uri("relative/dir") and not storage.is_uri("C:x")
    assert storage.join("s3://b/run/", "best", "core") == "s3://b/run/best/core"
    assert storage.join("/tmp/run", "best") == "/tmp/run/best"
    with pytest.raises(ValueError, match="nosuchscheme"):
        storage.filesystem("nosuchscheme://bucket/x")


def test_local_paths_pass_through(tmp_path):
    assert storage.local_copy(tmp_path) == tmp_path
    assert storage.working_dir(tmp_path / "run") == tmp_path / "run"
    assert storage.local_copy(f"file://{tmp_path}") == tmp_path
    storage.publish(tmp_path, tmp_path)  # a local target: nothing to upload


def test_push_pull_round_trip_transfers_only_changes(tmp_path, s3, monkeypatch):
    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path / "cache"))
    uri = "s3://pose-search/runs/a"
    work = storage.working_dir(uri)  # nothing there yet: an empty local working dir
    assert work.is_dir() and not any(work.iterdir())
    (work / "best" / "core").mkdir(parents=True)
    (work / "best" / "core" / "model.safetensors").write_bytes(os.urandom(300_000))
    (work / "metrics.jsonl").write_text('{"epoch": 1}\n')
    storage.publish(work, uri)
    assert storage.exists(uri) and storage.exists(storage.join(uri, "best/core/model.safetensors"))

    mirror = storage.local_copy(uri)
    assert mirror != work and _tree(mirror) == _tree(work)
    first = (mirror / "best/core/model.safetensors").stat().st_mtime_ns

    time.sleep(0.01)
    (work / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2}\n')
    storage.publish(work, uri, ["metrics.jsonl"])
    mirror = storage.local_copy(uri)
    assert (mirror / "metrics.jsonl").read_text().count("epoch") == 2
    # the unchanged large file was not downloaded again
    assert (mirror / "best/core/model.safetensors").stat().st_mtime_ns == first

    # a file deleted at the source disappears from the mirror; excluded names are not fetched
    fs, inner = storage.filesystem(storage.join(uri, "metrics.jsonl"))
    fs.delete_file(inner)
    mirror = storage.local_copy(uri, exclude=("best",))
    assert not (mirror / "metrics.jsonl").exists()
    assert storage.read_bytes(storage.join(uri, "best/core/model.safetensors")) == \
        (work / "best/core/model.safetensors").read_bytes()
    with pytest.raises(FileNotFoundError, match="missing"):
        storage.read_bytes(storage.join(uri, "missing.json"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        storage.local_copy("s3://pose-search/nothing/here")
    storage.remove_tree(uri)
    assert not storage.exists(uri)


def test_pointer_file_is_fetched_first(tmp_path, s3, monkeypatch):
    """A reader goes through the pointer (index.json) that writers upload last."""
    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path / "cache"))
    uri = "s3://pose-search/index"
    src = tmp_path / "src"
    (src / "db").mkdir(parents=True)
    (src / "db" / "v1").write_text("one")
    (src / "index.json").write_text(json.dumps({"version": 1}))
    storage.push(src, uri)
    mirror = storage.local_copy(uri, pointer="index.json")
    assert json.loads((mirror / "index.json").read_text()) == {"version": 1}
    assert (mirror / "db" / "v1").read_text() == "one"


def test_dataset_read_through_a_uri(tmp_path, s3, monkeypatch, tiny_dataset):
    """Manifest, tables and image files of a dataset in object storage, read without a copy."""
    from pose_search.data.loaders.crops import load_image
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import DatasetError, open_table, read_manifest, read_table

    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path / "cache"))
    uri = "s3://pose-search/data/tiny"
    storage.push(tiny_dataset, uri)
    assert read_manifest(uri) == read_manifest(tiny_dataset)
    assert open_table(uri, POSES_TABLE).count_rows() == open_table(tiny_dataset, POSES_TABLE).count_rows()
    local = read_table(tiny_dataset, POSES_TABLE, ["id", "image"])
    remote = read_table(uri, POSES_TABLE, ["id", "image"])
    assert remote.column("id").to_pylist() == local.column("id").to_pylist()
    with pytest.raises(DatasetError, match="does not exist"):
        read_manifest("s3://pose-search/data/none")
    # an image referenced by URI (big real datasets keep images as files)
    png = local.column("image")[0].as_py()
    fs, inner = storage.filesystem("s3://pose-search/img/a.png")
    with fs.open_output_stream(inner) as out:
        out.write(png)
    img = load_image("s3://pose-search/img/a.png")
    assert np.asarray(img).ndim == 3


def test_index_served_from_object_storage(tmp_path, s3, monkeypatch, tiny_index, tiny_core_run, tiny_dataset):
    """An index uploaded to S3 answers through SearchService, the UI backend and eval retrieval."""
    from indexing.evaluate import evaluate_retrieval
    from indexing.service import SearchService
    from indexing.table import IndexDirError
    from ui.backend import UIBackend

    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path / "cache"))
    uri = "s3://pose-search/indexes/tiny"
    storage.push(tiny_index, uri)
    local = SearchService(tiny_index)
    remote = SearchService(uri)
    assert remote.root != tiny_index and remote.rows == local.rows
    q = "a person standing with the arms raised"
    assert [h.id for h in remote.search(text=q, k=5)] == [h.id for h in local.search(text=q, k=5)]
    with pytest.raises(IndexDirError, match="does not exist"):
        SearchService("s3://pose-search/indexes/none")

    data = "s3://pose-search/data/tiny"
    storage.push(tiny_dataset, data)
    backend = UIBackend(uri, data_dir=data)
    try:
        assert backend.status()["index"] == uri
        cards = backend.search(text=q, k=3)
        assert len(cards) == 3
    finally:
        backend.close()

    core = "s3://pose-search/runs/tiny-core"
    storage.push(tiny_core_run, core)
    report = evaluate_retrieval(core, data, split="val", index=uri, progress=False)
    assert report["index"]["mRecall_difference"] == pytest.approx(0, abs=1.0)


def test_data_generate_writes_to_a_uri(tmp_path, s3, monkeypatch):
    """`data generate --out s3://...`: generated locally, uploaded with the manifest last."""
    from pose_search.data.schema import POSES_TABLE
    from pose_search.data.store import open_table, read_manifest
    from pose_search_app.cli import main

    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path / "cache"))
    uri = "s3://pose-search/data/generated"
    assert main(["data", "generate", "--size", "6", "--workers", "1", "--out", uri]) == 0
    assert read_manifest(uri)["counts"]["poses"] == 6
    assert open_table(uri, POSES_TABLE).count_rows() == 6
    assert main(["data", "generate", "--size", "6", "--workers", "1", "--out", uri]) == 0  # a re-run adds nothing
    assert open_table(uri, POSES_TABLE).count_rows() == 6
