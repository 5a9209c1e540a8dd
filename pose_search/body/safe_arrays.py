"""Numeric arrays from untrusted ``.npy`` / ``.npz`` / ``.json`` files, within limits, never unpickled.

The one reader behind pose files and SMPL-X parameter files. It does what careful archive readers
do before they inflate anything:

* the path must name a regular file (a FIFO, a device or a folder is refused without blocking on
  it) no larger than ``limits.max_file_bytes``; it is read once, whole, into memory;
* the kind is told by the content (``\\x93NUMPY``, a zip signature, a JSON bracket), not the name;
* an ``.npz`` holds at most ``max_members`` members (counted in its end record before its
  central directory is parsed) and is read from that directory: only the wanted members are
  opened; each must be stored or deflated, not encrypted, declare at most ``max_member_bytes``
  inflated and no more than ``max_ratio`` times its compressed size (zipfile never inflates past
  the declared size, and checks the CRC at the end);
* a ``.npy`` header (at most ``MAX_HEADER_BYTES``) must declare a plain numeric dtype and a shape
  of at most ``max_elements`` values whose byte count equals the data that follows, checked
  before an array is allocated; object arrays (pickles) are refused;
* JSON is parsed only below ``max_json_bytes``; numbers only, rectangular nesting;
* any byte order is accepted and converted to native.

Every failure becomes an :class:`ArrayFileError` (a ``ValueError``) whose message names the file,
shortened, and the problem in one line; a missing file is a ``FileNotFoundError``.
"""

from __future__ import annotations

import ast
import io
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from pose_search.files import FileError, describe, open_regular_file, read_regular_file, size_text

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a member first, or an empty archive
PICKLE_START = (b"\x80", b"(dp", b"(lp", b"}q", b"]q", b"cnumpy")  # protocol 2+ / 0 openings
MAX_HEADER_BYTES = 10_000  # numpy's own default cap on a .npy header
MAX_NAMES_SHOWN = 8  # members listed in an error message
NUMERIC_KINDS = "fiu"


@dataclass(frozen=True)
class ArrayLimits:
    """Caps on what one file may make the reader hold (bytes, values), checked before reading."""

    max_file_bytes: int = 16 << 20
    max_member_bytes: int = 16 << 20  # one .npz member, inflated (its declared size)
    max_ratio: float = 1000.0  # inflated / compressed size of a member above 1 MiB
    max_elements: int = 2_000_000  # values in one array
    max_json_bytes: int = 1 << 20
    max_members: int = 1024  # names in one .npz (its central directory is parsed whole)


class ArrayFileError(FileError):
    """A file that does not hold the arrays asked for, or cannot be read safely."""


@dataclass(frozen=True)
class ArrayFile:
    """What a file held: ``arrays`` by name (a ``.npy``, or a JSON list: one array named ``""``),
    only those asked for; ``members``: every name present (``.npz`` members without ``.npy``,
    JSON object keys)."""

    kind: str  # "npy" | "npz" | "json"
    arrays: dict[str, np.ndarray]
    members: tuple[str, ...]


# ----------------------------------------------------------------------------------- .npy
def _npy_header(read: Any, where: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, fortran_order, header bytes) from a ``.npy`` stream's first bytes."""
    start = read(10)
    if len(start) < 10 or not start.startswith(NPY_MAGIC):
        raise ArrayFileError(f"{where}: not a .npy array (bad or cut header)")
    major = start[6]
    if major == 1:
        (length,), prefix = struct.unpack("<H", start[8:10]), 10
    elif major in (2, 3):
        more = read(2)
        if len(more) < 2:
            raise ArrayFileError(f"{where}: .npy header cut short")
        (length,), prefix = struct.unpack("<I", start[8:10] + more), 12
    else:
        raise ArrayFileError(f"{where}: .npy format version {major}.{start[7]} is not supported")
    if length > MAX_HEADER_BYTES:
        raise ArrayFileError(f"{where}: .npy header of {length} bytes (at most {MAX_HEADER_BYTES})")
    raw = read(length)
    if len(raw) < length:
        raise ArrayFileError(f"{where}: .npy header cut short")
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin1"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, UnicodeDecodeError):
        raise ArrayFileError(f"{where}: .npy header is not readable") from None
    if not isinstance(header, dict) or set(header) != {"descr", "shape", "fortran_order"}:
        raise ArrayFileError(f"{where}: .npy header lacks descr / shape / fortran_order")
    shape, fortran = header["shape"], header["fortran_order"]
    if not isinstance(shape, tuple) or not all(type(s) is int and s >= 0 for s in shape) or len(shape) > 32:
        raise ArrayFileError(f"{where}: .npy header has an invalid shape {str(shape)[:60]}")
    if not isinstance(fortran, bool):
        raise ArrayFileError(f"{where}: .npy header has an invalid fortran_order")
    return _dtype(header["descr"], where), shape, fortran, prefix + length


