"""Expected throughput and cost on a cluster, derived from what was measured on one node.

Reads the measured results in benchmarks/results/ (data generation, image-encoder training,
core training, embedding, ANN) and scales them to BEDLAM-scale training (1M crops) and a
100M-vector index on the cluster of ``cluster/aws-gpu.yaml``'s CPU worker type. Assumptions
(written into the JSON next to the numbers):

* throughput per vCPU is what one 2-vCPU node measured (``rate / cpus``), linear in the vCPUs of
  a node;
* across nodes, data-parallel work (generation, embedding, index shards) scales linearly and
  DDP training at ``--ddp-efficiency`` (gradient all-reduce over the network);
* prices are on-demand list prices (``--price-*``, USD per hour); spot is typically 60-70 % less.

GPU rows are not derived: no GPU was lent when these were measured (benchmarks/README.md).
Writes benchmarks/results/cluster_sizing.json and prints the Markdown table of cluster/README.md.

    .venv/bin/python benchmarks/cluster_sizing.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _load(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run benchmarks/{name}.py first")
    return json.loads(path.read_text())


def per_vcpu_rates() -> dict[str, dict[str, Any]]:
    """Items per second per vCPU of each stage, with where the number comes from."""
    gen = _load("data_generation")
    retr = _load("retrieval_synthetic")
    over = _load("train_overhead")
    emb = _load("embed_throughput")
    cpus = {"data_generation": gen["machine"]["cpus"], "train_overhead": over["machine"]["cpus"],
            "embed_throughput": emb["machine"]["cpus"], "retrieval_synthetic": retr["machine"]["cpus"]}
    train_rows = round(retr["dataset"]["size"] * (1 - retr["dataset"]["val_fraction"]))
    image_rate = train_rows * retr["epochs"]["image"] / retr["stage_seconds"]["image"]
    best_embed = max(v["rows_per_s"] for k, v in emb.items() if k.startswith("ray_") and isinstance(v, dict))
    return {
        "generate": {"per_vcpu": gen["parallel"]["samples_per_s"] / cpus["data_generation"],
                     "source": "data_generation.json parallel.samples_per_s (render + 3 captions)"},
        "image_encoder_training": {"per_vcpu": image_rate / cpus["retrieval_synthetic"],
                                   "source": "retrieval_synthetic.json stage_seconds.image (CNN, incl. validation)"},
        "core_training": {"per_vcpu": over["ray_train_samples_per_s"] / cpus["train_overhead"],
                          "source": "train_overhead.json ray_train_samples_per_s (cached features)"},
        "embedding": {"per_vcpu": best_embed / cpus["embed_throughput"],
                      "source": "embed_throughput.json best Ray rows_per_s (image + pose + text); also the "
                                "cost of caching the core's input features"},
    }


def ann_footprint() -> dict[str, Any]:
    """Per-vector memory and build seconds per 1M vectors of each measured ANN backend."""
    ann = _load("ann_1m")
    out = {}
    n = ann["database"]["n"]
    for name, row in ann["results"].items():
        if name == "flat":  # exact search is the baseline, not a way to serve 100M vectors
            continue
        out[name] = {"disk_bytes_per_vector": (row.get("disk_bytes") or 0) / n,"bytes_per_vector": row["memory_bytes_per_vector"],
                     "build_s_per_1m": (row["build_seconds"] or 0) * 1e6 / n,
                     "recall_at_10": row["recall_at_10"], "qps": row["qps"]}
    return {"n": n, "dim": ann["database"]["dim"], "cpus": ann["machine"]["cpus"], "backends": out}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--crops", type=int, default=1_000_000, help="BEDLAM-scale training set")
    p.add_argument("--vectors", type=int, default=100_000_000, help="index size")
    p.add_argument("--index-rows", type=int, default=10_000_000, help="rows of the embedding runbook example")
    p.add_argument("--image-epochs", type=int, default=10)
    p.add_argument("--core-epochs", type=int, default=20)
    p.add_argument("--nodes", type=int, default=8, help="CPU worker nodes")
    p.add_argument("--node-vcpus", type=int, default=16, help="vCPUs per worker node (c7i.4xlarge)")
    p.add_argument("--ddp-efficiency", type=float, default=0.8)
    p.add_argument("--price-cpu-node", type=float, default=0.714, help="USD/h, c7i.4xlarge on-demand")
    p.add_argument("--price-head", type=float, default=0.384, help="USD/h, m6i.2xlarge on-demand")
    p.add_argument("--price-memory-node", type=float, default=6.05, help="USD/h, r7i.24xlarge (768 GiB)")
    p.add_argument("--memory-node-gib", type=float, default=768)
    args = p.parse_args()

    rates = per_vcpu_rates()
    vcpus = args.nodes * args.node_vcpus
    hourly = args.nodes * args.price_cpu_node + args.price_head

    def stage(name: str, items: float, ddp: bool = False) -> dict[str, Any]:
        rate = rates[name]["per_vcpu"] * vcpus * (args.ddp_efficiency if ddp else 1.0)
        hours = items / rate / 3600
        return {"items": items, "cluster_items_per_s": round(rate, 1), "hours": round(hours, 2),
                "usd": round(hours * hourly, 2)}

    training = {
        "generate_1m_crops": stage("generate", args.crops),
        "image_encoder": stage("image_encoder_training", args.crops * args.image_epochs, ddp=True),
        "core_input_features": stage("embedding", args.crops),
        "core": stage("core_training", args.crops * args.core_epochs, ddp=True),
    }
    training["total"] = {"hours": round(sum(s["hours"] for s in training.values()), 2),
                         "usd": round(sum(s["usd"] for s in training.values()), 2)}

    ann = ann_footprint()
    index = {"embed_10m": stage("embedding", args.index_rows), "embed_100m": stage("embedding", args.vectors),
             "ann": {}}
    for name, row in ann["backends"].items():
        gib = row["bytes_per_vector"] * args.vectors / 2**30
        shards = max(1, int(-(-gib // (args.memory_node_gib * 0.8))))  # 80 % of a node's memory per shard
        build_h = (row["build_s_per_1m"] or 0) * ann["cpus"] * args.vectors / 1e6 / vcpus / 3600
        index["ann"][name] = {"memory_gib": round(gib, 1), "disk_gib": round(row["disk_bytes_per_vector"] * args.vectors / 2**30, 1),
                              "memory_nodes": shards,
                              "serving_usd_per_month": round(shards * args.price_memory_node * 730, 0),
                              "build_hours_on_cluster": round(build_h, 2), "recall_at_10_at_1m": row["recall_at_10"]}
    report = {"benchmark": "cluster_sizing", "derived_from": {k: v["source"] for k, v in rates.items()},
              "per_vcpu_items_per_s": {k: round(v["per_vcpu"], 2) for k, v in rates.items()},
              "cluster": {"cpu_nodes": args.nodes, "vcpus_per_node": args.node_vcpus, "usd_per_hour": round(hourly, 3)},
              "assumptions": {"scaling": "linear in vCPUs; DDP at ddp_efficiency", "ddp_efficiency": args.ddp_efficiency,
                              "prices": "on-demand list prices, USD/h (us-west-2)", "gpu": "not measured (no GPU lent)"},
              "training_1m_crops": training, "index_100m": index, "ann_measured_at": {k: ann[k] for k in ("n", "dim", "cpus")}}
    out = RESULTS / "cluster_sizing.json"
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"| stage (cluster: {args.nodes} x {args.node_vcpus} vCPU + head) | items | items/s | hours | USD |")
    print("|---|---|---|---|---|")
    for name, s in training.items():
        if name != "total":
            print(f"| training: {name} | {s['items']:.3g} | {s['cluster_items_per_s']:,.0f} | {s['hours']} | {s['usd']} |")
    print(f"| **training total (1M crops)** | | | **{training['total']['hours']}** | **{training['total']['usd']}** |")
    for name in ("embed_10m", "embed_100m"):
        s = index[name]
        print(f"| index: {name} | {s['items']:.3g} | {s['cluster_items_per_s']:,.0f} | {s['hours']} | {s['usd']} |")
    print()
    print(f"| ANN for {args.vectors:.0e} x {ann['dim']}-d | RAM | disk | serving nodes ({args.memory_node_gib:.0f} GiB) "
          "| serving USD/month | build hours (sharded over the cluster) | recall@10 measured at 1M |")
    print("|---|---|---|---|---|---|---|")
    for name, a in index["ann"].items():
        print(f"| {name} | {a['memory_gib']:,} GiB | {a['disk_gib']:,} GiB | {a['memory_nodes']} | "
              f"{a['serving_usd_per_month']:,.0f} | {a['build_hours_on_cluster']} | {a['recall_at_10_at_1m']} |")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
