"""How long `make test` takes: the time pytest prints, read from the logs of whole-suite runs.

The suite's goal is <= 15 minutes on a fresh clone (`make test`, printed by pytest). This script
reads the logs of such runs (`make test > LOG 2>&1`, or pytest's own output) and records, per
run, the summary pytest printed (tests passed / failed, seconds), the number of xdist workers and
the slowest tests, into one results file; a run is labelled so a baseline (e.g. one process,
`TEST_WORKERS=0`) and the default can sit side by side.

    .venv/bin/python benchmarks/suite_time.py --run two-workers=fresh.log --run one-process=serial.log
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

SUMMARY = re.compile(r"^=+ (?P<counts>.*?) in (?P<seconds>[\d.]+)s(?: \([\d:]+\))? =+$", re.M)
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|warnings?)")
WORKERS = re.compile(r"^created: (\d+)/\d+ workers", re.M)
SLOW = re.compile(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)$", re.M)


def read_log(text: str) -> dict:
    """pytest's summary of one whole-suite run: counts, seconds, workers, the slowest tests."""
    found = SUMMARY.findall(text)
    if not found:
        raise ValueError("no pytest summary line ('=== N passed ... in S s ===') in the log")
    counts_text, seconds = found[-1]
    counts = {kind.rstrip("s") if kind.startswith(("error", "warning")) else kind: int(n)
              for n, kind in COUNT.findall(counts_text)}
    workers = WORKERS.search(text)
    return {"seconds": float(seconds), "minutes": round(float(seconds) / 60, 2), "counts": counts,
            "workers": int(workers.group(1)) if workers else 0,
            "slowest": [{"seconds": float(s), "phase": ph, "test": t} for s, ph, t in SLOW.findall(text)[:10]]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", action="append", required=True, metavar="LABEL=LOG",
                   help="a label and the log of one whole-suite run (repeat)")
    p.add_argument("--note", default="", help="where and how the runs were made")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "suite_time.json"))
    args = p.parse_args()
    runs = {}
    for item in args.run:
        label, _, log = item.partition("=")
        if not label or not log:
            p.error(f"--run {item!r}: expected LABEL=LOG")
        runs[label] = read_log(Path(log).read_text(errors="replace"))
    out = {"benchmark": "suite_time", "goal_minutes": 15, "note": args.note, "runs": runs}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    for label, r in runs.items():
        print(f"{label}: {r['minutes']} min, {r['counts']}, {r['workers']} workers")


if __name__ == "__main__":
    main()
