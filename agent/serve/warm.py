"""A long-lived PaperAgent for servers (the MCP server, the local daemon) that is never stale.

A one-shot command pays ~1 s before its first answer: importing chromadb and onnxruntime,
loading the model, and Chroma's first read. A server pays it once. What it must not do is answer
from the view it opened with: a Chroma client keeps the index it loaded, and the daily ``run``
in another process writes under it. So before every call the store revision (one row of the
state table, or of the shared store) is compared with the revision the open store was opened at;
when it moved, the store is closed and opened again (the embedder stays loaded). A changed config
file builds a new agent altogether. Calls are serialized: PaperAgent is not thread-safe, and a
search takes tens of milliseconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from agent.config import Settings

if TYPE_CHECKING:
    from agent.pipeline import PaperAgent

log = logging.getLogger(__name__)


def _stamp(path: Path | None) -> tuple[int, int] | None:
    """The config file's (mtime_ns, size), or None when there is none."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class WarmAgent:
    """``with warm.use() as agent: agent.search(...)``: one PaperAgent, kept current.

    ``load`` builds the settings (called again when the config file changes); ``config`` is the
    file to watch; ``make_agent`` builds the agent from settings (inject one for tests).
    """

    def __init__(
        self,
        load: Callable[[], Settings],
        *,
        config: Path | None = None,
        make_agent: Callable[[Settings], PaperAgent] | None = None,
    ) -> None:
        self._load = load
        self._config = config
        self._make = make_agent or _default_agent
        self._lock = threading.RLock()
        self._agent: PaperAgent | None = None
        self._stamp: tuple[int, int] | None = None
        self._revision: int | None = None

    @property
    def settings(self) -> Settings:
        with self.use() as agent:
            return agent.settings

    def warm_up(self) -> None:
        """Open the store, load the model and the BM25 index now, not on the first question."""
        with self.use() as agent:
            if agent.status()["papers"]:
                agent.search("warm up", k=1)

    @contextmanager
    def use(self) -> Iterator[PaperAgent]:
        """The agent, current with the config file and the store revision, held exclusively."""
        with self._lock:
            yield self._current()

    def close(self) -> None:
        with self._lock:
            if self._agent is not None:
                self._agent.close()
                self._agent = None

    # --- keeping current --------------------------------------------------------------------
    def _current(self) -> PaperAgent:
        stamp = _stamp(self._config)
        if self._agent is not None and stamp != self._stamp:
            log.info("config file %s changed: reloading settings", self._config)
            self._agent.close()
            self._agent = None
        if self._agent is None:
            self._stamp = stamp
            self._agent = self._make(self._load())
            self._revision = None
        agent = self._agent
        if self._revision is None:
            self._revision = agent.store.state.revision()  # opens the store
            return agent
        revision = agent.store.state.revision()
        if revision != self._revision:
            # Another process wrote (or reindexed onto a new generation): open the store again
            # rather than trust the view this client loaded. The embedder stays in memory.
            log.info("store revision %s -> %s: reopening the store", self._revision, revision)
            agent.reopen_store()
            self._revision = agent.store.state.revision()
        return agent


def _default_agent(settings: Settings) -> PaperAgent:
    from agent.pipeline import PaperAgent

    return PaperAgent(settings)


__all__ = ["WarmAgent"]
