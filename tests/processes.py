"""Helpers for tests that start ``pose-search`` in child processes (together) and kill them."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path


class Together:
    """Independent command lines started at once as child processes, so that their start-ups
    (mostly imports) overlap each other and whatever this process does meanwhile. A context
    manager: the children still running when the block is left early are killed."""

    def __init__(self, cmds: Sequence[Sequence[str]], **popen_kwargs) -> None:
        self.cmds = [list(cmd) for cmd in cmds]
        self.procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen_kwargs)
                      for cmd in self.cmds]

    def results(self, timeout: float = 300) -> list[subprocess.CompletedProcess]:
        """Each child's result as ``subprocess.run(cmd, capture_output=True, text=True,
        timeout=timeout)`` would give it (``timeout`` bounds the wait for each)."""
        out = []
        for cmd, proc in zip(self.cmds, self.procs):
            stdout, stderr = proc.communicate(timeout=timeout)
            out.append(subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr))
        return out

    def __enter__(self) -> Together:
        return self

    def __exit__(self, *exc_info) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def run_together(cmds: Sequence[Sequence[str]], timeout: float = 300,
                 **popen_kwargs) -> list[subprocess.CompletedProcess]:
    """Run independent command lines as concurrent child processes; their results, in order."""
    with Together(cmds, **popen_kwargs) as children:
        return children.results(timeout)


def kill_ray_instance(session: int, ray_tmp: str) -> None:
    """SIGKILL the processes of one Ray instance: its session, or its own temp dir in the command.

    Never ``ray stop``: it would also kill every other Ray instance on the machine."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
            if os.getsid(int(entry.name)) == session or ray_tmp in cmd:
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue
