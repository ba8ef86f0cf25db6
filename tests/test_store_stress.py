"""Stress: `ingest`, `run` and `search` at once on one store, as real processes, several rounds.

No process may end with exit 70; each write is done (0) or refused (3); every search answers;
and after each round the stored papers are exactly the unique ids the finished writes sent (at
their latest version) and the saved BM25 index holds exactly the chunks in Chroma.
bench/stress_writers.py runs the same rounds as often as asked and prints the figures.
"""

from __future__ import annotations

import os

import pytest
from httpserver import LocalHTTPServer
from store_stress import StressStore

from store import PaperStore

ROUNDS = int(os.environ.get("PAPERBRIEF_STRESS_ROUNDS", "3"))


@pytest.mark.slow
def test_ingest_run_and_search_at_once_never_crash_and_leave_the_store_whole(tmp_path, minilm):
    with LocalHTTPServer() as feed:
        stress = StressStore(tmp_path, feed)
        refused = 0
        for n in range(ROUNDS):
            result = stress.round(n)
            assert not result.unexpected, result.unexpected
            assert 70 not in (result.ingest_exit, result.run_exit, *result.search_exits)
            assert result.run_exit == 0  # it always waits
            assert result.ingest_exit in ((0, 3) if n % 2 else (0,))
            refused += result.ingest_exit == 3
            assert result.search_exits and set(result.search_exits) == {0}
            with PaperStore(stress.home, minilm) as store:
                check = stress.check(result, store)
            assert result.stored_ids == result.expected_ids
            assert result.stale_versions == []
            assert check["bm25_fresh"] and check["bm25_equals_chroma"], check
            assert check["verify"]["orphan_chunks"] == 0 == check["verify"]["missing_chunks"]
