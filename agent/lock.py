"""One writer at a time per store: the writer lock a PaperAgent holds, and ``@writes``.

Every step that writes (ingest, summarize, digest and send, run, reindex, library, rate) holds
it; readers (search, ask, show, status) never take it. When the outermost hold of a session ends
without an error, the home's state file is backed up beside itself (store.state.health).
``StoreLock`` is reentrant for its owner, so ``run``, which ingests, summarizes and digests
under one lock, does not wait for itself, while another PaperAgent (in this process or another)
waits or gets a LockedError naming the holder.

What it takes are the store's writer leases (store.seams.WriterLease), as store.backends
chooses them: the home's run.lock (store.state.run_lock: this machine's processes), and, when
the store is a shared Chroma server (``chroma_url``), the server's lease too (store.shared.lease:
the machines), so a second machine waits or gets the same LockedError naming host and pid.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from agent.errors import LockedError
from store.backends import Backends
from store.seams import WriterLease
from store.state.run_lock import this_command

log = logging.getLogger(__name__)

__all__ = ["StoreLock", "Writer", "writes"]


class StoreLock:
    """The writer lock of one owner (a PaperAgent): ``with lock.hold(wait):`` nests freely in
    the thread that holds it; other threads of the owner wait for it like other processes."""

    def __init__(self, home: Path, chroma_url: str | None = None) -> None:
        self.home = home
        self.chroma_url = chroma_url or None
        self._backends = Backends(home, self.chroma_url)
        self._held: list[WriterLease] = []
        self._thread = threading.RLock()
        self._depth = 0

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
                self._take(deadline)
            self._depth += 1
            done = False
            try:
                yield
                done = True
            finally:
                self._depth -= 1
                if self._depth == 0:
                    try:
                        if done:  # a write session that finished: keep a copy of its state
                            self._back_up_state()
                    finally:
                        self._drop()
        finally:
            self._thread.release()

    def _back_up_state(self) -> None:
        """The home's state file copied beside itself (store.state.health), still under the
        lock, so no writer changes it half-way; a failed copy is a warning, not a failure."""
        from store.layout import StoreLayout
        from store.state.health import backup_state

        try:
            backup_state(StoreLayout(self.home).state_db)
        except Exception as exc:  # a full disk, a damaged file: the write itself succeeded
            log.warning("could not back up the state file: %s", exc)

    @property
    def held(self) -> bool:
        return self._depth > 0

    def _take(self, deadline: float) -> None:
        """Every lease in order, each within what is left of the wait; none held on failure."""
        try:
            for lease in self._backends.writer_leases(this_command()):
                lease.acquire(max(0.0, deadline - time.monotonic()))
                self._held.append(lease)
        except BaseException:
            self._drop()
            raise

    def _drop(self) -> None:
        while self._held:
            lease = self._held.pop()
            try:
                lease.release()
            except Exception:  # a shared server that went away: its claim expires by itself
                log.warning("could not release the writer lease", exc_info=True)


class Writer(Protocol):
    """What ``writes`` needs of its owner: the writer lock, held for one call."""

    def writing(self, wait: float | None = None) -> contextlib.AbstractContextManager[None]: ...


W = TypeVar("W", bound=Writer)
P = ParamSpec("P")
R = TypeVar("R")


def writes(method: Callable[Concatenate[W, P], R]) -> Callable[Concatenate[W, P], R]:
    """A PaperAgent method that writes to the store: it runs holding the agent's writer lock."""

    @functools.wraps(method)
    def locked(self: W, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.writing():
            return method(self, *args, **kwargs)

    return locked
