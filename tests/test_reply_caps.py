"""Issue 25, item 3: a model's reply is capped (``llm.max_reply_chars``). A 10 MB reply is not
printed by `ask`: reading stops past the cap (on the wire too, streamed or not) and the error
says so, naming the setting."""

from __future__ import annotations

import time

import pytest
from openai_server import OpenAIServer, text_reply
from qa_corpus import PLANTOK_Q
from test_llm_deadline import home  # noqa: F401  (the module's store fixture)
from typer.testing import CliRunner

from agent.config import Settings
from agent.llm.chat import make_llm
from agent.llm.errors import LLMCallError
from agent.llm.loop import run_sync
from cli.main import app

HUGE = "PlanTok learns 64 planning tokens [1]. " * 270_000  # about 10 MB


@pytest.fixture
def flood():
    with OpenAIServer(handler=text_reply(HUGE)) as srv:
        yield srv


def env_for(server: OpenAIServer) -> dict[str, str]:
    return {
        "PAPERBRIEF_LLM__BASE_URL": server.url,
        "PAPERBRIEF_LLM__MODEL": "test-model",
        "OPENAI_API_KEY": "test",
        "PAPERBRIEF_ASK__CHECK_ANSWERABLE": "false",
        "COLUMNS": "250",
    }


@pytest.mark.parametrize("stream", [False, True], ids=["no-stream", "stream"])
def test_ask_does_not_print_a_10_mb_reply(home, flood, stream):  # noqa: F811
    args = ["--home", str(home), "ask", PLANTOK_Q, "--single", "--no-daemon"]
    started = time.monotonic()
    result = CliRunner().invoke(app, [*args, *([] if stream else ["--no-stream"])],
                                env=env_for(flood))  # fmt: skip
    assert time.monotonic() - started < 30
    assert result.exit_code == 1, result.output[-2000:]
    assert len(result.stdout) < 150_000
    assert "longer than 100,000 characters" in result.stderr
    assert "PAPERBRIEF_LLM__MAX_REPLY_CHARS" in result.stderr


def test_a_reply_past_the_cap_is_an_error_naming_it():
    with OpenAIServer(handler=text_reply("word " * 2_000)) as srv:  # 10,000 characters
        settings = Settings(llm={"base_url": srv.url, "model": "test-model",
                                 "max_reply_chars": 5_000})  # fmt: skip
        llm = make_llm(settings, backoff=0.01)
        assert llm is not None
        with pytest.raises(LLMCallError) as info:
            run_sync(llm.achat([("user", "Say a lot.")]))
        assert info.value.kind == "output" and "5,000 characters" in str(info.value)
        settings = Settings(llm={"base_url": srv.url, "model": "test-model"})
        text, _ = run_sync(make_llm(settings).achat([("user", "Say a lot.")]))
    assert len(text) == 10_000  # under the default cap: read whole
