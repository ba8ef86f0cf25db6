"""arxiv (query API) against a local server: pagination, windows, errors, empty-page retries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from httpserver import LocalHTTPServer, Recorded, Resp

from agent.config import Settings
from agent.errors import ConfigError, FeedParseError, SourceHTTPError
from agent.sources import FetchRequest, build_source
from agent.sources.arxiv_api import ArxivApiSource
from agent.sources.http import HttpClient

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
PAGE1 = "arxiv_api_search_testing_start0_max10.atom.xml"
PAGE2 = "arxiv_api_search_testing_start10_max10.atom.xml"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def srv() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


def settings_for(tmp_path: Path, srv: LocalHTTPServer, **kw) -> Settings:
    base = {
        "home": tmp_path,
        "arxiv_api_url": srv.url("/api/query"),
        "arxiv_rss_url": srv.url("/rss"),
        "arxiv_categories": ["cs.LG", "cs.AI"],
        "arxiv_min_interval": 0,
        "arxiv_page_size": 10,
        "http_backoff": 0.01,
        "http_retries": 1,
    }
    base.update(kw)
    return Settings(**base)


@pytest.fixture
def api(tmp_path, srv):
    settings = settings_for(tmp_path, srv)
    with HttpClient.from_settings(settings) as http:
        yield ArxivApiSource(settings, http, clock=lambda: NOW), srv


def empty_page(page: bytes) -> bytes:
    """The same page with its entries removed: what arXiv sometimes sends."""
    return re.sub(rb"<entry>.*</entry>", b"", page, flags=re.DOTALL)


def by_start(pages: dict[int, bytes]):
    def answer(req: Recorded) -> Resp:
        return Resp(200, pages[int(req.param("start"))])

    return answer


def test_two_real_pages(api, samples):
    source, srv = api
    pages = {0: (samples / PAGE1).read_bytes(), 10: (samples / PAGE2).read_bytes()}
    srv.route("/api/query", by_start(pages))
    request = FetchRequest(since=date(2025, 1, 1), until=date(2025, 1, 2), max_results=20)
    result = source.fetch(request)

    assert len(result.papers) == 20 and result.skipped == []
    assert [(r.param("start"), r.param("max_results")) for r in srv.requests] == [
        ("0", "10"),
        ("10", "10"),
    ]
    first = srv.requests[0]
    assert first.param("search_query") == (
        "(cat:cs.LG OR cat:cs.AI) AND submittedDate:[202501010000 TO 202501022359]"
    )
    assert first.param("sortBy") == "submittedDate" and first.param("sortOrder") == "descending"
    paper = result.papers[0]
    assert (paper.id, paper.version) == ("2202.12139", 1)
    assert paper.authors == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert paper.categories == ["cs.SE", "cs.LG"] and paper.primary_category == "cs.SE"
    assert paper.published == datetime(2022, 2, 24, 15, 5, 19, tzinfo=UTC)
    assert paper.pdf_url == "https://arxiv.org/pdf/2202.12139v1"
    assert paper.url == "https://arxiv.org/abs/2202.12139"
    assert paper.extra["doi"] == "10.1109/ICSTW55395.2022.00035"
    second_page = {p.id: p for p in result.papers[10:]}
    assert second_page["2403.16981"].version == 2
    newest = max(p.published for p in result.papers)
    assert result.watermark == newest.isoformat()


def test_max_results_trims_the_last_page(api, samples):
    source, srv = api
    pages = {0: (samples / PAGE1).read_bytes(), 10: (samples / PAGE2).read_bytes()}
    srv.route("/api/query", by_start(pages))
    result = source.fetch(FetchRequest(max_results=15))
    assert [r.param("max_results") for r in srv.requests] == ["10", "5"]
    # our stub ignores max_results, so the source must stop and trim by itself
    assert len(srv.requests) == 2 and len(result.papers) == 15


def test_stops_at_total_results_and_skips_entries_without_abstract(api):
    source, srv = api
    srv.route("/api/query", [Resp(200, (FIXTURES / "api_old_style.atom.xml").read_bytes())])
    result = source.fetch(FetchRequest(max_results=100))
    assert len(srv.requests) == 1
    [paper] = result.papers
    assert (paper.id, paper.version) == ("hep-th/9901001", 1)
    assert paper.title == "Old Style Identifiers"
    assert paper.abstract == "An abstract with extra whitespace and <b> an entity."
    assert paper.primary_category == "hep-th"
    assert paper.pdf_url == "https://arxiv.org/pdf/hep-th/9901001v1"
    assert [s.item for s in result.skipped] == ["http://arxiv.org/abs/2501.00002v3"]
    assert "abstract" in result.skipped[0].reason


def test_http_400_error_entry_is_quoted(api, samples):
    source, srv = api
    body = (samples / "arxiv_api_error_http400_bad_id.atom.xml").read_bytes()
    srv.route("/api/query", [Resp(400, body, {"Content-Type": "application/atom+xml"})])
    with pytest.raises(SourceHTTPError) as err:
        source.fetch(FetchRequest(query="id:abc"))
    assert err.value.status == 400
    assert "incorrect id format for abc" in str(err.value)
    assert "AND" in err.value.hint and "cat:" in err.value.hint
    assert len(srv.requests) == 1  # a 400 is not retried


def test_total_results_zero_is_an_empty_result(api, samples):
    source, srv = api
    body = (samples / "arxiv_api_empty_totalResults0.atom.xml").read_bytes()
    srv.route("/api/query", [Resp(200, body)])
    result = source.fetch(FetchRequest(query="ti:nothingmatches"))
    assert result.papers == [] and result.skipped == []
    assert "ti:nothingmatches" in result.empty_reason
    assert "(ti:nothingmatches)" in srv.requests[0].param("search_query")


def test_empty_page_is_retried(api, samples):
    source, srv = api
    page1, page2 = (samples / PAGE1).read_bytes(), (samples / PAGE2).read_bytes()
    answers = {0: [page1], 10: [empty_page(page2), empty_page(page2), page2]}

    def answer(req: Recorded) -> Resp:
        queue = answers[int(req.param("start"))]
        return Resp(200, queue.pop(0) if len(queue) > 1 else queue[0])

    srv.route("/api/query", answer)
    result = source.fetch(FetchRequest(max_results=20))
    assert len(result.papers) == 20 and result.skipped == []
    assert [r.param("start") for r in srv.requests] == ["0", "10", "10", "10"]


def test_empty_page_gives_up_and_keeps_what_it_has(api, samples):
    source, srv = api
    pages = {0: (samples / PAGE1).read_bytes(), 10: empty_page((samples / PAGE2).read_bytes())}
    srv.route("/api/query", by_start(pages))
    result = source.fetch(FetchRequest(max_results=20))
    assert len(result.papers) == 10
    assert len(srv.requests) == 1 + 1 + source.empty_page_retries
    [gap] = result.skipped
    assert "empty page" in gap.reason and "10" in gap.item


def test_default_window_and_watermark_window(api, samples):
    source, srv = api
    srv.route(
        "/api/query", [Resp(200, (samples / "arxiv_api_empty_totalResults0.atom.xml").read_bytes())]
    )
    source.fetch(FetchRequest())
    source.fetch(FetchRequest(), watermark="2025-01-12T18:30:00+00:00")
    default, from_mark = (r.param("search_query") for r in srv.requests)
    assert default.endswith("submittedDate:[202501140000 TO 202501152359]")
    assert srv.requests[0].param("sortOrder") == "descending"
    # starts on the watermark's own day (overlap is deduplicated downstream), oldest first
    assert from_mark.endswith("submittedDate:[202501120000 TO 202501152359]")
    assert srv.requests[1].param("sortOrder") == "ascending"
    nothing = source.fetch(FetchRequest(), watermark="2025-01-12T18:30:00+00:00")
    assert nothing.watermark == "2025-01-12T18:30:00+00:00"  # kept when nothing new


def test_window_that_ends_before_it_starts(api):
    source, srv = api
    with pytest.raises(ConfigError):
        source.fetch(FetchRequest(since=date(2025, 1, 10), until=date(2025, 1, 5)))
    assert srv.requests == []


def test_malformed_answer_is_a_parse_error(api):
    source, srv = api
    srv.route("/api/query", [Resp(200, b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>")])
    with pytest.raises(FeedParseError):
        source.fetch(FetchRequest())


def test_rss_and_api_share_one_throttle(tmp_path, srv, samples):
    settings = settings_for(tmp_path, srv, arxiv_min_interval=0.25)
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, (FIXTURES / "rss_empty.xml").read_bytes())])
    srv.route(
        "/api/query", [Resp(200, (samples / "arxiv_api_empty_totalResults0.atom.xml").read_bytes())]
    )
    with HttpClient.from_settings(settings) as http:
        build_source("arxiv-rss", settings, http).fetch(FetchRequest())
        build_source("arxiv", settings, http).fetch(FetchRequest())
    rss_req, api_req = srv.requests
    assert api_req.started - rss_req.started >= 0.2  # tolerance: server-side arrival times
