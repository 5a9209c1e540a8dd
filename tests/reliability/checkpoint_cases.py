"""Broken checkpoints for :func:`pose_search.checkpoint.load_module` and
:func:`pose_search.runs.load_model`: truncated or bit-flipped safetensors, garbage or wrong-schema
``config.json``, weights of other shapes or kinds, a corrupt tokenizer, a pickle where the weights
should be (it must never be unpickled), missing and empty directories.

The documented error is ``CheckpointError`` (a ``ValueError``); the message must name the
checkpoint directory (every case breaks its own, uniquely named copy).
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import re
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability.file_cases import cut_at, edit_json, flip, replace_bytes
from tests.reliability.harness import Case

ERRORS = (ValueError,)
MARKER_ENV = "POSE_SEARCH_RELIABILITY_MARKER"


class Trap:
    """Unpickling this creates the file named in ``$POSE_SEARCH_RELIABILITY_MARKER``: the proof
    that a loader ran pickle on it."""

    def __reduce__(self):  # noqa: ANN204
        return (os.makedirs, (os.environ.get(MARKER_ENV, "/tmp/pose-search-unpickled"), 0o755, True))


def _copy_and_load(template: Path, work: Path, mutate: Callable[[Path], None], load: Callable[[Path], Any]) -> Any:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(template, work)
    mutate(work)
    return load(work)


def _at(rel: str, change: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda root: change(root / rel)


def _edit_weights(change: Callable[[dict], dict], keep_checksum: bool) -> Callable[[Path], None]:
    """Re-save ``model.safetensors`` with ``change(state)``; drop the config's checksum unless
    ``keep_checksum`` (then the checksum no longer matches)."""
    from safetensors.torch import load_file, save_file

    def apply(root: Path) -> None:
        save_file(change(load_file(str(root / "model.safetensors"))), str(root / "model.safetensors"))
        if not keep_checksum:
            meta = json.loads((root / "config.json").read_text())
            meta.pop("weights_sha256", None)
            (root / "config.json").write_text(json.dumps(meta))
    return apply


def _header_span(path: Path) -> tuple[int, int]:
    """Byte span of a safetensors file's length prefix and JSON header."""
    n = struct.unpack("<Q", path.read_bytes()[:8])[0]
    return 0, 8 + n


class Templates:
    """Valid checkpoints to copy and break, and a counter for the case folders."""

    def __init__(self, root: Path, encoders: dict[str, Path], core_run: Path) -> None:
        self.root, self.encoders, self.core_run = root, encoders, core_run
        self.n = 0

    def case(self, template: Path, label: str, mutate: Callable[[Path], None],
             load: Callable[[Path], Any] | None = None) -> Case:
        from pose_search.models.catalog import load_module

        self.n += 1
        work = self.root / f"ckpt{self.n:03d}"
        call = functools.partial(_copy_and_load, template, work, mutate, load or load_module)
        return Case(f"checkpoint {template.name}: {label}", call, re.escape(work.name), ERRORS)


def weights_cases(t: Templates, rng: np.random.Generator) -> list[Case]:
    import torch

    cases = []
    for modality in ("pose", "text"):
        template = t.encoders[modality]
        weights = template / "model.safetensors"
        size = weights.stat().st_size
        lo, hi = _header_span(weights)
        for off in rng.integers(0, size - 1, size=12):
            cases.append(t.case(template, f"weights cut at {off}/{size}", _at("model.safetensors", cut_at(int(off)))))
        for off, bit in zip(rng.integers(lo, hi, size=12), rng.integers(0, 8, size=12)):
            cases.append(t.case(template, f"header bit {bit} of byte {off} flipped",
                                _at("model.safetensors", flip(int(off), int(bit)))))
        for off, bit in zip(rng.integers(hi, size, size=12), rng.integers(0, 8, size=12)):
            cases.append(t.case(template, f"data bit {bit} of byte {off} flipped",
                                _at("model.safetensors", flip(int(off), int(bit)))))
        trap = pickle.dumps({"weight": Trap()})
        for label, data in [("emptied", b""), ("8 zero bytes", bytes(8)), ("a pickle", trap),
                            ("torch.save zip", _torch_save_bytes({"w": torch.zeros(3)})),
                            ("header length huge", struct.pack("<Q", 2**62) + b"{}"),
                            ("header not JSON", struct.pack("<Q", 8) + b"notjson!"),
                            ("header JSON list", struct.pack("<Q", 8) + b"[1,2,3] "), ("text", b"model weights")]:
            cases.append(t.case(template, f"weights {label}", _at("model.safetensors", replace_bytes(data))))
        for keep in (False, True):
            tag = "checksum kept" if keep else "no checksum"
            cases += [t.case(template, f"{label} ({tag})", _edit_weights(change, keep)) for label, change in [
                ("a tensor reshaped", lambda s: _with(s, sorted(s)[0], lambda v: v.reshape(-1)[:-1].clone())),
                ("a tensor missing", lambda s: dict(list(s.items())[1:])),
                ("an extra tensor", lambda s: {**s, "extra.weight": torch.zeros(2)}),
                ("a float tensor as int64", lambda s: _with(s, _first_float(s), lambda v: v.long())),
                ("every tensor empty", lambda s: {k: torch.zeros(0) for k in s})]]
    return cases


def _with(state: dict, key: str, change: Callable[[Any], Any]) -> dict:
    return {**state, key: change(state[key])}


def _first_float(state: dict) -> str:
    return next(k for k in sorted(state) if state[k].is_floating_point())


