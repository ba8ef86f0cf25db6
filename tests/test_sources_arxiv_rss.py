"""arxiv-rss against a local server: real announcement feeds (RSS 2.0 and Atom) and our own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from httpserver import LocalHTTPServer, Resp

from agent.config import Settings
from agent.errors import ConfigError, FeedParseError
from agent.sources import FetchRequest, build_source
from agent.sources.http import HttpClient

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
RSS2 = "arxiv_rss2_multi-cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24_excerpt.xml"
ATOM = "arxiv_rss_atom_cs.LG_2026-09-25_excerpt_truncated_abstracts.xml"


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


def test_real_rss2_feed_keeps_new_and_cross(rss, samples):
    source, srv = rss
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, (samples / RSS2).read_bytes())])
    result = source.fetch(FetchRequest())
    assert [r.path for r in srv.requests] == ["/rss/cs.LG+cs.AI"]
    assert [p.id for p in result.papers] == ["2609.26811", "2609.26820", "2205.06398"]
    assert [p.announce_type for p in result.papers] == ["new", "new", "cross"]
    assert result.watermark == "2026-09-24"
    assert result.empty_reason is None
    signal = result.papers[1]
    assert signal.version == 1
    assert signal.authors == ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"]
    assert signal.categories == ["cs.LG", "cs.AI"] and signal.primary_category == "cs.LG"
    assert signal.abstract.startswith("Physiological time series such as electrocardiograms")
    assert "Announce Type" not in signal.abstract
    assert signal.published == datetime(2026, 9, 24, 4, 0, tzinfo=UTC)
    assert signal.url == "https://arxiv.org/abs/2609.26820"
    assert signal.pdf_url == "https://arxiv.org/pdf/2609.26820v1"
    assert signal.source == "arxiv-rss"
    cross = result.papers[2]
    assert cross.version == 2 and cross.primary_category == "stat.ME"
    assert cross.extra["doi"] == "10.1093/bioinformatics/btac431"


def test_announce_types_from_request_override_settings(rss, samples):
    source, srv = rss
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, (samples / RSS2).read_bytes())])
    result = source.fetch(FetchRequest(announce_types=["replace"]))
    assert [(p.id, p.version, p.announce_type) for p in result.papers] == [
        ("2009.13987", 3, "replace")
    ]
    assert result.papers[0].authors == ["Michael Joswig", "Marek Kaluba", "Lukas Ruff"]


def test_real_atom_variant(tmp_path, srv, samples):
    settings = Settings(home=tmp_path, arxiv_rss_url=srv.url("/atom/"), arxiv_min_interval=0)
    srv.route("/atom/cs.LG", [Resp(200, (samples / ATOM).read_bytes())])
    with HttpClient.from_settings(settings) as http:
        result = build_source("arxiv-rss", settings, http).fetch(FetchRequest(categories=["cs.LG"]))
    assert [(p.id, p.version, p.announce_type) for p in result.papers] == [
        ("2609.28553", 1, "new"),
        ("2402.10149", 3, "cross"),
    ]
    assert result.watermark == "2026-09-25"
    first = result.papers[0]
    assert first.categories == ["cs.LG", "cs.AI"]
    assert first.authors[0] == "Quang Minh Nguyen" and len(first.authors) == 6
    assert first.abstract.startswith("Drug toxicity prediction")
    assert first.extra["doi"] == "10.1109/MAPR72750.2026.11685822"


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


def test_feed_with_none_of_the_wanted_types_says_so(rss, samples):
    source, srv = rss
    srv.route("/rss/cs.LG+cs.AI", [Resp(200, (samples / RSS2).read_bytes())])
    result = source.fetch(FetchRequest(announce_types=["replace-cross"]))
    assert result.papers == []
    assert "4 item(s)" in result.empty_reason and "replace-cross" in result.empty_reason


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
