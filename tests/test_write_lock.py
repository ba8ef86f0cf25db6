"""Every command that writes serializes on the store's lock: it waits (``--wait``) or exits 3
naming the holder; readers never take the lock and keep working while a writer holds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent import LockedError, PaperAgent, Settings
from cli.main import app
from store.state.run_lock import RunLock

REPO = Path(__file__).resolve().parents[1]
PAPERS = [
    {
        "id": f"2501.{i:05d}",
        "title": f"Paper {i} about sparse routing and topic{i}",
        "abstract": f"We study sparse routing for topic{i}. Marker word zq{i}x appears once. "
        "The results hold on three benchmarks.",
        "published": "2026-11-20T00:00:00Z",
    }
    for i in range(4)
]

READERS = (
    ["search", "zq2x", "--json"],
    ["show", "2501.00001", "--json"],
    ["status", "--json"],
    ["ask", "Which paper has the marker zq3x?"],
)

# Takes the lock in another process, says so, and holds it until stdin closes.
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from store.state.run_lock import RunLock
    with RunLock(Path(sys.argv[1])):
        print("HELD", flush=True)
        sys.stdin.read()
    """
)


def _write_jsonl(path: Path, papers: list[dict]) -> Path:
    path.write_text("".join(json.dumps(p) + "\n" for p in papers), encoding="utf-8")
    return path


def _cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "--home", str(home), *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


@pytest.fixture
def holder(tmp_path):
    """Another process holding the store's lock of ``tmp_path/home``; yields its pid."""
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "HELD"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_ingest_while_another_process_writes_exits_3_naming_it(tmp_path, holder):
    home = tmp_path / "home"
    papers = _write_jsonl(tmp_path / "papers.jsonl", PAPERS)
    busy = _cli(home, "ingest", "--file", str(papers))
    assert busy.returncode == 3, busy.stderr
    assert f"pid {holder.pid}" in busy.stderr and "--wait" in busy.stderr
    assert "Traceback" not in busy.stderr
    # Nothing was written: the store is still empty once the holder is gone.
    holder.stdin.close()
    holder.wait(timeout=30)
    status = json.loads(_cli(home, "status", "--json").stdout)
    assert status["papers"] == 0


def test_a_writer_with_wait_runs_once_the_holder_is_done(tmp_path, minilm):
    home = tmp_path / "home"
    papers = _write_jsonl(tmp_path / "papers.jsonl", PAPERS)
    lock = RunLock(home)
    lock.acquire()
    threading.Timer(1.0, lock.release).start()
    started = time.monotonic()
    result = CliRunner().invoke(
        app, ["--home", str(home), "--wait", "30", "ingest", "--file", str(papers)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.9  # it really waited
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        assert agent.status()["papers"] == len(PAPERS)


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "--file", "{papers}"],
        ["summarize"],
        ["digest", "--no-llm"],
        ["run"],
        ["reindex"],
        ["library", "import", "{papers}"],
        ["rate", "2501.00000", "up"],
    ],
    ids=lambda a: a[0],
)
def test_every_writing_command_refuses_while_the_store_is_locked(tmp_path, args):
    home = tmp_path / "home"
    papers = _write_jsonl(tmp_path / "papers.jsonl", PAPERS)
    argv = [a.replace("{papers}", str(papers)) for a in args]
    with RunLock(home):  # its own open file: it conflicts with this process's commands too
        result = CliRunner().invoke(app, ["--home", str(home), *argv], catch_exceptions=False)
    assert result.exit_code == 3, result.output
    assert "Another paperbrief run" in result.output


def test_readers_keep_working_while_a_writer_holds_the_lock(tmp_path, minilm):
    home = tmp_path / "home"
    papers = _write_jsonl(tmp_path / "papers.jsonl", PAPERS)
    with PaperAgent(Settings(home=home), embedder=minilm) as agent:
        assert agent.ingest(["file"], request=_files_request(papers)).ok
    runner = CliRunner()
    with RunLock(home):
        for argv in READERS:
            result = runner.invoke(app, ["--home", str(home), *argv], catch_exceptions=False)
            assert result.exit_code == 0, (argv, result.output)
        hits = json.loads(
            runner.invoke(app, ["--home", str(home), "search", "zq2x", "--json"]).stdout
        )
        assert hits[0]["id"] == "2501.00002"


def test_an_agent_nests_its_own_lock_and_keeps_other_agents_out(tmp_path, minilm):
    home = tmp_path / "home"
    papers = _write_jsonl(tmp_path / "papers.jsonl", PAPERS)
    first = PaperAgent(Settings(home=home), embedder=minilm)
    second = PaperAgent(Settings(home=home), embedder=minilm)
    try:
        with first.writing():
            first.ingest(["file"], request=_files_request(papers))  # nested: no self-deadlock
            with pytest.raises(LockedError):
                second.summarize()
        assert second.summarize().ok  # released at the end of the block
        assert first.status()["papers"] == len(PAPERS)
    finally:
        first.close()
        second.close()


def _files_request(path: Path):
    from agent.sources.base import FetchRequest

    return FetchRequest(path=path)
