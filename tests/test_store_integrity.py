"""The store stays whole when processes overlap or die: a reader never saves a BM25 index that
misses committed papers, an update is all-old or all-new after a kill, a generation pointer
that names nothing in this Chroma is refused, and a saved index is on disk before CURRENT
names it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from store import PaperStore, StateDB
from store.bm25.index import BM25Index, ChunkRow
from store.embedding.embedders import HashingEmbedder
from store.errors import StoreError
from store.layout import BM25_CURRENT, StoreLayout
from store.state import meta_keys

REPO = Path(__file__).resolve().parents[1]


def _records(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "id": f"2502.{i:05d}",
            "version": 1,
            "title": f"Paper {i} on routing",
            "abstract": f"Study {i} measures routing at scale. The token mark{i}q identifies it. "
            f"Results improve by {i % 7} points. A third sentence closes study {i}.",
            "published": "2025-02-01T00:00:00Z",
            "source": "file",
        }
        for i in range(start, start + n)
    ]


def _committed_chunk_ids(store: PaperStore, ids: list[str]) -> set[str]:
    return {c["id"] for pid in ids for c in store.chunks_of(pid)}


# --- item 2: only a proven BM25 index is saved ------------------------------------------------
def test_a_reader_rebuilding_during_a_write_never_saves_or_keeps_a_partial_index(tmp_path):
    home, emb = tmp_path / "home", HashingEmbedder(64)
    paused, resume = threading.Event(), threading.Event()
    calls = {"chunks": 0}

    def on_write(kind: str, n: int) -> None:
        calls[kind] = calls.get(kind, 0) + 1
        if kind == "chunks" and calls["chunks"] == 2:  # mid-write: some chunks, no records
            paused.set()
            assert resume.wait(60)

    writer = PaperStore(home, emb, max_batch_size=4, on_write=on_write)
    first = _records(1)
    writer.upsert(first)  # chunk write 1
    reader = PaperStore(home, emb)
    saved_before = BM25Index.saved_revision(StoreLayout(home).bm25)

    later = _records(12, start=1)
    thread = threading.Thread(target=writer.upsert, args=(later,))
    thread.start()
    try:
        assert paused.wait(60)
        reader.rebuild_bm25()  # what a search does when it finds the index stale
        # A write is in flight: the reader's index is partial, so it must not be saved.
        assert BM25Index.saved_revision(StoreLayout(home).bm25) == saved_before
    finally:
        resume.set()
        thread.join(60)

    # Every committed paper is found, through the same reader, by its unique token.
    for rec in first + later:
        token = rec["abstract"].split("token ")[1].split()[0]
        hits = reader.search(token, k=3, mode="bm25")
        assert hits and hits[0].paper["id"] == rec["id"], token
    stats = reader.stats()
    assert stats.bm25_fresh
    saved = BM25Index.load(StoreLayout(home).bm25)
    ids = [r["id"] for r in first + later]
    assert saved is not None and set(saved.chunk_ids) == _committed_chunk_ids(reader, ids)
    writer.close()
    reader.close()


def test_a_saved_index_from_an_older_format_is_rebuilt_not_trusted(tmp_path):
    home, emb = tmp_path / "home", HashingEmbedder(64)
    store = PaperStore(home, emb)
    store.upsert(_records(3))
    root = StoreLayout(home).bm25
    # What the old code could save: labelled with the current revision, one paper missing,
    # and no format mark (old saves had none).
    revision = store.state.revision()
    partial = [ChunkRow(c["id"], "2502.00000", c["text"]) for c in store.chunks_of("2502.00000")]
    BM25Index.build(partial, revision=revision).save(root)
    meta_file = root / (root / BM25_CURRENT).read_text().strip() / "manifest.json"
    meta = json.loads(meta_file.read_text())
    del meta["format"]
    meta_file.write_text(json.dumps(meta))
    store.close()

    store = PaperStore(home, emb)
    assert [h.paper["id"] for h in store.search("mark2q", mode="bm25")] == ["2502.00002"]
    store.close()


# --- item 3: an update is all-old or all-new after a kill -------------------------------------
CHILD = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from store import PaperStore
    from store.embedding.embedders import HashingEmbedder

    home, records_file = sys.argv[1:3]

    def on_write(kind, n):
        if kind == "chunks":  # the new version's chunks are written, its record is not
            print("KILL ME", flush=True)
            time.sleep(120)

    store = PaperStore(Path(home), HashingEmbedder(64), on_write=on_write)
    store.upsert(json.loads(Path(records_file).read_text()))
    print("FINISHED", flush=True)
    """
)


def _kill_mid_update(tmp_path: Path, home: Path, records: list[dict]) -> None:
    records_file = tmp_path / "update.json"
    records_file.write_text(json.dumps(records))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(records_file)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line.startswith("KILL ME"), line + proc.stderr.read()
        proc.kill()
    finally:
        proc.wait(timeout=30)


