"""One store for several machines: two homes pointed at one real `chroma run` server share
summaries, digest history and the store revision, and take turns writing through a lease."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from chroma_server import chroma_run
from test_daily import REPO, SECRETS, invoke, servers  # noqa: F401 - servers is a fixture

from store import PaperStore
from store.embedding.embedders import HashingEmbedder
from store.shared.lease import SharedLease, live_claims

pytestmark = pytest.mark.slow


@pytest.fixture
def chroma_url(tmp_path):
    with chroma_run(tmp_path / "chroma-server") as url:
        yield url


def shared_config(servers: dict, chroma_url: str) -> Path:  # noqa: F811
    cfg = servers["config"]
    cfg.write_text(cfg.read_text() + f'chroma_url = "{chroma_url}"\n', encoding="utf-8")
    return cfg


def test_a_second_home_pays_no_llm_and_sends_nothing_twice(servers, chroma_url, tmp_path):  # noqa: F811
    cfg = shared_config(servers, chroma_url)
    papers, llm, sink = servers["papers"], servers["llm"], servers["sink"]
    first = invoke(cfg, tmp_path / "home-a", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["report"]["counts"]["digest_papers"] == len(papers)
    assert len(sink.messages()) == 1
    calls = len(llm.chat_requests)
    assert calls >= len(papers)

    # Machine B: its own home (no local summaries, no local history), the same server.
    home_b = tmp_path / "home-b"
    summarized = _cli(cfg, home_b, "summarize", "--json")
    assert summarized.returncode == 0, summarized.stderr
    counts = json.loads(summarized.stdout)
    assert counts["cached"] == len(papers) and counts["summarized"] == 0
    assert counts["llm_calls"] == 0 and len(llm.chat_requests) == calls

    second = invoke(cfg, home_b, "--json")
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["report"]["counts"]["digest_papers"] == 0  # A's digest carried them all
    assert len(sink.messages()) == 1 and len(llm.chat_requests) == calls
    assert not (home_b / "state.sqlite3").exists() or _local_sent(home_b) == 0


def _local_sent(home: Path) -> int:
    import sqlite3

    with sqlite3.connect(home / "state.sqlite3") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        if "digest_sent_papers" not in tables:
            return 0
        return db.execute("SELECT COUNT(*) FROM digest_sent_papers").fetchone()[0]


def _cli(cfg: Path, home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "--config", str(cfg), "--home", str(home), *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **SECRETS, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def _paper(pid: str, words: str) -> dict:
    abstract = f"We report on {words}. The method is evaluated on two benchmarks."
    return {"id": pid, "title": f"A study of {words}", "published": "2026-11-20T00:00:00Z",
            "abstract": abstract}  # fmt: skip


def test_a_stale_bm25_copy_in_another_home_is_detected_and_refreshed(chroma_url, tmp_path):
    emb = HashingEmbedder(32)
    a = PaperStore(tmp_path / "home-a", emb, chroma_url=chroma_url)
    b = PaperStore(tmp_path / "home-b", emb, chroma_url=chroma_url)
    try:
        a.upsert([_paper("2611.00001", "coral reef bleaching")])
        assert [h.paper["id"] for h in b.search("coral", mode="bm25")] == ["2611.00001"]
        assert b.stats().bm25_fresh  # B saved a copy at the shared revision

        a.upsert([_paper("2611.00002", "glacier melt zqxv")])  # A writes: B's copy is stale
        assert not b.stats().bm25_fresh
        hits = b.search("zqxv", mode="bm25")
        assert [h.paper["id"] for h in hits] == ["2611.00002"]
        assert b.stats().bm25_fresh and a.stats().bm25_fresh
        assert a.state.revision() == b.state.revision() > 10**12  # one counter, on the server
    finally:
        a.close()
        b.close()


# Takes the writer lock of its own home (another machine) on the shared server: prints HELD
# and holds until stdin closes, or exits 3 naming the holder.
HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from agent.errors import LockedError
    from agent.lock import StoreLock
    go = float(sys.argv[3])
    time.sleep(max(0.0, go - time.time()))
    try:
        with StoreLock(Path(sys.argv[1]), sys.argv[2]).hold():
            print("HELD", flush=True)
            sys.stdin.read()
    except LockedError as exc:
        print("BUSY", exc, flush=True)
        sys.exit(exc.exit_code)
    """
)


