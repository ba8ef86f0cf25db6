"""Issue 14 item 1: a file is ingested a batch at a time, so memory does not follow its size.

A file's papers were read whole, stored in one upsert and held (records, chunks, vectors) until
the end: 20,000 papers could never fit in a bounded process. Now JSON Lines and CSV are read
line by line and every batch of ``store.ingest_batch`` papers is stored before the next is read.
"""

from __future__ import annotations

import csv
import gc
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from day_corpus import day_papers

from agent.config import Settings
from agent.ingest import ingest_sources
from agent.models import Paper
from agent.sources import FetchRequest
from agent.sources.files import read_papers
from agent.sources.http import HttpClient
from store import PaperStore
from store.embedding.embedders import HashingEmbedder

DAY = datetime(2026, 11, 20, tzinfo=UTC)


class RecordingStore:
    """A real PaperStore that notes, at every upsert, its size and how many Paper objects the
    process holds then (what the ingest keeps alive while it stores one batch)."""

    def __init__(self, store: PaperStore) -> None:
        self._store = store
        self.calls: list[tuple[int, int]] = []

    def upsert(self, records, progress=None):
        gc.collect()
        live = sum(1 for o in gc.get_objects() if isinstance(o, Paper))
        self.calls.append((len(records), live))
        return self._store.upsert(records, progress=progress)

    def __getattr__(self, name):
        return getattr(self._store, name)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def ingest_file(tmp_path: Path, path: Path, batch: int):
    settings = Settings(home=tmp_path / "home", store={"ingest_batch": batch})
    store = RecordingStore(PaperStore(settings.home, HashingEmbedder(64)))
    try:
        with HttpClient() as http:
            report = ingest_sources(settings, store, http, request=FetchRequest(path=path))  # type: ignore[arg-type]
        return report, store.calls, store.stats().papers
    finally:
        store.close()


def test_a_large_jsonl_file_is_stored_batch_by_batch_and_read_lazily(tmp_path):
    papers = day_papers(120, day=DAY)
    for p in papers:
        p.pop("topic")
    path = write_jsonl(tmp_path / "big.jsonl", papers)
    report, calls, count = ingest_file(tmp_path, path, batch=25)
    assert report.ok and report.total("new") == 120 and count == 120
    assert [n for n, _ in calls] == [25, 25, 25, 25, 20]
    # Only the batch being stored is alive: the file's other papers are not read yet.
    assert max(live for _, live in calls) <= 25 + 5, calls


def test_csv_is_streamed_with_quoted_newlines_and_duplicates_across_batches(tmp_path):
    papers = day_papers(30, day=DAY)
    papers[3]["abstract"] = "First paragraph of the abstract.\nSecond, after a newline."
    rows = [*papers, papers[2]]  # the last row repeats an id of the first batch
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "title", "abstract", "published"])
        writer.writeheader()
        for p in rows:
            writer.writerow({k: p[k] for k in ("id", "title", "abstract", "published")})
    report, calls, count = ingest_file(tmp_path, path, batch=8)
    assert [n for n, _ in calls] == [8, 8, 8, 6]
    assert count == 30 and report.total("new") == 30
    [outcome] = report.sources
    assert outcome.fetched == 30 and outcome.failed == 1
    assert "duplicate" in report.failures[0].reason
    whole = read_papers(path)  # the whole-file reader agrees paper for paper
    assert len(whole.papers) == 30 and len(whole.skipped) == 1
    assert whole.papers[3].abstract.startswith("First paragraph of the abstract. Second")


def test_a_broken_last_line_rejects_the_whole_file_before_any_batch_is_stored(tmp_path):
    papers = day_papers(40, day=DAY)
    path = write_jsonl(tmp_path / "cut.jsonl", papers)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"id": "x", "title": "Cut off')
    report, calls, count = ingest_file(tmp_path, path, batch=10)
    assert calls == [] and count == 0
    [outcome] = report.sources
    assert outcome.bad_input and "line 41" in outcome.message and "truncated" in outcome.message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"title": "T", "abstract": "A"}\n\xff\n', "byte 0xff at offset 32 (line 2)"),
        (b'{"name": "x"}\n{"name": "y"}\n', "no record has a title or abstract"),
        (b"title,abstract\nA,B\nC,D,E\n", "line 3 has 3 fields"),
    ],
)
def test_streamed_formats_fail_as_the_whole_file_reader_does(tmp_path, content, expected):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    report, calls, count = ingest_file(tmp_path, path, batch=1)
    assert calls == [] and count == 0
    assert expected in report.sources[0].message
    with pytest.raises(Exception, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_papers(path)


def test_json_and_feeds_are_parsed_whole_but_stored_in_batches(tmp_path):
    papers = day_papers(12, day=DAY)
    for p in papers:
        p.pop("topic")
    path = tmp_path / "papers.json"
    path.write_text(json.dumps({"papers": papers}, indent=2), encoding="utf-8")
    report, calls, count = ingest_file(tmp_path, path, batch=5)
    assert [n for n, _ in calls] == [5, 5, 2] and count == 12 and report.ok
