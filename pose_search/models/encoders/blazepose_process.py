"""A long-lived worker subprocess behind the length-prefixed protocol of ``blazepose_worker``.

:class:`WorkerProcess` starts the command lazily, reuses it for every request, restarts it when it
has died (one retry per request), bounds every read and write by a deadline (a stuck worker is
killed, never waited on), keeps the tail of its stderr for error messages, and stops it when
closed, when garbage-collected or at interpreter exit (the worker also exits when its stdin
closes, so it cannot outlive a killed parent). Requests are serialised by a lock.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import select
import subprocess
import threading
import time
import weakref
from collections.abc import Sequence
from typing import IO, Any

from pose_search.models.encoders.blazepose_worker import encode_message, frame_length

log = logging.getLogger(__name__)

STDERR_LINES = 200  # kept from the worker's stderr
STDERR_SHOWN = 15  # of them, shown in an error message


class WorkerError(RuntimeError):
    """The worker could not be started, died, timed out or answered with an error."""


class WorkerStartError(WorkerError):
    """The worker could not be started (missing or broken environment, start-up time-out)."""


class _Died(Exception):
    pass


def _drain(stream: IO[bytes], lines: collections.deque[str]) -> None:
    # Read stderr continuously: a full pipe would block the worker.
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        lines.append(line)
        log.debug("worker: %s", line)
    stream.close()


def _stop(proc: subprocess.Popen, owner: int, grace_s: float = 3.0) -> None:
    """End ``proc``: close its stdin (it exits by itself), then kill it after ``grace_s``.
    Only in the process that started it (``owner``), never in a forked child."""
    if os.getpid() != owner:
        return
    if proc.poll() is None:
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout):
        try:
            stream.close()
        except OSError:
            pass


class WorkerProcess:
    """``request(header, payload)`` -> ``(header, payload)`` against a subprocess ``command``."""

    def __init__(self, command: Sequence[str], name: str = "worker", startup_timeout_s: float = 120.0,
                 hint: str = "") -> None:
        self.command = list(command)
        self.name = name
        self.startup_timeout_s = startup_timeout_s
        self.hint = hint  # appended to start failures (e.g. how to build the environment)
        self.info: dict[str, Any] = {}  # the worker's ready message
        self.starts = 0
        self._proc: subprocess.Popen | None = None
        self._owner = os.getpid()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._stderr_thread: threading.Thread | None = None
        self._finalizer: weakref.finalize | None = None
        self._lock = threading.Lock()

    # ---- state
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.alive() else None

    def alive(self) -> bool:
        return self._proc is not None and self._owner == os.getpid() and self._proc.poll() is None

    def stderr_tail(self, n: int = STDERR_SHOWN) -> str:
        return "\n".join(list(self._stderr)[-n:])

    # ---- life cycle
    def _start(self) -> None:
        if self._owner != os.getpid():  # a forked child must not use its parent's worker
            if self._finalizer is not None:
                self._finalizer.detach()
            self._proc, self._finalizer, self._owner = None, None, os.getpid()
        self._discard()
        self._stderr.clear()
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, bufsize=0, close_fds=True)
        except OSError as exc:
            raise WorkerStartError(f"{self.name}: cannot run {self.command[0]!r}: {exc}{self.hint}") from None
        self._proc, self.starts = proc, self.starts + 1
        self._stderr_thread = threading.Thread(target=_drain, args=(proc.stderr, self._stderr),
                                               daemon=True, name=f"{self.name}-stderr")
        self._stderr_thread.start()
        self._finalizer = weakref.finalize(self, _stop, proc, self._owner)
        try:
            header, _ = self._receive(t0 + self.startup_timeout_s, "starting")
        except _Died:
            raise self._error("exited while starting", start=True) from None
        if not header.get("ok"):
            raise self._error(f"could not start: {header.get('error')}", start=True)
        self.info = header
        log.info("%s started (pid %d) in %.1f s", self.name, proc.pid, time.monotonic() - t0)

    def _discard(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # runs _stop once
        self._proc, self._finalizer = None, None

    def close(self) -> None:
        """Stop the worker (a later request starts a new one)."""
        with self._lock:
            if self._proc is not None and self._owner == os.getpid():
                self._discard()
            self._proc = None

    # ---- requests
    def request(self, header: dict[str, Any], payload: bytes = b"",
                timeout_s: float = 60.0) -> tuple[dict[str, Any], bytes]:
        """Send one message and return the answer; WorkerError on failure, never blocks past
        ``timeout_s`` (plus the start-up time when a worker has to be started)."""
        message = encode_message(header, payload)
        with self._lock:
            for attempt in (1, 2):
                if not self.alive():
                    self._start()
                deadline = time.monotonic() + timeout_s
                try:
                    self._send(message, deadline)
                    reply = self._receive(deadline, "answering")
                except _Died:
                    error = self._error("died during a request")  # waits for it, keeps stderr
                    if attempt == 1:
                        log.warning("%s; restarting it", error)
                        continue
                    raise WorkerError(f"{error} (twice: the request itself kills it)") from None
                except BaseException:  # e.g. KeyboardInterrupt mid-message: the stream is out of step
                    if self._proc is not None:
                        self._proc.kill()
                    self._discard()
                    raise
                if not reply[0].get("ok"):
                    raise WorkerError(f"{self.name}: {reply[0].get('error', 'request failed')}")
                return reply
        raise AssertionError("unreachable")

    def _send(self, data: bytes, deadline: float) -> None:
        fd = self._proc.stdin.fileno()
        os.set_blocking(fd, False)
        view, done = memoryview(data), 0
        while done < len(view):
            self._wait(fd, deadline, "reading its input", write=True)
            try:
                done += os.write(fd, view[done : done + (1 << 20)])
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                raise _Died from None

    def _receive(self, deadline: float, doing: str) -> tuple[dict[str, Any], bytes]:
        try:
            head = self._read(frame_length(self._read(4, deadline, doing)), deadline, doing)
            body = self._read(frame_length(self._read(4, deadline, doing)), deadline, doing)
            header = json.loads(head.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:  # not our protocol on its stdout
            self._proc.kill()
            self._discard()
            raise WorkerError(f"{self.name}: protocol error {doing} ({exc}); stopped it"
                              + self._tail_text()) from None
        if not isinstance(header, dict):
            self._proc.kill()
            self._discard()
            raise WorkerError(f"{self.name}: protocol error {doing} (header {header!r})")
        return header, body

    def _read(self, n: int, deadline: float, doing: str) -> bytes:
        fd, buf = self._proc.stdout.fileno(), bytearray()
        while len(buf) < n:
            self._wait(fd, deadline, doing)
            chunk = os.read(fd, min(n - len(buf), 1 << 20))
            if not chunk:
                raise _Died
            buf += chunk
        return bytes(buf)

    def _wait(self, fd: int, deadline: float, doing: str, write: bool = False) -> None:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready = select.select([], [fd], [], left)[1] if write else select.select([fd], [], [], left)[0]
            if ready:
                return
        pid = self._proc.pid
        self._proc.kill()  # stuck: no grace period
        self._discard()
        start = doing == "starting"
        raise (WorkerStartError if start else WorkerError)(
            f"{self.name}: no progress {doing} within the time limit; stopped it (pid {pid}; the "
            f"next call starts a new one)" + self._tail_text() + (self.hint if start else ""))

    def _error(self, what: str, start: bool = False) -> WorkerError:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self._stderr_thread is not None:
            self._stderr_thread.join(2)  # collect what it wrote before it died
        self._discard()
        cls = WorkerStartError if start else WorkerError
        return cls(f"{self.name} {what} (exit code {code})" + self._tail_text()
                   + (self.hint if start else ""))

    def _tail_text(self) -> str:
        tail = self.stderr_tail()
        return f"; its last stderr lines:\n{tail}" if tail else "; it wrote nothing to stderr"