def _dtype(descr: Any, where: str) -> np.dtype:
    try:
        dtype = np.lib.format.descr_to_dtype(descr)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        raise ArrayFileError(f"{where}: .npy header has an unknown dtype {str(descr)[:40]!r}") from None
    if dtype.hasobject:
        raise ArrayFileError(f"{where}: holds Python objects (a pickle), which are never loaded; save numbers")
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ArrayFileError(f"{where}: expected numbers, got dtype {dtype}")
    return dtype


def _check_count(shape: tuple[int, ...], dtype: np.dtype, available: int, limits: ArrayLimits,
                 where: str) -> int:
    """Bytes the header's ``shape`` needs; refuses too many values or a size other than ``available``."""
    count = 1
    for s in shape:
        count *= s  # Python ints: no overflow
    if count > limits.max_elements:
        raise ArrayFileError(f"{where}: header declares shape {shape} ({count:.3g} values, "
                             f"{size_text(count * dtype.itemsize)}); at most {limits.max_elements:,} values are read")
    need = count * dtype.itemsize
    if need != available:
        raise ArrayFileError(f"{where}: header declares shape {shape} of {dtype} ({need} bytes) but "
                             f"{available} bytes of data follow (cut or corrupt file)")
    return need


def _to_array(data: bytes, dtype: np.dtype, shape: tuple[int, ...], fortran: bool) -> np.ndarray:
    arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.array(arr, dtype=dtype.newbyteorder("="), order="C", copy=True)  # native order, writable


def parse_npy(data: bytes, where: str, limits: ArrayLimits = ArrayLimits()) -> np.ndarray:
    """The array in the bytes of a ``.npy`` file (header checked before anything is allocated)."""
    stream = io.BytesIO(data)
    dtype, shape, fortran, offset = _npy_header(stream.read, where)
    _check_count(shape, dtype, len(data) - offset, limits, where)
    return _to_array(data[offset:], dtype, shape, fortran)


# ----------------------------------------------------------------------------------- .npz
def _member_names(names: list[str]) -> tuple[str, ...]:
    return tuple(n[:-4] if n.endswith(".npy") else n for n in names)


def names_text(names: Collection[str]) -> str:
    """Up to ``MAX_NAMES_SHOWN`` names, and how many more."""
    shown = [repr(n if len(n) <= 40 else n[:37] + "...") for n in list(names)[:MAX_NAMES_SHOWN]]
    more = len(names) - len(shown)
    return (", ".join(shown) or "nothing") + (f" and {more:,} more" if more > 0 else "")


