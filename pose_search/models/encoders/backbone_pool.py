"""Fill the token cache with several processes, each running the int8 backbone on one thread.

The int8 backbone runs one text at a time (:meth:`PretrainedTextEncoder.backbone_tokens`): small
matrix products that two torch threads share badly. On an idle 2-core machine two threads fill a
little faster than one, but as soon as anything else runs (a browser, a test, another job) they
wait on each other at every step and the rate collapses (a third of the idle rate beside one
busy process: ``benchmarks/results/text_encoder_cpu.json``, ``fill_under_load``). Processes with
one thread each do not wait on each other and keep their rate on a busy machine.

Workers are *spawned* (never forked: the parent may hold Ray's or torch's threads) and each
builds the encoder from its config, so they compute exactly what the parent would.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

MIN_TEXTS_PER_WORKER = 1000  # below this a worker's start-up (loading and quantising the backbone) costs more
MAX_WORKERS = 4

_ENCODER: Any = None  # the worker's encoder (one per worker process)


def fill_workers(missing: int, cpus: int | None = None) -> int:
    """How many processes fill ``missing`` texts: one per core (at most :data:`MAX_WORKERS`), one
    per :data:`MIN_TEXTS_PER_WORKER` texts, at least 1 (1 = in the calling process)."""
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    return max(1, min(cpus, MAX_WORKERS, missing // MIN_TEXTS_PER_WORKER))


def _start(factory: Callable[..., Any], config: dict[str, Any]) -> None:
    import torch

    global _ENCODER
    torch.set_num_threads(1)
    _ENCODER = factory(**config).eval()


def _compute(texts: list[str]) -> list[np.ndarray]:
    return _ENCODER.token_outputs(texts)


class BackbonePool:
    """``pool(texts)`` -> per text its token outputs ``(L_i, H)``, computed by ``workers`` spawned
    processes (the texts split into contiguous shares), each holding ``factory(**config)`` (an
    importable class or function whose result has ``token_outputs(texts)``, e.g.
    ``PretrainedTextEncoder``). Use as a context manager."""

    def __init__(self, factory: Callable[..., Any], config: dict[str, Any], workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.factory = factory
        self.config = dict(config)
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> BackbonePool:
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start, initargs=(self.factory, self.config))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __call__(self, texts: list[str]) -> list[np.ndarray]:
        if self._pool is None:
            raise RuntimeError("BackbonePool is used outside its `with` block")
        share = -(-len(texts) // self.workers)
        shares = [texts[s : s + share] for s in range(0, len(texts), share)]
        return [h for out in self._pool.map(_compute, shares) for h in out]
