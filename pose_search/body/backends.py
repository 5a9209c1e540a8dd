"""The body model backends by name: ``anny`` (the free default) and ``smplx`` (real SMPL-X files).

Importing this module imports both backends, whose ``@register_body_model`` decorators make them
available; :mod:`pose_search.body.model` itself knows no backend.
"""

from __future__ import annotations

from pose_search.body import anny_backend, smplx_backend  # noqa: F401  (registers the backends)
from pose_search.body.model import _BODY_MODELS, BodyModel


def list_body_models() -> list[str]:
    """Names of the registered backends."""
    return sorted(_BODY_MODELS)


def create_body_model(name: str = "anny", **kwargs: object) -> BodyModel:
    """Build a body model backend by name (``anny`` or ``smplx``); kwargs go to the backend."""
    try:
        factory = _BODY_MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown body model {name!r}; available: {', '.join(sorted(_BODY_MODELS))}"
        ) from None
    return factory(**kwargs)
