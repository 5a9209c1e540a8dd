"""A tiny dataset and tiny (untrained) encoder checkpoints for training tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    from pose_search.data.generate import GenerateConfig, run

    out = tmp_path_factory.mktemp("tiny_ds")
    run(out, GenerateConfig(kind="script", size=48, seed=0, chunk_size=16, val_fraction=0.25), workers=1)
    return out


@pytest.fixture(scope="session")
def tiny_encoders(tmp_path_factory, tiny_dataset):
    """Checkpoint directories of random-init tiny encoders (real architectures, untrained)."""
    import torch

    from pose_search.checkpoint import save_module
    from pose_search.models.encoders.tokenizer import TextTokenizer
    from pose_search.models.registry import create_model
    from training.tasks.data import load_split

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("encoders")
    caps = load_split(str(tiny_dataset), "train", ("captions",))["captions"]
    tok = TextTokenizer.train([c for cs in caps for c in cs], vocab_size=300)
    out = {}
    for modality, name, kwargs in (("pose", "posevae-tiny", {}), ("image", "vit-tiny-test", {}),
                                   ("text", "posetext-text-tiny", {"tokenizer": tok})):
        enc = create_model(name, **kwargs)
        out[modality] = save_module(root / modality, name, enc.config(), enc)
    return out
