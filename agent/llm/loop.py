"""One background event loop per process for all LLM work.

langchain-openai caches its async HTTP client process-wide, and a client must not outlive its
event loop: so every coroutine runs on this one loop (``run_sync``), never on a fresh
``asyncio.run``. It also makes sync callers safe inside Jupyter, whose own loop is running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _LoopThread:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._loop.run_forever, name="paperbrief-llm", daemon=True
                ).start()
            return self._loop


_runner = _LoopThread()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the shared LLM loop and wait for it."""
    future = asyncio.run_coroutine_threadsafe(coro, _runner.loop())
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()  # stop sending requests; what finished is already cached
        raise
