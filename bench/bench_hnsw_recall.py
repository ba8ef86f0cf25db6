"""HNSW recall@10 against exact search, on real-text MiniLM vectors, with the store's settings.

    python bench/bench_hnsw_recall.py --root /tmp/pb/coldstart [--vectors 20000] [--queries 300]
    python bench/bench_hnsw_recall.py --quick       # 3,000 vectors, 50 queries

The corpus is the chunk vectors bench/coldstart_stores.py embedded with MiniLM (realistic
abstracts; built once and cached under --root); the queries are MiniLM vectors of titles and
questions the corpus does not contain. Random vectors are no guide (recall 0.495 on them): real
text clusters. The collection gets the configuration PaperStore gives its own (cosine,
ef_search and ef_construction from the default Settings).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.config import Settings
from bench.bench_cold_start import QUESTIONS
from bench.coldstart_stores import real_vectors
from store import make_embedder
from tests.day_corpus import day_papers


def queries(n: int) -> np.ndarray:
    """MiniLM vectors of ``n`` texts outside the corpus: questions, then other days' titles."""
    texts = list(QUESTIONS)
    extra = day_papers(n, day=datetime(2024, 3, 1, tzinfo=UTC), seed=9999, prefix="2403")
    texts += [p["title"] for p in extra]
    return make_embedder("minilm").embed(texts[:n])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("/tmp/pb/coldstart"))
    parser.add_argument("--real-papers", type=int, default=5800)
    parser.add_argument("--vectors", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ef-search", type=int, help="override (a check that recall can drop)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.real_papers, args.vectors, args.queries = 800, 3000, 50
    _, corpus, _ = real_vectors(args.root, args.real_papers)
    corpus = corpus[: args.vectors].astype(np.float32)
    q = queries(args.queries)
    store = Settings().store
    hnsw = {"space": "cosine", "ef_search": store.hnsw_ef_search,
            "ef_construction": store.hnsw_ef_construction}  # fmt: skip
    if args.ef_search:
        hnsw["ef_search"] = args.ef_search

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path = args.root / f"recall-{len(corpus)}"
    shutil.rmtree(path, ignore_errors=True)
    client = chromadb.PersistentClient(
        str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )
    col = client.create_collection("recall", configuration={"hnsw": hnsw}, embedding_function=None)
    step = client.get_max_batch_size()
    start = time.perf_counter()
    for i in range(0, len(corpus), step):
        ids = [str(j) for j in range(i, min(i + step, len(corpus)))]
        col.add(ids=ids, embeddings=corpus[i : i + step])
    build = time.perf_counter() - start
    exact = np.argsort(-(q @ corpus.T), axis=1)[:, :10]
    hits, times = [], []
    for row, vec in enumerate(q):
        t = time.perf_counter()
        got = col.query(query_embeddings=[vec], n_results=10, include=[])["ids"][0]
        times.append(time.perf_counter() - t)
        hits.append(len({int(g) for g in got} & set(exact[row].tolist())) / 10)
    one, five, _ = os.getloadavg()
    print(
        f"HNSW recall@10 vs exact: {np.mean(hits):.3f} (min {min(hits):.1f}) on {len(corpus)} "
        f"real-text MiniLM vectors, {len(q)} queries; {hnsw}; query p50 "
        f"{np.percentile(times, 50) * 1000:.1f} ms; build {build:.0f} s; load {one:.1f}/{five:.1f}"
    )
    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
