"""`paperbrief mcp` over stdio with the SDK's own client: start-up and the search round trip.

    python bench/bench_mcp.py --home /tmp/pb/coldstart/store-20000 [--starts 5] [--calls 50]
    python bench/bench_mcp.py --home STORE --http     # the same over streamable HTTP

Start-up, per fresh server process (median of --starts): process start to ``initialize``
answered, and to the first ``search`` answered (that one waits for the warm-up: store, model,
BM25 index). Then, in one session after start-up, --calls ``search`` calls (k=10, varied
queries) timed from the client: median and p95 round trip. A few ``ask`` calls (no LLM: the
extractive engine) for scale. The home is read only; no config file is read unless --config.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

CLI = [sys.executable, "-m", "cli.main"]
REPO = Path(__file__).resolve().parents[1]
QUERIES = [
    "process reward models for multi-step arithmetic reasoning",
    "dense passage retrieval for retrieval-augmented generation",
    "self-consistency voting on GSM8K",
    "query rewriting for hybrid sparse dense retrieval",
    "long-horizon question answering limits",
    "diffusion models for image generation",
    "graph neural networks for molecules",
    "reinforcement learning from human feedback",
    "vision transformers with fewer tokens",
    "speech recognition in noisy environments",
    "federated learning privacy guarantees",
    "protein structure prediction",
    "contrastive pretraining of text encoders",
    "robot grasping with tactile sensing",
    "efficient attention for long sequences",
    "mixture of experts routing",
    "quantization of large language models",
    "code generation benchmarks",
    "causal inference with observational data",
    "neural radiance fields",
    "time series forecasting with transformers",
    "adversarial robustness certification",
    "multilingual machine translation low-resource",
    "hallucination detection in summaries",
    "tabular data deep learning",
]
ASK = [
    "how do process reward models help multi-step arithmetic reasoning?",
    "does self-consistency voting improve GSM8K accuracy?",
    "what limits long-horizon question answering?",
]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def server_env(home: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PAPERBRIEF_"))}
    env.update(PAPERBRIEF_HOME=str(home), PAPERBRIEF_CONFIG=str(config), NO_COLOR="1")
    env["PYTHONPATH"] = str(REPO)
    return env


@asynccontextmanager
async def stdio_session(env: dict[str, str], errlog: Any) -> AsyncIterator[Any]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=CLI[0], args=[*CLI[1:], "mcp"], env=env, cwd=str(REPO))
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write, read_timeout_seconds=120) as session,
    ):
        yield session


@asynccontextmanager
async def http_session(env: dict[str, str], errlog: Any) -> AsyncIterator[Any]:
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [*CLI, "mcp", "--http", f"127.0.0.1:{port}"], env=env, cwd=REPO, stderr=errlog
    )
    try:
        while True:  # the port opens once uvicorn runs; initialize is timed from process start
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                await anyio.sleep(0.02)
        url = f"http://127.0.0.1:{port}/mcp"
        async with (
            streamable_http_client(url) as (read, write),
            ClientSession(read, write, read_timeout_seconds=120) as session,
        ):
            yield session
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def start_up(connect: Any, env: dict[str, str], errlog: Any) -> tuple[float, float]:
    """Seconds from process start to initialize answered, and to a first search answered."""
    started = time.perf_counter()
    async with connect(env, errlog) as session:
        await session.initialize()
        initialized = time.perf_counter() - started
        result = await session.call_tool("search", {"query": QUERIES[0], "k": 10})
        assert not result.is_error, result.content
        first = time.perf_counter() - started
    return initialized, first


def query_of(i: int) -> str:
    return QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else " methods")


async def round_trips(
    connect: Any, env: dict[str, str], errlog: Any, calls: int, baseline: Any = None
) -> dict:
    """``calls`` searches through the server; after each, the same search in-process when a
    ``baseline`` agent is given, so both meet the same load."""
    async with connect(env, errlog) as session:
        await session.initialize()
        await session.call_tool("search", {"query": "warm up", "k": 10})
        search_ms: list[float] = []
        local_ms: list[float] = []
        hits = 0
        for i in range(calls):
            t0 = time.perf_counter()
            result = await session.call_tool("search", {"query": query_of(i), "k": 10})
            search_ms.append((time.perf_counter() - t0) * 1000)
            assert not result.is_error, result.content
            hits += len(result.structured_content["hits"])
            if baseline is not None:
                t0 = time.perf_counter()
                baseline.search(query_of(i), k=10)
                local_ms.append((time.perf_counter() - t0) * 1000)
        ask_ms: list[float] = []
        for question in ASK:
            t0 = time.perf_counter()
            result = await session.call_tool("ask", {"question": question})
            ask_ms.append((time.perf_counter() - t0) * 1000)
            assert not result.is_error, result.content
    return {"search": search_ms, "local": local_ms, "ask": ask_ms, "hits": hits}


def local_agent(home: Path, config: Path) -> Any:
    """A PaperAgent in this process on the same store: what the MCP layer adds to."""
    sys.path.insert(0, str(REPO))
    from agent import PaperAgent, Settings

    agent = PaperAgent(Settings.load(config, home=home))
    agent.search("warm up", k=10)
    return agent


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, default=Path("/tmp/pb/coldstart/store-20000"))
    parser.add_argument("--config", type=Path, help="config file (default: an empty one)")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    parser.add_argument(
        "--no-baseline", dest="baseline", action="store_false", help="skip the in-process run"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = args.config or Path(tmp) / "empty.toml"
        if not args.config:
            config.write_text("# bench_mcp: defaults only\n", encoding="utf-8")
        env = server_env(args.home, config)
        connect = http_session if args.http else stdio_session
        transport = "streamable HTTP" if args.http else "stdio"
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {load()}")
        print(f"== paperbrief mcp ({transport}) on {args.home}")
        with (Path(tmp) / "server.log").open("w") as errlog:
            inits, firsts = [], []
            for _ in range(args.starts):
                initialized, first = anyio.run(start_up, connect, env, errlog)
                inits.append(initialized)
                firsts.append(first)
            print(
                f"start-up, {args.starts} fresh processes ({load()}): initialize answered "
                f"median {statistics.median(inits) * 1000:.0f} ms "
                f"(min {min(inits) * 1000:.0f}, max {max(inits) * 1000:.0f}); first search "
                f"answered median {statistics.median(firsts) * 1000:.0f} ms "
                f"(min {min(firsts) * 1000:.0f}, max {max(firsts) * 1000:.0f})"
            )
            agent = local_agent(args.home, config) if args.baseline else None
            got = anyio.run(round_trips, connect, env, errlog, args.calls, agent)
            if agent is not None:
                agent.close()
        s, a = got["search"], got["ask"]
        print(
            f"search round trip, {len(s)} calls, k=10 ({load()}): median "
            f"{statistics.median(s):.1f} ms, p95 {p95(s):.1f} ms, max {max(s):.1f} ms "
            f"({got['hits']} hits)"
        )
        if got["local"]:
            b = got["local"]
            print(
                f"the same searches in-process (PaperAgent.search, interleaved): median "
                f"{statistics.median(b):.1f} ms, p95 {p95(b):.1f} ms"
            )
        print(f"ask round trip (no LLM), {len(a)} calls: median {statistics.median(a):.0f} ms")


if __name__ == "__main__":
    main()
