"""A real browser (the system chromium, driven by playwright): load the page, type a query, click
Search, wait for the result images, pick one and see its id and 3D body; a screenshot; then
"Use as pose A" opens the Instruction tab with that id.

Set POSE_SEARCH_SCREENSHOT=PATH to also keep the screenshot there (e.g. docs/ui.png).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.ray, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
LOADED_IMAGES = """n => [...document.querySelectorAll('#results img')]
                      .filter(i => i.complete && i.naturalWidth > 0).length >= n"""


def search_and_screenshot(url: str, query: str, out: Path, user_data_dir: Path, results: int = 8
                          ) -> tuple[str, str]:
    """Open ``url``, search ``query``, click the first result; screenshot to ``out``; then "Use as
    pose A". Returns the id the page shows as selected and the Instruction tab's pose A id."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1000})
        try:
            page = context.new_page()
            page.goto(url, wait_until="load")
            page.wait_for_selector("#query-text textarea", timeout=60_000)
            page.locator("#query-text textarea").fill(query)
            page.locator("#search-button").click()
            page.wait_for_function(LOADED_IMAGES, arg=results, timeout=60_000)
            page.locator("#results img").first.click()
            page.wait_for_function("() => document.querySelector('#selected-id textarea, #selected-id input')"
                                   "?.value.length > 0", timeout=60_000)
            selected = page.locator("#selected-id textarea, #selected-id input").first.input_value()
            page.wait_for_selector("#body canvas", timeout=60_000)
            page.wait_for_timeout(1500)  # let the 3D view draw
            page.screenshot(path=str(out), full_page=True)
            page.locator("#search-use-a").click()
            a_id = page.locator("#instruct-a-id textarea, #instruct-a-id input").first
            a_id.wait_for(state="visible", timeout=60_000)  # the Instruction tab opened
            page.wait_for_function("() => document.querySelector('#instruct-a-id textarea, #instruct-a-id input')"
                                   "?.value.length > 0", timeout=60_000)
            return selected, a_id.input_value()
        finally:
            context.close()


def test_search_in_a_real_browser(server, backend, tmp_path):
    pytest.importorskip("playwright", reason="python playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium)")
    shot = tmp_path / "ui.png"
    query = "the left knee is bent"
    selected, pose_a = search_and_screenshot(server, query, shot, tmp_path / "profile", results=8)
    first = backend.service.search(text=query, k=12)[0].id
    assert selected == first  # clicking the first result selects it
    assert pose_a == first  # "Use as pose A" carried it to the Instruction tab
    assert shot.stat().st_size > 50_000  # a real page, not a blank one
    keep = os.environ.get("POSE_SEARCH_SCREENSHOT")
    if keep:
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, keep)
