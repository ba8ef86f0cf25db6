"""Rounds of `ingest` + `run` + `search` at once on one store, as real `paperbrief` processes.

Used by tests/test_store_stress.py (a few rounds) and bench/stress_writers.py (as many as asked).
Each round starts a `run` (its source: an arXiv RSS feed on a local HTTP server), an `ingest` of
a local file (new papers, papers the feed also carries, and new versions of earlier ones) and a
stream of `search` commands until both writers have exited. Even rounds give both writers a
long ``--wait``; odd rounds start `run` first and give `ingest` none, so it may be refused
(exit 3). After each round the store is checked against what the finished writes sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from feeds import arxiv_rss
from httpserver import LocalHTTPServer, Resp

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "agent" / "data" / "demo_corpus.jsonl"
QUERIES = ("graph neural networks for molecules", "robot grasping policy", "climate forecast")


@dataclass
class RoundResult:
    number: int
    ingest_exit: int
    run_exit: int
    search_exits: list[int]
    unexpected: list[str]  # stderr lines of any process that reported an unexpected error
    stored_ids: set[str] = field(default_factory=set)
    expected_ids: set[str] = field(default_factory=set)
    stale_versions: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _demo() -> list[dict]:
    return [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]


def _paper(row: dict, paper_id: str) -> dict:
    keys = ("title", "abstract", "authors", "categories")
    return {"id": paper_id, **{k: row[k] for k in keys}, "published": "2026-11-26T00:00:00Z"}


def rss(papers: list[dict], day: int) -> bytes:
    stamp = f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri'][day % 5]}, {10 + day} Nov 2026 00:00:00 -0500"
    return arxiv_rss(papers, stamp)


class StressStore:
    """One home, one config, one feed server; ``round(n)`` runs round n and checks it."""

    def __init__(self, workdir: Path, feed: LocalHTTPServer, per_round: int = 12) -> None:
        self.workdir = workdir
        self.home = workdir / "home"
        self.per_round = per_round
        self.rows = _demo()
        self.feed_papers: list[dict] = []
        feed.route("/rss/cs.LG", lambda _req: Resp(200, rss(self.feed_papers, self._day)))
        self._day = 0
        self.config = workdir / "config.toml"
        self.config.write_text(
            f'sources = ["arxiv-rss"]\narxiv_categories = ["cs.LG"]\n'
            f'arxiv_rss_url = "{feed.url("/rss")}"\narxiv_min_interval = 0.0\nhttp_retries = 0\n',
            encoding="utf-8",
        )
        self.config.chmod(0o600)
        self.expected: dict[str, str] = {}  # id -> abstract of the last finished write
        self._last_file: list[dict] = []

    def cli(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "--home", str(self.home),
             "--config", str(self.config), *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip

    def _round_papers(self, n: int) -> tuple[list[dict], list[dict]]:
        rows = self.rows
        k = self.per_round
        file_papers = [
            _paper(rows[(n * k + j) % len(rows)], f"2612.{n:02d}{j:03d}") for j in range(k)
        ]
        for old in self._last_file[:2]:  # new versions of two papers of the last round
            file_papers.append({**old, "abstract": old["abstract"] + f" Revised in round {n}."})
        feed = [_paper(rows[(n * k + k + j) % len(rows)], f"2611.{n:02d}{j:03d}")
                for j in range(k // 2)]  # fmt: skip
        return file_papers, feed + file_papers[:2]  # the feed also carries two of the file's

    def round(self, n: int) -> RoundResult:
        started = time.monotonic()
        file_papers, self.feed_papers = self._round_papers(n)
        self._day = n
        path = self.workdir / f"round{n}.jsonl"
        path.write_text("".join(json.dumps(p) + "\n" for p in file_papers), encoding="utf-8")
        refuse = n % 2 == 1  # odd rounds: ingest does not wait, and run starts first
        run = self.cli("--wait", "600", "run", "--out", str(self.workdir / f"digest{n}.html"))
        if refuse:
            time.sleep(1.5)
        ingest = self.cli("--wait", "0" if refuse else "600", "ingest", "--file", str(path))
        searches: list[subprocess.CompletedProcess] = []

        def search_loop() -> None:
            i = 0
            while ingest.poll() is None or run.poll() is None or not searches:
                proc = self.cli("search", QUERIES[i % len(QUERIES)], "--json")
                out, err = proc.communicate(timeout=300)
                searches.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
                i += 1

        reader = threading.Thread(target=search_loop)
        reader.start()
        outputs = {name: p.communicate(timeout=900) for name, p in (("ingest", ingest),
                                                                   ("run", run))}  # fmt: skip
        reader.join(900)
        unexpected = [
            line
            for _, err in [*outputs.values(), *((s.stdout, s.stderr) for s in searches)]
            for line in err.splitlines()
            if "Unexpected error" in line or "Traceback" in line
        ]
        if ingest.returncode == 0:
            self.expected.update({p["id"]: p["abstract"] for p in file_papers})
            self._last_file = file_papers[: self.per_round]
        if run.returncode == 0:
            for p in self.feed_papers:
                self.expected.setdefault(p["id"], p["abstract"])
        return RoundResult(
            number=n,
            ingest_exit=ingest.returncode,
            run_exit=run.returncode,
            search_exits=[s.returncode for s in searches],
            unexpected=unexpected,
            expected_ids=set(self.expected),
            seconds=round(time.monotonic() - started, 1),
        )

    def check(self, result: RoundResult, store) -> dict:
        """Compare the store with what the finished writes sent: ids, versions, BM25 = Chroma.
        ``store`` is a freshly opened PaperStore on ``self.home``."""
        from store.bm25.index import BM25Index

        stored = {p["id"]: p for p in store.list_papers()}
        result.stored_ids = set(stored)
        result.stale_versions = sorted(
            pid for pid, abstract in self.expected.items()
            if pid in stored and stored[pid]["abstract"] != abstract
        )  # fmt: skip
        committed = {c["id"] for pid in stored for c in store.chunks_of(pid)}
        saved = BM25Index.load(store.layout.bm25)
        return {
            "bm25_fresh": store.stats().bm25_fresh,
            "bm25_equals_chroma": saved is not None and set(saved.chunk_ids) == committed,
            "verify": store.verify(),
        }
