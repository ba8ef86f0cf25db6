"""HttpClient against a real local server: retries, Retry-After, errors, and the arXiv throttle."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from httpserver import LocalHTTPServer, Resp, unused_port

from agent.config import Settings
from agent.errors import ConfigError, SourceHTTPError, SourceUnreachable
from agent.sources.http import HttpClient


@pytest.fixture
def srv() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


class SleepLog:
    """Records requested delays; really sleeps only when told to."""

    def __init__(self, real: bool = False) -> None:
        self.calls: list[float] = []
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.real:
            time.sleep(seconds)


def client(**kw) -> HttpClient:
    args = {"timeout": 2.0, "retries": 2, "backoff": 0.01, "arxiv_min_interval": 0.0}
    args.update(kw)
    return HttpClient(**args)


def test_429_with_retry_after_then_success(srv):
    srv.route("/x", [Resp(429, "slow down", {"Retry-After": "0.2"}), Resp(200, "ok")])
    sleep = SleepLog(real=True)
    started = time.monotonic()
    with client(sleep=sleep) as http:
        response = http.get(srv.url("/x"))
    assert response.text == "ok"
    assert sleep.calls == [0.2]  # Retry-After honoured instead of the 0.01 s backoff
    first, second = srv.requests_to("/x")
    assert second.started - first.started >= 0.19
    assert time.monotonic() - started < 2


def test_retry_after_is_capped(srv):
    srv.route("/x", [Resp(429, headers={"Retry-After": "3600"}), Resp(200, "ok")])
    sleep = SleepLog()
    with client(sleep=sleep, max_retry_after=5.0) as http:
        assert http.get(srv.url("/x")).text == "ok"
    assert sleep.calls == [5.0]


def test_503_until_retries_run_out(srv):
    srv.route("/x", [Resp(503, "busy")])
    sleep = SleepLog()
    with client(sleep=sleep, retries=3, backoff=0.5) as http, pytest.raises(SourceHTTPError) as err:
        http.get(srv.url("/x"), source="hf")
    assert err.value.status == 503
    assert err.value.source == "hf"
    assert "503" in str(err.value) and "4 attempts" in str(err.value)
    assert "later" in err.value.hint
    assert len(srv.requests_to("/x")) == 4
    assert sleep.calls == [0.5, 1.0, 2.0]  # exponential backoff


def test_404_fails_at_once_and_keeps_the_body(srv):
    srv.route("/x", [Resp(404, "no such feed")])
    with client() as http:
        with pytest.raises(SourceHTTPError) as err:
            http.get(srv.url("/x"))
        assert err.value.status == 404
        assert err.value.response.text == "no such feed"
        assert err.value.hint
        assert len(srv.requests_to("/x")) == 1
        # ... or hand 4xx answers back to the caller
        response = http.get(srv.url("/x"), raise_for_status=False)
        assert response.status_code == 404


def test_unreachable_port_raises_source_unreachable():
    sleep = SleepLog()
    with client(sleep=sleep, retries=1) as http, pytest.raises(SourceUnreachable) as err:
        http.get(f"http://127.0.0.1:{unused_port()}/rss", source="arxiv-rss")
    assert "127.0.0.1" in str(err.value) and "2 attempt" in str(err.value)
    assert "network" in err.value.hint
    assert len(sleep.calls) == 1


def test_connection_reset_and_read_timeout_are_retried(srv):
    srv.route("/reset", [Resp(reset=True), Resp(200, "after reset")])
    srv.route("/slow", [Resp(200, "late", delay=1.0), Resp(200, "fast")])
    with client(timeout=0.3) as http:
        assert http.get(srv.url("/reset")).text == "after reset"
        assert http.get(srv.url("/slow")).text == "fast"
    assert len(srv.requests_to("/reset")) == 2
    assert len(srv.requests_to("/slow")) == 2


def test_retry_is_logged_with_url_but_not_headers(srv, caplog):
    srv.route("/x", [Resp(502), Resp(200, "ok")])
    with (
        caplog.at_level(logging.INFO, logger="agent.sources.http"),
        client(user_agent="secret-ua") as h,
    ):
        h.get(srv.url("/x"), params={"date": "2025-01-14"})
    text = caplog.text
    assert "/x?date=2025-01-14" in text and "502" in text
    assert "secret-ua" not in text


def test_from_settings_sends_the_user_agent(tmp_path, srv):
    srv.route("/x", [Resp(200, "ok")])
    settings = Settings(home=tmp_path, user_agent="paperbrief-test/1.0", http_retries=0)
    with HttpClient.from_settings(settings) as http:
        http.get(srv.url("/x"))
        assert http.retries == 0
    assert srv.requests[0].headers["user-agent"] == "paperbrief-test/1.0"


def test_bad_url_is_a_config_error():
    with client() as http, pytest.raises(ConfigError) as err:
        http.get("ftp://example.org/feed")
    assert "base URL" in err.value.hint


def test_arxiv_throttle_spaces_and_serialises_requests_across_threads(srv):
    interval = 0.3
    srv.route("/rss/cs.LG", [Resp(200, "rss", delay=0.05)])
    srv.route("/api/query", [Resp(200, "api", delay=0.05)])
    errors: list[BaseException] = []

    def worker(http: HttpClient, path: str) -> None:
        try:
            for _ in range(3):
                http.get(srv.url(path), throttle="arxiv")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    with client(arxiv_min_interval=interval) as http:
        threads = [
            threading.Thread(target=worker, args=(http, p)) for p in ("/rss/cs.LG", "/api/query")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert not errors
    reqs = sorted(srv.requests, key=lambda r: r.started)
    assert len(reqs) == 6
    assert {r.path for r in reqs} == {"/rss/cs.LG", "/api/query"}
    for before, after in itertools.pairwise(reqs):
        assert after.started - before.started >= interval - 0.05  # spaced (server clock)
        assert after.started >= before.finished  # never two at once


def test_unthrottled_requests_are_not_delayed(srv):
    srv.route("/hf", [Resp(200, "[]")])
    with client(arxiv_min_interval=5.0) as http:
        started = time.monotonic()
        for _ in range(3):
            http.get(srv.url("/hf"))
        http.get(srv.url("/hf"), throttle="arxiv")  # first arXiv request: no wait
        assert time.monotonic() - started < 1.0
        with pytest.raises(ValueError):
            http.get(srv.url("/hf"), throttle="nope")
