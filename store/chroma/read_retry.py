"""Reads that survive another process writing to the same embedded Chroma.

chromadb 1.5.9's embedded store is not multi-process safe for readers: while another process
writes, a query can fail with ``InternalError: Error executing plan: Internal error: Error
finding id`` (measured: 622 of 704 search rounds failed during a 600-paper ingest). Retrying on
the same client can keep failing for a second or more; reopening the client made the next try
succeed (1,712 of 1,724 rounds at once, the rest on the first reopen). So a read that fails
this way reopens the client and tries again, a few times, with a short pause.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from store.errors import StoreError

log = logging.getLogger(__name__)

#: Tries of one read (the first included); the pauses between them double from PAUSE.
ATTEMPTS = 8
PAUSE = 0.05

F = TypeVar("F", bound=Callable[..., Any])


class Reopenable(Protocol):
    _read_depth: int

    def _reopen(self) -> None: ...


#: What SQLite (inside Chroma) says when the disk is full: no retry helps, nor another writer.
_DISK_FULL = ("database or disk is full", "no space left on device", "disk quota exceeded")


def disk_full(exc: BaseException) -> bool:
    return any(text in str(exc).lower() for text in _DISK_FULL)


def transient(exc: BaseException) -> bool:
    """A Chroma error a concurrent writer causes in a reader (not a bad request, not a full
    disk)."""
    try:
        from chromadb.errors import InternalError
    except ImportError:  # pragma: no cover - chromadb is a dependency
        return False
    return isinstance(exc, InternalError) and not disk_full(exc)


def _disk_is_full(exc: Exception) -> StoreError:
    return StoreError(
        f"The disk holding the store is full: Chroma could not write ({exc}).",
        hint="Free some space on that disk, or move the home to a larger one (--home), then "
        "run the command again.",
    )


def _gave_up(exc: Exception) -> StoreError:
    return StoreError(
        f"Chroma kept failing while another process wrote to it: {exc}",
        hint="Run the command again when the other one has finished.",
    )


def retry_transient(call: Callable[[], Any], on_retry: Callable[[], None] | None = None) -> Any:
    """``call()``, tried again (after a pause, and ``on_retry()``) while it fails with a
    transient Chroma error."""
    for attempt in range(ATTEMPTS):
        try:
            return call()
        except Exception as exc:
            if disk_full(exc):
                raise _disk_is_full(exc) from exc
            if not transient(exc):
                raise
            if attempt == ATTEMPTS - 1:
                raise _gave_up(exc) from exc
            log.info("transient Chroma error (%s); retrying", exc)
        time.sleep(PAUSE * 2**attempt)
        if on_retry is not None:
            on_retry()
    raise AssertionError("unreachable")  # pragma: no cover


def retrying_read(method: F) -> F:
    """Wrap a read method of PaperStore: on a transient Chroma error, reopen and retry. Nested
    reads (list_papers calls get_many) retry only at the outermost level."""

    @functools.wraps(method)
    def wrapper(self: Reopenable, *args: Any, **kwargs: Any) -> Any:
        if self._read_depth:
            return method(self, *args, **kwargs)

        def call() -> Any:
            self._read_depth += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                self._read_depth -= 1

        return retry_transient(call, on_retry=self._reopen)

    return wrapper  # type: ignore[return-value]
