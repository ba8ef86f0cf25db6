"""The OpenAI path against a real local HTTP server (tests/openai_server.py), no patched client."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from openai_server import OpenAIServer, Reply, chat_completion, error_body, structured

from agent.config import Settings
from agent.llm.chat import make_llm
from agent.llm.check import check_endpoint
from agent.llm.endpoints import RequestPolicy
from agent.llm.errors import LLMCallError
from agent.llm.loop import run_sync
from agent.models import SummaryDraft
from store.state.summary_cache import SqliteSummaryCache

GOOD = {
    "tldr": "A router makes big models cheaper.",
    "summary": "Big models cost a lot. A new router uses fewer experts.",
    "why_it_matters": "Cheaper models reach more people.",
    "key_terms": [{"term": "router", "meaning": "picks which experts run"}],
    "tags": ["efficiency"],
}
MESSAGES = [("system", "Summarize."), ("user", "Title: x\nAbstract: y")]


@pytest.fixture
def server():
    with OpenAIServer(models=["test-model", "other-model"]) as srv:
        yield srv


def settings_for(url: str, **kw) -> Settings:
    base = dict(llm_base_url=url, openai_api_key="test", llm_model="test-model")
    return Settings(**(base | kw))


def ask(llm, messages=MESSAGES):
    return run_sync(llm.astructured(messages, SummaryDraft))


def test_make_llm_is_none_without_endpoint_or_key():
    assert make_llm(Settings()) is None


def test_json_schema_accepted(server):
    server.queue(structured(GOOD))
    reply = ask(make_llm(settings_for(server.url), backoff=0.01))
    assert reply.method == "json_schema" and reply.value == SummaryDraft(**GOOD)
    (req,) = server.chat_requests
    body = req.json
    assert body["response_format"]["type"] == "json_schema"
    assert set(body["response_format"]["json_schema"]["schema"]["required"]) == set(GOOD)
    assert body["model"] == "test-model"
    # llama.cpp ignores max_completion_tokens: the cap is sent both ways.
    assert body["max_completion_tokens"] == 600 and body["max_tokens"] == 600
    assert req.headers["authorization"] == "Bearer test"
    assert reply.usage.calls == 1 and reply.usage.counted == "api"
    assert (reply.usage.tokens_in, reply.usage.tokens_out) == (50, 20)


def test_json_schema_rejected_with_500_falls_back_to_function_calling_and_remembers(
    server, tmp_path: Path
):
    cache = SqliteSummaryCache(tmp_path / "state.sqlite3")
    server.queue(
        Reply(500, error_body("'response_format' must be 'text' or 'json_object'")),
        structured(GOOD),
        structured(GOOD),
    )
    llm = make_llm(settings_for(server.url), backoff=0.01, method_store=cache)
    reply = ask(llm)
    assert reply.method == "function_calling"
    first, second = server.chat_requests
    assert "response_format" in first.json and "tools" not in first.json
    assert second.json["tool_choice"] == {"type": "function", "function": {"name": "SummaryDraft"}}
    assert cache.get_method(server.url, "test-model") == "function_calling"
    # A new process (new ChatLLM, same cache) goes straight to the method that worked.
    llm2 = make_llm(settings_for(server.url), backoff=0.01, method_store=cache)
    assert ask(llm2).method == "function_calling"
    assert "tools" in server.chat_requests[2].json and len(server.chat_requests) == 3


def test_json_mode_with_think_block_and_fences_is_parsed(server):
    noisy = "<think>hmm, JSON</think>\nSure! ```json\n" + json.dumps(GOOD) + "\n```"
    server.queue(
        Reply(400, error_body("json_schema unsupported")),
        Reply(400, error_body("tools unsupported")),
        Reply(body=chat_completion(noisy)),
    )
    reply = ask(make_llm(settings_for(server.url), backoff=0.01))
    assert reply.method == "json_mode" and reply.value.tldr == GOOD["tldr"]
    last = server.chat_requests[-1].json
    assert last["response_format"] == {"type": "json_object"}
    assert '"tldr"' in last["messages"][0]["content"]  # schema given in the prompt


def test_malformed_json_is_repaired_once(server):
    server.queue(structured('{"tldr": "broken'), structured(GOOD))
    reply = ask(make_llm(settings_for(server.url), backoff=0.01))
    assert reply.repaired and reply.value == SummaryDraft(**GOOD)
    repair_turn = server.chat_requests[1].json["messages"]
    assert repair_turn[-2]["role"] == "assistant"
    assert "could not be used" in repair_turn[-1]["content"]
    assert reply.usage.calls == 2 and reply.usage.tokens_in == 100


def test_malformed_twice_is_a_non_retryable_output_error(server):
    server.queue(structured("no json here"), structured('{"tldr": 3}'))
    with pytest.raises(LLMCallError) as info:
        ask(make_llm(settings_for(server.url), backoff=0.01))
    err = info.value
    assert err.kind == "output" and not err.retryable
    assert "SummaryDraft" in str(err) and err.usage.calls == 2


def test_429_then_success_is_retried_with_backoff(server):
    server.queue(
        Reply(429, error_body("slow down", type_="rate_limit"), headers={"Retry-After": "0.2"}),
        structured(GOOD),
    )
    reply = ask(make_llm(settings_for(server.url), backoff=0.01))
    assert reply.method == "json_schema" and reply.usage.calls == 2
    first, second = server.chat_requests
    assert second.time - first.time >= 0.2  # Retry-After honoured


def test_timeout_to_a_hosted_api_is_retryable_and_retried(server):
    # Each request gets llm_timeout plus 1 s per 20 prompt tokens: 0.3 + 22/20 = 1.4 s here.
    server.queue(Reply(delay=3, body=chat_completion("late")), Reply(delay=3))
    settings = settings_for(server.url, llm_timeout=0.3, llm_max_retries=1)
    hosted = RequestPolicy.from_settings(settings, local=False)  # as if it were a hosted API
    llm = make_llm(settings, backoff=0.01, policy=hosted)
    started = time.perf_counter()
    with pytest.raises(LLMCallError) as info:
        ask(llm)
    assert info.value.kind == "timeout" and info.value.retryable
    assert server.url in str(info.value) and "llm_timeout" in info.value.hint
    assert len(server.chat_requests) == 2 and time.perf_counter() - started < 3.5


def test_401_says_which_endpoint_and_how_to_fix_without_the_key():
    with OpenAIServer(api_key="right-key") as srv:
        llm = make_llm(settings_for(srv.url, openai_api_key="sk-wrong-secret"), backoff=0.01)
        with pytest.raises(LLMCallError) as info:
            ask(llm)
    err = info.value
    assert err.kind == "auth" and err.status == 401 and err.fatal and not err.retryable
    assert srv.url in str(err) and "OPENAI_API_KEY" in err.hint
    assert "sk-wrong-secret" not in str(err) + err.hint
    assert len(srv.chat_requests) == 1  # no method fallback, no retry on 401


def test_unreachable_names_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(LLMCallError) as info:
        ask(make_llm(settings_for(url), backoff=0.01))
    assert info.value.kind == "unreachable" and url in str(info.value)
    assert "llm_base_url" in info.value.hint


def test_unknown_model_lists_what_the_server_offers(server):
    server.queue(Reply(404, error_body("model 'nope' not found", code="model_not_found")))
    with pytest.raises(LLMCallError) as info:
        ask(make_llm(settings_for(server.url, llm_model="nope"), backoff=0.01))
    assert info.value.kind == "not_found" and "'nope'" in str(info.value)
    assert "test-model" in info.value.hint and "other-model" in info.value.hint


def test_usage_counted_with_tiktoken_when_the_server_gives_none(server):
    server.queue(structured(GOOD, usage=None))
    llm = make_llm(settings_for(server.url), backoff=0.01)
    reply = ask(llm)
    assert reply.usage.counted == "tiktoken"
    assert reply.usage.tokens_in == llm.count_prompt(MESSAGES)
    assert reply.usage.tokens_out == llm.counter.count(json.dumps(GOOD))


def test_cost_from_the_price_table(server):
    server.queue(structured(GOOD))  # 50 in, 20 out
    s = settings_for(server.url, llm_prices={"test-model": (1.0, 2.0)})
    reply = ask(make_llm(s, backoff=0.01))
    assert reply.usage.cost == pytest.approx((50 * 1.0 + 20 * 2.0) / 1e6)


def test_check_endpoint_reports_method_and_latency(server):
    server.queue(Reply(500, error_body("no json_schema")), structured({"answer": "ok"}))
    result = check_endpoint(settings_for(server.url))
    assert result["ok"] and result["method"] == "function_calling"
    assert result["endpoint"] == server.url and result["model"] == "test-model"
    assert result["latency_s"] >= 0


def test_check_endpoint_reports_a_precise_error():
    with OpenAIServer(api_key="k") as srv:
        result = check_endpoint(settings_for(srv.url, openai_api_key="bad"))
    assert not result["ok"] and result["kind"] == "auth" and "OPENAI_API_KEY" in result["hint"]
    assert check_endpoint(Settings())["kind"] == "not_configured"


def test_server_streams_sse_for_other_helpers(server):
    server.queue(Reply(body=chat_completion("Hello streaming world")))
    llm = make_llm(settings_for(server.url), backoff=0.01)

    async def collect():
        return "".join([c.content async for c in llm.chat_model.astream([("user", "hi")])])

    assert run_sync(collect()) == "Hello streaming world"
    assert server.chat_requests[0].json["stream"] is True


def test_plain_chat_returns_text_and_usage(server):
    server.queue(Reply(body=chat_completion("plain answer", usage=(7, 3))))
    text, usage = run_sync(make_llm(settings_for(server.url)).achat([("user", "q")]))
    assert text == "plain answer" and (usage.tokens_in, usage.tokens_out, usage.calls) == (7, 3, 1)
