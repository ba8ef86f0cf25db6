"""The home's writer lock (the local store.seams.WriterLease): an advisory flock on run.lock.

It keeps the processes of one machine apart; when the store is a shared Chroma server, the
server's lease (store.shared.lease) keeps the machines apart on top of it. flock is released by
the kernel when the holder dies, so a killed run never leaves a stale lock behind (a pid file
alone would). Two RunLocks conflict even in one process (each has its own open file). The file
holds the holder's pid and command, for the message a second writer prints.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from store.errors import LockedError
from store.layout import RUN_LOCK

log = logging.getLogger(__name__)


def this_command() -> str:
    """What holds the lock, for the message another command prints (no option values: a path
    or a query is nobody else's business)."""
    words = [os.path.basename(sys.argv[0] or "python")]
    words += [a for a in sys.argv[1:] if a.isidentifier()][:1]
    return " ".join(words)


class RunLock:
    """``with RunLock(home):`` or ``acquire(wait)`` / ``release()``; raises LockedError naming
    the holder when another one has it after ``wait`` seconds."""

    def __init__(
        self, home: Path, *, wait: float = 0.0, name: str = RUN_LOCK, command: str | None = None
    ) -> None:
        self.path = Path(home) / name
        self.wait = wait
        self.command = command if command is not None else this_command()
        self._fd: int | None = None

    def acquire(self, wait: float | None = None) -> None:
        """Take the lock, waiting up to ``wait`` seconds (the constructor's when not given)."""
        wait = self.wait if wait is None else wait
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(fd)
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockedError(
                        f"Another paperbrief run{holder} is writing to {self.path.parent}.",
                        hint="Wait for it to finish, or queue behind it with `paperbrief "
                        "--wait SECONDS COMMAND`; a killed run releases the lock by itself.",
                    ) from None
                if not told:
                    log.info("waiting up to %.0f s for%s to finish", wait, holder)
                    told = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {self.command}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return ""
    return f" (pid {pid}: {command})" if command else f" (pid {pid})"
