"""The BM25 index grows by segments: many small updates score exactly like one full rebuild,
match bm25s's own BM25, persist by appending, and cost what the batch costs."""

from __future__ import annotations

import time

import numpy as np
import pytest

from store.bm25.index import BM25Index, ChunkRow

_TEXT = """transformer diffusion graph kernel protein reef satellite quantum sparse attention
colonoscopy polyp reanalysis forecast language robot policy reward vision segmentation
benchmark dataset mobile phone pruning distillation tokenizer speech audio molecule"""
WORDS = _TEXT.split()
QUERIES = ("sparse attention", "protein molecule graph", "reef satellite forecast",
           "robot reward policy", "colonoscopy polyp segmentation", "zzz unknownword")  # fmt: skip


def corpus(n_papers: int, seed: int, prefix: str = "p", version: int = 0) -> list[ChunkRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_papers):
        for c in range(int(rng.integers(1, 4))):
            text = " ".join(rng.choice(WORDS, size=int(rng.integers(3, 25))))
            if version:
                text += f" revised{version}"
            cats = [["cs.LG"], ["cs.CV"], ["q-bio"]][p % 3]
            rows.append(ChunkRow(f"{prefix}{p}#{c}", f"{prefix}{p}", text, 1000 + p, "arxiv", cats))
    return rows


def _vectors(rows: list[ChunkRow], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(len(rows), 8)).astype(np.float32)


def _check_same(a: BM25Index, b: BM25Index) -> None:
    assert len(a) == len(b)
    for query in QUERIES:
        for filters in ({}, {"category": "cs.CV"}, {"since_ts": 1010}):
            got, want = a.search(query, 10, **filters), b.search(query, 10, **filters)
            assert got == want, (query, filters)  # same ids, same order, identical scores
        pids = [h[1] for h in b.search(query, 5)] + ["nobody"]
        assert a.term_coverage(query, pids) == b.term_coverage(query, pids)


def test_many_updates_with_replacements_equal_one_rebuild(tmp_path):
    """Ten batches, some re-ingesting earlier papers with new text, saved and reloaded between
    batches: the incremental index equals a rebuild of the final corpus on scores and top-k."""
    live: dict[str, list[tuple[ChunkRow, np.ndarray]]] = {}
    first = corpus(40, seed=0)
    index = BM25Index.build(first, revision=1, vectors=_vectors(first, 0))
    for row, vec in zip(first, _vectors(first, 0), strict=True):
        live.setdefault(row.paper_id, []).append((row, vec))
    for batch in range(1, 11):
        rows = corpus(15, seed=batch, prefix=f"b{batch}-")
        if batch % 3 == 0:  # a re-ingest of earlier papers with changed text
            rows += corpus(5, seed=100 + batch, prefix="p", version=batch)
        vecs = _vectors(rows, batch)
        drop = {r.paper_id for r in rows}
        index = index.updated(drop_papers=drop, rows=rows, vectors=vecs, revision=batch + 1)
        assert index is not None
        for pid in drop:
            live.pop(pid, None)
        for row, vec in zip(rows, vecs, strict=True):
            live.setdefault(row.paper_id, []).append((row, vec))
        if batch % 4 == 0:
            index.save(tmp_path)
            index = BM25Index.load(tmp_path)
            assert index is not None and index.revision == batch + 1
    assert len(index.segments) <= 5  # merged like a binary counter, not one per batch
    final = [pair for pairs in live.values() for pair in pairs]
    rebuilt = BM25Index.build([r for r, _ in final], revision=11,
                              vectors=np.stack([v for _, v in final]))  # fmt: skip
    _check_same(index, rebuilt)
    query = _vectors(final[:1], 99)[0]
    assert index.dense_exact(query, None, 5) == rebuilt.dense_exact(query, None, 5)
    cv = index.mask(None, None, "cs.CV", None)
    assert index.dense_exact(query, cv, 5) == rebuilt.dense_exact(
        query, rebuilt.mask(None, None, "cs.CV", None), 5
    )


