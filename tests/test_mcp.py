"""`paperbrief mcp` end to end: the SDK's own client over stdio (and streamable HTTP) against a
real `paperbrief mcp` process, on a store filled by `paperbrief ingest --file`.

One read-only server serves most tests (a start costs ~2 s: imports and the model); the write
tools and HTTP get their own. The client runs on an event loop in a thread (anyio's blocking
portal) so the tests stay plain functions.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from day_corpus import day_papers
from qa_corpus import OFF_TOPIC_Q, PLANTOK, PLANTOK_Q, QUADRUPED, demo_papers

from agent.config import Settings
from agent.pipeline import PaperAgent

BIN = Path(sys.executable).parent / "paperbrief"
COMMAND = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "cli.main"]
READ_TOOLS = {"search", "ask", "show_paper", "latest_digest"}
LATE = {
    "id": "2611.09999",
    "title": "Octopus-Inspired Suction Grippers for Delicate Underwater Sampling",
    "abstract": "Soft suction cups modelled on octopus arms let a remotely operated vehicle pick "
    "up fragile corals and sponges without crushing them. We build a gripper with twelve "
    "silicone suckers and test it on 40 dives.",
    "authors": ["R. Marin"],
    "categories": ["cs.RO"],
    "published": "2026-11-28T00:00:00+00:00",
    "url": "https://example.org/2611.09999",
}
LATE_QUERY = "octopus suction gripper for underwater sampling"
PADDING = 40


def _env(base: Path) -> dict[str, str]:
    """A clean environment: this test's home and an empty config, nothing of the developer's."""
    config = base / "empty.toml"
    config.write_text("# test: defaults only\n", encoding="utf-8")
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "SYSTEMROOT") if k in os.environ}
    env.update(
        PAPERBRIEF_HOME=str(base / "home"),
        PAPERBRIEF_CONFIG=str(config),
        XDG_CONFIG_HOME=str(base / "xdg-config"),
        XDG_DATA_HOME=str(base / "xdg-data"),
        XDG_CACHE_HOME=str(base / "xdg-cache"),
        NO_COLOR="1",
    )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory, minilm) -> Path:
    """A home with the QA corpus ingested by `paperbrief ingest --file` and one saved digest.

    Other fields' papers pad it past Chroma's in-memory batch (100 chunks): from there on a
    client that opened the store keeps the index it loaded, which is what the server must not
    answer from when another process ingests."""
    base = tmp_path_factory.mktemp("mcp")
    rows = [
        p.model_dump(
            mode="json",
            include={"id", "title", "abstract", "authors", "categories", "published", "url"},
        )
        for p in demo_papers()
    ]
    padding = day_papers(PADDING, day=datetime(2026, 11, 20, tzinfo=UTC), seed=7, prefix="2610")
    rows += [{k: v for k, v in r.items() if k != "topic"} for r in padding]
    done = _cli(_env(base), "ingest", "--file", str(_write_jsonl(base / "papers.jsonl", rows)))
    assert done.returncode == 0, done.stderr
    now = datetime(2026, 11, 29, 6, tzinfo=UTC)
    with PaperAgent(Settings(home=base / "home"), embedder=minilm) as agent:
        agent.digest(since="60d", use_llm=False, now=now, max_papers=5)
        assert agent.summarize(ids=[QUADRUPED]).ok  # the no-model engine: one stored summary
    return base


class Client:
    """Synchronous calls into an MCP ClientSession living on the portal's event loop."""

    def __init__(self, portal: BlockingPortal, session: Any) -> None:
        self.portal, self.session = portal, session

    def call(self, name: str, **arguments: Any) -> Any:
        return self.portal.call(partial(self.session.call_tool, name, arguments))

    def ok(self, name: str, **arguments: Any) -> dict[str, Any]:
        result = self.call(name, **arguments)
        assert not result.is_error, result.content[0].text
        return result.structured_content

    def error(self, name: str, **arguments: Any) -> str:
        result = self.call(name, **arguments)
        assert result.is_error, result.structured_content
        return result.content[0].text

    def tools(self) -> dict[str, Any]:
        return {t.name: t for t in self.portal.call(self.session.list_tools).tools}


@asynccontextmanager
async def _stdio_session(env: dict[str, str], args: list[str], errlog) -> AsyncIterator[Any]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=COMMAND[0], args=[*COMMAND[1:], "mcp", *args], env=env)
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write, read_timeout_seconds=60) as session,
    ):
        await session.initialize()
        yield session


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as portal:
        yield portal


