"""`paperbrief serve`: `search` and `ask` answered by a warm daemon on a Unix socket, with the
same output and errors as in-process, never from a stale view, and never for another home,
config file or settings. Every daemon here is a real `paperbrief serve` subprocess; every client
a real `paperbrief` process, which reports the modules it imported (a client the daemon served
never imports chromadb or onnxruntime)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cold_start import CLI_CHILD  # the same child: runs the CLI, reports its imports

from agent.serve import protocol
from agent.serve.daemon import ping

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"chromadb", "onnxruntime"}
QUESTION = "How do quadruped robots learn to walk?"


class Run:
    def __init__(self, stdout: str, stderr: str, result: dict) -> None:
        self.stdout, self.stderr = stdout, stderr
        self.code = result["code"]
        self.modules = {m.split(".")[0] for m in result["modules"]}

    @property
    def served(self) -> bool:
        """Answered by the daemon: the process never loaded the store's libraries."""
        return not (HEAVY & self.modules)


def _env(config: Path, **extra: str) -> dict[str, str]:
    """The developer's keys and settings stay out: daemon and clients share exactly this."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBRIEF_", "OPENAI_"))}
    return {**env, "PAPERBRIEF_CONFIG": str(config), "NO_COLOR": "1", "COLUMNS": "160", **extra}


def _spawn(home: Path, config: Path, out: Path, *args: str, **env: str) -> subprocess.Popen:
    """A `paperbrief` process that writes its exit code and imported modules to ``out``."""
    return subprocess.Popen(
        [sys.executable, "-c", CLI_CHILD, json.dumps(["--home", str(home), *args]), str(out)],
        cwd=ROOT, env=_env(config, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def cli(home: Path, config: Path, *args: str, tmp: Path, **env: str) -> Run:
    out = tmp / f"modules-{time.monotonic_ns()}.json"
    proc = _spawn(home, config, out, *args, **env)
    stdout, stderr = proc.communicate(timeout=120)
    return Run(stdout, stderr, json.loads(out.read_text()))


def start_daemon(home: Path, config: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "--home", str(home), "serve"],
        cwd=ROOT, env=_env(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    path = protocol.socket_path(home)
    deadline = time.monotonic() + 90
    while ping(path) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"paperbrief serve did not start: {proc.communicate()[1][-2000:]}")
        time.sleep(0.1)
    return proc


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="module")
def home(tmp_path_factory, minilm) -> Path:
    from qa_corpus import demo_papers

    from store import PaperStore

    home = tmp_path_factory.mktemp("daemon-home")
    store = PaperStore(home, minilm)
    store.upsert([p.model_dump(mode="json") for p in demo_papers()])
    store.close()
    (home / "config.toml").write_text("# test_daemon: defaults only\n")
    return home


@pytest.fixture(scope="module")
def daemon(home) -> Iterator[subprocess.Popen]:
    proc = start_daemon(home, home / "config.toml")
    yield proc
    assert stop(proc) == 0
    assert not protocol.socket_path(home).exists()  # a clean stop removes its socket


@pytest.fixture
def run(home, daemon, tmp_path):
    return lambda *args, **env: cli(home, home / "config.toml", *args, tmp=tmp_path, **env)


def test_search_through_the_daemon_is_the_same_without_chroma(run):
    served = run("search", "legged robots learning to walk", "--json", "-k", "5")
    alone = run("search", "legged robots learning to walk", "--json", "-k", "5", "--no-daemon")
    assert served.code == alone.code == 0, served.stderr + alone.stderr
    assert served.stdout == alone.stdout and json.loads(served.stdout)
    assert served.served, sorted(HEAVY & served.modules)
    assert alone.modules >= HEAVY  # the check sees real imports
    # The table too, and PAPERBRIEF_DAEMON=0 forces in-process.
    table = run("search", "legged robots learning to walk")
    table_alone = run("search", "legged robots learning to walk", PAPERBRIEF_DAEMON="0")
    assert table.served and not table_alone.served
    assert table.stdout == table_alone.stdout and "│" in table.stdout


def test_ask_through_the_daemon_gives_the_same_answer_and_citations(run):
    served = run("ask", QUESTION, "--json")
    alone = run("ask", QUESTION, "--json", "--no-daemon")
    assert served.code == alone.code == 0, served.stderr + alone.stderr
    assert served.served and not alone.served
    assert served.stdout == alone.stdout
    answer = json.loads(served.stdout)
    assert answer["citations"] and not answer["refused"]


def test_a_streamed_ask_is_relayed_as_it_comes(home, daemon, caplog):
    """A terminal streams: deltas travel over the socket to the CLI's own renderer."""
    from cli.ask_cmd import asker
    from cli.state import AppState

    state = AppState(config=home / "config.toml", home=home)
    deltas: list[str] = []
    with caplog.at_level("DEBUG", logger="agent.serve.client"):
        answer = asker(state, QUESTION, {}, daemon=True)(deltas.append, lambda call: None)
    assert "answered by the daemon" in caplog.text
    assert state._agent is None  # nothing was opened here
    assert deltas and deltas[-1] == answer.answer and answer.citations