def _member_info(archive: zipfile.ZipFile, key: str, where: str, limits: ArrayLimits) -> tuple[zipfile.ZipInfo, str]:
    """A member's entry, checked (method, encryption, declared size, ratio) before it is opened."""
    info = archive.getinfo(key + ".npy") if key + ".npy" in archive.NameToInfo else archive.getinfo(key)
    at = f"{where}, member {info.filename[:60]!r}"
    if info.flag_bits & 0x1:
        raise ArrayFileError(f"{at} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArrayFileError(f"{at} uses compression method {info.compress_type} (only stored and deflate are read)")
    if info.file_size > limits.max_member_bytes:
        raise ArrayFileError(f"{at} would inflate to {size_text(info.file_size)} "
                             f"(at most {size_text(limits.max_member_bytes)})")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > (1 << 20) and ratio > limits.max_ratio:
        raise ArrayFileError(f"{at} would inflate {ratio:.0f} times (a decompression bomb?)")
    return info, at


def _open_member(archive: zipfile.ZipFile, key: str, where: str, limits: ArrayLimits) -> np.ndarray:
    info, at = _member_info(archive, key, where, limits)
    try:
        with archive.open(info) as fh:
            dtype, shape, fortran, offset = _npy_header(fh.read, at)
            need = _check_count(shape, dtype, info.file_size - offset, limits, at)
            data = fh.read(need)
            if len(data) < need or fh.read(1):
                raise ArrayFileError(f"{at} is cut short or corrupt")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError,
            struct.error, ValueError) as exc:
        if isinstance(exc, ArrayFileError):
            raise
        raise ArrayFileError(f"{at} is corrupt ({_zip_reason(exc)})") from None
    return _to_array(data, dtype, shape, fortran)


