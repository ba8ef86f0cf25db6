"""hf (daily papers) against a local server: both payload generations, day windows, errors.

Tests taking ``payloads`` run on our own payloads and on the real ones (payload_sets.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from httpserver import LocalHTTPServer, Recorded, Resp
from payload_sets import fields_of

from agent.config import Settings
from agent.errors import ConfigError, FeedParseError
from agent.sources import FetchRequest
from agent.sources.hf import HfDailySource
from agent.sources.http import HttpClient

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
NOW = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
EXTRA_KEYS = {
    "upvotes",
    "ai_summary",
    "ai_keywords",
    "github_repo",
    "project_page",
    "num_comments",
    "hf_url",
}


@pytest.fixture
def srv() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


@pytest.fixture
def hf(tmp_path, srv: LocalHTTPServer):
    settings = Settings(home=tmp_path, hf_api_url=srv.url("/api/daily_papers"), http_backoff=0.01)
    with HttpClient.from_settings(settings) as http:
        yield HfDailySource(settings, http, clock=lambda: NOW), srv


def test_2026_payload_with_optional_fields(hf, payloads):
    source, srv = hf
    expect = payloads.hf_2026
    raw = payloads.read("hf_2026")
    srv.route("/api/daily_papers", [Resp(200, raw)])
    result = source.fetch(FetchRequest(day=expect.day))
    assert srv.requests[0].param("date") == expect.day.isoformat()
    assert result.watermark == expect.day.isoformat()
    items = json.loads(raw)
    assert len(result.papers) == len(items) == expect.count and result.skipped == []
    by_id = {p.id: p for p in result.papers}
    for item in items:
        paper, src = by_id[item["paper"]["id"]], item["paper"]
        assert paper.title == " ".join(src["title"].split())
        assert paper.authors == [a["name"] for a in src["authors"]]
        assert paper.extra["upvotes"] == src["upvotes"]
        assert paper.extra["num_comments"] == item["numComments"]
        assert set(paper.extra) <= EXTRA_KEYS
        assert ("ai_summary" in paper.extra) == ("ai_summary" in src)
        if "ai_keywords" in src:
            assert paper.extra["ai_keywords"] == src["ai_keywords"]
        if src.get("githubRepo"):
            assert paper.extra["github_repo"] == src["githubRepo"]
    assert any("ai_summary" in p.extra for p in result.papers)
    assert fields_of(result.papers[0], expect.first) == expect.first


def test_2024_payload_without_optional_fields(hf, payloads):
    source, srv = hf
    expect = payloads.hf_2024
    srv.route("/api/daily_papers", [Resp(200, payloads.read("hf_2024"))])
    result = source.fetch(FetchRequest(day=expect.day))
    assert srv.requests[0].param("date") == expect.day.isoformat()
    assert len(result.papers) == expect.count and result.skipped == []
    assert fields_of(result.papers[0], expect.first) == expect.first
    assert all(set(p.extra) == {"upvotes", "num_comments", "hf_url"} for p in result.papers)
    assert all("\n" not in p.abstract for p in result.papers)  # hard-wrapped summaries joined


def test_own_fixture_full_bare_and_broken_items(hf):
    source, srv = hf
    srv.route("/api/daily_papers", [Resp(200, (FIXTURES / "hf_small.json").read_bytes())])
    result = source.fetch(FetchRequest())
    assert srv.requests[0].param("date") == "2025-01-15"  # no dates: today
    full, bare = result.papers
    assert full.title == "Full Item"
    assert full.extra == {
        "upvotes": 12,
        "ai_summary": "Short AI summary.",
        "ai_keywords": ["routing", "MoE"],
        "github_repo": "https://github.com/x/y",
        "project_page": "https://x.github.io",
        "num_comments": 4,
        "hf_url": "https://huggingface.co/papers/2501.00010",
    }
    assert bare.extra == {
        "upvotes": 0,
        "num_comments": 0,
        "hf_url": "https://huggingface.co/papers/2501.00011",
    }
    assert [s.item for s in result.skipped] == ["hf paper 2501.00012"]


def day_answers(payloads: dict[str, bytes]):
    def answer(req: Recorded) -> Resp:
        return Resp(200, payloads.get(req.param("date"), b"[]"))

    return answer


def test_since_until_fetches_every_day_and_dedupes(hf):
    source, srv = hf
    small = (FIXTURES / "hf_small.json").read_bytes()
    srv.route("/api/daily_papers", day_answers({"2025-01-10": small, "2025-01-12": small}))
    result = source.fetch(FetchRequest(since=date(2025, 1, 10), until=date(2025, 1, 12)))
    assert [r.param("date") for r in srv.requests] == ["2025-01-10", "2025-01-11", "2025-01-12"]
    assert [p.id for p in result.papers] == ["2501.00010", "2501.00011"]
    assert result.watermark == "2025-01-12"


def test_watermark_catch_up_is_at_most_a_week(hf):
    source, srv = hf
    srv.route("/api/daily_papers", [Resp(200, b"[]")])
    source.fetch(FetchRequest(), watermark="2025-01-13")
    assert [r.param("date") for r in srv.requests] == ["2025-01-13", "2025-01-14", "2025-01-15"]
    srv.requests.clear()
    result = source.fetch(FetchRequest(), watermark="2024-12-01")
    dates = [r.param("date") for r in srv.requests]
    assert len(dates) == 7 and dates[0] == "2025-01-09" and dates[-1] == "2025-01-15"
    assert result.watermark == "2025-01-15"
    assert "2025-01-09 to 2025-01-15" in result.empty_reason


def test_empty_day_is_not_an_error(hf):
    source, srv = hf
    srv.route("/api/daily_papers", [Resp(200, b"[]")])
    result = source.fetch(FetchRequest(day=date(2025, 1, 11)))
    assert result.papers == [] and "2025-01-11" in result.empty_reason


@pytest.mark.parametrize(
    "body", [b"<html>oops</html>", b'[{"paper": ', b'{"error": "Invalid date"}', b"[1, 2]"]
)
def test_not_daily_papers_json_is_a_parse_error(hf, body):
    source, srv = hf
    srv.route("/api/daily_papers", [Resp(200, body)])
    with pytest.raises(FeedParseError) as err:
        source.fetch(FetchRequest())
    assert "hf_api_url" in err.value.hint


def test_server_error_is_retried(hf):
    source, srv = hf
    srv.route(
        "/api/daily_papers", [Resp(500), Resp(200, (FIXTURES / "hf_small.json").read_bytes())]
    )
    assert len(source.fetch(FetchRequest()).papers) == 2
    assert len(srv.requests) == 2


def test_reversed_window(hf):
    source, _ = hf
    with pytest.raises(ConfigError):
        source.fetch(FetchRequest(since=date(2025, 1, 12), until=date(2025, 1, 10)))
