"""StateDB: meta, watermarks and the revision counter survive reopening and other processes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

from store import StateDB


def test_meta_and_watermarks_persist(tmp_path):
    path = tmp_path / "state.sqlite3"
    db = StateDB(path)
    assert db.get_meta("k") is None and db.get_watermark("arxiv-rss:cs.LG") is None
    db.set_meta("k", "v1")
    db.set_meta("k", "v2")
    at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    db.set_watermark("arxiv-rss:cs.LG", "2024-05-06", at=at)
    db.set_watermark("hf", "2024-05-01", at=datetime(2024, 5, 1, 12, 0))  # naive = UTC
    db.close()

    db = StateDB(path)
    assert db.get_meta("k") == "v2"
    assert db.get_watermark("arxiv-rss:cs.LG") == "2024-05-06"
    marks = db.watermarks()
    assert marks == {
        "arxiv-rss:cs.LG": ("2024-05-06", at.isoformat()),
        "hf": ("2024-05-01", datetime(2024, 5, 1, 12, 0, tzinfo=UTC).isoformat()),
    }
    assert datetime.fromisoformat(marks["arxiv-rss:cs.LG"][1]) == at
    db.delete_meta("k")
    assert db.get_meta("k") is None
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_revision_is_shared_between_connections(tmp_path):
    a = StateDB(tmp_path / "state.sqlite3")
    b = StateDB(tmp_path / "state.sqlite3")
    assert a.revision() == 0
    assert a.bump_revision() == 1
    assert b.bump_revision() == 2
    assert a.revision() == b.revision() == 2
    a.close()
    b.close()
