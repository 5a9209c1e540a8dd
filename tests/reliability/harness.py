"""Run generated bad inputs against an entry point and sort out what happened to each.

A :class:`Case` is one bad input: a call that should fail, the error kinds the entry point
documents, and a pattern the message must match (it names the argument, field or file at fault).
:func:`run_cases` calls every case and sorts the outcomes:

* ``clear``: a documented error whose message names the problem (what we want);
* ``vague``: a documented error whose message does not name the problem;
* ``accepted``: no error at all, although the input is bad;
* ``crash``: any other exception (a raw ``TypeError`` from deep inside, a traceback, ...).

Everything but ``clear`` is a failure; :meth:`Report.failures` lists them with the input, so a
failing test prints what to reproduce. Generators draw from a seeded ``numpy`` Generator: the same
seed gives the same inputs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("clear", "vague", "accepted", "crash")
SEED = 20260801  # one seed for every generator (each derives its own stream from it)


@dataclass(frozen=True)
class Case:
    """One generated bad input.

    ``call`` runs it; ``errors`` are the exception kinds the entry point documents; ``mentions``
    is a regular expression (case-insensitive) the error message must match.
    """

    name: str
    call: Callable[[], Any]
    mentions: str
    errors: tuple[type[BaseException], ...] = (ValueError,)


@dataclass
class Outcome:
    case: str
    kind: str  # one of OUTCOMES
    detail: str
    seconds: float


@dataclass
class Report:
    """Outcomes of one entry point's cases."""

    entry: str
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(o.kind == kind for o in self.outcomes)

    @property
    def tried(self) -> int:
        return len(self.outcomes)

    def failures(self) -> list[str]:
        """One line per case that did not end in a clear error."""
        return [f"[{o.kind}] {o.case}: {o.detail}" for o in self.outcomes if o.kind != "clear"]

    def summary(self) -> dict[str, Any]:
        return {"inputs_tried": self.tried, "clear_errors": self.count("clear"),
                "vague_errors": self.count("vague"), "accepted": self.count("accepted"),
                "crashes": self.count("crash"), "seconds": round(sum(o.seconds for o in self.outcomes), 2),
                "failures": self.failures()[:50]}


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def classify(case: Case) -> Outcome:
    """Run one case and sort its outcome."""
    start = time.perf_counter()
    try:
        result = case.call()
    except case.errors as exc:
        message = str(exc)
        ok = re.search(case.mentions, message, re.IGNORECASE) and "Traceback (most recent call last)" not in message
        kind, detail = ("clear" if ok else "vague"), f"{type(exc).__name__}: {_short(message)}"
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - anything else is what the suite hunts for
        kind, detail = "crash", f"{type(exc).__name__}: {_short(str(exc))}"
    else:
        kind, detail = "accepted", f"returned {_short(repr(result), 120)}"
    return Outcome(case.name, kind, detail, time.perf_counter() - start)


def run_cases(entry: str, cases: Iterable[Case]) -> Report:
    """Call every case (nothing stops at the first failure) and collect the outcomes."""
    report = Report(entry)
    for case in cases:
        report.outcomes.append(classify(case))
    return report


def assert_all_clear(report: Report, minimum: int) -> None:
    """The test-side check: at least ``minimum`` inputs, every one a clear error."""
    assert report.tried >= minimum, f"{report.entry}: only {report.tried} inputs generated (want >= {minimum})"
    failures = report.failures()
    assert not failures, f"{report.entry}: {len(failures)} of {report.tried} bad inputs not handled clearly:\n" + \
        "\n".join(failures)
