"""Small facts that must survive between runs, in one SQLite file (home/state.sqlite3).

One table per concern: ``meta`` (key/value strings: active store generation, embedder id, ...),
``watermarks`` (how far each source has been read), ``revision`` (a counter bumped when a write
to the store begins and again when it ends, so derived indexes know when they are stale) and
``writes`` (the writes in flight: who, and which papers they touch). A reader can prove that what
it read is a consistent state: no write in flight and the revision unchanged across the read
(see :meth:`StateDB.snapshot`). WAL mode lets a reader look while a run writes.

When the store is a Chroma server shared by several machines (``shared_url``), the revision and
the writes in flight live on that server instead (store.shared_revision): every home's BM25 copy
then goes stale when any machine writes. Meta and watermarks stay in the home.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from store.pids import pid_alive

if TYPE_CHECKING:
    from store.shared_revision import SharedRevision

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (
    source_key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO revision (id, value) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS writes (
    token TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, started TEXT NOT NULL,
    papers TEXT NOT NULL DEFAULT '[]'
);
"""


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


def _alive(pid: int, host: str) -> bool:
    """Whether the writer may still run (another host's process is assumed to)."""
    # pid 0 marks an abandoned write (and os.kill must never see a pid <= 0)
    return pid > 0 and (host != socket.gethostname() or pid_alive(pid))


class StateDB:
    """Thread-safe wrapper over one sqlite3 connection in autocommit mode."""

    def __init__(self, path: Path, *, shared_url: str | None = None) -> None:
        self.path = Path(path)
        self._shared: SharedRevision | None = None
        if shared_url:
            from store.shared_revision import SharedRevision

            self._shared = SharedRevision(shared_url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30
        )
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)

    # --- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, str(value)),
            )

    def delete_meta(self, key: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM meta WHERE key = ?", (key,))

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

    # --- revision -----------------------------------------------------------------------------
    def revision(self) -> int:
        if self._shared is not None:
            return self._shared.revision()
        with self._lock:
            return int(self._conn.execute("SELECT value FROM revision WHERE id = 1").fetchone()[0])

    def bump_revision(self) -> int:
        """Call BEFORE writing to the store: a crash mid-write then leaves derived indexes stale."""
        if self._shared is not None:
            return self._shared.bump_revision()
        with self._lock:
            row = self._conn.execute(
                "UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value"
            ).fetchone()
        return int(row[0])

    # --- writes in flight -----------------------------------------------------------------------
    def begin_write(self) -> tuple[str, int]:
        """Register a write and bump the revision, atomically: (token, revision)."""
        if self._shared is not None:
            return self._shared.begin_write()
        token = uuid.uuid4().hex
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO writes (token, pid, host, started) VALUES (?, ?, ?, ?)",
                (token, os.getpid(), socket.gethostname(), datetime.now(UTC).isoformat()),
            )
            row = self._conn.execute(
                "UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value"
            ).fetchone()
        return token, int(row[0])

    def note_papers(self, token: str, paper_ids: list[str]) -> None:
        """Record papers a write is about to change, so a crash can be repaired."""
        if self._shared is not None:
            return self._shared.note_papers(token, paper_ids)
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._conn.execute("SELECT papers FROM writes WHERE token = ?", (token,))
            found = row.fetchone()
            if found is None:
                return
            papers = sorted({*json.loads(found[0]), *paper_ids})
            self._conn.execute(
                "UPDATE writes SET papers = ? WHERE token = ?", (json.dumps(papers), token)
            )

    def end_write(self, token: str) -> int:
        """Unregister a write and bump the revision again (so anything read while it was in
        flight is stale); returns the new revision."""
        if self._shared is not None:
            return self._shared.end_write(token)
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM writes WHERE token = ?", (token,))
            row = self._conn.execute(
                "UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value"
            ).fetchone()
        return int(row[0])

    def abandon_write(self, token: str) -> None:
        """A write that failed part-way: no longer in flight (the revision moves), but its
        entry stays, as a dead one, for the next write to repair its papers."""
        if self._shared is not None:
            return self._shared.abandon_write(token)
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("UPDATE writes SET pid = 0 WHERE token = ?", (token,))
            self._conn.execute("UPDATE revision SET value = value + 1 WHERE id = 1")

    def snapshot(self) -> Snapshot:
        """The revision and the writes in flight whose process is alive (a killed writer's
        entry stays until the next write repairs it, but no longer counts as in flight)."""
        if self._shared is not None:
            revision, alive, _ = self._shared.state()
            return Snapshot(revision, frozenset(t for t, up in alive.items() if up))
        with self._lock, self._conn:
            self._conn.execute("BEGIN")
            revision = self._conn.execute("SELECT value FROM revision WHERE id = 1").fetchone()
            rows = self._conn.execute("SELECT token, pid, host FROM writes").fetchall()
        live = frozenset(token for token, pid, host in rows if _alive(pid, host))
        return Snapshot(int(revision[0]), live)

    def dead_writes(self) -> list[DeadWrite]:
        if self._shared is not None:
            _, alive, papers = self._shared.state()
            return [DeadWrite(t, papers[t]) for t, up in alive.items() if not up]
        with self._lock:
            rows = self._conn.execute("SELECT token, pid, host, papers FROM writes").fetchall()
        return [
            DeadWrite(token, json.loads(papers))
            for token, pid, host, papers in rows
            if not _alive(pid, host)
        ]

    def forget_write(self, token: str) -> None:
        """Drop a dead write's entry once its papers are repaired."""
        if self._shared is not None:
            return self._shared.forget_write(token)
        with self._lock:
            self._conn.execute("DELETE FROM writes WHERE token = ?", (token,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
