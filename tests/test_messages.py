"""Messages a first-time or offline user meets: an empty store, a host name that does not
resolve, a missing --file. Each says what happened and what to do, once."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from agent import PaperAgent, Settings, SourceUnreachable
from agent.models import SourceReport, SourceStatus
from agent.sources.http import HttpClient
from cli.main import app

SATURDAY = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(
        app, list(args), env={"COLUMNS": "300", "PAPERBRIEF_SOURCES": "[]", **(env or {})}
    )


# --- an empty store ------------------------------------------------------------------------------
def test_search_on_an_empty_store_says_so_and_how_to_fill_it(tmp_path):
    result = cli("--home", str(tmp_path), "search", "diffusion models")
    assert result.exit_code == 0
    assert "is empty" in result.output and "paperbrief ingest" in result.output
    assert "Try other words" not in result.output


def test_digest_on_an_empty_store_says_so_and_how_to_fill_it(tmp_path):
    result = cli("--home", str(tmp_path), "digest", "--no-llm")
    assert result.exit_code == 0, result.output
    assert "is empty" in result.output and "paperbrief ingest" in result.output
    assert "weekend" not in result.output and "Try other" not in result.output


def test_an_empty_store_is_named_even_on_a_weekend_but_a_failed_source_comes_first(
    tmp_path, minilm
):
    with PaperAgent(Settings(home=tmp_path, sources=[]), embedder=minilm) as agent:
        weekend = agent.digest(now=SATURDAY, use_llm=False, save=False)
        failed = SourceReport(
            source="arxiv-rss", status=SourceStatus.FAILED, message="could not reach it"
        )
        offline = agent.digest(now=SATURDAY, use_llm=False, save=False, source_reports=[failed])
    assert weekend.empty and "is empty" in weekend.empty_reason
    assert "weekend" not in weekend.empty_reason
    assert "could not reach it" in offline.empty_reason  # the failure is the thing to fix


# --- a host name that does not resolve -----------------------------------------------------------
def test_a_name_that_does_not_resolve_fails_at_once_without_retries():
    sleeps: list[float] = []
    with (
        HttpClient(retries=4, backoff=2.0, sleep=sleeps.append) as http,
        pytest.raises(SourceUnreachable) as info,
    ):
        http.get("http://no-such-host.invalid/rss/cs.LG", source="arxiv-rss")
    assert sleeps == []  # was 2 + 4 + 8 + 16 s of backoff, 45 s offline
    assert "no-such-host.invalid" in str(info.value) and "resolve" in str(info.value)
    assert "network" in info.value.hint


def test_ingest_from_an_unresolvable_host_ends_in_seconds(tmp_path):
    started = time.perf_counter()
    result = cli(
        "--home", str(tmp_path), "ingest", "--source", "arxiv-rss",
        env={"PAPERBRIEF_ARXIV_RSS_URL": "http://no-such-host.invalid/rss",
             "PAPERBRIEF_ARXIV_MIN_INTERVAL": "0"},
    )  # fmt: skip
    assert time.perf_counter() - started < 10
    assert result.exit_code != 0 and "does not resolve" in result.output


# --- a missing --file ----------------------------------------------------------------------------
def test_a_missing_file_is_one_error(tmp_path):
    missing = tmp_path / "nope.jsonl"
    result = cli("--home", str(tmp_path / "home"), "ingest", "--file", str(missing))
    assert result.exit_code == 2
    assert result.output.count("nope.jsonl") == 1, result.output
    assert "Traceback" not in result.output


def test_a_bad_file_is_reported_once(tmp_path):
    bad = tmp_path / "cut.jsonl"
    bad.write_text('{"title": "A paper", "abstract": "Text"\n', encoding="utf-8")
    result = cli("--home", str(tmp_path / "home"), "ingest", "--file", str(bad))
    assert result.exit_code != 0
    assert result.output.count("cut.jsonl") == 1, result.output