def test_a_kill_between_an_updates_chunks_and_its_record_leaves_the_old_version_whole(tmp_path):
    home, emb = tmp_path / "home", HashingEmbedder(64)
    old = _records(3)
    with PaperStore(home, emb) as store:
        store.upsert(old)
        old_chunks = store.chunks_of("2502.00001")
    new = json.loads(json.dumps(old[1]))
    new.update(version=2, abstract="A rewritten abstract about zebrafinch song. Nothing else.")
    _kill_mid_update(tmp_path, home, [new])

    with PaperStore(home, emb) as store:
        assert store.get("2502.00001")["version"] == 1
        # The record's chunks are the old version's, whole: no new text under the old record.
        assert store.chunks_of("2502.00001") == old_chunks
        assert store.search("zebrafinch", mode="bm25") == []
        hits = store.search("mark1q", mode="bm25")
        assert hits[0].paper["id"] == "2502.00001" and "mark1q" in hits[0].chunk
        assert store.verify()["orphan_chunks"] > 0  # the dead write's chunks, until repaired
        # dense search may meet the dead write's chunk first: the hit still shows committed text
        for hit in store.search("zebrafinch song", mode="dense", k=3):
            assert "zebrafinch" not in hit.chunk

        # The next write (of anything) repairs what the dead one left.
        store.upsert(_records(1, start=10))
        check = store.verify()
        assert check["orphan_chunks"] == 0 and check["missing_chunks"] == 0
        assert store.chunks_of("2502.00001") == old_chunks

        # Writing the new version again switches it whole.
        assert store.upsert([new]).updated == ["2502.00001"]
        assert "zebrafinch" in " ".join(c["text"] for c in store.chunks_of("2502.00001"))
        assert store.search("mark1q", mode="bm25") == []
        assert store.verify()["orphan_chunks"] == 0


# --- item 4: a pointer to a generation this Chroma does not hold ------------------------------
def test_a_pointer_to_a_missing_generation_is_refused_and_nothing_is_deleted(tmp_path):
    home, emb = tmp_path / "home", HashingEmbedder(64)
    with PaperStore(home, emb) as store:
        store.upsert(_records(4))
    state = StateDB(StoreLayout(home).state_db)
    state.set_meta(meta_keys.GENERATION, "2")  # as if this home was built against another Chroma
    state.close()

    with pytest.raises(StoreError, match="generation 2") as err:
        PaperStore(home, emb)
    assert "chroma_url" in err.value.hint

    state = StateDB(StoreLayout(home).state_db)
    state.set_meta(meta_keys.GENERATION, "1")
    state.close()
    with PaperStore(home, emb) as store:
        assert store.stats().papers == 4  # the data is all there


def test_a_pointer_into_an_empty_chroma_starts_empty_and_keeps_its_number(tmp_path):
    home, emb = tmp_path / "home", HashingEmbedder(64)
    with PaperStore(home, emb) as store:
        store.upsert(_records(2))
    state = StateDB(StoreLayout(home).state_db)
    state.set_meta(meta_keys.GENERATION, "3")
    state.close()
    import shutil

    shutil.rmtree(StoreLayout(home).chroma)  # a new, empty Chroma
    with PaperStore(home, emb) as store:
        assert store.stats().papers == 0
        assert store.state.get_meta(meta_keys.GENERATION) == "3"


# --- item 5: durable saves ---------------------------------------------------------------------
def test_a_saved_index_is_fsynced_before_current_names_it(tmp_path, monkeypatch):
    root = tmp_path / "bm25"
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    rows = [ChunkRow(f"p{i}#0", f"p{i}", f"text number {i} about routing") for i in range(5)]
    BM25Index.build(rows, revision=4).save(root)

    switch = events.index(("replace", str(root / BM25_CURRENT)))
    folder = root / (root / BM25_CURRENT).read_text().strip()
    synced_before = {path for kind, path in events[:switch] if kind == "fsync"}
    assert {str(p) for p in folder.iterdir()} | {str(folder)} <= synced_before
    assert ("fsync", str(root)) in events[switch + 1 :]  # the rename itself is durable


# --- readers while another process writes -----------------------------------------------------
WRITER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from store import PaperStore
    from store.embedding.embedders import HashingEmbedder

    home, records_file = sys.argv[1:3]
    records = json.loads(Path(records_file).read_text())
    store = PaperStore(Path(home), HashingEmbedder(64), papers_per_batch=8)
    print("WRITING", flush=True)
    for start in range(0, len(records), 20):
        store.upsert(records[start : start + 20])
    print("DONE", flush=True)
    """
)


@pytest.mark.slow
def test_readers_never_fail_while_another_process_writes(tmp_path):
    """chromadb raises InternalError ('Error finding id') in a reader while another process
    writes (measured: most reads fail); the store reopens and retries instead."""
    home, emb = tmp_path / "home", HashingEmbedder(64)
    with PaperStore(home, emb) as store:
        store.upsert(_records(20))
    records_file = tmp_path / "more.json"
    records_file.write_text(json.dumps(_records(400, start=20)))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home), str(records_file)],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    reads = 0
    try:
        assert writer.stdout.readline().strip() == "WRITING"
        with PaperStore(home, emb) as reader:
            while writer.poll() is None:
                assert reader.search("routing mark3q", k=5)[0].paper["id"] == "2502.00003"
                ids = [p["id"] for p in reader.list_papers(limit=30)]
                assert len(reader.paper_vectors(ids)) == len(ids)
                reads += 1
            assert writer.wait(timeout=120) == 0
            assert reader.stats().papers == 420
            assert reader.search("mark419q", k=1, mode="bm25")[0].paper["id"] == "2502.00419"
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert reads >= 3
