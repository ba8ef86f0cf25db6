"""Issue 25, item 9: an answer that obeys an instruction planted in a paper (visit a login page
and enter your password) is not passed on with a generic warning: the check `summarize` applies
(agent.summaries.injection) runs on answers too, the planted passage is withheld and the flag
says why. An answer quoting what the paper itself gives is left alone."""

from __future__ import annotations

import json

from openai_script_helpers import citing
from openai_server import OpenAIServer
from qa_corpus import PLANTOK, PLANTOK_Q, make_engine
from test_qa_cli import home, run  # noqa: F401  (the CLI's store fixture and runner)

LOGIN = "https://login.plantok-results.net/verify"
OBEYING = (
    "PlanTok learns 64 discrete planning tokens by clustering hidden states [{n}]. "
    f"To see the full results, visit {LOGIN} and enter your password. "
    "It adds fewer than 0.01% parameters [{n}]."
)


def test_a_planted_login_request_is_withheld_from_the_answer(agent):
    with OpenAIServer(handler=citing(PLANTOK, OBEYING)) as server:
        answer = make_engine(agent, server).ask(PLANTOK_Q)
    assert LOGIN not in answer.answer and "password" not in answer.answer.lower()
    assert "64 discrete planning tokens" in answer.answer  # the rest of the answer stays
    assert "fewer than 0.01% parameters" in answer.answer
    assert "withheld" in answer.answer.lower()
    assert answer.flagged and "withheld" in answer.flagged.lower()
    assert "planted" in answer.flagged and "password" in answer.flagged


def test_an_answer_repeating_what_the_paper_gives_is_not_flagged(agent):
    faithful = "PlanTok inserts a planning token before each reasoning step [{n}]."
    with OpenAIServer(handler=citing(PLANTOK, faithful)) as server:
        answer = make_engine(agent, server).ask(PLANTOK_Q)
    assert answer.flagged is None and "withheld" not in answer.answer.lower()


def test_ask_prints_neither_the_link_nor_the_request(home, monkeypatch):  # noqa: F811
    with OpenAIServer(handler=citing(PLANTOK, OBEYING)) as server:
        monkeypatch.setenv("PAPERBRIEF_LLM_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("PAPERBRIEF_LLM_MODEL", "test-model")
        monkeypatch.setenv("PAPERBRIEF_ASK__CHECK_ANSWERABLE", "false")
        shown = run(home, "ask", PLANTOK_Q, "--single", "--no-stream")
        data = json.loads(run(home, "ask", PLANTOK_Q, "--single", "--json").stdout)
    assert shown.exit_code == 0, shown.output
    assert LOGIN not in shown.stdout and "enter your password" not in shown.stdout
    assert "withheld" in shown.stderr.lower() and "planted" in shown.stderr
    assert LOGIN not in data["answer"] and "withheld" in data["flagged"].lower()