def _holder(home: Path, url: str, go: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home), url, str(go)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def test_two_machines_starting_at_once_one_writes_the_other_exits_3(chroma_url, tmp_path):
    for round_ in range(2):
        go = time.time() + 3.0  # both processes imported and connected, then race
        procs = [_holder(tmp_path / f"m{round_}-{i}", chroma_url, go) for i in (0, 1)]
        lines = [p.stdout.readline().strip() for p in procs]
        assert sorted(line.split()[0] for line in lines) == ["BUSY", "HELD"], lines
        winner = procs[lines.index("HELD")]
        loser = procs[1 - lines.index("HELD")]
        assert loser.wait(30) == 3
        assert f"pid {winner.pid}" in lines[procs.index(loser)]
        winner.stdin.close()
        assert winner.wait(30) == 0
        assert live_claims(None, chroma_url) == []  # released


def _race(leases: list[SharedLease]) -> list[SharedLease]:
    """Every lease tries at the same instant (wait 0); the ones that got it."""
    start, won = threading.Barrier(len(leases)), []

    def race(lease: SharedLease) -> None:
        start.wait()
        with contextlib.suppress(Exception):
            lease.acquire(0)
            won.append(lease)

    threads = [threading.Thread(target=race, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return won


def test_claims_racing_in_threads_never_give_two_holders(chroma_url):
    for _ in range(5):
        won = _race([SharedLease(chroma_url, f"racer {i}") for i in range(4)])
        assert len(won) == 1  # never two holders, and a tie is retried until one wins
        won[0].release()


def test_a_run_on_a_second_machine_exits_3_or_waits_for_the_lease(servers, chroma_url, tmp_path):  # noqa: F811
    cfg = shared_config(servers, chroma_url)
    holder = _holder(tmp_path / "machine-a", chroma_url, 0)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        busy = invoke(cfg, tmp_path / "machine-b")
        assert busy.exit_code == 3, busy.output
        assert f"pid {holder.pid}" in busy.output and chroma_url in busy.output
        assert "Traceback" not in busy.output and servers["sink"].messages() == []
        threading.Timer(1.0, holder.stdin.close).start()
        started = time.monotonic()
        waited = invoke(cfg, tmp_path / "machine-b", "--wait", "60", "--json")
        assert waited.exit_code == 0, waited.output
        assert time.monotonic() - started >= 0.9 and json.loads(waited.stdout)["delivered"]
    finally:
        if holder.stdin and not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(30)


def test_the_lease_of_a_killed_holder_expires_and_is_taken_over(chroma_url, tmp_path):
    code = textwrap.dedent(
        f"""
        from store.shared.lease import SharedLease
        SharedLease({chroma_url!r}, "doomed run", ttl=2.0).acquire()
        print("HELD", flush=True)
        import time; time.sleep(600)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "HELD"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    lease = SharedLease(chroma_url, "next run")
    with pytest.raises(Exception, match=f"pid {proc.pid}: doomed run"):
        lease.acquire(0)  # not expired yet: its holder is named
    lease.acquire(10)  # the dead holder stops renewing; its claim expires and is taken over
    assert [c.command for c in live_claims(None, chroma_url)] == ["next run"]
    lease.release()


def test_a_rating_given_on_one_machine_reaches_the_other(chroma_url, tmp_path):
    from agent import PaperAgent, Settings

    emb = HashingEmbedder(32)
    with PaperStore(tmp_path / "writer", emb, chroma_url=chroma_url) as store:
        store.upsert([_paper("2611.00003", "sea ice thickness")])
    reader = PaperAgent(Settings(home=tmp_path / "reader", chroma_url=chroma_url), embedder=emb)
    with reader:
        reader.rate("2611.00003", "up")
    writer = PaperAgent(Settings(home=tmp_path / "writer", chroma_url=chroma_url), embedder=emb)
    with writer:
        (rating,) = writer.signals.ratings("default")
        assert (rating.paper_id, rating.value) == ("2611.00003", 1)
