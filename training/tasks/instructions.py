"""Train the instruction head (pose pair -> corrective text) and PairText (its evaluator).

``instructions``: ``prepare`` copies the frozen representation model (a core run) into
``RUN/representation`` and caches the representation of every pose of the ``fix`` dataset from
its *pose* alone (``RUN/representations/poses.safetensors``); pairs index into it. The decoder's
vocabulary is a WordPiece trained on the training instructions (``RUN/tokenizer``; stage 2 keeps
the init head's). ``--set init=RUN`` starts from
another instructions run (stage 2: fine-tuning), ``--set pair_kinds=out`` keeps one kind of pairs.
The learning rate warms up linearly over the first ``warmup_steps`` (100) steps and gradients are
clipped to norm ``grad_clip`` (1.0): the post-norm decoder at lr 1e-3 needs both. Flip
augmentation as for PairText below: with probability ``lr_flip`` (0.5) a training pair is
mirrored, its text too, and the representations come from the mirrored poses (cached as
``rep_mirror`` beside ``rep``). Best checkpoint = lowest validation loss.

``pairtext``: pose pair <-> instruction retrieval with symBBC; the text tower starts from a
trained text encoder when ``--set text_encoder=RUN`` is given (its tokenizer too), else from
scratch with a WordPiece trained on the instructions. Flip augmentation: with probability
``lr_flip`` (0.5) a training pair is mirrored left/right, both poses
(:func:`~pose_search.data.pose_builder.mirror_pose`) and its text
(:func:`~pose_search.data.mirror.mirror_text`). Best checkpoint = highest val mRecall.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from pose_search.data.mirror import mirror_text
from pose_search.data.pairs import load_pairs, load_pool_poses, pick_text, pool_ids, tokenize_texts
from pose_search.data.pose_builder import mirror_pose
from training.tasks.base import Batch, Task, two_tower_metrics

REPRESENTATION_DIR = "representation"


def with_mirrored(texts: list[list[str]]) -> list[list[str]]:
    """Each pair's C texts (short lists repeat their last, as ``tokenize_texts`` does) followed by
    their mirror images: ``2C`` texts per pair, text ``C + k`` the mirror of text ``k``."""
    c = max(len(x) for x in texts)
    return [full + [mirror_text(t) for t in full] for full in ((list(x) + [x[-1]] * c)[:c] for x in texts)]


def pick_flipped(ids: torch.Tensor, mask: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One text per row of ``(B, 2C, L)`` (see :func:`with_mirrored`): a mirrored one with
    probability ``p``. Returns ids, mask ``(B, L')`` and ``flip`` ``(B,)`` bool (on ``ids``' device)."""
    n, c = ids.shape[0], ids.shape[1] // 2
    flip = torch.rand(n) < p
    ids, mask = pick_text(ids, mask, torch.randint(c, (n,)) + c * flip)
    return ids, mask, flip.to(ids.device)


