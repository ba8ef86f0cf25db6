"""The local reader signals (store.seams.ReaderSignals): library items and ratings, per profile.

Both live in ``state.sqlite3`` beside the run state, one row per (profile, item) so a re-import
or a second rating replaces instead of piling up. Library items keep their text and their vector
with the id of the embedder that made it: when the store is reindexed with another model, the
caller re-embeds (the text is here) instead of mixing spaces. Ratings keep only the paper id and
its title (the paper's vector is in Chroma). This module knows nothing of ``agent``'s models: it
stores JSON text and float32 blobs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from store.seams import StoredItem, StoredRating
from store.state.tables import SqliteTables

_SCHEMA = """
CREATE TABLE IF NOT EXISTS library_items (
    profile     TEXT NOT NULL,
    key         TEXT NOT NULL,
    title       TEXT NOT NULL,
    item_json   TEXT NOT NULL,
    vector      BLOB,
    embedder_id TEXT,
    added_at    TEXT NOT NULL,
    PRIMARY KEY (profile, key)
);
CREATE TABLE IF NOT EXISTS ratings (
    profile   TEXT NOT NULL,
    paper_id  TEXT NOT NULL,
    value     INTEGER NOT NULL CHECK (value IN (-1, 1)),
    title     TEXT NOT NULL,
    rated_at  TEXT NOT NULL,
    PRIMARY KEY (profile, paper_id)
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SqliteReaderSignals(SqliteTables):
    """Library items and ratings per profile name."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    # --- library -------------------------------------------------------------------------------
    def put_items(
        self,
        profile: str,
        items: Sequence[tuple[str, str, dict[str, Any]]],
        vectors: np.ndarray,
        embedder_id: str,
    ) -> int:
        """Insert or replace (key, title, item) rows with their vectors, all in one transaction:
        an import either lands whole or not at all."""
        if len(items) != len(vectors):
            raise ValueError("one vector per item")
        now = _now()
        rows = [
            (
                profile,
                key,
                title,
                json.dumps(item, ensure_ascii=False),
                np.asarray(vec, dtype=np.float32).tobytes(),
                embedder_id,
                now,
            )
            for (key, title, item), vec in zip(items, vectors, strict=True)
        ]
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO library_items "
                "(profile, key, title, item_json, vector, embedder_id, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(profile, key) DO UPDATE SET "
                "title = excluded.title, item_json = excluded.item_json, "
                "vector = excluded.vector, embedder_id = excluded.embedder_id",
                rows,
            )
        return len(rows)

    def items(self, profile: str) -> list[StoredItem]:
        rows = (
            self._conn()
            .execute(
                "SELECT key, title, item_json, vector, embedder_id, added_at FROM library_items "
                "WHERE profile = ? ORDER BY added_at, key",
                (profile,),
            )
            .fetchall()
        )
        return [
            StoredItem(
                key=key,
                title=title,
                item=json.loads(raw),
                vector=np.frombuffer(blob, dtype=np.float32) if blob else None,
                embedder_id=emb,
                added_at=added,
            )
            for key, title, raw, blob, emb, added in rows
        ]

    def remove_items(self, profile: str, keys: Sequence[str] | None = None) -> int:
        """Remove the given keys (all of the profile's items when ``keys`` is None)."""
        with self._tx() as conn:
            if keys is None:
                cur = conn.execute("DELETE FROM library_items WHERE profile = ?", (profile,))
                return cur.rowcount
            removed = 0
            for key in keys:
                cur = conn.execute(
                    "DELETE FROM library_items WHERE profile = ? AND key = ?", (profile, key)
                )
                removed += cur.rowcount
            return removed

    # --- ratings -------------------------------------------------------------------------------
    def rate(self, profile: str, paper_id: str, value: int, title: str) -> None:
        if value not in (-1, 1):
            raise ValueError("a rating is +1 or -1")
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO ratings (profile, paper_id, value, title, rated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(profile, paper_id) DO UPDATE SET "
                "value = excluded.value, title = excluded.title, rated_at = excluded.rated_at",
                (profile, paper_id, value, title, _now()),
            )

    def unrate(self, profile: str, paper_id: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "DELETE FROM ratings WHERE profile = ? AND paper_id = ?", (profile, paper_id)
            )
            return cur.rowcount > 0

    def ratings(self, profile: str) -> list[StoredRating]:
        rows = (
            self._conn()
            .execute(
                "SELECT paper_id, value, title, rated_at FROM ratings WHERE profile = ? "
                "ORDER BY rated_at",
                (profile,),
            )
            .fetchall()
        )
        return [StoredRating(*row) for row in rows]

    def counts(self, profile: str) -> dict[str, int]:
        conn = self._conn()
        items = conn.execute(
            "SELECT COUNT(*) FROM library_items WHERE profile = ?", (profile,)
        ).fetchone()[0]
        up, down = conn.execute(
            "SELECT COALESCE(SUM(value = 1), 0), COALESCE(SUM(value = -1), 0) FROM ratings "
            "WHERE profile = ?",
            (profile,),
        ).fetchone()
        return {"library": int(items), "rated_up": int(up), "rated_down": int(down)}
