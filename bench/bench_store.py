"""Store benchmark: ingest throughput with the real MiniLM embedder, search latency at scale,
disk size. Prints figures; not part of the test run.

    python bench/bench_store.py [--papers 2000] [--search-papers 20000] [--queries 200]

The search corpus embeds only the queries with MiniLM: the bulk papers get random unit vectors
(same model id and dimension), so HNSW latency is measured at full size without hours of
embedding; their text is real-ish, so BM25 works on realistic term statistics.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store import PaperStore, make_embedder
from store.embedding.embedders import Embedder

TOPICS = {
    "nlp": "language model transformer token attention decoder corpus translation summarization "
    "prompt instruction tuning retrieval question answering multilingual tokenizer perplexity",
    "vision": "image segmentation detection convolution pixel resolution backbone augmentation "
    "diffusion generative video frame optical flow depth estimation masks",
    "rl": "reinforcement learning policy reward agent environment exploration value function "
    "actor critic trajectory simulator offline planning horizon",
    "graphs": "graph neural network node edge message passing molecule protein link prediction "
    "spectral embedding heterophily subgraph isomorphism",
    "privacy": "differential privacy federated client server aggregation clipping noise budget "
    "membership inference attack defence secure computation",
    "robotics": "robot grasping manipulation locomotion controller sensor calibration sim-to-real "
    "trajectory optimisation contact dynamics gripper",
    "speech": "speech recognition acoustic phoneme spectrogram speaker diarization vocoder "
    "prosody waveform streaming latency keyword spotting",
    "theory": "convergence bound regret sample complexity convex optimisation gradient descent "
    "generalisation margin kernel lower bound proof",
}
TEMPLATES = [
    "We study {a} for {b} in the presence of {c}.",
    "Existing approaches to {a} rely on {b}, which limits {c}.",
    "We propose a method that combines {a} with {b} to improve {c}.",
    "Our analysis shows that {a} is closely related to {b} under mild assumptions on {c}.",
    "Experiments on {n} benchmarks show gains of {x}.{y} points in {a} over strong {b} baselines.",
    "The approach scales to {n}k examples while reducing {a} cost by {x}%.",
    "We further examine how {a} interacts with {b} and {c}.",
    "Ablations indicate that {a} and {b} contribute most, e.g. {x}.{y}% of the improvement.",
    "Code and data for {a} and {b} are released to support future work on {c}.",
]
QUERY_TEMPLATES = [
    "{a} {b}",
    "how does {a} affect {b}",
    "{a} for {b} with {c}",
    "methods combining {a} and {b}",
    "{a} {b} {c} benchmark",
]
CATEGORIES = {
    "nlp": "cs.CL",
    "vision": "cs.CV",
    "rl": "cs.LG",
    "graphs": "cs.LG",
    "privacy": "cs.CR",
    "robotics": "cs.RO",
    "speech": "eess.AS",
    "theory": "stat.ML",
}


def synth_papers(n: int, seed: int, prefix: str) -> list[dict]:
    rng = random.Random(seed)
    vocab = {k: v.split() for k, v in TOPICS.items()}
    names = list(TOPICS)
    papers = []
    for i in range(n):
        t1, t2 = rng.sample(names, 2)
        words = vocab[t1] * 3 + vocab[t2]

        def fill(template: str, words=words) -> str:
            return template.format(
                a=" ".join(rng.sample(words, 2)),
                b=rng.choice(words),
                c=" ".join(rng.sample(words, 2)),
                n=rng.randint(2, 40),
                x=rng.randint(0, 30),
                y=rng.randint(0, 9),
            )

        abstract = " ".join(fill(t) for t in rng.sample(TEMPLATES, rng.randint(5, 9)))
        title = fill(
            "{a} meets {b}: " + rng.choice(["a study", "scaling", "revisited", "at scale"])
        )
        day = 1 + i % 28
        papers.append(
            {
                "id": f"{prefix}.{i:06d}",
                "version": 1,
                "title": title[0].upper() + title[1:],
                "abstract": abstract,
                "authors": [f"Author {rng.randint(1, 5000)}" for _ in range(rng.randint(1, 6))],
                "categories": sorted({CATEGORIES[t1], CATEGORIES[t2]}),
                "primary_category": CATEGORIES[t1],
                "published": f"2025-{1 + (i // 28) % 12:02d}-{day:02d}T00:00:00Z",
                "updated": None,
                "source": "arxiv-rss",
                "url": f"https://arxiv.org/abs/{prefix}.{i:06d}",
                "pdf_url": None,
                "announce_type": "new",
                "extra": {},
            }
        )
    return papers


def synth_queries(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [w for v in TOPICS.values() for w in v.split()]
    return [
        rng.choice(QUERY_TEMPLATES).format(
            a=rng.choice(words), b=rng.choice(words), c=rng.choice(words)
        )
        for _ in range(n)
    ]


class TimedEmbedder(Embedder):
    """Delegates to a real embedder and adds up the time spent embedding."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.seconds = 0.0
        self.texts = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        out = self.inner.embed(texts)
        self.seconds += time.perf_counter() - start
        self.texts += len(texts)
        return out


