"""Fetching full text against a local HTTP server through the project's real HTTP client:
arXiv HTML, the stub and fatal-error pages falling back to the PDF, the shared arXiv throttle,
and every expected failure ending in a "none" result that says why (never an exception)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from httpserver import LocalHTTPServer, Resp

from agent.config import Settings
from agent.fulltext import FullTextTarget, Outcome, fetch_fulltext, is_arxiv_id
from agent.fulltext.download import is_arxiv_url
from agent.models import Paper
from agent.sources.http import HttpClient

FIXTURES = Path(__file__).parent / "fixtures" / "fulltext"
PAPER_HTML = (FIXTURES / "routed_retrieval.html").read_bytes()
PAPER_PDF = (FIXTURES / "routed_retrieval.pdf").read_bytes()
STUB = (FIXTURES / "arxiv_no_html_stub.html").read_bytes()
FATAL = (FIXTURES / "latexml_fatal_error.html").read_bytes()
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ARXIV = FullTextTarget(paper_id="2401.01234", version=2, arxiv=True)
HTML_PATH = "/html/2401.01234v2"
PDF_PATH = "/pdf/2401.01234v2"


@pytest.fixture
def srv() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


def settings_for(tmp_path: Path, srv: LocalHTTPServer, **fulltext) -> Settings:
    return Settings(
        home=tmp_path,
        fulltext={"arxiv_html_url": srv.url("/html"), "arxiv_pdf_url": srv.url("/pdf"), **fulltext},
        arxiv={"min_interval": 0},
        http={"retries": 0, "backoff": 0.01, "timeout": 5},
    )


def fetch(settings: Settings, target: FullTextTarget = ARXIV, **client):
    with HttpClient.from_settings(settings, **client) as http:
        return fetch_fulltext(target, settings=settings.fulltext, http=http, now=lambda: NOW)


def test_arxiv_html_first(tmp_path, srv):
    srv.route(HTML_PATH, [Resp(200, PAPER_HTML, {"Content-Type": "text/html; charset=utf-8"})])
    result = fetch(settings_for(tmp_path, srv))
    assert result.route == "html" and result.ok and result.reason is None
    assert result.url == srv.url(HTML_PATH)
    assert result.fetched_at == NOW
    assert result.document is not None and result.document.section("3.2.1") is not None
    assert [a.outcome for a in result.attempts] == [Outcome.OK]
    assert [r.path for r in srv.requests] == [HTML_PATH]  # the id with its version, after a /


@pytest.mark.parametrize(
    ("page", "outcome"), [(STUB, Outcome.NO_HTML), (FATAL, Outcome.CONVERSION_FAILED)]
)
def test_stub_and_fatal_pages_fall_back_to_the_pdf(tmp_path, srv, page, outcome):
    srv.route(HTML_PATH, [Resp(200, page, {"Content-Type": "text/html"})])
    srv.route(PDF_PATH, [Resp(200, PAPER_PDF, {"Content-Type": "application/pdf"})])
    result = fetch(settings_for(tmp_path, srv))
    assert result.route == "pdf" and result.url == srv.url(PDF_PATH)
    assert [a.outcome for a in result.attempts] == [outcome, Outcome.OK]
    assert result.attempts[0].status == 200  # the status alone could not tell
    assert result.reason is not None and result.reason.startswith("html: ")
    doc = result.document
    assert doc is not None and doc.format == "pdf"
    assert [s.number for s in doc.sections][:4] == ["1", "2", "3", "3.1"]


def test_html_404_falls_back_too(tmp_path, srv):
    srv.route(HTML_PATH, [Resp(404, "Not Found")])
    srv.route(PDF_PATH, [Resp(200, PAPER_PDF)])
    result = fetch(settings_for(tmp_path, srv))
    assert result.route == "pdf"
    assert [(a.outcome, a.status) for a in result.attempts] == [
        (Outcome.HTTP_ERROR, 404),
        (Outcome.OK, 200),
    ]


def test_full_text_shares_the_arxiv_throttle(tmp_path, srv):
    """The API, the HTML and the PDF requests are one queue, min_interval apart."""
    srv.route("/api/query", [Resp(200, "<feed/>")])
    srv.route(HTML_PATH, [Resp(200, STUB)])
    srv.route(PDF_PATH, [Resp(200, PAPER_PDF)])
    settings = settings_for(tmp_path, srv).model_copy(deep=True)
    settings.arxiv.min_interval = 0.4
    with HttpClient.from_settings(settings) as http:
        http.get(srv.url("/api/query"), throttle="arxiv", source="arxiv")  # as arxiv_api does
        result = fetch_fulltext(ARXIV, settings=settings.fulltext, http=http)
    assert result.route == "pdf"
    starts = [r.started for r in srv.requests]
    assert [r.path for r in srv.requests] == ["/api/query", HTML_PATH, PDF_PATH]
    assert all(b - a >= 0.39 for a, b in itertools.pairwise(starts))


@pytest.mark.parametrize(
    ("html", "pdf", "outcomes"),
    [
        (Resp(404), Resp(404), [Outcome.HTTP_ERROR, Outcome.HTTP_ERROR]),
        (
            Resp(200, STUB),
            Resp(200, b"%PDF-1.5\n\x00 garbage " * 50),
            [Outcome.NO_HTML, Outcome.UNREADABLE],
        ),
        (Resp(200, STUB), Resp(200, "<html>captcha</html>"), [Outcome.NO_HTML, Outcome.NOT_PDF]),
        (Resp(503), Resp(200, STUB), [Outcome.HTTP_ERROR, Outcome.NOT_PDF]),
        (
            Resp(200, "<html><body><p>Hi</p></body></html>"),
            Resp(410),
            [Outcome.NOT_HTML, Outcome.HTTP_ERROR],
        ),
    ],
    ids=["404", "garbage-pdf", "html-at-pdf-url", "5xx", "not-latexml"],
)
def test_expected_failures_give_none_with_a_reason(tmp_path, srv, html, pdf, outcomes):
    srv.route(HTML_PATH, [html])
    srv.route(PDF_PATH, [pdf])
    result = fetch(settings_for(tmp_path, srv))
    assert result.route == "none" and not result.ok and result.document is None
    assert [a.outcome for a in result.attempts] == outcomes
    assert result.reason and result.reason.startswith("html: ") and "; pdf: " in result.reason


def test_timeout_gives_none(tmp_path, srv):
    srv.route(HTML_PATH, [Resp(200, "late", delay=1.5)])
    srv.route(PDF_PATH, [Resp(200, "late", delay=1.5)])
    settings = settings_for(tmp_path, srv)
    settings.http.timeout = 0.3
    result = fetch(settings)
    assert result.route == "none"
    assert [a.outcome for a in result.attempts] == [Outcome.TIMEOUT, Outcome.TIMEOUT]
    assert result.reason == "html: timed out; pdf: timed out"


def test_unreachable_host_gives_none(tmp_path):
    from httpserver import unused_port

    dead = f"http://127.0.0.1:{unused_port()}"
    settings = Settings(
        home=tmp_path,
        fulltext={"arxiv_html_url": f"{dead}/html", "arxiv_pdf_url": f"{dead}/pdf"},
        arxiv={"min_interval": 0},
        http={"retries": 0},
    )
    result = fetch(settings)
    assert [a.outcome for a in result.attempts] == [Outcome.UNREACHABLE] * 2


def test_oversized_bodies_are_skipped(tmp_path, srv):
    srv.route(HTML_PATH, [Resp(200, PAPER_HTML)])  # 15 kB
    srv.route(PDF_PATH, [Resp(200, PAPER_PDF)])  # 190 kB
    result = fetch(settings_for(tmp_path, srv, max_bytes=10_000))
    assert [a.outcome for a in result.attempts] == [Outcome.TOO_LARGE] * 2
    assert result.attempts[0].detail == "larger than 10,000 bytes (max_bytes)"
    assert result.attempts[1].bytes == 0  # reading stopped at the cap: nothing was kept


def test_time_budget_skips_later_routes(tmp_path, srv):
    srv.route(HTML_PATH, [Resp(200, STUB)])
    ticks = iter(range(0, 1000, 100))  # every clock read is 100 s later
    settings = settings_for(tmp_path, srv, time_budget=150)
    with HttpClient.from_settings(settings) as http:
        result = fetch_fulltext(
            ARXIV, settings=settings.fulltext, http=http, clock=lambda: next(ticks)
        )
    assert [a.outcome for a in result.attempts] == [Outcome.NO_HTML, Outcome.OVER_BUDGET]
    assert [r.path for r in srv.requests] == [HTML_PATH]


def test_other_papers_use_their_record_urls(tmp_path, srv):
    srv.route("/paper.html", [Resp(404)])
    srv.route("/paper.pdf", [Resp(200, PAPER_PDF)])
    target = FullTextTarget(
        paper_id="doi:10.1234/x", html_url=srv.url("/paper.html"), pdf_url=srv.url("/paper.pdf")
    )
    result = fetch(settings_for(tmp_path, srv), target)
    assert result.route == "pdf" and result.url == srv.url("/paper.pdf")
    assert [r.path for r in srv.requests] == ["/paper.html", "/paper.pdf"]


def test_a_record_html_url_may_serve_any_page_or_a_pdf(tmp_path, srv):
    page = "<html><body><article><h2>1 Introduction</h2><p>" + "Words here. " * 60
    srv.route("/page", [Resp(200, page + "</p></article></body></html>")])
    srv.route("/served-pdf", [Resp(200, PAPER_PDF, {"Content-Type": "application/pdf"})])
    settings = settings_for(tmp_path, srv)
    page_result = fetch(settings, FullTextTarget(paper_id="sha:1", html_url=srv.url("/page")))
    assert page_result.route == "html"
    assert page_result.document.sections[0].number == "1"
    pdf_result = fetch(settings, FullTextTarget(paper_id="sha:2", html_url=srv.url("/served-pdf")))
    assert pdf_result.route == "pdf"


def test_local_pdf_and_missing_file(tmp_path, srv):
    settings = settings_for(tmp_path, srv)
    local = FullTextTarget(paper_id="sha:abc", pdf_path=FIXTURES / "soil_moisture.pdf")
    result = fetch(settings, local)
    assert result.route == "pdf" and result.url == str(FIXTURES / "soil_moisture.pdf")
    assert result.document.section("2.1").heading == "Gravimetric Reference"
    missing = fetch(settings, FullTextTarget(paper_id="sha:x", pdf_path=tmp_path / "no.pdf"))
    assert missing.route == "none"
    assert [a.outcome for a in missing.attempts] == [Outcome.MISSING_FILE]
    assert srv.requests == []


def test_a_paper_with_nowhere_to_look(tmp_path, srv):
    result = fetch(settings_for(tmp_path, srv), FullTextTarget(paper_id="sha:nothing"))
    assert result.route == "none" and result.attempts == []
    assert "no full-text source" in (result.reason or "")


def test_target_from_a_stored_paper():
    arxiv = Paper(
        id="2401.01234",
        version=3,
        title="T",
        abstract="A",
        source="arxiv-rss",
        pdf_url="https://arxiv.org/pdf/2401.01234v3",
    )
    target = FullTextTarget.from_paper(arxiv)
    assert (target.arxiv, target.versioned_id, target.pdf_url) == (True, "2401.01234v3", None)
    other = Paper(
        id="doi:10.1/x",
        title="T",
        abstract="A",
        source="file",
        pdf_url="https://example.org/x.pdf",
        extra={"html_url": "https://example.org/x", "pdf_path": "/tmp/x.pdf"},
    )
    target = FullTextTarget.from_paper(other)
    assert not target.arxiv and target.pdf_url == "https://example.org/x.pdf"
    assert target.html_url == "https://example.org/x" and target.pdf_path == Path("/tmp/x.pdf")
    assert is_arxiv_id("hep-th/9901001") and not is_arxiv_id("sha:1234")
    assert is_arxiv_url("https://export.arxiv.org/x") and not is_arxiv_url("https://notarxiv.org")


def test_base_urls_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERBRIEF_FULLTEXT__ARXIV_HTML_URL", "http://127.0.0.1:9/html")
    monkeypatch.setenv("PAPERBRIEF_FULLTEXT__ARXIV_PDF_URL", "http://127.0.0.1:9/pdf")
    monkeypatch.setenv("PAPERBRIEF_FULLTEXT__MODE", "all")
    fulltext = Settings(home=tmp_path).fulltext
    assert (fulltext.arxiv_html_url, fulltext.arxiv_pdf_url, fulltext.mode) == (
        "http://127.0.0.1:9/html",
        "http://127.0.0.1:9/pdf",
        "all",
    )
    assert Settings(home=tmp_path, fulltext={"mode": "off"}).fulltext.mode == "off"
