"""Crash consistency: a process killed mid-upsert or mid-reindex leaves a store the next run
completes; a stale BM25 index is noticed and rebuilt."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from store import PaperStore, StateDB
from store.embedding.embedders import HashingEmbedder
from store.errors import EmbeddingMismatchError
from store.layout import StoreLayout
from store.papers.chunking import chunk_paper

TOPICS = [
    ("graph", "graph neural networks message passing molecules atoms bonds"),
    ("vision", "image segmentation convolution pixels masks boundaries"),
    ("speech", "speech recognition acoustic phonemes spectrogram decoding"),
    ("robots", "robot grasping manipulation policy simulation sim-to-real"),
    ("privacy", "differential privacy federated clients clipping noise budget"),
]


def _records(n: int) -> list[dict]:
    records = []
    for i in range(n):
        name, words = TOPICS[i % len(TOPICS)]
        w = words.split()
        sentences = [
            f"Study {i} examines {w[i % len(w)]} and {w[(i + 1) % len(w)]} at scale {i}.",
            f"We measure {w[(i + 2) % len(w)]} against {w[(i + 3) % len(w)]} baselines.",
            f"Results improve by {i % 7}.{i % 10} points on {name} benchmarks.",
            f"The token marker{i} identifies this abstract uniquely.",
        ][: 1 + i % 4]
        records.append(
            {
                "id": f"2501.{i:05d}",
                "version": 1,
                "title": f"Paper {i} on {name}",
                "abstract": " ".join(sentences),
                "authors": [f"Author {i}"],
                "categories": ["cs.LG", f"cs.{name[:2].upper()}"],
                "primary_category": "cs.LG",
                "published": f"2025-01-{1 + i % 28:02d}T00:00:00Z",
                "updated": None,
                "source": "arxiv-rss",
                "url": None,
                "pdf_url": None,
                "announce_type": "new",
                "extra": {},
            }
        )
    return records


def _first_chunk(record: dict) -> str:
    return chunk_paper(record["title"], record["abstract"])[0]


# The child ingests (or reindexes) and, at a chosen Chroma write, announces itself and waits to
# be killed: the kill lands at a known point without timing guesses.
CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from store import PaperStore
    from store.embedding.embedders import HashingEmbedder

    home, records_file, action, kind, nth = sys.argv[1:6]
    seen = {"chunks": 0, "papers": 0, "delete": 0}

    def on_write(k, n):
        seen[k] += 1
        if k == kind and seen[k] == int(nth):
            print("KILL ME", json.dumps(seen), flush=True)
            time.sleep(120)

    if action == "upsert":
        store = PaperStore(Path(home), HashingEmbedder(64), max_batch_size=16,
                           papers_per_batch=50, on_write=on_write)
        store.upsert(json.loads(Path(records_file).read_text()))
    else:
        store = PaperStore(Path(home), HashingEmbedder(64, salt="new"), max_batch_size=16,
                           papers_per_batch=50, on_write=on_write, allow_mismatch=True)
        store.reindex()
    print("FINISHED", flush=True)
    """
)


def _run_and_kill(
    tmp_path: Path, home: Path, records: list[dict], action: str, kind: str, nth: int
):
    records_file = tmp_path / "records.json"
    records_file.write_text(json.dumps(records))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(records_file), action, kind, str(nth)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("KILL ME"), line + proc.stderr.read()
        proc.kill()  # SIGKILL: no cleanup, no atexit
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -9


def test_kill_mid_upsert_then_next_upsert_completes_exactly(tmp_path):
    home = tmp_path / "home"
    records = _records(300)
    # Batch 1 (50 papers) is committed; the kill lands after two chunk writes of batch 2.
    first_batch_chunks = sum(len(chunk_paper(r["title"], r["abstract"])) for r in records[:50])
    _run_and_kill(
        tmp_path, home, records, "upsert", "chunks", math.ceil(first_batch_chunks / 16) + 2
    )

    store = PaperStore(home, HashingEmbedder(64))
    check = store.verify()
    assert check["papers"] == 50
    assert check["orphan_chunks"] > 0  # batch 2's chunks without their paper records
    assert not store.stats().bm25_fresh
    # Search works on the half-written store and never returns a paper without a record.
    hits = store.search("marker60 graph", k=5, mode="bm25")
    assert all(store.get(h.paper["id"]) for h in hits)

    result = store.upsert(records)
    assert len(result.new) == 250 and len(result.unchanged) == 50 and result.updated == []
    expected_chunks = sum(len(store.chunks_of(r["id"])) for r in records)
    check = store.verify()
    assert check == {
        "papers": 300,
        "chunks": expected_chunks,
        "orphan_chunks": 0,
        "missing_chunks": 0,
    }
    assert store.stats().bm25_fresh
    assert store.search("marker299", k=1, mode="bm25")[0].paper["id"] == "2501.00299"
    store.close()


