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

``pairtext``: pose pair <-> instruction retrieval with symBBC. ``text_model`` picks the text tower
as for PoseText: ``pretrained`` (default; the frozen MiniLM + a trainable topping, the model
preset's: ``pairtext`` the CPU-sized one, :meth:`PretrainedTextConfig.small`) or ``scratch`` (a
WordPiece trained on the instructions + a transformer from random weights). ``--set
text_encoder=RUN`` (a PoseText run or its ``best/encoder``) starts the tower from that run's text
encoder, whose kind then decides the tower (a ``text_model`` given as well must agree): a
pretrained one's config and topping weights, or a scratch one's weights and tokenizer. A
pretrained tower trains on the backbone's token outputs, computed once per instruction into the
disk cache in ``prepare`` (mirrored texts included); batches carry rows of that cache
(``text_row``) instead of token ids. Flip augmentation: with probability ``lr_flip`` (0.5) a
training pair is mirrored left/right, both poses (:func:`~pose_search.data.pose_builder.mirror_pose`)
and its text (:func:`~pose_search.data.mirror.mirror_text`). Best checkpoint = highest val mRecall.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from pose_search.data.mirror import mirror_text
from pose_search.data.pairs import load_pairs, load_pool_poses, pick_text, pool_ids, tokenize_texts
from pose_search.data.pose_builder import mirror_pose
from pose_search.run_layout import ENCODER, HEAD, MODEL, REPRESENTATION, part_dirs
from training.tasks.base import Batch, Task, two_tower_metrics
from training.tasks.options import InstructionsOptions, PairTextOptions

if TYPE_CHECKING:
    from pose_search.models.encoders.pretrained_text import PretrainedTextEncoder
    from pose_search.models.encoders.token_cache import TokenTable



def padded(texts: list[list[str]]) -> list[list[str]]:
    """Each pair's texts as ``C`` (the most any pair has): short lists repeat their last, as
    ``tokenize_texts`` does."""
    c = max(len(x) for x in texts)
    return [(list(x) + [x[-1]] * c)[:c] for x in texts]


def with_mirrored(texts: list[list[str]]) -> list[list[str]]:
    """Each pair's C texts (:func:`padded`) followed by their mirror images: ``2C`` texts per
    pair, text ``C + k`` the mirror of text ``k``."""
    return [full + [mirror_text(t) for t in full] for full in padded(texts)]


