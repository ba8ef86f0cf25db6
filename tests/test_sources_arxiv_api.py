"""arxiv (query API) against a local server: pagination, windows, errors, empty-page retries.

Tests taking ``payloads`` run on our own payloads and on the real ones (payload_sets.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from httpserver import LocalHTTPServer, Recorded, Resp
from payload_sets import PayloadSet, assert_papers, fields_of

from agent.config import Settings
from agent.errors import ConfigError, FeedParseError, SourceHTTPError
from agent.sources import FetchRequest, build_source
from agent.sources.arxiv_api import ArxivApiSource
from agent.sources.http import HttpClient

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
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


@pytest.fixture
def paged(tmp_path, srv, payloads: PayloadSet):
    """The source with the payload set's page size, so its two pages are pages 1 and 2."""
    settings = settings_for(tmp_path, srv, arxiv_page_size=payloads.api.page_size)
    with HttpClient.from_settings(settings) as http:
        yield ArxivApiSource(settings, http, clock=lambda: NOW), srv


def two_pages(payloads: PayloadSet) -> dict[int, bytes]:
    return {0: payloads.read("api_page1"), payloads.api.page_size: payloads.read("api_page2")}


def test_two_pages(paged, payloads):
    source, srv = paged
    expect, size = payloads.api, payloads.api.page_size
    srv.route("/api/query", by_start(two_pages(payloads)))
    request = FetchRequest(since=date(2025, 1, 1), until=date(2025, 1, 2), max_results=2 * size)
    result = source.fetch(request)

    assert len(result.papers) == 2 * size and result.skipped == []
    assert [(r.param("start"), r.param("max_results")) for r in srv.requests] == [
        ("0", str(size)),
        (str(size), str(size)),
    ]
    first = srv.requests[0]
    assert first.param("search_query") == (
        "(cat:cs.LG OR cat:cs.AI) AND submittedDate:[202501010000 TO 202501022359]"
    )
    assert first.param("sortBy") == "submittedDate" and first.param("sortOrder") == "descending"
    assert fields_of(result.papers[0], expect.first) == expect.first
    assert_papers(result.papers[size:], expect.page2)
    newest = max(p.published for p in result.papers)
    assert result.watermark == newest.isoformat()


def test_max_results_trims_the_last_page(paged, payloads):
    source, srv = paged
    size = payloads.api.page_size
    srv.route("/api/query", by_start(two_pages(payloads)))
    result = source.fetch(FetchRequest(max_results=size + size // 2))
    assert [r.param("max_results") for r in srv.requests] == [str(size), str(size // 2)]
    # our stub ignores max_results, so the source must stop and trim by itself
    assert len(srv.requests) == 2 and len(result.papers) == size + size // 2


def test_id_list_lookup_drops_unknown_ids(paged, payloads):
    source, srv = paged
    asked = list(payloads.api.idlist_asked)
    srv.route("/api/query", [Resp(200, payloads.read("api_idlist"))])
    found = source.lookup(asked)
    [req] = srv.requests
    assert req.param("id_list") == ",".join(asked) and req.param("max_results") == str(len(asked))
    assert [p.id for p in found] == list(payloads.api.idlist_found)
    assert_papers(found, payloads.api.idlist_found)


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


def test_http_400_error_entry_is_quoted(api, payloads):
    source, srv = api
    body = payloads.read("api_error")
    srv.route("/api/query", [Resp(400, body, {"Content-Type": "application/atom+xml"})])
    with pytest.raises(SourceHTTPError) as err:
        source.fetch(FetchRequest(query="id:abc"))
    assert err.value.status == 400
    assert repr(payloads.api.error) in str(err.value)
    assert "AND" in err.value.hint and "cat:" in err.value.hint
    assert len(srv.requests) == 1  # a 400 is not retried


def test_total_results_zero_is_an_empty_result(api, payloads):
    source, srv = api
    srv.route("/api/query", [Resp(200, payloads.read("api_empty"))])
    result = source.fetch(FetchRequest(query="ti:nothingmatches"))
    assert result.papers == [] and result.skipped == []
    assert "ti:nothingmatches" in result.empty_reason
    assert "(ti:nothingmatches)" in srv.requests[0].param("search_query")


def test_empty_page_is_retried(paged, payloads):
    source, srv = paged
    size = payloads.api.page_size
    page1, page2 = payloads.read("api_page1"), payloads.read("api_page2")
    answers = {0: [page1], size: [empty_page(page2), empty_page(page2), page2]}

    def answer(req: Recorded) -> Resp:
        queue = answers[int(req.param("start"))]
        return Resp(200, queue.pop(0) if len(queue) > 1 else queue[0])

    srv.route("/api/query", answer)
    result = source.fetch(FetchRequest(max_results=2 * size))
    assert len(result.papers) == 2 * size and result.skipped == []
    assert [r.param("start") for r in srv.requests] == ["0", str(size), str(size), str(size)]


def test_empty_page_gives_up_and_keeps_what_it_has(paged, payloads):
    source, srv = paged
    size, total = payloads.api.page_size, payloads.api.total
    pages = {0: payloads.read("api_page1"), size: empty_page(payloads.read("api_page2"))}
    srv.route("/api/query", by_start(pages))
    result = source.fetch(FetchRequest(max_results=2 * size))
    assert len(result.papers) == size
    assert len(srv.requests) == 1 + 1 + source.empty_page_retries
    [gap] = result.skipped
    assert "empty page" in gap.reason
    assert gap.item == f"arxiv results {size}-{2 * size} of {total}"


def test_default_window_and_watermark_window(api, payloads):
    source, srv = api
    srv.route("/api/query", [Resp(200, payloads.read("api_empty"))])
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


def test_rss_and_api_share_one_throttle(tmp_path, srv, payloads):
    settings = settings_for(tmp_path, srv, arxiv_min_interval=0.25)
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, (FIXTURES / "rss_empty.xml").read_bytes())])
    srv.route("/api/query", [Resp(200, payloads.read("api_empty"))])
    with HttpClient.from_settings(settings) as http:
        build_source("arxiv-rss", settings, http).fetch(FetchRequest())
        build_source("arxiv", settings, http).fetch(FetchRequest())
    rss_req, api_req = srv.requests
    assert api_req.started - rss_req.started >= 0.2  # tolerance: server-side arrival times