def _declared_entries(data: bytes) -> int | None:
    """The member count in the end-of-central-directory record (None if absent or zip64)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    if at < 0 or len(data) < at + 22:
        return None
    (count,) = struct.unpack("<H", data[at + 10 : at + 12])
    return None if count == 0xFFFF else count


def _zip_reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:120]
    return text or type(exc).__name__


def _zip_archive(source: bytes | io.BufferedReader, where: str, limits: ArrayLimits) -> zipfile.ZipFile:
    """A ZipFile over ``source`` (bytes or a seekable file), its member count checked first."""
    if isinstance(source, bytes):
        tail, source = source[-(22 + 0xFFFF):], io.BytesIO(source)
    else:
        size = source.seek(0, os.SEEK_END)
        source.seek(max(0, size - 22 - 0xFFFF))
        tail = source.read()
        source.seek(0)
    entries = _declared_entries(tail)
    if entries is not None and entries > limits.max_members:
        raise ArrayFileError(f"{where}: archive of {entries:,} members (at most {limits.max_members:,} are read)")
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, struct.error,
            NotImplementedError, RuntimeError, UnicodeDecodeError) as exc:
        raise ArrayFileError(f"{where}: not a readable .npz archive ({_zip_reason(exc)})") from None


def npz_member_shapes(path: str | os.PathLike[str], keys: Collection[str], what: str = "file",
                      limits: ArrayLimits = ArrayLimits()) -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
    """(every member name, the declared shape of each of ``keys`` present) of a ``.npz`` on disk,
    from the central directory and the members' ``.npy`` headers only: nothing else is inflated,
    and the file is not read whole (for big archives such as body models)."""
    where = describe(path, what)
    try:
        fh = open_regular_file(path, limits.max_file_bytes, where)
    except FileError as exc:
        raise ArrayFileError(str(exc)) from None
    with fh, _zip_archive(fh, where, limits) as archive:
        members = _member_names(archive.namelist())
        shapes = {}
        for key in (k for k in keys if k in members):
            info, at = _member_info(archive, key, where, limits)
            try:
                with archive.open(info) as member:
                    dtype, shape, _, offset = _npy_header(member.read, at)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError,
                    struct.error) as exc:
                raise ArrayFileError(f"{at} is corrupt ({_zip_reason(exc)})") from None
            _check_count(shape, dtype, info.file_size - offset, limits, at)
            shapes[key] = shape
    return members, shapes


def parse_npz(data: bytes, wanted: Collection[str], where: str,
              limits: ArrayLimits = ArrayLimits()) -> ArrayFile:
    """The ``wanted`` members of the bytes of a ``.npz`` archive (others are never opened)."""
    with _zip_archive(data, where, limits) as archive:
        members = _member_names(archive.namelist())
        arrays = {key: _open_member(archive, key, where, limits) for key in wanted if key in members}
    return ArrayFile("npz", arrays, members)


# ----------------------------------------------------------------------------------- JSON
def _json_array(value: Any, where: str, limits: ArrayLimits) -> np.ndarray:
    """Nested lists of numbers -> a float64 array (rectangular, no booleans or strings)."""
    shape: list[int] = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        probe = probe[0] if probe else None
    if not shape:
        raise ArrayFileError(f"{where}: expected a list of numbers, got {type(value).__name__}")
    if len(shape) > 8:
        raise ArrayFileError(f"{where}: lists nested {len(shape)} deep (at most 8)")
    flat: list[Any] = []

    def walk(node: Any, depth: int) -> None:
        if depth == len(shape):
            if isinstance(node, bool) or not isinstance(node, (int, float)):
                raise ArrayFileError(f"{where}: expected numbers, found {type(node).__name__}")
            flat.append(node)
            return
        if not isinstance(node, list) or len(node) != shape[depth]:
            raise ArrayFileError(f"{where}: the lists are ragged (expected shape {tuple(shape)})")
        if len(flat) > limits.max_elements:
            raise ArrayFileError(f"{where}: more than {limits.max_elements:,} values")
        for item in node:
            walk(item, depth + 1)

    walk(value, 0)
    try:
        return np.asarray(flat, dtype=np.float64).reshape(shape)
    except (OverflowError, ValueError, TypeError):
        raise ArrayFileError(f"{where}: a number is out of range") from None


def parse_json(data: bytes, wanted: Collection[str], where: str,
               limits: ArrayLimits = ArrayLimits()) -> ArrayFile:
    """A JSON list of numbers (array ``""``) or an object whose ``wanted`` keys are such lists."""
    if len(data) > limits.max_json_bytes:
        raise ArrayFileError(f"{where}: JSON of {size_text(len(data))} (at most {size_text(limits.max_json_bytes)})")
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise ArrayFileError(f"{where}: JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, huge integers
        raise ArrayFileError(f"{where}: not valid JSON ({' '.join(str(exc).split())[:80]})") from None
    if isinstance(value, dict):
        keys = tuple(str(k) for k in value)
        return ArrayFile("json", {k: _json_array(value[k], f"{where}, key {k!r}", limits)
                                  for k in wanted if k in value}, keys)
    return ArrayFile("json", {"": _json_array(value, where, limits)}, ())


# ----------------------------------------------------------------------------------- files
def read_array_file(path: str | os.PathLike[str], wanted: Collection[str] = (), what: str = "file",
                    limits: ArrayLimits = ArrayLimits(), name: str | None = None) -> ArrayFile:
    """Read ``path`` (a ``.npy``, ``.npz`` or ``.json``, told by its content) within ``limits``.

    ``wanted``: the ``.npz`` members / JSON keys to read (a ``.npy`` holds one array, named
    ``""``). ``what`` and ``name`` (default: the shortened path) name the file in messages.
    """
    where = f"{what} {name!r}" if name is not None else describe(path, what)
    try:
        data = read_regular_file(path, limits.max_file_bytes, where)
    except FileError as exc:  # one error type for every problem of an array file
        raise ArrayFileError(str(exc)) from None
    if data.startswith(NPY_MAGIC):
        return ArrayFile("npy", {"": parse_npy(data, where, limits)}, ())
    if data.startswith(ZIP_MAGICS):
        return parse_npz(data, wanted, where, limits)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"[", b"{") or str(path).lower().endswith(".json"):
        return parse_json(data, wanted, where, limits)
    if not data:
        raise ArrayFileError(f"{where} is empty")
    if data.startswith(PICKLE_START):
        raise ArrayFileError(f"{where} looks like a Python pickle, which is never loaded; "
                             "save a .npy, .npz or .json of numbers")
    raise ArrayFileError(f"{where} is not a readable .npy, .npz or .json file")


def finite_or_raise(arr: np.ndarray, where: str) -> np.ndarray:
    """``arr`` unchanged; ArrayFileError if it holds NaN or inf."""
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ArrayFileError(f"{where} contains NaN or inf values")
    return arr
