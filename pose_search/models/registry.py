"""One registry of model architectures, queryable by name (timm's ``register_model`` idea).

Every architecture registers a factory ``factory(**config) -> nn.Module`` under a name. Names are
grouped by kind (``encoder.pose``, ``encoder.text``, ``encoder.image``, ``core``, ``head``...), and
each kind has a ``tiny`` variant for tests. :func:`create_model` builds one from its name and a
config dict, failing with the list of known names for a typo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch.nn as nn

_REGISTRY: dict[str, tuple[str, Callable[..., nn.Module]]] = {}


def register_model(name: str, kind: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register ``factory`` as architecture ``name`` of ``kind``."""

    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY and _REGISTRY[name][1] is not factory:
            raise ValueError(f"model name {name!r} registered twice")
        _REGISTRY[name] = (kind, factory)
        return factory

    return wrap


def _load_all() -> None:
    # Importing the modules runs their decorators; kept here so the registry is complete on use.
    import importlib

    for module in (
        "pose_search.models.encoders.pose_vae",
        "pose_search.models.encoders.text",
        "pose_search.models.encoders.pretrained_text",
        "pose_search.models.encoders.image",
        "pose_search.models.encoders.blazepose",
        "pose_search.models.posetext",
        "pose_search.models.core",
        "pose_search.models.heads.hps",
        "pose_search.models.heads.instructions",
        "pose_search.models.pairtext",
    ):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module of a later milestone may not exist yet
            if exc.name != module:
                raise


def list_models(kind: str | None = None) -> list[str]:
    """Registered architecture names (of one ``kind`` when given)."""
    _load_all()
    return sorted(n for n, (k, _) in _REGISTRY.items() if kind is None or k == kind or k.startswith(kind + "."))


def model_kind(name: str) -> str:
    _load_all()
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