class InstructionsTask(Task):
    score_name = "loss"
    higher_is_better = False

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        return {"model": "instruction-generator", "model_config": {}, "core": None, "init": None,
                "pair_kinds": "all", "val_split": "val", "max_tokens": 96, "warmup_steps": 100, "grad_clip": 1.0,
                "lr_flip": 0.5, "vocab_size": 4000}

    @property
    def cache(self) -> Path:
        return self.run_dir / "representations" / "poses.safetensors"

    def prepare(self) -> None:
        from pose_search.api import PoseSearchModel, copy_model, load_model, model_files
        from pose_search.models.features import feature_dims, load_features, save_features

        if not self.cfg.data:
            raise ValueError("instructions training needs --data (a fix dataset with pairs)")
        if not self.options["core"]:
            raise ValueError("instructions training needs --set core=RUN (a trained core or aligner run)")
        for split in ("train", self.options["val_split"]):
            load_pairs(self.cfg.data, split, self.options["pair_kinds"])
        rep_dir = copy_model(model_files(self.options["core"]), self.run_dir / REPRESENTATION_DIR)
        if self.options["init"]:
            self._init_dir()
        elif not (self.tokenizer_path / "tokenizer.json").exists():
            from pose_search.models.encoders.tokenizer import TextTokenizer

            train = load_pairs(self.cfg.data, "train", self.options["pair_kinds"])["instructions"]
            texts = [t for ts in with_mirrored(train) for t in ts]
            TextTokenizer.train(texts, vocab_size=int(self.options["vocab_size"])).save(self.tokenizer_path)
        wanted = {"rep", "rep_mirror"} if self.options["lr_flip"] > 0 else {"rep"}
        if self.cache.exists() and wanted <= set(feature_dims(self.cache)):
            return
        model = load_model(rep_dir)
        if not isinstance(model, PoseSearchModel) or not {"pose", "text"} <= set(model.modalities):
            raise ValueError(f"{self.options['core']!r}: the representation model needs pose and text encoders")
        poses = load_pool_poses(self.cfg.data)

        def represent(p: torch.Tensor) -> np.ndarray:  # (N, 22, 3) -> (N, D)
            return np.concatenate([model.representation(poses=p[s : s + 512]).float().numpy()
                                   for s in range(0, len(p), 512)])

        have = load_features(self.cache) if self.cache.exists() else {}
        feats = {"ids": np.asarray(pool_ids(self.cfg.data)), "rep": have["rep"] if "rep" in have else represent(poses)}
        if "rep_mirror" in wanted:
            feats["rep_mirror"] = represent(mirror_pose(poses))
        save_features(self.cache, feats)

    def _init_dir(self) -> Path:
        run = Path(self.options["init"])
        for part in ("best", "last"):
            if (run / part / "head" / "config.json").exists():
                return run / part / "head"
        raise ValueError(f"init {str(run)!r}: not an instructions run (no best/head or last/head)")

    @property
    def tokenizer_path(self) -> Path:
        return self.run_dir / "tokenizer"

    def _tokenizer(self):
        """The decoder's vocabulary: the init head's (stage 2), else a WordPiece trained on the
        training instructions in ``prepare`` (a pretrained text encoder's 30k-token vocabulary
        would make the output layer ~8x wider for words instructions never use)."""
        from pose_search.models.encoders.tokenizer import TextTokenizer

        return TextTokenizer.load(self._init_dir() if self.options["init"] else self.tokenizer_path)

    def _split(self, split: str, mirrored: bool = False) -> Batch:
        """Representations ``(P, D)`` x2 and texts ``(P, C, L)``; ``mirrored``: also those of the
        mirrored poses (``rep_a_m``, ``rep_b_m``) and ``(P, 2C, L)`` texts (:func:`with_mirrored`)."""
        from pose_search.models.features import load_features

        feats = load_features(self.cache)
        rep = torch.from_numpy(feats["rep"].astype(np.float32))
        pairs = load_pairs(self.cfg.data, split, self.options["pair_kinds"])
        texts = with_mirrored(pairs["instructions"]) if mirrored else pairs["instructions"]
        ids, mask = tokenize_texts(self._tokenizer(), texts, int(self.options["max_tokens"]))
        out = {"rep_a": rep[pairs["a"]], "rep_b": rep[pairs["b"]], "ids": ids, "mask": mask}
        if mirrored:
            rep_m = torch.from_numpy(feats["rep_mirror"].astype(np.float32))
            out.update(rep_a_m=rep_m[pairs["a"]], rep_b_m=rep_m[pairs["b"]])
        return out

    def datasets(self) -> tuple[Batch, Batch]:
        return self._split("train", mirrored=self.options["lr_flip"] > 0), self._split(self.options["val_split"])

    def build_model(self) -> torch.nn.Module:
        from pose_search.checkpoint import load_module
        from pose_search.models.features import feature_dims
        from pose_search.models.registry import create_model

        if self.options["init"]:
            return load_module(self._init_dir())
        dims = feature_dims(self.cache)
        return create_model(self.options["model"], tokenizer=self._tokenizer(),
                            **{"rep_dim": dims["rep"], "max_length": int(self.options["max_tokens"]),
                               **self.options["model_config"]})

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        rep_a, rep_b = batch["rep_a"], batch["rep_b"]
        if self.options["lr_flip"] > 0:  # texts (B, 2C, L): C originals, then their mirror images
            ids, mask, flip = pick_flipped(batch["ids"], batch["mask"], float(self.options["lr_flip"]))
            f = flip[:, None]
            rep_a, rep_b = torch.where(f, batch["rep_a_m"], rep_a), torch.where(f, batch["rep_b_m"], rep_b)
        else:
            ids, mask = pick_text(batch["ids"], batch["mask"])
        m = model.module if hasattr(model, "module") else model
        return m.loss(rep_a, rep_b, ids, mask), {}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        model.eval()
        n = len(val["rep_a"])
        ids, mask = pick_text(val["ids"], val["mask"], torch.zeros(n, dtype=torch.long))
        total, count = 0.0, 0
        for s in range(0, n, 256):
            sl = slice(s, s + 256)
            loss = model.loss(val["rep_a"][sl].to(device), val["rep_b"][sl].to(device), ids[sl].to(device),
                              mask[sl].to(device))
            total += float(loss) * len(ids[sl])
            count += len(ids[sl])
        return {"loss": total / count}

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        from pose_search.checkpoint import save_module

        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        name = self.options["model"]
        if self.options["init"]:
            from pose_search.checkpoint import read_config

            name = read_config(self._init_dir())["name"]
        save_module(directory / "head", name, model.config(), model, metrics=scalars)


