"""Stress the store's writer lock: N rounds of `ingest` + `run` + `search` at once on one store.

    python bench/stress_writers.py --rounds 10

Real `paperbrief` processes, offline (a local file and an RSS feed on a local HTTP server);
the rounds are tests/store_stress.py's. Prints one line per round and a summary: exit codes
(70 = a crash), writes refused with exit 3, searches answered, and whether the store matched
what the finished writes sent (ids, versions, BM25 = Chroma).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from httpserver import LocalHTTPServer  # noqa: E402
from store_stress import StressStore  # noqa: E402

from store import PaperStore, make_embedder  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=12, help="new papers per ingest file")
    args = parser.parse_args()
    embedder = make_embedder("minilm", threads=1)
    exits: Counter[int] = Counter()
    bad_rounds = 0
    with tempfile.TemporaryDirectory(prefix="pb-stress-") as tmp, LocalHTTPServer() as feed:
        stress = StressStore(Path(tmp), feed, per_round=args.per_round)
        for n in range(args.rounds):
            result = stress.round(n)
            with PaperStore(stress.home, embedder) as store:
                check = stress.check(result, store)
            codes = [result.ingest_exit, result.run_exit, *result.search_exits]
            exits.update(codes)
            whole = (
                result.stored_ids == result.expected_ids
                and not result.stale_versions
                and check["bm25_fresh"]
                and check["bm25_equals_chroma"]
            )
            bad_rounds += not whole or 70 in codes or bool(result.unexpected)
            print(json.dumps({
                "round": n, "seconds": result.seconds, "ingest": result.ingest_exit,
                "run": result.run_exit, "searches": Counter(result.search_exits),
                "stored": len(result.stored_ids), "expected": len(result.expected_ids),
                "stale_versions": len(result.stale_versions), **check,
                "unexpected": result.unexpected[:3],
            }, default=dict))  # fmt: skip
    print(f"rounds {args.rounds}, exit codes {dict(sorted(exits.items()))}, "
          f"rounds with a crash or a store mismatch: {bad_rounds}")  # fmt: skip
    return 1 if bad_rounds else 0


if __name__ == "__main__":
    sys.exit(main())
