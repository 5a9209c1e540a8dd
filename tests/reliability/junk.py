"""Seeded generators of bad values, shared by the entry points' case builders.

Each function takes a ``numpy`` Generator and returns a list of ``(label, value)`` pairs; the
label is short and printable (it names the input in a failure report).
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from typing import Any

import numpy as np

# characters that are neither letters nor digits: a text made of them describes nothing
NON_WORD_POOLS = (
    "!@#$%^&*()[]{};:'\",.<>/?\\|`~-_=+",
    "\U0001f4a5\U0001f643\U0001f916\U0001f9b6\U0001f463\u270b\U0001f3fd\u2603\u2764",
    "".join(chr(c) for c in range(0x00, 0x20)) + "\x7f",
    "\u200b\u200c\u200d\ufeff\u2060",
    "".join(chr(c) for c in range(0x0300, 0x0370, 7)),
    "\u3000\u2003\t\n\r\x0b\x0c ",
    "\ue000\ue123\uf8ff",
    "\u2500\u2502\u250c\u2510\u2580\u2588",
)
SURROGATES = "\ud800\udbff\udc00\udfff"
NON_STRINGS: list[tuple[str, Any]] = [
    ("int", 7), ("float", 2.5), ("nan", math.nan), ("bool", True), ("bytes", b"kneeling"), ("list", ["kneeling"]),
    ("dict", {"text": "kneeling"}), ("tuple of ints", (1, 2)), ("set", {"a"}), ("ndarray", np.array(["kneeling"])),
]


def junk_texts(rng: np.random.Generator, n: int, surrogates: bool = True) -> list[tuple[str, str]]:
    """Non-empty strings with no letter or digit: symbols, emoji, control and zero-width
    characters, combining marks, exotic spaces, private-use code points, lone surrogates (unless
    not ``surrogates``: JSON over HTTP cannot carry them)."""
    out = []
    for i in range(n):
        pools = [NON_WORD_POOLS[j] for j in rng.choice(len(NON_WORD_POOLS), size=rng.integers(1, 4), replace=False)]
        if surrogates and i % 5 == 4:
            pools.append(SURROGATES)
        chars = "".join(pools)
        length = int(rng.integers(1, 40))
        text = "".join(chars[k] for k in rng.integers(0, len(chars), size=length))
        if not text.strip():  # all whitespace is the 'empty' case, tested apart
            text += "#"
        out.append((f"junk text {text.encode('unicode_escape', 'backslashreplace').decode()[:40]}", text))
    return out


def surrogate_texts(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """Real words with a lone surrogate (not encodable as UTF-8) somewhere inside."""
    words = ["the", "person", "kneels", "arms", "raised", "left", "knee", "bent"]
    out = []
    for _ in range(n):
        text = " ".join(rng.choice(words, size=rng.integers(2, 6)))
        at = int(rng.integers(0, len(text) + 1))
        bad = SURROGATES[int(rng.integers(len(SURROGATES)))]
        out.append((f"text with lone surrogate at {at}", text[:at] + bad + text[at:]))
    return out


def long_texts(max_chars: int) -> list[tuple[str, str]]:
    """Texts over ``max_chars`` characters: words, one endless word, a megabyte."""
    return [("long text words", ("the left knee is bent " * (max_chars // 10))[: max_chars + 1]),
            ("long text one word", "a" * (max_chars + 1)),
            ("long text 10x", "raise the arms " * max_chars),
            ("long text 1MB", "kneeling " * 120_000)]


def bad_ks(max_k: int) -> list[tuple[str, Any]]:
    """Values of ``k`` (number of results) that are not a whole number in ``1..max_k``."""
    return [("k=0", 0), ("k=-1", -1), ("k=-1000", -1000), (f"k={max_k + 1}", max_k + 1), ("k=1e12", 10**12),
            ("k=2.5", 2.5), ("k='3'", "3"), ("k=None", None), ("k=True", True), ("k=nan", math.nan),
            ("k=inf", math.inf), ("k=[3]", [3]), ("k={}", {}), ("k=np0", np.int64(0))]


def wrong_shapes(rng: np.random.Generator, n: int, good: tuple[int, ...] = (22, 3)) -> list[tuple[int, ...]]:
    """Random array shapes that are not ``good``, ``(66,)``, ``(B, 22, 3)`` or ``(B, 66)``."""
    fixed = [(), (0,), (21, 3), (22, 2), (22, 4), (23, 3), (65,), (67,), (3, 22), (1, 22, 3, 1), (22, 3, 1),
             (2, 21, 3), (0, 22, 3), (0, 66), (2, 65)]
    out = list(fixed)
    while len(out) < n:
        shape = tuple(int(s) for s in rng.integers(0, 70, size=rng.integers(1, 5)))
        if shape in (good, (66,)) or (len(shape) == 3 and shape[1:] == good and shape[0] > 0) or \
                (len(shape) == 2 and shape[1] == 66 and shape[0] > 0):
            continue
        out.append(shape)
    return out[:n]


def png_bytes(rng: np.random.Generator, height: int = 48, width: int = 36) -> bytes:
    """A valid PNG of random pixels."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(rng: np.random.Generator, height: int = 64, width: int = 48) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def bad_image_bytes(rng: np.random.Generator, n_each: int = 12) -> list[tuple[str, bytes]]:
    """Bytes that are no decodable image: empty, noise, truncated PNG / JPEG, PNG with a flipped
    bit in its signature or header (CRC-checked), decompression bombs, other file kinds."""
    png, jpg = png_bytes(rng), jpeg_bytes(rng)
    idat_end = png.rindex(b"IEND") - 8  # cutting before here always loses pixel data
    out: list[tuple[str, bytes]] = [("empty bytes", b""), ("one byte", b"\x89"), ("PNG signature only", png[:8]),
                                    ("text", b"these bytes are not an image"), ("zip", b"PK\x03\x04" + bytes(100)),
                                    ("pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), ("zeros 5MB", bytes(5_000_000)),
                                    ("bomb 20000x20000", png_bomb(20_000, 20_000)),
                                    ("bomb 65535x65535", png_bomb(65_535, 65_535))]
    for _ in range(n_each):
        size = int(rng.integers(1, 5000))
        out.append((f"noise {size} bytes", rng.integers(0, 256, size=size, dtype=np.uint8).tobytes()))
        cut = int(rng.integers(0, idat_end))
        out.append((f"PNG cut at {cut}", png[:cut]))
        cut = int(rng.integers(0, len(jpg) - 2))
        out.append((f"JPEG cut at {cut}", jpg[:cut]))
        pos, bit = int(rng.integers(0, 33)), int(rng.integers(0, 8))
        flipped = bytearray(png)
        flipped[pos] ^= 1 << bit
        out.append((f"PNG bit {bit} of byte {pos} flipped", bytes(flipped)))
    return out


def bad_image_arrays(rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """Arrays that are no ``(H, W, 3)`` uint8 image."""
    out = [("gray (H, W)", rng.integers(0, 255, (40, 30), dtype=np.uint8)),
           ("RGBA", rng.integers(0, 255, (40, 30, 4), dtype=np.uint8)),
           ("channels first", rng.integers(0, 255, (3, 40, 30), dtype=np.uint8)),
           ("empty (0, 0, 3)", np.zeros((0, 0, 3), np.uint8)), ("(1, 0, 3)", np.zeros((1, 0, 3), np.uint8)),
           ("float [0, 1]", rng.random((40, 30, 3), dtype=np.float32)),
           ("float NaN", np.full((40, 30, 3), np.nan, np.float32)),
           ("int64 out of range", rng.integers(-1000, 1000, (40, 30, 3))),
           ("bool", np.ones((40, 30, 3), bool)), ("strings", np.full((4, 3, 3), "x")),
           ("object", np.empty((4, 3, 3), object)), ("4-D batch", rng.integers(0, 255, (2, 40, 30, 3), dtype=np.uint8)),
           ("huge 40000x30000 view", np.broadcast_to(np.zeros(3, np.uint8), (40_000, 30_000, 3)))]
    return out
