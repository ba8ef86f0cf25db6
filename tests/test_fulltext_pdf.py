"""The PDF reader: two small PDFs made by pdflatex from this repository's own LaTeX papers (one
single-column, one two-column), the two real arXiv PDFs in ../shared/samples (skipped when that
folder is absent), and PDFs that are not readable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fulltext_expect import HEADINGS, expected_paragraphs, recovered, words

from agent.fulltext import Document, PdfUnreadable, parse_pdf
from agent.fulltext.pdf_pages import join_lines

FIXTURES = Path(__file__).parent / "fixtures" / "fulltext"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "samples"
ATTENTION = "arxiv_pdf_1706.03762v5_resaved.pdf"
BERT = "arxiv_pdf_1810.04805v2_resaved.pdf"


@pytest.fixture
def samples() -> Path:
    """../shared/samples with the two real arXiv PDFs (tests that take it are marked
    shared_samples: not collected where the folder is absent; an older copy without the PDFs
    skips)."""
    if not all((SHARED / name).is_file() for name in (ATTENTION, BERT)):
        pytest.skip("the real arXiv PDFs of ../shared/samples are not in this checkout")
    return SHARED


def read(path: Path) -> Document:
    return parse_pdf(path.read_bytes())


def numbered(doc: Document) -> list[tuple[str | None, str]]:
    return [(s.number, s.heading) for s in doc.sections]


# --- our own PDFs ------------------------------------------------------------------------------
def test_single_column_pdf_parsed_to_its_sections():
    doc = read(FIXTURES / "routed_retrieval.pdf")
    assert doc.format == "pdf"
    assert doc.title == "Routed Sparse Retrieval for Long Scientific Documents"
    assert doc.abstract.startswith("Dense retrievers compress a whole passage into one vector")
    assert numbered(doc) == HEADINGS["routed_retrieval"]
    assert [s.level for s in doc.sections[:6]] == [1, 1, 1, 2, 2, 3]
    assert doc.section("A").appendix and not doc.section("5").appendix


def test_two_column_pdf_parsed_to_its_sections():
    doc = read(FIXTURES / "soil_moisture.pdf")
    assert numbered(doc) == HEADINGS["soil_moisture"]


@pytest.mark.parametrize("name", ["routed_retrieval", "soil_moisture"])
def test_paragraph_text_recovered_without_references_or_footnotes(name):
    doc = read(FIXTURES / f"{name}.pdf")
    expected = words(" ".join(expected_paragraphs(name)))
    got = words(" ".join(p for s in doc.sections for p in s.paragraphs))
    assert recovered(expected, got) >= 0.95
    body = doc.body_text()
    assert all(ref.text[:30] not in body for ref in doc.references)
    assert all(note.text[:30] not in body for note in doc.footnotes)


def test_references_captions_and_footnotes_kept_apart():
    doc = read(FIXTURES / "routed_retrieval.pdf")
    assert [r.label for r in doc.references] == ["[1]", "[2]", "[3]"]
    assert doc.references[1].text.startswith("Thibault Formal, Benjamin Piwowarski")
    assert [(c.kind, c.label) for c in doc.captions] == [
        ("table", "Table 1"),
        ("figure", "Figure 1"),
    ]
    assert doc.captions[0].text == "Recall at ten and index size on the body-only benchmark."
    assert [f.mark for f in doc.footnotes] == ["1"]
    assert doc.footnotes[0].text.startswith("The training questions are generated")
    soil = read(FIXTURES / "soil_moisture.pdf")
    assert [f.text for f in soil.footnotes][1:] == [
        "The sensors we used report a ten bit value from an onboard oscillator; no firmware "
        "changes were made.",
        "Water use was measured with flow meters on the pumps; see the supplementary data.",
    ]
    # "as shown in Table 1. Errors were ..." wraps in the text: it is not a second caption
    assert [c.label for c in soil.captions] == ["Table 1", "Figure 1"]
    accuracy = soil.section("3.2")
    assert (
        accuracy is not None
        and "as shown in Table 1. Errors were largest" in (accuracy.paragraphs[0])
    )


def test_no_page_furniture_or_control_characters():
    for name in ("routed_retrieval", "soil_moisture"):
        doc = read(FIXTURES / f"{name}.pdf")
        for text in [p for s in doc.sections for p in s.paragraphs]:
            assert not re.search(r"[\x00-\x1f\x7f-\x9f\ue000-\uf8ff]|ﬁ|ﬂ", text)
            assert not re.fullmatch(r"\d+", text)


def test_hyphenation_at_line_ends():
    words_seen = frozenset({"result", "language"})
    compounds = frozenset({"pre-trained", "task-specific"})
    assert join_lines(["As a re-", "sult, it works."], words_seen, compounds) == (
        "As a result, it works."
    )
    assert join_lines(["deep pre-", "trained models"], words_seen, compounds) == (
        "deep pre-trained models"
    )
    assert join_lines(["unknown sylla-", "ble"], words_seen, compounds) == "unknown syllable"
    assert join_lines(["English-", "German pairs"]) == "English-German pairs"


# --- the real arXiv PDFs ---------------------------------------------------------------------
@pytest.mark.shared_samples
def test_attention_is_all_you_need_sections(samples):
    doc = read(samples / ATTENTION)
    assert doc.title == "Attention Is All You Need"
    assert doc.abstract.startswith("The dominant sequence transduction models")
    body = [(n, h) for n, h in numbered(doc) if n is None or n[0].isdigit()]
    assert body[:23] == [
        ("1", "Introduction"),
        ("2", "Background"),
        ("3", "Model Architecture"),
        ("3.1", "Encoder and Decoder Stacks"),
        ("3.2", "Attention"),
        ("3.2.1", "Scaled Dot-Product Attention"),
        ("3.2.2", "Multi-Head Attention"),
        ("3.2.3", "Applications of Attention in our Model"),
        ("3.3", "Position-wise Feed-Forward Networks"),
        ("3.4", "Embeddings and Softmax"),
        ("3.5", "Positional Encoding"),
        ("4", "Why Self-Attention"),
        ("5", "Training"),
        ("5.1", "Training Data and Batching"),
        ("5.2", "Hardware and Schedule"),
        ("5.3", "Optimizer"),
        ("5.4", "Regularization"),
        ("6", "Results"),
        ("6.1", "Machine Translation"),
        ("6.2", "Model Variations"),
        ("6.3", "English Constituency Parsing"),
        ("7", "Conclusion"),
        (None, "Acknowledgements"),
    ]
    assert len(doc.references) == 40 and doc.references[0].label == "[1]"
    assert doc.references[-1].text.startswith("Muhua Zhu, Yue Zhang")
    optimizer = doc.section("5.3")
    assert optimizer is not None
    assert "warmup_steps = 4000" in " ".join(optimizer.paragraphs)
    assert "Jimmy Lei Ba" not in doc.body_text()  # reference [1] is not body text
    labels = [c.label for c in doc.captions]
    assert labels[:6] == ["Figure 1", "Figure 2", "Table 1", "Table 2", "Table 3", "Table 4"]
    assert any(f.mark == "4" and f.text.startswith("To illustrate why") for f in doc.footnotes)


@pytest.mark.shared_samples
def test_bert_sections_and_appendix(samples):
    doc = read(samples / BERT)
    assert doc.title == (
        "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    )
    assert doc.abstract.startswith("We introduce a new language representation model")
    body = [(s.number, s.heading) for s in doc.sections if not s.appendix]
    assert body == [
        ("1", "Introduction"),
        ("2", "Related Work"),
        ("2.1", "Unsupervised Feature-based Approaches"),
        ("2.2", "Unsupervised Fine-tuning Approaches"),
        ("2.3", "Transfer Learning from Supervised Data"),
        ("3", "BERT"),
        ("3.1", "Pre-training BERT"),
        ("3.2", "Fine-tuning BERT"),
        ("4", "Experiments"),
        ("4.1", "GLUE"),
        ("4.2", "SQuAD v1.1"),
        ("4.3", "SQuAD v2.0"),
        ("4.4", "SWAG"),
        ("5", "Ablation Studies"),
        ("5.1", "Effect of Pre-training Tasks"),
        ("5.2", "Effect of Model Size"),
        ("5.3", "Feature-based Approach with BERT"),
        ("6", "Conclusion"),
    ]
    appendix = [s.number for s in doc.sections if s.appendix and s.number]
    assert appendix == ["A", "A.1", "A.2", "A.3", "A.4", "A.5", "B", "B.1", "C", "C.1", "C.2"]
    assert doc.section("A.4").heading == "Comparison of BERT, ELMo ,and OpenAI GPT"
    assert len(doc.references) >= 50
    assert "Alan Akbik" not in doc.body_text()
    # two-column text: hyphens at line ends rejoined, compounds kept
    intro = " ".join(doc.section("1").paragraphs)
    assert "As a result, the pre-trained BERT model" in doc.abstract
    assert "fine-tuning" in intro and "fine- tuning" not in intro


# --- unreadable ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<html><body>Not a PDF</body></html>", "not a PDF"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 200, "damaged PDF"),
        (b"", "not a PDF"),
    ],
)
def test_unreadable_pdfs_say_why(data, reason):
    with pytest.raises(PdfUnreadable, match=reason):
        parse_pdf(data)


def test_a_pdf_without_text_is_unreadable(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=612, height=792)
    path = tmp_path / "blank.pdf"
    with path.open("wb") as out:
        writer.write(out)
    with pytest.raises(PdfUnreadable, match="no text layer"):
        parse_pdf(path.read_bytes())


@pytest.mark.shared_samples
def test_max_pages_and_max_chars_bound_the_work(samples):
    data = (samples / ATTENTION).read_bytes()
    short = parse_pdf(data, max_pages=3)
    assert [s.number for s in short.sections][-1] in {"3.1", "3.2"}
    capped = parse_pdf(data, max_chars=5_000)
    assert capped.truncated and capped.body_chars <= 5_000


# --- heading styles, on lines as pypdf gives them ---------------------------------------------
def test_ieee_roman_numerals_and_lettered_subsections():
    from agent.fulltext.pdf_layout import build_document
    from agent.fulltext.pdf_pages import PageLines

    lines = [
        "A Study in the IEEE Style",
        "Jane Doe, John Roe",
        "Abstract—We study a thing with care and report what we found in this short paper.",
        "I. INTRODUCTION",
        "Things matter in many ways and we study them here in some detail for you.",
        "II. RELATED WORK",
        "Others studied other things before us and we cite them here.",
        "A. Older Methods",
        "Old methods used rules that were written by hand over many years.",
        "B. Newer Methods",
        "New methods learn from data that is collected automatically at scale.",
        "III. CONCLUSION",
        "We studied a thing and it mattered to us a great deal overall.",
        "REFERENCES",
        '[1] A. Author, "A paper," in Proc. X, 2020.',
    ]
    doc = build_document([PageLines(lines=lines, width=80)])
    assert doc.abstract.startswith("We study a thing")
    assert [(s.number, s.heading, s.level) for s in doc.sections] == [
        ("I", "Introduction", 1),
        ("II", "Related Work", 1),
        ("II.A", "Older Methods", 2),
        ("II.B", "Newer Methods", 2),
        ("III", "Conclusion", 1),
    ]
    assert not any(s.appendix for s in doc.sections)
    assert [r.label for r in doc.references] == ["[1]"]


def test_unknown_heading_style_keeps_the_text_as_body():
    from agent.fulltext.pdf_layout import build_document
    from agent.fulltext.pdf_pages import PageLines

    lines = [
        "Title Of A Note",
        "Abstract",
        "A short abstract that ends here.",
        "§ Motivation",
        "The body goes on in a style of headings we do not know about at all.",
    ]
    doc = build_document([PageLines(lines=lines, width=90)])
    assert doc.abstract == "A short abstract that ends here."
    assert doc.sections[0].number is None
    assert "style of headings we do not know" in doc.body_text()
