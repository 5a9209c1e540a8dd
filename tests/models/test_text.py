"""WordPiece tokenizer, the PoseText text encoder and the PoseText model (tiny, CPU)."""

from __future__ import annotations

import pytest
import torch

from pose_search.checkpoint import CheckpointError, save_module
from pose_search.models.catalog import create_model, load_module, model_kind
from pose_search.models.encoders.text import TextEncoder
from pose_search.models.encoders.tokenizer import TextTokenizer, train_wordpiece
from pose_search.models.posetext import PoseText

CAPTIONS = [
    "The left knee is bent at a right angle.",
    "The right knee is slightly bent while the left leg is straight.",
    "The person is kneeling, the left knee touching the ground.",
    "Both arms are raised above the head, the elbows bent.",
    "The right hand is close to the left knee.",
    "The torso leans forward and the head is bent down.",
    "The left arm is stretched to the side; the right arm hangs down.",
    "Legs apart, knees bent, the body is crouching.",
]


@pytest.fixture(scope="module")
def tokenizer() -> TextTokenizer:
    return TextTokenizer(train_wordpiece(CAPTIONS * 3, vocab_size=300))


@pytest.fixture(scope="module")
def encoder(tokenizer: TextTokenizer) -> TextEncoder:
    torch.manual_seed(0)
    return create_model("posetext-text-tiny", tokenizer=tokenizer).eval()


def test_wordpiece_tokenises_known_words(tokenizer: TextTokenizer, tmp_path) -> None:
    assert tokenizer.pad_id == 0 and tokenizer.cls_id == 2 and tokenizer.sep_id == 3
    assert tokenizer.tokens("Left KNEE bent") == ["[CLS]", "left", "knee", "bent", "[SEP]"]
    ids, mask = tokenizer(["left knee bent", "the right arm is raised above the head"])
    assert ids.dtype == torch.int64 and ids.shape == mask.shape and ids.shape[0] == 2
    assert mask[0].sum() == 5 and (ids[0, 5:] == 0).all() and mask[1].all()
    assert int(ids[0, 4]) == tokenizer.sep_id
    assert tokenizer.tokenizer.token_to_id("[UNK]") not in ids[0].tolist()
    assert tokenizer.decode(ids[0]) == "left knee bent"
    # truncation keeps [SEP] last
    short, _ = tokenizer(CAPTIONS[1], max_length=4)
    assert short.shape == (1, 4) and int(short[0, -1]) == tokenizer.sep_id
    loaded = TextTokenizer.load(tokenizer.save(tmp_path))
    for text in CAPTIONS[:3]:
        assert torch.equal(loaded(text)[0], tokenizer(text)[0])


def test_distilbert_dir_loading(tokenizer: TextTokenizer, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="neither tokenizer.json nor vocab.txt"):
        TextTokenizer.from_distilbert_dir(tmp_path)
    vocab = sorted(tokenizer.tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    (tmp_path / "vocab.txt").write_text("".join(t + "\n" for t, _ in vocab))
    from_vocab = TextTokenizer.from_distilbert_dir(tmp_path)
    assert from_vocab.vocab_size == tokenizer.vocab_size
    assert from_vocab.tokens("Left knee bent") == ["[CLS]", "left", "knee", "bent", "[SEP]"]
    assert torch.equal(from_vocab("left knee bent")[0], tokenizer("left knee bent")[0])


def test_encoder_forward_backward_and_padding(encoder: TextEncoder) -> None:
    assert model_kind("posetext-text-tiny") == "encoder.text"
    assert encoder.modality == "text" and encoder.output_dim == 64
    ids, mask = encoder.tokenize(CAPTIONS[:3])
    out = encoder(ids, mask)
    assert out.shape == (3, 64) and torch.isfinite(out).all()
    # padding does not change a text's feature
    alone = encoder(*encoder.tokenize(CAPTIONS[0]))
    torch.testing.assert_close(alone[0], out[0], atol=1e-5, rtol=1e-4)
    # the backbone is frozen: only the topping trains
    encoder.train()
    assert not encoder.bert.training and encoder.head.training
    encoder(ids, mask).square().sum().backward()
    assert all(p.grad is None for p in encoder.bert.parameters())
    assert encoder.head.proj.weight.grad is not None
    encoder.zero_grad()
    encoder.eval()


def test_save_load_identical(encoder: TextEncoder, tmp_path) -> None:
    save_module(tmp_path, "posetext-text-tiny", encoder.config(), encoder)
    assert (tmp_path / "tokenizer.json").is_file()
    loaded = load_module(tmp_path).freeze()
    assert isinstance(loaded, TextEncoder) and loaded.config() == encoder.config()
    ids, mask = loaded.tokenize(CAPTIONS)
    torch.testing.assert_close(loaded(ids, mask), encoder(*encoder.tokenize(CAPTIONS)))


def test_load_without_tokenizer_is_a_clear_error(encoder: TextEncoder, tmp_path) -> None:
    save_module(tmp_path, "posetext-text-tiny", encoder.config(), encoder)
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match="no tokenizer.json"):
        load_module(tmp_path)


