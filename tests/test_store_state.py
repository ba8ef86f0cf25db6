"""StateDB: meta, watermarks and the revision counter survive reopening and other processes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from store import PaperStore, StateDB
from store.embedding.embedders import HashingEmbedder
from store.errors import StoreError
from store.layout import StoreLayout
from store.state import meta_keys


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


def test_a_meta_key_renamed_since_a_release_is_read_under_its_old_spelling(tmp_path):
    path = tmp_path / "state.sqlite3"
    StateDB(path).close()
    with sqlite3.connect(path) as db:  # a home written by 0.1: dotted store keys
        db.execute("INSERT INTO meta VALUES ('store.generation', '4')")
    state = StateDB(path)
    assert state.get_meta(meta_keys.GENERATION) == "4"
    state.set_meta(meta_keys.GENERATION, "5")  # the new spelling replaces the old one
    assert state.get_meta(meta_keys.GENERATION) == "5"
    keys = [k for (k,) in sqlite3.connect(path).execute("SELECT key FROM meta")]
    assert keys == ["store:generation"]
    state.delete_meta(meta_keys.GENERATION)
    assert state.get_meta(meta_keys.GENERATION) is None
    state.close()


def test_a_home_of_the_previous_release_opens_on_its_generation(tmp_path):
    home, emb = tmp_path / "home", HashingEmbedder(32)
    paper = {"id": "2501.00001", "title": "Coral reefs", "abstract": "Reefs bleach.",
             "published": "2025-01-02T00:00:00Z"}  # fmt: skip
    with PaperStore(home, emb) as store:
        store.upsert([paper])

    def respell(pointer: str) -> None:  # as 0.1 wrote them: dotted store keys
        with sqlite3.connect(StoreLayout(home).state_db) as db:
            db.execute("DELETE FROM meta WHERE key LIKE 'store%generation'")
            db.execute("INSERT INTO meta VALUES ('store.generation', ?)", (pointer,))

    respell("1")
    with PaperStore(home, emb) as store:
        assert [p["id"] for p in store.get_many(["2501.00001"])] == ["2501.00001"]
    respell("7")  # the old key is really read: it names a generation this Chroma lacks
    with pytest.raises(StoreError, match="generation 7"):
        PaperStore(home, emb)
