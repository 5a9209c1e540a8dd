"""The reference experiment's results as a Markdown table, every core beside the paper's numbers.

Reads ``results/retrieval_synthetic.json`` (``retrieval_synthetic.py``) and prints, per query
type, R@1 / R@5 / R@10 of every core, then mRecall single / dual / overall and the paper's mRecall
(BEDLAM-Script val) under each core, and the epochs each core trained (and whether its patience
stopped it): the table of benchmarks/README.md, copied from the file instead of by hand.

    .venv/bin/python benchmarks/retrieval_table.py [benchmarks/results/retrieval_synthetic.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

QUERIES = ("image->pose", "image->text", "pose->image", "pose->text", "text->image", "text->pose",
           "image+pose->text", "pose+text->image", "image+text->pose")


def table(result: dict[str, Any]) -> str:
    """Markdown rows: one per query type, the mRecalls, the paper's, and the epochs trained."""
    if not isinstance(result, dict) or result.get("benchmark") != "retrieval_synthetic":
        raise ValueError("not a retrieval_synthetic result")
    res = result.get("results")
    if not isinstance(res, dict) or not res or not all(isinstance(v, dict) for v in res.values()):
        raise ValueError("no evaluated core under 'results' of a retrieval_synthetic result")
    cores = list(res)
    paper = result.get("paper_bedlam_script_val", {})
    epochs = result.get("epochs")
    trained = epochs.get("core_trained", {}) if isinstance(epochs, dict) else {}
    rows = ["| query (R@1 / R@5 / R@10) | " + " | ".join(cores) + " |", "|---" * (len(cores) + 1) + "|"]
    for q in QUERIES:
        rows.append(f"| {q} | " + " | ".join(
            " / ".join(f"{res[c][f'{q}/R@{k}']:.1f}" for k in (1, 5, 10)) for c in cores) + " |")
    for key, label in (("mRecall_single", "mRecall single"), ("mRecall_dual", "mRecall dual"),
                       ("mRecall", "**mRecall**")):
        rows.append(f"| {label} | " + " | ".join(f"{res[c][key]:.1f}" for c in cores) + " |")
    rows.append("| paper mRecall (BEDLAM-Script val) | " + " | ".join(
        f"{paper[c]['mRecall']:.1f}" if c in paper else "-" for c in cores) + " |")
    if trained:
        rows.append("| epochs trained | " + " | ".join(str(trained.get(c, "-")) for c in cores) + " |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("result", nargs="?", default=str(Path(__file__).parent / "results" / "retrieval_synthetic.json"))
    args = p.parse_args()
    try:
        result = json.loads(Path(args.result).read_text())
        print(table(result))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        p.error(f"{args.result}: not a retrieval_synthetic.py result ({type(exc).__name__}: {exc})")


if __name__ == "__main__":
    main()
