"""Why the instruction head is trained the way it is: token-embedding init and decoder size.

Trains fresh instruction heads for the same number of optimizer steps over the cached pose
representations of the PoseEmbroider instructions run that ``benchmarks/instructions.py`` made,
through the task's own epoch loop (``InstructionsTask.train_epoch``: warm-up and gradient
clipping as shipped; flip augmentation off, to compare like with like), and logs after every
epoch the teacher-forced val loss with the true pairs, the pairs shuffled and A / B swapped, plus
the seconds per step. Variants:

- ``2x256 init N(0,1)``: ``nn.Embedding``'s default init; scaled by sqrt(d), tokens are ~16x
  the sinusoidal positions;
- ``2x256 init d^-1/2``: the shipped init (scaled tokens at unit scale);
- ``2x128 init d^-1/2``: the shipped CPU decoder (``pose_search_app.build.INSTRUCTIONS_CPU``).

Then a bag-of-words probe: does the pair of representations predict which words the instruction
uses? An MLP from (A, B, B - A) to the multi-hot vocabulary, val BCE against the word-prior
and the same probe on shuffled pairs, for the representations and for the raw poses.
Writes benchmarks/results/instructions_schedule.json.

    .venv/bin/python benchmarks/instructions_schedule.py --root experiments/synthetic
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "2x256 init N(0,1)": ({"d_model": 256, "n_layers": 2, "n_heads": 4, "ffn": 512}, "default"),
    "2x256 init d^-1/2": ({"d_model": 256, "n_layers": 2, "n_heads": 4, "ffn": 512}, "shipped"),
    "2x128 init d^-1/2": ({"d_model": 128, "n_layers": 2, "n_heads": 4, "ffn": 256}, "shipped"),
}


@torch.no_grad()
def val_losses(task, model: nn.Module, val: dict[str, torch.Tensor], n: int) -> dict[str, float]:
    """Teacher-forced val loss of the first ``n`` pairs: true, shuffled (each text with another
    row's pair) and swapped (B -> A)."""
    cut = {k: v[:n] for k, v in val.items()}
    perm = torch.roll(torch.arange(n), 1)
    shuffled = {**cut, "rep_a": cut["rep_a"][perm], "rep_b": cut["rep_b"][perm]}
    swapped = {**cut, "rep_a": cut["rep_b"], "rep_b": cut["rep_a"]}
    cpu = torch.device("cpu")
    return {name: round(task.evaluate(model, batch, cpu)["loss"], 4)
            for name, batch in (("true", cut), ("shuffled", shuffled), ("swapped", swapped))}


def schedule(root: Path, epochs: int, lr: float, n_val: int) -> dict[str, Any]:
    from training.driver import TrainConfig
    from training.tasks import TASKS

    out: dict[str, Any] = {}
    for name, (config, init) in VARIANTS.items():
        torch.manual_seed(0)
        cfg = TrainConfig(task="instructions", run_dir=str(root / "runs" / "instructions_poseembroider"),
                          data=str(root / "fix"), epochs=epochs, batch_size=64, lr=lr, weight_decay=1e-4,
                          task_options={"core": str(root / "runs" / "poseembroider"), "model_config": config,
                                        "lr_flip": 0.0})
        task = TASKS["instructions"](cfg)
        train, val = task.datasets()  # reads the run's representation cache; writes nothing
        model = task.build_model()
        if init == "default":
            nn.init.normal_(model.embed.weight)
            with torch.no_grad():
                model.embed.weight[0].zero_()
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
        steps = len(train["rep_a"]) // cfg.batch_size
        curve = [{"step": 0, **val_losses(task, model, val, n_val)}]
        seconds = 0.0
        for epoch in range(epochs):
            start = time.perf_counter()
            logs = task.train_epoch(model, opt, train, epoch, 0, 1, torch.device("cpu"))
            seconds += time.perf_counter() - start
            curve.append({"step": (epoch + 1) * steps, "train": round(logs["loss"], 4),
                          **val_losses(task, model, val, n_val)})
            print(name, json.dumps(curve[-1]), flush=True)
        out[name] = {"config": config, "init": init, "seconds_per_step": round(seconds / (epochs * steps), 3),
                     "curve": curve}
    return out


def _bow(tok, texts: list[list[str]]) -> torch.Tensor:
    """Multi-hot ``(P, V)`` of the tokens of every text of each pair (special tokens off)."""
    from pose_search.data.pairs import tokenize_texts
    from pose_search.models.encoders.tokenizer import SPECIAL_TOKENS

    ids, _ = tokenize_texts(tok, texts, 96)
    y = torch.zeros(len(ids), tok.vocab_size)
    y.scatter_(1, ids.reshape(len(ids), -1), 1.0)
    y[:, : len(SPECIAL_TOKENS)] = 0  # a trained vocabulary puts them at ids 0-4
    return y


def probe(root: Path, epochs: int) -> dict[str, Any]:
    from pose_search.data.pairs import load_pairs, load_pool_poses
    from pose_search.models.encoders.tokenizer import TextTokenizer
    from pose_search.models.features import load_features

    fix = str(root / "fix")
    run = root / "runs" / "instructions_poseembroider"
    tok = TextTokenizer.load(run / "representation" / "encoders" / "text" / "tokenizer.json")
    inputs = {"poseembroider": torch.from_numpy(load_features(run / "representations" / "poses.safetensors")["rep"]
                                                .astype(np.float32)),
              "raw poses": load_pool_poses(fix).flatten(1)}
    aligner = root / "runs" / "instructions_aligner" / "representations" / "poses.safetensors"
    if aligner.exists():
        inputs["aligner"] = torch.from_numpy(load_features(aligner)["rep"].astype(np.float32))
    out: dict[str, Any] = {}
    for name, rep in inputs.items():
        torch.manual_seed(0)
        data = {}
        for split in ("train", "val"):
            p = load_pairs(fix, split)
            data[split] = (torch.cat([rep[p["a"]], rep[p["b"]], rep[p["b"]] - rep[p["a"]]], 1),
                           _bow(tok, p["instructions"]))
        (xt, yt), (xv, yv) = data["train"], data["val"]
        mu, sd = xt.mean(0), xt.std(0) + 1e-6
        xt, xv = (xt - mu) / sd, (xv - mu) / sd
        net = nn.Sequential(nn.Linear(xt.shape[1], 512), nn.ReLU(), nn.Dropout(0.3), nn.Linear(512, yt.shape[1]))
        opt = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=1e-4)
        for _ in range(epochs):
            net.train()
            for idx in torch.randperm(len(xt)).split(128):
                loss = F.binary_cross_entropy_with_logits(net(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            prior = torch.logit(yt.mean(0).clamp(1e-4, 1 - 1e-4)).expand_as(yv)
            out[name] = {
                "val_bce": round(F.binary_cross_entropy_with_logits(net(xv), yv).item(), 4),
                "val_bce_shuffled_pairs": round(F.binary_cross_entropy_with_logits(
                    net(xv[torch.roll(torch.arange(len(xv)), 1)]), yv).item(), 4),
                "val_bce_word_prior": round(F.binary_cross_entropy_with_logits(prior, yv).item(), 4)}
        print("probe", name, out[name], flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="experiments/synthetic")
    p.add_argument("--epochs", type=int, default=7, help="epochs per variant (~83 steps of 64 pairs each)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--val-pairs", type=int, default=500)
    p.add_argument("--probe-epochs", type=int, default=60)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "instructions_schedule.json"))
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("POSE_SEARCH_TORCH_THREADS", "2")))
    root = Path(args.root)
    out = {"benchmark": "instructions_schedule", "epochs": args.epochs, "lr": args.lr, "batch_size": 64,
           "val_pairs": args.val_pairs, "schedule": schedule(root, args.epochs, args.lr, args.val_pairs),
           "bag_of_words_probe": probe(root, args.probe_epochs),
           "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                       "platform": platform.platform()}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
