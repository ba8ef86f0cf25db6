"""Chunks/s of the MiniLM ONNX embedder on real abstract chunks (issue 14 item 3).

Real text offline: the arXiv Atom/RSS and Hugging Face samples in ../shared/samples (when the
checkout has them) and the demo corpus (hand-written, realistic lengths), chunked as ingest
chunks them; ``--corpus FILE`` adds any file ingest reads. Settings, run interleaved so a change
of load hits them alike:

* "int8 (default)": the fused graph with int8 MatMuls, each text run alone (its own embedder
  id; the default for a new store since kernels "auto");
* "fp32 fused": the graph store.embedding.minilm_graph rewrites (fused attention and GELU),
  fp32 (what a store built before "auto" keeps using);
* "exported graph": the packaged graph as exported (what ran before the fusion).

Each is compared with the exported graph (cosine of every vector), and the model load (session
build, rewrite included) is timed once per graph.

    .venv/bin/python bench/bench_embed.py           # 5 rounds
    .venv/bin/python bench/bench_embed.py --quick   # 1 round
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.sources.files import read_papers  # noqa: E402
from store.embedding.embedders import MiniLMEmbedder, minilm_tokenizer  # noqa: E402
from store.papers.chunking import chunk_paper  # noqa: E402

SAMPLES = REPO.parent / "shared" / "samples"


def real_chunks(extra: list[Path] | None = None) -> list[str]:
    files = [REPO / "agent" / "data" / "demo_corpus.jsonl", *(extra or [])]
    if SAMPLES.is_dir():
        files += sorted(p for p in SAMPLES.iterdir() if p.suffix in (".xml", ".json"))
    papers = {}
    for path in files:
        try:
            papers.update((p.id, p) for p in read_papers(path).papers)
        except Exception:  # error answers among the samples hold no papers
            continue
    return [c for p in papers.values() for c in chunk_paper(p.title, p.abstract)]


def cold_load(kwargs: dict[str, Any]) -> float:
    """Seconds to build the model's session (rewrite included) in a new process: what a CLI
    command pays on its first embed, after its imports."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import onnxruntime, tokenizers\n"
        "from store.embedding.embedders import MiniLMEmbedder\n"
        f"emb = MiniLMEmbedder(**{kwargs!r}); start = time.perf_counter(); emb.warm()\n"
        "print(time.perf_counter() - start)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, check=True
    )
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--corpus", type=Path, action="append", help="more papers to chunk")
    args = parser.parse_args()
    rounds = 1 if args.quick else 5
    texts = real_chunks(args.corpus)
    lengths = np.array([len(e.ids) for e in minilm_tokenizer().encode_batch(texts)])
    print(f"{len(texts)} real chunks, tokens: median {int(np.median(lengths))}, "
          f"p90 {int(np.percentile(lengths, 90))}, max {lengths.max()}")  # fmt: skip
    cores = os.cpu_count() or 1
    settings: dict[str, dict[str, Any]] = {
        "int8 (default)": {},
        "int8, 1 thread": {"threads": 1},
        "fp32 fused": {"kernels": "fp32"},
        "fp32 fused, 1 thread": {"kernels": "fp32", "threads": 1},
        "exported graph": {"fuse": False},
        "exported, 1 thread": {"fuse": False, "threads": 1},
    }
    for name, kw in settings.items():
        if "1 thread" not in name:
            took = sorted(cold_load(kw) for _ in range(3))
            print(f"model load in a fresh process, {name:<16} median {took[1]:.2f} s "
                  f"({took[0]:.2f}-{took[2]:.2f})")  # fmt: skip
    embedders = {name: MiniLMEmbedder(**kw) for name, kw in settings.items()}
    for emb in embedders.values():
        emb.embed(texts[:2])  # one session per graph and process: 1-thread settings reuse it
    rates: dict[str, list[float]] = {name: [] for name in settings}
    vectors: dict[str, np.ndarray] = {}
    print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]}  cpus: {cores}")
    for _ in range(rounds):  # interleaved, so a change of load hits every setting alike
        for name, emb in embedders.items():
            start = time.perf_counter()
            vectors[name] = emb.embed(texts)
            rates[name].append(len(texts) / (time.perf_counter() - start))
    ref = vectors["exported graph"]
    for name, got in rates.items():
        cosine = np.sum(vectors[name] * ref, axis=1)
        print(f"{name:<20} {statistics.median(got):7.1f} chunks/s (best {max(got):.1f})  "
              f"cosine to exported: min {cosine.min():.7f} mean {cosine.mean():.7f}  "
              f"[{embedders[name].model_id}]")  # fmt: skip
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
