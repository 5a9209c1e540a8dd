"""Every model architecture, by name: build one (``create_model``) or rebuild a saved one
(``load_module``, a checkpoint directory of :mod:`pose_search.checkpoint`).

Importing this module imports every architecture module, whose ``@register_model`` decorators fill
:mod:`pose_search.models.registry`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch.nn as nn

from pose_search.checkpoint import CheckpointError, load_state, load_weights, read_config
from pose_search.models import core, pairtext, posetext  # noqa: F401  (they register themselves)
from pose_search.models.encoders import (  # noqa: F401
    blazepose,
    image,
    image_regressor,
    pose_vae,
    pretrained_text,
    text,
)
from pose_search.models.heads import hps, instructions  # noqa: F401
from pose_search.models.registry import _REGISTRY


def list_models(kind: str | None = None) -> list[str]:
    """Registered architecture names (of one ``kind`` when given)."""
    return sorted(n for n, (k, _) in _REGISTRY.items() if kind is None or k == kind or k.startswith(kind + "."))


def model_kind(name: str) -> str:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name][0]


def create_model(name: str, **config: Any) -> nn.Module:
    """Build architecture ``name`` with ``config``; a clear error for unknown names or fields."""
    kind = model_kind(name)
    factory = _REGISTRY[name][1]
    try:
        return factory(**config)
    except (TypeError, ValueError, RuntimeError, OverflowError, AssertionError) as exc:
        # a field of the wrong type or an impossible size (negative, zero, not divisible, ...)
        raise ValueError(f"bad config for {kind} model {name!r}: {type(exc).__name__}: {exc}") from None


def load_module(directory: str | Path) -> nn.Module:
    """Rebuild the module saved in ``directory`` (registry name + config + weights)."""
    meta = read_config(directory)
    try:
        module = create_model(meta["name"], **meta["config"])
    except ValueError as exc:
        raise CheckpointError(f"checkpoint {str(directory)!r}: {exc}") from None
    hook = getattr(module, "load_extra", None)
    if callable(hook):
        try:
            hook(Path(directory))
        except CheckpointError:
            raise
        except (ValueError, FileNotFoundError) as exc:  # e.g. a corrupt tokenizer beside the weights
            raise CheckpointError(f"checkpoint {str(directory)!r}: {exc}") from None
    return load_weights(module, load_state(directory, meta.get("weights_sha256")), repr(str(directory)))
