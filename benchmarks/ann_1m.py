"""ANN on 1M x 512-d pose embeddings: FAISS Flat / HNSW / IVF-PQ+refine and LanceDB IVF_PQ.

Requirement: recall@10 >= 0.95 against exact search at >= 50x the exact-search QPS (single
queries), with memory per vector and build time, for FAISS and for LanceDB's own ANN.

Vectors (method, also written into the JSON):

* **seeds**: reference embeddings of a trained core (``--core-run``) over the cached encoder
  features of every real pose (train + val): the pose column (what text->pose search scans)
  and, by default, the image column too (``--seed-modalities``); 512-d, unit norm.
* **growth to N**: the seeds are kept; every other vector is ``normalise((1-t) a + t b + e)``
  with ``a`` a random seed, ``b`` one of ``a``'s 10 nearest seeds, ``t ~ U(0, 1)`` and ``e``
  isotropic Gaussian noise of expected norm ``--noise`` x the distance from ``a`` to its
  nearest seed. New points lie on the seeds' local neighbourhood graph (the manifold of real
  embeddings), at the scale of the real nearest-neighbour distances.
* **queries** (cross-modal, as users query): text->pose query embeddings of the val poses'
  captions (``core.query_embedding({"text": ...}, ("text",), "pose")``). Evaluation: captions
  0 then 2 (``--queries``); tuning: caption 1 of a random subset (``--tune-queries``), so the
  tuned parameters are judged on queries they were not tuned on.
* **ground truth**: exact inner-product top-10 over the N vectors (``indexing.ann.exact_search``).

Measured for each backend in one process: build seconds, tuning seconds, memory bytes per
vector, recall@10 on the evaluation queries, single-query QPS (queries sent one at a time as the
search service does; p50/p99 latency) and the speed-up over exact Flat search.

    .venv/bin/python benchmarks/ann_1m.py --core-run experiments/synthetic/runs/poseembroider
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

K = 10
GROW_CHUNK = 100_000


# ---------------------------------------------------------------------------------------------
# vectors


def embed(run: Path, seed_modalities: tuple[str, ...], batch: int = 512) -> dict[str, np.ndarray]:
    """Seeds ``(S, 512)`` (+ their modality labels) and text->pose queries per val caption."""
    import torch

    from pose_search.models.catalog import load_module
    from pose_search.models.features import load_features

    torch.set_num_threads(os.cpu_count() or 1)
    core = load_module(run / "best" / "core").eval()
    seeds, labels, queries = [], [], {}
    with torch.no_grad():
        for split in ("train", "val"):
            feats = load_features(run / "features" / f"{split}.safetensors")
            n = len(feats["ids"])
            n_captions = feats["text"].shape[1]
            for m in seed_modalities:
                out = []
                for s in range(0, n, batch):
                    x = torch.from_numpy(np.asarray(feats[m][s : s + batch], dtype=np.float32))
                    out.append(core.reference_embeddings({m: x})[m].numpy())
                seeds.append(np.concatenate(out))
                labels += [f"{m}:{split}"] * n
            if split == "val":
                for c in range(n_captions):
                    out = []
                    for s in range(0, n, batch):
                        x = torch.from_numpy(np.asarray(feats["text"][s : s + batch, c], dtype=np.float32))
                        ref = core.reference_embeddings({"text": x})
                        out.append(core.query_embedding(ref, ("text",), "pose").numpy())
                    queries[c] = np.concatenate(out)
    return {"seeds": _unit(np.concatenate(seeds)), "labels": np.array(labels), "queries": queries}


def grow(seeds: np.ndarray, n: int, *, noise: float, neighbours: int, seed: int,
         return_parents: bool = False) -> tuple[np.ndarray, dict]:
    """``(n, D)`` float32 unit vectors: the seeds, then interpolations between a seed and one of
    its nearest seeds plus Gaussian noise scaled to the seed's nearest-neighbour distance.
    ``return_parents``: ``stats["parents"]`` ``(n,)`` is the seed each vector was drawn around
    (seeds: themselves), e.g. to copy metadata (benchmarks/search_latency.py)."""
    from tqdm.auto import tqdm

    from indexing.ann import exact_search

    rng = np.random.default_rng(seed)
    s, dim = seeds.shape
    if n < s:
        take = np.sort(rng.choice(s, n, replace=False))
        return seeds[take].copy(), {"synthetic": 0, "seeds_used": n}
    scores, rows = exact_search(seeds, seeds, neighbours + 1, progress=True)
    # drop each seed itself (rank 0 unless an exact duplicate comes first)
    nbr = np.where(rows[:, :1] == np.arange(s)[:, None], rows[:, 1:], rows[:, :-1])
    nbr_score = np.where(rows[:, :1] == np.arange(s)[:, None], scores[:, 1:], scores[:, :-1])
    nn_dist = np.sqrt(np.clip(2.0 - 2.0 * nbr_score[:, 0], 0.0, None)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    out[:s] = seeds
    parents = np.arange(n, dtype=np.int64)
    for start in tqdm(range(s, n, GROW_CHUNK), desc="grow database", unit="chunk"):
        m = min(GROW_CHUNK, n - start)
        a = rng.integers(0, s, m)
        parents[start : start + m] = a
        b = nbr[a, rng.integers(0, neighbours, m)]
        t = rng.random((m, 1), dtype=np.float32)
        eps = rng.standard_normal((m, dim), dtype=np.float32) * (noise * nn_dist[a] / np.sqrt(dim))[:, None]
        out[start : start + m] = _unit((1 - t) * seeds[a] + t * seeds[b] + eps)
    stats = {
        "synthetic": n - s,
        "seed_nn_distance": {"median": float(np.median(nn_dist)), "p10": float(np.quantile(nn_dist, 0.1)),
                             "p90": float(np.quantile(nn_dist, 0.9))},
    }
    if return_parents:
        stats["parents"] = parents
    return out, stats


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# measurement


def single_query_timing(index, queries: np.ndarray, *, max_queries: int, max_seconds: float) -> dict:
    """Search ``queries`` one at a time (1 x D each); QPS and latency percentiles."""
    for i in range(min(5, len(queries))):
        index.search(queries[i : i + 1], K)
    lat = []
    start = time.perf_counter()
    for i in range(min(max_queries, len(queries))):
        t = time.perf_counter()
        index.search(queries[i : i + 1], K)
        lat.append(time.perf_counter() - t)
        if time.perf_counter() - start > max_seconds and len(lat) >= 10:
            break
    total = time.perf_counter() - start
    lat_ms = np.array(lat) * 1e3
    return {"qps": len(lat) / total, "queries_timed": len(lat), "latency_ms_p50": float(np.median(lat_ms)),
            "latency_ms_p99": float(np.quantile(lat_ms, 0.99)), "latency_ms_mean": float(lat_ms.mean())}


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                                 if line.startswith("model name"))
        mem = Path("/proc/meminfo").read_text().split()
        info["memory_gib"] = round(int(mem[mem.index("MemTotal:") + 1]) / 2**20, 1)
        info["load_average_at_start"] = os.getloadavg()
    except (OSError, StopIteration, ValueError):
        pass
    try:
        import faiss

        info["faiss"] = faiss.__version__
        info["faiss_gpus"] = faiss.get_num_gpus()
    except ImportError:
        pass
    for name, dist in (("lancedb", "lancedb"), ("lance", "pylance"), ("numpy", "numpy")):
        try:
            from importlib.metadata import version

            info[name] = version(dist)
        except Exception:  # noqa: BLE001 - version lookup is best effort
            pass
    return info


def main() -> None:
    from indexing.ann import build_index, exact_search, recall_at_k, set_num_threads

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--core-run", default="experiments/synthetic/runs/poseembroider")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--seed-modalities", default="pose,image")
    p.add_argument("--noise", type=float, default=0.5, help="noise norm as a fraction of the seed's NN distance")
    p.add_argument("--neighbours", type=int, default=10)
    p.add_argument("--queries", type=int, default=2000, help="evaluation queries (val captions 0, then 2)")
    p.add_argument("--tune-queries", type=int, default=500, help="tuning queries (val caption 1)")
    p.add_argument("--backends", default="flat,hnsw,ivfpq,lance")
    p.add_argument("--recall-target", type=float, default=0.95)
    p.add_argument("--speedup-target", type=float, default=50.0)
    p.add_argument("--flat-seconds", type=float, default=20.0, help="time budget for single-query Flat timing")
    p.add_argument("--qps-queries", type=int, default=1000, help="single queries timed per ANN backend")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--hnsw-ef-construction", type=int, default=40)
    p.add_argument("--ivf-nlist", type=int, default=None)
    p.add_argument("--lance-partitions", type=int, default=None)
    p.add_argument("--lance-sub-vectors", type=int, default=None)
    p.add_argument("--lance-max-iterations", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="faiss threads (default: all cores)")
    p.add_argument("--workdir", default=None, help="where the LanceDB table is written (default: a temp dir)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "ann_1m.json"))
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    t_all = time.perf_counter()
    threads = set_num_threads(args.threads)
    run = Path(args.core_run)
    if not (run / "best" / "core").exists():
        raise SystemExit(f"{run}: no trained core (best/core); train one or pass --core-run")

    print(f"[1/4] embedding with {run}", flush=True)
    t = time.perf_counter()
    emb = embed(run, tuple(args.seed_modalities.split(",")))
    embed_seconds = time.perf_counter() - t
    seeds = emb["seeds"]
    caps = emb["queries"]
    rng = np.random.default_rng(args.seed)
    eval_pool = np.concatenate([caps[c] for c in (0, 2) if c in caps]) if len(caps) > 1 else caps[0]
    eval_q = eval_pool[: args.queries]
    tune_pool = caps[1] if 1 in caps else caps[0]
    tune_q = tune_pool[np.sort(rng.choice(len(tune_pool), min(args.tune_queries, len(tune_pool)), replace=False))]
    modalities = args.seed_modalities.split(",")
    counts = {m: int(np.char.startswith(emb["labels"], m).sum()) for m in modalities}
    print(f"      {len(seeds)} seeds {counts}, {len(eval_q)} eval + {len(tune_q)} tune text->pose queries "
          f"in {embed_seconds:.1f} s", flush=True)

    print(f"[2/4] growing the database to {args.n:,} vectors", flush=True)
    t = time.perf_counter()
    db, grow_stats = grow(seeds, args.n, noise=args.noise, neighbours=args.neighbours, seed=args.seed)
    grow_seconds = time.perf_counter() - t
    del emb
    gc.collect()

    print(f"[3/4] exact ground truth (top-{K}) for {len(eval_q)} + {len(tune_q)} queries", flush=True)
    t = time.perf_counter()
    _, gt_eval = exact_search(db, eval_q, K, progress=True)
    _, gt_tune = exact_search(db, tune_q, K, progress=True)
    gt_seconds = time.perf_counter() - t
    print(f"      {gt_seconds:.1f} s", flush=True)

    print("[4/4] backends", flush=True)
    results: dict[str, dict] = {}
    flat_qps = None
    workdir = args.workdir or tempfile.gettempdir()
    for kind in args.backends.split(","):
        print(f"--- {kind}", flush=True)
        params = {"hnsw": {"M": args.hnsw_m, "efConstruction": args.hnsw_ef_construction},
                  "ivfpq": {"nlist": args.ivf_nlist} if args.ivf_nlist else {},
                  "lance": {key: v for key, v in (("num_partitions", args.lance_partitions),
                                                 ("num_sub_vectors", args.lance_sub_vectors),
                                                 ("max_iterations", args.lance_max_iterations)) if v},
                  "flat": {}}[kind]
        t = time.perf_counter()
        index = build_index(db, kind, tune_queries=tune_q, tune_exact_rows=gt_tune, k=K,
                            recall_target=args.recall_target, seed=args.seed, progress=True,
                            build_params=params, workdir=workdir)
        total_build = time.perf_counter() - t
        info = index.info
        t = time.perf_counter()
        if kind == "flat":  # exact by construction; check it against the numpy ground truth on a subset
            sub = min(200, len(eval_q))
            recall = recall_at_k(index.search(eval_q[:sub], K)[1], gt_eval[:sub], K)
            timing = single_query_timing(index, eval_q, max_queries=len(eval_q), max_seconds=args.flat_seconds)
            flat_qps = timing["qps"]
            recall_queries = sub
        else:
            recall = recall_at_k(index.search(eval_q, K)[1], gt_eval, K)
            timing = single_query_timing(index, eval_q, max_queries=args.qps_queries, max_seconds=60.0)
            recall_queries = len(eval_q)
        eval_seconds = time.perf_counter() - t
        row = {
            "build_seconds": info["build_seconds"],
            "tune_seconds": info["tune_seconds"],
            "memory_bytes": info["memory_bytes"],
            "memory_bytes_per_vector": info["memory_bytes_per_vector"],
            "recall_at_10": round(recall, 4),
            "recall_queries": recall_queries,
            **{key: round(v, 3) if isinstance(v, float) else v for key, v in timing.items()},
            "speedup_vs_exact": round(timing["qps"] / flat_qps, 1) if flat_qps else None,
            "build_params": info["build_params"],
            "search_params": info["search_params"],
            "tuned_recall_at_10": info["recall_at_k"],
            "tuned_target_reached": info["recall_target_reached"],
            "tuning_curve": info["tuning"]["curve"],
            "wall_seconds_build_and_tune": round(total_build, 1),
            "eval_seconds": round(eval_seconds, 1),
        }
        if kind == "lance":
            row["disk_bytes"] = info["disk_bytes"]
            row["memory_note"] = info["memory_note"]
            lq = index._builder  # the LanceDB query-builder path, for comparison with the scanner path
            t = time.perf_counter()
            nq = min(200, len(eval_q))
            for i in range(nq):
                lq(eval_q[i : i + 1], K).to_arrow()
            row["qps_lancedb_query_builder"] = round(nq / (time.perf_counter() - t), 1)
        if kind != "flat":
            row["meets_target"] = bool(recall >= args.recall_target and row["speedup_vs_exact"] is not None
                                       and row["speedup_vs_exact"] >= args.speedup_target)
        results[kind] = row
        print(json.dumps({k_: v for k_, v in row.items() if k_ != "tuning_curve"}, indent=1), flush=True)
        del index
        gc.collect()

    out = {
        "benchmark": "ann_1m",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {**machine(), "faiss_threads": threads},
        "requirement": {"recall_at_10": args.recall_target, "speedup_vs_exact_single_query": args.speedup_target},
        "core_run": str(run),
        "database": {
            "n": int(len(db)), "dim": int(db.shape[1]), "seeds": int(len(seeds)), "seeds_by_modality": counts,
            "method": (f"seeds = the core's reference embeddings ({args.seed_modalities}) of every real pose "
                       f"(train+val); each other vector = normalise((1-t)*a + t*b + e), a a random seed, b one "
                       f"of its {args.neighbours} nearest seeds, t ~ U(0,1), e isotropic Gaussian noise of "
                       f"expected norm {args.noise} x the distance from a to its nearest seed"),
            **grow_stats,
        },
        "queries": {
            "eval": int(len(eval_q)), "tune": int(len(tune_q)),
            "method": ("text->pose query embeddings (core.query_embedding of the text reference embedding, "
                       "re-projected into the pose space) of the val captions; eval: captions 0 then 2; "
                       "tune: caption 1 of a random subset"),
        },
        "ground_truth": f"exact inner-product top-{K} over all {len(db):,} vectors (indexing.ann.exact_search)",
        "qps_mode": "single query: one (1, 512) search call at a time, as the search service sends them",
        "seconds": {"embed": round(embed_seconds, 1), "grow": round(grow_seconds, 1),
                    "ground_truth": round(gt_seconds, 1), "total": round(time.perf_counter() - t_all, 1)},
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(table(out))
    print(f"wrote {args.out} in {out['seconds']['total']:.0f} s")


def table(out: dict) -> str:
    """The markdown table of the README."""
    lines = ["| backend | build s | bytes/vector | recall@10 | single-query QPS | p50 ms | speed-up vs exact | "
             "search params | meets >= 0.95 at >= 50x |",
             "|---|---|---|---|---|---|---|---|---|"]
    names = {"flat": "FAISS Flat (exact)", "hnsw": "FAISS HNSW32", "ivfpq": "FAISS IVF-PQ + exact refine",
             "lance": "LanceDB IVF_PQ + refine"}
    for kind, r in out["results"].items():
        meets = "baseline" if kind == "flat" else ("yes" if r["meets_target"] else "**no**")
        lines.append(f"| {names.get(kind, kind)} | {r['build_seconds']:.1f} | {r['memory_bytes_per_vector']:,.0f} | "
                     f"{r['recall_at_10']:.3f} | {r['qps']:,.0f} | {r['latency_ms_p50']:.2f} | "
                     f"{r['speedup_vs_exact']:,.0f}x | {r['search_params'] or '-'} | {meets} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
