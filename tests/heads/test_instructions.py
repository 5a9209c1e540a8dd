"""Instruction head and PairText: models, decoding, R-precision on hand-checked cases, training
through Ray Train on a tiny fix dataset, evaluation, the `instruct` CLI and its bad inputs."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from pose_search.metrics.instructions import r_precision
from pose_search.models.catalog import create_model
from pose_search.models.encoders.tokenizer import TextTokenizer
from pose_search.models.heads.instructions import postprocess
from tests.processes import Together

TEXTS = ["Bend your left knee more.", "Raise the right arm above the head.", "Straighten both legs and lean back.",
         "Turn the torso to the left, then lower the left hand."]


@pytest.fixture(scope="module")
def tok() -> TextTokenizer:
    return TextTokenizer.train(TEXTS * 5, vocab_size=150)


def test_r_precision_hand_checked():
    e = torch.eye(6)
    assert r_precision(e, e) == {"R@1": 100.0, "R@2": 100.0, "R@3": 100.0}
    shifted = e[[1, 2, 3, 4, 5, 0]]  # text i is exactly pair i+1, orthogonal to its own pair
    out = r_precision(e, shifted, pool=6)
    assert out["R@1"] == 0.0  # the true pair (score 0) always ranks below pair i+1 (score 1)
    assert out["R@2"] == 100.0  # ... and above the 4 others (ties do not count against it)
    with pytest.raises(ValueError):
        r_precision(e, e[:3])


def test_postprocess():
    assert postprocess("bend the left - leg . raise your arm , please") == "Bend the left-leg. Raise your arm, please"
    assert postprocess("bent in an l shape , then a v - shaped arm") == "Bent in an L shape, then a V-shaped arm"
    assert postprocess("form a shape") == "Form a shape"  # an article, not a letter shape


def test_generator_learns_and_decodes_with_a_minimum_length(tok):
    torch.manual_seed(0)
    m = create_model("instruction-generator-tiny", tokenizer=tok, dropout=0.0)
    assert m.compare.a.tolist() == [1.0, 1.0]
    a, b = torch.randn(4, 32), torch.randn(4, 32)
    ids, mask = tok(TEXTS)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(80):
        loss = m.loss(a, b, ids, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.2 * losses[0], losses[::20]
    m.eval()
    texts, ll = m.generate(a, b, max_new=30, min_length=0)
    assert texts[0].rstrip(".").lower() == TEXTS[0].rstrip(".").lower()  # memorised, greedy
    assert ll.shape == (4,) and (ll <= 0).all()
    short, _ = m.generate(a, b, max_new=30, min_length=20)
    assert all(len(t.split()) >= 5 for t in short)  # [SEP] forbidden for 20 tokens
    g = torch.Generator().manual_seed(1)
    sampled, _ = m.generate(a, b, sample=True, top_k=5, generator=g, max_new=20)
    assert len(sampled) == 4 and all(isinstance(t, str) for t in sampled)


def test_generator_loss_ignores_trailing_padding_and_embeddings_start_at_unit_scale(tok):
    torch.manual_seed(0)
    m = create_model("instruction-generator-tiny", tokenizer=tok, dropout=0.0).eval()
    scaled = m.embed.weight[1:] * m.cfg.d_model ** 0.5  # what the decoder sees, like the positions
    assert 0.8 < float(scaled.std()) < 1.2 and not m.embed.weight[0].any()
    a, b = torch.randn(4, 32), torch.randn(4, 32)
    ids, mask = tok(TEXTS)
    padded_ids = torch.cat([ids, torch.zeros(4, 7, dtype=ids.dtype)], 1)
    padded_mask = torch.cat([mask, torch.zeros(4, 7, dtype=mask.dtype)], 1)
    assert float(m.loss(a, b, padded_ids, padded_mask)) == pytest.approx(float(m.loss(a, b, ids, mask)), rel=1e-5)


def test_no_repeat_ngram_blocks_exactly_the_repeating_tokens():
    from pose_search.models.heads.instructions import _block_repeats

    ids = torch.tensor([[1, 5, 6, 7, 5, 6], [1, 2, 3, 4, 8, 9]])
    logits = torch.zeros(2, 10)
    _block_repeats(logits, ids, 3)  # row 0 ends with "5 6", which was followed by 7: 7 is blocked
    assert torch.isinf(logits[0]).nonzero().flatten().tolist() == [7]
    assert not torch.isinf(logits[1]).any()  # "8 9" never seen before
    logits = torch.zeros(2, 10)
    _block_repeats(logits, torch.tensor([[3, 3, 3], [1, 2, 1]]), 2)  # bigrams: "3 3" again; "1 2" again
    assert torch.isinf(logits[0]).nonzero().flatten().tolist() == [3]
    assert torch.isinf(logits[1]).nonzero().flatten().tolist() == [2]


def test_generate_refuses_a_unigram_block(tok):
    m = create_model("instruction-generator-tiny", tokenizer=tok).eval()
    with pytest.raises(ValueError, match="no_repeat_ngram"):
        m.generate(torch.randn(2, 32), torch.randn(2, 32), no_repeat_ngram=1)
    texts, _ = m.generate(torch.randn(2, 32), torch.randn(2, 32), max_new=20, no_repeat_ngram=2)
    assert len(texts) == 2


def test_pairtext_forward(tok):
    m = create_model("pairtext-tiny", tokenizer=tok)
    ids, mask = tok(TEXTS)
    p, t = m(torch.randn(4, 22, 3) * 0.3, torch.randn(4, 22, 3) * 0.3, ids, mask)
    assert p.shape == t.shape == (4, 64)
    torch.testing.assert_close(p.norm(dim=-1), torch.ones(4))
    m.loss(p, t).backward()


@pytest.fixture(scope="module")
def fix_dataset(tmp_path_factory):
    from pose_search.data.generate import GenerateConfig, run

    out = tmp_path_factory.mktemp("fix_ds")
    run(out, GenerateConfig(kind="fix", size=120, seed=3, chunk_size=40, val_fraction=0.3), workers=1)
    return out


@pytest.mark.ray
@pytest.mark.slow
def test_train_instructions_and_pairtext_then_evaluate(tmp_path, fix_dataset, tiny_core_run, tiny_encoders):
    from pose_search.data.pairs import load_pairs, pool_ids
    from pose_search.models.heads.instruction_pipeline import (
        InstructionPipeline,
        evaluate_instructions,
    )
    from pose_search.runs import load_model
    from training.driver import TrainConfig, fit

    run = tmp_path / "instr"
    fit(TrainConfig(task="instructions", run_dir=str(run), data=str(fix_dataset), epochs=2, batch_size=8, lr=1e-3,
                    task_options={"core": str(tiny_core_run), "model": "instruction-generator-tiny"}))
    # the `instruct` CLI on this run: four independent processes started now, together; they start
    # up while this process trains and evaluates what follows (their results are checked last)
    pairs = load_pairs(str(fix_dataset), "val")
    ids = pool_ids(str(fix_dataset))
    a, b = ids[int(pairs["a"][0])], ids[int(pairs["b"][0])]
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((20, 3)))  # (21, 3) is a valid body pose (identity root)
    cli = [sys.executable, "-m", "pose_search_app", "instruct", "--model", str(run), "--data", str(fix_dataset)]
    with Together([[*cli, "--from", a, "--to", b], [*cli, "--from", a, "--to", a],
                   [*cli, "--from", str(bad), "--to", a], [*cli, "--from", "no-such-id", "--to", a]]) as children:
        pt = tmp_path / "pairtext"
        fit(TrainConfig(task="pairtext", run_dir=str(pt), data=str(fix_dataset), epochs=2, batch_size=8, lr=1e-3,
                        task_options={"model": "pairtext-tiny", "text_encoder": str(tiny_encoders["text"])}))
        pipe = load_model(run)
        assert isinstance(pipe, InstructionPipeline)
        report = evaluate_instructions(pipe, fix_dataset, "val", pairtext=load_model(pt), limit=12, progress=False)
        for kind in ("pose-pose", "image-image", "pose-image"):
            assert {"BLEU-4", "ROUGE-L", "METEOR", "R@1", "R@2", "R@3"} <= set(report[kind])
            assert 0 <= report[kind]["R@1"] <= report[kind]["R@3"] <= 100
        assert report["ground_truth"]["BLEU-4"] == pytest.approx(100.0)  # the first reference among the references
        assert report["random"]["BLEU-4"] < 100
        # stage 2: fine-tune from stage 1 on one kind of pairs
        ft = tmp_path / "finetuned"
        fit(TrainConfig(task="instructions", run_dir=str(ft), data=str(fix_dataset), epochs=1, batch_size=8, lr=1e-3,
                        task_options={"core": str(tiny_core_run), "init": str(run), "pair_kinds": "out"}))
        assert isinstance(load_model(ft), InstructionPipeline)
        changed, same, bad_file, unknown_id = children.results(timeout=300)

    r = changed
    assert r.returncode == 0 and r.stdout.strip() and "nothing needs to change" not in r.stdout, r.stderr
    r = same
    assert r.returncode == 0 and "nothing needs to change" in r.stdout
    r = bad_file
    assert r.returncode == 2 and "bad.npy" in r.stderr and "Traceback" not in r.stderr
    r = unknown_id
    assert r.returncode == 2 and "no pose with id" in r.stderr


class _Recorder(torch.nn.Module):
    """Wraps a model and keeps the inputs of its last forward."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model, self.inputs = model, None

    def forward(self, *inputs):
        self.inputs = inputs
        return self.model(*inputs)

    def loss(self, *args, **kwargs):
        return self.model.loss(*args, **kwargs)


