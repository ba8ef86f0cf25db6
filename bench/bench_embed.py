"""Chunks/s of the MiniLM ONNX embedder on real abstract chunks (issue 14 item 3).

Real text offline: the arXiv Atom/RSS and Hugging Face samples in ../shared/samples (when the
checkout has them) and the demo corpus (hand-written, realistic lengths), chunked as ingest
chunks them. "before" runs the old batching (32 texts per run whatever their width); "after" is
the default (runs capped by rows * width^2, see store.embedder.MAX_BATCH_CELLS). Vectors of
every setting are compared with "after" (cosine).

    .venv/bin/python bench/bench_embed.py           # 5 rounds
    .venv/bin/python bench/bench_embed.py --quick   # 1 round
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.sources.files import read_papers  # noqa: E402
from store.chunking import chunk_paper  # noqa: E402
from store.embedder import MiniLMEmbedder, minilm_tokenizer  # noqa: E402

SAMPLES = REPO.parent / "shared" / "samples"


def real_chunks() -> list[str]:
    files = [REPO / "agent" / "data" / "demo_corpus.jsonl"]
    if SAMPLES.is_dir():
        files += sorted(p for p in SAMPLES.iterdir() if p.suffix in (".xml", ".json"))
    papers = {}
    for path in files:
        try:
            papers.update((p.id, p) for p in read_papers(path).papers)
        except Exception:  # error answers among the samples hold no papers
            continue
    return [c for p in papers.values() for c in chunk_paper(p.title, p.abstract)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round")
    args = parser.parse_args()
    rounds = 1 if args.quick else 5
    texts = real_chunks()
    lengths = np.array([len(e.ids) for e in minilm_tokenizer().encode_batch(texts)])
    print(f"{len(texts)} real chunks, tokens: median {int(np.median(lengths))}, "
          f"p90 {int(np.percentile(lengths, 90))}, max {lengths.max()}")  # fmt: skip
    cores = os.cpu_count() or 1
    settings = {
        "after (default)": {},
        "after, 1 thread": {"threads": 1},
        "before: 32 per run": {"max_cells": 10**12},
        "before, 1 thread": {"max_cells": 10**12, "threads": 1},
    }
    embedders = {name: MiniLMEmbedder(**kw) for name, kw in settings.items()}
    for emb in embedders.values():
        emb.embed(texts[:2])  # load the model
    rates: dict[str, list[float]] = {name: [] for name in settings}
    vectors: dict[str, np.ndarray] = {}
    print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]}  cpus: {cores}")
    for _ in range(rounds):  # interleaved, so a change of load hits every setting alike
        for name, emb in embedders.items():
            start = time.perf_counter()
            vectors[name] = emb.embed(texts)
            rates[name].append(len(texts) / (time.perf_counter() - start))
    ref = vectors["after (default)"]
    for name, got in rates.items():
        cosine = float(np.min(np.sum(vectors[name] * ref, axis=1)))
        print(f"{name:<22} {statistics.median(got):7.1f} chunks/s (best {max(got):.1f})  "
              f"min cosine to default {cosine:.7f}")  # fmt: skip
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
