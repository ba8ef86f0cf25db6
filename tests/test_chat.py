"""Chat: follow-ups are rewritten into standalone questions before retrieval (by the model when
there is one, by a heuristic when not), and the slash commands change the conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from openai_script_helpers import citing, prompt_of
from openai_server import OpenAIServer, chat_completion
from qa_corpus import PLANTOK

from agent.config import Settings
from agent.errors import InputError
from agent.llm.chat import make_llm
from agent.qa.chat import ChatSession, looks_like_follow_up
from agent.qa.engine import QAEngine

RETRACE = "demo-0001"
FIRST = "How do planning tokens help math reasoning?"
FOLLOW_UP = "and which of those use a verifier?"
REWRITTEN = "Which multi-step math reasoning methods use a process verifier?"


class RecordingSearch:
    """The agent's real search, remembering what it was asked."""

    def __init__(self, agent):
        self.agent = agent
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, query, **kwargs):
        self.calls.append((query, kwargs))
        return self.agent.search(query, **kwargs)


@pytest.fixture
def server():
    with OpenAIServer() as srv:
        yield srv


def llm_for(server):
    settings = Settings(llm_base_url=server.url, openai_api_key="test", llm_model="test-model")
    return make_llm(settings, backoff=0.01)


def test_follow_up_is_rewritten_by_the_model_before_retrieval(agent, server):
    search = RecordingSearch(agent)
    session = ChatSession(
        QAEngine(search, llm=llm_for(server), agentic="never", check_answerable=False)
    )
    server.queue(
        citing(PLANTOK, "Planning tokens give the model a plan for each step [{n}]."),
        chat_completion(f'"{REWRITTEN}"'),
        citing(RETRACE, "RetraceCoT scores every step with a process verifier [{n}]."),
    )
    first = session.ask(FIRST)
    pieces: list[str] = []
    second = session.ask(FOLLOW_UP, stream=pieces.append)

    assert [q for q, _ in search.calls] == [FIRST, REWRITTEN]
    rewrite_prompt = prompt_of(server.chat_requests[1].json)
    assert FIRST in rewrite_prompt and FOLLOW_UP in rewrite_prompt
    assert first.citations[0].title in rewrite_prompt  # the model sees what "those" were
    assert "Abstract:" not in rewrite_prompt  # a rewrite request, not an answer request
    assert second.question == FOLLOW_UP and second.standalone_question == REWRITTEN
    assert [c.id for c in second.citations] == [RETRACE]
    assert "".join(pieces) == second.answer
    assert second.usage.calls == 2  # rewrite + answer
    assert len(server.chat_requests) == 3  # the first question needed no rewrite
    assert session.usage.calls == 3


def test_without_a_model_follow_ups_are_searched_with_the_previous_question(agent):
    search = RecordingSearch(agent)
    session = ChatSession(QAEngine(search))
    session.ask(FIRST)
    answer = session.ask(FOLLOW_UP)
    query = search.calls[-1][0]
    assert query.startswith(FIRST.rstrip("?")) and "verifier" in query and "and which" not in query
    assert answer.standalone_question == query
    session.ask("sim-to-real quadruped locomotion")  # stands alone: searched as typed
    assert search.calls[-1][0] == "sim-to-real quadruped locomotion"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("and which of those use transformers?", True),
        ("What about their compute cost?", True),
        ("Which papers use transformers for weather forecasting?", False),
    ],
)
def test_follow_up_detection(text, expected):
    assert looks_like_follow_up(text) is expected


def test_commands_change_window_history_and_show_sources(agent):
    search = RecordingSearch(agent)
    session = ChatSession(QAEngine(search))
    assert session.command("what is new?") is None  # a question, not a command
    assert session.command("/sources").message == "No answer yet."

    result = session.command("/since 7d")
    assert result.kind == "since"
    assert datetime.now(UTC) - session.since == pytest.approx(
        timedelta(days=7), abs=timedelta(seconds=60)
    )
    session.ask("sim-to-real quadruped locomotion")
    assert search.calls[-1][1]["since"] == session.since

    sources = session.command("/sources")
    assert sources.citations == session.last_answer.citations
    assert session.command("/since off").kind == "since" and session.since is None

    assert session.command("/clear").kind == "clear" and session.turns == []
    assert session.command("/quit").kind == "quit"
    assert session.command("/bogus").kind == "unknown"
    with pytest.raises(InputError):
        session.command("/since someday")
