"""Issue 14 item 1: a long file ingest holds what one batch needs, not what the store holds.

Streaming the file bounded the records; what still grew batch after batch was the store side:
the BM25 index the writer keeps between batches held every chunk's postings and float16 vector
in the heap (~1.7 KB a chunk, ~120 MB at 20,000 papers), and merging it whole (about every
doubling of the store) added a few hundred MB at once. Now a saved segment is read back from its
files (page cache, not heap) and merges stop at MAX_SEGMENT_ROWS.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from day_corpus import day_papers

from agent.config import Settings
from agent.ingest import ingest_sources
from agent.sources import FetchRequest
from agent.sources.http import HttpClient
from store import PaperStore
from store.embedding.embedders import HashingEmbedder

DAY = datetime(2026, 11, 20, tzinfo=UTC)


class HeapAtEachBatch:
    """A real PaperStore that notes, before every upsert, the Python heap (tracemalloc, which
    numpy's arrays report to) and the chunks stored so far."""

    def __init__(self, store: PaperStore) -> None:
        self._store = store
        self.calls: list[tuple[int, int]] = []  # (heap bytes, chunks stored)

    def upsert(self, records, progress=None):
        gc.collect()
        chunks = self._store._chunks.count()
        self.calls.append((tracemalloc.get_traced_memory()[0], chunks))
        return self._store.upsert(records, progress=progress)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_long_ingest_does_not_keep_the_chunks_it_stored_in_the_heap(tmp_path: Path):
    papers = day_papers(540, day=DAY)
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in papers), encoding="utf-8")
    settings = Settings(home=tmp_path / "home", store={"ingest_batch": 60})
    store = HeapAtEachBatch(PaperStore(settings.home, HashingEmbedder(384)))
    tracemalloc.start()
    try:
        with HttpClient() as http:
            report = ingest_sources(settings, store, http, request=FetchRequest(path=path))  # type: ignore[arg-type]
        index = store._bm25._index  # what the writer keeps for its next batch
    finally:
        tracemalloc.stop()
        store.close()
    assert report.ok and report.total("new") == 540 and len(store.calls) == 9
    # From the second batch on (the first pays imports and first-use caches), the heap grows
    # by the index's per-chunk ids and filter fields only (~0.4 KB a chunk measured); it grew
    # by ~1.7 KB a chunk when postings and vectors stayed in the heap.
    (heap0, chunks0), (heap1, chunks1) = store.calls[1], store.calls[-1]
    per_chunk = (heap1 - heap0) / (chunks1 - chunks0)
    print(f"heap kept per chunk stored: {per_chunk:.0f} bytes")
    assert per_chunk < 1200, f"{per_chunk:.0f} heap bytes kept per chunk stored"
    # Every segment of the index the writer keeps is read from its saved files.
    assert index is not None and len(index) > chunks1  # the last batch's chunks too
    for segment in index.segments:
        for array in (segment.tokens, segment.rows, segment.tf, segment.vectors):
            assert isinstance(array, np.memmap)
