"""Offline text-generation metrics for generated pose-correction instructions.

* ``BLEU-4``: corpus BLEU (sacrebleu), several references per hypothesis.
* ``ROUGE-L``: mean over hypotheses of the best ROUGE-L F1 against its references (rouge-score).
* ``METEOR``: mean over hypotheses of nltk's multi-reference METEOR (exact, Porter-stem and
  WordNet-synonym matches).

All three are reported in ``[0, 100]``. ``references[i]`` is the list of reference strings of
``hypotheses[i]`` (one or more; the count may differ between hypotheses). Empty hypothesis
strings are allowed and contribute 0.

Tokenisation (all lowercase):

* BLEU-4: ``sacrebleu.metrics.BLEU(lowercase=True, tokenize="13a")`` - the mteval-v13a tokeniser
  (punctuation split off as tokens); sacrebleu's defaults otherwise ("exp" smoothing, brevity
  penalty against the closest reference length).
* ROUGE-L: rouge-score's tokeniser - lowercase, every run of characters outside ``[a-z0-9]`` is a
  separator (punctuation dropped), tokens longer than 3 characters Porter-stemmed
  (``use_stemmer=True``).
* METEOR: :func:`tokenize` - lowercase, tokens are the runs of Unicode letters and digits
  (regex ``[^\\W_]+``; punctuation dropped, "don't" -> "don", "t"). nltk.word_tokenize is not used
  (it needs the punkt download). nltk's default parameters (alpha 0.9, beta 3, gamma 0.5).

METEOR needs WordNet, which no PyPI package ships. It is read from an nltk_data folder
(``corpora/wordnet``) built from Debian's ``wordnet-base`` and ``wordnet-sense-index`` files in
``/usr/share/wordnet`` by :func:`build_wordnet` (``make venv`` does that into ``.cache/nltk_data``
and exports ``NLTK_DATA``; ``python -m pose_search.metrics.text --build-wordnet DIR`` by hand).
When no nltk_data folder on the search path holds WordNet and the Debian files are present, the
first METEOR call builds it into :func:`default_nltk_data_dir`.

sacrebleu, rouge-score and nltk are imported when a metric is first computed; building the
WordNet folder needs only the standard library.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Where Debian's wordnet-base / wordnet-sense-index install the WordNet 3.0 database files.
WORDNET_SOURCE = Path("/usr/share/wordnet")
#: Files nltk's WordNetCorpusReader opens (besides ``lexnames``, which we generate).
WORDNET_FILES = (
    "data.adj", "data.adv", "data.noun", "data.verb",
    "index.adj", "index.adv", "index.noun", "index.verb",
    "adj.exc", "adv.exc", "noun.exc", "verb.exc",
    "cntlist.rev",
    "index.sense",  # from wordnet-sense-index
)
#: Copied too when present (not needed by nltk's reader).
WORDNET_OPTIONAL_FILES = ("cntlist", "frames.vrb", "sentidx.vrb", "sents.vrb")
#: WordNet 3.0's lexicographer files: (number = list index, name, syntactic category
#: 1 noun / 2 verb / 3 adjective / 4 adverb), as in lexnames(5WN). Debian does not ship the file.
LEXNAMES = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4), ("noun.Tops", 1), ("noun.act", 1),
    ("noun.animal", 1), ("noun.artifact", 1), ("noun.attribute", 1), ("noun.body", 1),
    ("noun.cognition", 1), ("noun.communication", 1), ("noun.event", 1), ("noun.feeling", 1),
    ("noun.food", 1), ("noun.group", 1), ("noun.location", 1), ("noun.motive", 1),
    ("noun.object", 1), ("noun.person", 1), ("noun.phenomenon", 1), ("noun.plant", 1),
    ("noun.possession", 1), ("noun.process", 1), ("noun.quantity", 1), ("noun.relation", 1),
    ("noun.shape", 1), ("noun.state", 1), ("noun.substance", 1), ("noun.time", 1),
    ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2), ("verb.communication", 2),
    ("verb.competition", 2), ("verb.consumption", 2), ("verb.contact", 2),
    ("verb.creation", 2), ("verb.emotion", 2), ("verb.motion", 2), ("verb.perception", 2),
    ("verb.possession", 2), ("verb.social", 2), ("verb.stative", 2), ("verb.weather", 2),
    ("adj.ppl", 3),
)
_DEBIAN_COPYRIGHT = Path("/usr/share/doc/wordnet-base/copyright")
_INSTALL_HINT = (
    "install the Debian packages wordnet-base and wordnet-sense-index "
    "(apt-get install wordnet-base wordnet-sense-index), then run `make venv` or "
    "`python -m pose_search.metrics.text --build-wordnet DIR` and set NLTK_DATA=DIR"
)
_WORD_RE = re.compile(r"[^\W_]+")


# ---------------------------------------------------------------- WordNet for nltk
def _wordnet_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (*WORDNET_FILES, "lexnames"))


def build_wordnet(dest: str | Path, source: str | Path | None = None, *,
                  force: bool = False) -> Path:
    """Build ``dest/corpora/wordnet`` (an nltk_data folder) from Debian's WordNet files.

    Copies the database files from ``source`` (default :data:`WORDNET_SOURCE`) and writes the
    ``lexnames`` file nltk's reader needs. Idempotent: a complete folder is left alone unless
    ``force``. The folder appears atomically (built beside it, then renamed). Returns its path.
    Raises FileNotFoundError naming the missing files and the packages to install.
    """
    target = Path(dest) / "corpora" / "wordnet"
    if not force and _wordnet_complete(target):
        return target
    src = Path(source) if source is not None else WORDNET_SOURCE
    missing = [name for name in WORDNET_FILES if not (src / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"cannot build WordNet for nltk: {src} lacks {', '.join(missing)}; {_INSTALL_HINT}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    try:
        for name in WORDNET_FILES + WORDNET_OPTIONAL_FILES:
            if (src / name).is_file():
                shutil.copyfile(src / name, tmp / name)
        (tmp / "lexnames").write_text(
            "".join(f"{i:02d}\t{name}\t{cat}\n" for i, (name, cat) in enumerate(LEXNAMES)))
        if _DEBIAN_COPYRIGHT.is_file():
            shutil.copyfile(_DEBIAN_COPYRIGHT, tmp / "LICENSE")
        if target.exists():
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            if not _wordnet_complete(target):  # not a concurrent build that got there first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def default_nltk_data_dir() -> Path:
    """Where WordNet is built lazily: the first ``$NLTK_DATA`` entry, else
    ``$POSE_SEARCH_CACHE/nltk_data`` (``~/.cache/pose_search/nltk_data``)."""
    entries = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    if entries:
        return Path(entries[0])
    from pose_search.config import cache_dir

    return cache_dir() / "nltk_data"


def find_wordnet(nltk_data: str | Path | None = None) -> Path:
    """The nltk_data folder METEOR reads WordNet from (building it if needed and possible).

    With ``nltk_data`` given, only that folder is used. Otherwise the ``$NLTK_DATA`` entries (read
    now), ``nltk.data.path`` and :func:`default_nltk_data_dir` are searched for
    ``corpora/wordnet`` (a folder or nltk's ``wordnet.zip``). When none has it and the Debian
    files are present, it is built with :func:`build_wordnet`. RuntimeError saying what to
    install otherwise.
    """
    import nltk

    if nltk_data is not None:
        roots = [Path(nltk_data)]
    else:
        roots = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
        roots += [Path(str(p)) for p in nltk.data.path]
        roots.append(default_nltk_data_dir())
    for root in dict.fromkeys(roots):  # ordered, de-duplicated
        try:
            nltk.data.find("corpora/wordnet", paths=[str(root)])
        except LookupError:
            continue
        return root
    dest = roots[0] if nltk_data is not None else default_nltk_data_dir()
    try:
        build_wordnet(dest)
    except FileNotFoundError as err:
        raise RuntimeError(f"METEOR needs WordNet, found in none of {[str(r) for r in roots]}; "
                           f"{_INSTALL_HINT}") from err
    return dest


@lru_cache(maxsize=4)
def _wordnet_reader(root: str) -> Any:
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class _EnglishWordNet(WordNetCorpusReader):
        # The constructor maps WordNet 3.0 sense keys for the Open Multilingual WordNet by
        # reading index.sense twice (over half the load time); no OMW here, so no mapping.
        def map_wn(self, version: str = "wordnet") -> None:
            return None

    pointer = nltk.data.find("corpora/wordnet", paths=[root])
    # nltk (>= 3.9) refuses to open corpus files outside nltk.data.path / $NLTK_DATA, and the
    # reader opens the data files lazily: the root stays on nltk.data.path.
    if root not in [str(p) for p in nltk.data.path]:
        nltk.data.path.append(root)
    with warnings.catch_warnings():  # "multilingual functions are not available": no OMW
        warnings.simplefilter("ignore")
        return _EnglishWordNet(pointer, None)


def wordnet_reader(nltk_data: str | Path | None = None) -> Any:
    """An nltk WordNetCorpusReader over :func:`find_wordnet`'s folder (cached per folder).

    The folder is appended to ``nltk.data.path`` (nltk >= 3.9 opens corpus files only under it).
    Loading takes a few seconds (the index files are parsed).
    """
    return _wordnet_reader(str(Path(find_wordnet(nltk_data)).resolve()))


# ---------------------------------------------------------------- input checks
def _check_inputs(hypotheses: Sequence[str], references: Sequence[Sequence[str]]
                  ) -> tuple[list[str], list[list[str]]]:
    for name, value in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ValueError(f"{name} must be a list, got {type(value).__name__}")
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists "
                         "(references[i] is the list of references of hypotheses[i])")
    if len(hypotheses) == 0:
        raise ValueError("no hypotheses to score")
    for i, hyp in enumerate(hypotheses):
        if not isinstance(hyp, str):
            raise ValueError(f"hypotheses[{i}] is a {type(hyp).__name__}, not a string")
    refs: list[list[str]] = []
    for i, group in enumerate(references):
        if isinstance(group, str) or not isinstance(group, Sequence):
            raise ValueError(f"references[{i}] must be a list of reference strings, "
                             f"got {type(group).__name__}")
        if len(group) == 0:
            raise ValueError(f"hypotheses[{i}] has no reference (references[{i}] is empty)")
        for j, ref in enumerate(group):
            if not isinstance(ref, str):
                raise ValueError(f"references[{i}][{j}] is a {type(ref).__name__}, not a string")
        refs.append(list(group))
    return list(hypotheses), refs


def tokenize(text: str) -> list[str]:
    """METEOR's tokeniser: lowercase, then the runs of Unicode letters and digits."""
    return _WORD_RE.findall(text.lower())


# ---------------------------------------------------------------- metrics
def bleu4(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU-4 in [0, 100] (sacrebleu; lowercase, "13a" tokeniser, "exp" smoothing).

    n-gram matches are clipped by the maximum count over a hypothesis's references and summed
    over the corpus; the brevity penalty uses, per hypothesis, the closest reference length.
    """
    hyps, refs = _check_inputs(hypotheses, references)
    from sacrebleu.metrics import BLEU

    n_streams = max(len(group) for group in refs)
    # sacrebleu wants reference streams; None pads hypotheses that have fewer references.
    streams = [[group[k] if k < len(group) else None for group in refs] for k in range(n_streams)]
    bleu = BLEU(lowercase=True, tokenize="13a", max_ngram_order=4)
    return float(bleu.corpus_score(hyps, streams).score)


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Mean over hypotheses of the best ROUGE-L F1 over its references, in [0, 100].

    rouge-score with Porter stemming; its tokeniser lowercases, splits on anything outside
    ``[a-z0-9]`` and stems tokens longer than 3 characters. F1 = 2 P R / (P + R) with
    P = LCS / len(hypothesis), R = LCS / len(reference).
    """
    hyps, refs = _check_inputs(hypotheses, references)
    scorer = _rouge_scorer()
    scores = [scorer.score_multi(group, hyp)["rougeL"].fmeasure for hyp, group in zip(hyps, refs)]
    return 100.0 * float(sum(scores)) / len(scores)


def meteor(hypotheses: Sequence[str], references: Sequence[Sequence[str]], *,
           nltk_data: str | Path | None = None) -> float:
    """Mean over hypotheses of nltk's ``meteor_score`` (best reference), in [0, 100].

    Inputs are tokenised with :func:`tokenize` (lowercase, runs of letters and digits). Matching:
    exact, then Porter stem, then WordNet synonym; score = Fmean * (1 - 0.5 * (chunks/matches)^3)
    with Fmean = P R / (0.9 P + 0.1 R). nltk looks synonyms up for the Porter *stems* of the
    words left unmatched, so a synonym pair counts only when both words are their own stems
    ("bend"/"flex" does, "raise"/"lift" does not: "rais"). WordNet comes from
    :func:`find_wordnet` (the ``nltk_data`` folder if given); RuntimeError naming the Debian
    packages to install when it is missing.
    """
    hyps, refs = _check_inputs(hypotheses, references)
    from nltk.translate.meteor_score import meteor_score

    wordnet = wordnet_reader(nltk_data)
    scores = [meteor_score([tokenize(r) for r in group], tokenize(hyp), wordnet=wordnet)
              for hyp, group in zip(hyps, refs)]
    return 100.0 * float(sum(scores)) / len(scores)


def text_metrics(hypotheses: Sequence[str], references: Sequence[Sequence[str]], *,
                 nltk_data: str | Path | None = None) -> dict[str, float]:
    """``{"BLEU-4": ..., "ROUGE-L": ..., "METEOR": ...}``, each in [0, 100]."""
    _check_inputs(hypotheses, references)
    return {
        "BLEU-4": bleu4(hypotheses, references),
        "ROUGE-L": rouge_l(hypotheses, references),
        "METEOR": meteor(hypotheses, references, nltk_data=nltk_data),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pose_search.metrics.text",
                                     description="Text-metric utilities.")
    parser.add_argument("--build-wordnet", metavar="DIR", type=Path, required=True,
                        help="build DIR/corpora/wordnet (an nltk_data folder) from Debian's files")
    parser.add_argument("--source", type=Path, default=None,
                        help=f"WordNet database folder (default {WORDNET_SOURCE})")
    parser.add_argument("--force", action="store_true", help="rebuild even if complete")
    args = parser.parse_args(argv)
    try:
        folder = build_wordnet(args.build_wordnet, args.source, force=args.force)
    except FileNotFoundError as err:
        parser.exit(1, f"error: {err}\n")
    print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
