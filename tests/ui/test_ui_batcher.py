"""MicroBatcher: concurrent submits become batched calls, grouped by key; failures stay local."""

from __future__ import annotations

import threading
import time

import pytest

from ui.batcher import MicroBatcher


def _submit_all(batcher: MicroBatcher, jobs: list[tuple[str, int]]) -> dict[int, object]:
    out: dict[int, object] = {}
    barrier = threading.Barrier(len(jobs))

    def go(i: int, key: str, item: int) -> None:
        barrier.wait()
        try:
            out[i] = batcher.submit(key, item, timeout=10)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            out[i] = exc

    threads = [threading.Thread(target=go, args=(i, k, x)) for i, (k, x) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_concurrent_items_share_calls_grouped_by_key():
    calls: list[tuple[str, list[int]]] = []

    def fn(key, items):
        calls.append((key, list(items)))
        time.sleep(0.01)
        return [f"{key}:{x * 10}" for x in items]

    batcher = MicroBatcher(fn, window_s=0.05, max_batch=64)
    try:
        jobs = [("a" if i % 3 else "b", i) for i in range(24)]
        out = _submit_all(batcher, jobs)
    finally:
        batcher.close()
    assert out == {i: f"{k}:{x * 10}" for i, (k, x) in enumerate(jobs)}  # each caller gets its own result
    assert len(calls) < 24  # batched
    assert all(("a" if x % 3 else "b") == key for key, items in calls for x in items)  # never mixes keys
    assert batcher.stats.items == 24 and batcher.stats.largest > 1


def test_max_batch_is_respected():
    sizes: list[int] = []

    def fn(key, items):
        sizes.append(len(items))
        return items

    batcher = MicroBatcher(fn, window_s=0.05, max_batch=4)
    try:
        _submit_all(batcher, [("k", i) for i in range(16)])
    finally:
        batcher.close()
    assert max(sizes) <= 4 and sum(sizes) == 16


def test_a_failing_item_fails_alone():
    def fn(key, items):
        if any(x < 0 for x in items):
            raise ValueError("negative item")
        return [x + 1 for x in items]

    batcher = MicroBatcher(fn, window_s=0.05, workers=2)
    try:
        out = _submit_all(batcher, [("k", -1)] + [("k", i) for i in range(7)])
    finally:
        batcher.close()
    assert isinstance(out[0], ValueError) and "negative" in str(out[0])
    assert [out[i] for i in range(1, 8)] == [i + 1 for i in range(7)]


def test_an_unhashable_key_fails_its_caller_and_the_workers_go_on():
    """A list as a key once killed a worker thread, and every later submit hung."""
    batcher = MicroBatcher(lambda key, items: [x * 2 for x in items], workers=1)
    try:
        with pytest.raises(TypeError, match="unhashable"):
            batcher.submit(["pose"], 1, timeout=5)
        assert batcher.submit("k", 3, timeout=5) == 6
    finally:
        batcher.close()


def test_close_and_bad_settings():
    batcher = MicroBatcher(lambda key, items: items, workers=3)
    assert batcher.submit("k", 5) == 5
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit("k", 1)
    for kwargs in ({"max_batch": 0}, {"window_s": -1}, {"workers": 0}):
        with pytest.raises(ValueError):
            MicroBatcher(lambda key, items: items, **kwargs)
