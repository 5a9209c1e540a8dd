"""Values quoted in one-line error messages, kept short whatever a caller sent."""

from __future__ import annotations

from typing import Any

MAX_QUOTED_CHARS = 60


def brief(value: Any, limit: int = MAX_QUOTED_CHARS) -> str:
    """``repr(value)``, cut in the middle past ``limit`` characters with the full length said
    (a 50,000-character id must not make a 50 KB message)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    half = max(4, (limit - 20) // 2)
    return f"{text[:half]}...{text[-half:]} ({len(text):,} characters)"