class RandomUnitEmbedder(Embedder):
    """Random unit vectors under another model's id: bulk-fills a store for latency tests."""

    def __init__(self, like: Embedder, seed: int = 0) -> None:
        self.model_id = like.model_id
        self.dim = like.dim
        self._rng = np.random.default_rng(seed)

    def embed(self, texts: list[str]) -> np.ndarray:
        x = self._rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load() -> str:
    """Other processes on a shared machine distort every figure: print the load with them."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) {five:.1f} (5 min)"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def bench_ingest(args: argparse.Namespace, root: Path) -> None:
    papers = synth_papers(args.papers, seed=1, prefix="2501")
    emb = TimedEmbedder(make_embedder("minilm", threads=args.threads, batch_size=args.batch_size))
    emb.embed(["warm-up"])  # model load is not throughput
    emb.seconds, emb.texts = 0.0, 0
    home = root / "ingest"
    store = PaperStore(home, emb)
    start = time.perf_counter()
    result = store.upsert(papers)
    total = time.perf_counter() - start
    stats = store.stats()
    store.close()
    size = du(home)
    print(
        f"\n== ingest: {len(result.new)} new papers, {result.chunks} chunks "
        f"({result.chunks / len(papers):.2f} chunks/paper), threads={args.threads}, "
        f"batch={args.batch_size}"
    )
    print(
        f"embedding alone : {emb.seconds:7.1f} s  {emb.texts / emb.seconds:6.1f} chunks/s  "
        f"{len(papers) / emb.seconds:6.1f} papers/s"
    )
    print(
        f"total upsert    : {total:7.1f} s  {result.chunks / total:6.1f} chunks/s  "
        f"{len(papers) / total:6.1f} papers/s  (chunking, Chroma writes, BM25 build included)"
    )
    print(f"{load()} after ingest")
    print(
        f"store: {stats.papers} papers, {stats.chunks} chunks; disk {size / 1e6:.1f} MB = "
        f"{size / 1e6 / (len(papers) / 1000):.1f} MB per 1,000 papers"
    )


def bench_search(args: argparse.Namespace, root: Path) -> None:
    real = make_embedder("minilm", threads=args.threads, batch_size=args.batch_size)
    papers = synth_papers(args.search_papers, seed=2, prefix="2502")
    home = root / "search"
    store = PaperStore(home, RandomUnitEmbedder(real))
    start = time.perf_counter()
    result = store.upsert(papers)  # a no-op on a reused store: every paper is unchanged
    fill = time.perf_counter() - start
    chunks = store.stats().chunks
    store.close()
    print(
        f"\n== search at {args.search_papers} papers ({chunks} chunks); bulk vectors are "
        f"RANDOM unit vectors (only queries are embedded with MiniLM); fill took {fill:.0f} s "
        f"({len(result.new)} new); disk {du(home) / 1e6:.0f} MB"
    )
    store = PaperStore(home, real)
    queries = synth_queries(args.queries, seed=3)
    embed_times = []
    for q in queries[:20]:
        t = time.perf_counter()
        real.embed_query(q)
        embed_times.append(time.perf_counter() - t)
    start = time.perf_counter()
    store.search(queries[0], k=10, mode="bm25")  # cold: Chroma segments and BM25 load
    cold = time.perf_counter() - start
    print(f"first search in a fresh process: {cold:.2f} s (Chroma loads segments, BM25 loads)")
    print(f"query embedding alone: p50 {pct(embed_times, 50):.1f} ms")
    cases = [
        ("hybrid", {}),
        ("dense", {}),
        ("bm25", {}),
        ("hybrid", {"category": "cs.RO"}),
        ("hybrid", {"since_ts": 1748736000}),  # 2025-06-01: about half the corpus
        ("dense", {"since_ts": 1748736000}),
        ("hybrid", {"since_ts": 1764547200}),  # 2025-12-01: the last month, ~8%
        ("hybrid", {"since_ts": 1766102400}),  # 2025-12-19: ~2%
    ]
    for mode, filters in cases:
        times = []
        for q in queries:
            t = time.perf_counter()
            hits = store.search(q, k=10, mode=mode, **filters)
            times.append(time.perf_counter() - t)
            assert len(hits) <= 10
        label = mode + (f" {filters}" if filters else "")
        print(
            f"search {label:38s} p50 {pct(times, 50):6.1f} ms  p95 {pct(times, 95):6.1f} ms  "
            f"({len(queries)} queries, k=10)"
        )
    print(f"{load()} after search")
    store.close()


def bench_daily_write(args: argparse.Namespace, root: Path) -> None:
    """A day's new papers written into the full-size store (on a copy): the BM25 index is
    extended with the new chunks, against rebuilding it from every chunk in Chroma."""
    real = make_embedder("minilm", threads=args.threads, batch_size=args.batch_size)
    home = root / "daily-write"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(root / "search", home)
    store = PaperStore(home, RandomUnitEmbedder(real, seed=5))
    store.rebuild_bm25()  # loads Chroma; and an index saved by an older release gains token ids
    papers = synth_papers(args.daily_papers, seed=9, prefix="2512")
    start = time.perf_counter()
    result = store.upsert(papers)
    write = time.perf_counter() - start
    start = time.perf_counter()
    store.rebuild_bm25()
    rebuild = time.perf_counter() - start
    chunks = store.stats().chunks
    store.close()
    shutil.rmtree(home, ignore_errors=True)
    print(
        f"\n== a day's write: {len(result.new)} new papers ({result.chunks} chunks, random "
        f"vectors) into {chunks} chunks: upsert {write:.2f} s including the BM25 update; "
        f"a full BM25 rebuild from Chroma alone takes {rebuild:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--search-papers", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0 = all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--daily-papers", type=int, default=300, help="papers in the day's write")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    parser.add_argument("--root", type=Path, help="reuse (or create) the stores under this dir")
    args = parser.parse_args()

    import chromadb
    import onnxruntime

    print(
        f"machine: {cpu_model()}, {os.cpu_count()} logical cores, Python "
        f"{platform.python_version()}, onnxruntime {onnxruntime.__version__}, "
        f"chromadb {chromadb.__version__}; {load()}"
    )
    root = args.root or Path(tempfile.mkdtemp(prefix="paperbrief-bench-"))
    args.keep = args.keep or args.root is not None
    try:
        if not args.skip_ingest:
            bench_ingest(args, root)
        if not args.skip_search:
            bench_search(args, root)
            bench_daily_write(args, root)
    finally:
        if args.keep:
            print(f"stores kept under {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
