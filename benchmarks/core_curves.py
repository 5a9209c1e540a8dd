"""Learning curves of the cores of a reference experiment, in one picture.

Validation mRecall (and the training loss) per epoch of every core run under ``ROOT/runs`` that
``retrieval_synthetic.py`` trained, read from each run's ``metrics.jsonl``: the evidence that a
core was trained until it stopped improving (a run stopped by ``--patience`` says so in its last
row; its best epoch is marked).

    .venv/bin/python benchmarks/core_curves.py --root experiments/synthetic --out docs/core_curves.png
    .venv/bin/python benchmarks/core_curves.py --root experiments/synthetic60k --out docs/core_explanations.png \
        --runs poseembroider aligner poseembroider-cosine poseembroider-temp30 aligner-temp30
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

from pose_search.run_layout import read_metrics

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CORES = ("poseembroider", "poseembroider-paper", "aligner", "poseembroider-mlp", "poseembroider-noheads")


def read_curve(run: Path) -> dict[str, list[float]]:
    """``epoch``, ``mRecall`` (val) and ``loss`` (train) columns of a run's ``metrics.jsonl``."""
    rows = [r for r in read_metrics(run) if "val/mRecall" in r]
    return {"epoch": [r["epoch"] for r in rows], "mRecall": [r["val/mRecall"] for r in rows],
            "loss": [r.get("train/loss", float("nan")) for r in rows],
            "stopped": [r["stopped"] for r in rows if "stopped" in r]}


def core_runs(root: Path) -> dict[str, Path]:
    """Core runs under ``root/runs`` (``<core>`` or ``<core>-<variant>``) that logged an epoch."""
    runs = root / "runs"
    return {p.name: p for p in sorted(runs.iterdir()) if p.name.startswith(CORES)
            and (p / "metrics.jsonl").is_file()} if runs.is_dir() else {}


def plot(curves: dict[str, dict[str, list[float]]], out: Path, title: str) -> Path:
    fig, (ax_r, ax_l) = plt.subplots(1, 2, figsize=(11, 4))
    for name, c in curves.items():
        line, = ax_r.plot(c["epoch"], c["mRecall"], label=name + (" (stopped)" if c["stopped"] else ""))
        best = max(range(len(c["mRecall"])), key=c["mRecall"].__getitem__)
        ax_r.plot(c["epoch"][best], c["mRecall"][best], "o", color=line.get_color())
        ax_l.plot(c["epoch"], c["loss"], color=line.get_color())
    ax_r.set(xlabel="epoch", ylabel="val mRecall (dot: best epoch)", title=title)
    ax_l.set(xlabel="epoch", ylabel="train loss", title="training loss")
    ax_r.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "core_curves.png"))
    p.add_argument("--runs", nargs="+", default=None, metavar="NAME",
                   help="only these runs (default: every core run, the explanations' variants included)")
    args = p.parse_args()
    runs = core_runs(Path(args.root))
    if args.runs:
        missing = sorted(set(args.runs) - set(runs))
        if missing:
            p.error(f"no core run {', '.join(missing)} under {args.root}/runs (found: {', '.join(runs) or 'none'})")
        runs = {name: runs[name] for name in args.runs}
    if not runs:
        p.error(f"no core runs with a metrics.jsonl under {args.root}/runs")
    curves = {name: read_curve(run) for name, run in runs.items()}
    print(plot(curves, Path(args.out), f"cores of {args.root}"))
    for name, c in curves.items():
        best = max(c["mRecall"])
        print(f"{name}: {len(c['epoch'])} epochs, best val mRecall {best:.1f} at epoch "
              f"{c['epoch'][c['mRecall'].index(best)]:g}" + (f"; {c['stopped'][0]}" if c["stopped"] else ""))


if __name__ == "__main__":
    main()
