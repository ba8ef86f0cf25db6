"""One run at a time per store: an advisory file lock under the data dir."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from agent.errors import LockedError
from store.layout import RUN_LOCK


class RunLock:
    """``with RunLock(home):`` — raises LockedError when another process holds it.

    flock is released by the kernel when the holder dies, so a killed run never leaves a stale
    lock behind (a pid file alone would).
    """

    def __init__(self, home: Path, *, wait: float = 0.0, name: str = RUN_LOCK) -> None:
        self.path = home / name
        self.wait = wait
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LockedError(
                        f"Another paperbrief run{holder} is using {self.path.parent}.",
                        hint="Wait for it to finish (or pass --wait SECONDS); a killed run "
                        "releases the lock by itself.",
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
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
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
