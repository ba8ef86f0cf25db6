"""Small facts that must survive between runs, in one SQLite file (home/state.sqlite3).

``meta`` (key/value strings, every key named in store.state.meta_keys) and ``watermarks`` (how
far each source has been read) live here, in the home, whatever the store is. The store's
revision and its writes in flight are a :class:`store.seams.RevisionLog` that StateDB holds and
answers for: the home's own (store.state.revision) or, when several machines share one Chroma
server, the server's (store.shared.revision), as store.backends chooses. WAL mode lets a reader
look while a run writes.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from store.seams import DeadWrite, RevisionLog, Snapshot
from store.state import meta_keys
from store.state.revision import SqliteRevision
from store.state.tables import open_locked

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (
    source_key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL
);
"""


class StateDB:
    """Meta and watermarks over one thread-safe sqlite3 connection, and the revision log
    (``revisions``: the home's own unless one is given)."""

    def __init__(self, path: Path, *, revisions: RevisionLog | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        with self._lock:
            self._conn = open_locked(self.path, _SCHEMA)
        self.revisions: RevisionLog = revisions or SqliteRevision(self.path)

    # --- meta (keys: store.state.meta_keys) ----------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """The value of ``key``, or of the first old spelling of it a home still holds."""
        spellings = (key, *meta_keys.LEGACY.get(key, ()))
        marks = ",".join("?" * len(spellings))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT key, value FROM meta WHERE key IN ({marks})", spellings
            ).fetchall()
        found = dict(rows)
        return next((found[k] for k in spellings if k in found), None)

    def set_meta(self, key: str, value: str) -> None:
        """Write ``key``, dropping its old spellings in the same transaction."""
        legacy = meta_keys.LEGACY.get(key, ())
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, str(value)),
            )
            self._conn.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in legacy])

    def delete_meta(self, key: str) -> None:
        spellings = [(k,) for k in (key, *meta_keys.LEGACY.get(key, ()))]
        with self._lock:
            self._conn.executemany("DELETE FROM meta WHERE key = ?", spellings)

    # --- watermarks ---------------------------------------------------------------------------
    def get_watermark(self, source_key: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM watermarks WHERE source_key = ?", (source_key,)
            ).fetchone()
        return row[0] if row else None

    def set_watermark(self, source_key: str, value: str, at: datetime | None = None) -> None:
        at = at or datetime.now(UTC)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        with self._lock:
            self._conn.execute(
                "INSERT INTO watermarks (source_key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(source_key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (source_key, str(value), at.isoformat()),
            )

    def watermarks(self) -> dict[str, tuple[str, str]]:
        """source_key -> (value, updated_at ISO), for ``paperbrief status``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT source_key, value, updated_at FROM watermarks ORDER BY source_key"
            ).fetchall()
        return {key: (value, updated) for key, value, updated in rows}

    # --- the revision log (store.seams.RevisionLog) ------------------------------------------
    def revision(self) -> int:
        return self.revisions.revision()

    def bump_revision(self) -> int:
        """Call BEFORE writing to the store: a crash mid-write then leaves derived indexes stale."""
        return self.revisions.bump_revision()

    def begin_write(self) -> tuple[str, int]:
        """Register a write and bump the revision, atomically: (token, revision)."""
        return self.revisions.begin_write()

    def note_papers(self, token: str, paper_ids: list[str]) -> None:
        """Record papers a write is about to change, so a crash can be repaired."""
        self.revisions.note_papers(token, paper_ids)

    def end_write(self, token: str) -> int:
        """Unregister a write and bump the revision again (so anything read while it was in
        flight is stale); returns the new revision."""
        return self.revisions.end_write(token)

    def abandon_write(self, token: str) -> None:
        """A write that failed part-way: no longer in flight (the revision moves), but its
        entry stays, as a dead one, for the next write to repair its papers."""
        self.revisions.abandon_write(token)

    def snapshot(self) -> Snapshot:
        """The revision and the writes in flight whose process is alive (a killed writer's
        entry stays until the next write repairs it, but no longer counts as in flight)."""
        return self.revisions.snapshot()

    def dead_writes(self) -> list[DeadWrite]:
        return self.revisions.dead_writes()

    def forget_write(self, token: str) -> None:
        """Drop a dead write's entry once its papers are repaired."""
        self.revisions.forget_write(token)

    def close(self) -> None:
        self.revisions.close()
        with self._lock:
            self._conn.close()
