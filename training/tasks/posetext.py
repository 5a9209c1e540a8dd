"""Train PoseText (pose <-> text retrieval); its text tower becomes the frozen text encoder.

Without a real ``distilbert-base-uncased`` directory (``--set text_pretrained_dir=...``) the
tokenizer is a WordPiece trained on the training captions and the DistilBERT-architecture
transformer is a smaller one trained from scratch (nothing pretrained can be downloaded here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from training.tasks.base import Batch, Task, two_tower_metrics
from training.tasks.data import load_split

# DistilBERT layout, sized for training from scratch on a CPU
SCRATCH_TEXT = {"dim": 256, "n_layers": 4, "n_heads": 4, "hidden_dim": 1024, "freeze_backbone": False}


class PoseTextTask(Task):
    score_name = "loss"
    higher_is_better = False

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        return {"model": "posetext", "model_config": {}, "text_pretrained_dir": None, "vocab_size": 4000,
                "max_tokens": 128, "val_split": "val", "eval_rows": 2000}

    @property
    def tokenizer_path(self) -> Path:
        return self.run_dir / "tokenizer"

    def prepare(self) -> None:
        from pose_search.models.encoders.tokenizer import TextTokenizer

        if not self.cfg.data:
            raise ValueError("posetext training needs --data (a dataset with poses and captions)")
        train = load_split(self.cfg.data, "train", ("pose", "captions"))
        load_split(self.cfg.data, self.options["val_split"], ("pose", "captions"))
        if self.options["text_pretrained_dir"] is None and not (self.tokenizer_path / "tokenizer.json").exists():
            texts = [c for caps in train["captions"] for c in caps]
            TextTokenizer.train(texts, vocab_size=int(self.options["vocab_size"])).save(self.tokenizer_path)

    def _tokenizer(self):
        from pose_search.models.encoders.tokenizer import TextTokenizer

        if self.options["text_pretrained_dir"]:
            return TextTokenizer.from_distilbert_dir(self.options["text_pretrained_dir"])
        return TextTokenizer.load(self.tokenizer_path)

    def build_model(self) -> torch.nn.Module:
        from pose_search.models.registry import create_model

        cfg = dict(self.options["model_config"])
        if self.options["text_pretrained_dir"]:
            cfg["text_pretrained_dir"] = self.options["text_pretrained_dir"]
        else:
            cfg["text"] = {**SCRATCH_TEXT, **cfg.get("text", {})}
        return create_model(self.options["model"], tokenizer=self._tokenizer(), **cfg)

    def _encode(self, split: str) -> Batch:
        data = load_split(self.cfg.data, split, ("pose", "captions"))
        tok = self._tokenizer()
        caps = data["captions"]
        c = max(len(x) for x in caps)
        flat = [(list(x) + [x[-1]] * c)[:c][k] for x in caps for k in range(c)]
        ids, mask = tok(flat, max_length=int(self.options["max_tokens"]))
        n = len(caps)
        return {"pose": data["pose"], "ids": ids.view(n, c, -1), "mask": mask.view(n, c, -1)}

    def datasets(self) -> tuple[Batch, Batch]:
        val = self._encode(self.options["val_split"])
        n = int(self.options["eval_rows"])
        return self._encode("train"), {k: v[:n] for k, v in val.items()}

    @staticmethod
    def _pick(batch: Batch, index: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        n, c = batch["ids"].shape[:2]
        index = torch.randint(c, (n,)) if index is None else index % c
        ids, mask = batch["ids"][torch.arange(n), index], batch["mask"][torch.arange(n), index]
        width = int(mask.sum(1).max())  # cut the padding shared by the whole batch
        return ids[:, :width], mask[:, :width]

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        ids, mask = self._pick(batch)
        pose_emb, text_emb = model(batch["pose"], ids, mask)
        gather = torch.distributed.is_available() and torch.distributed.is_initialized()
        unwrapped = model.module if hasattr(model, "module") else model
        return unwrapped.loss(pose_emb, text_emb, gather=gather), {}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        n = len(val["pose"])
        ids, mask = self._pick(val, torch.arange(n))
        return two_tower_metrics(model, [val["pose"], ids, mask], ("pose", "text"), device)

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        from pose_search.checkpoint import save_module

        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        save_module(directory / "model", self.options["model"], model.config(), model, metrics=scalars)
        encoder = model.text_encoder()
        save_module(directory / "encoder", "posetext-text", encoder.config(), encoder, metrics=scalars)
