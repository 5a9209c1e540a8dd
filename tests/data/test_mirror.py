"""Left/right mirroring of texts (the text half of the flip augmentation), on hand-checked cases."""

from __future__ import annotations

import pytest

from pose_search.data.mirror import mirror_text


@pytest.mark.parametrize(("text", "mirrored"), [
    ("Move your left hand to the right.", "Move your right hand to the left."),
    ("Left knee up, RIGHT arm down", "Right knee up, LEFT arm down"),
    ("Bring your foot leftwards, then rightwards.", "Bring your foot rightwards, then leftwards."),
    ("Turn counter-clockwise, then clockwise.", "Turn clockwise, then counter-clockwise."),
    ("Stand upright in the bright light.", "Stand upright in the bright light."),  # whole words only
    ("a left-handed grip", "a right-handed grip"),
    ("", ""),
])
def test_mirror_text_hand_checked(text, mirrored):
    assert mirror_text(text) == mirrored
    assert mirror_text(mirrored) == text


def test_mirror_text_other_spellings_of_counter_clockwise():
    assert mirror_text("rotate anticlockwise") == "rotate clockwise"
    assert mirror_text("Anti-clockwise turn") == "Clockwise turn"
