"""`paperbrief backfill` against a local arXiv API: day-sized queries, page by page, a position
that survives Ctrl-C and outages, the shared throttle, and a summary of what was stored."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from arxiv_fake import FakeArxivApi
from httpserver import LocalHTTPServer

from agent import PaperAgent, Settings, SourceHTTPError, run_backfill
from agent.backfill.position import BackfillPosition, position_key
from store.embedding.embedders import HashingEmbedder

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 1, 20, 12, 0, tzinfo=UTC)
# Jan 6-12 2025: a weekend with nothing, one day of 0, days spanning one to three pages.
PER_DAY = {date(2025, 1, d): n for d, n in {6: 12, 7: 5, 8: 0, 9: 11, 10: 3, 13: 7}.items()}


@pytest.fixture
def srv() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server


def _settings(home: Path, srv: LocalHTTPServer, **kw) -> Settings:
    base = {"home": home, "arxiv_api_url": srv.url("/api/query"), "arxiv_categories": ["cs.LG"],
            "arxiv_min_interval": 0, "http_backoff": 0.01, "http_retries": 1}  # fmt: skip
    return Settings(**(base | kw))


def _agent(home: Path, srv: LocalHTTPServer, **kw) -> PaperAgent:
    return PaperAgent(_settings(home, srv, **kw), embedder=HashingEmbedder(64))


def _backfill(agent: PaperAgent, **kw):
    kw = {"since": "2025-01-06", "until": "2025-01-13", "page_size": 5, "clock": lambda: NOW} | kw
    return run_backfill(agent, **kw)


def test_a_window_is_fetched_a_day_at_a_time_and_stored_once(tmp_path, srv):
    api = FakeArxivApi(PER_DAY)
    srv.route("/api/query", api)
    ticks = []
    with _agent(tmp_path, srv) as agent:
        result = _backfill(agent, progress=lambda stage, done, total: ticks.append((done, total)))
        stored = {p["id"] for p in agent.store.list_papers()}
    assert stored == api.ids() and result.new == len(api.ids()) == 38
    assert result.complete and result.days == 8 and result.days_done == 8
    # Each day is its own query, newest day first, paged in offsets of 5; nothing asked twice.
    assert api.served[:3] == [(date(2025, 1, 13), 0), (date(2025, 1, 13), 5),
                              (date(2025, 1, 12), 0)]  # fmt: skip
    pages = sum(max(1, -(-n // 5)) for n in PER_DAY.values()) + 2  # + Jan 11-12: one empty page
    assert len(api.served) == len(set(api.served)) == result.pages == pages
    queries = {r.param("search_query") for r in srv.requests}
    assert "cat:cs.LG AND submittedDate:[202501090000 TO 202501092359]" in queries
    assert ticks[-1] == (8, 8) and [t[0] for t in ticks] == list(range(1, 9))

    # A second run finds every settled day done and asks arXiv nothing.
    before = len(api.served)
    with _agent(tmp_path, srv) as agent:
        again = _backfill(agent)
    assert len(api.served) == before and again.days_already == 8 and again.new == 0


def test_an_outage_keeps_the_position_and_the_rerun_resumes_there(tmp_path, srv):
    api = FakeArxivApi(PER_DAY)
    api.fail_from = 7  # arXiv goes down on the 7th page: Jan 9's second
    srv.route("/api/query", api)
    with _agent(tmp_path, srv) as agent, pytest.raises(SourceHTTPError) as err:
        _backfill(agent)
    assert "503" in str(err.value) and "run the same command again to resume" in err.value.hint
    served_before = list(api.served)
    with _agent(tmp_path, srv) as agent:
        position = BackfillPosition.load(agent.store.state, position_key(["cs.LG"], None))
        assert position.done == {date(2025, 1, d) for d in (10, 11, 12, 13)}
        assert (position.day, position.start) == (date(2025, 1, 9), 5)
        api.fail_from = None
        result = _backfill(agent)
        stored = [p["id"] for p in agent.store.list_papers()]
    # The rerun starts at the page that failed: no page is fetched twice.
    assert api.served[len(served_before)] == (date(2025, 1, 9), 5)
    assert Counter(api.served).most_common(1)[0][1] == 1
    assert sorted(stored) == sorted(api.ids()) and len(stored) == len(set(stored))
    assert result.days_already == 4 and result.days_done == 4 and result.complete
    assert result.resumed_at == "2025-01-09 at result 5"


def test_a_transient_503_is_retried_by_the_shared_policy(tmp_path, srv):
    api = FakeArxivApi(PER_DAY)
    calls = []

    def flaky(request):
        calls.append(request)
        if len(calls) == 2:
            from httpserver import Resp

            return Resp(503, "busy", headers={"Retry-After": "0"})
        return api(request)

    srv.route("/api/query", flaky)
    with _agent(tmp_path, srv) as agent:
        result = _backfill(agent)
    assert result.complete and result.new == 38 and len(calls) == len(api.served) + 1


def test_the_shared_throttle_spaces_every_request(tmp_path, srv):
    api = FakeArxivApi({date(2025, 1, 6): 6, date(2025, 1, 7): 2})
    srv.route("/api/query", api)
    with _agent(tmp_path, srv, arxiv_min_interval=0.3) as agent:
        _backfill(agent, since="2025-01-06", until="2025-01-07")
    starts = [r.started for r in srv.requests]
    assert len(starts) == 3
    # The server sees a request a little after it is sent, by however long a loaded machine
    # takes to schedule its thread: each gap may shrink by that much, their sum cannot.
    assert starts[-1] - starts[0] >= 0.58
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(starts))
    assert all(r.finished <= n.started for r, n in itertools.pairwise(srv.requests))


def test_an_inverted_window_is_bad_input(tmp_path, srv):
    from agent import InputError

    with _agent(tmp_path, srv) as agent, pytest.raises(InputError):
        _backfill(agent, since="2025-01-10", until="2025-01-06")


def _cli(home: Path, srv: LocalHTTPServer, *args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PAPERBRIEF_ARXIV_API_URL": srv.url("/api/query"),
           "PAPERBRIEF_ARXIV_MIN_INTERVAL": "0", "PAPERBRIEF_HTTP_RETRIES": "1",
           "PAPERBRIEF_HTTP_BACKOFF": "0.01"}  # fmt: skip
    window = ["--since", "2025-01-06", "--until", "2025-01-13", "-c", "cs.LG", "--page-size", "5"]
    cmd = [sys.executable, "-m", "cli.main", "--home", str(home), "backfill", *window, *args]
    return cmd, env


@pytest.mark.slow
def test_ctrl_c_mid_backfill_then_rerun_resumes(tmp_path, srv, minilm):
    """A real process interrupted while a page is in flight; the rerun fetches no page twice
    but that one, and the store holds every paper once."""
    api = FakeArxivApi(PER_DAY)
    in_flight = threading.Event()
    api.before_answer = lambda n: (in_flight.set(), threading.Event().wait(3)) if n == 7 else None
    srv.route("/api/query", api)
    home = tmp_path / "home"
    cmd, env = _cli(home, srv)
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert in_flight.wait(120), proc.communicate()
    before = list(api.served)  # six pages answered; the seventh (Jan 9, 5) is in flight
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "resumes" in err and "Traceback" not in err
    assert len(before) == 6 and before[-1] == (date(2025, 1, 9), 0)
    api.before_answer = None
    done = subprocess.run([*cmd, "--json"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["complete"] and result["resumed_at"] == "2025-01-09 at result 5"
    twice = [page for page, n in Counter(api.served).items() if n > 1]
    assert twice in ([], [(date(2025, 1, 9), 5)])  # at most the page that was in flight
    with PaperAgent(_settings(home, srv), embedder=minilm) as agent:  # the CLI's embedder
        ids = [p["id"] for p in agent.store.list_papers()]
    assert len(ids) == len(set(ids)) and set(ids) == api.ids()


def test_cli_503_says_what_to_do_and_exits_1(tmp_path, srv):
    api = FakeArxivApi(PER_DAY)
    api.fail_from = 1
    srv.route("/api/query", api)
    cmd, env = _cli(tmp_path / "home", srv)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "503" in proc.stderr and "resume" in proc.stderr and "Traceback" not in proc.stderr