def test_frozen_encoder_stays_in_eval(encoder: TextEncoder) -> None:
    frozen = create_model("posetext-text-tiny", **encoder.config()).freeze()
    parent = torch.nn.ModuleDict({"text": frozen, "head": torch.nn.Linear(64, 2)})
    parent.train()
    assert parent["head"].training
    assert not any(m.training for m in frozen.modules())
    assert not any(p.requires_grad for p in frozen.parameters())
    with pytest.raises(RuntimeError, match="no tokenizer"):
        frozen.tokenize("left knee")


def test_posetext_forward_loss_and_towers(tokenizer: TextTokenizer, tmp_path) -> None:
    torch.manual_seed(0)
    model = create_model("posetext-tiny", tokenizer=tokenizer)
    assert isinstance(model, PoseText) and model_kind("posetext-tiny") == "trainable.posetext"
    assert float(model.logit_scale.detach()) == 10.0
    pose = torch.randn(4, 22, 3) * 0.4
    ids, mask = model.tokenize(CAPTIONS[:4])
    p, t = model(pose, ids, mask)
    assert p.shape == t.shape == (4, 64)
    torch.testing.assert_close(p.norm(dim=-1), torch.ones(4))
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(4))
    loss = model.loss(p, t)
    loss.backward()
    assert model.logit_scale.grad is not None and model.pose.trunk.net[2].weight.grad is not None
    assert model.text.head.topping.layers[0].linear1.weight.grad is not None

    model.eval()
    text_enc = model.text_encoder().freeze()
    torch.testing.assert_close(text_enc(ids, mask), model.text(ids, mask))
    assert any(q.requires_grad for q in model.text.parameters())  # the copy froze alone
    torch.testing.assert_close(model.pose_embedding(pose), model(pose, ids, mask)[0])

    save_module(tmp_path, "posetext-tiny", model.config(), model)
    loaded = load_module(tmp_path).eval()
    for a, b in zip(loaded(pose, ids, mask), model(pose, ids, mask)):
        torch.testing.assert_close(a, b)


def test_posetext_learns_a_tiny_batch(tokenizer: TextTokenizer) -> None:
    torch.manual_seed(0)
    model = create_model("posetext-tiny", tokenizer=tokenizer)
    pose = torch.randn(8, 22, 3) * 0.4
    ids, mask = model.tokenize(CAPTIONS)
    opt = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=2e-3)
    losses = []
    for _ in range(15):
        loss = model.loss(*model(pose, ids, mask))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0], losses


def test_local_distilbert_directory(tokenizer: TextTokenizer, tmp_path) -> None:
    """A stand-in for a real distilbert-base-uncased folder: weights, config and tokenizer."""
    from transformers import DistilBertConfig, DistilBertModel

    torch.manual_seed(0)
    bert = DistilBertModel(
        DistilBertConfig(
            vocab_size=tokenizer.vocab_size, dim=32, n_layers=1, n_heads=2, hidden_dim=64
        )
    )
    bert.save_pretrained(tmp_path / "distilbert")
    with pytest.raises(FileNotFoundError, match="neither tokenizer.json nor vocab.txt"):
        create_model("posetext-text-tiny", pretrained_dir=str(tmp_path / "distilbert"))
    tokenizer.save(tmp_path / "distilbert")
    enc = create_model("posetext-text-tiny", pretrained_dir=str(tmp_path / "distilbert")).eval()
    assert enc.config()["dim"] == 32 and enc.config()["n_layers"] == 1
    assert enc.config()["vocab_size"] == tokenizer.vocab_size
    torch.testing.assert_close(
        enc.bert.embeddings.word_embeddings.weight, bert.embeddings.word_embeddings.weight
    )
    # the checkpoint rebuilds it without the pretrained folder
    save_module(tmp_path / "ckpt", "posetext-text-tiny", enc.config(), enc)
    loaded = load_module(tmp_path / "ckpt").eval()
    ids, mask = enc.tokenize(CAPTIONS[:2])
    torch.testing.assert_close(loaded(ids, mask), enc(ids, mask))
