"""Backfill write-path benchmark: successive batches of papers into ONE growing store.

    python bench/bench_backfill.py                      # 10 batches of 1,000 papers, real MiniLM
    python bench/bench_backfill.py --embedder hashing   # the write path alone (no model)
    python bench/bench_backfill.py --embedder minilm-fp32   # [embedding] kernels = "fp32"
    python bench/bench_backfill.py --quick              # 3 batches of 300 (a couple of minutes)

Each batch goes through ``PaperStore.upsert`` as a backfill page does (chunk, embed, Chroma,
BM25), and its time is split into embed (the embedder's calls), bm25 (the index update and its
save) and chroma+rest (Chroma reads and writes, chunking, records). A flat cost per batch is the
goal: the last column should not grow with the store. The extrapolation to 100,000 papers
multiplies the mean of the last half of the batches.

Text: sentences of real abstracts (../shared/samples: arXiv API/RSS and HF payloads, plus the
demo corpus) recombined into abstracts of real length, each with a few paper-unique terms so the
BM25 vocabulary grows as a real corpus does. No network, no data set download.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from html import unescape
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from store import PaperStore, make_embedder  # noqa: E402
from store.bm25.keeper import BM25Keeper  # noqa: E402
from store.embedding.embedders import Embedder, HashingEmbedder  # noqa: E402

SAMPLES = REPO.parent / "shared" / "samples"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def real_abstracts() -> list[str]:
    texts = []
    for line in (REPO / "agent" / "data" / "demo_corpus.jsonl").read_text().splitlines():
        texts.append(json.loads(line)["abstract"])
    for path in sorted(SAMPLES.glob("*.xml")) if SAMPLES.is_dir() else []:
        raw = path.read_text(encoding="utf-8", errors="replace")
        for match in re.findall(r"<(?:summary|description)>(.*?)</", raw, flags=re.S):
            text = unescape(re.sub(r"<[^>]+>", " ", unescape(match)))
            text = text.split("Abstract:", 1)[-1]
            if len(text.split()) > 40:
                texts.append(" ".join(text.split()))
    for path in sorted(SAMPLES.glob("hf_*.json")) if SAMPLES.is_dir() else []:
        for item in json.loads(path.read_text(encoding="utf-8", errors="replace")):
            summary = (item.get("paper") or {}).get("summary") or item.get("summary")
            if summary and len(summary.split()) > 40:
                texts.append(" ".join(summary.split()))
    return texts


class Corpus:
    """Papers of real sentences and real abstract lengths (in sentences)."""

    def __init__(self, seed: int = 0) -> None:
        abstracts = real_abstracts()
        self.sentences = [s for a in abstracts for s in _SENTENCE.split(a) if len(s) > 20]
        self.lengths = [max(3, len(_SENTENCE.split(a))) for a in abstracts]
        self.rng = random.Random(seed)
        self.n = 0

    def batch(self, size: int) -> list[dict]:
        out = []
        for _ in range(size):
            self.n += 1
            rng = self.rng
            body = " ".join(rng.choice(self.sentences) for _ in range(rng.choice(self.lengths)))
            rare = f"Model{self.n:06d}X and dataset DS{self.n * 7919 % 100003:05d}"
            out.append({
                "id": f"2501.{self.n:05d}", "version": 1, "source": "arxiv",
                "title": f"{rng.choice(self.sentences)[:90]} ({rare.split()[0]})",
                "abstract": f"{body} We introduce {rare}.", "authors": ["A. Author"],
                "categories": [rng.choice(["cs.LG", "cs.CL", "cs.AI", "cs.CV"])],
                "published": f"2025-{1 + self.n % 12:02d}-{1 + self.n % 28:02d}T10:00:00+00:00",
            })  # fmt: skip
        return out


class TimedEmbedder(Embedder):
    """Delegates to an embedder and adds up the time its calls take."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.seconds = inner, 0.0

    @property
    def model_id(self) -> str:  # type: ignore[override]
        return self.inner.model_id

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.inner.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - t0


