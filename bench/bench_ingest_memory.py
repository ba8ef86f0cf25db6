"""Peak RSS and time of a real `paperbrief ingest --file` for N papers (issue 14 item 1).

Each size runs in a fresh home as its own child process; the child's own peak RSS comes from
wait4. Papers come from tests/day_corpus.py (realistic arXiv-day abstracts, ~900-1,500
characters, 3-4 chunks each).

    .venv/bin/python bench/bench_ingest_memory.py            # 500, 2,000, 5,000, 20,000
    .venv/bin/python bench/bench_ingest_memory.py --quick    # 500, 2,000
    .venv/bin/python bench/bench_ingest_memory.py --sizes 800 \
        --env PAPERBRIEF_STORE__INGEST_BATCH=100
    .venv/bin/python bench/bench_ingest_memory.py --sizes 500 20000 --then 500

``--then N`` ingests N more papers into each store once it is built: the same input, a bigger
store, so what grows with the store (Chroma's in-memory HNSW index) shows apart from what
grows with the input. ``--server`` stores into a fresh `chroma run` server per size (the
several-machines set-up, `[store] chroma_url`) and reports the server's peak RSS beside the
ingest's: the index then lives in the server, not in the command.
"""

from __future__ import annotations

import argparse
import contextlib
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

from chroma_server import chroma_run  # noqa: E402
from day_corpus import day_papers  # noqa: E402


def write_papers(path: Path, n: int, prefix: str = "2611") -> None:
    with path.open("w", encoding="utf-8") as fh:
        day = datetime(2026, 11, 20, tzinfo=UTC)
        for paper in day_papers(n, day=day, seed=n, prefix=prefix):
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


def server_peak_mb() -> int:
    """Peak RSS of the newest `chroma run` child of this process (0 if none)."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            text = status.read_text()
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            cmdline = (status.parent / "cmdline").read_bytes()
            if int(fields["PPid"]) == os.getpid() and b"chroma" in cmdline:
                peaks.append(int(fields["VmHWM"].split()[0]) // 1024)
    return max(peaks, default=0)


def measure(args: argparse.Namespace, work: Path, n: int, env: dict[str, str]) -> None:
    path = work / f"papers{n}.jsonl"
    write_papers(path, n)
    seconds, peak, note = run_ingest(path, work / f"home{n}", env)
    server = f", server peak {server_peak_mb()} MB" if args.server else ""
    print(f"{n:>7} {seconds:>8.1f} {n / seconds:>8.1f} {peak:>11}  {note}{server}", flush=True)
    if args.then:
        more = work / f"more{n}.jsonl"
        write_papers(more, args.then, prefix="2612")  # other ids: all new
        seconds, peak, note = run_ingest(more, work / f"home{n}", env)
        server = f", server peak {server_peak_mb()} MB" if args.server else ""
        print(f"{f'+{args.then}':>7} {seconds:>8.1f} {args.then / seconds:>8.1f} {peak:>11}  "
              f"{note}, into the {n:,}-paper store{server}", flush=True)  # fmt: skip
        more.unlink()
    shutil.rmtree(work / f"home{n}", ignore_errors=True)
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 and 2,000 papers only")
    parser.add_argument("--sizes", type=int, nargs="*", help="paper counts to run")
    parser.add_argument("--env", nargs="*", default=[], help="NAME=VALUE for the ingest")
    parser.add_argument("--then", type=int, default=0, help="papers to add to each store")
    parser.add_argument("--server", action="store_true", help="store into `chroma run`")
    args = parser.parse_args()
    sizes = args.sizes or ([500, 2000] if args.quick else [500, 2000, 5000, 20000])
    extra = dict(item.split("=", 1) for item in args.env)
    work = Path(tempfile.mkdtemp(prefix="pb-ingest-mem-"))
    print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]}  cpus: {os.cpu_count()}")
    print(f"{'papers':>7} {'seconds':>8} {'papers/s':>8} {'peak RSS MB':>11}  result")
    try:
        for n in sizes:
            with contextlib.ExitStack() as stack:
                env = dict(extra)
                if args.server:
                    url = stack.enter_context(chroma_run(work / f"chroma{n}"))
                    env["PAPERBRIEF_STORE__CHROMA_URL"] = url
                measure(args, work, n, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