@pytest.mark.parametrize("flip", [1.0, 0.0])
def test_pairtext_flip_augmentation_mirrors_both_poses_and_the_text(tmp_path, fix_dataset, flip):
    from pose_search.data.mirror import mirror_text
    from pose_search.data.pairs import load_pairs
    from pose_search.data.pose_builder import mirror_pose
    from training.driver import TrainConfig
    from training.tasks import TASKS

    task = TASKS["pairtext"](TrainConfig(task="pairtext", run_dir=str(tmp_path), data=str(fix_dataset),
                                         task_options={"model": "pairtext-tiny", "lr_flip": flip,
                                                       "text_model": "scratch"}))
    task.prepare()
    train, _ = task.datasets()
    texts = load_pairs(str(fix_dataset), "train")["instructions"]
    c = max(len(x) for x in texts)
    assert train["ids"].shape[1] == (2 * c if flip else c)
    tok = task._tokenizer()
    rows = torch.arange(6)
    batch = {k: v[rows] for k, v in train.items()}
    model = _Recorder(task.build_model())
    loss, _ = task.loss(model, batch)
    assert torch.isfinite(loss)
    pose_a, pose_b, ids, mask = model.inputs
    expect_a = mirror_pose(batch["pose_a"]) if flip else batch["pose_a"]
    torch.testing.assert_close(pose_a, expect_a)
    torch.testing.assert_close(pose_b, mirror_pose(batch["pose_b"]) if flip else batch["pose_b"])
    assert any(mirror_text(t) != t for x in texts[:6] for t in x)  # the sides really change
    for i in range(len(rows)):
        wanted = {tok.decode(tok([mirror_text(t) if flip else t], max_length=96)[0][0]) for t in texts[i]}
        assert tok.decode(ids[i]) in wanted


