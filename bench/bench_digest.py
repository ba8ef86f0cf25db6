"""Digest build time and LLM calls per digest.

    /tmp/venv/bin/python bench/bench_digest.py [--sizes 200 2000] [--topics 8]

Papers are synthetic: each belongs to one of ``--topics`` topics, its vector is the topic's
centre plus noise (384-d, unit length, like MiniLM's), its abstract mixes topic words with common
ones. Timed: scoring, clustering, keyword naming and rendering all three formats, without LLM
calls. Then the same digest with the LLM namer against the scripted local OpenAI-compatible
server from tests/, twice, to count calls (the second run should be answered from the cache).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from agent.digest.build import digest_of  # noqa: E402
from agent.digest.choose import Relevance  # noqa: E402
from agent.digest.models import DigestOptions, Selection  # noqa: E402
from agent.digest.relevance import InterestProfile  # noqa: E402
from agent.digest.render import render_all  # noqa: E402

NOW = datetime(2026, 11, 26, 6, tzinfo=UTC)
COMMON = (
    "model",
    "data",
    "results",
    "method",
    "training",
    "performance",
    "show",
    "propose",
    "task",
    "large",
    "new",
)


def synthetic(n: int, topics: int, dim: int = 384, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim))
    vocab = [[f"topic{t}word{w}" for w in range(12)] for t in range(topics)]
    papers, rows = [], []
    for i in range(n):
        t = int(rng.integers(topics))
        rows.append(centres[t] + 0.9 * rng.normal(size=dim))
        words = list(rng.choice(vocab[t], 8)) + list(rng.choice(COMMON, 12))
        papers.append(
            {
                "id": f"2611.{i:05d}",
                "title": " ".join(words[:6]).title(),
                "abstract": " ".join(words) + ". " + " ".join(rng.choice(COMMON, 20)) + ".",
                "authors": ["A. Author", "B. Author", "C. Author", "D. Author"],
                "categories": ["cs.LG"],
                "source": "arxiv-rss",
                "published": (NOW - timedelta(minutes=i)).isoformat(),
            }
        )
    x = np.asarray(rows, dtype=np.float32)
    return papers, x / np.linalg.norm(x, axis=1, keepdims=True)


class HashEmbedder:
    """Stands in for MiniLM for the profile's few interest texts (not what is timed)."""

    def embed(self, texts: list[str]) -> np.ndarray:
        rng = np.random.default_rng(len(" ".join(texts)))
        x = rng.normal(size=(len(texts), 384)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def time_build(papers, vectors, *, profile=None, repeat: int = 3) -> tuple[float, float, object]:
    builds, renders = [], []
    digest = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        digest = digest_of(
            Selection(papers),
            vectors,
            {},
            DigestOptions(now=NOW, max_themes=8),
            relevance=Relevance(profile, HashEmbedder()),
        )
        t1 = time.perf_counter()
        render_all(digest)
        renders.append(time.perf_counter() - t1)
        builds.append(t1 - t0)
    return statistics.median(builds), statistics.median(renders), digest


def count_llm_calls(papers, vectors) -> tuple[int, int, int]:
    from openai_server import OpenAIServer, structured

    from agent.config import Settings
    from agent.digest.naming import LLMThemeNamer
    from agent.llm.chat import make_llm
    from store.digest_history import DigestHistory

    reply = structured({"name": "A theme", "overview": "What connects them."})
    with tempfile.TemporaryDirectory() as tmp, OpenAIServer(handler=reply) as srv:
        settings = Settings(llm_base_url=srv.url, openai_api_key="k", llm_model="test-model")
        namer = LLMThemeNamer(make_llm(settings), cache=DigestHistory.in_home(Path(tmp)))
        digest = digest_of(Selection(papers), vectors, {}, DigestOptions(now=NOW), namer=namer)
        first = len(srv.chat_requests)
        digest_of(Selection(papers), vectors, {}, DigestOptions(now=NOW), namer=namer)
        return len(digest.themes), first, len(srv.chat_requests) - first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--topics", type=int, default=8)
    args = parser.parse_args()
    profile = InterestProfile(interests=["topic words"], keywords=["topic1word3"])
    print(f"{'papers':>7} {'profile':>8} {'build s':>8} {'render s':>9} {'themes':>7} {'also':>5}")
    for n in args.sizes:
        papers, vectors = synthetic(n, args.topics)
        for prof in (None, profile):
            build, render, digest = time_build(papers, vectors, profile=prof)
            print(
                f"{n:>7} {'yes' if prof else 'no':>8} {build:>8.3f} {render:>9.3f} "
                f"{len(digest.themes):>7} {len(digest.also_new):>5}"
            )
    papers, vectors = synthetic(200, args.topics)
    themes, first, second = count_llm_calls(papers, vectors)
    print(
        f"LLM calls for 200 papers: {themes} themes -> {first} calls on the first build, "
        f"{second} on a rebuild (theme-name cache); 0 per paper (summaries are inputs)."
    )


if __name__ == "__main__":
    main()
