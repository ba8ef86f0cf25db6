"""Endpoints that are not what the config says (a web page, a slow server on a few cores),
against real local servers: one clear error naming the fix, and no work piled onto a busy
local server (no resend after a timeout, one request at a time, more time for long prompts)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest
from openai_server import OpenAIServer, html_page, structured, working
from test_llm import GOOD
from typer.testing import CliRunner

from agent.config import Settings
from agent.llm.chat import make_llm
from agent.llm.endpoints import RequestPolicy, is_local_endpoint
from agent.llm.errors import LLMCallError
from agent.llm.loop import run_sync
from agent.models import Paper, SummaryDraft
from agent.summaries.summarizer import Summarizer
from cli.main import app
from store.state.summary_cache import SqliteSummaryCache

SHORT = [("user", "Summarize x.")]  # about 10 prompt tokens
FIXTURE_PAPERS = Path(__file__).parent / "fixtures" / "llm" / "papers.jsonl"


def settings_for(url: str, **kw) -> Settings:
    return Settings(**({"llm_base_url": url, "llm_model": "test-model"} | kw))


def three_papers() -> list[Paper]:
    return [Paper(**json.loads(line)) for line in FIXTURE_PAPERS.read_text().splitlines()]


def ask(llm, messages=SHORT):
    return run_sync(llm.astructured(messages, SummaryDraft))


# --- item 8: a web page where the API should be --------------------------------------------------
def test_an_html_page_is_a_clear_error_naming_the_base_url_fix():
    with OpenAIServer(handler=lambda _: html_page("Open WebUI")) as srv:
        root = srv.url.removesuffix("/v1")  # the classic slip: the web app's address
        with pytest.raises(LLMCallError) as info:
            ask(make_llm(settings_for(root), backoff=0.01))
    err = info.value
    assert err.kind == "not_openai" and err.fatal and not err.retryable
    assert "AttributeError" not in str(err) and "not the OpenAI API" not in err.hint
    assert root in str(err) and "OpenAI API" in str(err)
    assert "OPENAI_BASE_URL" in err.hint and f"{root}/v1" in err.hint
    assert len(srv.chat_requests) == 1  # no retry, no probing of other methods


def test_an_html_404_is_the_base_url_not_the_model():
    with (
        OpenAIServer(handler=lambda _: html_page("Not Found", status=404)) as srv,
        pytest.raises(LLMCallError) as info,
    ):
        ask(make_llm(settings_for(srv.url), backoff=0.01))
    err = info.value
    assert err.kind == "not_openai" and "'Not Found'" in str(err) and "<html" not in str(err)
    assert "OPENAI_BASE_URL" in err.hint and "does not know model" not in str(err)


def test_llm_check_on_a_web_page_exits_with_an_llm_error(tmp_path):
    with OpenAIServer(handler=lambda _: html_page("Open WebUI")) as srv:
        root = srv.url.removesuffix("/v1")
        result = CliRunner().invoke(
            app,
            ["--home", str(tmp_path), "llm", "check"],
            env={"COLUMNS": "300", "OPENAI_BASE_URL": root, "PAPERBRIEF_SOURCES": "[]"},
        )
    assert result.exit_code == 1, result.output  # an LLM error, not an unexpected one (70)
    assert "AttributeError" not in result.output and "Traceback" not in result.output
    assert f"{root}/v1" in result.output and "OPENAI_BASE_URL" in result.output


def test_a_web_page_stops_a_summarize_run_after_one_request(tmp_path):
    with OpenAIServer(handler=lambda _: html_page()) as srv:
        settings = settings_for(srv.url.removesuffix("/v1"), home=tmp_path)
        cache = SqliteSummaryCache(settings.state_path)
        s = Summarizer(settings, llm=make_llm(settings), cache=cache)
        report = s.run(three_papers())
    assert report.counts["failed"] == 3 and len(srv.chat_requests) == 1
    assert any("OPENAI_BASE_URL" in note for note in report.notes)


# --- item 17: a slow local server ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:8080/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://10.0.0.5/v1", True),
        ("http://ollama:11434/v1", True),  # a compose service name
        ("http://gpu-box.local:8080/v1", True),
        ("https://api.openai.com/v1", False),
        ("https://openrouter.ai/api/v1", False),
        ("http://8.8.8.8/v1", False),
        (None, False),
    ],
)
def test_which_endpoints_count_as_local(url, local):
    assert is_local_endpoint(url) is local


def test_a_local_server_that_times_out_is_not_sent_the_request_again():
    # llama.cpp on a busy 2-core machine: 3 s of work per request, one slot, and the work goes
    # on after the client gave up. A resend would queue behind it.
    with OpenAIServer(handler=working(structured(GOOD), 3.0), slots=1) as srv:
        settings = settings_for(srv.url, llm_timeout=0.3, llm_max_retries=3)
        started = time.perf_counter()
        with pytest.raises(LLMCallError) as info:
            ask(make_llm(settings, backoff=0.01))
        elapsed = time.perf_counter() - started
        requests = len(srv.chat_requests)
    err = info.value
    assert requests == 1 and elapsed < 2.5
    assert err.kind == "timeout" and not err.retryable and err.fatal
    # It says how long it waited: llm_timeout 0.3 s + 1 s per 20 prompt tokens.
    assert "does not resend" in str(err) and re.search(r"within 0\.[6-9] s", str(err))
    assert "PAPERBRIEF_LLM__TIMEOUT=300" in err.hint and "llm_timeout" in err.hint


def test_requests_to_a_local_server_go_one_at_a_time_unless_configured():
    async def four(llm):
        return await asyncio.gather(*(llm.astructured(SHORT, SummaryDraft) for _ in range(4)))

    with OpenAIServer(handler=working(structured(GOOD), 0.2)) as srv:
        replies = run_sync(four(make_llm(settings_for(srv.url), backoff=0.01)))
        one_at_a_time = srv.peak_in_flight
        srv.peak_in_flight = 0
        run_sync(four(make_llm(settings_for(srv.url, llm_max_concurrency=3), backoff=0.01)))
        configured = srv.peak_in_flight
    assert len(replies) == 4 and one_at_a_time == 1
    assert configured == 3  # an explicit llm_max_concurrency is honoured


def test_the_timeout_grows_with_the_prompt():
    # 1.5 s of work; llm_timeout 0.5 s. A 10-token prompt gets 0.5 + 0.5 = 1.0 s and times
    # out; a ~400-token prompt gets 0.5 + 20 s and is answered.
    long_prompt = [("user", "Summarize this abstract. " + "The model reads tokens. " * 80)]
    with OpenAIServer(handler=working(structured(GOOD), 1.5), slots=1) as srv:
        llm = make_llm(settings_for(srv.url, llm_timeout=0.5), backoff=0.01)
        with pytest.raises(LLMCallError) as info:
            ask(llm, SHORT)
        time.sleep(1.0)  # let the abandoned request finish on the server
        reply = ask(llm, long_prompt)
    assert info.value.kind == "timeout"
    assert reply.value == SummaryDraft(**GOOD) and reply.usage.calls == 1


def test_a_summarize_run_stops_at_the_first_local_timeout(tmp_path: Path):
    """The reported failure: the first summary failed after 251 s and 5 calls. Now one call,
    no pile-up behind it, and the run's note says what to set."""
    with OpenAIServer(handler=working(structured(GOOD), 3.0), slots=1) as srv:
        settings = settings_for(srv.url, home=tmp_path, llm_timeout=0.3)
        # As the settings would make it for this server, but with prompts read so fast that
        # the summary prompt adds nothing to the 0.3 s (the test stays short).
        policy = RequestPolicy(timeout=0.3, local=True, max_concurrency=1, prompt_rate=1e9)
        llm = make_llm(settings, policy=policy)
        s = Summarizer(settings, llm=llm, cache=SqliteSummaryCache(settings.state_path))
        report = s.run(three_papers())
        requests = len(srv.chat_requests)
    assert requests == 1 and report.counts["failed"] == 3
    assert any("PAPERBRIEF_LLM__TIMEOUT" in note for note in report.notes), report.notes
    assert json.dumps(report.model_dump(mode="json")).count("did not answer within") >= 1