def flip_index(n: int, c: int, p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """For ``n`` rows of ``2C`` texts (:func:`with_mirrored`): a random text index ``(n,)`` int64,
    among the mirrored ones with probability ``p``, and ``flip`` ``(n,)`` bool (CPU)."""
    flip = torch.rand(n) < p
    return torch.randint(c, (n,)) + c * flip, flip


def pick_flipped(ids: torch.Tensor, mask: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One text per row of ``(B, 2C, L)`` (see :func:`with_mirrored`): a mirrored one with
    probability ``p``. Returns ids, mask ``(B, L')`` and ``flip`` ``(B,)`` bool (on ``ids``' device)."""
    index, flip = flip_index(ids.shape[0], ids.shape[1] // 2, p)
    ids, mask = pick_text(ids, mask, index)
    return ids, mask, flip.to(ids.device)


def is_pretrained_encoder(directory: Path) -> bool:
    """Whether a text encoder checkpoint holds a pretrained (MiniLM + topping) encoder."""
    from pose_search.checkpoint import read_config

    return read_config(directory)["name"].startswith("pretrained-text")


class InstructionsTask(Task):
    options_type = InstructionsOptions
    score_name = "loss"
    higher_is_better = False


    @property
    def cache(self) -> Path:
        return self.run_dir / "representations" / "poses.safetensors"

    def prepare(self) -> None:
        from pose_search.models.features import feature_dims, load_features, save_features
        from pose_search.models.search_model import PoseSearchModel
        from pose_search.runs import copy_model, load_model, model_files

        if not self.cfg.data:
            raise ValueError("instructions training needs --data (a fix dataset with pairs)")
        if not self.options.core:
            raise ValueError("instructions training needs --set core=RUN (a trained core or aligner run)")
        for split in ("train", self.options.val_split):
            load_pairs(self.cfg.data, split, self.options.pair_kinds)
        rep_dir = copy_model(model_files(self.options.core), self.run_dir / REPRESENTATION)
        if self.options.init:
            self._init_dir()
        elif not (self.tokenizer_path / "tokenizer.json").exists():
            from pose_search.models.encoders.tokenizer import TextTokenizer

            train = load_pairs(self.cfg.data, "train", self.options.pair_kinds)["instructions"]
            texts = [t for ts in with_mirrored(train) for t in ts]
            TextTokenizer.train(texts, vocab_size=int(self.options.vocab_size)).save(self.tokenizer_path)
        wanted = {"rep", "rep_mirror"} if self.options.lr_flip > 0 else {"rep"}
        if self.cache.exists() and wanted <= set(feature_dims(self.cache)):
            return
        model = load_model(rep_dir)
        if not isinstance(model, PoseSearchModel) or not {"pose", "text"} <= set(model.modalities):
            raise ValueError(f"{self.options.core!r}: the representation model needs pose and text encoders")
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
        run = Path(self.options.init)
        for head in part_dirs(run, HEAD):
            if (head / "config.json").exists():
                return head
        raise ValueError(f"init {str(run)!r}: not an instructions run (no best/head or last/head)")

    @property
    def tokenizer_path(self) -> Path:
        return self.run_dir / "tokenizer"

    def _tokenizer(self):
        """The decoder's vocabulary: the init head's (stage 2), else a WordPiece trained on the
        training instructions in ``prepare`` (a pretrained text encoder's 30k-token vocabulary
        would make the output layer ~8x wider for words instructions never use)."""
        from pose_search.models.encoders.tokenizer import TextTokenizer

        return TextTokenizer.load(self._init_dir() if self.options.init else self.tokenizer_path)

    def _split(self, split: str, mirrored: bool = False) -> Batch:
        """Representations ``(P, D)`` x2 and texts ``(P, C, L)``; ``mirrored``: also those of the
        mirrored poses (``rep_a_m``, ``rep_b_m``) and ``(P, 2C, L)`` texts (:func:`with_mirrored`)."""
        from pose_search.models.features import load_features

        feats = load_features(self.cache)
        rep = torch.from_numpy(feats["rep"].astype(np.float32))
        pairs = load_pairs(self.cfg.data, split, self.options.pair_kinds)
        texts = with_mirrored(pairs["instructions"]) if mirrored else pairs["instructions"]
        ids, mask = tokenize_texts(self._tokenizer(), texts, int(self.options.max_tokens))
        out = {"rep_a": rep[pairs["a"]], "rep_b": rep[pairs["b"]], "ids": ids, "mask": mask}
        if mirrored:
            rep_m = torch.from_numpy(feats["rep_mirror"].astype(np.float32))
            out.update(rep_a_m=rep_m[pairs["a"]], rep_b_m=rep_m[pairs["b"]])
        return out

    def datasets(self) -> tuple[Batch, Batch]:
        return self._split("train", mirrored=self.options.lr_flip > 0), self._split(self.options.val_split)

    def build_model(self) -> torch.nn.Module:
        from pose_search.models.catalog import create_model, load_module
        from pose_search.models.features import feature_dims

        if self.options.init:
            return load_module(self._init_dir())
        dims = feature_dims(self.cache)
        return create_model(self.options.model, tokenizer=self._tokenizer(),
                            **{"rep_dim": dims["rep"], "max_length": int(self.options.max_tokens),
                               **self.options.model_config})

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        rep_a, rep_b = batch["rep_a"], batch["rep_b"]
        if self.options.lr_flip > 0:  # texts (B, 2C, L): C originals, then their mirror images
            ids, mask, flip = pick_flipped(batch["ids"], batch["mask"], float(self.options.lr_flip))
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
        name = self.options.model
        if self.options.init:
            from pose_search.checkpoint import read_config

            name = read_config(self._init_dir())["name"]
        save_module(directory / HEAD, name, model.config(), model, metrics=scalars)


class PairTextTask(Task):
    options_type = PairTextOptions
    score_name = "mRecall"
    higher_is_better = True


    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        if "text_model" in self.options.model_config:
            raise ValueError("pairtext: give text_model as a task option (--set text_model=...), not in model_config")
        self._tables: dict[tuple[str, bool], TokenTable] = {}
        self._tower: PretrainedTextEncoder | None = None  # fills the token tables

    @property
    def tokenizer_path(self) -> Path:
        return self.run_dir / "tokenizer"

    def _encoder_dir(self) -> Path | None:
        """The text encoder checkpoint ``text_encoder`` names (itself, or a PoseText run's
        ``best/encoder`` / ``last/encoder``), pretrained or scratch; None without one."""
        if not self.options.text_encoder:
            return None
        run = Path(self.options.text_encoder)
        for d in (run, *part_dirs(run, ENCODER)):
            if (d / "config.json").exists() and ((d / "tokenizer.json").exists() or is_pretrained_encoder(d)):
                return d
        raise ValueError(f"text_encoder {str(run)!r}: not a text encoder checkpoint or PoseText run")

    @property
    def pretrained(self) -> bool:
        """Whether the text tower is the pretrained one: the ``text_encoder``'s kind when one is
        given (an explicit ``text_model`` must agree), else ``text_model``."""
        enc = self._encoder_dir()
        if enc is None:
            return self.options.text_model == "pretrained"
        kind = "pretrained" if is_pretrained_encoder(enc) else "scratch"
        if "text_model" in self.cfg.task_options and self.options.text_model != kind:
            raise ValueError(f"pairtext: text_encoder {str(enc)!r} holds a {kind} text encoder but text_model="
                             f"{self.options.text_model!r}; leave text_model out to follow the encoder")
        return kind == "pretrained"

    def prepare(self) -> None:
        from pose_search.models.encoders.tokenizer import TextTokenizer

        if not self.cfg.data:
            raise ValueError("pairtext training needs --data (a fix dataset with pairs)")
        train = load_pairs(self.cfg.data, "train", self.options.pair_kinds)
        load_pairs(self.cfg.data, self.options.val_split, self.options.pair_kinds)
        if self.pretrained:  # the backbone's token outputs of every instruction, once, into the cache
            self._table("train", self._mirrored, progress=True)
            self._table(self.options.val_split, False, progress=True)
        elif self._encoder_dir() is None and not (self.tokenizer_path / "tokenizer.json").exists():
            texts = [t for ts in train["instructions"] for t in ts]
            TextTokenizer.train(texts, vocab_size=int(self.options.vocab_size)).save(self.tokenizer_path)

    @property
    def _mirrored(self) -> bool:
        """Whether training texts come with their mirror images (flip augmentation on)."""
        return self.options.lr_flip > 0

    def _tokenizer(self):
        from pose_search.models.encoders.tokenizer import TextTokenizer

        enc = self._encoder_dir()
        return TextTokenizer.load((enc if enc is not None else self.tokenizer_path) / "tokenizer.json")

    def _texts(self, split: str, mirrored: bool) -> list[list[str]]:
        """The split's instructions per pair: ``C`` each (:func:`padded`), ``2C`` when ``mirrored``."""
        texts = load_pairs(self.cfg.data, split, self.options.pair_kinds)["instructions"]
        return with_mirrored(texts) if mirrored else padded(texts)

    def _table(self, split: str, mirrored: bool, progress: bool = False) -> TokenTable:
        """The backbone's token outputs of :meth:`_texts` (pair by pair, ``C`` or ``2C`` each), from
        the disk cache; row ``p * C' + k`` is text ``k`` of pair ``p``."""
        if (split, mirrored) not in self._tables:
            if self._tower is None:
                with torch.random.fork_rng(devices=[]):  # its init does not shift the training draws
                    self._tower = self.build_model().text
            flat = [t for ts in self._texts(split, mirrored) for t in ts]
            self._tables[split, mirrored] = self._tower.token_table(flat, progress=progress)
        return self._tables[split, mirrored]

    def _split(self, split: str, mirrored: bool = False) -> Batch:
        """Poses ``(P, 22, 3)`` x2 and texts: token ids and mask ``(P, C, L)`` (scratch) or rows
        ``(P, C)`` of :meth:`_table` (pretrained); ``mirrored``: ``2C`` texts per pair, the C texts
        then their mirror images in the same order."""
        poses = load_pool_poses(self.cfg.data)
        pairs = load_pairs(self.cfg.data, split, self.options.pair_kinds)
        out = {"pose_a": poses[pairs["a"]], "pose_b": poses[pairs["b"]]}
        texts = with_mirrored(pairs["instructions"]) if mirrored else pairs["instructions"]
        if self.pretrained:
            n, c = len(texts), max(len(x) for x in texts)
            return {**out, "text_row": torch.arange(n * c).view(n, c)}
        ids, mask = tokenize_texts(self._tokenizer(), texts, int(self.options.max_tokens))
        return {**out, "ids": ids, "mask": mask}

    def datasets(self) -> tuple[Batch, Batch]:
        return self._split("train", mirrored=self._mirrored), self._split(self.options.val_split)

    def build_model(self) -> torch.nn.Module:
        from pose_search.checkpoint import load_state, load_weights, read_config
        from pose_search.models.catalog import create_model

        cfg = dict(self.options.model_config)
        enc = self._encoder_dir()
        if enc is not None:
            cfg["text"] = {**read_config(enc)["config"], **cfg.get("text", {})}
        if self.pretrained:
            model = create_model(self.options.model, text_model="pretrained", **cfg)
        else:
            model = create_model(self.options.model, text_model="scratch", tokenizer=self._tokenizer(), **cfg)
        if enc is not None:  # the encoder's weights: a pretrained one's topping, a scratch one's all
            load_weights(model.text, load_state(enc, read_config(enc).get("weights_sha256")), repr(str(enc)))
        return model

    def _pick_rows(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One training text per row of table rows ``(B, C')`` (``C' = 2C`` with flips) -> token
        outputs ``(B, L, H)`` float32, mask ``(B, L)`` (CPU) and ``flip`` ``(B,)`` bool (None: no flips)."""
        rows = rows.cpu()
        n = rows.shape[0]
        if self._mirrored:
            index, flip = flip_index(n, rows.shape[1] // 2, float(self.options.lr_flip))
        else:
            index, flip = torch.randint(rows.shape[1], (n,)), None
        text, mask = self._table("train", self._mirrored).gather(rows[torch.arange(n), index])
        return text, mask, flip

    def loss(self, model: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        pose_a, pose_b = batch["pose_a"], batch["pose_b"]
        flip: torch.Tensor | None = None
        if "text_row" in batch:  # the pretrained tower: cached backbone outputs of the picked texts
            text, mask, flip = self._pick_rows(batch["text_row"])
        elif self._mirrored:  # texts (B, 2C, L): C originals, then their mirror images
            text, mask, flip = pick_flipped(batch["ids"], batch["mask"], float(self.options.lr_flip))
        else:
            text, mask = pick_text(batch["ids"], batch["mask"])
        if flip is not None:
            f = flip.to(pose_a.device)[:, None, None]
            pose_a, pose_b = torch.where(f, mirror_pose(pose_a), pose_a), torch.where(f, mirror_pose(pose_b), pose_b)
        pair, emb = model(pose_a, pose_b, text.to(pose_a.device), mask.to(pose_a.device))
        gather = torch.distributed.is_available() and torch.distributed.is_initialized()
        m = model.module if hasattr(model, "module") else model
        return m.loss(pair, emb, gather=gather), {}

    def evaluate(self, model: torch.nn.Module, val: Batch, device: torch.device) -> dict[str, float]:
        n = len(val["pose_a"])
        if "text_row" in val:  # each pair's first text, as cached backbone outputs (n, L, H)
            text, mask = self._table(self.options.val_split, False).gather(val["text_row"][:, 0].cpu())
        else:
            text, mask = pick_text(val["ids"], val["mask"], torch.zeros(n, dtype=torch.long))
        return two_tower_metrics(model, [val["pose_a"], val["pose_b"], text, mask], ("pair", "text"), device)

    def export(self, model: torch.nn.Module, directory: Path, metrics: dict[str, Any]) -> None:
        from pose_search.checkpoint import save_module

        scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        save_module(directory / MODEL, self.options.model, model.config(), model, metrics=scalars)
