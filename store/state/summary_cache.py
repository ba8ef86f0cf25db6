"""The local summary cache (store.seams.SummaryCache), beside the StateDB in home/state.sqlite3.

Rows are keyed by (paper_id, version, content_hash, model, prompt_version): a rerun with the
same paper text, model and prompt finds its summary and calls no LLM. The summary is stored as
JSON text; this module knows nothing about its shape (layering: ``store`` never imports
``agent``). A second table remembers which structured-output method worked per endpoint+model.

Tables are prefixed ``summary_`` / ``llm_`` so they cannot collide with the StateDB's. WAL mode
and one short transaction per call let several processes share the file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from store.state.tables import SqliteTables

_SCHEMA = """
CREATE TABLE IF NOT EXISTS summary_cache (
    paper_id       TEXT NOT NULL,
    version        INTEGER NOT NULL,   -- -1 when the source gives no version
    content_hash   TEXT NOT NULL,
    model          TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    summary_json   TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (paper_id, version, content_hash, model, prompt_version)
);
CREATE INDEX IF NOT EXISTS summary_cache_paper ON summary_cache (paper_id, created_at);
CREATE TABLE IF NOT EXISTS llm_structured_method (
    endpoint   TEXT NOT NULL,
    model      TEXT NOT NULL,
    method     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (endpoint, model)
);
"""
_NO_VERSION = -1


def _v(version: int | None) -> int:
    return _NO_VERSION if version is None else version


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SqliteSummaryCache(SqliteTables):
    """get/put/delete_for_paper/count over ``summary_cache``; get_method/set_method for methods."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        self.path = self.db_path

    # --- summaries -----------------------------------------------------------------------------
    def get(
        self, paper_id: str, version: int | None, content_hash: str, model: str, prompt_version: str
    ) -> str | None:
        row = (
            self._conn()
            .execute(
                "SELECT summary_json FROM summary_cache WHERE paper_id=? AND version=? "
                "AND content_hash=? AND model=? AND prompt_version=?",
                (paper_id, _v(version), content_hash, model, prompt_version),
            )
            .fetchone()
        )
        return row[0] if row else None

    def latest(
        self, paper_id: str, version: int | None = None, content_hash: str | None = None
    ) -> str | None:
        """The newest summary of a paper (optionally of one version / text), any model."""
        sql = "SELECT summary_json FROM summary_cache WHERE paper_id=?"
        args: list[object] = [paper_id]
        if version is not None:
            sql += " AND version=?"
            args.append(version)
        if content_hash is not None:
            sql += " AND content_hash=?"
            args.append(content_hash)
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT 1"
        row = self._conn().execute(sql, args).fetchone()
        return row[0] if row else None

    def put(
        self,
        paper_id: str,
        version: int | None,
        content_hash: str,
        model: str,
        prompt_version: str,
        summary_json: str,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO summary_cache VALUES (?, ?, ?, ?, ?, ?, ?)",
                (paper_id, _v(version), content_hash, model, prompt_version, summary_json, _now()),
            )

    def delete_for_paper(self, paper_id: str) -> int:
        with self._tx() as db:
            return db.execute("DELETE FROM summary_cache WHERE paper_id=?", (paper_id,)).rowcount

    def count(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM summary_cache").fetchone()[0]

    # --- structured-output method per endpoint+model ------------------------------------------
    def get_method(self, endpoint: str, model: str) -> str | None:
        row = (
            self._conn()
            .execute(
                "SELECT method FROM llm_structured_method WHERE endpoint=? AND model=?",
                (endpoint, model),
            )
            .fetchone()
        )
        return row[0] if row else None

    def set_method(self, endpoint: str, model: str, method: str | None) -> None:
        with self._tx() as db:
            if method is None:
                db.execute(
                    "DELETE FROM llm_structured_method WHERE endpoint=? AND model=?",
                    (endpoint, model),
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO llm_structured_method VALUES (?, ?, ?, ?)",
                    (endpoint, model, method, _now()),
                )
