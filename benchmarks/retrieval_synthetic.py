"""Reference experiment: encoders + PoseEmbroider + Aligner + ablations on synthetic BEDLAM-Script.

Stages (each skipped when its output exists, so a cut run resumes where it stopped):

1. ``pose-search data generate --kind script --size 22000`` (20k train / 2k val);
2. train the pose VAE, PoseText (text encoder: the frozen pretrained MiniLM + a topping, or the
   from-scratch ablation with ``--text-model scratch``) and the image encoder (pose regression on
   renders);
3. train four cores on the cached frozen features: PoseEmbroider, Aligner, MLP core, no heads;
4. evaluate each core on the val split with caption 0 (as the paper's final numbers): R@1/5/10
   for the 9 query types, mRecall single / dual / overall; write
   ``benchmarks/results/retrieval_synthetic.json`` (with the paper's numbers beside ours);
5. index every pose with the PoseEmbroider core (pose vectors): the human-query benchmark's gallery.

Variants: ``--image-encoder blazepose`` (the frozen BlazePose instead of the CNN: no image
training, and the index answers real photos), ``--pose-encoder posetext`` (PoseText's pose trunk
instead of the PoseVAE, as the demo; its cores and index are named ``*-posetext-pose``),
``--cores`` (a subset; stage times of every invocation are kept in ``ROOT/stage_seconds.json``).

    .venv/bin/python benchmarks/retrieval_synthetic.py --root experiments/synthetic
    .venv/bin/python benchmarks/retrieval_synthetic.py --image-encoder blazepose --cores poseembroider \
        --core-epochs 16    # this note's run (results/retrieval_synthetic.json)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

PAPER = {  # BEDLAM-Script val, Table 1 (secondary source, see shared/reference/poseembroider.md section 7)
    "poseembroider": {"mRecall": 74.6, "mRecall_dual": 82.2},
    "aligner": {"mRecall": 72.4, "mRecall_dual": 78.5},
    "poseembroider-mlp": {"mRecall": 73.0},
    "poseembroider-noheads": {"mRecall": 73.1},
}
CORES = ("poseembroider", "aligner", "poseembroider-mlp", "poseembroider-noheads")
# the scratch text tower of the first reference runs: DistilBERT layout 128 wide x 2 layers, 1 topping layer
SCRATCH_TEXT_CPU = {"dim": 128, "n_layers": 2, "n_heads": 4, "hidden_dim": 512, "out_dim": 256,
                    "topping_layers": 1, "topping_heads": 4, "topping_ffn": 512}


def stage(name: str, done: bool, fn, timings: dict, timings_path: Path) -> None:
    """Run ``fn`` unless ``done``; its seconds go to ``timings`` and are saved at once to ``timings_path``."""
    if done:
        print(f"[skip] {name}")
        return
    start = time.perf_counter()
    print(f"[run ] {name}", flush=True)
    fn()
    timings[name] = round(time.perf_counter() - start, 1)
    timings_path.parent.mkdir(parents=True, exist_ok=True)
    timings_path.write_text(json.dumps(timings, indent=2) + "\n")
    print(f"[done] {name} in {timings[name]} s", flush=True)


def main() -> None:
    from indexing.build import BuildConfig, build
    from pose_search.data.generate import GenerateConfig
    from pose_search.data.generate import run as generate
    from pose_search.run_layout import read_metrics
    from pose_search_app.build import TEXT_CPU
    from training.driver import TrainConfig, fit

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--size", type=int, default=22000)
    p.add_argument("--val-fraction", type=float, default=1 / 11)
    p.add_argument("--posevae-epochs", type=int, default=4)
    p.add_argument("--posetext-epochs", type=int, default=15)
    p.add_argument("--posetext-lr", type=float, default=5e-4)
    p.add_argument("--posetext-lr-decay", choices=("none", "cosine"), default="none")
    p.add_argument("--text-max-tokens", type=int, default=None,
                   help="the topping's token limit (default: the demo's, TEXT_CPU); PoseScript-style "
                        "captions have a median of 77-112 MiniLM tokens")
    p.add_argument("--text-model", choices=("pretrained", "scratch"), default="pretrained")
    p.add_argument("--image-epochs", type=int, default=8)
    p.add_argument("--core-epochs", type=int, default=10)
    p.add_argument("--core-patience", type=int, default=0,
                   help="cores stop N epochs after their best val mRecall (--core-epochs is then the most; "
                        "curves: core_curves.py)")
    p.add_argument("--image-encoder", choices=("cnn", "blazepose"), default="cnn",
                   help="cnn: trained on the renders (the paper's setup); blazepose: the frozen pretrained "
                        "BlazePose, no image training, and the index also answers real photos")
    p.add_argument("--pose-encoder", choices=("posevae", "posetext"), default="posevae",
                   help="posevae: the paper's pose encoder; posetext: PoseText's pose trunk (the demo's); "
                        "its cores and index get the suffix -posetext-pose")
    p.add_argument("--cores", nargs="+", choices=CORES, default=list(CORES),
                   help="which cores to train and evaluate (the index is always PoseEmbroider's)")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "retrieval_synthetic.json"))
    args = p.parse_args()
    root = Path(args.root)
    data = root / "data"
    runs = root / "runs"
    # stage seconds of every invocation (a cut run resumes: the earlier stages' times stay)
    timings_path = root / "stage_seconds.json"
    timings: dict[str, float] = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    os.environ.setdefault("POSE_SEARCH_TORCH_THREADS", str(os.cpu_count() or 1))

    cfg = GenerateConfig(kind="script", size=args.size, seed=0, val_fraction=args.val_fraction)
    stage("data", (data / "manifest.json").exists() and json.loads((data / "manifest.json").read_text())["status"] == "complete",
          lambda: generate(data, cfg, workers=os.cpu_count() or 1), timings, timings_path)

    def train(task: str, epochs: int, batch: int, lr: float, **options) -> None:
        fit(TrainConfig(task=task, run_dir=str(runs / task if task not in CORES else runs / options["model"]),
                        data=str(data), epochs=epochs, batch_size=batch, lr=lr, task_options=options))

    def trained(run: str, epochs: int) -> bool:
        """``epochs`` epochs logged, or the run stopped by its patience."""
        rows = read_metrics(runs / run)
        return len(rows) >= epochs or (bool(rows) and "stopped" in rows[-1])

    # the PoseVAE is trained only where it is the cores' pose encoder
    stage("posevae", args.pose_encoder != "posevae" or trained("posevae", args.posevae_epochs),
          lambda: train("posevae", args.posevae_epochs, 128, 1e-3), timings, timings_path)
    # pretrained: the frozen MiniLM with the CPU-sized topping (its token outputs cached once per
    # caption); scratch: the ablation, a ~1 M-parameter DistilBERT layout trained from random weights
    text_cfg = dict(TEXT_CPU) if args.text_model == "pretrained" else dict(SCRATCH_TEXT_CPU)
    if args.text_max_tokens is not None:
        if args.text_model != "pretrained":
            p.error("--text-max-tokens sets the pretrained topping's limit: it needs --text-model pretrained")
        text_cfg["max_tokens"] = args.text_max_tokens
    stage("posetext", trained("posetext", args.posetext_epochs),
          lambda: train("posetext", args.posetext_epochs, 128, args.posetext_lr, text_model=args.text_model,
                        model_config={"text": text_cfg}, lr_decay=args.posetext_lr_decay), timings, timings_path)
    # the default CNN backbone (the small ViT did not leave the mean pose in 3 CPU epochs); no
    # augmentation: val images are renders of the same kind, and it costs CPU time
    stage("image", args.image_encoder == "blazepose" or trained("image", args.image_epochs),
          lambda: train("image", args.image_epochs, 64, 1e-3, augment=False, model_config={"dropout": 0.0}), timings, timings_path)
    encoders = {"image_encoder": "blazepose" if args.image_encoder == "blazepose" else str(runs / "image"),
                "pose_encoder": str(runs / args.pose_encoder), "text_encoder": str(runs / "posetext")}
    suffix = "-posetext-pose" if args.pose_encoder == "posetext" else ""
    if "poseembroider" not in args.cores:
        p.error("--cores must include poseembroider: the index and the val-row count use it")
    for core in args.cores:
        task = "aligner" if core == "aligner" else "core"

        def run_core(core=core, task=task) -> None:
            fit(TrainConfig(task=task, run_dir=str(runs / (core + suffix)), data=str(data), epochs=args.core_epochs,
                            batch_size=128, lr=2e-4, patience=args.core_patience,
                            task_options={"model": core, **encoders}))
        stage(core + suffix, trained(core + suffix, args.core_epochs), run_core, timings, timings_path)

    # the gallery of the human-query benchmark (benchmarks/human_queries.py): every pose, pose vectors
    index = root / ("index" + suffix)
    stage("index" + suffix, (index / "index.json").exists(), lambda: build(BuildConfig(
        model=str(runs / ("poseembroider" + suffix)), data=str(data), out=str(index), modalities=("pose",))),
        timings, timings_path)
    results = {core + suffix: evaluate(runs / (core + suffix)) for core in args.cores
               if (runs / (core + suffix) / "best").exists()}
    out = {
        "benchmark": "retrieval_synthetic",
        "dataset": {"size": args.size, "val_fraction": args.val_fraction, "caption": 0},
        "epochs": {"posevae": args.posevae_epochs, "posetext": args.posetext_epochs,
                   "image": args.image_epochs if args.image_encoder == "cnn" else None, "core": args.core_epochs,
                   "core_patience": args.core_patience,
                   "core_trained": {core + suffix: len(read_metrics(runs / (core + suffix))) for core in args.cores}},
        "text_model": args.text_model,
        "text_encoder": text_cfg,
        "posetext": {"lr": args.posetext_lr, "lr_decay": args.posetext_lr_decay},
        "image_encoder": args.image_encoder,
        "pose_encoder": args.pose_encoder,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "stage_seconds": timings,
        "results": results,
        "paper_bedlam_script_val": PAPER,
        "chance_R@10": 100.0 * 10 / max(1, _val_rows(runs / ("poseembroider" + suffix))),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: {m: round(v[m], 1) for m in ("mRecall", "mRecall_single", "mRecall_dual")}
                      for k, v in results.items()}, indent=2))


def _val_rows(run: Path) -> int:
    from pose_search.models.features import load_features

    path = run / "features" / "val.safetensors"
    return len(load_features(path)["ids"]) if path.exists() else 0


@torch.no_grad()
def evaluate(run: Path) -> dict[str, float]:
    """Final numbers: the best core on the val features, caption 0 for every text."""
    from pose_search.metrics.retrieval import retrieval_metrics
    from pose_search.models.catalog import load_module
    from pose_search.models.features import load_features

    core = load_module(run / "best" / "core").eval()
    feats = load_features(run / "features" / "val.safetensors")
    feats = {k: torch.from_numpy(v.astype("float32")) for k, v in feats.items() if k != "ids"}
    feats["text"] = feats["text"][:, 0]
    refs = {}
    for s in range(0, len(feats["pose"]), 512):
        for k, v in core.reference_embeddings({m: x[s : s + 512] for m, x in feats.items()}).items():
            refs.setdefault(k, []).append(v)
    refs = {k: torch.cat(v) for k, v in refs.items()}
    return retrieval_metrics(refs, core.query_embedding)


if __name__ == "__main__":
    main()
