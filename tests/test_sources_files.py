"""file source: every format, detection by content, and whole-file rejection of bad input.

Tests taking ``payloads`` run on our own payloads and on the real ones (payload_sets.py)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.config import Settings
from agent.errors import InputError
from agent.sources import FetchRequest, build_source
from agent.sources._ids import title_key
from agent.sources.files import detect_format, read_papers
from agent.sources.http import HttpClient

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
ABSTRACT = (
    "We study a problem that matters to many people and propose a method that solves it in "
    "most cases. Experiments on five benchmarks show consistent gains over strong baselines."
)


def fetch(path: Path, fmt: str | None = None, tmp_path: Path | None = None):
    settings = Settings(home=tmp_path or path.parent)
    with HttpClient.from_settings(settings) as http:
        return build_source("file", settings, http).fetch(FetchRequest(path=path, format=fmt))


def copy_as(tmp_path: Path, fixture: str, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(FIXTURES / fixture, target)
    return target


# --- formats ------------------------------------------------------------------------------
def test_csv_with_semicolons_and_mixed_case_columns(tmp_path):
    result = fetch(copy_as(tmp_path, "papers_semicolon.csv", "export.txt"))  # extension lies
    by_title = {p.title: p for p in result.papers}
    assert set(by_title) == {"Semicolon Separated Paper", "No Id Paper", "DOI Paper"}
    first = by_title["Semicolon Separated Paper"]
    assert (first.id, first.version) == ("2501.00020", 2)
    assert first.abstract == "An abstract, with commas, inside a field."
    assert first.authors == ["Ada Lovelace", "Alan Turing"]
    assert first.categories == ["cs.LG", "cs.AI"] and first.primary_category == "cs.LG"
    assert first.published == datetime(2025, 1, 2, tzinfo=UTC)
    assert by_title["No Id Paper"].id == title_key("No Id Paper")
    assert by_title["No Id Paper"].published == datetime(2025, 1, 2, tzinfo=UTC)
    assert by_title["DOI Paper"].id == "doi:10.1234/abc.99"
    assert all(p.source == "file" for p in result.papers)
    [skip] = result.skipped
    assert skip.item == "export.txt line 5" and "abstract" in skip.reason


def test_jsonl_records(tmp_path):
    result = fetch(copy_as(tmp_path, "papers.jsonl", "papers.csv"))  # extension lies
    ids = [p.id for p in result.papers]
    assert ids == ["2501.00030", "doi:10.5555/foo.bar", title_key("JSONL Paper Three")]
    assert result.papers[0].version == 1
    assert result.papers[1].authors == ["E F", "G H"]
    assert result.papers[2].url == "https://example.org/p/3"
    assert [s.item for s in result.skipped] == ["papers.csv line 4"]


def test_json_array_of_flat_records(tmp_path):
    path = tmp_path / "list.json"
    records = [
        {"title": "A Paper", "summary": ABSTRACT, "authors": "X Y; Z W", "date": "2024-05-01"}
    ]
    path.write_text(json.dumps({"papers": records}), encoding="utf-8")
    [paper] = fetch(path).papers
    assert paper.authors == ["X Y", "Z W"] and paper.abstract == ABSTRACT
    assert paper.published == datetime(2024, 5, 1, tzinfo=UTC)


def test_hf_json_both_generations(payloads, tmp_path):
    new = fetch(payloads.path("hf_2026"), tmp_path=tmp_path)
    old = fetch(payloads.path("hf_2024"), tmp_path=tmp_path)
    assert (len(new.papers), len(old.papers)) == (payloads.hf_2026.count, payloads.hf_2024.count)
    assert new.papers[0].id == payloads.hf_2026.first["id"]
    assert old.papers[0].id == payloads.hf_2024.first["id"]
    assert any("ai_summary" in p.extra for p in new.papers)
    assert not any("ai_summary" in p.extra for p in old.papers)
    assert {p.source for p in new.papers + old.papers} == {"file"}


def test_atom_and_rss_files(payloads, tmp_path):
    page = fetch(payloads.path("api_page1"), tmp_path=tmp_path)
    assert len(page.papers) == payloads.api.page_size
    assert page.papers[0].id == payloads.api.first["id"]
    rss = fetch(payloads.path("rss2"), tmp_path=tmp_path)
    assert [(p.id, p.version, p.announce_type) for p in rss.papers] == list(payloads.rss2.items)
    atom = fetch(payloads.path("rss_atom"), tmp_path=tmp_path)
    assert [(p.id, p.version, p.announce_type) for p in atom.papers] == list(payloads.atom.items)


def test_arxiv_error_answer_saved_to_file_is_rejected(payloads, tmp_path):
    with pytest.raises(InputError, match=re.escape(repr(payloads.api.error))):
        fetch(payloads.path("api_error"), tmp_path=tmp_path)


def test_detection_is_by_content():
    assert detect_format("  <?xml version='1.0'?><feed/>") == "atom"
    assert detect_format('[{"title": "x"}]') == "json"
    assert detect_format('{"title": "x"}\n{"title": "y"}\n') == "json"  # resolved to JSONL
    assert detect_format("title,abstract\nA,B\n") == "csv"
    assert detect_format("Title\tAbstract\nA\tB\n") == "csv"
    assert detect_format("Attention, Please\n\n" + ABSTRACT + "\n") == "text"
    assert detect_format("A Title With No Commas\n\n" + ABSTRACT) == "text"


def test_explicit_format_and_unknown_format(tmp_path):
    path = copy_as(tmp_path, "papers.jsonl", "papers.dat")
    assert len(fetch(path, "jsonl").papers) == 3
    with pytest.raises(InputError, match="Unknown file format"):
        fetch(path, "xlsx")
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps([{"title": "t", "abstract": "a"}]), encoding="utf-8")
    with pytest.raises(InputError, match="daily-papers"):
        fetch(flat, "hf")


# --- pasted text --------------------------------------------------------------------------
def test_pasted_text_skips_headers_and_joins_paragraphs(tmp_path):
    result = fetch(copy_as(tmp_path, "pasted.txt", "notes.md"))
    assert [p.title for p in result.papers] == [
        "Attention Sinks in Long-Context Transformers",
        "Diffusion Models Can Plan, Sometimes",
    ]
    sinks, diffusion = result.papers
    assert sinks.id == title_key(sinks.title) and sinks.abstract.endswith("confirm the effect.")
    assert (diffusion.id, diffusion.version) == ("2501.00040", 2)
    assert diffusion.authors == ["Jane Roe", "John Doe"]
    assert diffusion.abstract.startswith("Planning with diffusion models is appealing")
    assert diffusion.abstract.endswith("for the reader.")  # second paragraph kept


def test_pasted_arxiv_listing(tmp_path):
    text = f"""Machine Learning

