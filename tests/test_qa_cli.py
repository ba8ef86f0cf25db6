"""`paperbrief ask` / `paperbrief chat` end to end: a store ingested from files, the CLI's own
agent, the extractive engine or a scripted OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest
import typer
from openai_script_helpers import calling, citing
from openai_server import OpenAIServer
from qa_corpus import PLANTOK, PLANTOK_Q, QUADRUPED, demo_papers
from typer.testing import CliRunner

from agent.config import Settings
from agent.pipeline import PaperAgent
from agent.sources.base import FetchRequest
from cli import ask_cmd
from cli.main import AppState


@pytest.fixture(scope="module")
def home(tmp_path_factory, minilm):
    home = tmp_path_factory.mktemp("cli-home")
    path = home.parent / "papers.jsonl"
    rows = [p.model_dump(mode="json", include={"id", "title", "abstract", "authors",
                                               "categories", "published", "url"})
            for p in demo_papers()]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        report = agent.ingest(request=FetchRequest(path=path))
    assert report.ok and report.total("new") == len(rows)
    return home


def run(home, *args: str, input: str | None = None):
    app = typer.Typer()
    state = AppState(home=home)
    ask_cmd.register(app, state)
    try:
        return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
    finally:
        state.close()


@pytest.fixture
def server(monkeypatch):
    with OpenAIServer() as srv:
        monkeypatch.setenv("PAPERBRIEF_LLM_BASE_URL", srv.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        monkeypatch.setenv("PAPERBRIEF_LLM_MODEL", "test-model")
        yield srv


def test_ask_json_without_a_model_is_extractive(home):
    result = run(home, "ask", PLANTOK_Q, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["question"] == PLANTOK_Q and data["refused"] is False
    assert data["model"] == "extractive" and data["citations"][0]["id"] == PLANTOK
    assert set(data["citations"][0]) == {"n", "id", "title", "url"}
    assert "64 discrete planning tokens" in data["answer"]


def test_ask_json_refuses_off_topic(home):
    result = run(home, "ask", "credit card fraud detection with imbalanced data", "--json")
    data = json.loads(result.stdout)
    assert data["refused"] is True and data["citations"]


def test_ask_prints_answer_and_sources_with_a_model(home, server):
    server.handler = citing(PLANTOK, "PlanTok learns **64** tokens [{n}]. Also [77].")
    result = run(home, "ask", PLANTOK_Q)
    assert result.exit_code == 0, result.output
    assert "PlanTok learns 64 tokens" in result.stdout and "[77]" not in result.stdout
    assert "Sources" in result.stdout and "Planning Tokens" in result.stdout
    assert "Removed 1 citation" in result.stderr


def test_ask_verbose_json_shows_tool_calls(home, server):
    server.queue(calling("search_papers", {"query": "quadruped terrain locomotion"}))
    server.handler = citing(QUADRUPED, "TerraPrior handles terrain [{n}].")
    result = run(home, "ask", "Compare how robots and LLMs plan", "--json", "--verbose")
    data = json.loads(result.stdout)
    assert data["tool_calls"][0]["name"] == "search_papers"
    assert QUADRUPED in data["tool_calls"][0]["result_ids"]
    assert [c["id"] for c in data["citations"]] == [QUADRUPED]
    assert 0 < data["evidence"] < 1 and 0 <= data["term_coverage"] <= 1


def test_chat_answers_shows_sources_and_quits(home, server):
    server.handler = citing(PLANTOK, "PlanTok learns 64 tokens [{n}].")
    result = run(home, "chat", input=f"{PLANTOK_Q}\n/since 2w\n/sources\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "PlanTok learns 64 tokens" in result.stdout
    assert "published since" in result.stdout
    assert result.stdout.count("Planning Tokens") >= 2  # after the answer and on /sources
