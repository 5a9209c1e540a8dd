"""Text tokenisation for the text encoders: a BERT-style WordPiece, trained or loaded locally.

The default tokenizer is a lowercasing WordPiece that :func:`train_wordpiece` learns from our own
captions (no download). A real ``distilbert-base-uncased`` directory can be loaded instead with
:meth:`TextTokenizer.from_distilbert_dir` (its ``tokenizer.json`` or ``vocab.txt``).

Special tokens follow BERT: every text becomes ``[CLS] ... [SEP]``, padded with ``[PAD]``.
In a trained vocabulary the ids are ``[PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4``; the
DistilBERT vocabulary has ``[PAD]=0, [CLS]=101, [SEP]=102``. Only ``[PAD]=0`` is relied upon.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

log = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.json"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
MAX_QUERY_CHARS = 5000  # a pose description is a few sentences; longer is a mistake (or abuse)


def _bert_post_processor(tok: Tokenizer) -> processors.TemplateProcessing:
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    return processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )


def train_wordpiece(
    texts: Iterable[str], vocab_size: int = 4000, lowercase: bool = True
) -> Tokenizer:
    """Learn a BERT-style WordPiece tokenizer from ``texts``.

    Normalisation: clean control characters, lowercase and strip accents (when ``lowercase``);
    pre-tokenisation: split on whitespace and punctuation; model: WordPiece with ``##`` prefixes;
    post-processing adds ``[CLS] ... [SEP]``. The special tokens take ids 0-4 (``[PAD]=0``).
    """
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=lowercase, lowercase=lowercase
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        continuing_subword_prefix="##",
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = _bert_post_processor(tok)
    log.info("trained a WordPiece tokenizer of %d tokens", tok.get_vocab_size())
    return tok


def check_query_text(text: Any) -> str:
    """A query text, stripped; ValueError unless it is a string with words, valid Unicode, and at
    most :data:`MAX_QUERY_CHARS` characters (a query: the UI, the CLI, the service)."""
    if not isinstance(text, str):
        raise ValueError(f"text: expected a string, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise ValueError("empty query: text must be non-empty strings")
    if len(text) > MAX_QUERY_CHARS:
        raise ValueError(f"text: {len(text)} characters; a query text has at most {MAX_QUERY_CHARS}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"text: not valid Unicode ({exc.reason} at character {exc.start})") from None
    if not any(ch.isalnum() for ch in text):
        raise ValueError(f"text {text[:40]!r}: has no letter or digit, so it describes no pose")
    return text


class TextTokenizer:
    """Batches of texts -> ``input_ids`` ``(B, L)`` int64 and ``attention_mask`` ``(B, L)``.

    Texts are cut to ``max_length`` tokens (``[SEP]`` kept last) and padded with ``[PAD]`` to the
    longest one of the batch.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        for special in ("[PAD]", "[CLS]", "[SEP]"):
            if tokenizer.token_to_id(special) is None:
                raise ValueError(f"tokenizer lacks the special token {special}")
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()  # padding is done here, per batch
        self.pad_id: int = tokenizer.token_to_id("[PAD]")
        self.cls_id: int = tokenizer.token_to_id("[CLS]")
        self.sep_id: int = tokenizer.token_to_id("[SEP]")
        self._max_length: int | None = None
        self.tokenizer.no_truncation()

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def __len__(self) -> int:
        return self.vocab_size

    @classmethod
    def train(
        cls, texts: Iterable[str], vocab_size: int = 4000, lowercase: bool = True
    ) -> TextTokenizer:
        return cls(train_wordpiece(texts, vocab_size=vocab_size, lowercase=lowercase))

    def _set_max_length(self, max_length: int) -> None:
        # The Rust tokenizer truncates before adding [CLS]/[SEP], so [SEP] stays last.
        if max_length != self._max_length:
            self.tokenizer.enable_truncation(max_length)
            self._max_length = max_length

    def __call__(
        self, texts: str | list[str], max_length: int = 256
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (``input_ids`` ``(B, L)`` int64, ``attention_mask`` ``(B, L)`` int64)."""
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            raise ValueError("no texts to tokenise")
        self._set_max_length(max_length)
        encodings = self.tokenizer.encode_batch(list(texts))
        longest = max(len(e.ids) for e in encodings)
        ids = torch.full((len(encodings), longest), self.pad_id, dtype=torch.int64)
        mask = torch.zeros((len(encodings), longest), dtype=torch.int64)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = torch.tensor(e.ids, dtype=torch.int64)
            mask[i, : len(e.ids)] = 1
        return ids, mask

    def tokens(self, text: str) -> list[str]:
        """The token strings of one text, special tokens included."""
        return self.tokenizer.encode(text).tokens

    def decode(self, ids: torch.Tensor | list[int]) -> str:
        """Token ids of one text -> text (special tokens dropped)."""
        if torch.is_tensor(ids):
            ids = ids.tolist()
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def save(self, path: str | Path) -> Path:
        """Write ``tokenizer.json`` into directory ``path`` (or to ``path`` if it ends in .json)."""
        path = Path(path)
        file = path if path.suffix == ".json" else path / TOKENIZER_FILE
        file.parent.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(file))
        return file

    @classmethod
    def load(cls, path: str | Path) -> TextTokenizer:
        """Read a ``tokenizer.json`` file, or the one inside directory ``path``."""
        path = Path(path)
        file = path / TOKENIZER_FILE if path.is_dir() else path
        if not file.is_file():
            raise FileNotFoundError(f"no tokenizer at {str(path)!r} (expected {TOKENIZER_FILE})")
        try:
            tokenizer = Tokenizer.from_file(str(file))
        except Exception as exc:  # the Rust library raises a bare Exception for a bad file
            raise ValueError(f"{str(file)!r} is not a readable tokenizer: {exc}") from None
        try:
            return cls(tokenizer)
        except ValueError as exc:
            raise ValueError(f"{str(file)!r}: {exc}") from None

    @classmethod
    def from_distilbert_dir(cls, path: str | Path, lowercase: bool = True) -> TextTokenizer:
        """The tokenizer of a local ``distilbert-base-uncased`` directory (never downloads).

        Uses its ``tokenizer.json`` when present, else builds the uncased WordPiece from its
        ``vocab.txt``.
        """
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"DistilBERT directory {str(path)!r} does not exist")
        if (path / TOKENIZER_FILE).is_file():
            return cls.load(path)
        vocab = path / "vocab.txt"
        if not vocab.is_file():
            raise FileNotFoundError(
                f"{str(path)!r} has neither {TOKENIZER_FILE} nor vocab.txt: point to a local "
                "copy of distilbert-base-uncased (the tokenizer files are part of it)"
            )
        from tokenizers.implementations import BertWordPieceTokenizer

        wrapped = BertWordPieceTokenizer(str(vocab), lowercase=lowercase, strip_accents=lowercase)
        tok = Tokenizer.from_str(wrapped.to_str())
        tok.post_processor = _bert_post_processor(tok)
        return cls(tok)