@contextmanager
def serving(portal: BlockingPortal, base: Path, *args: str) -> Iterator[Client]:
    log = base / f"server{'-'.join(args)}.log"
    with log.open("w") as errlog:
        try:
            cm = portal.wrap_async_context_manager(_stdio_session(_env(base), list(args), errlog))
            with cm as session:
                yield Client(portal, session)
        finally:
            sys.stderr.write(log.read_text(encoding="utf-8"))  # shown when a test fails


@pytest.fixture(scope="module")
def ro(portal, base) -> Iterator[Client]:
    with serving(portal, base) as client:
        yield client


# --- the tools ------------------------------------------------------------------------------
def test_lists_read_only_tools_with_typed_schemas(ro):
    tools = ro.tools()
    assert set(tools) == READ_TOOLS  # rate is hidden without --allow-writes
    k = tools["search"].input_schema["properties"]["k"]
    assert (k["minimum"], k["maximum"]) == (1, 50)
    assert tools["search"].input_schema["required"] == ["query"]
    assert "hits" in tools["search"].output_schema["properties"]
    for tool in tools.values():
        assert "untrusted data" in tool.description and tool.annotations.read_only_hint


def test_search_returns_the_right_paper(ro):
    found = ro.ok("search", query="discrete planning tokens for reasoning", k=3)
    assert found["hits"][0]["id"] == PLANTOK and len(found["hits"]) == 3
    top = found["hits"][0]
    assert top["url"] == f"https://example.org/{PLANTOK}" and top["snippet"]
    robots = ro.ok("search", query="quadruped terrain locomotion", since="2000-01-01", k=5)
    assert robots["hits"][0]["id"] == QUADRUPED
    assert ro.ok("search", query="quadruped terrain", category="no.such")["hits"] == []


def test_ask_gives_the_cli_answer_and_citations(ro, base):
    answer = ro.ok("ask", question=PLANTOK_Q)
    assert answer["refused"] is False and answer["citations"][0]["id"] == PLANTOK
    assert "64 discrete planning tokens" in answer["answer"]
    cli = _cli(_env(base), "ask", PLANTOK_Q, "--json")
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    assert answer["answer"] == expected["answer"]
    assert [c["id"] for c in answer["citations"]] == [c["id"] for c in expected["citations"]]
    refusal = ro.ok("ask", question=OFF_TOPIC_Q)
    assert refusal["refused"] is True and refusal["citations"]  # names the closest papers


def test_show_paper_returns_untrusted_text_as_data(ro):
    result = ro.call("show_paper", id=PLANTOK)
    paper = result.structured_content
    assert paper["id"] == PLANTOK and "planning tokens" in paper["abstract"].lower()
    # The planted instruction stays a value inside the record (the text block is the same
    # record as JSON), for the client to read as data.
    assert "Ignore previous instructions" in paper["abstract"]
    assert json.loads(result.content[0].text) == paper
    assert paper["source"] == "file" and paper["published"].startswith("20")


def test_show_paper_gives_the_stored_summary_and_never_writes_one(ro, base):
    summarized = ro.ok("show_paper", id=QUADRUPED)
    stored = PaperAgent(Settings(home=base / "home")).summary(QUADRUPED)
    assert summarized["summary"]["tldr"] == stored.tldr and summarized["summary_note"] is None
    plain = ro.ok("show_paper", id=PLANTOK)
    assert plain["summary"] is None and "paperbrief summarize" in plain["summary_note"]
    assert PaperAgent(Settings(home=base / "home")).summary(PLANTOK) is None


def test_latest_digest_tool_and_resource(ro, base):
    digest = ro.ok("latest_digest")
    history = PaperAgent(Settings(home=base / "home")).history.runs(limit=1)[0]
    assert digest["id"] == history["digest_id"] and digest["profile"] == "default"
    assert 0 < len(digest["papers"]) <= 5 and digest["themes"]
    for uri in (digest["markdown_uri"], "paperbrief://digest/default/latest"):
        markdown = ro.portal.call(ro.session.read_resource, uri).contents[0]
        assert markdown.mime_type == "text/markdown"
        assert digest["papers"][0]["title"][:30] in markdown.text
    assert "No profile named 'nobody'" in ro.error("latest_digest", profile="nobody")


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("search", {"query": "tokens", "k": 0}, "greater than or equal to 1"),
        ("search", {"query": "tokens", "k": 10_000}, "less than or equal to 50"),
        ("search", {"query": ""}, "at least 1 character"),
        ("search", {"query": "   "}, "The search query is empty"),
        ("search", {"query": "tokens", "since": "last blue moon"}, "Cannot read the date"),
        ("search", {"query": "tokens", "k": "many"}, "valid integer"),
        ("search", {}, "query"),
        ("ask", {"question": "why? " * 500}, "at most 2000 characters"),
        ("ask", {"question": PLANTOK_Q, "since": "soon"}, "Cannot read the date"),
        ("show_paper", {"id": "2611.00000"}, "No paper '2611.00000' in the store"),
        ("show_paper", {"id": "two words"}, "pattern"),
        ("latest_digest", {"profile": "../etc"}, "pattern"),
    ],
)
def test_bad_input_is_a_tool_error_and_the_session_goes_on(ro, tool, arguments, says):
    assert says in ro.error(tool, **arguments)
    assert ro.ok("search", query="planning tokens", k=1)["hits"][0]["id"] == PLANTOK