def _pairtext_task(run_dir, data=None, **options):
    from training.driver import TrainConfig
    from training.tasks import TASKS

    return TASKS["pairtext"](TrainConfig(task="pairtext", run_dir=str(run_dir), data=str(data or ""), epochs=2,
                                         batch_size=8, task_options={"model": "pairtext-tiny", **options}))


def _fit_without_ray(task) -> tuple[torch.nn.Module, dict[str, float]]:
    """The driver's loop on this process (no Ray): prepare, train ``epochs``, validate, export best/."""
    task.prepare()
    torch.manual_seed(0)
    model = task.build_model()
    train, val = task.datasets()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    cpu = torch.device("cpu")
    for epoch in range(task.cfg.epochs):
        task.train_epoch(model, optimizer, train, epoch, 0, 1, cpu)
    metrics = task.evaluate(model, val, cpu)
    task.export(model, task.run_dir / "best", metrics)
    return model.eval(), metrics


@pytest.mark.slow  # the backbone's outputs of ~600 instructions (~12 s on 2 busy cores)
def test_pretrained_pairtext_trains_on_cached_backbone_tokens_and_reloads(tmp_path, fix_dataset, monkeypatch):
    from pose_search.data.mirror import mirror_text
    from pose_search.data.pairs import load_pairs
    from pose_search.models.encoders.pretrained_text import (
        PretrainedTextConfig,
        PretrainedTextEncoder,
    )
    from pose_search.runs import load_model

    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path / "cache"))
    task = _pairtext_task(tmp_path / "run", fix_dataset, lr_flip=1.0)  # text_model: pretrained by default
    model, metrics = _fit_without_ray(task)
    assert np.isfinite(metrics["loss"]) and 0 <= metrics["mRecall"] <= 100
    assert not task.tokenizer_path.exists()  # the backbone's own tokenizer: no WordPiece trained
    assert list((tmp_path / "cache" / "text_tokens").glob("*/part-*"))  # filled once, in prepare

    # batches carry rows of the token table; with lr_flip=1 every picked text is a mirrored one
    train, _ = task.datasets()
    texts = load_pairs(str(fix_dataset), "train")["instructions"]
    c = max(len(x) for x in texts)
    assert "ids" not in train and train["text_row"].shape == (len(texts), 2 * c)
    recorder = _Recorder(model)
    task.loss(recorder, {k: v[:3] for k, v in train.items()})
    tokens, mask = recorder.inputs[2], recorder.inputs[3]
    assert tokens.dtype == torch.float32 and tokens.shape[:2] == mask.shape and tokens.shape[2] == 384
    encoder = model.text
    for i in range(3):
        n = int(mask[i].sum())
        candidates = [encoder.backbone_tokens(*encoder.tokenize([mirror_text(t)]))[0] for t in texts[i]]
        assert any(h.shape[0] == n and torch.allclose(h, tokens[i, :n], atol=2e-3) for h in candidates)

    again = load_model(tmp_path / "run")
    assert isinstance(again.text, PretrainedTextEncoder) and again.config()["text_model"] == "pretrained"
    assert again.text.cfg == PretrainedTextConfig.tiny()
    sample = texts[0] + ["Raise the left arm.", ""]
    with torch.no_grad():
        torch.testing.assert_close(again.embed_texts(sample), model.embed_texts(sample))
        poses = train["pose_a"][:4], train["pose_b"][:4]
        torch.testing.assert_close(again.pair_embedding(*poses), model.pair_embedding(*poses))


