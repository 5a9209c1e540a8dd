"""Checkpoints: a directory with ``config.json`` + ``model.safetensors`` (never a pickle).

``config.json`` is ``{"name": <registry name>, "config": {...constructor args...}, "format": 1,
...extra}``, so :func:`load_module` rebuilds the architecture from the directory alone.
Modules with extra files (a tokenizer) write them beside, through ``save_extra`` hooks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

FORMAT = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class CheckpointError(ValueError):
    """A checkpoint directory is missing, corrupt or does not fit the architecture."""


def save_module(directory: str | Path, name: str, config: dict[str, Any], module: nn.Module,
                **extra: Any) -> Path:
    """Write ``module``'s weights and its rebuild recipe into ``directory``."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    tmp = directory / (WEIGHTS_FILE + ".tmp")
    save_file(_dedupe_shared(state), str(tmp))
    tmp.replace(directory / WEIGHTS_FILE)
    meta = {"format": FORMAT, "name": name, "config": config, **extra}
    tmp_cfg = directory / (CONFIG_FILE + ".tmp")
    tmp_cfg.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    tmp_cfg.replace(directory / CONFIG_FILE)
    hook = getattr(module, "save_extra", None)
    if callable(hook):
        hook(directory)
    return directory


def _dedupe_shared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses tensors sharing storage (tied weights): store copies.
    seen: set[int] = set()
    out = {}
    for k, v in state.items():
        ptr = v.untyped_storage().data_ptr() if v.numel() else -1
        out[k] = v.clone() if ptr in seen else v
        seen.add(ptr)
    return out


def read_config(directory: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a checkpoint directory, with clear errors."""
    path = Path(directory) / CONFIG_FILE
    if not Path(directory).is_dir():
        raise CheckpointError(f"checkpoint directory {str(directory)!r} does not exist")
    if not path.is_file():
        raise CheckpointError(f"{str(directory)!r} is not a checkpoint (no {CONFIG_FILE})")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{str(path)!r} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or "name" not in meta or "config" not in meta:
        raise CheckpointError(f"{str(path)!r} lacks 'name' or 'config'")
    return meta


def load_state(directory: str | Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointError(f"{str(directory)!r} has no {WEIGHTS_FILE}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{str(path)!r} cannot be read: {exc}") from None


def load_weights(module: nn.Module, state: dict[str, torch.Tensor], where: str) -> nn.Module:
    """Load ``state`` strictly, turning PyTorch's key/shape errors into one clear message."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} (e.g. {unexpected[:3]})")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} with other shapes (e.g. {k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)})")
        raise CheckpointError(f"checkpoint {where} does not fit the architecture: " + "; ".join(parts))
    module.load_state_dict(state, strict=True)
    return module


def load_module(directory: str | Path) -> nn.Module:
    """Rebuild the module saved in ``directory`` (registry name + config + weights)."""
    from pose_search.models.registry import create_model

    meta = read_config(directory)
    module = create_model(meta["name"], **meta["config"])
    hook = getattr(module, "load_extra", None)
    if callable(hook):
        hook(Path(directory))
    return load_weights(module, load_state(directory), repr(str(directory)))