def test_kill_mid_reindex_leaves_the_old_store_working(tmp_path):
    home = tmp_path / "home"
    records = _records(120)
    with PaperStore(home, HashingEmbedder(64)) as store:
        store.upsert(records)
        before = store.verify()
    _run_and_kill(tmp_path, home, records, "reindex", "papers", 2)

    with PaperStore(home, HashingEmbedder(64)) as store:
        assert store.verify() == before
        hits = store.search(_first_chunk(records[7]), k=3, mode="dense")
        assert hits and hits[0].paper["id"] == "2501.00007"
        assert hits[0].dense_similarity == pytest.approx(1.0, abs=1e-4)
        names = {c.name for c in store._client.list_collections()}
        assert {"pb_papers_g2", "pb_chunks_g2"} <= names  # the half-built generation
    with pytest.raises(EmbeddingMismatchError):
        PaperStore(home, HashingEmbedder(64, salt="new"))

    new = HashingEmbedder(64, salt="new")
    with PaperStore(home, new, allow_mismatch=True) as store:
        assert store.reindex() == 120
        names = {c.name for c in store._client.list_collections()}
        assert names == {"pb_papers_g3", "pb_chunks_g3"}
        assert store.verify()["papers"] == 120
    with PaperStore(home, new) as store:
        hit = store.search(_first_chunk(records[7]), k=1, mode="dense")[0]
        assert hit.paper["id"] == "2501.00007"
        assert hit.dense_similarity == pytest.approx(1.0, abs=1e-4)


def test_stale_bm25_is_rebuilt_on_search(tmp_path, caplog):
    home = tmp_path / "home"
    store = PaperStore(home, HashingEmbedder(64))
    store.upsert(_records(20))
    assert store.stats().bm25_fresh
    assert store.search("marker3", k=1, mode="bm25")[0].paper["id"] == "2501.00003"

    # A crash after the revision bump and before the rebuild looks like this from outside.
    StateDB(StoreLayout(home).state_db).bump_revision()
    assert not store.stats().bm25_fresh
    caplog.set_level(logging.INFO, logger="store")
    assert store.search("marker3", k=1, mode="bm25")[0].paper["id"] == "2501.00003"
    assert any("stale" in r.getMessage() for r in caplog.records)
    assert store.stats().bm25_fresh
    store.close()

    # A missing index is rebuilt the same way, by a fresh process-level store.
    import shutil

    shutil.rmtree(StoreLayout(home).bm25)
    with PaperStore(home, HashingEmbedder(64)) as store:
        assert not store.stats().bm25_fresh
        assert store.search("marker11", k=1, mode="hybrid")[0].paper["id"] == "2501.00011"
        assert store.stats().bm25_fresh


class _FailingOnce:
    """A Chroma collection whose first upsert raises the error chromadb 1.5.9 raised at ~60,000
    papers ("Error in compaction"); everything else goes to the real collection."""

    def __init__(self, real: object) -> None:
        self._real = real
        self.failed = 0

    def upsert(self, **kwargs: object) -> None:
        from chromadb.errors import InternalError

        if not self.failed:
            self.failed += 1
            raise InternalError("Error in compaction: Failed to apply logs to the metadata segment")
        self._real.upsert(**kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


def test_a_write_chroma_fails_mid_batch_is_written_again_on_a_fresh_client(tmp_path):
    home = tmp_path / "home"
    with PaperStore(home, HashingEmbedder(64)) as store:
        store.upsert(_records(10))
        # The papers collection fails after this batch's chunks went in: the worst place.
        failing = _FailingOnce(store._gen.papers)
        store._gen.papers = failing  # type: ignore[misc]
        result = store.upsert(_records(30)[10:])
        assert failing.failed == 1
        assert len(result.new) == 20
        assert store._gen.papers is not failing  # the retry ran on a reopened client
        checked = store.verify()
        assert checked["papers"] == 30
        assert (checked["orphan_chunks"], checked["missing_chunks"]) == (0, 0)
        assert store.search("marker27", k=1, mode="bm25")[0].paper["id"] == "2501.00027"
    with PaperStore(home, HashingEmbedder(64)) as store:  # and it is all on disk
        assert store.stats().papers == 30
        assert store.search("marker27", k=1)[0].paper["id"] == "2501.00027"
