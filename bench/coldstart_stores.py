"""Stores for the cold-start and HNSW-recall benchmarks, built through PaperStore.upsert.

Text is realistic (tests/day_corpus.py, 5,000 papers a "day"). The first ``real_papers``
papers are embedded with MiniLM for real, once; their chunk vectors are cached in
``<root>/real_vectors.npz`` (text -> vector). Every other chunk gets one of those real vectors
plus a little noise (deterministic from its text): cold start does not depend on vector
quality, and a full MiniLM pass over 100,000 papers would take hours. HNSW recall is measured
on the real vectors only (bench_hnsw_recall.py).
"""

from __future__ import annotations

import shutil
import sys
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store import PaperStore, make_embedder
from store.embedding.embedders import Embedder
from tests.day_corpus import day_papers

PER_DAY = 5000
DONE = "BUILT"


def corpus(n: int) -> list[dict]:
    """``n`` papers over days of PER_DAY, newest day first; deterministic."""
    out: list[dict] = []
    day = datetime(2026, 11, 27, 20, tzinfo=UTC)
    d = 0
    while len(out) < n:
        prefix = f"{25 - d // 12:02d}{12 - d % 12:02d}"
        take = min(PER_DAY, n - len(out))
        out += day_papers(take, day=day - timedelta(days=d), seed=100 + d, prefix=prefix)
        d += 1
    return out


class RecordingEmbedder(Embedder):
    """MiniLM for real, keeping every (text, vector) it produced."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.texts: list[str] = []
        self.vectors: list[np.ndarray] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        out = self.inner.embed(texts)
        self.texts += list(texts)
        self.vectors.append(out)
        return out


class JitterEmbedder(Embedder):
    """A cached real vector for a known text, else a real vector from the pool plus noise."""

    def __init__(self, like: Embedder, texts: list[str], vectors: np.ndarray) -> None:
        self.model_id, self.dim = like.model_id, like.dim
        self.known = {t: i for i, t in enumerate(texts)}
        self.pool = vectors

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            i = self.known.get(text)
            if i is not None:
                out[row] = self.pool[i]
                continue
            seed = zlib.crc32(text.encode())
            rng = np.random.default_rng(seed)
            v = self.pool[seed % len(self.pool)] + rng.normal(0, 0.03, self.dim)
            out[row] = v / np.linalg.norm(v)
        return out


def real_vectors(root: Path, real_papers: int) -> tuple[list[str], np.ndarray, str]:
    """(texts, vectors, model id) of the first ``real_papers`` papers' chunks, embedded once."""
    cache = root / f"real_vectors_{real_papers}.npz"
    real = make_embedder("minilm")
    if cache.is_file():
        got = np.load(cache)
        return [str(t) for t in got["texts"]], got["vectors"], real.model_id
    root.mkdir(parents=True, exist_ok=True)
    rec = RecordingEmbedder(real)
    home = root / f"real-{real_papers}"
    start = time.perf_counter()
    with PaperStore(home, rec) as store:
        store.upsert(corpus(real_papers))
    vectors = np.concatenate(rec.vectors)
    print(
        f"embedded {len(rec.texts)} chunks of {real_papers} papers with MiniLM in "
        f"{time.perf_counter() - start:.0f} s",
        flush=True,
    )
    np.savez(cache, texts=np.array(rec.texts), vectors=vectors)
    return rec.texts, vectors, real.model_id


def build_store(root: Path, papers: int, real_papers: int) -> Path:
    """``<root>/store-<papers>``: a PaperStore home with ``papers`` papers (reused if built)."""
    home = root / f"store-{papers}"
    if (home / DONE).is_file():
        return home
    texts, vectors, _ = real_vectors(root, real_papers)
    emb = JitterEmbedder(make_embedder("minilm"), texts, vectors)
    everything = corpus(papers)
    smaller = [int(d.name.split("-")[1]) for d in root.glob("store-*") if (d / DONE).is_file()]
    have = max([n for n in smaller if n < papers and n % PER_DAY == 0], default=0)
    if have:  # the first papers are the same: start from a copy of the smaller store
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(root / f"store-{have}", home)
        (home / DONE).unlink()
    start = time.perf_counter()
    with PaperStore(home, emb) as store:
        for i in range(have, papers, PER_DAY):
            store.upsert(everything[i : i + PER_DAY])
            print(f"  {home.name}: {i + PER_DAY} papers, {time.perf_counter() - start:.0f} s",
                  flush=True)  # fmt: skip
    (home / DONE).write_text(str(papers))
    return home


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("/tmp/pb/coldstart"))
    parser.add_argument("--papers", type=int, nargs="+", default=[20000])
    parser.add_argument("--real-papers", type=int, default=5000)
    args = parser.parse_args()
    for n in args.papers:
        print(build_store(args.root, n, args.real_papers))
