"""Shared plumbing for the small SQLite tables beside the store (state.sqlite3).

Several processes (a scheduled run, a `status` in another terminal) share the file: WAL mode, a
generous busy timeout, and one short ``BEGIN IMMEDIATE`` transaction per write. ``SqliteTables``
keeps one connection per thread (sqlite3 connections must not cross threads); ``open_locked``
is the one connection that StateDB and SqliteRevision share across threads under a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from store.state.health import check_file, damage_of


def open_locked(path: Path, schema: str) -> sqlite3.Connection:
    """One connection shared by the threads of a process, each call under the owner's lock
    (StateDB, SqliteRevision): autocommit, WAL, and the (idempotent) schema applied. A damaged
    file is refused with StateDamaged, never started over (store.state.health)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    check_file(Path(path))
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    with _refusing_damage(Path(path), conn.close):
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(schema)
    return conn


@contextmanager
def _refusing_damage(path: Path, close: Callable[[], None]) -> Iterator[None]:
    """SQLite's "malformed" on opening becomes StateDamaged (after ``close()``)."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        found = damage_of(exc, path)
        if found is None:
            raise
        close()
        raise found from exc


class SqliteTables:
    """Base for a class owning some tables: pass the file and its ``CREATE ... IF NOT EXISTS``."""

    def __init__(self, path: Path, schema: str) -> None:
        self.db_path = Path(path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        check_file(self.db_path)
        self._local = threading.local()
        # executescript commits by itself, so the (idempotent) schema is not wrapped in _tx.
        with _refusing_damage(self.db_path, self.close):
            self._conn().executescript(schema)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
