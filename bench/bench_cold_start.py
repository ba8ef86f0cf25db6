"""Cold start of `paperbrief search` and `paperbrief ask` (no LLM: the extractive engine).

    python bench/bench_cold_start.py --root /tmp/pb/coldstart [--papers 20000 100000] [--runs 7]
    python bench/bench_cold_start.py --quick        # a 2,000-paper store, 3 runs
    python bench/bench_cold_start.py --papers 20000 --runs 5 --daemon [--no-in-process]

Builds the stores once under --root (bench/coldstart_stores.py: realistic text, MiniLM vectors
for the first papers, jittered real vectors for the rest) and reuses them. Each run is a fresh
`paperbrief` process; it prints wall time (median, p90), CPU time (user + sys: close to the
wall time of a quiet machine when other processes share the CPU), peak RSS, and the median of
each phase that PAPERBRIEF_PROFILE_STARTUP=1 makes the CLI print (store/phases.py).

``--daemon`` also measures the same commands with `paperbrief serve` running on the store (its
start-up time too: from launch until it answers, median of 3 starts); a run the daemon did not
answer (its client imported chromadb) stops the benchmark rather than count as a daemon figure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.serve.daemon import ping
from agent.serve.protocol import socket_path
from bench.coldstart_stores import build_store

QUESTIONS = [
    "how do process reward models help multi-step arithmetic reasoning?",
    "dense passage retrieval for retrieval-augmented generation",
    "does self-consistency voting improve GSM8K accuracy?",
    "query rewriting for hybrid sparse-dense retrieval",
    "what limits long-horizon question answering?",
]
_ROW = re.compile(r"^([ \d-]{8}) ([ \d-]{8})  (\s*)(.+)$")
CLI = [sys.executable, "-m", "cli.main"]
#: GNU time gives each run's own peak RSS and CPU time.
TIME = shutil.which("time") or "/usr/bin/time"
#: The checkout whose CLI runs (--tree: e.g. an export of the previous commit, for "before").
TREE = [Path(__file__).resolve().parents[1]]


def clean_env(home: Path) -> dict[str, str]:
    """No LLM, no user config: the no-model engines, as a fresh install would run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PAPERBRIEF_"))}
    env.update(PAPERBRIEF_HOME=str(home), PAPERBRIEF_PROFILE_STARTUP="1", NO_COLOR="1")
    empty = home / "no-config.toml"
    if not empty.is_file():
        empty.write_text("# bench_cold_start: defaults only\n")
    env["PAPERBRIEF_CONFIG"] = str(empty)
    return env


