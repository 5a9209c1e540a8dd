"""Pick the cheapest search parameters that reach a recall target against exact search.

A backend exposes ``search(queries (Q, D), k, params) -> (scores (Q, k), rows (Q, k))`` where
``params`` are its search-time knobs (``{"efSearch": 64}``, ``{"nprobe": 16, "k_factor": 4}``,
``{"nprobes": 20, "refine_factor": 5}``). Recall is measured in one batch over all tune
queries; speed is measured the way the service searches: one query at a time (QPS).

Recall grows with every knob (more probes / a bigger re-ranked shortlist / a wider beam), so:

* one knob (:func:`tune_1d`): the smallest value that reaches the target;
* two knobs (:func:`tune_2d`): for each value of the secondary knob the smallest primary value
  that reaches the target (a staircase walk along that front); then the fastest of those
  candidates by measured QPS.

When no evaluated setting reaches the target the one with the best recall is kept and the
result says ``reached=False`` (the caller records it and logs a warning).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from indexing.ann.exact import recall_at_k

log = logging.getLogger("indexing.ann")

SearchFn = Callable[[np.ndarray, int, Mapping[str, int]], tuple[np.ndarray, np.ndarray]]


@dataclass
class TuneResult:
    """Outcome of tuning: the chosen ``params``, their recall@k and single-query QPS."""

    params: dict[str, int]
    recall: float
    qps: float
    reached: bool
    curve: list[dict] = field(default_factory=list)  # every evaluated setting with its recall (and qps)

    def as_dict(self) -> dict:
        return asdict(self)


def measure_recall(search: SearchFn, params: Mapping[str, int], queries: np.ndarray,
                   exact_rows: np.ndarray, k: int) -> float:
    """recall@k of ``search`` with ``params`` over ``queries (Q, D)`` vs ``exact_rows (Q, >=k)``."""
    _, rows = search(queries, k, params)
    return recall_at_k(rows, exact_rows, k)


def measure_qps(search: SearchFn, params: Mapping[str, int], queries: np.ndarray, k: int, *,
                max_queries: int = 200, max_seconds: float = 5.0, warmup: int = 3) -> float:
    """Single-query throughput: queries sent one at a time (``(1, D)`` each), as a service does.

    Stops after ``max_queries`` queries or ``max_seconds`` (at least ``min(5, Q)`` are timed).
    """
    n = len(queries)
    if n == 0:
        return float("nan")
    for i in range(min(warmup, n)):
        search(queries[i : i + 1], k, params)
    done = 0
    start = time.perf_counter()
    elapsed = 0.0
    while done < min(max_queries, n):
        search(queries[done : done + 1], k, params)
        done += 1
        elapsed = time.perf_counter() - start
        if elapsed > max_seconds and done >= min(5, n):
            break
    return done / max(elapsed, 1e-9)


def tune_1d(search: SearchFn, name: str, values: Sequence[int], queries: np.ndarray,
            exact_rows: np.ndarray, k: int, target: float, *,
            fixed: Mapping[str, int] | None = None, qps_queries: int = 200) -> TuneResult:
    """Smallest ``values[i]`` of knob ``name`` whose recall@k reaches ``target``."""
    fixed = dict(fixed or {})
    curve: list[dict] = []
    best: tuple[float, dict[str, int]] | None = None
    chosen: dict[str, int] | None = None
    for value in values:
        params = {**fixed, name: int(value)}
        r = measure_recall(search, params, queries, exact_rows, k)
        curve.append({**params, "recall": r})
        if best is None or r > best[0]:
            best = (r, params)
        if r >= target:
            chosen = params
            break
    assert best is not None, "no values to tune over"
    reached = chosen is not None
    params = chosen if chosen is not None else best[1]
    recall = next(p["recall"] for p in curve if _same(p, params))
    qps = measure_qps(search, params, queries, k, max_queries=qps_queries)
    return TuneResult(params=params, recall=recall, qps=qps, reached=reached, curve=curve)


def tune_2d(search: SearchFn, primary: tuple[str, Sequence[int]], secondary: tuple[str, Sequence[int]],
            queries: np.ndarray, exact_rows: np.ndarray, k: int, target: float, *,
            qps_queries: int = 200, plateau: float = 0.002) -> TuneResult:
    """Fastest (by single-query QPS) setting of two knobs whose recall@k reaches ``target``.

    ``primary`` (e.g. nprobe) and ``secondary`` (e.g. k_factor) value lists are ascending.
    Staircase walk over the Pareto front: from the largest secondary value down, find the
    smallest primary value that reaches the target, starting from the previous one (a smaller
    secondary never needs a smaller primary); stop when a secondary value cannot reach it (its
    recall plateaus: two more primary steps gained < ``plateau`` at a recall of at least a quarter
    of the target, or the primary values run out).
    About ``len(primary) + len(secondary)`` recall evaluations; then every front point is
    timed and the fastest wins.
    """
    p_name, p_values = primary
    s_name, s_values = secondary
    curve: list[dict] = []
    candidates: list[dict[str, int]] = []
    best: tuple[float, dict[str, int]] | None = None
    i = 0  # index into p_values, only moves up
    for s in reversed(s_values):
        last: list[float] = []
        reached = False
        while i < len(p_values):
            params = {p_name: int(p_values[i]), s_name: int(s)}
            r = measure_recall(search, params, queries, exact_rows, k)
            curve.append({**params, "recall": r})
            if best is None or r > best[0]:
                best = (r, params)
            if r >= target:
                candidates.append(params)
                reached = True
                break
            last.append(r)
            if len(last) >= 3 and last[-1] >= 0.25 * target and last[-1] - last[-3] < plateau:
                break  # recall stopped growing with the primary knob: the secondary one limits it
            i += 1
        if not reached:
            break
    assert best is not None, "no values to tune over"
    if not candidates:
        params = best[1]
        qps = measure_qps(search, params, queries, k, max_queries=qps_queries)
        _point(curve, params)["qps"] = qps
        return TuneResult(params=params, recall=best[0], qps=qps, reached=False, curve=curve)
    timed = []
    for params in candidates:
        qps = measure_qps(search, params, queries, k, max_queries=qps_queries)
        _point(curve, params)["qps"] = qps
        timed.append((qps, params))
    qps, params = max(timed, key=lambda t: t[0])
    return TuneResult(params=params, recall=_point(curve, params)["recall"], qps=qps, reached=True, curve=curve)


def report(kind: str, result: TuneResult, target: float, k: int) -> None:
    """Log the outcome; a warning when the target was not reached."""
    if result.reached:
        log.info("%s: %s reaches recall@%d %.3f (target %.2f) at %.0f QPS", kind, result.params, k,
                 result.recall, target, result.qps)
    else:
        log.warning("%s: recall@%d target %.2f NOT reached; best %.3f with %s (%.0f QPS)", kind, k, target,
                    result.recall, result.params, result.qps)


def _same(point: Mapping, params: Mapping[str, int]) -> bool:
    return all(point.get(key) == value for key, value in params.items())


def _point(curve: list[dict], params: Mapping[str, int]) -> dict:
    return next(p for p in curve if _same(p, params))
