"""Error messages the UI sends: plain text, no server folders, short."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from ui.app import MAX_MESSAGE_CHARS, client_message


def test_quotes_stay_quotes_and_markup_is_no_markup():
    text = client_message("unknown id \"x'y\" <script>alert(1)</script> & more")
    assert "&#" not in text and "&quot;" not in text and "&amp;" not in text
    assert "x'y" in text and "<" not in text and ">" not in text and "script" in text


def test_server_folders_are_cut_to_the_file_name():
    upload = Path(gr.utils.get_upload_folder()) / "3f2a9c" / "pose.npz"
    temp = Path(tempfile.gettempdir()) / "reliability-x" / "work" / "bomb.npz"
    text = client_message(f"pose file '{upload}': corrupt; also {temp}, and '{Path(str(upload)).resolve()}'")
    assert str(Path(gr.utils.get_upload_folder())) not in text and tempfile.gettempdir() not in text
    assert "'pose.npz'" in text and "bomb.npz" in text


def test_long_messages_are_cut():
    text = client_message("unknown id " + "y" * 50_000)
    assert len(text) <= MAX_MESSAGE_CHARS and text.endswith("...")
