"""The local revision log (store.seams.RevisionLog), in the home's SQLite file.

Two tables of home/state.sqlite3: ``revision`` (one counter, bumped when a write to the store
begins and again when it ends, so derived indexes know when they are stale) and ``writes`` (the
writes in flight: who, and which papers they touch). A reader can prove that what it read is a
consistent state: no write in flight and the revision unchanged across the read (see
:meth:`SqliteRevision.snapshot`). The shared twin is store.shared.revision.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from store.seams import DeadWrite, Snapshot
from store.state.pids import pid_alive
from store.state.tables import open_locked

_SCHEMA = """
CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO revision (id, value) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS writes (
    token TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, started TEXT NOT NULL,
    papers TEXT NOT NULL DEFAULT '[]'
);
"""


def _alive(pid: int, host: str) -> bool:
    """Whether the writer may still run (another host's process is assumed to)."""
    # pid 0 marks an abandoned write (and os.kill must never see a pid <= 0)
    return pid > 0 and (host != socket.gethostname() or pid_alive(pid))


class SqliteRevision:
    """Thread-safe: one sqlite3 connection in autocommit mode, each call under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        with self._lock:
            self._conn = open_locked(self.path, _SCHEMA)

    def revision(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT value FROM revision WHERE id = 1").fetchone()[0])

    def bump_revision(self) -> int:
        with self._lock:
            row = self._conn.execute(
                "UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value"
            ).fetchone()
        return int(row[0])

    def begin_write(self) -> tuple[str, int]:
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
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM writes WHERE token = ?", (token,))
            row = self._conn.execute(
                "UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value"
            ).fetchone()
        return int(row[0])

    def abandon_write(self, token: str) -> None:
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("UPDATE writes SET pid = 0 WHERE token = ?", (token,))
            self._conn.execute("UPDATE revision SET value = value + 1 WHERE id = 1")

    def snapshot(self) -> Snapshot:
        """A killed writer's entry stays until the next write repairs it, but no longer counts
        as in flight."""
        with self._lock, self._conn:
            self._conn.execute("BEGIN")
            revision = self._conn.execute("SELECT value FROM revision WHERE id = 1").fetchone()
            rows = self._conn.execute("SELECT token, pid, host FROM writes").fetchall()
        live = frozenset(token for token, pid, host in rows if _alive(pid, host))
        return Snapshot(int(revision[0]), live)

    def dead_writes(self) -> list[DeadWrite]:
        with self._lock:
            rows = self._conn.execute("SELECT token, pid, host, papers FROM writes").fetchall()
        return [
            DeadWrite(token, json.loads(papers))
            for token, pid, host, papers in rows
            if not _alive(pid, host)
        ]

    def forget_write(self, token: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM writes WHERE token = ?", (token,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
