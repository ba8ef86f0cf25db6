"""Peak RSS and time of a real `paperbrief ingest --file` for N papers (issue 14 item 1).

Each size runs in a fresh home as its own child process; the child's own peak RSS comes from
wait4. Papers come from tests/day_corpus.py (realistic arXiv-day abstracts, ~900-1,500
characters, 3-4 chunks each).

    .venv/bin/python bench/bench_ingest_memory.py            # 500, 2,000, 5,000, 20,000
    .venv/bin/python bench/bench_ingest_memory.py --quick    # 500, 2,000
    .venv/bin/python bench/bench_ingest_memory.py --sizes 800 \
        --env PAPERBRIEF_STORE__INGEST_BATCH=100
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from day_corpus import day_papers  # noqa: E402


def write_papers(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for paper in day_papers(n, day=datetime(2026, 11, 20, tzinfo=UTC), seed=n):
            paper.pop("topic", None)
            fh.write(json.dumps(paper) + "\n")


def run_ingest(path: Path, home: Path, extra_env: dict[str, str]) -> tuple[float, int, str]:
    """(seconds, peak RSS in MB, the command's last output line)."""
    env = {**os.environ, "PAPERBRIEF_HOME": str(home), **extra_env}
    exe = str(Path(sys.executable).with_name("paperbrief"))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "ingest", "--file", str(path), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"ingest of {path} exited {proc.returncode}")
    report = json.loads(out)
    new = sum(s.get("new", 0) for s in report.get("sources", []))
    return seconds, usage.ru_maxrss // 1024, f"{new} new"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 and 2,000 papers only")
    parser.add_argument("--sizes", type=int, nargs="*", help="paper counts to run")
    parser.add_argument("--env", nargs="*", default=[], help="NAME=VALUE for the ingest")
    args = parser.parse_args()
    sizes = args.sizes or ([500, 2000] if args.quick else [500, 2000, 5000, 20000])
    extra = dict(item.split("=", 1) for item in args.env)
    work = Path(tempfile.mkdtemp(prefix="pb-ingest-mem-"))
    print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]}  cpus: {os.cpu_count()}")
    print(f"{'papers':>7} {'seconds':>8} {'papers/s':>8} {'peak RSS MB':>11}  result")
    try:
        for n in sizes:
            path = work / f"papers{n}.jsonl"
            write_papers(path, n)
            seconds, peak, note = run_ingest(path, work / f"home{n}", extra)
            print(f"{n:>7} {seconds:>8.1f} {n / seconds:>8.1f} {peak:>11}  {note}", flush=True)
            shutil.rmtree(work / f"home{n}", ignore_errors=True)
            path.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
