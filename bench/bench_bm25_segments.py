"""BM25 query time with the segments a long backfill leaves against one rebuilt segment.

Writes cap merged segments at MAX_SEGMENT_ROWS (store/bm25/index.py), so a store filled a day at
a time keeps many segments; this measures what that costs a query. Text from tests/day_corpus.py,
chunked as ingest chunks it; the index is in memory (no Chroma, no model).

    .venv/bin/python bench/bench_bm25_segments.py [--papers 100000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from day_corpus import day_papers  # noqa: E402

from store.bm25.index import BM25Index, ChunkRow  # noqa: E402
from store.papers.chunking import chunk_paper  # noqa: E402

QUERIES = [
    "sparse attention for long documents",
    "graph neural networks molecules",
    "reinforcement learning reward models reasoning",
    "diffusion models image generation",
    "retrieval augmented generation evaluation",
]
BATCH = 1000


def day_rows(day: int) -> list[ChunkRow]:
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)
    rows = []
    for paper in day_papers(BATCH, day=when, seed=day):
        pid = f"{day}-{paper['id']}"
        for n, text in enumerate(chunk_paper(paper["title"], paper["abstract"])):
            rows.append(ChunkRow(id=f"{pid}#{n}", paper_id=pid, text=text))
    return rows


def query_ms(index: BM25Index, rounds: int = 8) -> list[float]:
    times = []
    for query in QUERIES * rounds:
        start = time.perf_counter()
        index.search(query, 50)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=100_000)
    args = parser.parse_args()
    days = [day_rows(d) for d in range(args.papers // BATCH)]
    start = time.perf_counter()
    incremental = BM25Index.build([], revision=0)
    for d, rows in enumerate(days):
        incremental = incremental.updated(drop_papers=set(), rows=rows, vectors=None,
                                          revision=d + 1)  # fmt: skip
    built = time.perf_counter() - start
    rebuilt = BM25Index.build([r for rows in days for r in rows], revision=0)
    print(f"{len(rebuilt)} chunks of {args.papers} papers; {len(days)} day writes in {built:.1f} s")
    for name, index in (("rebuilt", rebuilt), ("day by day", incremental)) * 2:  # interleaved
        times = sorted(query_ms(index))
        p50, p95 = statistics.median(times), times[int(0.95 * len(times))]
        print(f"{name:>10}: {len(index.segments):3d} segments, p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