class TimedKeeper(BM25Keeper):
    """The store's BM25 keeper, timing the update after each write."""

    seconds = 0.0

    def after_write(self, start, delta) -> None:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            super().after_write(start, delta)
        finally:
            TimedKeeper.seconds += time.perf_counter() - t0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(args: argparse.Namespace, root: Path) -> None:
    if args.embedder == "hashing":
        inner: Embedder = HashingEmbedder(384)
    else:  # minilm: the default (a new store: int8 kernels), or minilm-fp32
        inner = make_embedder(
            "minilm", kernels="fp32" if args.embedder.endswith("fp32") else "auto"
        )
    embedder = TimedEmbedder(inner)
    store = PaperStore(root / "home", embedder)
    keeper = store._bm25
    store._bm25 = TimedKeeper(keeper.root, store.state, store._chunk_rows)
    corpus = Corpus(seed=args.seed)
    load = "{:.2f} {:.2f}".format(*os.getloadavg()[:2])
    print(f"# {args.batches} batches x {args.batch} papers, embedder={inner.model_id}, "
          f"load {load} (1/5 min), cpus {os.cpu_count()}")  # fmt: skip
    print(f"{'batch':>5} {'papers':>7} {'chunks':>7} {'total s':>8} {'embed s':>8} "
          f"{'chroma+rest s':>13} {'bm25 s':>7} {'papers/s':>8} {'rss MB':>7}")  # fmt: skip
    totals = []
    for b in range(1, args.batches + 1):
        papers = corpus.batch(args.batch)
        embedder.seconds = TimedKeeper.seconds = 0.0
        t0 = time.perf_counter()
        result = store.upsert(papers)
        total = time.perf_counter() - t0
        bm25, embed = TimedKeeper.seconds, embedder.seconds
        totals.append(total)
        print(f"{b:>5} {b * args.batch:>7} {result.chunks:>7} {total:>8.1f} {embed:>8.1f} "
              f"{total - embed - bm25:>13.1f} {bm25:>7.2f} {args.batch / total:>8.1f} "
              f"{rss_mb():>7.0f}", flush=True)  # fmt: skip
    tail = totals[len(totals) // 2 :]
    per_paper = sum(tail) / (len(tail) * args.batch)
    print(f"# mean of the last {len(tail)} batches: {per_paper * 1000:.1f} ms/paper -> "
          f"100,000 papers ~ {per_paper * 100_000 / 60:.0f} min of write work "
          f"(plus arXiv's 3 s per request: ~{100_000 / 500 * 3 / 60:.0f} min at 500 per page, "
          "overlapping nothing)")  # fmt: skip
    print(f"# load after: {os.getloadavg()[0]:.2f}")
    store.close()


def bm25_at_scale(args: argparse.Namespace, root: Path) -> None:
    """The BM25 part alone at a big store: one batch's update (+ save) into an index of
    ``--bm25-scale`` papers, against rebuilding that index."""
    from store.bm25.index import BM25Index, ChunkRow
    from store.papers.chunking import chunk_paper

    corpus, rng = Corpus(seed=args.seed), np.random.default_rng(args.seed)

    def rows_of(papers: list[dict]) -> tuple[list[ChunkRow], np.ndarray]:
        rows = [ChunkRow(f"{p['id']}#{i}", p["id"], text, 0, "arxiv", p["categories"])
                for p in papers
                for i, text in enumerate(chunk_paper(p["title"], p["abstract"]))]  # fmt: skip
        return rows, rng.normal(size=(len(rows), 384)).astype(np.float32)

    base_rows, base_vecs = [], []
    for _ in range(args.bm25_scale // 5000):
        rows, vecs = rows_of(corpus.batch(5000))
        base_rows += rows
        base_vecs.append(vecs)
    t0 = time.perf_counter()
    index = BM25Index.build(base_rows, revision=1, vectors=np.concatenate(base_vecs))
    index.save(root / "bm25")
    build = time.perf_counter() - t0
    index = BM25Index.load(root / "bm25")
    print(f"# BM25 at {args.bm25_scale} papers ({len(base_rows)} chunks): build+save {build:.1f} s"
          f", load {os.getloadavg()[0]:.2f}")  # fmt: skip
    for b in range(1, 4):
        papers = corpus.batch(args.batch)
        rows, vecs = rows_of(papers)
        t0 = time.perf_counter()
        index = index.updated(drop_papers={p["id"] for p in papers}, rows=rows, vectors=vecs,
                              revision=1 + b)  # fmt: skip
        index.save(root / "bm25")
        print(f"# update {b}: +{len(rows)} chunks in {time.perf_counter() - t0:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1000, help="papers per batch")
    parser.add_argument(
        "--embedder", choices=["minilm", "minilm-fp32", "hashing"], default="minilm"
    )
    parser.add_argument("--quick", action="store_true", help="3 batches of 300")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the store in this folder")
    parser.add_argument(
        "--bm25-scale", type=int, default=0, metavar="PAPERS",
        help="only time BM25 updates of one batch into an index of PAPERS",
    )  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.batches, args.batch = 3, 300
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args, args.keep)
        return
    root = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    try:
        (bm25_at_scale if args.bm25_scale else run)(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
