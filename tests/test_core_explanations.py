"""benchmarks/core_explanations.py: each explanation is a core that differs from its reference in one respect."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import pytest

from benchmarks.core_explanations import VARIANTS, reference_encoders, train_config
from pose_search.models.catalog import create_model
from training.tasks import TASKS

ENCODERS = {"image_encoder": "blazepose", "pose_encoder": "/r/runs/posevae", "text_encoder": "/r/runs/posetext"}


def test_every_variant_is_a_valid_run_that_changes_one_thing(tmp_path):
    reference = {"lr": 2e-4, "epochs": 100, "model_config": {}, "schedule": {}}
    assert len({v.name for v in VARIANTS}) == len(VARIANTS) >= 5
    for v in VARIANTS:
        cfg = train_config(v, tmp_path, ENCODERS, epochs=100, patience=5)
        options = TASKS[cfg.task](cfg).options  # the task accepts the options (a typo would raise here)
        assert (cfg.run_dir, cfg.patience, cfg.batch_size) == (str(tmp_path / "runs" / v.name), 5, 128)
        assert {k: getattr(options, k) for k in ENCODERS} == ENCODERS  # the reference's features
        model = create_model(options.model, **{**options.model_config, "input_dims": {"image": 16, "pose": 8, "text": 8}})
        changed = {k for k, ref in reference.items() if (asdict(v)[k] or ref) != ref} | (
            {"model"} if v.model != v.reference else set())
        assert changed and changed <= {"model", "lr", "epochs", "model_config", "schedule"}, v.name
        if v.schedule:  # the schedule comes with its own learning rate and length
            assert changed == {"lr", "epochs", "schedule"} and options.lr_decay == "cosine"
        else:
            assert len(changed) == 1, (v.name, changed)
        if v.model == "poseembroider-paper":
            assert (model.cfg.core_layers, model.cfg.core_width) == (4, 512)
        for key, value in v.model_config.items():
            assert getattr(model.cfg, key) == value


def test_the_reference_run_must_exist(tmp_path):
    with pytest.raises(SystemExit, match="run retrieval_synthetic.py"):
        reference_encoders(tmp_path)


@pytest.mark.ray
def test_a_variant_trains_on_the_reference_features_and_is_compared_with_it(tmp_path, tiny_dataset, tiny_encoders,
                                                                            monkeypatch):
    import ray

    from benchmarks import core_explanations
    from training.driver import TrainConfig, fit

    root = tmp_path / "ref"
    (root / "runs").mkdir(parents=True)
    (root / "data").symlink_to(tiny_dataset)
    encoders = {f"{m}_encoder": str(path) for m, path in tiny_encoders.items()}
    out = tmp_path / "explanations.json"
    try:
        fit(TrainConfig(task="core", run_dir=str(root / "runs" / "poseembroider"), data=str(root / "data"), epochs=1,
                        batch_size=8, task_options={"model": "poseembroider", **encoders}))
        monkeypatch.setattr(sys, "argv", ["core_explanations.py", "--root", str(root), "--variants",
                                          "poseembroider-temp30", "--epochs", "2", "--batch-size", "8",
                                          "--out", str(out)])
        core_explanations.main()
    finally:
        ray.shutdown()
    result = json.loads(out.read_text())
    assert result["encoders"] == encoders
    variant = result["variants"]["poseembroider-temp30"]
    assert variant["run"]["epochs"] == 2 and variant["model_config"] == {"logit_scale_init": 30.0}
    assert variant["delta_mRecall"] == pytest.approx(variant["mRecall"] - result["references"]["poseembroider"]["mRecall"])
    # the variant read the reference's cached features: the same files
    ref_feats = root / "runs" / "poseembroider" / "features" / "val.safetensors"
    assert (root / "runs" / "poseembroider-temp30" / "features" / "val.safetensors").read_bytes() == ref_feats.read_bytes()
    run = json.loads((root / "runs" / "poseembroider-temp30" / "run.json").read_text())
    assert run["task_options"]["model_config"] == {"logit_scale_init": 30.0}