def _save_posetext_run(run_dir, model) -> None:
    """A PoseText run directory as training leaves it (best/model, best/encoder)."""
    from pose_search.checkpoint import save_module
    from pose_search.models.posetext import text_registry_name

    save_module(run_dir / "best" / "model", "posetext-tiny", model.config(), model)
    encoder = model.text_encoder()
    save_module(run_dir / "best" / "encoder", text_registry_name(encoder), encoder.config(), encoder)


def test_pairtext_starts_from_a_pretrained_posetext_run(tmp_path):
    from pose_search.models.encoders.pretrained_text import (
        PretrainedTextConfig,
        PretrainedTextEncoder,
    )

    torch.manual_seed(1)
    posetext = create_model("posetext-tiny", text_model="pretrained", text={"out_dim": 32, "topping_ffn": 64})
    _save_posetext_run(tmp_path / "posetext", posetext)
    for given in (tmp_path / "posetext", tmp_path / "posetext" / "best" / "encoder"):
        torch.manual_seed(2)  # another initialisation than PoseText's: equal weights were copied
        model = _pairtext_task(tmp_path / "run", text_encoder=str(given)).build_model()
        assert isinstance(model.text, PretrainedTextEncoder) and model.text_model == "pretrained"
        assert model.text.cfg == PretrainedTextConfig(**posetext.text.config())
        assert model.text.cfg.out_dim == 32 and model.head.out_features == 32  # the run's config, not the preset
        torch.testing.assert_close(model.text.head.proj.weight, posetext.text.head.proj.weight)
        for k, v in posetext.text.state_dict().items():
            torch.testing.assert_close(model.text.state_dict()[k], v)
    with pytest.raises(ValueError, match="holds a pretrained text encoder but text_model='scratch'"):
        _pairtext_task(tmp_path / "run", text_encoder=str(tmp_path / "posetext"), text_model="scratch").build_model()


