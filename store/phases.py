"""Where a command's start-up time goes: ``PAPERBRIEF_PROFILE_STARTUP=1`` prints the time of
each named phase (Chroma open, BM25 load, query embedding, ...) to stderr when the process ends.

Off, :func:`phase` costs one attribute check. Stdlib only: every layer may import it, and the
CLI's start must stay cheap.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import time
from collections.abc import Iterator

ENABLED = os.environ.get("PAPERBRIEF_PROFILE_STARTUP", "") not in ("", "0")

_rows: list[tuple[int, str, float, float, float]] = []  # depth, name, start, wall s, cpu s
_depth = 0


def _process_start() -> float | None:
    """perf_counter() at the moment this process started (Linux /proc), else None."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return time.perf_counter() - (uptime - started)


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as ``name`` (nested blocks are shown indented under it)."""
    global _depth
    if not ENABLED:
        yield
        return
    start, cpu = time.perf_counter(), time.process_time()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        wall = time.perf_counter() - start
        _rows.append((_depth, name, start, wall, time.process_time() - cpu))


def report() -> str:
    """The phases in start order (wall and CPU ms: CPU time is what a quiet machine would wait
    when others share the CPU), then what happened before the first and after the last."""
    end, end_cpu = time.perf_counter(), time.process_time()
    t0 = _process_start()
    rows = sorted(_rows, key=lambda r: r[2])
    lines = ["paperbrief startup profile (wall ms, cpu ms):"]
    top = [r for r in rows if r[0] == 0]
    first_cpu = end_cpu - sum(r[4] for r in top)  # CPU outside phases, mostly before them
    if t0 is not None and top:
        lines.append(f"{(top[0][2] - t0) * 1000:8.0f} {'':8}  before the first phase "
                     "(interpreter, imports, settings)")  # fmt: skip
    for depth, name, _, wall, cpu in rows:
        lines.append(f"{wall * 1000:8.0f} {cpu * 1000:8.0f}  {'  ' * depth}{name}")
    if top:
        last = max(r[2] + r[3] for r in top)
        gaps = (last - top[0][2]) - sum(r[3] for r in top)
        lines.append(f"{gaps * 1000:8.0f} {'':8}  between phases (agent code, untimed steps)")
        lines.append(f"{(end - last) * 1000:8.0f} {'':8}  after the last phase (rendering, exit)")
        lines.append(f"{'':8} {first_cpu * 1000:8.0f}  outside phases (imports, agent, rendering)")
    if t0 is not None:
        lines.append(f"{(end - t0) * 1000:8.0f} {end_cpu * 1000:8.0f}  total")
    return "\n".join(lines)


if ENABLED:
    atexit.register(lambda: print(report(), file=sys.stderr))
