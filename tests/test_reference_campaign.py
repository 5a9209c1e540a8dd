"""benchmarks/reference_campaign.sh: valid shell, and every flag it passes is one its script takes."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = ROOT / "benchmarks" / "reference_campaign.sh"


def _commands() -> list[list[str]]:
    """The campaign's ``$PY benchmarks/X.py ...`` commands, continuation lines joined, as words."""
    text = CAMPAIGN.read_text().replace("\\\n", " ")
    return [shlex.split(line.strip())[1:] for line in text.splitlines() if line.strip().startswith("$PY benchmarks/")]


def test_the_campaign_is_valid_shell_and_passes_only_flags_its_scripts_take():
    subprocess.run(["bash", "-n", str(CAMPAIGN)], check=True)
    commands = _commands()
    scripts = {words[0] for words in commands}
    assert {"benchmarks/retrieval_synthetic.py", "benchmarks/core_curves.py", "benchmarks/instructions.py",
            "benchmarks/core_explanations.py", "benchmarks/hps.py"} <= scripts
    for words in commands:
        source = (ROOT / words[0]).read_text()
        for flag in (w for w in words[1:] if w.startswith("--")):
            assert re.search(rf'add_argument\("{re.escape(flag)}"', source), f"{words[0]} takes no {flag}"
