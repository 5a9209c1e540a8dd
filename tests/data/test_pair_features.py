"""Pair mining switches from the hand-made pose feature to a trained PoseText's pose tower."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pose_search.body.skeleton import neutral_joints
from pose_search.checkpoint import save_module
from pose_search.data.generate import GenerateConfig, run
from pose_search.data.pairing.mining import pose_feature
from pose_search.data.store import read_manifest
from pose_search.models.catalog import create_model
from pose_search.models.encoders.tokenizer import TextTokenizer, train_wordpiece
from pose_search.models.pair_features import for_config, pair_features, resolve_pair_feature

CAPTIONS = ["the left knee is bent", "both arms are raised above the head", "the torso leans forward"]


@pytest.fixture(scope="module")
def posetext_run(tmp_path_factory):
    """A run directory laid out as `pose-search train posetext` leaves it (best/model)."""
    torch.manual_seed(0)
    tokenizer = TextTokenizer(train_wordpiece(CAPTIONS * 5, vocab_size=200))
    model = create_model("posetext-tiny", tokenizer=tokenizer).eval()
    run_dir = tmp_path_factory.mktemp("posetext")
    save_module(run_dir / "best" / "model", "posetext-tiny", model.config(), model)
    text = model.text_encoder()
    save_module(run_dir / "best" / "encoder", "posetext-text-tiny", text.config(), text)
    return run_dir, model


def test_posetext_features_are_its_pose_embeddings(posetext_run):
    run_dir, model = posetext_run
    poses = np.random.default_rng(0).normal(0, 0.3, (10, 22, 3))
    joints = neutral_joints(poses)
    feats = pair_features(str(run_dir), joints, poses)
    with torch.no_grad():
        expected = model.pose_embedding(torch.as_tensor(poses, dtype=torch.float32)).numpy()
    assert feats.shape == (10, 64)
    np.testing.assert_allclose(feats, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(pair_features("pose", joints, poses), pose_feature(joints))


def test_bad_pair_feature_is_refused_before_work(posetext_run, tmp_path):
    run_dir, _ = posetext_run
    with pytest.raises(ValueError, match="expected 'pose' or a PoseText"):
        resolve_pair_feature(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not a PoseText model"):
        resolve_pair_feature(str(run_dir / "best" / "encoder"))
    with pytest.raises(ValueError, match="only --kind fix"):
        run(tmp_path / "s", GenerateConfig(kind="script", size=4, pair_feature=str(run_dir)))
    assert not (tmp_path / "s").exists()


def test_fix_dataset_mined_on_posetext(posetext_run, tmp_path):
    run_dir, _ = posetext_run
    cfg = GenerateConfig(kind="fix", size=40, seed=2, chunk_size=40, val_fraction=0.0, pair_feature=str(run_dir))
    with pytest.raises(ValueError, match="needs its model's feature function"):
        run(tmp_path, cfg, workers=1)  # the data floor cannot load a model itself
    resolved, features = for_config(cfg)
    manifest = run(tmp_path, resolved, workers=1, pair_features=features)
    assert manifest["status"] == "complete"
    assert manifest["config"]["pair_feature"] == str((run_dir / "best" / "model").resolve())
    # resuming with the run directory (not the resolved path) is the same configuration
    again, features = for_config(cfg)
    assert run(tmp_path, again, workers=1, pair_features=features)["counts"] == manifest["counts"]


def test_manifest_without_the_new_field_still_resumes(tmp_path):
    cfg = GenerateConfig(kind="script", size=6, seed=1, chunk_size=6, val_fraction=0.0)
    first = run(tmp_path, cfg, workers=1)
    m = read_manifest(tmp_path)
    del m["config"]["pair_feature"]  # as written before pair_feature existed
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    assert run(tmp_path, cfg, workers=1)["counts"] == first["counts"]
