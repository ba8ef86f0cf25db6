"""The storage seams' contracts: the same assertions against both backends of every concern.

Each test takes ``backends`` (store.backends.Backends), once for a home's own SQLite file and once
for a real ``chroma run`` server (one per module; its shared collections are dropped between
tests; marked slow, so ``pytest -m slow`` and CI run it), and asks it for the concern the way the
code does. What a caller may rely on is what passes on both; a difference between the twins
fails here, not on a team's second machine.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from chroma_server import chroma_run

from agent import LockedError
from store.backends import Backends
from store.seams import DigestHistory, ReaderSignals, RevisionLog, SummaryCache, WriterLease
from store.shared.table import PREFIX, server_client


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with chroma_run(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(params=["local", pytest.param("shared", marks=pytest.mark.slow)])
def backends(request, tmp_path) -> Backends:
    if request.param == "local":
        return Backends(tmp_path / "home")
    url = request.getfixturevalue("server")
    client = server_client(url)
    for col in client.list_collections():  # every test starts from an empty server
        if col.name.startswith(PREFIX):
            client.delete_collection(col.name)
    return Backends(tmp_path / "home", url)


def test_the_chooser_gives_each_concern_its_twin(tmp_path, backends):
    kind = "Shared" if backends.shared else "Sqlite"
    opened = [backends.summary_cache(), backends.digest_history(), backends.reader_signals(),
              backends.revision_log()]  # fmt: skip
    for seam, backend in zip((SummaryCache, DigestHistory, ReaderSignals, RevisionLog), opened,
                             strict=True):  # fmt: skip
        assert isinstance(backend, seam) and type(backend).__name__.startswith(kind)
        backend.close()
    leases = backends.writer_leases("contract")
    assert type(leases[0]).__name__ == "RunLock"  # this machine's processes, either way
    assert [type(lease).__name__ for lease in leases[1:]] == (["SharedLease"] * backends.shared)
    assert all(isinstance(lease, WriterLease) for lease in leases)
    assert not Backends(tmp_path, "").shared  # an empty chroma_url is no server


# --- summary cache ------------------------------------------------------------------------------
def test_summary_cache(backends):
    cache, other = backends.summary_cache(), backends.summary_cache()  # other: another process
    key = ("2501.00001", 2, "hash-a", "model-x", "summary-3")
    assert cache.get(*key) is None and cache.latest("2501.00001") is None and cache.count() == 0
    cache.put(*key, '{"tldr": "one"}')
    cache.put(*key, '{"tldr": "two"}')  # the same key replaces
    assert other.get(*key) == '{"tldr": "two"}' and other.count() == 1
    time.sleep(0.02)
    cache.put("2501.00001", None, "hash-b", "model-y", "summary-3", '{"tldr": "no version"}')
    cache.put("2501.00002", 1, "hash-c", "model-x", "summary-3", '{"tldr": "other paper"}')
    assert cache.get("2501.00001", None, "hash-b", "model-y", "summary-3") is not None
    assert cache.latest("2501.00001") == '{"tldr": "no version"}'  # the newest, any model
    assert cache.latest("2501.00001", version=2) == '{"tldr": "two"}'
    assert cache.latest("2501.00001", content_hash="hash-b") == '{"tldr": "no version"}'
    assert cache.latest("2501.00001", version=3) is None
    assert cache.delete_for_paper("2501.00001") == 2 and cache.delete_for_paper("nope") == 0
    assert cache.count() == 1 and cache.get(*key) is None

    assert cache.get_method("http://h/v1", "m") is None
    cache.set_method("http://h/v1", "m", "json_schema")
    assert other.get_method("http://h/v1", "m") == "json_schema"
    cache.set_method("http://h/v1", "m", None)
    assert cache.get_method("http://h/v1", "m") is None
    cache.close()
    other.close()


# --- digest history -----------------------------------------------------------------------------
def _save(history: DigestHistory, digest_id: str, created: str, profile: str = "default"):
    return history.save(digest_id, {"digest.md": f"# {digest_id}", "digest.txt": digest_id},
                        created_at=created, subject=f"Digest {digest_id}", papers=2, themes=1,
                        window_start="2026-01-01T00:00:00+00:00", profile=profile)  # fmt: skip


def test_digest_history_runs_and_sent_papers(backends):
    history = backends.digest_history()
    assert history.runs() == [] and history.run("d1") is None and not history.exists("d1")
    folder = _save(history, "d1", "2026-01-02T08:00:00+00:00")
    assert folder == history.digests_dir / "d1" and (folder / "digest.md").read_text() == "# d1"
    _save(history, "d2", "2026-01-03T08:00:00+00:00", profile="ana")
    _save(history, "d3", "2026-01-04T08:00:00+00:00")
    run = history.run("d1")
    assert run is not None and history.exists("d1")
    assert {k: run[k] for k in ("digest_id", "status", "papers", "themes", "subject", "profile",
                                "window_start", "window_end", "sent_at", "error")} == {
        "digest_id": "d1", "status": "saved", "papers": 2, "themes": 1, "subject": "Digest d1",
        "profile": "default", "window_start": "2026-01-01T00:00:00+00:00", "window_end": None,
        "sent_at": None, "error": None,
    }  # fmt: skip
    assert [r["digest_id"] for r in history.runs()] == ["d3", "d2", "d1"]  # newest first
    assert [r["digest_id"] for r in history.runs(limit=1)] == ["d3"]
    assert [r["digest_id"] for r in history.runs(profiles=["ana"])] == ["d2"]

    history.mark_sent("d1", ["p1", "p2", "p1"], recipients=["a@x.org", "b@x.org"])
    history.mark_sent("d2", ["p3"])
    history.mark_failed("d3", "smtp said no")
    sent = history.run("d1")
    assert sent is not None and sent["status"] == "sent"
    assert sent["recipients"] == "a@x.org, b@x.org"
    assert history.run("d3")["status"] == "failed" and history.run("d3")["error"] == "smtp said no"
    assert history.sent_ids(["p1", "p2", "p3", "p9"]) == {"p1", "p2"}  # per profile
    assert history.sent_ids(["p1", "p3"], profile="ana") == {"p3"}
    _save(history, "d1", "2026-01-02T08:00:00+00:00")  # saving again keeps what was sent
    assert history.run("d1")["status"] == "sent"
    again = backends.digest_history()  # another process, or another machine when shared
    assert again.sent_ids(["p1"]) == {"p1"} and again.exists("d2")
    history.close()
    again.close()


def test_digest_history_posts_and_theme_names(backends):
    history = backends.digest_history()
    _save(history, "d1", "2026-01-02T08:00:00+00:00")
    _save(history, "d2", "2026-01-05T08:00:00+00:00")
    history.record_post("d1", "chan-a", label="slack ****", ok=False, error="HTTP 500")
    history.record_post("d1", "chan-b", label="teams ****", ok=True)
    history.record_post("d2", "chan-a", label="slack ****", ok=False, error="HTTP 502")
    assert history.posted_channels("d1") == {"chan-b"}
    assert history.failed_posts("default", ["chan-a", "chan-b"]) == [("d1", "chan-a"),
                                                                    ("d2", "chan-a")]  # fmt: skip
    assert history.failed_posts("default", ["chan-a"], since="2026-01-03") == [("d2", "chan-a")]
    assert history.failed_posts("default", []) == []
    assert history.failed_posts("ana", ["chan-a"]) == []
    history.record_post("d1", "chan-a", label="slack ****", ok=True)  # the retry worked
    history.record_post("d1", "chan-a", label="slack ****", ok=False, error="late")  # final
    assert history.posted_channels("d1") == {"chan-a", "chan-b"}
    posts = {p["channel"]: p for p in history.posts("d1")}
    assert (posts["chan-a"]["status"], posts["chan-a"]["attempts"]) == ("posted", 3)
    assert posts["chan-a"]["error"] is None and posts["chan-b"]["label"] == "teams ****"
    assert [p["label"] for p in history.posts("d1")] == ["slack ****", "teams ****"]

    assert history.get_theme_name("k1") is None
    history.put_theme_name("k1", "Reefs", "Coral work.", model="m", prompt_version="theme-1")
    history.put_theme_name("k1", "Coral reefs", "Coral.", model="m", prompt_version="theme-1")
    assert backends.digest_history().get_theme_name("k1") == ("Coral reefs", "Coral.")
    history.close()


# --- reader signals -----------------------------------------------------------------------------
def test_reader_signals(backends):
    signals = backends.reader_signals()
    vecs = np.eye(3, 4, dtype=np.float32)
    two = [("k1", "T1", {"a": 1}), ("k2", "T2", {})]
    assert signals.put_items("ana", two, vecs[:2], "m@4") == 2
    assert signals.put_items("ana", [("k1", "T1b", {"a": 2})], vecs[2:], "m@4") == 1
    assert signals.put_items("bo", [("k9", "T9", {})], vecs[:1], "m@4") == 1
    with pytest.raises(ValueError, match="one vector per item"):
        signals.put_items("ana", [("k3", "T3", {})], vecs, "m@4")
    items = signals.items("ana")
    assert [(i.key, i.title, i.item, i.embedder_id) for i in items] == [
        ("k1", "T1b", {"a": 2}, "m@4"), ("k2", "T2", {}, "m@4")]  # fmt: skip
    assert np.array_equal(items[0].vector, vecs[2]) and items[0].vector.dtype == np.float32

    signals.rate("ana", "2611.1", 1, "Up")
    time.sleep(0.01)
    signals.rate("ana", "2611.2", -1, "Down")
    time.sleep(0.01)
    signals.rate("ana", "2611.2", 1, "Down then up")
    with pytest.raises(ValueError):
        signals.rate("ana", "2611.3", 2, "Too much")
    assert [(r.paper_id, r.value, r.title) for r in signals.ratings("ana")] == [
        ("2611.1", 1, "Up"), ("2611.2", 1, "Down then up")]  # fmt: skip
    assert signals.counts("ana") == {"library": 2, "rated_up": 2, "rated_down": 0}
    assert backends.reader_signals().counts("ana") == signals.counts("ana")  # another handle
    assert signals.unrate("ana", "2611.1") and not signals.unrate("ana", "2611.1")
    assert signals.remove_items("ana", ["k2", "nope"]) == 1 and signals.remove_items("bo") == 1
    assert signals.counts("ana") == {"library": 1, "rated_up": 1, "rated_down": 0}
    assert signals.counts("bo") == {"library": 0, "rated_up": 0, "rated_down": 0}
    signals.close()


# --- revision log -------------------------------------------------------------------------------
def test_revision_log(backends):
    log, other = backends.revision_log(), backends.revision_log()  # other: another process
    start = log.revision()
    assert log.bump_revision() == start + 1 and other.revision() == start + 1
    assert log.snapshot().quiet and log.dead_writes() == []

    token, revision = log.begin_write()
    assert revision == start + 2
    log.note_papers(token, ["p2", "p1"])
    log.note_papers(token, ["p1", "p3"])
    log.note_papers("no-such-write", ["p9"])  # ignored
    snap = other.snapshot()
    assert snap.revision == start + 2 and snap.live == {token} and not snap.quiet
    assert log.end_write(token) == start + 3 and other.snapshot().quiet

    failed, _ = log.begin_write()
    log.note_papers(failed, ["p4", "p5"])
    log.abandon_write(failed)  # no longer in flight, but left for the next write to repair
    assert log.revision() == start + 5 and log.snapshot().quiet
    (dead,) = other.dead_writes()
    assert (dead.token, dead.papers) == (failed, ["p4", "p5"])
    other.forget_write(failed)
    assert log.dead_writes() == [] and log.revision() == start + 5
    log.close()
    other.close()


# --- writer lease -------------------------------------------------------------------------------
def test_writer_lease_one_holder_at_a_time(backends):
    first = backends.writer_leases("first run")[-1]  # the one that keeps this store's writers apart
    second = backends.writer_leases("second run")[-1]
    first.acquire(0)
    with pytest.raises(LockedError) as err:
        second.acquire(0)
    assert err.value.exit_code == 3 and f"pid {os.getpid()}: first run" in str(err.value)
    assert err.value.hint
    threading.Timer(0.5, first.release).start()
    started = time.monotonic()
    second.acquire(20)  # waits for the holder to let go
    assert time.monotonic() - started >= 0.4
    with pytest.raises(LockedError):
        first.acquire(0)
    second.release()
    second.release()  # harmless twice
    first.acquire(0)
    first.release()
