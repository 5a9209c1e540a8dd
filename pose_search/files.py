"""Opening files named by users (pose files, configs) the careful way, and naming them in messages.

:func:`open_regular_file` opens without blocking and checks the open descriptor: a FIFO, a device
or a folder where a file is expected is refused instead of hanging the reader; so is a file over
a size cap. :func:`read_json_file` adds JSON's own failures (bad UTF-8, bad syntax, nesting too
deep for the parser). Every failure is a :class:`FileError` (a ``ValueError``) whose message
names the path, shortened by :func:`short_path`; a missing file is a ``FileNotFoundError``.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_JSON_BYTES = 16 << 20  # configs, manifests, index descriptions: a few KB in practice
MAX_NAME_BYTES = 255  # NAME_MAX of Linux, macOS and Windows file systems
MAX_PATH_BYTES = 4095  # PATH_MAX - 1 on Linux


class FileError(ValueError):
    """A file that cannot be read safely, or is not what it should be."""


def short_path(path: str | os.PathLike[str], limit: int = 96) -> str:
    """``path`` for a message: whole when short, else as many trailing parts as fit in ``limit``
    characters (at least two, long names cut in the middle)."""
    text = os.fspath(path)
    if len(text) <= limit:
        return text
    anchor = Path(text).anchor
    parts = Path(text).parts[1 if anchor else 0:]
    part_limit = max(12, (limit - 4) // 2)
    kept = [p if len(p) <= part_limit else p[: part_limit // 2 - 2] + "..." + p[-(part_limit // 2 - 1):]
            for p in parts[-2:]]
    rest = list(parts[:-2])
    while rest and len(rest[-1]) + sum(len(k) + 1 for k in kept) + 4 <= limit:
        kept.insert(0, rest.pop())
    return (anchor if not rest else ".../") + "/".join(kept)


def describe(path: str | os.PathLike[str], what: str = "file") -> str:
    """``"<what> '<short path>'"`` for the start of a message."""
    return f"{what} {short_path(path)!r}"


def size_text(n: float) -> str:
    """Bytes as ``"1.0 GiB"``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def open_regular_file(path: str | os.PathLike[str], max_bytes: int, where: str) -> io.BufferedReader:
    """``path`` opened for binary reading; refuses what is not a regular file (FIFO, device,
    folder: checked on the open descriptor, opened without blocking) or is over ``max_bytes``.
    ``where``: the message prefix."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{where} does not exist") from None
    except ValueError:  # a NUL character in the path
        raise FileError(f"{where}: the path contains a NUL character") from None
    except OSError as exc:
        raise FileError(f"{where} cannot be opened: {_os_reason(exc, path)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileError(f"{where} is {_file_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise FileError(f"{where} is {size_text(info.st_size)}; at most {size_text(max_bytes)} is read")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: str | os.PathLike[str], max_bytes: int, where: str) -> bytes:
    """The bytes of ``path``, checked as :func:`open_regular_file` does."""
    with open_regular_file(path, max_bytes, where) as fh:
        try:  # read(n) allocates n bytes first: ask for the size fstat gave, not the cap
            data = fh.read(min(os.fstat(fh.fileno()).st_size, max_bytes) + 1)
        except OSError as exc:
            raise FileError(f"{where} cannot be read: {_os_reason(exc, path)}") from None
    if len(data) > max_bytes:  # grew while we read it
        raise FileError(f"{where} is over {size_text(max_bytes)}")
    return data


def _os_reason(exc: OSError, path: str | os.PathLike[str]) -> str:
    if exc.errno == getattr(os, "ENAMETOOLONG", None) or "too long" in str(exc):
        return f"the path is too long ({len(os.fspath(path))} characters)"
    return exc.strerror or type(exc).__name__


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_path(path: str | os.PathLike[str], what: str = "path") -> Path:
    """``path`` as a Path; FileError (naming it, shortened) for a NUL character, a name longer
    than the file system allows (255 bytes) or a path longer than ``MAX_PATH_BYTES``, so that
    ``Path.is_dir()`` and friends never raise a bare ``OSError`` on it."""
    text = os.fspath(path)
    if not isinstance(text, str):
        raise FileError(f"{what}: expected a path, got {type(path).__name__}")
    if "\0" in text:
        raise FileError(f"{describe(text, what)}: the path contains a NUL character")
    encoded = os.fsencode(text)
    if len(encoded) > MAX_PATH_BYTES or any(len(p) > MAX_NAME_BYTES for p in encoded.split(b"/")):
        raise FileError(f"{describe(text, what)}: the path is too long ({len(text)} characters; names have at most "
                        f"{MAX_NAME_BYTES} bytes, paths {MAX_PATH_BYTES})")
    return Path(text)


def read_json_file(path: str | os.PathLike[str], what: str = "file", max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The JSON value in ``path``; FileError naming ``what`` and the shortened path for a file
    that is not regular, too big, not UTF-8, not JSON or nested too deeply to parse."""
    where = describe(path, what)
    check_path(path, what)
    data = read_regular_file(path, max_bytes, where)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise FileError(f"{where}: JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise FileError(f"{where}: not UTF-8 text") from None
    except ValueError as exc:  # JSONDecodeError, integers too long to convert
        raise FileError(f"{where}: not valid JSON ({' '.join(str(exc).split())[:100]})") from None
