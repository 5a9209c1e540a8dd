"""Run generated bad inputs against an entry point and sort out what happened to each.

A :class:`Case` is one bad input: a call that should fail, the error kinds the entry point
documents, and a pattern the message must match (it names the argument, field or file at fault).
:func:`run_cases` calls every case and sorts the outcomes:

* ``clear``: a documented error whose message names the problem (what we want);
* ``vague``: a documented error whose message does not name the problem, or is longer than
  ``MAX_MESSAGE_CHARS`` (a message that lists 3,000 names or echoes a 50,000-character input);
* ``accepted``: no error at all, although the input is bad;
* ``crash``: any other exception (a raw ``TypeError`` from deep inside, a traceback, ...).

Everything but ``clear`` is a failure; :meth:`Report.failures` lists them with the input, so a
failing test prints what to reproduce. With ``measure_memory``, each case also records the peak of
the memory Python and numpy allocated while it ran (``tracemalloc``). Generators draw from a seeded ``numpy`` Generator: the same
seed gives the same inputs.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("clear", "vague", "accepted", "crash")
SEED = 20260801  # one seed for every generator (each derives its own stream from it)
MAX_MESSAGE_CHARS = 1000  # an error message is one line a person reads


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
    peak_bytes: int | None = None  # peak traced allocation while the case ran (measure_memory)


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

    def peak_mib(self) -> dict[str, Any] | None:
        """Peak traced memory per case (MiB): the largest and the median, when measured."""
        measured = sorted((o.peak_bytes, o.case) for o in self.outcomes if o.peak_bytes is not None)
        if not measured:
            return None
        peaks = [p for p, _ in measured]
        return {"max": round(peaks[-1] / 2**20, 2), "median": round(peaks[len(peaks) // 2] / 2**20, 3),
                "cases": len(peaks), "max_case": measured[-1][1][:120]}

    def summary(self) -> dict[str, Any]:
        out = {"inputs_tried": self.tried, "clear_errors": self.count("clear"),
               "vague_errors": self.count("vague"), "accepted": self.count("accepted"),
               "crashes": self.count("crash"), "seconds": round(sum(o.seconds for o in self.outcomes), 2),
               "failures": self.failures()[:50]}
        peak = self.peak_mib()
        if peak is not None:
            out["peak_memory_mib"] = peak
        return out


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def classify(case: Case, measure_memory: bool = False) -> Outcome:
    """Run one case and sort its outcome (``measure_memory``: record its peak traced allocation)."""
    if measure_memory:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        result = case.call()
    except case.errors as exc:
        message = str(exc)
        ok = re.search(case.mentions, message, re.IGNORECASE) and "Traceback (most recent call last)" not in message
        kind, detail = ("clear" if ok else "vague"), f"{type(exc).__name__}: {_short(message)}"
        if len(message) > MAX_MESSAGE_CHARS:
            kind, detail = "vague", f"message of {len(message):,} characters: {_short(message)}"
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - anything else is what the suite hunts for
        kind, detail = "crash", f"{type(exc).__name__}: {_short(str(exc))}"
    else:
        kind, detail = "accepted", f"returned {_short(repr(result), 120)}"
    seconds, peak = time.perf_counter() - start, None
    if measure_memory:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return Outcome(case.name, kind, detail, seconds, peak)


def run_cases(entry: str, cases: Iterable[Case], measure_memory: bool = False) -> Report:
    """Call every case (nothing stops at the first failure) and collect the outcomes."""
    report = Report(entry)
    for case in cases:
        report.outcomes.append(classify(case, measure_memory))
    return report


def assert_all_clear(report: Report, minimum: int) -> None:
    """The test-side check: at least ``minimum`` inputs, every one a clear error."""
    assert report.tried >= minimum, f"{report.entry}: only {report.tried} inputs generated (want >= {minimum})"
    failures = report.failures()
    assert not failures, f"{report.entry}: {len(failures)} of {report.tried} bad inputs not handled clearly:\n" + \
        "\n".join(failures)
