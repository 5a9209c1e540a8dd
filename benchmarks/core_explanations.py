"""Why is PoseEmbroider below the Aligner? Each candidate explanation, tested by a run.

Every variant is a core trained on the same cached features as the reference experiment's cores
(``retrieval_synthetic.py``: the encoders are read from ``ROOT/runs/poseembroider/run.json``, so
the feature cache is shared), until its validation mRecall has not improved for ``--patience``
epochs, then evaluated like them (val, caption 0). A variant changes one thing against the
reference core of the same model; the result file gives its mRecall beside that reference's:

* ``poseembroider-cosine``: lr 1e-3 with 1,000 warm-up steps and a cosine decay over 30 epochs
  (the paper: lr 2e-4, constant);
* ``poseembroider-temp30`` / ``aligner-temp30``: the learned logit scale starts at 30 (a
  temperature of 0.033) instead of 10, for both methods (a sharper softmax may help either);
* ``poseembroider-all-subsets``: training also feeds the triple subset (image+pose+text);
* ``poseembroider-paper``: the core at the paper's nominal size, 4 layers x 512 (FFN 1024);
* ``poseembroider-heads2048``: re-projection heads with a hidden width of 2048 instead of 512.

Runs live in ``ROOT/runs/<variant>`` (``core_curves.py`` draws them); a cut run resumes.

    .venv/bin/python benchmarks/core_explanations.py --root experiments/synthetic60k
    .venv/bin/python benchmarks/core_explanations.py --root experiments/synthetic60k \\
        --variants poseembroider-all-subsets --epochs 100 --patience 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.retrieval_synthetic import evaluate  # noqa: E402
from pose_search.run_layout import read_metrics  # noqa: E402

ENCODER_KEYS = ("image_encoder", "pose_encoder", "text_encoder")


@dataclass(frozen=True)
class Variant:
    """One explanation's run: a core that differs from its reference in one respect."""

    name: str  # its run folder under ROOT/runs
    model: str  # the registry name of the core
    reference: str  # the reference experiment's run it is compared with
    question: str  # the explanation the run tests
    lr: float = 2e-4  # the reference cores' learning rate
    epochs: int | None = None  # the most epochs (None: --epochs)
    model_config: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)  # warmup_steps, lr_decay (ScheduleOptions)


VARIANTS = (  # the likeliest first: a cut campaign has tested those
    Variant("poseembroider-cosine", "poseembroider", "poseembroider",
            "a constant lr of 2e-4 learns too slowly: lr 1e-3, 1,000 warm-up steps, cosine decay over 30 epochs",
            lr=1e-3, epochs=30, schedule={"warmup_steps": 1000, "lr_decay": "cosine"}),
    Variant("poseembroider-temp30", "poseembroider", "poseembroider",
            "the temperature starts too soft (logit scale 10): start it at 30",
            model_config={"logit_scale_init": 30.0}),
    Variant("aligner-temp30", "aligner", "aligner",
            "the same temperature change for the Aligner (it may help both methods)",
            model_config={"logit_scale_init": 30.0}),
    Variant("poseembroider-all-subsets", "poseembroider", "poseembroider",
            "training feeds only the single and dual subsets: add the triple (image+pose+text)",
            model_config={"train_subsets": "all"}),
    Variant("poseembroider-paper", "poseembroider-paper", "poseembroider",
            "the released core (1 layer x 256) is too small: the paper's nominal 4 layers x 512, FFN 1024"),
    Variant("poseembroider-heads2048", "poseembroider", "poseembroider",
            "the re-projection heads are too narrow (hidden 512): hidden 2048",
            model_config={"head_hidden": 2048}),
)
BY_NAME = {v.name: v for v in VARIANTS}


def reference_encoders(root: Path) -> dict[str, str]:
    """The frozen encoders of the reference PoseEmbroider run (the same features for every variant)."""
    run_json = root / "runs" / "poseembroider" / "run.json"
    if not run_json.is_file():
        raise SystemExit(f"{run_json} not found: run retrieval_synthetic.py --root {root} first")
    options = json.loads(run_json.read_text())["task_options"]
    return {k: options[k] for k in ENCODER_KEYS if options.get(k)}


