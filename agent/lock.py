"""One writer at a time per store: an advisory file lock under the data dir.

Every step that writes (ingest, summarize, digest and send, run, reindex, library, rate) holds
it; readers (search, ask, show, status) never take it. ``RunLock`` is the bare lock;
``StoreLock`` is what a PaperAgent holds: reentrant for its owner, so ``run``, which ingests,
summarizes and digests under one lock, does not wait for itself, while another PaperAgent (in
this process or another) waits or gets a LockedError naming the holder.

When the store is a shared Chroma server (``chroma_url``), the file lock only keeps this
machine's processes apart: ``StoreLock`` then also takes the server's writer lease
(store.lease), so a second machine waits or gets the same LockedError naming host and pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from agent.errors import LockedError
from store.layout import RUN_LOCK

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class RunLock:
    """``with RunLock(home):`` — raises LockedError when another holder has it.

    flock is released by the kernel when the holder dies, so a killed run never leaves a stale
    lock behind (a pid file alone would). Two RunLocks conflict even in one process (each has
    its own open file).
    """

    def __init__(self, home: Path, *, wait: float = 0.0, name: str = RUN_LOCK) -> None:
        self.path = home / name
        self.wait = wait
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait
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
                    log.info("waiting up to %.0f s for%s to finish", self.wait, holder)
                    told = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {_command()}\n".encode(), 0)
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


class StoreLock:
    """The writer lock of one owner (a PaperAgent): ``with lock.hold(wait):`` nests freely in
    the thread that holds it; other threads of the owner wait for it like other processes."""

    def __init__(self, home: Path, chroma_url: str | None = None) -> None:
        self.home = home
        self.chroma_url = chroma_url or None
        self._lease: Any = None
        self._thread = threading.RLock()
        self._depth = 0
        self._file: RunLock | None = None

    @contextlib.contextmanager
    def hold(self, wait: float = 0.0) -> Iterator[None]:
        deadline = time.monotonic() + wait
        if not self._thread.acquire(timeout=wait if wait > 0 else -1, blocking=wait > 0):
            raise LockedError(
                f"Another thread of this process is writing to {self.home}.",
                hint="Let it finish, or give this call a longer wait.",
            )
        try:
            if self._depth == 0:
                lock = RunLock(self.home, wait=max(0.0, deadline - time.monotonic()))
                lock.acquire()
                self._file = lock
                try:
                    self._take_lease(max(0.0, deadline - time.monotonic()))
                except BaseException:
                    self._file.release()
                    self._file = None
                    raise
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._file is not None:
                    self._drop_lease()
                    self._file.release()
                    self._file = None
        finally:
            self._thread.release()

    @property
    def held(self) -> bool:
        return self._depth > 0

    def _take_lease(self, wait: float) -> None:
        if not self.chroma_url:
            return
        from agent.storage import store_errors
        from store.lease import LeaseHeld, SharedLease

        with store_errors():
            lease = SharedLease(self.chroma_url, _command())
            try:
                lease.acquire(wait)
            except LeaseHeld as exc:
                holder = exc.holder.describe() if exc.holder else "unknown holder"
                raise LockedError(
                    f"Another paperbrief run ({holder}) is writing to the shared store at "
                    f"{self.chroma_url}.",
                    hint="Only one machine writes to a shared store: run the daily job on one "
                    "writer, or queue behind it with `paperbrief --wait SECONDS COMMAND`. A lease "
                    "whose holder died expires by itself within a minute.",
                ) from None
        self._lease = lease

    def _drop_lease(self) -> None:
        if self._lease is not None:
            try:
                self._lease.release()
            except Exception:  # the server went away: the claim expires by itself
                log.warning("could not release the writer lease", exc_info=True)
            self._lease = None


def writes(method: F) -> F:
    """A PaperAgent method that writes to the store: it runs holding the agent's writer lock."""

    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.writing():
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


def _command() -> str:
    """What holds the lock, for the message another command prints (no option values: a path
    or a query is nobody else's business)."""
    words = [os.path.basename(sys.argv[0] or "python")]
    words += [a for a in sys.argv[1:] if a.isidentifier()][:1]
    return " ".join(words)


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit():
        return ""
    return f" (pid {pid}: {command})" if command else f" (pid {pid})"