def test_scores_match_bm25s(tmp_path):
    import bm25s

    from store.bm25.tokens import ids_of, tokenize, tokenize_query

    rows = corpus(60, seed=3)
    index = BM25Index.build(rows, revision=1)
    vocab: dict[str, int] = {"": 0}
    ids = ids_of(tokenize([r.text for r in rows]), vocab)
    retriever = bm25s.BM25()
    retriever.index((ids, vocab), show_progress=False)
    for query in QUERIES[:-1]:
        want = retriever.get_scores([t for t in tokenize_query(query) if t in vocab])
        assert index.scores(query) == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_a_save_after_an_update_writes_only_the_new_segment(tmp_path):
    rows = corpus(300, seed=5)
    index = BM25Index.build(rows, revision=1, vectors=_vectors(rows, 5))
    index.save(tmp_path)
    base = {p.name for p in tmp_path.glob("seg-*")}
    new = corpus(3, seed=6, prefix="n")
    index = index.updated(drop_papers={"n0", "n1", "n2", "p7"}, rows=new,
                          vectors=_vectors(new, 6), revision=2)  # fmt: skip
    index.save(tmp_path)
    segs = {p.name for p in tmp_path.glob("seg-*")}
    assert base < segs and len(segs - base) == 1  # the big segment is shared, not rewritten
    added = tmp_path / (segs - base).pop()
    assert len((added / "chunks.json").read_text()) < 2_000
    loaded = BM25Index.load(tmp_path)
    assert loaded is not None and not any(h[1] == "p7" for h in loaded.search("reef sparse", 500))


@pytest.mark.slow
def test_update_cost_follows_the_batch_not_the_store():
    """Adding 20 papers to a 20,000-paper index costs a small part of rebuilding it."""
    big_rows = corpus(20_000, seed=2)
    big = BM25Index.build(big_rows, revision=1)
    batch = corpus(20, seed=9, prefix="x")

    def cost(index: BM25Index) -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            index.updated(drop_papers=set(), rows=batch, vectors=None, revision=2)
            best = min(best, time.perf_counter() - t0)
        return best

    rebuild = time.perf_counter()
    BM25Index.build(big_rows + batch, revision=2)
    rebuild = time.perf_counter() - rebuild
    assert cost(big) < rebuild / 5  # a rebuild re-tokenizes everything; an update does not


def test_merges_stop_at_the_segment_cap_and_still_equal_a_rebuild(tmp_path, monkeypatch):
    """Merging a whole big index at once cost an ingest a few hundred MB: no merge makes a
    segment above MAX_SEGMENT_ROWS, a segment left more than half dead by re-ingests is
    rewritten alone, and the scores are still a rebuild's."""
    from store.bm25 import index as bm25_index

    monkeypatch.setattr(bm25_index, "MAX_SEGMENT_ROWS", 60)
    live: dict[str, list[tuple[ChunkRow, np.ndarray]]] = {}
    index = BM25Index.build([], revision=1)
    for batch in range(1, 31):
        rows = corpus(10, seed=batch, prefix=f"b{batch}-")
        if batch % 2 == 0:  # re-ingests of the first batches' papers: their segments die
            rows += corpus(6, seed=200 + batch, prefix="b1-", version=batch)
        vecs = _vectors(rows, batch)
        drop = {r.paper_id for r in rows}
        updated = index.updated(drop_papers=drop, rows=rows, vectors=vecs, revision=batch + 1)
        assert updated is not None
        index = updated
        for pid in drop:
            live.pop(pid, None)
        for row, vec in zip(rows, vecs, strict=True):
            live.setdefault(row.paper_id, []).append((row, vec))
        if batch % 5 == 0:
            index.save(tmp_path)
            index = BM25Index.load(tmp_path)
            assert index is not None
        for segment, start in zip(index.segments, index._starts, strict=False):
            alive = index.alive[start : start + len(segment)]
            assert len(segment) <= 60 or len(segment) == len(rows)  # only a single write's
            assert alive.all() or alive.mean() >= 0.5 or not alive.any()
    assert len(index.segments) >= 5  # capped: the index is not one big segment
    final = [pair for pairs in live.values() for pair in pairs]
    rebuilt = BM25Index.build([r for r, _ in final], revision=31,
                              vectors=np.stack([v for _, v in final]))  # fmt: skip
    _check_same(index, rebuilt)
    query = _vectors(final[:1], 99)[0]
    assert index.dense_exact(query, None, 5) == rebuilt.dense_exact(query, None, 5)