def _torch_save_bytes(obj: Any) -> bytes:
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def config_cases(t: Templates, rng: np.random.Generator) -> list[Case]:
    cases = []
    template = t.encoders["pose"]
    cfg = template / "config.json"
    size = cfg.stat().st_size
    for off in rng.integers(1, size - 1, size=15):
        cases.append(t.case(template, f"config cut at {off}/{size}", _at("config.json", cut_at(int(off)))))
    meta = json.loads(cfg.read_text())
    key = next(k for k, v in meta["config"].items() if isinstance(v, int) and not isinstance(v, bool))
    for label, data in [("emptied", ""), ("not JSON", "{name: posevae}"), ("a list", "[]"), ("a string", '"x"'),
                        ("a number", "3"), ("null", "null"), ("binary", "\x89PNG\x00"),
                        ("UTF-16", json.dumps(meta).encode("utf-16").decode("latin1"))]:
        cases.append(t.case(template, f"config {label}", _at("config.json", replace_bytes(data.encode("latin1")))))
    for label, change in [
        ("without name", lambda m: {k: v for k, v in m.items() if k != "name"}),
        ("without config", lambda m: {k: v for k, v in m.items() if k != "config"}),
        ("unknown name", lambda m: {**m, "name": "no-such-model"}), ("name a number", lambda m: {**m, "name": 3}),
        ("name a list", lambda m: {**m, "name": ["posevae-tiny"]}), ("config a list", lambda m: {**m, "config": [1]}),
        ("config a string", lambda m: {**m, "config": "tiny"}), ("config null", lambda m: {**m, "config": None}),
        ("unknown config field", lambda m: {**m, "config": {**m["config"], "no_such_field": 1}}),
        (f"{key} a string", lambda m: {**m, "config": {**m["config"], key: "wide"}}),
        (f"{key} negative", lambda m: {**m, "config": {**m["config"], key: -4}}),
        (f"{key} zero", lambda m: {**m, "config": {**m["config"], key: 0}}),
        (f"{key} a float", lambda m: {**m, "config": {**m["config"], key: 2.5}}),
        (f"{key} null", lambda m: {**m, "config": {**m["config"], key: None}}),
        (f"{key} other size", lambda m: {**m, "config": {**m["config"], key: m["config"][key] + 8}}),
        ("format from the future", lambda m: {**m, "format": 99}), ("format a string", lambda m: {**m, "format": "1"}),
        ("another architecture", lambda m: {**m, "name": "core-tiny", "config": {}}),
    ]:
        cases.append(t.case(template, f"config {label}", _at("config.json", edit_json(change))))
    text = t.encoders["text"]
    for label, data in [("emptied", b""), ("not JSON", b"{tokens"), ("a list", b"[]"), ("cut", None),
                        ("no vocabulary", json.dumps({"model": {"type": "WordPiece"}}).encode())]:
        change = cut_at(200) if data is None else replace_bytes(data)
        cases.append(t.case(text, f"tokenizer.json {label}", _at("tokenizer.json", change)))
    cases.append(t.case(text, "tokenizer.json deleted", _at("tokenizer.json", Path.unlink)))
    return cases


def layout_cases(t: Templates) -> list[Case]:
    """Missing and misplaced files, for ``load_module`` and for ``load_model`` on a core run."""
    from pose_search.runs import load_model

    pose = t.encoders["pose"]
    cases = [t.case(pose, label, change) for label, change in [
        ("empty directory", lambda r: [p.unlink() for p in r.iterdir()]),
        ("no config.json", _at("config.json", Path.unlink)), ("no weights", _at("model.safetensors", Path.unlink)),
        ("config.json a directory", lambda r: ((r / "config.json").unlink(), (r / "config.json").mkdir())),
        ("weights a directory", lambda r: ((r / "model.safetensors").unlink(), (r / "model.safetensors").mkdir())),
        ("weights renamed .pt (a pickle)", lambda r: ((r / "model.safetensors").unlink(),
                                                     (r / "model.pt").write_bytes(pickle.dumps(Trap())))),
    ]]
    cases.append(Case("checkpoint: missing directory", functools.partial(_load_missing, t.root / "nowhere"),
                      "nowhere", ERRORS))
    run = t.core_run
    for label, change in [
        ("run without encoders", lambda r: shutil.rmtree(r / "encoders")),
        ("run with an empty best/core", lambda r: [p.unlink() for p in (r / "best" / "core").iterdir()]),
        ("run whose pose encoder is cut", _at("encoders/pose/model.safetensors", cut_at(100))),
        ("run whose text tokenizer is junk", _at("encoders/text/tokenizer.json", replace_bytes(b"\x00junk"))),
        ("run whose core config is junk", _at("best/core/config.json", replace_bytes(b"{"))),
        ("run with nothing in it", lambda r: [shutil.rmtree(p) for p in list(r.iterdir()) if p.is_dir()]),
        ("run whose core weights are a pickle", _at("best/core/model.safetensors", replace_bytes(pickle.dumps(Trap())))),
    ]:
        cases.append(t.case(run, label, change, load=load_model))
    return cases


def _load_missing(path: Path) -> Any:
    from pose_search.models.catalog import load_module

    return load_module(path)


def checkpoint_cases(folder: Path, encoders: dict[str, Path], core_run: Path, rng: np.random.Generator) -> list[Case]:
    """Every broken-checkpoint case; ``encoders``: checkpoint dirs by modality (pose, text)."""
    t = Templates(folder, encoders, core_run)
    return weights_cases(t, rng) + config_cases(t, rng) + layout_cases(t)


def unpickled(marker: Path) -> bool:
    """Whether any case unpickled a :class:`Trap` (pass the marker the env var names)."""
    return marker.exists()
