"""Build the embedded default (what ``make demo`` serves) from free parts, stage by stage.

Stages, each skipped when its output is complete (so a second ``pose-search demo`` only opens
the UI, and a cut build resumes where it stopped):

1. ``data``: a synthetic ``script`` dataset (anny poses, renders, 3 automatic captions each);
2. ``pairs``: a synthetic ``fix`` dataset (pose pairs with automatic instructions);
3. ``posetext`` / ``image``: the frozen encoders, trained with Ray Train. PoseText gives two:
   its text tower and its pose trunk (the pose encoder; the reference experiment uses a PoseVAE
   as the paper does, but on 1,200 training poses a core fed PoseText's pose trunk finds what
   people type more often, 0.53 against 0.46 precision@5, at a small cost on real photos:
   benchmarks/README.md, "Human queries"). The image encoder is
   BlazePose (no training) or a CNN trained on the renders;
4. ``core``: PoseEmbroider on the cached encoder features;
5. ``hps`` / ``instructions``: the downstream heads on the core's representation;
6. ``index``: Ray Data embeds the dataset into a LanceDB table + ANN indexes.

The result is a *bundle* folder: ``bundle.json`` names the index, the head runs and the data
(paths relative to the bundle), which ``pose-search ui --bundle DIR`` serves. Every stage shows
its own progress and the build prints an estimate of the time left (the estimates of the stages
still to run, scaled by how fast the finished stages ran against theirs).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pose_search.run_layout import BEST
from pose_search_app.progress import epoch_bar
from pose_search_app.quiet import quiet_build

BUNDLE_FILE = "bundle.json"
BUILD_FORMAT = 1
# PoseText's text tower: the frozen pretrained MiniLM (token outputs cached once per caption) with
# the CPU-sized topping (one 256-wide transformer layer) on at most 64 tokens (the median caption has
# ~40; 64 costs 0.4x the time per step of 128 for the same human-query precision, benchmarks/README.md),
# the int8 backbone (queries ~2x faster; PretrainedTextConfig.int8)
TEXT_CPU: dict[str, Any] = {"out_dim": 256, "topping_layers": 1, "topping_heads": 4, "topping_ffn": 512,
                            "max_tokens": 64, "int8": True}
POSETEXT_LR = 3e-3  # the topping on a frozen backbone: 3e-3 beat 5e-4 and 1e-3 in 16 epochs

# CPU-sized instruction decoder (the default 4 x 512 one costs ~150 s per epoch on 1.3k pairs; 2 x 128
# costs half of 2 x 256 per step and learns nearly as much per step: benchmarks/README.md, instructions)
INSTRUCTIONS_CPU: dict[str, Any] = {"d_model": 128, "n_layers": 2, "n_heads": 4, "ffn": 256}


@dataclass(frozen=True)
class DemoScale:
    """Sizes and epochs of one demo scale; ``seconds`` are per-stage estimates on 2 CPU cores."""

    poses: int
    pairs: int
    posetext_epochs: int
    image_epochs: int
    core_epochs: int
    hps_epochs: int
    instructions_epochs: int

    def estimates(self) -> dict[str, float]:
        """Seconds per stage on a 2-core CPU (measured on the small scale, scaled by rows x epochs)."""
        n, p = self.poses / 1000, self.pairs / 1000
        return {"data": 10 + 14 * n, "pairs": 10 + 14 * p,
                "posetext": 20 + 70 * n + 1.4 * n * self.posetext_epochs, "image": 20 + 10 * n * self.image_epochs,
                "core": 15 + 25 * n + 2 * n * self.core_epochs, "hps": 12 + 15 * n + 1 * n * self.hps_epochs,
                "instructions": 30 + 10 * p + 12 * p * self.instructions_epochs, "index": 15 + 5 * n}


SCALES: dict[str, DemoScale] = {
    # the image CNN needs ~300 steps to leave the mean pose: small data gets more epochs
    # PoseText trains only its topping (the backbone's token outputs are cached): many cheap epochs
    # (its validation loss bottoms out near epoch 70 on the small demo); the core's text->pose
    # validation recall stops rising after ~25 epochs
    "small": DemoScale(poses=1500, pairs=1500, posetext_epochs=70, image_epochs=10,
                       core_epochs=30, hps_epochs=8, instructions_epochs=4),
    "medium": DemoScale(poses=6000, pairs=6000, posetext_epochs=32, image_epochs=6,
                        core_epochs=20, hps_epochs=8, instructions_epochs=8),
    "large": DemoScale(poses=22000, pairs=22000, posetext_epochs=20, image_epochs=6,
                       core_epochs=10, hps_epochs=8, instructions_epochs=6),
}


def scale_for(size: str, poses: int | None = None) -> DemoScale:
    """The named scale, optionally with another number of poses (and pairs)."""
    if size not in SCALES:
        raise ValueError(f"--size {size!r}: expected one of {', '.join(SCALES)}")
    scale = SCALES[size]
    if poses is not None:
        if poses < 40:
            raise ValueError(f"--poses {poses}: need at least 40 (a train and a val split for every stage)")
        fields = {**asdict(scale), "poses": poses, "pairs": poses}
        if poses < 200:  # a smoke-test size: a couple of epochs show that every stage works
            fields = {k: (min(v, 2) if k.endswith("_epochs") else v) for k, v in fields.items()}
        scale = DemoScale(**fields)
    return scale


def _fmt(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


IMAGE_ENCODERS = ("auto", "blazepose", "cnn")


def resolve_image_encoder(choice: str) -> str:
    """``blazepose`` or ``cnn`` for ``--image-encoder``; ``auto`` is BlazePose (pretrained on real
    photos; against the CNN: benchmarks/README.md, "Real photos and BlazePose") when its
    environment is built, else the CNN."""
    from pose_search.models.encoders.blazepose import BlazePoseEnvError, env_python

    if choice not in IMAGE_ENCODERS:
        raise ValueError(f"--image-encoder {choice!r}: expected one of {', '.join(IMAGE_ENCODERS)}")
    if choice == "cnn":
        return choice
    try:
        env_python()
    except BlazePoseEnvError:
        if choice == "blazepose":
            raise  # how to build it, now rather than after the data stages
        return "cnn"
    return "blazepose"


def built_image_encoder(root: str | Path) -> str | None:
    """The image encoder a (partly) built demo folder was built with, or None when there is none
    (``auto`` keeps it, so an existing bundle is reused as it is)."""
    try:
        state = json.loads((Path(root) / "build.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return state.get("image_encoder", "cnn") if isinstance(state, dict) else None


class DemoBuilder:
    """Builds (or resumes) the bundle at ``root`` for ``scale``; :meth:`run` returns the root.

    ``image_encoder``: ``blazepose`` (the frozen pretrained BlazePose: photos work) or ``cnn``
    (our CNN, trained on the renders in the ``image`` stage). ``verbose=False`` quiets the libraries
    for this process before the first stage (:func:`pose_search_app.quiet.quiet_build`)."""

    def __init__(self, root: str | Path, scale: DemoScale, workers: int | None = None,
                 log: Callable[[str], None] = print, image_encoder: str = "cnn", verbose: bool = True) -> None:
        if image_encoder not in ("blazepose", "cnn"):
            raise ValueError(f"image_encoder {image_encoder!r}: expected blazepose or cnn")
        self.root, self.scale, self.log = Path(root).absolute(), scale, log
        self.image_encoder = image_encoder
        self.verbose = verbose  # False: the libraries' banners and logs stay out of the terminal (quiet.py)
        self.workers = workers or max(1, min(2, os.cpu_count() or 1))
        self.state_file = self.root / "build.json"

    # ------------------------------------------------------------------ paths
    @property
    def data(self) -> Path:
        return self.root / "data" / "script"

    @property
    def pairs(self) -> Path:
        return self.root / "data" / "fix"

    def run_dir(self, name: str) -> Path:
        return self.root / "runs" / name

    @property
    def index(self) -> Path:
        return self.root / "index"

    # ------------------------------------------------------------------ state
    def _state(self) -> dict[str, Any]:
        if not self.state_file.exists():
            return {"format": BUILD_FORMAT, "scale": asdict(self.scale), "image_encoder": self.image_encoder,
                    "stages": {}}
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{str(self.state_file)!r} is unreadable ({exc}); rebuild with --rebuild") from None
        if state.get("format") != BUILD_FORMAT or state.get("scale") != asdict(self.scale):
            raise ValueError(f"{str(self.root)!r} holds a demo built with other settings "
                             f"({state.get('scale')}); use --rebuild or another --out")
        built = state.get("image_encoder", "cnn")  # (bundles from before the choice existed: the CNN)
        if built != self.image_encoder:
            raise ValueError(f"{str(self.root)!r} holds a demo built with the {built} image encoder, not "
                             f"{self.image_encoder}; use --image-encoder {built}, --rebuild or another --out")
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        os.replace(tmp, self.state_file)  # atomic: a kill never leaves a half-written state

    # ------------------------------------------------------------------ stages
    def stages(self) -> list[tuple[str, str, Callable[[], None]]]:
        """``(name, description, action)`` in build order."""
        s = self.scale
        stages = [
            ("data", f"synthetic poses, renders and captions ({s.poses})", self._data),
            ("pairs", f"synthetic pose pairs with instructions ({s.pairs} poses)", self._pairs),
            ("posetext", f"text and pose encoders (PoseText, {s.posetext_epochs} epochs)", lambda: self._train(
                "posetext", s.posetext_epochs, 128, POSETEXT_LR, self.data, model_config={"text": TEXT_CPU})),
            ("image", f"image encoder (pose regression on renders, {s.image_epochs} epochs)", lambda: self._train(
                "image", s.image_epochs, 64, 1e-3, self.data, augment=False, model_config={"dropout": 0.0})),
            ("core", f"PoseEmbroider core ({s.core_epochs} epochs"
                     + (", BlazePose image features" if self.image_encoder == "blazepose" else "") + ")",
             lambda: self._train(
                "core", s.core_epochs, 128, 2e-4, self.data, model="poseembroider",
                image_encoder="blazepose" if self.image_encoder == "blazepose" else str(self.run_dir("image")),
                pose_encoder=str(self.run_dir("posetext")), text_encoder=str(self.run_dir("posetext")))),
            ("hps", f"mesh-recovery head ({s.hps_epochs} epochs)", lambda: self._train(
                "hps", s.hps_epochs, 128, 1e-3, self.data, core=str(self.run_dir("core")))),
            ("instructions", f"instruction head ({s.instructions_epochs} epochs)", lambda: self._train(
                "instructions", s.instructions_epochs, 64, 1e-3, self.pairs, core=str(self.run_dir("core")),
                model_config=INSTRUCTIONS_CPU,
                val_every=max(1, s.instructions_epochs // 2))),  # validation decodes text: costly
            ("index", "embedding the dataset into the search index", self._index),
        ]
        return [st for st in stages if not (st[0] == "image" and self.image_encoder == "blazepose")]

    def _data(self) -> None:
        self._generate(self.data, "script", self.scale.poses)

    def _pairs(self) -> None:
        self._generate(self.pairs, "fix", self.scale.pairs)

    def _generate(self, out: Path, kind: str, size: int) -> None:
        from tqdm import tqdm

        from pose_search.data.generate import GenerateConfig
        from pose_search.data.generate import run as generate

        bar = tqdm(total=size, unit="pose", desc=f"  {kind} data", leave=False)

        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        generate(out, GenerateConfig(kind=kind, size=size, seed=0), workers=self.workers, progress=progress)
        bar.close()

    def _train(self, task: str, epochs: int, batch: int, lr: float, data: Path, val_every: int = 1,
               **options: Any) -> None:
        from training.driver import TrainConfig, fit

        # small demos (--poses) shrink the batch so that each epoch has a few steps
        batch = max(4, min(batch, self._train_rows(data) // 4))
        with epoch_bar(self.run_dir(task), epochs, f"  {task}"):
            fit(TrainConfig(task=task, run_dir=str(self.run_dir(task)), data=str(data), epochs=epochs,
                            batch_size=batch, lr=lr, val_every=val_every, task_options=options))

    @staticmethod
    def _train_rows(data: Path) -> int:
        """Rows of the train split: poses of a script dataset, pairs of a fix dataset."""
        from pose_search.data.store import read_manifest

        counts = read_manifest(data).get("counts", {})
        if "pairs_per_split_kind" in counts:
            return sum(n for key, n in counts["pairs_per_split_kind"].items() if key.startswith("train/"))
        return int(counts.get("poses_per_split", {}).get("train", 0))

    def _index(self) -> None:
        from indexing.build import BuildConfig, build

        build(BuildConfig(model=str(self.run_dir("core")), data=str(self.data), out=str(self.index),
                          workers=1, ann="auto"))

    def _done(self, name: str, state: dict[str, Any]) -> bool:
        if name not in state["stages"]:
            return False
        if name in ("data", "pairs"):
            path = self.data if name == "data" else self.pairs
            try:
                return json.loads((path / "manifest.json").read_text()).get("status") == "complete"
            except (OSError, json.JSONDecodeError):
                return False
        if name == "index":
            return (self.index / "index.json").exists()
        return (self.run_dir(name) / BEST).is_dir()

    # ------------------------------------------------------------------ run
    def run(self) -> Path:
        """Run the missing stages; write ``bundle.json``; return the bundle folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        # every core for torch in the Ray Train workers (they read it; the default there is 1)
        os.environ.setdefault("POSE_SEARCH_TORCH_THREADS", str(os.cpu_count() or 1))
        state = self._state()
        estimates = self.scale.estimates()
        if self.image_encoder == "blazepose":  # BlazePose over every render (~60 ms each) before the core trains
            estimates["core"] += 60.0 * self.scale.poses / 1000
        stages = self.stages()
        todo = [name for name, _, _ in stages if not self._done(name, state)]
        if todo and not self.verbose:
            quiet_build()
        if todo:
            self.log(f"building the {self.scale.poses}-pose demo in {self.root} "
                     f"(estimated {_fmt(sum(estimates[n] for n in todo))} on 2 CPU cores)")
        spent = estimated_done = 0.0
        start = time.perf_counter()
        for i, (name, description, action) in enumerate(stages, 1):
            if name not in todo:
                continue
            left = sum(estimates[n] for n in todo[todo.index(name):])
            speed = spent / estimated_done if estimated_done else 1.0
            self.log(f"[{i}/{len(stages)}] {description}  (about {_fmt(left * speed)} left)")
            t = time.perf_counter()
            action()
            took = time.perf_counter() - t
            spent, estimated_done = spent + took, estimated_done + estimates[name]
            state["stages"][name] = {"seconds": round(took, 1)}
            self._save_state(state)
        if todo:
            state["build_seconds"] = round(sum(v["seconds"] for v in state["stages"].values()), 1)
            self._save_state(state)
            self.log(f"demo built in {_fmt(time.perf_counter() - start)}")
        bundle = {"index": "index", "hps": "runs/hps", "instructions": "runs/instructions", "data": "data/script",
                  "pairs": "data/fix", "scale": asdict(self.scale)}
        (self.root / BUNDLE_FILE).write_text(json.dumps(bundle, indent=2) + "\n")
        return self.root


def clear(root: str | Path) -> None:
    """Remove a demo folder (``--rebuild``); refuses a folder that is not a demo bundle."""
    root = Path(root)
    if not root.exists():
        return
    if not (root / "build.json").exists() and any(root.iterdir()):
        raise ValueError(f"{str(root)!r} is not a demo folder (no build.json); not removing it")
    shutil.rmtree(root)
