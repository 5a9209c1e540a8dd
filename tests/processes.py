"""Helpers for tests that start ``pose-search`` in a child process and kill it."""

from __future__ import annotations

import os
import signal
from pathlib import Path


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
