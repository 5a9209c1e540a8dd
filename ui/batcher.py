"""A micro-batcher: concurrent single queries in, one batched model call out.

The UI serves many users at once, and the encoders are cheaper per item on a batch than one item
at a time. Callers block in :meth:`MicroBatcher.submit`; each of ``workers`` threads takes whatever
is waiting (after at most ``window_s``, at most ``max_batch`` items), groups it by key (queries
that can share a call, e.g. same target, k and filters) and calls ``fn(key, items)`` once per
group. Several workers keep several cores busy while one batch runs.

A failing group is retried item by item, so one bad query never fails its neighbours.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class BatchStats:
    """Counters of what the batcher did (shown on the Status tab)."""

    calls: int = 0
    items: int = 0
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)

    def add(self, size: int) -> None:
        self.calls += 1
        self.items += size
        self.largest = max(self.largest, size)
        self.sizes[size] = self.sizes.get(size, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        mean = self.items / self.calls if self.calls else 0.0
        return {"calls": self.calls, "items": self.items, "mean_batch": round(mean, 2), "largest_batch": self.largest}


class MicroBatcher(Generic[Item, Result]):
    """Collects concurrent :meth:`submit` calls into batched ``fn(key, items) -> results`` calls.

    ``window_s``: how long the worker waits for more items after the first one arrives (0: take
    only what is already waiting; queries that arrive while a batch runs form the next batch).
    """

    def __init__(self, fn: Callable[[Hashable, list[Item]], Sequence[Result]], window_s: float = 0.002,
                 max_batch: int = 32, workers: int = 1, name: str = "micro-batcher") -> None:
        if max_batch < 1 or window_s < 0 or workers < 1:
            raise ValueError("max_batch and workers must be >= 1, window_s >= 0")
        self.fn, self.window_s, self.max_batch = fn, window_s, max_batch
        self.stats = BatchStats()
        self._stats_lock = threading.Lock()
        self._queue: queue.Queue[tuple[Hashable, Item, Future] | None] = queue.Queue()
        self._closed = False
        self._workers = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        for w in self._workers:
            w.start()

    def submit(self, key: Hashable, item: Item, timeout: float | None = None) -> Result:
        """Queue ``item`` and wait for its result (or the exception its call raised)."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        hash(key)  # an unhashable key fails here, in the caller, not in (and not killing) a worker
        future: Future = Future()
        self._queue.put((key, item, future))
        return future.result(timeout)

    def close(self) -> None:
        """Stop the workers after the items already queued are served."""
        if not self._closed:
            self._closed = True
            for _ in self._workers:
                self._queue.put(None)
            for w in self._workers:
                w.join(timeout=10)

    # ------------------------------------------------------------------ worker
    def _collect(self, first: tuple[Hashable, Item, Future]) -> tuple[list[tuple[Hashable, Item, Future]], bool]:
        batch, stop = [first], False
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.max_batch:
            try:
                left = deadline - time.monotonic()
                nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                stop = True
                break
            batch.append(nxt)
        return batch, stop

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._collect(first)
            try:
                groups: dict[Hashable, list[tuple[Item, Future]]] = {}
                for key, item, future in batch:
                    groups.setdefault(key, []).append((item, future))
                for key, members in groups.items():
                    self._run(key, members)
            except Exception as exc:  # noqa: BLE001 - a worker must outlive any batch
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            if stop:
                return

    def _run(self, key: Hashable, members: list[tuple[Item, Future]]) -> None:
        items = [m[0] for m in members]
        try:
            results = list(self.fn(key, items))
            if len(results) != len(items):
                raise RuntimeError(f"batched call returned {len(results)} results for {len(items)} items")
        except Exception as exc:  # noqa: BLE001 - handed to the callers, not swallowed
            if len(members) == 1:
                members[0][1].set_exception(exc)
                self._count(1)
                return
            log.debug("batch of %d failed (%s); retrying one by one", len(items), exc)
            for member in members:
                self._run(key, [member])
            return
        self._count(len(items))
        for (_, future), result in zip(members, results):
            future.set_result(result)

    def _count(self, size: int) -> None:
        with self._stats_lock:
            self.stats.add(size)
