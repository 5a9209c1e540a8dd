"""Resource requests no machine can give (``--workers 1000000``, batch sizes of 10**12, a CPU
count of 10**9) for the training driver and the index build, and generated clusters with requests
that do or do not fit them.

A request that cannot be placed must fail in well under a second with a ``ValueError`` naming the
argument, before Ray is started (the tripwires of :mod:`tests.reliability.cli_run` check that):
Ray itself would wait for ever for the workers.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability.harness import Case

ERRORS = (ValueError,)


def huge_counts(rng: np.random.Generator, cap: int, n: int = 4) -> list[tuple[str, Any]]:
    """Whole numbers past ``cap``, and values that are no count."""
    draws = [int(10 ** float(e)) for e in rng.uniform(math.log10(cap + 1), 18, size=n)]
    return ([(f"{v:,}", v) for v in [cap + 1, 10**6 + cap, 2**63, 10**30, *draws]]
            + [("0", 0), ("-1", -1), ("-(2**40)", -(2**40)), ("2.5", 2.5), ("'4'", "4"), ("None", None),
               ("True", True), ("nan", math.nan), ("inf", math.inf)])


def huge_amounts(rng: np.random.Generator, n: int = 3) -> list[tuple[str, Any]]:
    """CPU amounts per worker no node has, and values that are no amount."""
    draws = [float(10 ** e) for e in rng.uniform(3.2, 12, size=n)]
    return [(f"{v:g}", v) for v in [1e6, 1e300, *draws]] + [
        ("0", 0.0), ("-0.5", -0.5), ("nan", math.nan), ("inf", math.inf), ("'1'", "1"), ("None", None)]


def _fit(overrides: dict[str, Any], run_dir: Path) -> Any:
    from training.driver import TrainConfig, fit

    return fit(TrainConfig(task="posevae", run_dir=str(run_dir), data=str(run_dir / "data"), **overrides))


def _build(overrides: dict[str, Any], out: Path) -> Any:
    from indexing.build import BuildConfig, build

    return build(BuildConfig(model=str(out / "model"), data=str(out / "data"), out=str(out), **overrides))


def driver_cases(work: Path, rng: np.random.Generator) -> list[Case]:
    """``training.driver.fit`` and ``indexing.build.build`` with counts no cluster can give."""
    from indexing.build import MAX_BATCH_SIZE as MAX_INDEX_BATCH
    from pose_search.resources import MAX_WORKERS
    from training.config import MAX_BATCH_SIZE, MAX_EPOCHS

    cases = []
    caps = {"workers": MAX_WORKERS, "batch_size": MAX_BATCH_SIZE, "epochs": MAX_EPOCHS, "val_every": MAX_EPOCHS}
    for field, cap in caps.items():
        for label, value in huge_counts(rng, cap):
            cases.append(Case(f"fit({field}={label})", functools.partial(_fit, {field: value}, work / "run"),
                              field, ERRORS))
    for label, value in huge_amounts(rng):
        cases.append(Case(f"fit(cpus_per_worker={label})", functools.partial(_fit, {"cpus_per_worker": value},
                                                                              work / "run"), "cpus_per_worker", ERRORS))
    for label, value in [("-2", -2), ("10**9", 10**9), ("'x'", "x")]:
        cases.append(Case(f"fit(max_failures={label})", functools.partial(_fit, {"max_failures": value}, work / "run"),
                          "max_failures", ERRORS))
    for field, cap in (("workers", MAX_WORKERS), ("batch_size", MAX_INDEX_BATCH)):
        for label, value in huge_counts(rng, cap)[:8]:
            cases.append(Case(f"build({field}={label})", functools.partial(_build, {field: value}, work / "index"),
                              field, ERRORS))
    return cases


def random_cluster(rng: np.random.Generator) -> list[dict[str, float]]:
    """1 to 8 nodes of 0.5 to 64 CPUs, some with GPUs."""
    nodes = []
    for _ in range(int(rng.integers(1, 9))):
        node = {"CPU": float(rng.choice([0.5, 1, 2, 4, 8, 16, 32, 64])), "memory": 1e9}
        if rng.random() < 0.4:
            node["GPU"] = float(rng.integers(1, 9))
        nodes.append(node)
    return nodes


def placement_cases(rng: np.random.Generator, n: int = 40) -> tuple[list[Case], list[tuple[Any, ...]]]:
    """(requests that no packing of a generated cluster can place: a clear ResourceError each;
    requests that fit: ``(request, nodes)`` pairs, documented successes)."""
    from pose_search.resources import WorkerRequest, check_fits, workers_that_fit

    refused, fitting = [], []
    for _ in range(n):
        nodes = random_cluster(rng)
        cpus = float(rng.choice([0.25, 0.5, 1, 2, 4, 8]))
        gpus = float(rng.choice([0, 0, 1, 2]))
        most = workers_that_fit(nodes, cpus, gpus)
        over = WorkerRequest(int(most + rng.integers(1, 1000)), cpus, gpus)
        if over.workers <= 1024:
            refused.append(Case(f"check_fits({over.workers} x {cpus:g} CPU + {gpus:g} GPU on {len(nodes)} nodes)",
                                functools.partial(check_fits, over, nodes), r"--workers \d+: the cluster", ERRORS))
        if most >= 1:
            fitting.append((WorkerRequest(int(rng.integers(1, min(most, 1024) + 1)), cpus, gpus), nodes))
    return refused, fitting
