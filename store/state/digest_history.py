"""The local digest history (store.seams.DigestHistory): files on disk, rows in SQLite.

Files go to ``home/digests/<digest id>/digest.{html,md,txt,json}``; rows go to tables prefixed
``digest_`` in the shared ``home/state.sqlite3`` (WAL, one short transaction per call, one
connection per thread, like the summary cache beside it). The module stores strings and ids
only: it knows nothing of the Digest model (``store`` never imports ``agent``).

Tables:
- ``digest_runs``: one row per saved digest (counts, window, folder, delivery status).
- ``digest_sent_papers``: (paper_id, digest_id) for each paper a delivered digest carried.
- ``digest_theme_names``: LLM theme names keyed by (paper ids, model, prompt version).
- ``digest_posts``: (digest_id, channel) for each chat webhook a digest was posted to or failed
  to reach; ``channel`` is a hash of the webhook URL (the URL holds a token), ``label`` its
  masked form.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from store.layout import StoreLayout, safe_name
from store.state.tables import SqliteTables

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digest_runs (
    digest_id    TEXT PRIMARY KEY,
    created_at   TEXT NOT NULL,
    window_start TEXT,
    window_end   TEXT,
    papers       INTEGER NOT NULL,
    themes       INTEGER NOT NULL,
    subject      TEXT NOT NULL,
    folder       TEXT NOT NULL,
    status       TEXT NOT NULL,      -- saved | sent | failed
    recipients   TEXT NOT NULL DEFAULT '',
    sent_at      TEXT,
    error        TEXT
);
CREATE TABLE IF NOT EXISTS digest_sent_papers (
    paper_id  TEXT NOT NULL,
    digest_id TEXT NOT NULL,
    sent_at   TEXT NOT NULL,
    PRIMARY KEY (paper_id, digest_id)
);
CREATE TABLE IF NOT EXISTS digest_posts (
    digest_id TEXT NOT NULL,
    channel   TEXT NOT NULL,
    label     TEXT NOT NULL,
    status    TEXT NOT NULL,      -- posted | failed
    at        TEXT NOT NULL,
    attempts  INTEGER NOT NULL DEFAULT 1,
    error     TEXT,
    PRIMARY KEY (digest_id, channel)
);
CREATE TABLE IF NOT EXISTS digest_theme_names (
    cache_key      TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    overview       TEXT NOT NULL,
    model          TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
"""
#: SQLite's default limit on bound parameters is 999 in old builds: query ids in slices.
_ID_SLICE = 500


def _now() -> str:
    return datetime.now(UTC).isoformat()


def write_files(digests_dir: Path, digest_id: str, files: Mapping[str, str]) -> Path:
    """Write ``files`` (name -> text) into the digest's folder, each atomically."""
    folder = Path(digests_dir) / safe_name(digest_id)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = folder / safe_name(name)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    return folder


