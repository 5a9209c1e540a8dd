"""Human queries: everyday search-box texts ("lying flat on the back", "sqauting", "left knee on
the ground", ...) through text -> pose search, each returned pose judged by a predicate on its
joints (:mod:`benchmarks.human_queries_set`).

For every index given: every query goes through ``SearchService.search(text=..., target="pose",
k=10)``, one query at a time (timed: p50 / p99 of the wall time per query, after one warm-up
query); each hit's joints come from ``hit.pose`` by forward kinematics and the query's predicate
says whether a person would accept it. Per query: precision@5, precision@10, chance (the share of
ALL the index's poses that satisfy the predicate, read from the table's ``pose`` column) and the
ratio of precision@10 to chance; their means over all queries, over the queries with a non-zero
chance, and per tag (typo, side, activity, ...). Writes ``benchmarks/results/human_queries.json``,
one entry per index name, keeping the entries of other names already in the file.

    .venv/bin/python benchmarks/human_queries.py --index demo=demo/index
    .venv/bin/python benchmarks/human_queries.py --index script=experiments/synthetic/index --index v2=...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.human_queries_set import QUERIES, HumanQuery  # noqa: E402

K = 10
OUT = ROOT / "benchmarks" / "results" / "human_queries.json"
CHANCE_BATCH_ROWS = 65_536  # poses per forward-kinematics batch when scanning the whole table


def joints_of(poses: np.ndarray) -> np.ndarray:
    """Canonical joints ``(N, 22, 3)`` of poses ``(N, 22, 3)`` (the neutral body's skeleton)."""
    import torch

    from pose_search.body.skeleton import forward_kinematics

    if len(poses) == 0:
        return np.zeros((0, 22, 3), np.float32)
    return forward_kinematics(torch.from_numpy(np.array(poses, dtype=np.float32))).numpy()  # a writable copy


def chance_rates(service: Any, queries: Sequence[HumanQuery] = QUERIES,
                 batch_rows: int = CHANCE_BATCH_ROWS) -> tuple[np.ndarray, int]:
    """Share ``(Q,)`` of all the index's poses satisfying each query's predicate, and the number
    of poses; the table's ``pose`` column is read in batches (bounded memory on 1M rows)."""
    counts = np.zeros(len(queries), np.int64)
    total = 0
    for batch in service.table.to_batches(columns=["pose"], batch_size=batch_rows):
        col = batch.column(0)
        if len(col) == 0:
            continue
        poses = col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), 22, 3)
        joints = joints_of(poses)
        counts += np.array([int(q(joints).sum()) for q in queries], np.int64)
        total += len(col)
    return counts / max(total, 1), total


def read_entries(out: Path) -> dict[str, Any]:
    """A results file with one entry per index name (``{"indexes": {...}, ...}``), or an empty one
    when it is missing, unreadable or of another layout."""
    try:
        data = json.loads(out.read_text()) if out.is_file() else {}
    except json.JSONDecodeError:
        data = {}
    return data if isinstance(data.get("indexes"), dict) else {"indexes": {}}


