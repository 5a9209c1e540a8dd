"""Hostile pose and SMPL-X parameter files for :func:`pose_search.body.io.load_pose_file`, by class.

Each generator draws its inputs from a seeded Generator (sizes, offsets, shapes, depths, names),
so every run tries new members of a class, not a fixed list:

* decompression bombs (a real deflate stream of zeros; a member whose declared size lies),
* broken zips: cut at any offset, a bit flipped in a member (CRC), encrypted members, compression
  methods other than stored / deflate, thousands of members,
* lying ``.npy`` headers: huge or negative shapes, a shape that does not match the data, unknown
  or object dtypes, a header length over the cap, unknown versions, nesting in the header,
* JSON: nested too deeply, ragged, strings, booleans, numbers out of range, NaN literals,
* paths: names and paths longer than the file system allows, NUL characters, FIFOs, devices,
  folders where a file is expected, pickles under a pose name,
* SMPL-X parameters whose batch sizes disagree, NaN / inf in any array.

The documented errors are ``ValueError`` (``ArrayFileError``) and ``FileNotFoundError``; the
message must say ``pose file``. :func:`good_pose_files` writes documented successes (any byte
order, ints, JSON shapes, a body pose without its root) with the pose each must load as.
"""

from __future__ import annotations

import functools
import io
import json
import os
import pickle
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.reliability.harness import Case

ERRORS = (ValueError, FileNotFoundError)
MENTIONS = r"pose file"
Write = Callable[[Path], None]


# ------------------------------------------------------------------------------ raw zip writer
@dataclass
class RawMember:
    """One zip member as stored: ``payload`` already compressed for ``method`` 8; ``size`` and
    ``crc`` as declared (they may lie)."""

    name: str
    payload: bytes
    size: int
    crc: int
    method: int = 0
    flags: int = 0


def stored(name: str, data: bytes) -> RawMember:
    return RawMember(name, data, len(data), zlib.crc32(data))


def deflated(name: str, data: bytes) -> RawMember:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return RawMember(name, c.compress(data) + c.flush(), len(data), zlib.crc32(data), method=8)


def zip_bytes(members: list[RawMember]) -> bytes:
    """A zip archive (no zip64) of ``members`` exactly as given."""
    out, central = io.BytesIO(), io.BytesIO()
    for m in members:
        name = m.name.encode()
        offset = out.tell()
        size32 = min(m.size, 0xFFFFFFFF)
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, m.flags, m.method, 0, 0x21, m.crc & 0xFFFFFFFF,
                              len(m.payload), size32, len(name), 0) + name + m.payload)
        central.write(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, m.flags, m.method, 0, 0x21,
                                  m.crc & 0xFFFFFFFF, len(m.payload), size32, len(name), 0, 0, 0, 0, 0, offset)
                      + name)
    cd = central.getvalue()
    n = min(len(members), 0xFFFF)
    return out.getvalue() + cd + struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, n, n, len(cd), out.tell(), 0)


