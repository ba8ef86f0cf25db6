"""Latency of `paperbrief ask` at scale: retrieval for the answer context, the whole extractive
answer, and how much of the time to the first streamed token is ours.

    python bench/bench_qa_latency.py [--papers 20000] [--queries 200] [--home DIR]

The store is bulk-filled as in bench/bench_store.py (synthetic abstracts, RANDOM unit vectors
under MiniLM's model id, so HNSW and BM25 work at full size without hours of embedding); the
queries are embedded with the real MiniLM model. ``--home`` keeps the filled store for reruns.

Time to first token is measured against the scripted OpenAI-compatible server of the tests,
which answers instantly: with it, the whole delay is our code (retrieval, prompt, HTTP client).
Its request arrival time splits that into "before the request left" and "after the reply came".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "bench", ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from bench_store import RandomUnitEmbedder, load, pct, synth_papers, synth_queries  # noqa: E402

from agent.config import Settings  # noqa: E402
from agent.pipeline import PaperAgent  # noqa: E402
from agent.qa.context import Filters  # noqa: E402
from agent.qa.engine import QAEngine  # noqa: E402
from store import PaperStore, make_embedder  # noqa: E402


def fill(home: Path, n: int) -> None:
    real = make_embedder("minilm", threads=1)
    store = PaperStore(home, RandomUnitEmbedder(real))
    have = store.stats().papers
    if have >= n:
        print(f"store at {home}: {have} papers already")
        store.close()
        return
    start = time.perf_counter()
    papers = synth_papers(n, seed=2, prefix="2502")[have:]
    for i in range(0, len(papers), 2000):
        store.upsert(papers[i : i + 2000])
    store.rebuild_bm25()
    print(f"filled {len(papers)} papers in {time.perf_counter() - start:.0f} s")
    store.close()


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--home", type=Path, default=Path("/tmp/paperbrief-qa-latency"))
    args = parser.parse_args(argv)

    fill(args.home, args.papers)
    embedder = make_embedder("minilm", threads=1)
    store = PaperStore(args.home, embedder)
    agent = PaperAgent(Settings(home=args.home), store=store, embedder=embedder)
    stats = store.stats()
    print(f"store: {stats.papers} papers, {stats.chunks} chunks; {load()}")
    queries = synth_queries(args.queries, seed=7)
    # min_similarity 0: random bulk vectors sit far from every query, and the gate would refuse
    # before any answer work is done; here we time the answer path itself.
    engine = QAEngine(agent.search, get_paper_fn=agent.get_paper, k=args.k, min_similarity=0.0)
    engine._retrieve(queries[0], Filters(), None)  # loads the BM25 index and the ONNX session

    retrieval = [timed(engine._retrieve, q, Filters(), None)[0] for q in queries]
    embed = [timed(embedder.embed_query, q)[0] for q in queries[:50]]
    extractive = [timed(engine.ask, q)[0] for q in queries]
    window = [
        timed(engine._retrieve, q, Filters(since="2025-06-01", category="cs.RO"), None)[0]
        for q in queries
    ]
    print(f"\nask retrieval (hybrid, k={args.k}, grouped per paper, numbered context)")
    for label, values in (
        ("retrieval", retrieval),
        ("  of which query embedding", embed),
        ("retrieval --since --category", window),
        ("extractive answer (whole ask)", extractive),
    ):
        print(f"  {label:32s} p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms")

    ttft(agent, queries[: min(50, len(queries))], args.k)
    print(load())
    agent.close()
    return 0


def ttft(agent: PaperAgent, queries: list[str], k: int) -> None:
    from openai_server import OpenAIServer, chat_completion

    from agent.llm.chat import make_llm
    from agent.llm.tokens import TokenCounter

    answer = "A streamed answer of a few words [1]. " * 8
    with OpenAIServer(handler=lambda req: chat_completion(answer)) as server:
        settings = Settings(llm_base_url=server.url, openai_api_key="x", llm_model="bench")
        engine = QAEngine(
            agent.search, llm=make_llm(settings), k=k, min_similarity=0.0, agentic="never"
        )
        engine.ask(queries[0], stream=lambda _: None)  # warm: client, event loop, connection
        before, after, first = [], [], []
        for q in queries:
            marks: list[float] = []

            def on_delta(_: str, marks: list[float] = marks) -> None:
                if not marks:
                    marks.append(time.time())

            t0 = time.time()
            engine.ask(q, stream=on_delta)
            arrived = server.chat_requests[-1].time
            before.append(arrived - t0)
            after.append(marks[0] - arrived)
            first.append(marks[0] - t0)
        prompt = server.chat_requests[-1].json["messages"]
    tokens = TokenCounter("gpt-4o-mini").count_messages([(m["role"], m["content"]) for m in prompt])
    print(f"\ntime to first streamed token against an instant local server ({len(queries)} asks)")
    for label, values in (
        ("ask() -> request at server", before),
        ("server reply -> first token", after),
        ("ask() -> first token (ours)", first),
    ):
        print(f"  {label:32s} p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms")
    print(
        f"  prompt size at k={k}: ~{tokens} tokens (o200k); a model's own first-token time is "
        "its prefill of that prompt plus network"
    )
    print(f"  mean ours {1000 * statistics.fmean(first):.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