def index_specs(parser: argparse.ArgumentParser, specs: Sequence[str]) -> dict[str, str]:
    """``--index NAME=PATH`` values -> ``{name: path}`` (a parser error for a malformed one)."""
    indexes = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            parser.error(f"--index {spec!r}: expected NAME=PATH")
        indexes[name] = path
    return indexes


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if len(values) else None


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means of the per-query rows: all queries, and those with a non-zero chance."""
    with_chance = [r for r in rows if r["chance"] > 0]
    return {
        "queries": len(rows),
        "p_at_5": _mean([r["p_at_5"] for r in rows]),
        "p_at_10": _mean([r["p_at_10"] for r in rows]),
        "chance": _mean([r["chance"] for r in rows]),
        "with_chance": {
            "queries": len(with_chance),
            "p_at_5": _mean([r["p_at_5"] for r in with_chance]),
            "p_at_10": _mean([r["p_at_10"] for r in with_chance]),
            "chance": _mean([r["chance"] for r in with_chance]),
            # mean over queries of precision@10 / chance (1 = no better than a random pose)
            "ratio_to_chance": _mean([r["ratio_to_chance"] for r in with_chance]),
        },
    }


def evaluate(service: Any, queries: Sequence[HumanQuery] = QUERIES, k: int = K) -> dict[str, Any]:
    """Run every query through ``service`` (a :class:`indexing.service.SearchService`); per-query
    rows, the summary, a per-tag summary, the query latency and the number of indexed poses."""
    chance, rows_total = chance_rates(service, queries)
    n = min(k, rows_total)
    if n == 0:
        raise ValueError("the index holds no poses")
    service.search(text=queries[0].text, target="pose", k=k)  # warm-up (lazy loads, caches)
    rows, seconds = [], []
    for q, ch in zip(queries, chance):
        start = time.perf_counter()
        hits = service.search(text=q.text, target="pose", k=k)
        seconds.append(time.perf_counter() - start)
        ok = q(joints_of(np.stack([h.pose for h in hits]))) if hits else np.zeros(0, bool)
        hits5 = min(5, n)
        p5, p10 = float(ok[:hits5].sum()) / hits5, float(ok[:n].sum()) / n
        rows.append({
            "query": q.text, "tags": list(q.tags), "expects": q.expects,
            "p_at_5": round(p5, 4), "p_at_10": round(p10, 4), "chance": round(float(ch), 5),
            "ratio_to_chance": round(p10 / float(ch), 3) if ch > 0 else None,
            "top": "".join("1" if o else "0" for o in ok),  # which of the hits (best first) are right
            "ids": [h.id for h in hits],
        })
    tags = sorted({t for q in queries for t in q.tags})
    ms = np.asarray(seconds) * 1e3
    return {
        "rows": rows_total,
        "k": k,
        "summary": _summary(rows),
        "by_tag": {t: _summary([r for r in rows if t in r["tags"]]) for t in tags},
        "latency_ms": {"p50": round(float(np.percentile(ms, 50)), 2),
                       "p99": round(float(np.percentile(ms, 99)), 2), "queries": len(ms)},
        "per_query": rows,
    }


def machine() -> dict[str, Any]:
    import torch

    return {"cpus": os.cpu_count(), "platform": platform.platform(), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def run(indexes: dict[str, str | Path], out: str | Path = OUT, device: str = "cpu",
        queries: Sequence[HumanQuery] = QUERIES, k: int = K) -> dict[str, Any]:
    """Evaluate each ``{name: index_dir}`` and merge the results into the JSON file ``out`` (the
    entries of other index names already there are kept); returns the whole file's content."""
    from indexing.service import SearchService

    out = Path(out)
    data = read_entries(out)
    for name, path in indexes.items():
        start = time.perf_counter()
        service = SearchService(path, device=device)
        result = evaluate(service, queries, k)
        data["indexes"][name] = {
            "index": str(path), **result, "seconds": round(time.perf_counter() - start, 1),
            "machine": machine(), "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    data.update({"benchmark": "human_queries", "queries": len(queries), "k": k,
                 "method": "benchmarks/human_queries.py: text -> pose top-k, each hit judged by the query's joint "
                           "predicate (benchmarks/human_queries_set.py); chance = share of all indexed poses "
                           "satisfying it"})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    return data


def table(result: dict[str, Any]) -> str:
    """A short text table of one index's result: per query, then the means."""
    lines = [f"{'query':52s} {'P@5':>5s} {'P@10':>5s} {'chance':>7s} {'ratio':>6s}"]
    for r in result["per_query"]:
        ratio = "-" if r["ratio_to_chance"] is None else f"{r['ratio_to_chance']:.1f}"
        lines.append(f"{r['query'][:52]:52s} {r['p_at_5']:5.2f} {r['p_at_10']:5.2f} {r['chance']:7.3f} {ratio:>6s}")
    s, w = result["summary"], result["summary"]["with_chance"]
    lines.append(f"{'mean (' + str(s['queries']) + ' queries)':52s} {s['p_at_5']:5.2f} {s['p_at_10']:5.2f} "
                 f"{s['chance']:7.3f}")
    if w["queries"]:
        lines.append(f"{'mean, chance > 0 (' + str(w['queries']) + ' queries)':52s} {w['p_at_5']:5.2f} "
                     f"{w['p_at_10']:5.2f} {w['chance']:7.3f} {w['ratio_to_chance']:6.1f}")
    lat = result["latency_ms"]
    lines.append(f"text query latency: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms; {result['rows']} poses")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", action="append", required=True,
                   help="NAME=PATH: an index directory built by `pose-search index build` (repeatable)")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--k", type=int, default=K)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1, as `pose-search ui` serves: two threads on a busy 2-core box wait on "
                        "each other)")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    indexes = index_specs(p, args.index)
    data = run(indexes, args.out, args.device, k=args.k)
    for name in indexes:
        print(f"== {name} ({indexes[name]})")
        print(table(data["indexes"][name]))
    print(args.out)


if __name__ == "__main__":
    main()
