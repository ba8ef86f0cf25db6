"""Shared plumbing for the small SQLite tables beside the store (state.sqlite3).

Several processes (a scheduled run, a `status` in another terminal) share the file: WAL mode, a
generous busy timeout, one connection per thread (sqlite3 connections must not cross threads) and
one short ``BEGIN IMMEDIATE`` transaction per write.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteTables:
    """Base for a class owning some tables: pass the file and its ``CREATE ... IF NOT EXISTS``."""

    def __init__(self, path: Path, schema: str) -> None:
        self.db_path = Path(path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # executescript commits by itself, so the (idempotent) schema is not wrapped in _tx.
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