Authors and titles for recent submissions
Showing new listings for Tuesday, 14 January 2025

These are the papers I want to read this month, collected from various newsletters and
feeds, in no particular order at all, copied for reference

New submissions (showing 2 of 2 entries)

[1] arXiv:2501.01234 [pdf, html, other]
Title: Efficient Attention via Low-Rank Sketches
Authors: María García, Wei Zhang
Comments: 12 pages, 4 figures
Subjects: Machine Learning (cs.LG)

{ABSTRACT}

[2] arXiv:2501.01300v3 [pdf, other]
Title: Calibrated Uncertainty for Tabular Foundation Models
Authors: Tom Brown; Ann Lee
[Submitted on 3 Jan 2025]

Abstract: {ABSTRACT}
"""
    path = tmp_path / "listing.txt"
    path.write_text(text, encoding="utf-8")
    result = fetch(path)
    assert [(p.id, p.version, p.title) for p in result.papers] == [
        ("2501.01234", None, "Efficient Attention via Low-Rank Sketches"),
        ("2501.01300", 3, "Calibrated Uncertainty for Tabular Foundation Models"),
    ]
    assert result.papers[0].authors == ["María García", "Wei Zhang"]
    assert result.papers[1].authors == ["Tom Brown", "Ann Lee"]
    assert result.papers[1].abstract == ABSTRACT
    assert result.papers[1].published == datetime(2025, 1, 3, tzinfo=UTC)


def test_text_with_no_papers_is_rejected(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("just a note\n\nanother short line\n", encoding="utf-8")
    with pytest.raises(InputError, match="found no papers") as err:
        fetch(path)
    assert "CSV" in err.value.hint


def test_title_hash_survives_abstract_edits_and_whitespace(tmp_path):
    one, two = tmp_path / "a.txt", tmp_path / "b.txt"
    one.write_text("Robust   Learning of Things\n\n" + ABSTRACT, encoding="utf-8")
    two.write_text(
        "robust learning of things\n\n" + ABSTRACT.replace("five", "six"), encoding="utf-8"
    )
    a, b = fetch(one).papers[0], fetch(two).papers[0]
    assert a.id == b.id and a.id.startswith("sha:") and len(a.id) == 4 + 16
    assert a.content_hash != b.content_hash  # an edit: same paper, new content


def test_duplicates_within_a_file_are_skipped(tmp_path):
    path = tmp_path / "d.jsonl"
    row = {"title": "Same", "abstract": "x", "id": "2501.00050"}
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    result = fetch(path)
    assert len(result.papers) == 1 and "duplicate" in result.skipped[0].reason


# --- bad input: rejected whole ------------------------------------------------------------
def test_non_utf8_names_offset_and_line(tmp_path):
    path = tmp_path / "latin1.csv"
    data = "title,abstract\nA,ok\nCaf\u00e9 paper,bad\n".encode("latin-1")
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        fetch(path)
    offset = data.index(0xE9)
    assert f"offset {offset}" in str(err.value) and "line 3" in str(err.value)
    assert "0xe9" in str(err.value) and "UTF-8" in err.value.hint


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfTitle,Abstract\nA title,An abstract\n")
    [paper] = fetch(path).papers
    assert paper.title == "A title"


def test_csv_missing_columns_names_them(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("name,description,year\nA,B,2024\nC,D,2025\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        fetch(path)
    message = str(err.value)
    assert "title" in message and "abstract" in message
    assert "name, description, year" in message and "title" in err.value.hint


def test_csv_ragged_row_and_unclosed_quote(tmp_path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("title,abstract\nA,B\nC,D,E\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 3 has 3 fields"):
        fetch(ragged)
    quote = tmp_path / "quote.csv"
    quote.write_text('title,abstract\nA,"never closed\n', encoding="utf-8")
    with pytest.raises(InputError, match="malformed CSV"):
        fetch(quote)


def test_truncated_jsonl_names_the_line(tmp_path):
    path = tmp_path / "cut.jsonl"
    lines = [json.dumps({"title": f"T{i}", "abstract": "A"}) for i in range(3)]
    path.write_text("\n".join(lines)[:-7], encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3 is not valid JSON.*truncated"):
        fetch(path)


def test_malformed_json_array_names_the_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n {"title": "a", "abstract": "b"},\n {"title": "c",\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 4"):
        fetch(path)


def test_jsonl_without_title_fields_is_rejected(tmp_path):
    path = tmp_path / "wrong.jsonl"
    path.write_text('{"name": "a", "abstract": "b"}\n{"name": "c", "abstract": "d"}\n', "utf-8")
    with pytest.raises(
        InputError, match="no record has a title field; fields found: abstract, name"
    ):
        fetch(path)


def test_malformed_xml_and_html_pages(tmp_path):
    xml = tmp_path / "cut.xml"
    xml.write_text("<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>x", encoding="utf-8")
    with pytest.raises(InputError, match="malformed XML at line 1"):
        fetch(xml)
    with pytest.raises(InputError, match="HTML page"):
        fetch(copy_as(tmp_path, "html_error.html", "page.xml"))


@pytest.mark.parametrize("content", [b"", b"  \n\n\t\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="empty"):
        fetch(path)


def test_missing_file_and_no_path(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_papers(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="directory"):
        read_papers(tmp_path)
    settings = Settings(home=tmp_path)
    with HttpClient.from_settings(settings) as http, pytest.raises(InputError, match="path"):
        build_source("file", settings, http).fetch(FetchRequest())


def test_multi_paragraph_abstracts_and_footer(tmp_path):
    path = tmp_path / "multi.txt"
    short = "The second paragraph of the first abstract is short but reads as prose."
    path.write_text(
        f"First Paper\n\n{ABSTRACT}\n\n{short}\n\nSecond Paper\n\n{ABSTRACT}\n\nPage 1 of 3\n",
        encoding="utf-8",
    )
    first, second = fetch(path).papers
    assert first.abstract == f"{ABSTRACT} {short}"
    assert (second.title, second.abstract) == ("Second Paper", ABSTRACT)
