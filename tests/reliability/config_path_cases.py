"""Hostile JSON descriptions and paths for every reader of a directory's JSON file: a checkpoint's
``config.json``, a dataset's ``manifest.json``, an index's ``index.json``, a UI bundle's
``bundle.json``.

Generated per reader: JSON nested deeper than any parser recurses (depth drawn), an integer of
thousands of digits, a file over the size cap (sparse), a FIFO, a device or a folder where the file
should be, and directory paths longer than the file system takes (length drawn) or holding a NUL.
Documented errors: ``ValueError`` (``CheckpointError``, ``DatasetError``, ``IndexDirError``,
``FileError``) and ``FileNotFoundError``; the message names the directory or file, or says the
path is too long.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability.harness import Case

ERRORS = (ValueError, FileNotFoundError)


def _readers() -> dict[str, tuple[str, Callable[[Path], Any]]]:
    """reader name -> (the JSON file it reads in a directory, the call)."""
    from indexing.table import read_info
    from pose_search.checkpoint import read_config
    from pose_search.data.store import read_manifest
    from ui.cli import read_bundle

    return {"checkpoint": ("config.json", read_config), "dataset": ("manifest.json", read_manifest),
            "index": ("index.json", read_info), "bundle": ("bundle.json", read_bundle)}


def _file_breakages(rng: np.random.Generator) -> list[tuple[str, Callable[[Path], None]]]:
    """Ways to make a JSON file hostile (each takes the file's path)."""
    def text(data: str) -> Callable[[Path], None]:
        return lambda p: p.write_text(data)

    def link(target: str) -> Callable[[Path], None]:
        return lambda p: p.symlink_to(target)

    def sparse(size: int) -> Callable[[Path], None]:
        def write(p: Path) -> None:
            with p.open("wb") as fh:
                fh.truncate(size)
        return write

    out = [(f"JSON nested {d} deep", text("[" * int(d) + "]" * int(d))) for d in sorted(rng.integers(2000, 200_000, 2))]
    out += [(f"JSON object nested {d} deep", text('{"a":' * int(d) + "1" + "}" * int(d)))
            for d in sorted(rng.integers(2000, 100_000, 1))]
    digits = int(rng.integers(4400, 20_000))
    out += [(f"an integer of {digits} digits", text('{"name": "x", "config": {}, "format": ' + "9" * digits + "}")),
            ("a FIFO", lambda p: os.mkfifo(p)), ("a link to /dev/zero", link("/dev/zero")),
            ("a link to /dev/urandom", link("/dev/urandom")), ("a folder", lambda p: p.mkdir()),
            ("not UTF-8", lambda p: p.write_bytes(b'{"name": "\xff\xfe"}'))]
    size = int(rng.integers(17 << 20, 1 << 31))
    out.append((f"{size >> 20} MiB (sparse)", sparse(size)))
    return out


def config_path_cases(folder: Path, rng: np.random.Generator) -> list[Case]:
    """Every reader on every hostile file and every hostile directory path."""
    cases = []
    readers = _readers()
    for name, (file_name, read) in readers.items():
        for label, breakage in _file_breakages(rng):
            case_dir = folder / f"{name}{len(cases):03d}"
            case_dir.mkdir(parents=True)
            breakage(case_dir / file_name)
            cases.append(Case(f"{name}: {file_name} {label}", functools.partial(read, case_dir),
                              rf"{case_dir.name}|{file_name}", ERRORS))
        for length in sorted(rng.integers(256, 8000, 2)):
            path = folder / ("n" * int(length))
            cases.append(Case(f"{name}: a name of {length} characters", functools.partial(read, path),
                              "too long", ERRORS))
        depth = int(rng.integers(400, 1500))
        path = folder.joinpath(*["deep" * 3] * depth)
        cases.append(Case(f"{name}: a path {depth} folders deep", functools.partial(read, path),
                          r"too long|does not exist|deep", ERRORS))
        cases.append(Case(f"{name}: a NUL in the path", functools.partial(read, str(folder / "a\0b")), "NUL", ERRORS))
    return cases
