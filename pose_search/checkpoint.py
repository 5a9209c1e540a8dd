"""Checkpoints: a directory with ``config.json`` + ``model.safetensors`` (never a pickle).

``config.json`` is ``{"name": <registry name>, "config": {...constructor args...}, "format": 1,
"weights_sha256": <hex>, ...extra}``, so :func:`load_module` rebuilds the architecture from the
directory alone. The checksum catches weights that were cut short, flipped on disk or written by
another save than the config (checkpoints written before it was recorded load without the check).
Modules with extra files (a tokenizer) write them beside, through ``save_extra`` hooks.
"""

from __future__ import annotations

import hashlib
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
    digest = file_sha256(tmp)
    tmp.replace(directory / WEIGHTS_FILE)
    meta = {"format": FORMAT, "name": name, "config": config, "weights_sha256": digest, **extra}
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


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# Files holding pickles (torch.save, pytorch_model.bin, Lightning .ckpt): never loaded here.
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")


def pickle_note(path: str | Path) -> str:
    """``"; <name> is a pickle ... never loaded ..."`` when ``path`` is, or holds, a pickled
    weights file (what a user gives for a PyTorch checkpoint), else ``""``."""
    path = Path(path)
    try:
        found = [path] if path.is_file() else sorted(path.iterdir()) if path.is_dir() else []
    except OSError:
        return ""
    pickles = [p.name for p in found if p.suffix.lower() in PICKLE_SUFFIXES][:3]
    if not pickles:
        return ""
    return (f"; {', '.join(pickles)} {'is a pickle' if len(pickles) == 1 else 'are pickles'} (PyTorch .pt/.bin), "
            f"which {'is' if len(pickles) == 1 else 'are'} never loaded: a checkpoint is a directory with "
            f"{CONFIG_FILE} + {WEIGHTS_FILE}")


def read_config(directory: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a checkpoint directory, with clear errors."""
    from pose_search.files import FileError, check_path, describe, read_json_file

    try:
        directory = check_path(directory, "checkpoint directory")
    except FileError as exc:
        raise CheckpointError(str(exc)) from None
    path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise CheckpointError(f"{describe(directory, 'checkpoint directory')} does not exist" + pickle_note(directory))
    if not path.exists():
        raise CheckpointError(f"{str(directory)!r} is not a checkpoint (no {CONFIG_FILE})" + pickle_note(directory))
    try:
        meta = read_json_file(path, "checkpoint config")
    except (FileError, FileNotFoundError) as exc:
        raise CheckpointError(str(exc)) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{str(path)!r}: expected an object with 'name' (a string) and 'config' (an object)")
    fmt = meta.get("format", FORMAT)
    if not isinstance(fmt, int) or isinstance(fmt, bool) or not 1 <= fmt <= FORMAT:
        raise CheckpointError(f"{str(path)!r}: checkpoint format {fmt!r}; this version reads 1 to {FORMAT}")
    return meta


def load_state(directory: str | Path, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint directory (never unpickled), checked against ``sha256``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointError(f"{str(directory)!r} has no {WEIGHTS_FILE}" + pickle_note(directory))
    if sha256 is not None and file_sha256(path) != sha256:
        raise CheckpointError(f"{str(path)!r} does not match the checksum in {CONFIG_FILE}: the file is corrupt, "
                              "cut short or from another save")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{str(path)!r} cannot be read: {exc}") from None


def load_weights(module: nn.Module, state: dict[str, torch.Tensor], where: str) -> nn.Module:
    """Load ``state`` strictly, turning PyTorch's key/shape errors into one clear message."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape
                   or own[k].is_floating_point() != state[k].is_floating_point())
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} (e.g. {unexpected[:3]})")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} with other shapes or kinds (e.g. {k}: {tuple(state[k].shape)} "
                         f"{state[k].dtype} vs {tuple(own[k].shape)} {own[k].dtype})")
        raise CheckpointError(f"checkpoint {where} does not fit the architecture: " + "; ".join(parts))
    module.load_state_dict(state, strict=True)
    return module
