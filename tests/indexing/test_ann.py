"""Vector indexes (indexing.ann): recall vs exact search, row mapping, auto choice, persistence,
error handling. Data: 20 Gaussian clusters on the 64-d sphere (ANN recall on uniform random
vectors is meaningless); queries imitate cross-modal ones: noisier than the database and shifted
by a fixed "modality gap" direction, so they are not drawn from the database distribution."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexing import ann
from indexing.ann import (
    MAX_K,
    CorruptIndexError,
    GpuUnavailableError,
    IndexLoadError,
    IndexNotFoundError,
    VectorIndex,
    build_index,
    choose_kind,
    estimate_memory,
    exact_search,
    load_index,
    recall_at_k,
)

N, D, CLUSTERS, K = 8_000, 64, 20, 10
TARGET = 0.95
REPO = Path(__file__).resolve().parents[2]


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int = D, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(vectors (n, dim), centres (CLUSTERS, dim))``: Gaussian clusters on the unit sphere."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(CLUSTERS, dim)))
    labels = rng.integers(0, CLUSTERS, n)
    return _unit(centres[labels] + 0.12 * rng.normal(size=(n, dim))), centres


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    ann.set_num_threads(1)  # the CI box is small and busy: OpenMP spin-waits hurt more than they help
    vectors, centres = clustered(N)
    rng = np.random.default_rng(1)
    gap = _unit(rng.normal(size=(1, D)))
    base = centres[rng.integers(0, CLUSTERS, 400)] + 0.25 * rng.normal(size=(400, D))
    queries = _unit(0.85 * _unit(base) + 0.5 * gap)
    _, exact_rows = exact_search(vectors, queries, K)
    return {"vectors": vectors, "tune": queries[:200], "held": queries[200:], "tune_exact": exact_rows[:200],
            "held_exact": exact_rows[200:]}


_BUILT: dict[str, VectorIndex] = {}


@pytest.fixture(scope="module")
def built(data):
    def get(kind: str) -> VectorIndex:
        if kind not in _BUILT:
            _BUILT[kind] = build_index(data["vectors"], kind, tune_queries=data["tune"], recall_target=TARGET, k=K)
        return _BUILT[kind]

    yield get
    _BUILT.clear()


BACKENDS = ["flat", "hnsw", "ivfpq", pytest.param("lance", marks=pytest.mark.slow)]


# --------------------------------------------------------------------------------------------
# exact search and recall


def test_exact_search_matches_brute_force():
    rng = np.random.default_rng(3)
    x = _unit(rng.normal(size=(3_000, 16)))
    q = _unit(rng.normal(size=(37, 16)))
    scores, rows = exact_search(x, q, 7, block_rows=1024)  # several database blocks
    full = q @ x.T
    want = np.argsort(-full, axis=1, kind="stable")[:, :7]
    assert rows.dtype == np.int64 and scores.dtype == np.float32 and rows.shape == (37, 7)
    np.testing.assert_array_equal(rows, want)
    np.testing.assert_allclose(scores, np.take_along_axis(full, want, 1), rtol=1e-5, atol=1e-6)
    # float16 memmap-like input is read block by block and cast
    assert np.array_equal(exact_search(x.astype(np.float16), q, 3)[1].shape, (37, 3))


def test_exact_search_pads_and_breaks_ties_by_row():
    x = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
    scores, rows = exact_search(x, np.array([[1, 0]], dtype=np.float32), 5)
    assert rows.tolist() == [[0, 2, 1, -1, -1]]
    assert np.isneginf(scores[0, 3:]).all() and scores[0, 0] == pytest.approx(1.0)


def test_recall_at_k():
    exact = np.array([[1, 2, 3], [4, 5, 6]])
    assert recall_at_k(exact, exact, 3) == 1.0
    assert recall_at_k(np.array([[3, 9, 1], [7, 8, 9]]), exact, 3) == pytest.approx((2 / 3 + 0) / 2)
    # fewer than k exist: the denominator is what exists, -1 pads never match
    assert recall_at_k(np.array([[0, 1, -1]]), np.array([[1, 0, -1]]), 3) == 1.0
    with pytest.raises(ValueError, match="columns"):
        recall_at_k(exact[:, :2], exact, 3)
    with pytest.raises(ValueError, match="Q, k"):
        recall_at_k(exact[0], exact, 3)


# --------------------------------------------------------------------------------------------
# backends


@pytest.mark.parametrize("kind", BACKENDS)
def test_backend_reaches_tuned_recall(kind, data, built):
    index = built(kind)
    info = index.info
    assert isinstance(index, VectorIndex)
    assert (index.kind, index.dim, len(index)) == (kind, D, N)
    for key in ("metric", "build_params", "search_params", "build_seconds", "memory_bytes", "recall_at_k", "qps"):
        assert key in info, key
    assert info["metric"] == "inner_product" and info["tuning"]["queries"] == "given"
    assert info["recall_target_reached"] is True and info["recall_at_k"] >= TARGET
    assert info["memory_bytes"] > 0 and info["qps"] > 0
    # info does not lie: searching the tune queries again gives the recorded recall
    scores, rows = index.search(data["tune"], K)
    assert rows.shape == (200, K) and rows.dtype == np.int64 and scores.dtype == np.float32
    assert recall_at_k(rows, data["tune_exact"], K) == pytest.approx(info["recall_at_k"], abs=1e-4)
    assert recall_at_k(rows, data["tune_exact"], K) >= TARGET
    # and it generalises to held-out queries of the same kind
    assert recall_at_k(index.search(data["held"], K)[1], data["held_exact"], K) >= TARGET - 0.03
    # scores are exact inner products of the returned rows, best first
    exact_scores = np.einsum("qd,qkd->qk", data["tune"], data["vectors"][rows])
    np.testing.assert_allclose(scores, exact_scores, atol=1e-4)
    assert (np.diff(scores, axis=1) <= 1e-5).all()


def test_flat_rows_map_back(data, built):
    index = built("flat")
    picks = np.array([0, 17, 4_321, N - 1])
    scores, rows = index.search(data["vectors"][picks], 5)
    assert rows[:, 0].tolist() == picks.tolist()
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert index.info["recall_at_k"] == 1.0 and index.info["search_params"] == {}


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq", pytest.param("lance", marks=pytest.mark.slow)])
def test_ann_rows_map_back(kind, data, built):
    picks = np.random.default_rng(5).choice(N, 100, replace=False)
    _, rows = built(kind).search(data["vectors"][picks], 3)
    assert np.mean(rows[:, 0] == picks) >= 0.95


@pytest.mark.slow
def test_lance_single_and_batch_queries_agree(data, built):
    index = built("lance")
    batch_s, batch_r = index.search(data["held"][:20], K)
    for i in range(20):
        s, r = index.search(data["held"][i : i + 1], K)
        np.testing.assert_array_equal(r[0], batch_r[i])
        np.testing.assert_allclose(s[0], batch_s[i], atol=1e-5)
    assert index.info["build_params"]["ann_index"] is True


def test_k_larger_than_n_and_empty_queries():
    x, _ = clustered(5, seed=2)
    index = build_index(x, "flat", k=3)
    scores, rows = index.search(x[:2], 8)
    assert rows.shape == (2, 8) and (rows[:, 5:] == -1).all() and np.isneginf(scores[:, 5:]).all()
    assert sorted(rows[0, :5].tolist()) == [0, 1, 2, 3, 4]
    s, r = index.search(np.zeros((0, D), np.float32), 4)
    assert s.shape == (0, 4) and r.shape == (0, 4)
    hnsw = build_index(x, "hnsw", k=3)
    assert (hnsw.search(x[:1], 8)[1][0, 5:] == -1).all()


def test_without_tune_queries_uses_database_sample(data):
    index = build_index(data["vectors"][:3_000], "hnsw")
    tuning = index.info["tuning"]
    assert tuning["queries"] == "database_sample" and tuning["n_queries"] == 1_000 and "cross-modal" in tuning["note"]


def test_unreached_target_is_reported(data, monkeypatch, caplog):
    monkeypatch.setattr("indexing.ann.api.EF_SEARCH", (10,))
    with caplog.at_level(logging.WARNING, logger="indexing.ann"):
        index = build_index(data["vectors"], "hnsw", tune_queries=data["tune"], recall_target=1.0,
                            tune_exact_rows=data["tune_exact"], build_params={"M": 4, "efConstruction": 8})
    info = index.info
    assert info["recall_target_reached"] is False and info["recall_at_k"] < 1.0 and "not reached" in info["warning"]
    assert any("NOT reached" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------------------------
# kind="auto"


def test_auto_rule():
    assert choose_kind(10_000, 512)[0] == "flat"
    # IVF-PQ + refine above the flat range: measured faster than HNSW at the recall target
    assert choose_kind(1_000_000, 512)[0] == "ivfpq"
    hnsw, ivfpq = estimate_memory("hnsw", 1_000_000, 512), estimate_memory("ivfpq", 1_000_000, 512)
    assert ivfpq < hnsw
    assert choose_kind(1_000_000, 512, memory_budget_bytes=ivfpq)[0] == "ivfpq"
    assert choose_kind(1_000_000, 512, gpu=True)[0] == "ivfpq"
    with pytest.raises(ValueError, match="no index kind fits"):
        choose_kind(1_000_000, 512, memory_budget_bytes=ivfpq // 2)


def test_auto_builds(data, monkeypatch):
    small = build_index(data["vectors"][:2_000], "auto")
    assert small.kind == "flat" and "fast enough" in small.info["auto_reason"]
    monkeypatch.setattr("indexing.ann.sizing.FLAT_MAX_N", 1_000)  # make 8k vectors "big"
    x = data["vectors"]
    ivfpq = estimate_memory("ivfpq", N, D)
    big = build_index(x, "auto", memory_budget_bytes=ivfpq, tune_queries=data["tune"],
                      tune_exact_rows=data["tune_exact"])
    assert big.kind == "ivfpq" and big.info["memory_bytes"] <= ivfpq
    assert "budget" in big.info["auto_reason"] and big.info["recall_target_reached"]
    with pytest.raises(ValueError, match="no index kind fits"):
        build_index(x, "auto", memory_budget_bytes=ivfpq // 2)


# --------------------------------------------------------------------------------------------
# persistence


@pytest.mark.parametrize("kind", BACKENDS)
def test_save_load_round_trip(kind, data, built, tmp_path):
    index = built(kind)
    index.save(tmp_path / "ix")
    again = load_index(tmp_path / "ix")
    assert (again.kind, again.dim, len(again)) == (kind, D, N)
    assert again.info["search_params"] == index.info["search_params"]
    assert again.info["recall_at_k"] == index.info["recall_at_k"]
    for q in (data["held"][:1], data["held"]):
        s1, r1 = index.search(q, K)
        s2, r2 = again.search(q, K)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_allclose(s1, s2, atol=1e-6)
    assert json.loads((tmp_path / "ix" / "index.json").read_text())["kind"] == kind
    again.save(tmp_path / "ix")  # saving over itself (lance: from its own files) works
    np.testing.assert_array_equal(load_index(tmp_path / "ix").search(data["held"], K)[1], r1)
    assert [p.name for p in tmp_path.iterdir()] == ["ix"]  # no temporary leftovers


def test_failed_save_leaves_nothing(data, built, tmp_path, monkeypatch):
    index = built("flat")
    index.save(tmp_path / "ix")
    before = (tmp_path / "ix" / "index.faiss").read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("faiss.write_index", boom)
    with pytest.raises(OSError, match="disk full"):
        index.save(tmp_path / "ix")
    with pytest.raises(OSError, match="disk full"):
        index.save(tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]
    assert (tmp_path / "ix" / "index.faiss").read_bytes() == before


def test_load_missing(tmp_path):
    with pytest.raises(IndexNotFoundError, match="does not exist") as err:
        load_index(tmp_path / "nope")
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, IndexLoadError)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty.*index\.json"):
        load_index(tmp_path / "empty")


def test_load_corrupt_faiss(data, built, tmp_path):
    built("flat").save(tmp_path / "ix")
    (tmp_path / "ix" / "index.json").write_text("{not json")
    with pytest.raises(CorruptIndexError, match=r"ix.*index\.json"):
        load_index(tmp_path / "ix")

    built("hnsw").save(tmp_path / "h")
    blob = tmp_path / "h" / "index.faiss"
    raw = bytearray(blob.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    blob.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"h.*index\.faiss is corrupt"):
        load_index(tmp_path / "h")
    blob.write_bytes(bytes(raw[:100]))
    with pytest.raises(CorruptIndexError, match="index.faiss"):
        load_index(tmp_path / "h")
    meta = json.loads((tmp_path / "h" / "index.json").read_text())
    meta.pop("files")  # no checksum: faiss itself must fail on the truncated file
    (tmp_path / "h" / "index.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptIndexError, match="cannot be read by faiss"):
        load_index(tmp_path / "h")
    blob.unlink()
    with pytest.raises(IndexNotFoundError, match="missing index.faiss"):
        load_index(tmp_path / "h")

    # a readable file whose contents disagree with index.json (no checksum to catch it first)
    built("flat").save(tmp_path / "f")
    meta = json.loads((tmp_path / "f" / "index.json").read_text())
    meta.pop("files")
    meta["n"] = N + 1
    (tmp_path / "f" / "index.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptIndexError, match="n=8000"):
        load_index(tmp_path / "f")


@pytest.mark.slow
def test_load_corrupt_lance(data, built, tmp_path):
    built("lance").save(tmp_path / "l")
    table = tmp_path / "l" / "vectors.lance"
    for f in (table / "data").iterdir():
        f.write_bytes(b"garbage")
    with pytest.raises(CorruptIndexError, match=r"l.*vectors\.lance"):
        load_index(tmp_path / "l")
    import shutil

    shutil.rmtree(table)
    with pytest.raises(IndexNotFoundError, match=r"missing vectors\.lance"):
        load_index(tmp_path / "l")


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        (np.ones((10, 4), dtype=np.int64), "float32"),
        (np.ones(4, dtype=np.float32), "2-D"),
        (np.ones((2, 3, 4), dtype=np.float32), "2-D"),
        (np.zeros((0, 4), dtype=np.float32), "empty"),
        (np.zeros((3, 0), dtype=np.float32), "dimension 0"),
        (np.array([[1, 0], [np.nan, 0]], dtype=np.float32), "NaN or inf.*row 1"),
        (np.array([[np.inf, 0]], dtype=np.float32), "NaN or inf"),
        ("vectors", "float32"),
    ],
)
def test_build_rejects_bad_vectors(vectors, message):
    with pytest.raises(ValueError, match=message):
        build_index(vectors, "flat")


def test_build_rejects_bad_options(data):
    x = data["vectors"][:500]
    with pytest.raises(ValueError, match="unknown index kind"):
        build_index(x, "annoy")
    with pytest.raises(ValueError, match="recall_target"):
        build_index(x, "hnsw", recall_target=1.5)
    with pytest.raises(ValueError, match="k must be >= 1"):
        build_index(x, "flat", k=0)
    with pytest.raises(ValueError, match="unknown build parameter"):
        build_index(x, "hnsw", build_params={"nlist": 3})
    with pytest.raises(ValueError, match="memory_budget_bytes"):
        build_index(x, "auto", memory_budget_bytes=-1)
    with pytest.raises(ValueError, match="dimension 32 does not match"):
        build_index(x, "hnsw", tune_queries=np.ones((3, 32), np.float32))
    with pytest.raises(ValueError, match="tune_exact_rows"):
        build_index(x, "hnsw", tune_queries=x[:5], tune_exact_rows=np.zeros((4, 10), np.int64))


def test_search_rejects_bad_queries(data, built):
    index = built("flat")
    q = data["held"][:2]
    with pytest.raises(ValueError, match="dimension 32 does not match the index dimension 64"):
        index.search(np.ones((2, 32), np.float32), K)
    with pytest.raises(ValueError, match="NaN or inf"):
        index.search(np.where(np.arange(D) == 3, np.nan, q), K)
    with pytest.raises(ValueError, match="reshape"):
        index.search(q[0], K)
    with pytest.raises(ValueError, match="float32"):
        index.search(q.astype(np.int32), K)
    for bad, message in ((0, ">= 1"), (-3, ">= 1"), (MAX_K + 1, "maximum"), ("5", "integer"), (2.0, "integer"),
                         (True, "integer")):
        with pytest.raises(ValueError, match=message):
            index.search(q, bad)
    # float64 queries are cast, not refused
    np.testing.assert_array_equal(index.search(q.astype(np.float64), K)[1], index.search(q, K)[1])


def test_gpu_requests(data):
    from indexing.ann.faiss_backend import gpu_count

    x = data["vectors"][:500]
    with pytest.raises(ValueError, match="no GPU implementation for kind 'hnsw'"):
        build_index(x, "hnsw", gpu=True)
    with pytest.raises(ValueError, match="lance"):
        build_index(x, "lance", gpu=True)
    if gpu_count() > 0:
        pytest.skip("a GPU is present: the no-GPU error cannot be checked here")
    with pytest.raises(GpuUnavailableError, match="sees no GPU"):
        build_index(x, "flat", gpu=True)


def test_threads(monkeypatch):
    import faiss

    monkeypatch.setenv("POSE_SEARCH_ANN_THREADS", "1")
    assert ann.set_num_threads() == 1 and faiss.omp_get_max_threads() == 1
    monkeypatch.delenv("POSE_SEARCH_ANN_THREADS")
    import os

    assert ann.set_num_threads() == (os.cpu_count() or 1)
    with pytest.raises(ValueError, match="threads"):
        ann.set_num_threads(0)
    ann.set_num_threads(1)


def test_import_is_light():
    code = ("import sys, indexing.ann; "
            "print(sorted(m for m in ('ray', 'gradio', 'faiss', 'lancedb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"
