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
    # "right" that names no side
    ("Bend the left knee at a right angle, right next to the right one.",
     "Bend the right knee at a right angle, right next to the left one."),
    ("a right-angled left elbow", "a right-angled right elbow"),
    ("move it to the right now", "move it to the left now"),
    ("", ""),
])
def test_mirror_text_hand_checked(text, mirrored):
    assert mirror_text(text) == mirrored
    assert mirror_text(mirrored) == text


def test_mirror_text_other_spellings_of_counter_clockwise():
    assert mirror_text("rotate anticlockwise") == "rotate clockwise"
    assert mirror_text("Anti-clockwise turn") == "Clockwise turn"


def test_mirror_text_maps_the_instruction_templates_of_one_side_onto_the_other():
    """The pair captioner's phrase banks: the mirror of every "..._left_..." bank is exactly its
    "..._right_..." bank, and banks that name no side are unchanged ("bent at a right angle")."""
    from pose_search.data.pairing.text import FACTS, TEMPLATES, TURNS

    sided = 0
    for bank in (TEMPLATES, FACTS, TURNS):
        for key, phrases in bank.items():
            other = key.replace("left", "@").replace("right", "left").replace("@", "right")
            if other != key and other in bank:
                assert {mirror_text(p) for p in phrases} == set(bank[other]), key
                sided += 1
            else:
                assert [mirror_text(p) for p in phrases] == list(phrases), key
    assert sided >= 10
