"""Text-generation metrics (pose_search.metrics.text) against values worked out by hand.

BLEU-4 = BP * (p1 p2 p3 p4)^(1/4), BP = exp(1 - r/c) when c < r (c hypothesis length, r closest
reference length), p_n = clipped n-gram matches / hypothesis n-grams, summed over the corpus.
ROUGE-L F1 = 2 P R / (P + R) with P = LCS/len(hyp), R = LCS/len(ref).
METEOR (nltk defaults) = Fmean * (1 - 0.5 * (chunks/matches)^3), Fmean = P R / (0.9 P + 0.1 R).
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from pose_search.metrics import text as T

HAS_DEBIAN_WORDNET = all((T.WORDNET_SOURCE / name).is_file() for name in T.WORDNET_FILES)
NO_WORDNET = (f"Debian WordNet files absent from {T.WORDNET_SOURCE} "
              "(apt-get install wordnet-base wordnet-sense-index)")
needs_wordnet = pytest.mark.skipif(not HAS_DEBIAN_WORDNET, reason=NO_WORDNET)

SENT = "bend your left knee"  # 4 words
# A perfect 4-word match: P = R = Fmean = 1, one chunk, 4 matches -> 1 - 0.5 * (1/4)^3.
METEOR_PERFECT_4 = 100 * (1 - 0.5 / 4**3)  # 99.21875


@pytest.fixture(scope="module")
def nltk_data(tmp_path_factory):
    """An nltk_data folder built like `make venv` builds .cache/nltk_data."""
    if not HAS_DEBIAN_WORDNET:
        pytest.skip(NO_WORDNET)
    root = tmp_path_factory.mktemp("nltk_data")
    T.build_wordnet(root)
    return root


# ---------------------------------------------------------------- identical -> 100
@needs_wordnet
def test_identical_hypothesis_and_reference(nltk_data):
    scores = T.text_metrics([SENT], [[SENT]], nltk_data=nltk_data)
    assert set(scores) == {"BLEU-4", "ROUGE-L", "METEOR"}
    assert scores["BLEU-4"] == pytest.approx(100.0)
    assert scores["ROUGE-L"] == pytest.approx(100.0)
    assert scores["METEOR"] == pytest.approx(METEOR_PERFECT_4)  # fragmentation penalty
    assert METEOR_PERFECT_4 == 99.21875


# ---------------------------------------------------------------- BLEU-4
def test_bleu_hand_computed():
    # hyp: raise the arm and the leg / ref: raise the arm and a leg (6 tokens each, BP = 1)
    # 1-grams 5/6 ("the" clipped to 1), 2-grams 3/5, 3-grams 2/4, 4-grams 1/3
    hyp, ref = "raise the arm and the leg", "raise the arm and a leg"
    expected = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25  # = 100 * (1/12)^(1/4)
    assert T.bleu4([hyp], [[ref]]) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(53.7285, abs=1e-4)

    # every n-gram of a 5-token hypothesis matches a 6-token reference: only the brevity penalty
    short, full = "raise the arm and the", "raise the arm and the leg"
    assert T.bleu4([short], [[full]]) == pytest.approx(100 * math.exp(1 - 6 / 5), abs=1e-9)

    # corpus level: counts are summed before the precisions (not a mean of sentence scores)
    # 1-grams (5+5)/(6+5), 2-grams (3+4)/(5+4), 3-grams (2+3)/(4+3), 4-grams (1+2)/(3+2);
    # c = 11, r = 12
    corpus = T.bleu4([hyp, short], [[ref], [full]])
    expected = 100 * math.exp(1 - 12 / 11) * (10 / 11 * 7 / 9 * 5 / 7 * 3 / 5) ** 0.25
    assert corpus == pytest.approx(expected, abs=1e-9)


def test_bleu_lowercases_and_splits_punctuation():
    # 13a tokeniser: "knee." -> "knee" "."; lowercase=True
    assert T.bleu4(["Bend your LEFT knee."], [["bend your left knee ."]]) == pytest.approx(100.0)


# ---------------------------------------------------------------- ROUGE-L
def test_rouge_l_hand_computed():
    # LCS(bend your left knee more, bend the left knee slightly more) = bend left knee more = 4
    # P = 4/5, R = 4/6 -> F1 = 2 * 4 / (5 + 6) = 8/11
    hyp, ref = "bend your left knee more", "bend the left knee slightly more"
    assert T.rouge_l([hyp], [[ref]]) == pytest.approx(100 * 8 / 11, abs=1e-9)
    # Porter stemming (tokens > 3 chars) and punctuation dropped: bending -> bend, knees -> knee
    assert T.rouge_l(["Keep bending the knees!"], [["keep bend the knee"]]) == pytest.approx(100.0)
    # the mean over hypotheses
    both = T.rouge_l([hyp, SENT], [[ref], [SENT]])
    assert both == pytest.approx(100 * (8 / 11 + 1) / 2, abs=1e-9)


# ---------------------------------------------------------------- METEOR
@needs_wordnet
def test_meteor_hand_computed(nltk_data):
    # hyp bend your knee / ref bend your left knee: 3 matches, P = 1, R = 3/4,
    # Fmean = 0.75 / (0.9 + 0.075); alignment (0,0) (1,1) (2,3) = 2 chunks -> penalty 0.5 (2/3)^3
    fmean = 1 * 0.75 / (0.9 * 1 + 0.1 * 0.75)
    expected = 100 * fmean * (1 - 0.5 * (2 / 3) ** 3)
    assert T.meteor(["bend your knee"], [["bend your left knee"]], nltk_data=nltk_data) == (
        pytest.approx(expected, abs=1e-9))


@needs_wordnet
def test_meteor_rewards_a_wordnet_synonym(nltk_data):
    wn = T.wordnet_reader(nltk_data)
    assert "flex" in {lemma.name() for s in wn.synsets("bend") for lemma in s.lemmas()}
    assert "eat" not in {lemma.name() for s in wn.synsets("bend") for lemma in s.lemmas()}
    ref = [[SENT]]
    synonym = T.meteor(["flex your left knee"], ref, nltk_data=nltk_data)
    unrelated = T.meteor(["eat your left knee"], ref, nltk_data=nltk_data)
    # synonym: 4 matches in one chunk, as a perfect match
    assert synonym == pytest.approx(METEOR_PERFECT_4)
    # unrelated: 3 matches, P = R = Fmean = 3/4, one chunk of 3 -> penalty 0.5 (1/3)^3
    assert unrelated == pytest.approx(100 * 0.75 * (1 - 0.5 / 27), abs=1e-9)
    assert synonym > unrelated


@needs_wordnet
def test_wordnet_folder_reads_like_princeton_wordnet(nltk_data):
    wn = T.wordnet_reader(nltk_data)
    assert wn.get_version() == "3.0"
    # the generated lexnames file numbers the lexicographer files correctly
    assert wn.synset("dog.n.01").lexname() == "noun.animal"
    assert wn.synset("run.v.01").lexname() == "verb.motion"
    assert wn.synset("good.a.01").lexname() == "adj.all"


# ---------------------------------------------------------------- several references
@needs_wordnet
def test_best_reference_counts(nltk_data):
    hyp = "raise the arm and the leg"
    one = [["lower the head"]]
    two = [["lower the head", hyp]]
    assert T.bleu4([hyp], two) == pytest.approx(100.0)
    assert T.bleu4([hyp], one) < 10
    assert T.rouge_l([hyp], two) == pytest.approx(100.0)
    assert T.rouge_l([hyp], [["lower the head", "raise the arm"]]) == pytest.approx(
        100 * 2 * 3 / (6 + 3))  # best: LCS 3, P 3/6, R 3/3
    assert T.meteor([hyp], two, nltk_data=nltk_data) == pytest.approx(100 * (1 - 0.5 / 6**3))
    # a different number of references per hypothesis
    scores = T.text_metrics([hyp, SENT], [["lower the head", hyp], [SENT]], nltk_data=nltk_data)
    assert scores["BLEU-4"] == pytest.approx(100.0)
    assert scores["ROUGE-L"] == pytest.approx(100.0)


@needs_wordnet
def test_empty_hypothesis_scores_zero(nltk_data):
    assert T.bleu4([""], [[SENT]]) == 0.0
    assert T.rouge_l(["", SENT], [[SENT], [SENT]]) == pytest.approx(50.0)
    assert T.meteor(["", SENT], [[SENT], [SENT]], nltk_data=nltk_data) == pytest.approx(
        METEOR_PERFECT_4 / 2)


@pytest.mark.parametrize("hyps, refs, message", [
    (["a", "b"], [["a"]], "2 hypotheses but 1 reference lists"),
    (["a"], [[]], r"hypotheses\[0\] has no reference"),
    (["a"], ["a"], r"references\[0\] must be a list"),
    (["a", 3], [["a"], ["b"]], r"hypotheses\[1\] is a int"),
    (["a"], [["a", None]], r"references\[0\]\[1\] is a NoneType"),
    ("abc", [["a"]] * 3, "hypotheses must be a list"),
    ([], [], "no hypotheses"),
])
@pytest.mark.parametrize("metric", [T.bleu4, T.rouge_l, T.meteor, T.text_metrics])
def test_bad_inputs_raise_value_error(metric, hyps, refs, message):
    with pytest.raises(ValueError, match=message):
        metric(hyps, refs)


# ---------------------------------------------------------------- finding / building WordNet
@needs_wordnet
def test_build_wordnet_cli_is_what_make_runs(tmp_path):
    cmd = [sys.executable, "-m", "pose_search.metrics.text", "--build-wordnet", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "corpora" / "wordnet"
    assert out.stdout.strip() == str(folder)
    for name in (*T.WORDNET_FILES, "lexnames"):
        assert (folder / name).is_file(), name
    lexnames = (folder / "lexnames").read_text().splitlines()
    assert len(lexnames) == 45
    assert lexnames[5] == "05\tnoun.animal\t1" and lexnames[44] == "44\tadj.ppl\t3"
    # idempotent: a complete folder is left alone
    stamp = (folder / "data.noun").stat().st_mtime_ns
    assert subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0
    assert (folder / "data.noun").stat().st_mtime_ns == stamp


@needs_wordnet
def test_nltk_data_environment_variable_is_used(nltk_data, monkeypatch):
    monkeypatch.setenv("NLTK_DATA", str(nltk_data))
    assert T.find_wordnet() == nltk_data
    assert T.meteor([SENT], [[SENT]]) == pytest.approx(METEOR_PERFECT_4)


@needs_wordnet
def test_wordnet_is_built_lazily_when_missing(tmp_path, monkeypatch):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [])
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "lazy"))
    assert T.find_wordnet() == tmp_path / "lazy"
    assert (tmp_path / "lazy" / "corpora" / "wordnet" / "lexnames").is_file()


def test_missing_wordnet_says_what_to_install(tmp_path, monkeypatch):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [])
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(T, "WORDNET_SOURCE", tmp_path / "no-debian-wordnet")
    with pytest.raises(RuntimeError, match="wordnet-base and wordnet-sense-index"):
        T.meteor([SENT], [[SENT]])
    with pytest.raises(FileNotFoundError, match="data.noun"):
        T.build_wordnet(tmp_path / "out")
