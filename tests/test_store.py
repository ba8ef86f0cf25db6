"""PaperStore against real Chroma: embedded in tmp_path, and a `chroma run` server (slow)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from chroma_server import chroma_run
from httpserver import unused_port

from store import PaperStore, StoreHit
from store.embedding.embedders import HashingEmbedder
from store.errors import EmbeddingMismatchError, StoreError, StoreUnavailable


def _paper(pid, title, abstract, *, cats, published, source="arxiv-rss", version=1, **extra):
    return {
        "id": pid,
        "version": version,
        "title": title,
        "abstract": abstract,
        "authors": ["Ana Ruiz", "Wei Zhang"],
        "categories": cats,
        "primary_category": cats[0] if cats else None,
        "published": published,
        "updated": None,
        "source": source,
        "url": f"https://arxiv.org/abs/{pid}",
        "pdf_url": None,
        "announce_type": "new",
        "extra": extra,
    }


PAPERS = [
    _paper(
        "2401.10001",
        "Linear-Time Sparse Attention for Long Legal Documents",
        "Transformer encoders struggle with contracts and court rulings that exceed ten thousand "
        "tokens. We propose a block-sparse attention pattern that attends to local windows and a "
        "small set of global summary tokens, e.g. section headings. The method scales linearly "
        "with input length and fits 32k tokens on a single GPU. On three legal classification "
        "benchmarks it matches dense attention within 0.4 F1 while running 5.1 times faster. "
        "We release the code and a cleaned corpus of 80k judgments.",
        cats=["cs.CL", "cs.LG"],
        published="2024-01-10T00:00:00Z",
        upvotes=3,
    ),
    _paper(
        "2401.10002",
        "ReefWatch: Detecting Coral Bleaching in Multispectral Sentinel-2 Imagery",
        "Mass bleaching events threaten coral reefs worldwide. We present ReefWatch, a "
        "convolutional model that detects bleached corals in multispectral Sentinel-2 imagery at "
        "10 m resolution. Trained on 4,200 annotated tiles from the Great Barrier Reef, it reaches "
        "an F1 of 0.81 and generalises to reefs in the Red Sea. Monthly maps let marine managers "
        "prioritise field surveys.",
        cats=["cs.CV", "physics.ao-ph"],
        published="2024-01-12T08:30:00Z",
        source="hf",
    ),
    _paper(
        "2402.10003",
        "ZelkovaNet: Boundary-Aware Polyp Segmentation in Colonoscopy Video",
        "Missed polyps during colonoscopy are a leading cause of interval cancers. We introduce "
        "ZelkovaNet, a segmentation network with a boundary refinement head and temporal "
        "consistency across frames. Evaluated on four public datasets, ZelkovaNet improves Dice "
        "by 2.3 points over the strongest baseline (see Fig. 3) and runs at 45 frames per second.",
        cats=["eess.IV", "cs.CV"],
        published="2024-02-01T00:00:00Z",
        source="arxiv-api",
    ),
    _paper(
        "2402.10004",
        "Curriculum Reinforcement Learning for Warehouse Picking Robots",
        "Robotic picking in warehouses requires grasping thousands of object types. We train a "
        "policy with reinforcement learning in simulation using a curriculum that grows clutter "
        "and object diversity. Domain randomisation closes most of the sim-to-real gap. On a real "
        "fulfilment cell the robot picks 612 items per hour with a 97.2% success rate.",
        cats=["cs.RO", "cs.AI"],
        published="2024-02-05T12:00:00Z",
    ),
    _paper(
        "2403.10005",
        "Differentially Private Federated Learning Across Hospitals",
        "Hospitals cannot pool patient records, yet models trained on one site generalise "
        "poorly. We study federated training of risk models with differential privacy across 14 "
        "hospitals. Adaptive clipping keeps the privacy budget at epsilon 2 while losing only 1.1 "
        "AUROC points against centralised training.",
        cats=["cs.LG", "cs.CR"],
        published="2024-03-01T00:00:00Z",
    ),
    _paper(
        "doi:10.1234/quake",
        "Bayesian Earthquake Early Warning from Sparse Seismometer Networks",
        "Early warning systems must locate an earthquake within seconds. We place a Bayesian "
        "posterior over hypocentre and magnitude and update it as each seismometer triggers.",
        cats=["physics.geo-ph"],
        published=None,
        source="file",
    ),
]


def _ts(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso).timestamp())


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    with chroma_run(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.slow)])
def open_store(request, tmp_path, minilm):
    """A factory of PaperStores on one home (and, for "server", one Chroma server)."""
    url = request.getfixturevalue("chroma_server") if request.param == "server" else None
    opened: list[PaperStore] = []

    def factory(embedder=minilm, home: Path | None = None, **kwargs) -> PaperStore:
        store = PaperStore(home or tmp_path / "home", embedder, chroma_url=url, **kwargs)
        opened.append(store)
        return store

    factory.chroma_url = url
    yield factory
    for store in opened:
        store.close()
    if url:  # the server outlives the test: leave it empty for the next one
        import chromadb
        from chromadb.config import Settings

        port = int(url.rsplit(":", 1)[1])
        client = chromadb.HttpClient(
            host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False)
        )
        for col in client.list_collections():
            client.delete_collection(col.name)


@pytest.fixture
def filled(open_store):
    store = open_store()
    result = store.upsert(copy.deepcopy(PAPERS))
    assert sorted(result.new) == sorted(p["id"] for p in PAPERS)
    return store


def test_upsert_counts_new_unchanged_updated(open_store):
    store = open_store()
    first = store.upsert(copy.deepcopy(PAPERS[:4]))
    assert (len(first.new), first.updated, first.unchanged) == (4, [], [])
    assert first.chunks >= 4
    batch = copy.deepcopy(PAPERS)
    batch[0]["abstract"] += " A new closing sentence about appendix results."
    batch[0]["version"] = 2
    second = store.upsert(batch)
    assert sorted(second.new) == sorted(p["id"] for p in PAPERS[4:])
    assert second.updated == [PAPERS[0]["id"]]
    assert sorted(second.unchanged) == sorted(p["id"] for p in PAPERS[1:4])
    again = store.upsert(batch)
    assert (again.new, again.updated, again.chunks) == ([], [], 0)
    stats = store.stats()
    assert stats.papers == len(PAPERS) and stats.chunks == store.verify()["chunks"]
    assert stats.bm25_fresh and stats.embedder_id == store.embedder.model_id
    assert stats.chroma_url == open_store.chroma_url
    assert store.verify()["orphan_chunks"] == 0


def test_metadata_round_trip(filled):
    for paper in PAPERS:
        got = filled.get(paper["id"])
        assert got is not None
        assert got.pop("ingested_at")
        content_hash = got.pop("content_hash")
        assert len(content_hash) == 32
        assert got == paper
    assert filled.get("nope") is None
    ids = [PAPERS[3]["id"], "missing", PAPERS[0]["id"]]
    assert [p["id"] for p in filled.get_many(ids)] == [PAPERS[3]["id"], PAPERS[0]["id"]]


def test_new_version_replaces_old_chunks(filled):
    paper = copy.deepcopy(PAPERS[0])
    old_chunks = filled.chunks_of(paper["id"])
    assert len(old_chunks) >= 2
    paper.update(version=2, abstract="We withdraw the earlier claims. A single sentence remains.")
    result = filled.upsert([paper])
    assert result.updated == [paper["id"]]
    chunks = filled.chunks_of(paper["id"])
    # One chunk now, in a slot the old version did not use (old and new never share an id).
    assert len(chunks) == 1 and chunks[0]["id"] not in {c["id"] for c in old_chunks}
    assert "withdraw" in chunks[0]["text"] and "legal" not in chunks[0]["text"].split("\n", 1)[1]
    assert filled.get(paper["id"])["version"] == 2
    assert filled.verify() == {
        "papers": len(PAPERS),
        "chunks": filled.stats().chunks,
        "orphan_chunks": 0,
        "missing_chunks": 0,
    }
    # The old text is gone from both arms.
    assert all(h.paper["id"] != paper["id"] for h in filled.search("court rulings", mode="bm25"))


def test_metadata_only_change_is_cheap_and_visible(filled):
    paper = copy.deepcopy(PAPERS[1])
    paper["extra"] = {"upvotes": 41}
    paper["categories"] = [*paper["categories"], "cs.LG"]
    chunks_before = filled.chunks_of(paper["id"])
    result = filled.upsert([paper])
    assert (result.unchanged, result.chunks) == ([paper["id"]], 0)
    got = filled.get(paper["id"])
    assert got["extra"] == {"upvotes": 41} and "cs.LG" in got["categories"]
    assert filled.chunks_of(paper["id"]) == chunks_before
    for mode in ("hybrid", "dense", "bm25"):
        hits = filled.search("coral bleaching", category="cs.LG", mode=mode)
        assert hits and hits[0].paper["id"] == paper["id"], mode
    same_text_new_version = {**paper, "version": 2}
    result = filled.upsert([same_text_new_version])
    assert (result.updated, result.chunks) == ([paper["id"]], 0)


def _bm25_ranking(store: PaperStore, queries: list[str]) -> list[list[tuple[str, float]]]:
    return [
        [(h.paper["id"], round(h.bm25_score or 0.0, 4)) for h in store.search(q, mode="bm25")]
        for q in queries
    ]


def test_a_write_updates_the_bm25_index_as_a_rebuild_would(filled, caplog):
    changed = copy.deepcopy(PAPERS[0])
    changed.update(version=2, abstract="Pruned sparse attention for statutes and tax codes.")
    relabelled = copy.deepcopy(PAPERS[2])
    relabelled["categories"] = ["cs.AI"]
    new = _paper("2404.10007", "Tracking Zebrafish Larvae", "Zebrafish larvae tracked on video.",
                 cats=["q-bio.QM"], published="2024-04-01T00:00:00Z")  # fmt: skip
    with caplog.at_level("INFO", logger="store"):
        filled.upsert([changed, relabelled, new])
    assert "BM25 index updated" in caplog.text and "rebuilt" not in caplog.text
    assert filled.stats().bm25_fresh
    queries = [
        "sparse attention statutes",
        "court rulings",
        "zebrafish video",
        "polyp segmentation",
    ]
    updated = _bm25_ranking(filled, queries)
    assert updated[1] == [] and updated[2][0][0] == new["id"]
    assert [h.paper["id"] for h in filled.search("polyp", category="cs.AI", mode="bm25")] == [
        relabelled["id"]
    ]
    filled.rebuild_bm25()
    assert _bm25_ranking(filled, queries) == updated


def test_a_write_by_another_process_meanwhile_forces_a_rebuild(open_store):
    armed: list[bool] = []

    def meanwhile(kind: str, n: int) -> None:
        if kind == "papers" and armed:  # another writer commits while this batch writes
            armed.clear()
            open_store().upsert([copy.deepcopy(PAPERS[5])])

    store = open_store(on_write=meanwhile)
    store.upsert(copy.deepcopy(PAPERS[:2]))
    armed.append(True)
    store.upsert(copy.deepcopy(PAPERS[2:4]))
    assert not armed and store.stats().bm25_fresh
    # Extending this process's index with its own delta would miss the other writer's paper.
    hits = store.search("earthquake seismometer polyp coral", k=10, mode="bm25")
    assert {PAPERS[1]["id"], PAPERS[2]["id"], PAPERS[5]["id"]} <= {h.paper["id"] for h in hits}


def test_filters_since_category_source(filled):
    since = _ts("2024-02-01T00:00:00+00:00")
    q = "learning model"
    for mode in ("hybrid", "dense", "bm25"):
        ids = {h.paper["id"] for h in filled.search(q, k=10, since_ts=since, mode=mode)}
        # the undated paper counts from its ingest time (now), as in digests
        assert ids and ids <= {"2402.10003", "2402.10004", "2403.10005", "doi:10.1234/quake"}
        ids = {h.paper["id"] for h in filled.search(q, k=10, category="cs.CV", mode=mode)}
        assert ids and ids <= {"2401.10002", "2402.10003"}, mode
        ids = {h.paper["id"] for h in filled.search(q, k=10, source="hf", mode=mode)}
        assert ids <= {"2401.10002"}, mode
    listed = filled.list_papers(since_ts=since)
    # newest first; the undated paper is dated by its ingest time (today)
    assert [p["id"] for p in listed] == [
        "doi:10.1234/quake",
        "2403.10005",
        "2402.10004",
        "2402.10003",
    ]
    everything = filled.list_papers()
    assert everything[0]["id"] == "doi:10.1234/quake"
    assert len(everything) == len(PAPERS)
    until = _ts("2024-02-01T00:00:00+00:00")
    assert [p["id"] for p in filled.list_papers(until_ts=until)] == ["2401.10002", "2401.10001"]
    assert [p["id"] for p in filled.list_papers(source="file")] == ["doi:10.1234/quake"]
    assert [p["id"] for p in filled.list_papers(category="cs.CV", limit=1)] == ["2402.10003"]


def test_filtered_dense_strategies_agree(filled):
    """Exact scoring on the local float16 vectors, HNSW over-fetch, and Chroma's where filter
    give the same papers in the same order (scores within float16 precision)."""
    since = _ts("2024-01-12T00:00:00+00:00")
    cases = [{"since_ts": since}, {"category": "cs.CV"}, {"source": "arxiv-rss"}, {}]
    for filters in cases:
        results = []
        for exact_max, overfetch_max, local_vectors in (
            (10_000, 0, True),
            (0, 10_000, True),
            (0, 0, False),  # an index without its vector copy: Chroma filters
        ):
            filled.exact_filter_max, filled.overfetch_max = exact_max, overfetch_max
            index = filled._current_bm25()
            saved, index.vectors = index.vectors, (index.vectors if local_vectors else None)
            hits = filled.search("neural networks for images", k=4, mode="dense", **filters)
            index.vectors = saved
            results.append(hits)
        ids = [[h.paper["id"] for h in hits] for hits in results]
        assert ids[0] and ids[0] == ids[1] == ids[2], filters
        for a, b in zip(results[0], results[2], strict=True):
            assert a.score == pytest.approx(b.score, abs=2e-3)


def test_hybrid_finds_rare_term_and_paraphrase(filled):
    hits = filled.search("ZelkovaNet", k=3)
    assert isinstance(hits[0], StoreHit)
    assert hits[0].paper["id"] == "2402.10003"
    assert hits[0].bm25_score is not None and hits[0].bm25_score > 0
    assert "ZelkovaNet" in hits[0].chunk
    # No word of this query (after stemming) occurs in the coral paper: only the dense arm can
    # find it, and hybrid must keep it on top.
    query = "spotting damaged ocean ecosystems in pictures taken by orbiting cameras"
    assert "2401.10002" not in {h.paper["id"] for h in filled.search(query, mode="bm25")}
    hits = filled.search(query, k=3)
    assert hits[0].paper["id"] == "2401.10002"
    assert hits[0].bm25_score is None and hits[0].dense_similarity > 0.3
    assert hits[0].chunk.startswith("ReefWatch")
    # One hit per paper, best first, at most k.
    hits = filled.search("learning", k=4)
    assert len(hits) == len({h.paper["id"] for h in hits}) <= 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_dense_similarity_is_the_best_chunk_cosine(filled, minilm):
    query = "robots grasping items in a fulfilment warehouse"
    hits = filled.search(query, k=len(PAPERS))
    qv = minilm.embed_query(query)
    for hit in hits:
        chunks = filled.chunks_of(hit.paper["id"])
        best = max(float(v @ qv) for v in minilm.embed([c["text"] for c in chunks]))
        assert hit.dense_similarity == pytest.approx(best, abs=1e-3)
    assert hits[0].paper["id"] == "2402.10004"
    assert hits[0].dense_similarity > hits[-1].dense_similarity + 0.2
    assert all(h.dense_similarity is None for h in filled.search(query, mode="bm25"))


def test_paper_vectors_are_normalised_chunk_means(filled, minilm):
    ids = [PAPERS[2]["id"], PAPERS[0]["id"]]
    vectors = filled.paper_vectors(ids)
    assert vectors.shape == (2, 384)
    for pid, vec in zip(ids, vectors, strict=True):
        mean = minilm.embed([c["text"] for c in filled.chunks_of(pid)]).mean(axis=0)
        np.testing.assert_allclose(vec, mean / np.linalg.norm(mean), atol=1e-4)
    with pytest.raises(StoreError, match="nope"):
        filled.paper_vectors(["nope"])


def test_embedding_mismatch_and_reindex(open_store, tmp_path):
    store = open_store()
    store.upsert(copy.deepcopy(PAPERS))
    store.close()
    other = HashingEmbedder(64)
    with pytest.raises(EmbeddingMismatchError) as err:
        open_store(other)
    assert store.embedder.model_id in str(err.value) and other.model_id in str(err.value)
    assert "reindex" in err.value.hint
    if open_store.chroma_url:  # a fresh home against the same server knows it too
        with pytest.raises(EmbeddingMismatchError):
            open_store(other, home=tmp_path / "other-home")

    mixed = open_store(other, allow_mismatch=True)
    with pytest.raises(EmbeddingMismatchError):
        mixed.search("coral", mode="dense")
    with pytest.raises(EmbeddingMismatchError):
        mixed.upsert([copy.deepcopy(PAPERS[0])])
    assert mixed.search("coral bleaching", mode="bm25")[0].paper["id"] == "2401.10002"
    seen: list[int] = []
    assert mixed.reindex(progress=seen.append) == len(PAPERS)
    assert seen[-1] == len(PAPERS)
    stats = mixed.stats()
    assert (stats.papers, stats.embedder_id) == (len(PAPERS), other.model_id)
    assert mixed.verify()["orphan_chunks"] == 0
    assert mixed.search("ZelkovaNet polyp", mode="dense")[0].paper["id"] == "2402.10003"
    assert mixed.get(PAPERS[0]["id"])["title"] == PAPERS[0]["title"]
    mixed.close()
    reopened = open_store(other)  # no mismatch any more
    assert reopened.stats().papers == len(PAPERS)
    names = {c.name for c in reopened._client.list_collections()}
    assert names - {n for n in names if n.startswith("pb_shared_")} == {
        "pb_papers_g2",
        "pb_chunks_g2",
    }


def test_writes_are_split_below_the_max_batch_size(open_store, minilm):
    writes: list[tuple[str, int]] = []
    store = open_store(
        max_batch_size=3, papers_per_batch=4, on_write=lambda k, n: writes.append((k, n))
    )
    done: list[int] = []
    result = store.upsert(copy.deepcopy(PAPERS), progress=done.append)
    assert len(result.new) == len(PAPERS)
    assert done == [4, 6]
    assert writes and max(n for _, n in writes) <= 3
    assert sum(n for k, n in writes if k == "papers") == len(PAPERS)
    assert sum(n for k, n in writes if k == "chunks") == store.stats().chunks
    assert len(store.list_papers()) == len(PAPERS)
    assert len(store.get_many([p["id"] for p in PAPERS])) == len(PAPERS)
    assert store.verify()["missing_chunks"] == 0


def test_chroma_never_embeds_for_us(filled):
    # Our collections carry no embedding function: text-only calls fail fast instead of
    # downloading Chroma's default model.
    with pytest.raises(ValueError, match="embedding function"):
        filled._chunks.query(query_texts=["coral"], n_results=1)
    with pytest.raises(ValueError, match="embedding function"):
        filled._papers.upsert(ids=["x"], documents=["text only"])


def test_search_edge_cases(filled):
    assert filled.search("   ") == []
    assert filled.search("coral", k=0) == []
    assert filled.search("qqqxyzzy", mode="bm25") == []
    with pytest.raises(ValueError, match="mode"):
        filled.search("coral", mode="sparse")  # type: ignore[arg-type]


def test_unreachable_server_names_the_url(tmp_path):
    url = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(StoreUnavailable) as err:
        PaperStore(tmp_path / "home", HashingEmbedder(16), chroma_url=url)
    assert url in str(err.value) and "chroma run" in err.value.hint


@pytest.mark.slow
def test_server_going_away_raises_store_unavailable(tmp_path):
    with chroma_run(tmp_path / "server") as url:
        store = PaperStore(tmp_path / "home", HashingEmbedder(32), chroma_url=url)
        store.upsert(copy.deepcopy(PAPERS[:2]))
        assert store.search("coral", k=1, mode="dense")
    with pytest.raises(StoreUnavailable) as err:
        store.search("coral", k=1, mode="dense")
    assert url in str(err.value)
    with pytest.raises(StoreUnavailable):
        store.upsert(copy.deepcopy(PAPERS[2:3]))
    store.close()


def test_importing_store_is_light():
    code = (
        "import sys, store; "
        "print(sorted(m for m in ('chromadb', 'onnxruntime', 'bm25s', 'tokenizers', 'agent', "
        "'prompts') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
