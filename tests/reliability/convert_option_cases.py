"""Every ``pose-search data convert`` command line that gives an option which does not apply to
its source, alone or with others, with and without ``--append``; plus the wrong roots of the real
releases (a single 3DPW sequence file, a raw BEDLAM tree given to ``bedlam``) and bad values of
options that do apply. Each must end in exit 2 and one error line naming the option (or the file),
refused before any work starts.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

from pose_search.data.convert_options import OPTIONS, SOURCES, applicable, not_applicable
from tests.reliability.cli_run import CliError, run_cli
from tests.reliability.harness import Case


def _value(name: str, folder: Path) -> list[str]:
    return {"stride": ["3"], "split": ["val"]}.get(name, [str(folder)])


def _required(source: str, folder: Path) -> list[str]:
    """The options ``source`` requires, with values that would do."""
    return [a for o in applicable(source) if source in o.required for a in (o.flag, *_value(o.name, folder))]


def _all_of(flags: list[str]) -> str:
    """A pattern that matches a message naming every one of ``flags``."""
    return "".join(f"(?=.*{f})" for f in flags)


def _case(argv: list[str], mentions: str) -> Case:
    return Case("pose-search " + " ".join(argv), functools.partial(run_cli, argv), mentions, (CliError,))


def misuse_cases(folder: Path) -> list[Case]:
    """Every non-empty combination of the options that do not apply to each source."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for source in SOURCES:
        wrong = not_applicable(source)
        for n in range(1, len(wrong) + 1):
            for combo in itertools.combinations(wrong, n):
                given = [a for o in combo for a in (o.flag, *_value(o.name, folder))]
                for append in ([], ["--append"]):
                    argv = ["data", "convert", source, str(folder), "--out", str(folder / "never"),
                            *_required(source, folder), *given, *append]
                    cases.append(_case(argv, _all_of([o.flag for o in combo]) + f".*does not apply to {source}"))
    return cases


def value_cases(folder: Path) -> list[Case]:
    """Bad values of options that apply, and required options left out."""
    cases = []
    for source in SOURCES:
        base = ["data", "convert", source, str(folder), "--out", str(folder / "never"), *_required(source, folder)]
        for o in applicable(source):
            bad = {"int": ["0", "-2"], "splits": ["dev", "train,holdout", ""]}.get(o.kind, [" "])
            cases += [_case([*base, o.flag, v], o.flag) for v in bad]
        for o in (o for o in OPTIONS if source in o.required):
            others = [a for r in applicable(source) if source in r.required and r is not o
                      for a in (r.flag, *_value(r.name, folder))]
            argv = ["data", "convert", source, str(folder), "--out", str(folder / "never"), *others]
            cases.append(_case(argv, f"{o.flag} is required"))
    return cases


def wrong_root_cases(folder: Path, sequence_pkl: Path, raw_bedlam: Path) -> list[Case]:
    """Roots of one release given where another layout is expected."""
    out = str(folder / "never")
    return [_case(["data", "convert", "3dpw", str(sequence_pkl), "--out", out], r"sequence file.*sequenceFiles"),
            _case(["data", "convert", "bedlam", str(raw_bedlam), "--out", out], r"be_seq\.csv.*bedlam-raw")]
