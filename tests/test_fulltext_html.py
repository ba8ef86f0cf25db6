"""The HTML reader on LaTeXML's real output for four papers written for these tests, and on the
stub and fatal-error pages arXiv serves instead of a paper."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fulltext_expect import HEADINGS, expected_paragraphs, recovered, words

from agent.fulltext import Document, parse_html
from agent.fulltext.detect import PageKind, classify_page

FIXTURES = Path(__file__).parent / "fixtures" / "fulltext"
PAPERS = ("routed_retrieval", "soil_moisture", "queue_bounds", "speech_adapters")
MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|\bltx_\w+|\\[a-zA-Z]+|&[a-z]+;|\$")


def read(name: str) -> Document:
    return parse_html((FIXTURES / f"{name}.html").read_text(encoding="utf-8"))


def all_text(doc: Document) -> list[str]:
    texts = [doc.title or "", doc.abstract]
    for section in doc.sections:
        texts += [section.heading, *section.paragraphs]
    texts += [c.text for c in doc.captions] + [f.text for f in doc.footnotes]
    return texts + [r.text for r in doc.references]


@pytest.mark.parametrize("name", PAPERS)
def test_every_heading_found_with_its_number_and_level(name):
    doc = read(name)
    assert [(s.number, s.heading) for s in doc.sections] == HEADINGS[name]
    for section in doc.sections:
        if section.number and section.number[0].isdigit():
            assert section.level == section.number.count(".") + 1


@pytest.mark.parametrize("name", PAPERS)
def test_paragraph_text_recovered(name):
    doc = read(name)
    expected = words(" ".join(expected_paragraphs(name)))
    got = words(" ".join(p for s in doc.sections for p in s.paragraphs))
    assert len(expected) > 200
    assert recovered(expected, got) >= 0.95


@pytest.mark.parametrize("name", PAPERS)
def test_no_markup_left(name):
    leftovers = [t for t in all_text(read(name)) if MARKUP.search(t)]
    assert leftovers == []


def test_title_abstract_and_appendix():
    doc = read("routed_retrieval")
    assert doc.format == "html"
    assert doc.title == "Routed Sparse Retrieval for Long Scientific Documents"
    assert doc.abstract.startswith("Dense retrievers compress a whole passage")
    assert "Dense retrievers" not in doc.body_text()
    appendix = doc.section("A")
    assert appendix is not None and appendix.appendix and appendix.paragraphs
    assert not any(s.appendix for s in doc.sections if s.number != "A")


def test_bibliography_kept_apart_from_the_body():
    doc = read("routed_retrieval")
    assert [r.label for r in doc.references] == ["[1]", "[2]", "[3]"]
    assert "BM25 and beyond" in doc.references[0].text
    body = doc.body_text()
    assert "Zaragoza" not in body and "References" not in body
    assert "[1, 2]" in body  # the citation marks stay where the text cites
    natbib = read("soil_moisture").references
    assert [r.label for r in natbib] == ["Topp et al. [1980]", "FAO [2012]"]


def test_footnotes_kept_apart_with_their_section():
    doc = read("soil_moisture")
    assert [(f.mark, f.section) for f in doc.footnotes] == [("1", "1"), ("2", "4")]
    assert doc.footnotes[0].text.startswith("The sensors we used report a ten bit value")
    body = doc.body_text()
    assert "ten bit value" not in body and "flow meters" not in body
    assert "soil texture. This paper asks" in body  # the mark left no gap or digit behind
    assert "Corresponding author" not in body  # \thanks lives in the author block


def test_math_becomes_readable_text():
    routed = read("routed_retrieval").section("3.1")
    assert routed is not None
    text = routed.paragraphs[0]
    assert "τ=0.8" in text and "p(s|q)=softmax(Wh_q+b)" in text
    experts = read("routed_retrieval").section("3.2")
    assert experts is not None and "score(q,d)=∑_(t∈q)" in experts.paragraphs[0]
    soil = read("soil_moisture").section("2.1")
    assert soil is not None and "θ_v =m_w/m_s·ρ_b/ρ_w" in soil.paragraphs[0]
    queue = read("queue_bounds").section("2.1")
    assert queue is not None and "s_(i+1)=ρs_i^2+(1-ρ) s_(i+β)" in queue.paragraphs[0]


def test_captions_kept_apart_with_labels_and_sections():
    doc = read("routed_retrieval")
    assert [(c.kind, c.label, c.section) for c in doc.captions] == [
        ("table", "Table 1", "4.1"),
        ("figure", "Figure 1", "4.2"),
    ]
    assert doc.captions[1].text == "Recall at ten as a function of the router threshold τ."
    body = doc.body_text()
    assert "Index size" not in body and "61.2" not in body  # table cells are not prose


def test_lists_theorems_and_run_in_paragraphs():
    soil = read("soil_moisture")
    intro = soil.section("1")
    assert intro is not None
    assert (
        "a calibration procedure that needs only a kitchen scale and an oven;" in intro.paragraphs
    )
    correction = soil.section("2.2")
    assert correction is not None
    starts = [p.split(".")[0] for p in correction.paragraphs]
    assert starts[1:] == ["Outlier handling", "Proposition 1", "Proof"]
    bounds = read("queue_bounds").section("3")
    assert bounds is not None and bounds.paragraphs[0].startswith("Theorem 1. For k=1")


def test_max_chars_truncates_the_body():
    full = read("routed_retrieval")
    cut = parse_html((FIXTURES / "routed_retrieval.html").read_text(), max_chars=1_000)
    assert cut.truncated and not full.truncated
    assert cut.body_chars <= 1_000 < full.body_chars
    assert cut.references == full.references  # the cap is on body text


def test_stub_and_fatal_pages_are_told_apart_from_papers():
    stub = (FIXTURES / "arxiv_no_html_stub.html").read_text()
    fatal = (FIXTURES / "latexml_fatal_error.html").read_text()
    assert classify_page(stub) is PageKind.NO_HTML
    assert classify_page(fatal) is PageKind.FATAL
    for name in PAPERS:
        assert classify_page((FIXTURES / f"{name}.html").read_text()) is PageKind.LATEXML
    # a paper that quotes both sentences in its body is still a paper
    quoting = (
        (FIXTURES / "routed_retrieval.html")
        .read_text()
        .replace(
            "Sparse retrieval with learned term weights",
            "Pages that say No HTML for a paper, or that Conversion to HTML had a Fatal error, "
            "aside: sparse retrieval with learned term weights",
        )
    )
    assert classify_page(quoting) is PageKind.LATEXML
    assert classify_page("<html><body><p>Hello</p></body></html>") is PageKind.OTHER


def test_a_page_that_is_not_latexml_is_read_by_its_headings():
    page = """<html><head><title>A Study</title></head><body><nav><p>Home | About</p></nav>
    <article><h1>A Study of Things</h1>
    <h2>1 Introduction</h2><p>We study things in detail.</p><p>They matter a lot.</p>
    <h2>2 Method</h2><h3>2.1 Data</h3><p>We collected data.</p>
    <figure><figcaption>Figure 1: The data.</figcaption></figure>
    <h2>References</h2><ol><li>A. Author. A paper. 2020.</li></ol></article></body></html>"""
    doc = parse_html(page)
    assert doc.title == "A Study of Things"
    assert [(s.number, s.heading, s.level) for s in doc.sections] == [
        ("1", "Introduction", 1),
        ("2", "Method", 1),
        ("2.1", "Data", 2),
    ]
    assert doc.sections[0].paragraphs == ["We study things in detail.", "They matter a lot."]
    assert [(c.label, c.text, c.section) for c in doc.captions] == [
        ("Figure 1", "The data.", "2.1")
    ]
    assert [r.text for r in doc.references] == ["A. Author. A paper. 2020."]
    assert "Home" not in doc.body_text()


def test_arxivs_unsupported_packages_box_is_not_the_paper():
    alert = (
        '<div class="package-alerts ltx_document" role="status" aria-label="Conversion errors '
        'have been found"><p>HTML conversions sometimes display errors due to content that did '
        "not convert correctly from the source.</p></div>\n"
    )
    page = (FIXTURES / "routed_retrieval.html").read_text(encoding="utf-8")
    page = page.replace('<div class="ltx_page_main">', '<div class="ltx_page_main">' + alert, 1)
    assert classify_page(page) is PageKind.LATEXML
    doc = parse_html(page)
    assert [(s.number, s.heading) for s in doc.sections] == HEADINGS["routed_retrieval"]
    assert "HTML conversions" not in doc.body_text()


def test_enumerations_descriptions_urls_and_a_footnote_in_a_caption():
    doc = read("speech_adapters")
    intro = doc.section("1")
    assert intro is not None
    assert intro.paragraphs[2:] == [
        "1. We show that residual adapters with a bottleneck of r=64 recover most of the "
        "accuracy lost on accented speech.",
        "2. We measure how the gain depends on the amount of adaptation data, from one to forty "
        "hours.",
        "3. We release the adapters and the evaluation lists at "
        "https://example.org/accent-adapters.",
    ]
    data = doc.section("4.1")
    assert data is not None and data.paragraphs[1:] == [
        "Northern: speakers from three northern provinces;",
        "Coastal: speakers from the coastal cities;",
        "Highland: speakers from mountain villages, the hardest accent for the base model.",
    ]
    table = doc.captions[0]
    assert (table.label, table.section) == ("Table 1", "4.1")
    assert table.text == "Word error rate before and after adaptation on three of the six accents."
    assert [f.text for f in doc.footnotes] == ["Greedy decoding, no external language model."]
    assert [s.number for s in doc.sections if s.appendix] == ["A", "A.1", "A.2"]
    assert [s.level for s in doc.sections if s.appendix] == [1, 2, 2]


def test_latexml_error_boxes_are_dropped_not_read():
    page = (
        (FIXTURES / "routed_retrieval.html")
        .read_text(encoding="utf-8")
        .replace(
            "Hybrid systems combine",
            '<span class="ltx_ERROR undefined">\\usetikzlibrary</span> Hybrid systems combine',
        )
    )
    related = parse_html(page).section("2")
    assert related is not None
    assert "usetikzlibrary" not in related.paragraphs[0]
    assert "exact numbers. Hybrid systems combine" in related.paragraphs[0]
