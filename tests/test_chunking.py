"""Sentence splitting and chunking of abstracts."""

from __future__ import annotations

import pytest

from store.embedding.embedders import MAX_TOKENS, minilm_tokenizer
from store.papers.chunking import chunk_paper, split_sentences


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "We use transformers, e.g. BERT and T5. They work well.",
            ["We use transformers, e.g. BERT and T5.", "They work well."],
        ),
        (
            "As shown by Smith et al. in prior work, scaling helps. We confirm it.",
            ["As shown by Smith et al. in prior work, scaling helps.", "We confirm it."],
        ),
        (
            "Accuracy rises by 0.5 points (see Fig. 3). Code is at arXiv:2401.01234 now.",
            ["Accuracy rises by 0.5 points (see Fig. 3).", "Code is at arXiv:2401.01234 now."],
        ),
        ("Does it scale? Yes! It does.", ["Does it scale?", "Yes!", "It does."]),
        ("One sentence without a final period", ["One sentence without a final period"]),
        ("  ", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def _tokens_with_specials(text: str) -> int:
    return len(minilm_tokenizer().encode(text).ids)


def test_one_sentence_abstract_gives_one_chunk_starting_with_title():
    chunks = chunk_paper("A Tiny Paper", "We show one thing.")
    assert chunks == ["A Tiny Paper\nWe show one thing."]
    assert chunk_paper("Only a Title", "") == ["Only a Title"]


def test_about_three_sentences_per_chunk_every_chunk_starts_with_title():
    sentences = [f"Sentence number {i} reports result {i} on benchmark {i}." for i in range(7)]
    chunks = chunk_paper("Balanced Chunks", " ".join(sentences))
    assert len(chunks) == 3
    assert all(c.startswith("Balanced Chunks\n") for c in chunks)
    bodies = [c.split("\n", 1)[1] for c in chunks]
    assert [len(split_sentences(b)) for b in bodies] == [3, 2, 2]
    assert " ".join(bodies) == " ".join(sentences)  # nothing lost, nothing repeated


def test_chunks_stay_under_the_token_window_even_for_huge_sentences():
    huge = " ".join(f"component{i} interacts with subsystem{i}" for i in range(200)) + "."
    abstract = f"We start simply. {huge} Then we conclude. Finally we release code."
    chunks = chunk_paper("Long Sentence Handling in Scientific Abstracts", abstract)
    assert len(chunks) > 2
    assert all(_tokens_with_specials(c) <= MAX_TOKENS for c in chunks)
    assert all(c.startswith("Long Sentence Handling in Scientific Abstracts\n") for c in chunks)
    joined = " ".join(c.split("\n", 1)[1] for c in chunks)
    assert "component0" in joined and "component199" in joined and "release code" in joined


def test_overlong_title_is_cut_in_the_prefix():
    title = "Title " + "verylongword " * 300
    chunks = chunk_paper(title, "Body sentence one. Body sentence two.")
    assert all(_tokens_with_specials(c) <= MAX_TOKENS for c in chunks)
    assert "Body sentence two." in chunks[-1]
