"""One registry of model architectures, queryable by name (timm's ``register_model`` idea).

Every architecture registers a factory ``factory(**config) -> nn.Module`` under a name. Names are
grouped by kind (``encoder.pose``, ``encoder.text``, ``encoder.image``, ``core``, ``head``...), and
each kind has a ``tiny`` variant for tests. :mod:`pose_search.models.catalog` imports every
architecture module and builds one from its name and a config dict (``create_model``), failing with
the list of known names for a typo; this module knows no architecture.
"""

from __future__ import annotations

from collections.abc import Callable

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
