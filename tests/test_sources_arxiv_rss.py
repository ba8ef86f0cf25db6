"""arxiv-rss against a local server: announcement feeds (RSS 2.0 and Atom) and error answers.

Tests taking ``payloads`` run on our own payloads and on the real ones (payload_sets.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import LocalHTTPServer, Resp
from payload_sets import assert_papers

from agent.config import Settings
from agent.errors import ConfigError, FeedParseError
from agent.sources import FetchRequest, build_source
from agent.sources.http import HttpClient

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


@pytest.fixture
def srv() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


@pytest.fixture
def rss(tmp_path, srv: LocalHTTPServer):
    settings = Settings(
        home=tmp_path,
        arxiv_rss_url=srv.url("/rss"),
        arxiv_categories=["cs.LG", "cs.AI"],
        arxiv_min_interval=0,
        http_backoff=0.01,
        http_retries=1,
    )
    with HttpClient.from_settings(settings) as http:
        yield build_source("arxiv-rss", settings, http), srv


def test_rss2_feed_keeps_new_and_cross(rss, payloads):
    source, srv = rss
    expect = payloads.rss2
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, payloads.read("rss2"))])
    result = source.fetch(FetchRequest())
    assert [r.path for r in srv.requests] == ["/rss/cs.LG+cs.AI"]
    kept = [(p.id, p.version, p.announce_type) for p in result.papers]
    assert kept == expect.of_types("new", "cross")  # the default announce types
    assert result.watermark == expect.day
    assert result.empty_reason is None and result.skipped == []
    assert all("Announce Type" not in p.abstract for p in result.papers)
    assert {p.source for p in result.papers} == {"arxiv-rss"}
    assert_papers(result.papers, expect.papers_of_types("new", "cross"))


def test_announce_types_from_request_override_settings(rss, payloads):
    source, srv = rss
    expect = payloads.rss2
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, payloads.read("rss2"))])
    result = source.fetch(FetchRequest(announce_types=["replace", "replace-cross"]))
    assert [(p.id, p.version, p.announce_type) for p in result.papers] == expect.of_types(
        "replace", "replace-cross"
    )
    assert_papers(result.papers, expect.papers_of_types("replace", "replace-cross"))


def test_atom_variant(tmp_path, srv, payloads):
    expect = payloads.atom
    settings = Settings(home=tmp_path, arxiv_rss_url=srv.url("/atom/"), arxiv_min_interval=0)
    srv.route("/atom/cs.LG", [Resp(200, payloads.read("rss_atom"))])
    with HttpClient.from_settings(settings) as http:
        result = build_source("arxiv-rss", settings, http).fetch(FetchRequest(categories=["cs.LG"]))
    kept = [(p.id, p.version, p.announce_type) for p in result.papers]
    assert kept == expect.of_types("new", "cross")
    assert result.watermark == expect.day
    assert all("Announce Type" not in p.abstract for p in result.papers)
    assert_papers(result.papers, expect.papers_of_types("new", "cross"))


def test_own_feed_entities_whitespace_authors_and_old_ids(rss):
    source, srv = rss
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, (FIXTURES / "rss_small.xml").read_bytes())])
    everything = ["new", "cross", "replace", "replace-cross"]
    result = source.fetch(FetchRequest(announce_types=everything))
    by_id = {p.id: p for p in result.papers}
    assert set(by_id) == {"2501.00001", "2412.09999", "hep-th/9901001", "2301.12345"}
    sparse = by_id["2501.00001"]
    assert sparse.title == "Sparse Mixtures & Dense Routers"
    assert sparse.abstract == (
        "We study routers for sparse mixtures of experts. Our router uses $O(\\log n)$ memory "
        'and "just works" on long contexts.'
    )
    assert sparse.authors == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert by_id["hep-th/9901001"].version == 3
    assert by_id["hep-th/9901001"].pdf_url == "https://arxiv.org/pdf/hep-th/9901001v3"
    assert by_id["2301.12345"].announce_type == "replace-cross"
    only = source.fetch(FetchRequest(announce_types=["replace-cross"]))
    assert [p.id for p in only.papers] == ["2301.12345"]


def test_empty_day_is_not_an_error(rss):
    source, srv = rss
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, (FIXTURES / "rss_empty.xml").read_bytes())])
    result = source.fetch(FetchRequest())
    assert result.papers == [] and result.skipped == []
    assert "cs.LG+cs.AI" in result.empty_reason and "2025-01-18" in result.empty_reason
    assert "weekends" in result.empty_reason
    assert result.watermark == "2025-01-18"


def test_feed_with_none_of_the_wanted_types_says_so(rss, payloads):
    source, srv = rss
    role, absent = payloads.unannounced
    items = payloads.feed(role).items
    assert absent not in {announce for _, _, announce in items}
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, payloads.read(role))])
    result = source.fetch(FetchRequest(announce_types=[absent]))
    assert result.papers == []
    assert f"{len(items)} item(s)" in result.empty_reason and absent in result.empty_reason


@pytest.mark.parametrize(
    "body",
    [
        (FIXTURES / "html_error.html").read_bytes(),
        b"<?xml version='1.0'?><rss version='2.0'><channel><item><title>cut",
        b"",
        b'{"not": "xml"}',
    ],
    ids=["html", "truncated", "empty", "json"],
)
def test_not_a_feed_is_a_parse_error(rss, body):
    source, srv = rss
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, body)])
    with pytest.raises(FeedParseError) as err:
        source.fetch(FetchRequest())
    assert "arxiv-rss" in str(err.value) and err.value.hint


def test_invalid_category_is_refused_before_any_request(rss):
    source, srv = rss
    with pytest.raises(ConfigError) as err:
        source.fetch(FetchRequest(categories=["cs.LG/../x"]))
    assert "cs.LG" in err.value.hint
    assert srv.requests == []
