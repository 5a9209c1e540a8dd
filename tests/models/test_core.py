"""PoseEmbroider core, ablations and Aligner: interfaces, clean targets, a toy that must learn."""

from __future__ import annotations

import pytest
import torch

from pose_search.checkpoint import CheckpointError, save_module
from pose_search.losses import symbbc
from pose_search.metrics.retrieval import retrieval_metrics
from pose_search.models.catalog import create_model, list_models, load_module
from pose_search.models.core import CoreConfig, build_core, chance_recall

DIMS = {"image": 12, "pose": 10, "text": 8}
TINY = dict(input_dims=DIMS, latent_dim=32, core_width=16, core_heads=2, core_ffn=32)


def _features(b: int = 6, tokens: int = 5) -> dict[str, torch.Tensor]:
    return {"image": torch.randn(b, tokens, 12), "pose": torch.randn(b, 10), "text": torch.randn(b, 8)}


@pytest.mark.parametrize("variant, heads, n_terms", [
    ("transformer", True, 18), ("mlp", True, 18), ("transformer", False, 18), ("aligner", True, 6)])
def test_forward_backward_and_term_count(variant, heads, n_terms):
    model = build_core(variant=variant, projection_heads=heads, **TINY)
    q, z, scale = model(_features())
    assert q.shape == z.shape == (n_terms, 6, 32)
    assert len(model.term_names()) == n_terms
    loss = torch.stack([symbbc(a, b, scale) for a, b in zip(q, z)]).mean()
    loss.backward()
    assert model.logit_scale.grad is not None
    assert torch.allclose(q.norm(dim=-1), torch.ones(n_terms, 6), atol=1e-5)


def test_triplet_subsets_add_terms():
    assert len(build_core(train_subsets="all", **TINY).term_names()) == 21
    assert len(build_core(variant="aligner", train_subsets="all", **TINY).term_names()) == 9


def test_targets_are_clean_of_modality_encodings():
    model = build_core(**TINY).eval()
    f = _features()
    before = model.reference_embeddings(f)
    with torch.no_grad():
        for p in model.modality_encodings.values():
            p.add_(5.0)
    after = model.reference_embeddings(f)
    for m in DIMS:
        assert torch.equal(before[m], after[m])
    _, z, _ = model(f)
    assert torch.allclose(z[0], before["image"])  # target of the first term is the clean image ref


def test_query_errors():
    model = build_core(input_dims={"pose": 10, "text": 8}, latent_dim=32, core_width=16, core_heads=2, core_ffn=32)
    refs = model.reference_embeddings({"pose": torch.randn(2, 10), "text": torch.randn(2, 8)})
    with pytest.raises(ValueError, match="empty query"):
        model.query_embedding(refs, (), "pose")
    with pytest.raises(ValueError, match="no image input"):
        model.query_embedding(refs, ("image",), "pose")
    with pytest.raises(ValueError, match="unknown target 'audio'"):
        model.query_embedding(refs, ("pose",), "audio")


def test_registry_and_config_errors():
    assert {"poseembroider", "aligner", "poseembroider-mlp", "poseembroider-noheads"} <= set(list_models("core"))
    with pytest.raises(ValueError, match="unknown model 'posembroider'"):
        create_model("posembroider")
    with pytest.raises(ValueError, match="bad config"):
        create_model("poseembroider", hidden_sizes=3)
    with pytest.raises(ValueError, match="core variant 'big'"):
        CoreConfig(variant="big").check()


def test_head_width_is_a_choice_and_a_bad_one_is_a_clear_error():
    wide = build_core(head_hidden=48, **TINY)
    assert wide.heads["pose"][0].out_features == 48 and wide.heads["pose"][2].in_features == 48
    assert build_core(**TINY).heads["pose"][0].out_features == 32  # default: the latent width
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="head_hidden"):
            build_core(head_hidden=bad, **TINY)


def test_default_sizes_match_the_released_code():
    model = create_model("poseembroider")
    assert model.cfg.core_width == 256 and model.cfg.core_layers == 1 and model.cfg.core_ffn == 512
    n = sum(p.numel() for p in model.parameters())
    assert 2.5e6 < n < 4.5e6  # ~3.3 M trainable parameters in the paper's budget


def test_checkpoint_roundtrip_and_mismatch(tmp_path):
    model = build_core(**TINY).eval()
    save_module(tmp_path / "core", "core", model.config(), model)
    again = load_module(tmp_path / "core").eval()
    f = _features()
    with torch.no_grad():
        assert torch.allclose(model(f)[0], again(f)[0])
    other = build_core(**{**TINY, "latent_dim": 16})
    save_module(tmp_path / "other", "core", model.config(), other)  # config does not match weights
    with pytest.raises(CheckpointError, match="does not fit the architecture"):
        load_module(tmp_path / "other")


def _toy(n: int, seed: int) -> dict[str, torch.Tensor]:
    """Three noisy views of one latent 'pose': each alone is ambiguous, two together are not."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 8, generator=g)
    noise = lambda d: torch.randn(n, d, generator=g) * 0.9  # noqa: E731
    return {"image": torch.cat([z[:, :6], noise(6)], 1)[:, None].repeat(1, 3, 1) + 0.05 * torch.randn(n, 3, 12, generator=g),
            "pose": torch.cat([z[:, 2:8], noise(4)], 1), "text": torch.cat([z[:, [0, 1, 6, 7]], noise(4)], 1)}


@pytest.mark.parametrize("variant", ["transformer", "aligner"])
def test_toy_problem_is_learned_far_above_chance(variant):
    torch.manual_seed(0)
    model = build_core(variant=variant, **{**TINY, "core_width": 32, "core_ffn": 64})
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    train = _toy(512, 0)
    for _ in range(150):
        idx = torch.randint(0, 512, (64,))
        q, z, s = model({k: v[idx] for k, v in train.items()})
        loss = torch.stack([symbbc(a, b, s) for a, b in zip(q, z)]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    val = _toy(200, 1)
    with torch.no_grad():
        refs = model.reference_embeddings(val)
        metrics = retrieval_metrics(refs, model.query_embedding)
    assert metrics["mRecall"] > 5 * chance_recall(200, 5)
    assert metrics["mRecall_dual"] > metrics["mRecall_single"]
