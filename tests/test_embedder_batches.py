"""Issue 14 items 1 and 3: the MiniLM embedder runs texts in length-sorted batches whose size
falls as their width grows (bounded memory per run), with vectors unchanged by the batching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from store.embedder import MiniLMEmbedder, minilm_tokenizer, token_batches

DEMO = Path(__file__).resolve().parents[1] / "agent" / "data" / "demo_corpus.jsonl"


def real_chunks() -> list[str]:
    from store.chunking import chunk_paper

    papers = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    return [c for p in papers[:16] for c in chunk_paper(p["title"], p["abstract"])]


def test_token_batches_cover_every_text_once_and_respect_the_cap():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 257, size=500)
    cap = 220_000
    batches = token_batches(lengths, 32, cap)
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(500))
    widths = [int(lengths[b].max()) for b in batches]
    assert widths == sorted(widths, reverse=True)  # longest first: little padding
    for b, width in zip(batches, widths, strict=True):
        assert len(b) <= 32
        assert len(b) == 1 or len(b) * width * (width + 48) <= cap
    assert len(batches[0]) < 4 < len(batches[-2])  # long texts run few at a time


def test_one_text_longer_than_the_cap_still_runs_alone():
    assert [b.tolist() for b in token_batches(np.array([256, 256]), 32, 10)] == [[0], [1]]


def test_vectors_are_the_same_whatever_the_batching(minilm):
    """Each text embedded alone (no padding at all) against the default batches: the speed and
    memory settings must not move a vector (the store's embedder id promises as much)."""
    texts = real_chunks()
    lengths = [len(e.ids) for e in minilm_tokenizer().encode_batch(texts)]
    assert max(lengths) > 2 * min(lengths)  # padding happens in the batched run
    batched = minilm.embed(texts)
    alone = MiniLMEmbedder(threads=1, batch_size=1).embed(texts)
    wide = MiniLMEmbedder(threads=2, batch_size=64, max_cells=10**9).embed(texts)
    for other in (alone, wide):
        cosine = np.sum(batched * other, axis=1)
        assert cosine.min() > 1 - 1e-5
    assert MiniLMEmbedder().model_id == minilm.model_id


@pytest.mark.parametrize("n", [1, 3])
def test_order_is_kept_when_batches_are_split(minilm, n):
    texts = real_chunks()[: 8 * n]
    vectors = MiniLMEmbedder(threads=2, max_cells=30_000).embed(texts)
    single = np.stack([minilm.embed_query(t) for t in texts[:3]])
    assert np.allclose(vectors[:3], single, atol=1e-5)
