"""Issue 25, item 2: ``llm.timeout`` is a deadline for the whole request. A server that sends its
reply one byte a second (headers at once, so no read ever waits long) is given up on when the
deadline passes: `llm check`, `ask --no-stream --single`, a streamed `ask`, and summarize."""

from __future__ import annotations

import json
import time

import pytest
from openai_server import OpenAIServer, dripping, structured, text_reply
from qa_corpus import PLANTOK_Q, demo_papers
from test_llm import GOOD
from typer.testing import CliRunner

from agent.config import Settings
from agent.pipeline import PaperAgent
from agent.sources.base import FetchRequest
from cli.main import app

TIMEOUT = 1.5
# the deadline, plus the time to start a CLI and open the store, with room for a loaded machine
FAST = TIMEOUT + 6.0


@pytest.fixture(scope="module")
def home(tmp_path_factory, minilm):
    home = tmp_path_factory.mktemp("deadline-home")
    path = home.parent / "papers.jsonl"
    rows = [p.model_dump(mode="json", include={"id", "title", "abstract", "categories",
                                               "published"})
            for p in demo_papers()]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        assert agent.ingest(request=FetchRequest(path=path)).ok
    return home


@pytest.fixture
def trickle():
    """An OpenAI-compatible server that answers everything at one byte a second."""
    with OpenAIServer(handler=dripping(structured({"answer": "ok"}), 1.0)) as srv:
        yield srv


def env_for(server: OpenAIServer) -> dict[str, str]:
    return {
        "PAPERBRIEF_LLM__BASE_URL": server.url,
        "PAPERBRIEF_LLM__MODEL": "test-model",
        "OPENAI_API_KEY": "test",
        "PAPERBRIEF_LLM__TIMEOUT": str(TIMEOUT),
        # prompts read "instantly": the deadline is llm.timeout alone, so the test stays short
        "PAPERBRIEF_LLM__PROMPT_TOKENS_PER_SECOND": "1000000",
        "COLUMNS": "250",
    }


def timed(*args: str, env: dict[str, str]):
    started = time.monotonic()
    result = CliRunner().invoke(app, list(args), env=env)
    return result, time.monotonic() - started


def test_llm_check_gives_up_on_a_trickling_server_at_the_deadline(tmp_path, trickle):
    result, seconds = timed("--home", str(tmp_path), "llm", "check", "--json",
                            env=env_for(trickle))  # fmt: skip
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "timeout" and "did not answer within 1.5 s" in data["error"]
    assert seconds < FAST
    assert len(trickle.chat_requests) == 1  # a local server is not sent it again


@pytest.mark.parametrize("stream", [False, True], ids=["no-stream", "stream"])
def test_ask_gives_up_on_a_trickling_server_at_the_deadline(home, trickle, stream):
    trickle.handler = dripping(text_reply("PlanTok learns 64 tokens [1]. " * 20), 1.0)
    args = ["--home", str(home), "ask", PLANTOK_Q, "--single", "--no-daemon"]
    result, seconds = timed(*args, *([] if stream else ["--no-stream"]), env=env_for(trickle))
    assert result.exit_code == 1, result.output
    assert "did not answer within 1.5 s" in result.stderr
    assert seconds < FAST


def test_summarize_gives_up_on_a_trickling_server_at_the_deadline(home, trickle, minilm):
    trickle.handler = dripping(structured(GOOD), 1.0)
    env = env_for(trickle)
    settings = Settings(
        home=home,
        llm={"base_url": env["PAPERBRIEF_LLM__BASE_URL"], "model": "test-model",
             "timeout": TIMEOUT, "prompt_tokens_per_second": 1e6},
    )  # fmt: skip
    started = time.monotonic()
    with PaperAgent(settings, embedder=minilm) as agent:
        paper_ids = [p.id for p in demo_papers()[:2]]
        report = agent.summarize(ids=paper_ids, force=True)
    assert time.monotonic() - started < FAST
    assert report.counts["failed"] == 2 and report.counts["summarized"] == 0
    assert "did not answer within 1.5 s" in json.dumps(report.model_dump(mode="json"))
