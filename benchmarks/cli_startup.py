"""How long a `pose-search` process takes to start: the parser of one command against all.

Every `pose-search` process (and so every test that runs one) pays for what building its parser
imports. Measured in fresh interpreters, in the same run: building the parsers of every command
(what `pose-search` did before it imported only the chosen command's module) against building the
chosen command's alone, and importing the model catalog with roma loaded on first use against
importing roma too (what every module did before).

    .venv/bin/python benchmarks/cli_startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    # before: every command's parser, `data`'s importing the generator and the loaders (torch)
    # for its choices, and roma loaded with them
    "parser of every command (before)": "import roma, pose_search.data.generate, pose_search.data.loaders; "
                                        "from pose_search_app.cli import build_parser; build_parser()",
    "parser of every command (now)": "from pose_search_app.cli import build_parser; build_parser()",
    "parser of `data` alone": "from pose_search_app.cli import build_parser; build_parser('data')",
    "parser of `search` alone": "from pose_search_app.cli import build_parser; build_parser('search')",
    "import the model catalog, roma too (before)": "import roma, pose_search.models.catalog",
    "import the model catalog, roma on first use": "import pose_search.models.catalog",
}


def seconds(code: str) -> float:
    """Wall time of a fresh interpreter running ``code``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "cli_startup.json"))
    args = p.parse_args()
    seconds("import torch")  # warm the file cache first
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.repeats):  # interleaved: a busy moment hits every case alike
        for name, code in CASES.items():
            times[name].append(seconds(code))
    median = {name: round(statistics.median(t), 3) for name, t in times.items()}
    before, after = median["parser of every command (before)"], median["parser of `search` alone"]
    out = {"benchmark": "cli_startup", "repeats": args.repeats, "median_seconds": median,
           "speedup_search_parser": round(before / after, 1),
           "saved_by_lazy_roma_s": round(median["import the model catalog, roma too (before)"]
                                         - median["import the model catalog, roma on first use"], 3),
           "machine": {"platform": platform.platform()}}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
