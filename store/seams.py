"""The storage seams: one Protocol per concern that has a local and a shared backend.

Each concern lives either in the home's SQLite file (``store.state``: one machine) or on the
``chroma run`` server that holds the papers (``store.shared``: every machine pointed at it
sees the same rows). Callers hold the Protocol, never a backend class, and only
:class:`store.backends.Backends` chooses which backend serves a home. The contract tests
(tests/test_storage_contracts.py) run the same assertions against both.

=================  ==============================  ======================================
concern            local (home/state.sqlite3)      shared (the Chroma server)
=================  ==============================  ======================================
SummaryCache       state.summary_cache             shared.summary_cache
DigestHistory      state.digest_history            shared.digest_history
ReaderSignals      state.reader_signals            shared.reader_signals
RevisionLog        state.revision                  shared.revision
WriterLease        state.run_lock (run.lock)       shared.lease (+ the home's run.lock)
=================  ==============================  ======================================

The records these Protocols hand back are defined here too, so neither backend imports the
other's module for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy only for annotations: StateDB imports this module, and must stay cheap
    import numpy as np


# --- records ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredItem:
    """One library item of a profile, with its vector and the embedder that made it."""

    key: str
    title: str
    item: dict[str, Any]
    vector: np.ndarray | None
    embedder_id: str | None
    added_at: str


@dataclass(frozen=True)
class StoredRating:
    paper_id: str
    value: int
    title: str
    rated_at: str


@dataclass(frozen=True)
class Snapshot:
    """The revision and the live writes at one instant (read in one transaction)."""

    revision: int
    live: frozenset[str] = frozenset()

    @property
    def quiet(self) -> bool:
        """No write in flight: what is in Chroma now is the whole state at ``revision``."""
        return not self.live


@dataclass(frozen=True)
class DeadWrite:
    """A write whose process died before it ended: the papers it may have left half-updated."""

    token: str
    papers: list[str]


# --- the seams -----------------------------------------------------------------------------------
@runtime_checkable
class SummaryCache(Protocol):
    """Summaries (JSON text) keyed by paper, version, text hash, model and prompt version; and
    which structured-output method works per endpoint and model (always the home's own)."""

    def get(
        self, paper_id: str, version: int | None, content_hash: str, model: str, prompt_version: str
    ) -> str | None: ...

    def latest(
        self, paper_id: str, version: int | None = None, content_hash: str | None = None
    ) -> str | None:
        """The newest summary of a paper (optionally of one version / text), any model."""
        ...

    def put(
        self,
        paper_id: str,
        version: int | None,
        content_hash: str,
        model: str,
        prompt_version: str,
        summary_json: str,
    ) -> None: ...

    def delete_for_paper(self, paper_id: str) -> int: ...

    def count(self) -> int: ...

    def get_method(self, endpoint: str, model: str) -> str | None: ...

    def set_method(self, endpoint: str, model: str, method: str | None) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class DigestHistory(Protocol):
    """Every saved digest (its files under ``digests_dir``, always in the home), which papers
    each profile was sent, chat posts, and LLM theme names."""

    digests_dir: Path

    def save(
        self,
        digest_id: str,
        files: Mapping[str, str],
        *,
        created_at: str,
        subject: str,
        papers: int,
        themes: int,
        window_start: str | None = None,
        window_end: str | None = None,
        profile: str = "default",
    ) -> Path:
        """Write ``files`` (name -> text) into the digest's folder, then its row."""
        ...

    def mark_sent(
        self, digest_id: str, paper_ids: Sequence[str], recipients: Sequence[str] = ()
    ) -> None: ...

    def mark_failed(self, digest_id: str, error: str) -> None: ...

    def sent_ids(self, paper_ids: Sequence[str], profile: str = "default") -> set[str]:
        """The subset of ``paper_ids`` an earlier delivered digest of ``profile`` carried."""
        ...

    def runs(self, limit: int = 20, profiles: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` saved digests, of ``profiles`` only when given."""
        ...

    def run(self, digest_id: str) -> dict[str, Any] | None: ...

    def exists(self, digest_id: str) -> bool: ...

    def record_post(
        self, digest_id: str, channel: str, *, label: str, ok: bool, error: str | None = None
    ) -> None:
        """One attempt to post a digest to a channel; a success is final."""
        ...

    def posted_channels(self, digest_id: str) -> set[str]: ...

    def failed_posts(
        self, profile: str, channels: Sequence[str], since: str | None = None
    ) -> list[tuple[str, str]]:
        """(digest_id, channel) whose post failed and never succeeded, oldest first."""
        ...

    def posts(self, digest_id: str) -> list[dict[str, Any]]: ...

    def get_theme_name(self, key: str) -> tuple[str, str] | None: ...

    def put_theme_name(
        self, key: str, name: str, overview: str, *, model: str, prompt_version: str
    ) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class ReaderSignals(Protocol):
    """What each profile's reader told us: library items (with vectors) and ratings."""

    def put_items(
        self,
        profile: str,
        items: Sequence[tuple[str, str, dict[str, Any]]],
        vectors: np.ndarray,
        embedder_id: str,
    ) -> int:
        """Insert or replace (key, title, item) rows with their vectors; how many."""
        ...

    def items(self, profile: str) -> list[StoredItem]: ...

    def remove_items(self, profile: str, keys: Sequence[str] | None = None) -> int:
        """Remove the given keys (all of the profile's items when ``keys`` is None)."""
        ...

    def rate(self, profile: str, paper_id: str, value: int, title: str) -> None: ...

    def unrate(self, profile: str, paper_id: str) -> bool: ...

    def ratings(self, profile: str) -> list[StoredRating]: ...

    def counts(self, profile: str) -> dict[str, int]: ...

    def close(self) -> None: ...


@runtime_checkable
class RevisionLog(Protocol):
    """The store's revision and its writes in flight: a counter bumped when a write begins and
    again when it ends, so derived indexes (BM25) know when they are stale, and each write's
    papers, so a crashed write can be repaired."""

    def revision(self) -> int: ...

    def bump_revision(self) -> int:
        """Call BEFORE writing to the store: a crash mid-write then leaves indexes stale."""
        ...

    def begin_write(self) -> tuple[str, int]:
        """Register a write and bump the revision, atomically: (token, revision)."""
        ...

    def note_papers(self, token: str, paper_ids: list[str]) -> None:
        """Record papers a write is about to change, so a crash can be repaired."""
        ...

    def end_write(self, token: str) -> int:
        """Unregister a write and bump the revision again; the new revision."""
        ...

    def abandon_write(self, token: str) -> None:
        """A write that failed part-way: no longer in flight (the revision moves), but kept as
        a dead write for the next one to repair."""
        ...

    def snapshot(self) -> Snapshot:
        """The revision and the writes in flight whose writer is alive."""
        ...

    def dead_writes(self) -> list[DeadWrite]: ...

    def forget_write(self, token: str) -> None:
        """Drop a dead write's entry once its papers are repaired."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class WriterLease(Protocol):
    """One writer at a time: ``acquire`` waits up to ``wait`` seconds, then raises a
    LockedError naming the holder; ``release`` lets the next one in (and is harmless twice)."""

    def acquire(self, wait: float = 0.0) -> None: ...

    def release(self) -> None: ...