def test_pairtext_starts_from_a_scratch_posetext_run_as_before(tmp_path, tok):
    from pose_search.models.encoders.text import TextEncoder

    torch.manual_seed(1)
    posetext = create_model("posetext-tiny", tokenizer=tok)
    _save_posetext_run(tmp_path / "posetext", posetext)
    torch.manual_seed(2)
    task = _pairtext_task(tmp_path / "run", text_encoder=str(tmp_path / "posetext"))  # text_model left out
    model = task.build_model()
    assert isinstance(model.text, TextEncoder) and model.text_model == "scratch"
    for k, v in posetext.text.state_dict().items():
        torch.testing.assert_close(model.text.state_dict()[k], v)
    assert task._tokenizer().vocab_size == tok.vocab_size
    with pytest.raises(ValueError, match="holds a scratch text encoder but text_model='pretrained'"):
        _pairtext_task(tmp_path / "run", text_encoder=str(tmp_path / "posetext"), text_model="pretrained").build_model()


def test_pairtext_with_a_pretrained_tower_and_old_checkpoints(tmp_path, tok):
    from dataclasses import asdict

    from pose_search.checkpoint import save_module
    from pose_search.models.catalog import load_module
    from pose_search.models.encoders.pretrained_text import PretrainedTextConfig
    from pose_search.models.encoders.text import TextEncoder

    m = create_model("pairtext-tiny", text_model="pretrained").eval()
    assert m.config()["text"] == asdict(PretrainedTextConfig.tiny())
    ids, mask = m.text.tokenize(TEXTS)
    pose = torch.randn(4, 22, 3) * 0.3
    with torch.no_grad():
        p, from_ids = m(pose, pose, ids, mask)
        _, from_tokens = m(pose, pose, m.text.backbone_tokens(ids, mask), mask)
        torch.testing.assert_close(from_tokens, from_ids)
        torch.testing.assert_close(m.embed_texts(TEXTS), from_ids)
    assert p.shape == from_ids.shape == (4, 64)
    with pytest.raises(ValueError, match="backbone's tokenizer"):
        create_model("pairtext-tiny", text_model="pretrained", tokenizer=tok)
    # a checkpoint written before text_model existed holds a scratch tower
    old = create_model("pairtext-tiny", tokenizer=tok).eval()
    config = {k: v for k, v in old.config().items() if k != "text_model"}
    save_module(tmp_path / "old", "pairtext-tiny", config, old)
    again = load_module(tmp_path / "old").eval()
    assert isinstance(again.text, TextEncoder) and again.text_model == "scratch"
    with torch.no_grad():
        torch.testing.assert_close(again.embed_texts(TEXTS), old.embed_texts(TEXTS))


