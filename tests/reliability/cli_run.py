"""Running ``pose-search`` command lines for the reliability cases.

The documented error of the CLI is exit code 2 with ``pose-search <cmd>: error: <message>`` as the
last line of stderr and no traceback (argparse's own errors look the same). :func:`run_cli` (in
this process, through :func:`pose_search_app.cli.main`) and :class:`Processes` (real
``python -m pose_search_app`` processes) turn that into a :class:`CliError`, the harness's clear error;
any other exit, a traceback or an exception out of ``main`` is a crash. While in-process cases
run, :func:`tripwires` makes anything that would start real work (a Ray cluster, rendering, a demo
build, a web server, a body model) raise :class:`StartedWork`: a bad input must be refused before.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from unittest import mock

ERROR_LINE = re.compile(r"^pose-search( [\w-]+)*: error: \S")


class CliError(Exception):
    """``main`` exited with code 2 and one clear error line (the line is the message)."""


class StartedWork(RuntimeError):
    """A bad command line got as far as starting real work."""


def run_cli(argv: list[str]) -> str:
    """Run ``pose-search ARGV`` in-process; raise :class:`CliError` for a clean usage error,
    RuntimeError for any other failure; return stdout when it succeeds."""
    from pose_search_app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return check_exit(code, err.getvalue(), out.getvalue())


def check_exit(code: int, stderr: str, stdout: str = "") -> str:
    """Sort a finished ``pose-search`` run: CliError for exit 2 + a clean error line, else
    RuntimeError (non-zero) or stdout (zero)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if code == 2 and lines and ERROR_LINE.match(lines[-1]) and "Traceback" not in stderr:
        raise CliError(lines[-1])
    if code != 0:
        raise RuntimeError(f"exit {code}: {stderr[-600:]}")
    return stdout


@contextlib.contextmanager
def tripwires() -> Iterator[None]:
    """Make the starts of real work raise :class:`StartedWork` (in this process)."""
    def trip(what: str):
        def fail(*_: Any, **__: Any) -> None:
            raise StartedWork(f"started {what}")
        return fail

    targets = {"ray.init": "a Ray cluster", "pose_search.data.generate._map_chunks": "rendering",
               "pose_search_app.build.DemoBuilder.run": "a demo build", "ui.app.launch": "a web server",
               "anny.Anny": "a body model"}
    with contextlib.ExitStack() as stack:
        for target, what in targets.items():
            stack.enter_context(mock.patch(target, trip(what)))
        yield


class Processes:
    """Runs command lines as real ``python -m pose_search_app`` processes, all started together (on
    the first result asked for) so that their start-up costs overlap."""

    def __init__(self, argvs: list[list[str]]) -> None:
        self.argvs = argvs
        self.procs: list[subprocess.Popen] | None = None

    def result(self, i: int) -> str:
        if self.procs is None:
            self.procs = [subprocess.Popen([sys.executable, "-m", "pose_search_app", *argv], stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True) for argv in self.argvs]
        out, err = self.procs[i].communicate(timeout=600)
        return check_exit(self.procs[i].returncode, err, out)