class SqliteDigestHistory(SqliteTables):
    def __init__(self, db_path: Path, digests_dir: Path) -> None:
        super().__init__(db_path, _SCHEMA)
        self.digests_dir = Path(digests_dir)
        self._add_profile_column()

    def _add_profile_column(self) -> None:
        """Histories written before profiles existed belong to the default profile."""
        conn = self._conn()
        columns = {row[1] for row in conn.execute("PRAGMA table_info(digest_runs)")}
        if "profile" not in columns:
            try:
                conn.execute(
                    "ALTER TABLE digest_runs ADD COLUMN profile TEXT NOT NULL DEFAULT 'default'"
                )
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise

    @classmethod
    def in_home(cls, home: Path) -> SqliteDigestHistory:
        layout = StoreLayout(home)
        return cls(layout.state_db, layout.digests)

    # --- saving -----------------------------------------------------------------------------
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
        """Write ``files`` (name -> text) into the digest's folder atomically, then its row."""
        folder = write_files(self.digests_dir, digest_id, files)
        with self._tx() as db:
            db.execute(
                "INSERT INTO digest_runs (digest_id, created_at, window_start, window_end, papers,"
                " themes, subject, folder, status, profile) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'saved', ?) "
                "ON CONFLICT(digest_id) DO UPDATE SET papers=excluded.papers, "
                "themes=excluded.themes, subject=excluded.subject, folder=excluded.folder",
                (
                    digest_id,
                    created_at,
                    window_start,
                    window_end,
                    papers,
                    themes,
                    subject,
                    str(folder),
                    profile,
                ),
            )
        return folder

    def mark_sent(
        self, digest_id: str, paper_ids: Sequence[str], recipients: Sequence[str] = ()
    ) -> None:
        """Remember that this digest was delivered and which papers it carried."""
        at = _now()
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO digest_sent_papers (paper_id, digest_id, sent_at) "
                "VALUES (?, ?, ?)",
                [(pid, digest_id, at) for pid in dict.fromkeys(paper_ids)],
            )
            db.execute(
                "UPDATE digest_runs SET status='sent', sent_at=?, recipients=?, error=NULL "
                "WHERE digest_id=?",
                (at, ", ".join(recipients), digest_id),
            )

    def mark_failed(self, digest_id: str, error: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE digest_runs SET status='failed', error=? WHERE digest_id=?",
                (error[:1000], digest_id),
            )

    # --- reading ----------------------------------------------------------------------------
    def sent_ids(self, paper_ids: Sequence[str], profile: str = "default") -> set[str]:
        """The subset of ``paper_ids`` that an earlier delivered digest of ``profile`` carried
        (each reader of a team digest gets every paper once)."""
        wanted = list(dict.fromkeys(paper_ids))
        found: set[str] = set()
        conn = self._conn()
        for start in range(0, len(wanted), _ID_SLICE):
            chunk = wanted[start : start + _ID_SLICE]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                "SELECT DISTINCT s.paper_id FROM digest_sent_papers s JOIN digest_runs r "
                f"ON r.digest_id = s.digest_id WHERE r.profile = ? AND s.paper_id IN ({marks})",
                [profile, *chunk],
            ).fetchall()
            found.update(r[0] for r in rows)
        return found

    def runs(self, limit: int = 20, profiles: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` saved digests, of ``profiles`` only when given."""
        where, args = "", []
        if profiles is not None:
            where = f"WHERE profile IN ({','.join('?' * len(profiles))}) "
            args = list(profiles)
        cur = self._conn().execute(
            f"SELECT * FROM digest_runs {where}ORDER BY created_at DESC, digest_id DESC LIMIT ?",
            (*args, limit),
        )
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def run(self, digest_id: str) -> dict[str, Any] | None:
        cur = self._conn().execute("SELECT * FROM digest_runs WHERE digest_id=?", (digest_id,))
        row = cur.fetchone()
        return dict(zip([c[0] for c in cur.description], row, strict=True)) if row else None

    def exists(self, digest_id: str) -> bool:
        return self.run(digest_id) is not None

    # --- chat posts ---------------------------------------------------------------------------
    def record_post(
        self, digest_id: str, channel: str, *, label: str, ok: bool, error: str | None = None
    ) -> None:
        """Remember one attempt to post ``digest_id`` to ``channel``; a success is final (a
        later failure never turns it back into one to retry)."""
        status = "posted" if ok else "failed"
        with self._tx() as db:
            db.execute(
                "INSERT INTO digest_posts (digest_id, channel, label, status, at, error) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(digest_id, channel) DO UPDATE SET "
                "attempts = attempts + 1, label = excluded.label, "
                "at = CASE WHEN status = 'posted' THEN at ELSE excluded.at END, "
                "error = CASE WHEN status = 'posted' THEN NULL ELSE excluded.error END, "
                "status = CASE WHEN status = 'posted' THEN 'posted' ELSE excluded.status END",
                (digest_id, channel, label, status, _now(), None if ok else (error or "")[:1000]),
            )

    def posted_channels(self, digest_id: str) -> set[str]:
        """The channels ``digest_id`` was posted to."""
        rows = self._conn().execute(
            "SELECT channel FROM digest_posts WHERE digest_id=? AND status='posted'", (digest_id,)
        )
        return {r[0] for r in rows}

    def failed_posts(
        self, profile: str, channels: Sequence[str], since: str | None = None
    ) -> list[tuple[str, str]]:
        """(digest_id, channel) of ``profile``'s digests whose post to one of ``channels``
        failed and never succeeded, oldest first; only digests created at ``since`` or later."""
        if not channels:
            return []
        marks = ",".join("?" * len(channels))
        rows = self._conn().execute(
            "SELECT p.digest_id, p.channel FROM digest_posts p JOIN digest_runs r "
            "ON r.digest_id = p.digest_id WHERE p.status = 'failed' AND r.profile = ? "
            f"AND p.channel IN ({marks}) AND r.created_at >= ? "
            "ORDER BY r.created_at, p.digest_id",
            [profile, *channels, since or ""],
        )
        return [(r[0], r[1]) for r in rows]

    def posts(self, digest_id: str) -> list[dict[str, Any]]:
        """Every post record of ``digest_id`` (channel, label, status, at, attempts, error)."""
        cur = self._conn().execute(
            "SELECT channel, label, status, at, attempts, error FROM digest_posts "
            "WHERE digest_id=? ORDER BY label",
            (digest_id,),
        )
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    # --- theme-name cache ---------------------------------------------------------------------
    def get_theme_name(self, key: str) -> tuple[str, str] | None:
        row = (
            self._conn()
            .execute("SELECT name, overview FROM digest_theme_names WHERE cache_key=?", (key,))
            .fetchone()
        )
        return (row[0], row[1]) if row else None

    def put_theme_name(
        self, key: str, name: str, overview: str, *, model: str, prompt_version: str
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO digest_theme_names VALUES (?, ?, ?, ?, ?, ?)",
                (key, name, overview, model, prompt_version, _now()),
            )
