"""Issue 13 item 7: filler and many-chunk papers must not crowd search results.

Three real abstracts made of dot leaders became 179-290 near-identical chunks each and filled
the dense candidate list, so dense search returned 3-8 papers for k=10.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest

from store import PaperStore
from store.papers.chunking import MAX_CHUNKS, chunk_paper

DEMO = Path(__file__).resolve().parents[1] / "agent" / "data" / "demo_corpus.jsonl"
LEADERS = ". " * 600
TOC = " ".join(f"Section {i} . . . . . . . . . . . . . . . {3 * i}" for i in range(1, 120))
CORAL_TITLE = "Coral Reef Bleaching Under Marine Heatwaves: A Multi-Year Field Survey"
CORAL_WORDS = [
    "coral",
    "reef",
    "bleaching",
    "heatwave",
    "colony",
    "symbiont",
    "algae",
    "lagoon",
    "transect",
    "survey",
    "diver",
    "temperature",
    "anomaly",
    "recovery",
    "mortality",
    "branching",
    "massive",
    "juvenile",
    "recruit",
    "grazing",
    "urchin",
    "parrotfish",
    "sediment",
    "turbidity",
    "nutrient",
    "runoff",
    "storm",
    "cyclone",
    "larvae",
    "settlement",
    "calcification",
    "acidification",
    "shading",
    "canopy",
    "depth",
    "slope",
    "crest",
    "flat",
    "channel",
    "pinnacle",
    "photograph",
    "quadrat",
    "census",
    "tag",
    "index",
    "cover",
    "loss",
    "gain",
    "season",
    "winter",
    "summer",
    "monsoon",
]


def background() -> list[dict]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    return rows[:12]


def long_coral_page(sentences: int = 180) -> str:
    """A pasted full-text page: many distinct sentences, so many distinct chunks."""
    rng = random.Random(7)
    out = []
    for i in range(sentences):
        words = rng.sample(CORAL_WORDS, 11)
        out.append(f"At site {i} the {' '.join(words)} was recorded in year {2000 + i % 25}.")
    return " ".join(out)


# --- chunking -----------------------------------------------------------------------------
def test_dot_leaders_and_letterless_units_make_no_chunks():
    assert chunk_paper("Only Leaders", LEADERS) == ["Only Leaders"]  # old: 200 chunks of dots
    chunks = chunk_paper("Contents", TOC)
    assert len(chunks) <= 8, len(chunks)  # old: 1,200+ chunks
    for chunk in chunks:
        body = chunk.split("\n", 1)[1]
        assert ". ." not in body and re.search(r"[A-Za-z]", body)
    assert "Section 119" in chunks[-1]  # the words are all kept
    mixed = "We propose a method. . . . . . 12 . 14 . (3). It works well on three benchmarks."
    assert chunk_paper("Mixed", mixed) == [
        "Mixed\nWe propose a method. It works well on three benchmarks."
    ]


def test_repeated_text_is_chunked_once():
    paragraph = (
        "We propose a new optimiser for sparse models. It converges twice as fast on language "
        "modelling. The code is public. "
    )
    chunks = chunk_paper("Repeats", paragraph * 60)  # a copy-paste gone wrong
    assert len(chunks) == 1, len(chunks)  # old: 60 identical chunks


def test_distinct_sentences_are_all_kept_and_chunks_per_paper_are_capped():
    page = long_coral_page()
    chunks = chunk_paper(CORAL_TITLE, page)
    assert len(chunks) == 60  # 180 distinct sentences, 3 per chunk: nothing merged away
    huge = long_coral_page(5_000)  # ~450,000 characters
    started = time.monotonic()
    chunks = chunk_paper(CORAL_TITLE, huge)
    assert len(chunks) == MAX_CHUNKS  # old: 1,667 chunks, all embedded
    assert time.monotonic() - started < 10


# --- search -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def crowded(tmp_path_factory, minilm):
    store = PaperStore(tmp_path_factory.mktemp("crowded"), minilm)
    junk = [
        {"id": f"junk-{i}", "title": f"Coral reef bleaching survey tables {i}", "abstract": text}
        for i, text in enumerate((LEADERS, TOC, LEADERS + TOC))
    ]
    page = {"id": "long-page", "title": CORAL_TITLE, "abstract": long_coral_page()}
    store.upsert([*background(), *junk, page])
    yield store
    store.close()


QUERY = "coral reef bleaching survey during marine heatwaves"


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_search_returns_k_distinct_papers_despite_a_many_chunk_paper(crowded, mode):
    hits = crowded.search(QUERY, k=10, mode=mode)
    ids = [h.paper["id"] for h in hits]
    assert len(ids) == len(set(ids)) == 10, ids
    assert ids[0] in {"long-page", "junk-0", "junk-1", "junk-2"}
    assert len(crowded.chunks_of("long-page")) == 60
    assert all(len(crowded.chunks_of(f"junk-{i}")) <= 8 for i in range(3))


def test_without_growing_the_fetch_the_long_paper_would_crowd_dense_results(crowded):
    """The case the growth is for: the long paper's 60 chunks fill the first 50 dense ones."""
    crowded.fetch_max = 50  # no growth beyond the first fetch (k=5 -> 50 chunks)
    try:
        few = crowded.search(QUERY, k=5, mode="dense")
    finally:
        del crowded.fetch_max
    assert len(few) < 5
    assert len(crowded.search(QUERY, k=5, mode="dense")) == 5
