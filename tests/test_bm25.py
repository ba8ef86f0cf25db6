"""The BM25 index: stemming, stop words, metadata filters, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from store.bm25.index import BM25Index, ChunkRow
from store.bm25.tokens import tokenize, tokenize_query
from store.layout import BM25_CURRENT

ROWS = [
    ChunkRow(
        "p1#0", "p1", "Running transformers quickly on mobile phones", 1_000, "arxiv", ["cs.LG"]
    ),
    ChunkRow(
        "p1#1", "p1", "Quantised kernels make the phones run faster", 1_000, "arxiv", ["cs.LG"]
    ),
    ChunkRow(
        "p2#0", "p2", "Coral reef bleaching observed from satellites", 2_000, "hf", ["q-bio.PE"]
    ),
    ChunkRow(
        "p3#0",
        "p3",
        "The KvasirPolyp dataset for colonoscopy segmentation",
        3_000,
        "arxiv",
        ["cs.CV", "eess.IV"],
    ),
    ChunkRow("p4#0", "p4", "A survey without a date", None, None, []),
]


def test_tokenize_stems_and_drops_stop_words():
    tokens = tokenize(["The runners kept running and the run ended in a tie"])
    assert tokens == [["runner", "kept", "run", "run", "end", "tie"]]


def test_query_phrasing_and_repeats_do_not_count():
    assert tokenize_query("Which papers use reanalysis data as input or training data?") == [
        "use",
        "reanalysi",
        "data",
        "input",
        "train",
    ]
    assert tokenize_query("What is there?") == []


def test_a_rare_term_outranks_query_phrasing():
    rows = [
        ChunkRow("a#0", "a", "Which papers and studies show what works: a study of papers", 1),
        ChunkRow("b#0", "b", "Forecasts trained on reanalysis fields", 1),
    ]
    hits = BM25Index.build(rows, revision=1).search("Which papers use reanalysis?", 5)
    assert [h[1] for h in hits] == ["b"]


def test_term_coverage_is_the_idf_share_of_query_terms_in_each_paper():
    import math

    index = BM25Index.build(ROWS, revision=1)
    n = len(ROWS)

    def idf(df: int) -> float:
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    # "phone" is in both chunks of p1 (df 2), "reef" in p2 (df 1), "zebra" nowhere (df 0)
    got = index.term_coverage("phones reef zebra", ["p1", "p2", "p3"])
    total = idf(2) + idf(1) + idf(0)
    assert got["p1"] == pytest.approx(idf(2) / total)
    assert got["p2"] == pytest.approx(idf(1) / total)
    assert got["p3"] == 0.0
    assert index.term_coverage("phones run", ["p1"])["p1"] == pytest.approx(1.0)
    assert index.term_coverage("the of which", ["p1"]) == {}
    assert BM25Index.build([], revision=1).term_coverage("phones", ["p1"]) == {}


def test_term_coverage_survives_save_and_load(tmp_path):
    index = BM25Index.build(ROWS, revision=3)
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert loaded is not None
    assert loaded.term_coverage("coral satellites", ["p2", "p1"]) == index.term_coverage(
        "coral satellites", ["p2", "p1"]
    )


def test_search_ranks_matching_chunks_and_stems_the_query():
    index = BM25Index.build(ROWS, revision=1)
    hits = index.search("run transformer", 10)
    assert [h[0] for h in hits][:1] == ["p1#0"]
    assert {h[1] for h in hits} == {"p1"}
    assert all(score > 0 for _, _, score in hits)
    assert index.search("kvasirpolyp", 5)[0][:2] == ("p3#0", "p3")
    assert index.search("zzzunknownword", 5) == []
    assert index.search("the and of", 5) == []  # only stop words


def test_filters_are_exact_masks():
    index = BM25Index.build(ROWS, revision=1)
    query = "phones reef dataset survey"
    assert {h[1] for h in index.search(query, 10)} == {"p1", "p2", "p3", "p4"}
    assert {h[1] for h in index.search(query, 10, since_ts=2_000)} == {"p2", "p3"}
    assert {h[1] for h in index.search(query, 10, until_ts=2_000)} == {"p1"}
    assert {h[1] for h in index.search(query, 10, source="arxiv")} == {"p1", "p3"}
    assert {h[1] for h in index.search(query, 10, category="eess.IV")} == {"p3"}
    assert index.search(query, 10, category="nope") == []
    assert len(index.search(query, 2)) == 2


def test_save_load_roundtrip_keeps_revision_and_results(tmp_path):
    root = tmp_path / "bm25"
    assert BM25Index.load(root) is None and BM25Index.saved_revision(root) is None
    BM25Index.build(ROWS[:2], revision=3).save(root)
    index = BM25Index.build(ROWS, revision=7)
    index.save(root)
    assert BM25Index.saved_revision(root) == 7
    loaded = BM25Index.load(root)
    assert loaded is not None and loaded.revision == 7 and len(loaded) == len(ROWS)
    query = "kernels phones coral"
    assert loaded.search(query, 10, source="arxiv") == index.search(query, 10, source="arxiv")
    # the older build is gone: one manifest folder and the one segment it names
    assert sorted(p.name[:4] for p in root.iterdir() if p.is_dir()) == ["idx-", "seg-"]


def test_empty_index_searches_and_persists(tmp_path):
    index = BM25Index.build([], revision=0)
    assert index.search("anything", 5) == []
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded is not None and loaded.search("anything", 5) == []


def test_corrupt_index_loads_as_missing(tmp_path):
    root = tmp_path / "bm25"
    BM25Index.build(ROWS, revision=2).save(root)
    (segment,) = root.glob("seg-*")
    (segment / "chunks.json").write_text("{not json")
    assert BM25Index.load(root) is None


def test_exact_dense_search_within_a_filter(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(ROWS), 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    BM25Index.build(ROWS, revision=4, vectors=vectors).save(tmp_path / "bm25")
    index = BM25Index.load(tmp_path / "bm25")
    assert index is not None and index.vectors is not None
    query = vectors[2] + 0.1 * vectors[3]
    sims = vectors @ query
    expected = [ROWS[i].id for i in np.argsort(-sims)]
    hits = index.dense_exact(query, None, 3)
    assert [cid for cid, _ in hits] == expected[:3] and expected[0] == "p2#0"
    assert [s for _, s in hits] == pytest.approx(sorted(sims, reverse=True)[:3], abs=2e-3)
    arxiv_only = index.mask(None, None, None, "arxiv")
    arxiv_ids = [r.id for r in ROWS if r.source == "arxiv"]
    assert [cid for cid, _ in index.dense_exact(query, arxiv_only, 5)] == [
        cid for cid in expected if cid in arxiv_ids
    ]
    assert index.dense_exact(query, index.mask(None, None, "nope", None), 3) == []


def _same_results(a: BM25Index, b: BM25Index, query: str, **filters) -> None:
    got, want = a.search(query, 50, **filters), b.search(query, 50, **filters)
    assert sorted(h[:2] for h in got) == sorted(h[:2] for h in want), query
    assert dict((h[0], h[2]) for h in got) == pytest.approx(dict((h[0], h[2]) for h in want))


def test_updated_index_equals_a_full_rebuild(tmp_path):
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(ROWS), 4)).astype(np.float32)
    BM25Index.build(ROWS, revision=1, vectors=vectors).save(tmp_path)
    saved = BM25Index.load(tmp_path)  # token ids and vectors come back memory-mapped
    assert saved is not None and isinstance(saved.segments[0].tokens, np.memmap)
    # p1 gets a new text (fewer chunks), p3 changes category, p5 is new with an unseen word.
    new_rows = [
        ChunkRow("p1#0", "p1", "Pruned transformers on phones", 1_500, "arxiv", ["cs.LG"]),
        ChunkRow("p3#0", "p3", ROWS[3].text, 3_000, "arxiv", ["cs.AI"]),
        ChunkRow("p5#0", "p5", "Zebrafish larvae tracked by video", 5_000, "hf", ["q-bio.QM"]),
    ]
    new_vectors = rng.normal(size=(3, 4)).astype(np.float32)
    updated = saved.updated(
        drop_papers={"p1", "p3", "p5"}, rows=new_rows, vectors=new_vectors, revision=2
    )
    kept = [i for i, r in enumerate(ROWS) if r.paper_id not in {"p1", "p3"}]
    rebuilt = BM25Index.build(
        [ROWS[i] for i in kept] + new_rows,
        revision=2,
        vectors=np.concatenate([vectors[kept], new_vectors]),
    )
    assert updated is not None and updated.revision == 2 and len(updated) == len(rebuilt) == 5
    for query in ("phones transformers", "quantised kernels", "zebrafish video", "colonoscopy"):
        _same_results(updated, rebuilt, query)
        _same_results(updated, rebuilt, query, since_ts=1_200, source="arxiv")
        pids = ["p1", "p2", "p3", "p5"]
        assert updated.term_coverage(query, pids) == pytest.approx(
            rebuilt.term_coverage(query, pids)
        )
    assert updated.search("colonoscopy", 5, category="cs.AI")[0][1] == "p3"
    assert updated.search("colonoscopy", 5, category="cs.CV") == []
    assert updated.search("quantised kernels", 5) == []  # p1's old chunk is gone
    query_vec = new_vectors[2]
    assert updated.dense_exact(query_vec, None, 2) == rebuilt.dense_exact(query_vec, None, 2)
    updated.save(tmp_path)  # and the updated index persists like a built one
    again = BM25Index.load(tmp_path)
    assert again is not None
    _same_results(again, rebuilt, "zebrafish phones")


def test_an_index_saved_in_the_old_format_is_rebuilt_not_read(tmp_path):
    # Format 2 (one bm25s folder with precomputed scores): load says "none", the keeper rebuilds.
    old = tmp_path / "idx-4-abcd1234"
    old.mkdir()
    (old / "chunks.json").write_text('{"format": 2, "revision": 4, "chunk_ids": []}')
    (tmp_path / BM25_CURRENT).write_text(old.name)
    assert BM25Index.saved_revision(tmp_path) == 4 and BM25Index.load(tmp_path) is None
    assert (
        BM25Index.build([], revision=0)
        .updated(drop_papers=set(), rows=ROWS[:2], vectors=None, revision=1)
        .search("phones", 5)
    )


def test_vectors_on_one_side_only_cannot_be_updated():
    index = BM25Index.build(ROWS, revision=1)
    vectors = np.ones((1, 4), dtype=np.float32)
    assert index.updated(drop_papers=set(), rows=ROWS[:1], vectors=vectors, revision=2) is None


def test_chunks_of_stop_words_only_are_indexed():
    index = BM25Index.build([ChunkRow("a#0", "a", "the and of"), ROWS[2]], revision=1)
    assert [h[1] for h in index.search("coral of the reef", 5)] == ["p2"]
