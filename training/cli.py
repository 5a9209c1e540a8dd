"""`pose-search train TASK ...`: one command for every trainable model (Ray Train underneath)."""

from __future__ import annotations

import argparse
import json
import math


def _finite(text: str, low: float, strict: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not math.isfinite(value) or value < low or (strict and value == low):
        raise argparse.ArgumentTypeError(f"expected a number {'>' if strict else '>='} {low:g}, got {text!r}")
    return value


def positive(text: str) -> float:
    """argparse type: a finite number > 0 (refuses nan and inf)."""
    return _finite(text, 0.0, strict=True)


def non_negative(text: str) -> float:
    """argparse type: a finite number >= 0."""
    return _finite(text, 0.0, strict=False)


def retries(text: str) -> int:
    """argparse type: an int >= -1 (Ray's FailureConfig: -1 retries for ever)."""
    value = int(text)
    if value < -1:
        raise argparse.ArgumentTypeError(f"expected -1 (for ever) or a count >= 0, got {text!r}")
    return value


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help="what to train: core, aligner, posevae, posetext, image, ...")
    parser.add_argument("--data", default="", help="dataset directory")
    parser.add_argument("--run", required=True, help="run directory (given again: resume)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=positive, default=2e-4)
    parser.add_argument("--weight-decay", type=non_negative, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="Ray Train workers (DDP)")
    parser.add_argument("--gpu", action="store_true", help="one GPU per worker")
    parser.add_argument("--cpus-per-worker", type=positive, default=0.5)
    parser.add_argument("--max-failures", type=retries, default=2)
    parser.add_argument("--val-every", type=int, default=1)
    parser.add_argument("--patience", type=int, default=0, metavar="N",
                        help="stop once the validation score has not improved for N epochs (0: run --epochs); "
                        "--epochs is then the most")
    parser.add_argument("--image-encoder", help="image encoder checkpoint or run directory, or `blazepose` "
                        "(pretrained, frozen; needs `make blazepose-env`) (core)")
    parser.add_argument("--pose-encoder", help="pose encoder checkpoint or run directory (core)")
    parser.add_argument("--text-encoder", help="text encoder checkpoint or run directory (core)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="task option (JSON value), e.g. --set model=poseembroider-mlp")


def options_from(args: argparse.Namespace) -> dict:
    options = {}
    for item in args.set:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        options[key.strip()] = _value(value)
    for m in ("image", "pose", "text"):
        value = getattr(args, f"{m}_encoder")
        if value:
            options[f"{m}_encoder"] = value
    return options


def run(args: argparse.Namespace) -> int:
    from training.driver import TrainConfig, fit

    cfg = TrainConfig(task=args.task, run_dir=args.run, data=args.data, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, seed=args.seed,
                      workers=args.workers, gpu=args.gpu, cpus_per_worker=args.cpus_per_worker,
                      max_failures=args.max_failures, val_every=args.val_every, patience=args.patience,
                      task_options=options_from(args))
    metrics = fit(cfg)
    shown = {k: round(v, 3) if isinstance(v, float) else v for k, v in metrics.items()
             if k in ("epoch", "best_score") or k.startswith("val/m") or k == "train/loss"}
    print(json.dumps(shown))
    return 0