def test_a_paper_another_process_ingests_is_found_at_once(run, tmp_path):
    paper = {
        "id": "2611.09999",
        "title": "Zqdaemonx: a marker paper written while the daemon runs",
        "abstract": "This abstract carries the marker word zqdaemonx so that search finds it.",
        "published": "2026-11-25T00:00:00Z",
    }
    (tmp_path / "new.jsonl").write_text(json.dumps(paper) + "\n")
    assert "2611.09999" not in run("search", "zqdaemonx", "--json").stdout
    ingest = run("ingest", "--file", str(tmp_path / "new.jsonl"))
    assert ingest.code == 0, ingest.stderr
    found = run("search", "zqdaemonx", "--json", "-k", "3")
    assert found.served and found.code == 0
    assert json.loads(found.stdout)[0]["id"] == "2611.09999"


@pytest.mark.parametrize(
    "args",
    [("search", "robots", "--since", "last tuesday"), ("search", "   "),
     ("ask", "Which robots walk?", "--since", "2026-13-45")],
    ids=["search-since", "empty-query", "ask-since"],
)  # fmt: skip
def test_the_users_mistakes_read_the_same(run, args):
    served = run(*args)
    alone = run(*args, "--no-daemon")
    assert served.served and served.code == alone.code == 2
    assert served.stderr == alone.stderr and served.stderr.startswith("Error:")


def test_clients_at_once_all_get_their_answers(home, daemon, tmp_path):
    """Four clients at once, two questions each asked twice: every one is served, and answers
    alike questions alike (the agent is shared, its calls one at a time)."""
    queries = ["walking robots", "chain-of-thought reasoning"] * 2
    config = home / "config.toml"
    outs = [tmp_path / f"m{i}.json" for i in range(len(queries))]
    procs = [_spawn(home, config, outs[i], "search", q, "--json") for i, q in enumerate(queries)]
    together = [p.communicate(timeout=120) for p in procs]
    for (_, stderr), out in zip(together, outs, strict=True):
        result = json.loads(out.read_text())
        assert result["code"] == 0, stderr
        assert not HEAVY & {m.split(".")[0] for m in result["modules"]}
    stdouts = [stdout for stdout, _ in together]
    assert stdouts[0] == stdouts[2] != stdouts[1] == stdouts[3]
    assert stdouts[0] == cli(home, config, "search", queries[0], "--json", tmp=tmp_path).stdout


def _raw(home: Path, message: dict) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(protocol.socket_path(home)))
        s.sendall(protocol.dump(message))
        return json.loads(s.makefile("rb").readline())


def test_a_daemon_for_another_home_config_or_settings_is_not_used(home, daemon, tmp_path):
    from agent import Settings

    config = home / "config.toml"
    settings = Settings.load(config, home=home)
    request = {
        "v": protocol.PROTOCOL, "op": "search", "home": protocol.home_of(settings),
        "config": str(config.resolve()), "settings": protocol.settings_digest(settings),
        "args": {"query": "walking robots", "k": 2},
    }  # fmt: skip
    assert _raw(home, request)["ok"]
    for change in ({"home": str(tmp_path)}, {"config": None}, {"settings": "0" * 64}, {"v": 0}):
        reply = _raw(home, {**request, **change})
        assert reply["error"]["kind"] == "unavailable", change
        assert "result" not in reply and "api_key" not in json.dumps(reply)
    # Through the CLI: the same settings in another config file, and one more variable.
    other = tmp_path / "other.toml"
    other.write_text(config.read_text())
    moved = cli(home, other, "search", "walking robots", "--json", tmp=tmp_path)
    assert moved.code == 0 and not moved.served
    changed = cli(home, config, "search", "walking robots", "--json", tmp=tmp_path,
                  PAPERBRIEF_ASK__K="3")  # fmt: skip
    assert changed.code == 0 and not changed.served
    assert moved.stdout == changed.stdout


def test_a_killed_daemon_is_replaced_and_never_in_the_way(home, tmp_path):
    """SIGKILL leaves the socket file: the CLI answers in-process, a new serve takes over; a
    second serve on a live daemon is refused; SIGTERM removes the socket."""
    other = tmp_path / "home"
    shutil.copytree(home, other, ignore=shutil.ignore_patterns("paperbrief.sock*"))
    config = other / "config.toml"
    first = start_daemon(other, config)
    first.kill()
    first.wait(timeout=30)
    sock = protocol.socket_path(other)
    assert sock.exists()
    alone = cli(other, config, "search", "walking robots", "--json", tmp=tmp_path)
    assert alone.code == 0 and not alone.served and json.loads(alone.stdout)
    second = start_daemon(other, config)
    try:
        served = cli(other, config, "search", "walking robots", "--json", tmp=tmp_path)
        assert served.served and served.stdout == alone.stdout
        third = cli(other, config, "serve", tmp=tmp_path)
        assert third.code == 3 and f"(pid {second.pid})" in third.stderr
    finally:
        assert stop(second) == 0
    assert "stopped" in second.stderr.read()
    assert not sock.exists()


def test_a_home_too_deep_for_a_socket_name_gets_a_private_one(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    path = protocol.socket_path(deep)
    assert path.parent == Path(f"/tmp/paperbrief-{os.getuid()}") and len(str(path)) < 100
    assert path == protocol.socket_path(deep / "." / "")  # one name per home
    assert protocol.socket_path(tmp_path) == tmp_path.resolve() / "paperbrief.sock"
    assert protocol.safe_socket(path, create_dir=True)
    assert path.parent.stat().st_mode & 0o077 == 0