def run_once(home: Path, command: list[str]) -> tuple[float, float, int, dict[str, tuple]]:
    """(wall s, cpu s, peak RSS MB, phase -> (wall ms, cpu ms)) of one fresh process."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as usage:
        start = time.perf_counter()
        done = subprocess.run(
            [TIME, "-f", "%M %U %S", "-o", usage.name, *CLI, *command],
            env=clean_env(home),
            capture_output=True,
            text=True,
            cwd=TREE[0],
            check=False,
        )
        wall = time.perf_counter() - start
        rss_kb, user, system = usage.read().split()[-3:]
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    phases: dict[str, tuple] = {}
    for line in done.stderr.split("paperbrief startup profile")[-1].splitlines():
        m = _ROW.match(line)
        if m:
            wall_ms, cpu_ms = (float(g) if g.strip() else None for g in m.group(1, 2))
            phases[m.group(3) + m.group(4)] = (wall_ms, cpu_ms)
    return wall, float(user) + float(system), int(rss_kb) // 1024, phases


def measure(
    home: Path, label: str, command: list[str], runs: int, *, query=True, served=False
) -> None:
    walls, cpus, rss = [], [], []
    phases: dict[str, list[tuple]] = defaultdict(list)
    run_once(home, [*command, QUESTIONS[0]] if query else command)  # a warm page cache
    for i in range(runs):
        q = [QUESTIONS[i % len(QUESTIONS)]] if query else []
        wall, cpu, peak, ph = run_once(home, [*command, *q])
        loaded_chroma = any(name.strip() == "chromadb import" for name in ph)
        if query and served == loaded_chroma:  # not served, or a daemon left running?
            raise SystemExit(f"{label}: run {i + 1} was {'not ' * served}answered by a daemon")
        walls.append(wall)
        cpus.append(cpu)
        rss.append(peak)
        for name, ms in ph.items():
            phases[name].append(ms)
    walls.sort()
    p90 = walls[min(len(walls) - 1, round(0.9 * (len(walls) - 1)))]
    print(
        f"\n{label}: wall median {statistics.median(walls):.2f} s, p90 {p90:.2f} s; "
        f"cpu median {statistics.median(cpus):.2f} s; "
        f"peak RSS median {statistics.median(rss):.0f} MB "
        f"({runs} runs, {load()})"
    )
    print("   wall ms   cpu ms  phase (medians)")
    for name, values in phases.items():
        cols = [[v[i] for v in values if v[i] is not None] for i in (0, 1)]
        wall_ms, cpu_ms = (f"{statistics.median(c):8.0f}" if c else " " * 8 for c in cols)
        print(f"  {wall_ms} {cpu_ms}  {name}")


def start_daemon(home: Path) -> tuple[subprocess.Popen, float]:
    """`paperbrief serve` on ``home`` and the seconds until it answered a ping."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*CLI, "serve"], env=clean_env(home), cwd=TREE[0],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    while ping(socket_path(home)) is None:
        if proc.poll() is not None or time.perf_counter() - start > 300:
            proc.kill()
            raise SystemExit(f"paperbrief serve failed:\n{proc.communicate()[1][-2000:]}")
        time.sleep(0.02)
    return proc, time.perf_counter() - start


def stop_daemon(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)


def measure_daemon(home: Path, runs: int) -> None:
    starts = []
    for _ in range(3):
        proc, seconds = start_daemon(home)
        starts.append(seconds)
        if len(starts) < 3:
            stop_daemon(proc)
    print(
        f"\npaperbrief serve start-up (launch to first answer): median "
        f"{statistics.median(starts):.2f} s of {', '.join(f'{s:.2f}' for s in starts)} ({load()})"
    )
    try:
        measure(home, "paperbrief search, daemon running", ["search", "--k", "10"], runs,
                served=True)  # fmt: skip
        measure(home, "paperbrief ask (no LLM), daemon running", ["ask", "--no-stream"], runs,
                served=True)  # fmt: skip
    finally:
        stop_daemon(proc)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("/tmp/pb/coldstart"))
    parser.add_argument("--papers", type=int, nargs="+", default=[20000, 100000])
    parser.add_argument("--real-papers", type=int, default=5800)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="2,000 papers, 3 runs")
    parser.add_argument("--tree", type=Path, help="run the CLI of this checkout instead")
    parser.add_argument("--home", type=Path, help="measure this existing home, build nothing")
    parser.add_argument("--daemon", action="store_true", help="also with `paperbrief serve`")
    parser.add_argument("--no-in-process", action="store_true", help="only the daemon case")
    args = parser.parse_args()
    if args.tree:
        TREE[0] = args.tree.resolve()
    if args.quick:
        args.papers, args.real_papers, args.runs = [2000], 300, 3
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {load()}")
    homes = [args.home] if args.home else [build_store(args.root, n, args.real_papers)
                                           for n in args.papers]  # fmt: skip
    for home in homes:
        print(f"\n== {home} (CLI of {TREE[0]})")
        if not args.no_in_process:
            measure(home, "paperbrief search", ["search", "--k", "10"], args.runs)
            measure(home, "paperbrief ask (no LLM)", ["ask", "--no-stream"], args.runs)
            measure(home, "paperbrief --help", ["--help"], args.runs, query=False)
        if args.daemon or args.no_in_process:
            measure_daemon(home, args.runs)


if __name__ == "__main__":
    main()
