"""Small facts that must survive between runs, in one SQLite file (home/state.sqlite3).

One table per concern: ``meta`` (key/value strings: active store generation, embedder id, ...),
``watermarks`` (how far each source has been read), ``revision`` (a counter bumped before every
write to the store, so derived indexes know when they are stale). WAL mode lets a reader (the
CLI's ``status``) look while a run writes.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (
    source_key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO revision (id, value) VALUES (1, 0);
"""


class StateDB:
    """Thread-safe wrapper over one sqlite3 connection in autocommit mode."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
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
        with self._lock:
            return int(self._conn.execute("SELECT value FROM revision WHERE id = 1").fetchone()[0])

    def bump_revision(self) -> int:
        """Call BEFORE writing to the store: a crash mid-write then leaves derived indexes stale."""
        with self._lock:
            row = self._conn.execute(
                "UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value"
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