def test_rate_is_refused_without_allow_writes(ro, base):
    message = ro.error("rate", id=PLANTOK, rating="up")
    assert "read-only" in message and "--allow-writes" in message
    assert PaperAgent(Settings(home=base / "home")).signals.ratings("default") == []


def test_sees_papers_ingested_by_another_process_after_start(ro, base, minilm):
    before = ro.ok("search", query=LATE_QUERY, k=3)["hits"]
    assert LATE["id"] not in [h["id"] for h in before]
    # The control: an agent that keeps the view it opened with, as a naive server would.
    with PaperAgent(Settings(home=base / "home"), embedder=minilm) as kept:
        kept.search(LATE_QUERY, k=3)
        done = _cli(_env(base), "ingest", "--file", str(_write_jsonl(base / "late.jsonl", [LATE])))
        assert done.returncode == 0, done.stderr
        assert LATE["id"] not in [h.paper.id for h in kept.search(LATE_QUERY, k=3)]
    after = ro.ok("search", query=LATE_QUERY, k=3)["hits"]
    assert after[0]["id"] == LATE["id"]
    assert ro.ok("show_paper", id=LATE["id"])["title"] == LATE["title"]


# --- writes ---------------------------------------------------------------------------------
def test_rate_with_allow_writes_takes_the_writer_lock(portal, base):
    home = base / "home"
    with serving(portal, base, "--allow-writes") as rw:
        assert set(rw.tools()) == {*READ_TOOLS, "rate"}
        rated = rw.ok("rate", id=PLANTOK, rating="up")
        assert rated == {
            "profile": "default",
            "paper_id": PLANTOK,
            "title": rated["title"],
            "rating": "up",
        }
        ratings = PaperAgent(Settings(home=home)).signals.ratings("default")
        assert [(r.paper_id, r.value) for r in ratings] == [(PLANTOK, 1)]
        assert "valid" in rw.error("rate", id=PLANTOK, rating="sideways")
        assert "No paper" in rw.error("rate", id="2611.00000", rating="down")
        # Another process writing: the tool says who holds the lock, the server goes on.
        with PaperAgent(Settings(home=home)).writing():
            held = rw.error("rate", id=QUADRUPED, rating="down")
        assert "Another paperbrief run" in held and f"pid {os.getpid()}" in held
        assert rw.ok("rate", id=PLANTOK, rating="clear")["rating"] == "clear"
        assert PaperAgent(Settings(home=home)).signals.ratings("default") == []


# --- streamable HTTP ------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def test_http_on_loopback_with_the_sdk_client(portal, base):
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    port = _free_port()
    proc = subprocess.Popen(
        [*COMMAND, "mcp", "--http", f"127.0.0.1:{port}"],
        env=_env(base),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_port(port, proc)

        async def scenario() -> tuple[set[str], dict[str, Any]]:
            url = f"http://127.0.0.1:{port}/mcp"
            async with (
                streamable_http_client(url) as (read, write),
                ClientSession(read, write, read_timeout_seconds=60) as session,
            ):
                await session.initialize()
                names = {t.name for t in (await session.list_tools()).tools}
                result = await session.call_tool("search", {"query": "planning tokens"})
                return names, result.structured_content

        names, found = portal.call(scenario)
        assert names == READ_TOOLS and found["hits"][0]["id"] == PLANTOK
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode in (0, -15)


def test_http_refuses_a_public_address_and_a_busy_port(base):
    done = _cli(_env(base), "mcp", "--http", "0.0.0.0:8765")
    assert done.returncode == 2
    assert "not a loopback address" in done.stderr and "--allow-remote" in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _cli(_env(base), "mcp", "--http", f"127.0.0.1:{port}")
    assert done.returncode == 2 and f"Cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