class PairTextTask(Task):
    score_name = "mRecall"
    higher_is_better = True

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        return {"model": "pairtext", "model_config": {}, "text_encoder": None, "pair_kinds": "all",
                "val_split": "val", "vocab_size": 4000, "max_tokens": 96, "lr_flip": 0.5}

    @property
    def tokenizer_path(self) -> Path:
        return self.run_dir / "tokenizer"

    def _encoder_dir(self) -> Path | None:
        if not self.options["text_encoder"]:
            return None
        from pose_search.checkpoint import read_config

        run = Path(self.options["text_encoder"])
        for d in (run, run / "best" / "encoder", run / "last" / "encoder"):
            if (d / "config.json").exists() and (d / "tokenizer.json").exists():
                return d
            if (d / "config.json").exists() and read_config(d)["name"].startswith("pretrained-text"):
                raise ValueError(f"text_encoder {str(run)!r} holds a pretrained (MiniLM) text encoder; PairText "
                                 "starts its text tower from a from-scratch one only (a PoseText run trained "
                                 "with --set text_model=scratch), or from nothing: leave text_encoder out")
        raise ValueError(f"text_encoder {str(run)!r}: not a text encoder checkpoint or PoseText run")

    def prepare(self) -> None:
        from pose_search.models.encoders.tokenizer import TextTokenizer

        if not self.cfg.data:
            raise ValueError("pairtext training needs --data (a fix dataset with pairs)")
        train = load_pairs(self.cfg.data, "train", self.options["pair_kinds"])
        load_pairs(self.cfg.data, self.options["val_split"], self.options["pair_kinds"])
        if self._encoder_dir() is None and not (self.tokenizer_path / "tokenizer.json").exists():
            texts = [t for ts in train["instructions"] for t in ts]
            TextTokenizer.train(texts, vocab_size=int(self.options["vocab_size"])).save(self.tokenizer_path)

    def _tokenizer(self):
        from pose_search.models.encoders.tokenizer import TextTokenizer

        enc = self._encoder_dir()
        return TextTokenizer.load((enc if enc is not None else self.tokenizer_path) / "tokenizer.json")

    def _split(self, split: str, mirrored: bool = False) -> Batch:
        """Poses ``(P, 22, 3)`` x2 and texts ``(P, C, L)``; ``mirrored``: ``(P, 2C, L)``, the
        C texts then their mirror images in the same order."""
        poses = load_pool_poses(self.cfg.data)
        pairs = load_pairs(self.cfg.data, split, self.options["pair_kinds"])
        texts = with_mirrored(pairs["instructions"]) if mirrored else pairs["instructions"]
        ids, mask = tokenize_texts(self._tokenizer(), texts, int(self.options["max_tokens"]))
        return {"pose_a": poses[pairs["a"]], "pose_b": poses[pairs["b"]], "ids": ids, "mask": mask}

    def datasets(self) -> tuple[Batch, Batch]:
        return self._split("train", mirrored=self.options["lr_flip"] > 0), self._split(self.options["val_split"])

    def build_model(self) -> torch.nn.Module:
        from pose_search.checkpoint import load_module, read_config
        from pose_search.models.registry import create_model

        cfg = dict(self.options["model_config"])
        enc = self._encoder_dir()
        if enc is not None:
            cfg["text"] = {**read_config(enc)["config"], **cfg.get("text", {})}
        model = create_model(self.options["model"], tokenizer=self._tokenizer(), **cfg)
        if enc is not None:
            model.text.load_state_dict(load_module(enc).state_dict())
        return model

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        pose_a, pose_b = batch["pose_a"], batch["pose_b"]
        if self.options["lr_flip"] > 0:  # texts (B, 2C, L): C originals, then their mirror images
            ids, mask, flip = pick_flipped(batch["ids"], batch["mask"], float(self.options["lr_flip"]))
            f = flip[:, None, None]
            pose_a, pose_b = torch.where(f, mirror_pose(pose_a), pose_a), torch.where(f, mirror_pose(pose_b), pose_b)
        else:
            ids, mask = pick_text(batch["ids"], batch["mask"])
        pair, text = model(pose_a, pose_b, ids, mask)
        gather = torch.distributed.is_available() and torch.distributed.is_initialized()
        m = model.module if hasattr(model, "module") else model
        return m.loss(pair, text, gather=gather), {}

    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        n = len(val["pose_a"])
        ids, mask = pick_text(val["ids"], val["mask"], torch.zeros(n, dtype=torch.long))
        return two_tower_metrics(model, [val["pose_a"], val["pose_b"], ids, mask], ("pair", "text"), device)

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        from pose_search.checkpoint import save_module

        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        save_module(directory / "model", self.options["model"], model.config(), model, metrics=scalars)