def train_config(variant: Variant, root: Path, encoders: dict[str, str], epochs: int, patience: int,
                 batch_size: int = 128):
    """The :class:`~training.driver.TrainConfig` of ``variant`` (the reference cores' batch and data)."""
    from training.driver import TrainConfig

    task = "aligner" if variant.model == "aligner" else "core"
    options: dict[str, Any] = {"model": variant.model, **encoders, **variant.schedule}
    if variant.model_config:
        options["model_config"] = dict(variant.model_config)
    return TrainConfig(task=task, run_dir=str(root / "runs" / variant.name), data=str(root / "data"),
                       epochs=variant.epochs or epochs, batch_size=batch_size, lr=variant.lr, patience=patience,
                       task_options=options)


def run_summary(run: Path) -> dict[str, Any]:
    """Epochs logged, the best epoch and score, and why it stopped, from ``metrics.jsonl``."""
    rows = read_metrics(run)
    scored = [r for r in rows if "val/mRecall" in r]
    best = max(scored, key=lambda r: r["val/mRecall"]) if scored else {}
    return {"epochs": len(rows), "best_epoch": best.get("epoch"), "best_val_mRecall": best.get("val/mRecall"),
            "stopped": rows[-1].get("stopped") if rows else None}


def summarise(root: Path, variants: list[Variant]) -> dict[str, Any]:
    """The variants of ``variants`` that have a best checkpoint, and their references: final
    numbers and the difference in mRecall."""
    def final(run: Path) -> dict[str, Any]:
        metrics = evaluate(run)
        return {"run": run_summary(run), "mRecall": metrics["mRecall"], "mRecall_single": metrics["mRecall_single"],
                "mRecall_dual": metrics["mRecall_dual"], "results": metrics}

    trained = [v for v in variants if (root / "runs" / v.name / "best").exists()]
    references = {v.reference for v in trained if (root / "runs" / v.reference / "best").exists()}
    ref = {name: final(root / "runs" / name) for name in sorted(references)}
    out: dict[str, Any] = {}
    for v in trained:
        entry = {**asdict(v), **final(root / "runs" / v.name)}
        if v.reference in ref:
            entry["delta_mRecall"] = entry["mRecall"] - ref[v.reference]["mRecall"]
        out[v.name] = entry
    return {"references": ref, "variants": out}


def main() -> None:
    from training.driver import fit

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic60k",
                   help="a reference experiment of retrieval_synthetic.py (its data, encoders and cores)")
    p.add_argument("--variants", nargs="+", choices=sorted(BY_NAME), default=[v.name for v in VARIANTS])
    p.add_argument("--epochs", type=int, default=100, help="the most epochs of a variant (with --patience)")
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128, help="the reference cores' batch")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "core_explanations.json"))
    args = p.parse_args()
    if args.epochs < 1 or args.patience < 0 or args.batch_size < 2:
        p.error("--epochs must be >= 1, --patience >= 0 and --batch-size >= 2")
    root = Path(args.root)
    encoders = reference_encoders(root)
    os.environ.setdefault("POSE_SEARCH_TORCH_THREADS", str(os.cpu_count() or 1))
    variants = [BY_NAME[name] for name in args.variants]
    seconds: dict[str, float] = {}
    for v in variants:
        start = time.perf_counter()
        print(f"[run ] {v.name}: {v.question}", flush=True)
        fit(train_config(v, root, encoders, args.epochs, args.patience, args.batch_size))  # resumes, or returns at once when done
        seconds[v.name] = round(time.perf_counter() - start, 1)
    out = {"benchmark": "core_explanations", "root": str(root), "encoders": encoders,
           "epochs": args.epochs, "patience": args.patience, "seconds_this_invocation": seconds,
           # every trained variant, also those of earlier invocations: the file holds them all
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, **summarise(root, list(VARIANTS))}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    for name, entry in out["variants"].items():
        delta = entry.get("delta_mRecall")
        print(f"{name}: mRecall {entry['mRecall']:.1f}" + (f" ({delta:+.1f} vs {entry['reference']})" if delta is not None else ""))


if __name__ == "__main__":
    main()
