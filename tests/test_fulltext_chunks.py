"""Body chunks: within MiniLM's window (counted by the store's own tokenizer), never across a
section, each naming its section, at most max_chunks per paper with the body first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.fulltext import BodyChunk, Document, Section, chunk_document, parse_html, parse_pdf
from store.papers.chunking import count_tokens

FIXTURES = Path(__file__).parent / "fixtures" / "fulltext"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "samples"


@pytest.fixture(scope="module")
def routed() -> Document:
    return parse_html((FIXTURES / "routed_retrieval.html").read_text(encoding="utf-8"))


def squashed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_chunks_fit_the_window_and_name_their_section(routed):
    chunks = chunk_document(routed)
    assert chunks and [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert count_tokens([chunk.text])[0] + 2 <= 256  # + [CLS] and [SEP]
        section = next(
            s for s in routed.sections if s.number == chunk.section and s.heading == chunk.heading
        )
        if chunk.kind == "body":
            assert chunk.passage in " ".join(section.paragraphs)
        assert chunk.text == f"{routed.title}\n{section.label}\n{chunk.passage}"
    labels = [c.label for c in chunks if c.kind == "body"]
    assert labels[0] == "§1 Introduction" and "§3.2.1 Training Signal" in labels


def test_every_body_sentence_is_in_some_chunk_in_order(routed):
    chunks = chunk_document(routed)
    for section in routed.sections:
        body = [
            c.passage
            for c in chunks
            if c.kind == "body" and c.section == section.number and c.heading == section.heading
        ]
        assert squashed(" ".join(body)) == squashed(" ".join(section.paragraphs))


def test_captions_are_chunks_references_and_footnotes_are_not(routed):
    chunks = chunk_document(routed)
    captions = [c for c in chunks if c.kind == "caption"]
    assert [(c.section, c.passage) for c in captions] == [
        ("4.1", "Table 1: Recall at ten and index size on the body-only benchmark."),
        ("4.2", "Figure 1: Recall at ten as a function of the router threshold τ."),
    ]
    everything = " ".join(c.text for c in chunks)
    assert "Zaragoza" not in everything  # a reference
    assert "no human annotation is required" not in everything  # a footnote


def test_the_cap_keeps_body_first_then_captions_then_appendix(routed):
    everything = chunk_document(routed)
    kinds = [(c.kind, c.appendix) for c in everything]
    assert ("body", True) in kinds and ("caption", False) in kinds
    body = sum(1 for c in everything if c.kind == "body" and not c.appendix)
    capped = chunk_document(routed, max_chunks=body + 1)
    assert len(capped) == body + 1
    assert [c.kind for c in capped].count("caption") == 1 and not any(c.appendix for c in capped)
    assert [c.index for c in capped] == list(range(body + 1))


def test_over_the_cap_every_section_keeps_its_first_chunk():
    sections = [
        Section(
            number=str(n),
            heading=f"Part {n}",
            paragraphs=[f"Section {n} sentence {i}. " * 40 for i in range(6)],
        )
        for n in range(1, 6)
    ]
    doc = Document(format="pdf", sections=sections)
    full = chunk_document(doc)
    assert len({c.section for c in full}) == 5 and len(full) > 10
    capped = chunk_document(doc, max_chunks=7)
    assert [c.section for c in capped] == ["1", "1", "2", "2", "3", "4", "5"]
    first = {c.section: c.passage for c in reversed(full)}
    assert all(first[c.section] == c.passage for c in capped if c.section in {"3", "4", "5"})


def test_long_sentences_are_cut_at_words():
    sentence = " ".join(f"word{i}" for i in range(900)) + "."
    doc = Document(
        format="pdf", sections=[Section(number="2", heading="Method", paragraphs=[sentence])]
    )
    chunks = chunk_document(doc, title="A long paper")
    assert len(chunks) > 3
    assert all(count_tokens([c.text])[0] + 2 <= 256 for c in chunks)
    assert " ".join(c.passage for c in chunks) == sentence


def test_another_embedders_tokenizer_can_be_given():
    def by_words(texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def by_periods(text: str) -> list[str]:
        return [s.strip() + "." for s in text.split(".") if s.strip()]

    paragraph = " ".join(f"Sentence {i} has five words." for i in range(40))
    doc = Document(
        format="html", sections=[Section(number="1", heading="Intro", paragraphs=[paragraph])]
    )
    chunks = chunk_document(doc, max_tokens=30, count_tokens=by_words, split_sentences=by_periods)
    assert all(by_words([c.text])[0] <= 30 - 3 for c in chunks)
    assert all(isinstance(c, BodyChunk) and c.section == "1" for c in chunks)


def test_a_real_paper_stays_within_the_default_cap():
    path = SHARED / "arxiv_pdf_1810.04805v2_resaved.pdf"
    if not path.is_file():
        pytest.skip("the real arXiv PDFs of ../shared/samples are not in this checkout")
    doc = parse_pdf(path.read_bytes())
    chunks = chunk_document(doc, max_chunks=40)
    assert len(chunks) == 40
    assert not any(c.appendix for c in chunks)  # BERT's appendix waits behind the body
    assert {c.section for c in chunks} >= {"1", "3.1", "4.1", "5.1", "6"}  # spread to the end