def test_pairtext_refuses_a_bad_text_model(tmp_path):
    with pytest.raises(ValueError, match=r"task 'pairtext': option text_model='bert': expected one of 'pretrained', 'scratch'"):
        _pairtext_task(tmp_path, text_model="bert")
    with pytest.raises(ValueError, match="not in model_config"):
        _pairtext_task(tmp_path, model_config={"text_model": "scratch"})
    with pytest.raises(ValueError, match="text_model 'bert'"):
        create_model("pairtext-tiny", text_model="bert")


def test_pairtext_refuses_a_bad_flip_probability(tmp_path):
    from training.driver import TrainConfig
    from training.tasks import TASKS

    for bad in (1.5, -0.1, "yes", True):
        with pytest.raises(ValueError, match="lr_flip"):
            TASKS["pairtext"](TrainConfig(task="pairtext", run_dir=str(tmp_path), task_options={"lr_flip": bad}))


def test_instruction_flip_uses_the_mirrored_representations_and_texts(tmp_path, fix_dataset, tiny_core_run):
    from pose_search.data.mirror import mirror_text
    from pose_search.data.pairs import load_pairs, load_pool_poses
    from pose_search.data.pose_builder import mirror_pose
    from pose_search.models.features import load_features
    from pose_search.runs import load_model
    from training.driver import TrainConfig
    from training.tasks import TASKS

    def task(flip):
        return TASKS["instructions"](TrainConfig(
            task="instructions", run_dir=str(tmp_path), data=str(fix_dataset),
            task_options={"core": str(tiny_core_run), "model": "instruction-generator-tiny", "lr_flip": flip}))

    task(0.0).prepare()
    assert set(load_features(tmp_path / "representations" / "poses.safetensors")) == {"ids", "rep"}
    t = task(1.0)
    t.prepare()  # the cache lacks the mirrored representations: made now, beside the others
    feats = load_features(tmp_path / "representations" / "poses.safetensors")
    poses = load_pool_poses(str(fix_dataset))
    rep_model = load_model(tmp_path / "representation")
    with torch.no_grad():
        want = rep_model.representation(poses=mirror_pose(poses[:5])).float().numpy()
    np.testing.assert_allclose(feats["rep_mirror"][:5], want, rtol=1e-4, atol=1e-5)
    assert not np.allclose(feats["rep_mirror"][:5], feats["rep"][:5])

    train, _ = t.datasets()
    rows = torch.arange(6)
    batch = {k: v[rows] for k, v in train.items()}
    seen = {}

    class Spy(torch.nn.Module):
        def loss(self, rep_a, rep_b, ids, mask):
            seen.update(rep_a=rep_a, rep_b=rep_b, ids=ids)
            return rep_a.sum() * 0

    t.loss(Spy(), batch)
    torch.testing.assert_close(seen["rep_a"], batch["rep_a_m"])
    torch.testing.assert_close(seen["rep_b"], batch["rep_b_m"])
    tok = t._tokenizer()
    texts = load_pairs(str(fix_dataset), "train")["instructions"]
    for i in range(len(rows)):
        assert tok.decode(seen["ids"][i]) in {tok.decode(tok([mirror_text(x)], max_length=96)[0][0]) for x in texts[i]}


def test_instructions_refuses_a_bad_flip_probability(tmp_path):
    from training.driver import TrainConfig
    from training.tasks import TASKS

    with pytest.raises(ValueError, match="task 'instructions': option lr_flip=2: expected a probability"):
        TASKS["instructions"](TrainConfig(task="instructions", run_dir=str(tmp_path), task_options={"lr_flip": 2}))
