"""Left/right mirroring of pose texts, the text half of the flip augmentation.

A pose mirrored with :func:`pose_search.data.pose_builder.mirror_pose` is described by the same
text with its sides swapped: "left" <-> "right", "leftwards" <-> "rightwards", "clockwise" <->
"counter-clockwise" (a turn about the vertical axis changes direction in the mirror). Whole words
only ("upright" stays), and the case of each word is kept ("Left" -> "Right", "LEFT" -> "RIGHT").
"right" that names no side stays: "a right angle", "right-angled", "right next to" (the
captioners write them; "to the right now" keeps its side, so "right now" is not listed).
"""

from __future__ import annotations

import re

_PAIRS = (("left", "right"), ("leftward", "rightward"), ("leftwards", "rightwards"),
          ("counter-clockwise", "clockwise"), ("counterclockwise", "clockwise"), ("anticlockwise", "clockwise"),
          ("anti-clockwise", "clockwise"))
_SWAP: dict[str, str] = {}
for _a, _b in _PAIRS:
    _SWAP[_a] = _b
    _SWAP.setdefault(_b, _a)
# longest first, so "counter-clockwise" is one word rather than "counter-" + "clockwise"
_WORD = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, _SWAP), key=len, reverse=True)) + r")(?!\w)",
                   re.IGNORECASE)
# what may follow a "right" that is an adjective or an intensifier, not a side
_NOT_A_SIDE = re.compile(r"(?:\s+|-)(?:angles?|angled|next\s+to)\b", re.IGNORECASE)


def _same_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[0].isupper():
        return word[0].upper() + word[1:]
    return word


def mirror_text(text: str) -> str:
    """``text`` with left and right swapped (see the module docstring); mirroring twice gives the
    text back when it uses one spelling per direction ("clockwise" / "counter-clockwise")."""

    def swap(m: re.Match[str]) -> str:
        word = m.group(0)
        if word.lower() == "right" and _NOT_A_SIDE.match(text, m.end()):
            return word
        return _same_case(_SWAP[word.lower()], word)

    return _WORD.sub(swap, text)