def zero_bomb(name: str, mib: int) -> RawMember:
    """A deflate member inflating to ``mib`` MiB: a ``.npy`` header, then zeros. Built from one
    flushed 1 MiB block repeated (fast to make), with the true CRC and size."""
    header = npy_header("<f8", ((mib << 20) // 8,))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header)
    zeros = bytes(1 << 20)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    payload = head + block * mib + b"\x03\x00"  # an empty final block ends the stream
    return RawMember(name, payload, len(header) + (mib << 20), crc, method=8)


# ------------------------------------------------------------------------------ .npy bytes
def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def npy_header(descr: str, shape: tuple, fortran: bool = False, version: int = 1, text: str | None = None) -> bytes:
    """A ``.npy`` header as numpy writes it, with any content (``text`` replaces the dict)."""
    body = text if text is not None else repr({"descr": descr, "fortran_order": fortran, "shape": shape})
    raw = body.encode("latin1")
    prefix = 10 if version == 1 else 12
    pad = (-(prefix + len(raw) + 1)) % 64
    raw += b" " * pad + b"\n"
    length = struct.pack("<H", len(raw)) if version == 1 else struct.pack("<I", len(raw))
    return b"\x93NUMPY" + bytes([version, 0]) + length + raw


# ------------------------------------------------------------------------------ generators
def _pose(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0, 0.3, size=(22, 3))


def bomb_files(rng: np.random.Generator, n: int = 3) -> list[tuple[str, Write]]:
    """Real bombs (zeros inflating to 64 MiB .. 1 GiB) and members whose declared size lies."""
    out: list[tuple[str, Write]] = []
    for mib in sorted(rng.integers(64, 1025, size=n)):
        member = zero_bomb("pose.npy", int(mib))
        out.append((f"bomb {mib} MiB in {len(member.payload) >> 10} KiB", _bytes(zip_bytes([member]))))
    for _ in range(n):
        claimed = int(rng.integers(17 << 20, 1 << 32))
        good = npy_bytes(_pose(rng))
        lying = RawMember("pose.npy", good, claimed, zlib.crc32(good))
        out.append((f"member claiming {claimed >> 20} MiB", _bytes(zip_bytes([lying]))))
        short = RawMember("pose.npy", good, int(rng.integers(1, len(good))), zlib.crc32(good))
        out.append((f"member claiming {short.size} of {len(good)} bytes", _bytes(zip_bytes([short]))))
    return out


def zip_files(rng: np.random.Generator, n: int = 6) -> list[tuple[str, Write]]:
    """Cut archives, flipped bits under a CRC, encrypted members, other compression methods,
    archives of thousands of members, archives without the wanted members."""
    pose = npy_bytes(_pose(rng).astype(np.float32))
    archive = zip_bytes([stored("pose.npy", pose)])
    out: list[tuple[str, Write]] = []
    for cut in rng.integers(1, len(archive) - 1, size=n):
        out.append((f"npz cut at {cut}/{len(archive)}", _bytes(archive[:cut])))
    data_start = 30 + len("pose.npy") + 128  # past the local header and the .npy header
    for off, bit in zip(rng.integers(data_start, data_start + len(pose) - 128, size=n), rng.integers(0, 8, size=n)):
        flipped = bytearray(archive)
        flipped[off] ^= 1 << int(bit)
        out.append((f"npz bit {bit} of byte {off} flipped (CRC)", _bytes(bytes(flipped))))
    for _ in range(max(2, n // 3)):
        m = deflated("pose.npy", pose)
        m.flags |= 0x1
        out.append(("npz member encrypted", _bytes(zip_bytes([m]))))
        method = int(rng.choice([1, 6, 9, 12, 14, 93, 95, 98]))
        out.append((f"npz member compressed with method {method}",
                    _bytes(zip_bytes([RawMember("pose.npy", pose, len(pose), zlib.crc32(pose), method=method)]))))
    for count in sorted(rng.integers(1100, 5000, size=2)):
        out.append((f"npz of {count} members", _bytes(zip_bytes([stored(f"m{i}.npy", b"") for i in range(count)]))))
    for count in sorted(rng.integers(20, 1000, size=2)):
        names = [stored(f"{'x' * int(rng.integers(1, 200))}{i}.npy", npy_bytes(np.zeros(3))) for i in range(count)]
        out.append((f"npz of {count} members without 'pose'", _bytes(zip_bytes(names))))
    out.append(("npz without members", _bytes(zip_bytes([]))))
    return out


def npy_header_files(rng: np.random.Generator, n: int = 6) -> list[tuple[str, Write]]:
    """``.npy`` headers that lie about the data or are not headers."""
    out: list[tuple[str, Write]] = []
    data = bytes(528)
    for _ in range(n):
        dims = tuple(int(d) for d in rng.integers(10**3, 10**7, size=int(rng.integers(2, 5))))
        out.append((f"npy header shape {dims}", _bytes(npy_header("<f8", dims) + data)))
        shape = (int(rng.integers(1, 40)), 3)
        if shape != (22, 3):
            out.append((f"npy header {shape} over (22, 3) data", _bytes(npy_header("<f8", shape) + data)))
        cut = int(rng.integers(0, 528))
        out.append((f"npy data cut at {cut}/528", _bytes(npy_header("<f8", (22, 3)) + data[:cut])))
    for descr in ("|O", "<c16", "|b1", "<U4", "|V8", "<M8[s]", "nope", "[('a', '<f8')]"):
        out.append((f"npy dtype {descr}", _bytes(npy_header(descr, (22, 3)) + data)))
    for text in ("{'descr': '<f8', 'fortran_order': False, 'shape': (-22, 3)}",
                 "{'descr': '<f8', 'fortran_order': False, 'shape': (22.0, 3)}",
                 "{'descr': '<f8', 'fortran_order': 'yes', 'shape': (22, 3)}",
                 "{'descr': '<f8', 'shape': (22, 3)}", "[1, 2, 3]", "__import__('os')",
                 "{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 500 + ")" * 500 + "}"):
        out.append((f"npy header text {text[:30]!r}", _bytes(npy_header("", (), text=text) + data)))
    big = int(rng.integers(10_001, 60_000))
    out.append((f"npy header of {big} bytes", _bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", big) + b" " * big)))
    out.append(("npy version 9", _bytes(b"\x93NUMPY\x09\x00" + bytes(8))))
    out.append(("npy magic only", _bytes(b"\x93NUMPY")))
    return out


def json_files(rng: np.random.Generator, n: int = 6) -> list[tuple[str, Write]]:
    """JSON that is no pose: deep, ragged, typed wrong, out of range, not JSON."""
    out: list[tuple[str, Write]] = []
    for depth in sorted(rng.integers(10, 200_000, size=n)):
        out.append((f"json nested {depth} deep", _text("[" * int(depth) + "]" * int(depth))))
    good = _pose(rng).tolist()
    for _ in range(n):
        rows = [list(r) for r in good]
        i = int(rng.integers(22))
        rows[i] = rows[i][: int(rng.integers(0, 3))]
        out.append((f"json ragged at row {i}", _text(json.dumps(rows))))
    count = int(rng.integers(1, 200))
    if count not in (63, 66):
        out.append((f"json {count} numbers", _text(json.dumps([0.1] * count))))
    for label, value in [("strings", [["0", "0", "0"]] * 22), ("booleans", [[True, False, True]] * 22),
                         ("nulls", [None] * 66), ("a number", 3), ("a string", "pose"), ("an empty list", []),
                         ("an object without pose", {"body": [0.0] * 66}), ("pose a string", {"pose": "x"}),
                         ("pose a dict", {"pose": {"a": 1}})]:
        out.append((f"json {label}", _text(json.dumps(value))))
    for label, text in [("NaN literal", json.dumps([0.0] * 65 + [float("nan")])),
                        ("Infinity literal", "[" + ",".join(["0"] * 65) + ",Infinity]"),
                        ("1e999", "[" + ",".join(["0"] * 65) + ",1e999]"),
                        ("a 5000-digit integer", "[" + ",".join(["0"] * 65) + "," + "9" * 5000 + "]"),
                        ("cut", json.dumps(good)[: int(rng.integers(1, 200))]), ("not UTF-8", None)]:
        out.append((f"json {label}", _text(text) if text is not None else _bytes(b"[\xff\xfe]")))
    return out


def param_files(rng: np.random.Generator, n: int = 6) -> list[tuple[str, Write]]:
    """SMPL-X parameter files whose batch sizes disagree, or with NaN / inf anywhere."""
    out: list[tuple[str, Write]] = []
    for _ in range(n):
        a, b = (int(x) for x in rng.choice(np.arange(1, 9), size=2, replace=False))
        out.append((f"smplx global_orient {a} rows, body_pose {b}",
                    _npz(global_orient=np.zeros((a, 3)), body_pose=np.zeros((b, 63)))))
        rows = int(rng.integers(2, 9))
        out.append((f"smplx betas {rows} rows for 1 pose",
                    _npz(global_orient=np.zeros((1, 3)), body_pose=np.zeros((1, 63)), betas=np.zeros((rows, 10)))))
        key = str(rng.choice(["global_orient", "body_pose", "betas", "transl", "pose", "shape"]))
        value = [np.nan, np.inf, -np.inf][int(rng.integers(3))]
        arrays = {"global_orient": np.zeros((1, 3)), "body_pose": np.zeros((1, 63)), "betas": np.zeros((1, 10)),
                  "transl": np.zeros((1, 3))}
        if key in ("pose", "shape"):
            arrays = {"pose": np.zeros((22, 3)), "shape": np.zeros(10)}
        bad = arrays[key].copy()
        bad.flat[int(rng.integers(bad.size))] = value
        out.append((f"{value} in {key!r}", _npz(**{**arrays, key: bad})))
    for label, arrays in [("body_pose (62,)", {"global_orient": np.zeros(3), "body_pose": np.zeros(62)}),
                          ("global_orient (2,)", {"global_orient": np.zeros(2), "body_pose": np.zeros(63)}),
                          ("global_orient only", {"global_orient": np.zeros(3)}),
                          ("transl (2,)", {"pose": np.zeros((22, 3)), "transl": np.zeros(2)}),
                          ("betas strings", {"pose": np.zeros((22, 3)), "betas": np.full(10, "b")}),
                          ("two poses", {"pose": np.zeros((2, 22, 3))}),
                          ("global_orient complex", {"global_orient": np.zeros(3, complex), "body_pose": np.zeros(63)})]:
        out.append((f"smplx {label}", _npz(**arrays)))
    return out


def misc_files(rng: np.random.Generator) -> list[tuple[str, Write]]:
    """Pickles and other files under a pose name."""
    return [("a pickle", _bytes(pickle.dumps({"pose": [0.0] * 66}))),
            ("a protocol-0 pickle", _bytes(pickle.dumps([0.0] * 66, protocol=0))),
            ("a PNG", _bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))), ("text", _text("0 " * 66)),
            ("empty", _bytes(b"")), ("noise", _bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes()))]


def _bytes(data: bytes) -> Write:
    return lambda path: path.write_bytes(data)


def _text(text: str) -> Write:
    return lambda path: path.write_text(text)


def _npz(**arrays: np.ndarray) -> Write:
    def write(path: Path) -> None:
        with path.open("wb") as fh:
            np.savez(fh, **arrays)
    return write


# ------------------------------------------------------------------------------ paths
def hostile_paths(folder: Path, rng: np.random.Generator, suffix: str = ".npy") -> list[tuple[str, Path | str]]:
    """Paths that are no readable file: too long (a name, the whole path), a NUL character, a
    FIFO, a device, a folder, a dangling link, a missing file."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, Path | str]] = []
    for length in sorted(rng.integers(256, 6000, size=3)):
        out.append((f"name of {length} characters", folder / ("p" * int(length) + suffix)))
    for depth in sorted(rng.integers(300, 1200, size=2)):
        out.append((f"path {depth} folders deep", folder.joinpath(*["d" * 10] * int(depth), "pose" + suffix)))
    out.append(("NUL in the path", str(folder / ("po\0se" + suffix))))
    fifo = folder / f"fifo{int(rng.integers(1 << 30))}{suffix}"
    os.mkfifo(fifo)
    out.append(("a FIFO", fifo))
    for device in ("/dev/zero", "/dev/null", "/dev/urandom"):
        link = folder / f"{Path(device).name}{suffix}"
        if not link.is_symlink():
            link.symlink_to(device)
        out.append((f"a link to {device}", link))
    sub = folder / f"folder{suffix}"
    sub.mkdir(exist_ok=True)
    out.append(("a folder", sub))
    dangling = folder / f"dangling{suffix}"
    if not dangling.is_symlink():
        dangling.symlink_to(folder / "nowhere")
    out.append(("a dangling link", dangling))
    out.append(("a missing file", folder / f"missing{suffix}"))
    return out


# ------------------------------------------------------------------------------ cases
def hostile_pose_files(folder: Path, rng: np.random.Generator) -> list[tuple[str, Path]]:
    """Every hostile file of the classes above, written into ``folder`` (for the API, CLI, UI)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    groups = [(".npz", bomb_files(rng)), (".npz", zip_files(rng)), (".npy", npy_header_files(rng)),
              (".json", json_files(rng)), (".npz", param_files(rng)), (".npy", misc_files(rng))]
    for suffix, group in groups:
        for label, write in group:
            path = folder / f"case{len(files):03d}{suffix}"
            write(path)
            files.append((label, path))
    return files


def pose_file_cases(folder: Path, rng: np.random.Generator) -> list[Case]:
    """``load_pose_file`` on every hostile file and path."""
    from pose_search.body.io import load_pose_file

    cases = [Case(f"load_pose_file({label}: {path.name})", functools.partial(load_pose_file, path), MENTIONS, ERRORS)
             for label, path in hostile_pose_files(folder / "files", rng)]
    cases += [Case(f"load_pose_file({label})", functools.partial(load_pose_file, path), MENTIONS, ERRORS)
              for label, path in hostile_paths(folder / "paths", rng)]
    return cases


def good_pose_files(folder: Path, rng: np.random.Generator) -> list[tuple[str, Path, np.ndarray]]:
    """Documented successes: (label, file, the ``(22, 3)`` pose it must load as)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []

    def put(label: str, name: str, write: Write, expect: np.ndarray) -> None:
        path = folder / f"{len(out):03d}{name}"
        write(path)
        out.append((label, path, expect.astype(np.float32)))

    for dtype in (">f8", "<f8", ">f4", "<f4", "<f2", ">i4", "<i8", "|u1", ">u2"):
        pose = _pose(rng) if np.dtype(dtype).kind == "f" else rng.integers(0, 3, size=(22, 3))
        arr = pose.astype(dtype)
        expect = arr.astype(np.float64)
        put(f"npy {dtype}", ".npy", _bytes(npy_bytes(arr)), expect)
        put(f"npy {dtype} flat, Fortran order", ".npy", _bytes(npy_bytes(np.asfortranarray(arr))), expect)
        put(f"npz {dtype}", ".npz", _npz(pose=arr[None]), expect)
        body = arr[1:].reshape(63)
        put(f"npz smplx {dtype}", ".npz", _npz(global_orient=arr[0][None], body_pose=body[None],
                                               betas=np.zeros((1, 10), dtype)), expect)
    pose = _pose(rng)
    root_less = pose.copy()
    root_less[0] = 0.0
    put("npy (63,) body pose", ".npy", _bytes(npy_bytes(pose[1:].reshape(63))), root_less)
    put("npy (21, 3) body pose", ".npy", _bytes(npy_bytes(pose[1:])), root_less)
    put("npz smplx body_pose (21, 3)", ".npz", _npz(global_orient=pose[0], body_pose=pose[1:]), pose)
    put("json 22 x 3", ".json", _text(json.dumps(pose.tolist())), pose)
    put("json 66 numbers", ".json", _text(json.dumps(pose.reshape(-1).tolist())), pose)
    put("json 63 numbers", ".json", _text(json.dumps(pose[1:].reshape(-1).tolist())), root_less)
    put("json object pose", ".json", _text(json.dumps({"pose": pose.tolist()})), pose)
    put("json smplx object", ".json", _text(json.dumps({"global_orient": pose[0].tolist(),
                                                        "body_pose": pose[1:].reshape(-1).tolist(),
                                                        "betas": [0.0] * 10})), pose)
    put("json with a BOM", ".json", _bytes(b"\xef\xbb\xbf" + json.dumps(pose.tolist()).encode()), pose)
    put("npz with other members", ".npz", _npz(pose=pose, joints=np.zeros((22, 3)), extra=np.full(5, np.nan)), pose)
    return out
