"""What a job asks of a cluster, checked against what the cluster has before the job is started.

A Ray job whose actors cannot all be placed does not fail: it waits for nodes that never come
(``--workers 1000000`` waits for ``{'CPU': 0.5} * 1000000`` for ever). The callers (the training
driver, the embedding job) describe their request as a :class:`WorkerRequest` and the cluster as
the resource maps of its live nodes (``ray.nodes()``), and :func:`check_fits` refuses a request no
packing can place, in milliseconds. Pure functions: the library never imports Ray.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_WORKERS = 1024  # a sanity cap checked before any cluster is asked (64 GPUs is our largest plan)


class ResourceError(ValueError):
    """A request that the cluster cannot place (or no cluster could: a count out of bounds)."""


@dataclass(frozen=True)
class WorkerRequest:
    """``workers`` actors of ``cpus`` CPUs and ``gpus`` GPUs each (every actor on one node)."""

    workers: int
    cpus: float
    gpus: float = 0.0
    flag: str = "--workers"  # how the user asked for ``workers`` (named in messages)


def check_count(name: str, value: Any, low: int = 1, high: int = MAX_WORKERS) -> int:
    """``value`` as an int in ``low..high``; ResourceError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ResourceError(f"{name} {shown}: expected a whole number from {low} to {high:,}")
    return value


def check_local_count(name: str, value: Any, per_core: int = 4) -> int:
    """``value`` as a count of processes or threads on this machine: 1 to ``per_core`` x its cores."""
    cores = os.cpu_count() or 1
    try:
        return check_count(name, value, 1, per_core * cores)
    except ResourceError as exc:
        raise ResourceError(f"{exc} (this machine has {cores} cores)") from None


def check_amount(name: str, value: Any, high: float) -> float:
    """``value`` as a finite number in ``(0, high]``; ResourceError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 < value <= high:
        raise ResourceError(f"{name} {value!r}: expected a number > 0 and <= {high:g}")
    return float(value)


def live_node_resources(nodes: Iterable[Mapping[str, Any]]) -> list[dict[str, float]]:
    """The resource maps of the live nodes in ``ray.nodes()``'s answer."""
    return [{k: float(v) for k, v in (n.get("Resources") or {}).items() if isinstance(v, (int, float))}
            for n in nodes if n.get("Alive", True)]


def workers_that_fit(nodes: Iterable[Mapping[str, float]], cpus: float, gpus: float = 0.0) -> int:
    """How many actors of ``cpus`` CPUs and ``gpus`` GPUs the nodes can hold at once (each actor
    on one node; total resources, not what other jobs use now)."""
    total = 0
    for node in nodes:
        fits = [math.floor(node.get("CPU", 0.0) / cpus + 1e-9)] if cpus > 0 else []
        if gpus > 0:
            fits.append(math.floor(node.get("GPU", 0.0) / gpus + 1e-9))
        total += min(fits) if fits else MAX_WORKERS
    return total


def check_fits(request: WorkerRequest, nodes: list[Mapping[str, float]]) -> None:
    """ResourceError unless ``request`` can be placed on ``nodes`` (resource maps of live nodes)."""
    check_count(request.flag, request.workers)
    fit = workers_that_fit(nodes, request.cpus, request.gpus)
    if request.workers <= fit:
        return
    cpus = sum(n.get("CPU", 0.0) for n in nodes)
    gpus = sum(n.get("GPU", 0.0) for n in nodes)
    each = f"{request.cpus:g} CPU" + (f" + {request.gpus:g} GPU" if request.gpus else "")
    raise ResourceError(
        f"{request.flag} {request.workers}: the cluster ({len(nodes)} node(s), {cpus:g} CPUs, {gpus:g} GPUs) "
        f"holds at most {fit} worker(s) of {each} each; ask for fewer, or start more nodes first "
        "(pose-search cluster up)")
