"""Digest time and size on a real day's volume, from a real store.

    .venv/bin/python bench/bench_digest.py [--sizes 200 800 2000] [--repeat 3]
        [--history 0] [--embedder hashing|minilm] [--work DIR] [--json]

For each size, a real Chroma store holds that many papers dated in the window (the synthetic
but realistic day of tests/day_corpus.py: 16 fields in a real day's proportions, abstracts of
900-1,500 characters), their shown papers summarized by the offline engine (as ``run`` does
before building). Then, for a reader with no profile and for one who imported a library of 30
papers of one field (CSL-JSON, the linear-SVM regime), the four steps of a digest are timed as
PaperAgent runs them (median of ``--repeat``):

* select  the window's papers from the store (minus those already sent)
* rank    paper vectors from the store, the reader's signal, ranking, choosing the shown ones
* build   summaries of the shown papers, themes, keyword names, the counted rest
* render  the mail's HTML (CSS inlined), Markdown and text, and the full list (HTML, Markdown)

and the sizes of the mail's HTML and text parts and of full.html, and how many of the shown
papers are of the library's field ("on-field"; about 12% of the day is). Building the store is
not timed; ``--history N`` adds N papers of the 30 days before the window to each store, as a
store in use for a month holds them (selecting reads the whole store: see
agent/digest/flow.py). ``--embedder hashing`` (default) embeds by feature hashing in
microseconds; ``minilm`` uses the bundled model (minutes to build the stores; the digest steps
cost the same).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from day_corpus import day_papers, library_csl  # noqa: E402

from agent.config import ProfileSettings, Settings  # noqa: E402
from agent.digest.flow import FULL_LIST, DigestRequest  # noqa: E402
from agent.digest.render import render_all  # noqa: E402
from agent.models import PaperFilter  # noqa: E402
from agent.pipeline import PaperAgent  # noqa: E402

NOW = datetime(2026, 11, 26, 6, tzinfo=UTC)
LIBRARY_FIELD = "llm-reasoning"
READERS = {"default": "none", "reader": f"library of 30 ({LIBRARY_FIELD})"}
GOAL_SECONDS = 5.0


def make_embedder(kind: str) -> Any:
    from store import make_embedder as make
    from store.embedding.embedders import HashingEmbedder

    return HashingEmbedder(384) if kind == "hashing" else make("minilm")


def corpus(n: int, history: int) -> tuple[list[dict], list[dict]]:
    """The day (``n`` papers in the window) and ``history`` older papers over the 30 days
    before it (ids 2610.*), as a store that has run for a month holds them."""
    papers = day_papers(n, day=NOW - timedelta(minutes=5), seed=n)
    older = day_papers(history, day=NOW - timedelta(days=2), seed=n + 1, prefix="2610")
    for i, paper in enumerate(older):
        paper["published"] = (NOW - timedelta(days=2 + i % 30, minutes=i)).isoformat()
    return papers, older


def build_home(home: Path, n: int, history: int, embedder: Any) -> Settings:
    """A store of ``n`` papers dated in the window (and ``history`` older ones), a reader
    profile with a library, and the shown papers of both readers summarized (offline engine)."""
    settings = Settings(home=home, profiles={"reader": ProfileSettings()})
    with PaperAgent(settings, embedder=embedder) as agent:
        if agent.store.stats().papers != n + history:
            t0 = time.perf_counter()
            papers, older = corpus(n, history)
            agent.store.upsert(older + papers)
            print(f"  built a store of {n + history} papers in {time.perf_counter() - t0:.1f} s",
                  flush=True)  # fmt: skip
        library = home / "library.json"
        library.write_text(json.dumps(library_csl(LIBRARY_FIELD, 30)), encoding="utf-8")
        agent.import_library(library, profile="reader")
        for name in READERS:
            selection = agent.select(PaperFilter(since="1d"), now=NOW, profile=name)
            choice = agent.choose(selection, DigestRequest(NOW, profile_name=name))
            agent.summarize(ids=[p["id"] for p in choice.shown_papers])
    return settings


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def one_digest(agent: PaperAgent, name: str, topics: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    row["select"], selection = timed(
        lambda: agent.select(PaperFilter(since="1d"), now=NOW, profile=name)
    )
    request = DigestRequest(NOW, profile_name=name)
    row["rank"], choice = timed(lambda: agent.choose(selection, request))
    row["build"], digest = timed(
        lambda: agent.digest(choice=choice, now=NOW, profile=name, save=False)
    )
    # As when saved: the mail links the full list (save=False keeps the history clean).
    digest.full_list = str(agent.settings.home / "digests" / digest.id / FULL_LIST)
    row["render"], rendered = timed(lambda: render_all(digest))
    row["total"] = row["select"] + row["rank"] + row["build"] + row["render"]
    row.update(
        html=len(rendered.html.encode("utf-8")),
        txt=len(rendered.txt.encode("utf-8")),
        full=len(rendered.full_html.encode("utf-8")),
        regime=digest.ranked_by,
        shown=len(digest.papers),
        rest=len(digest.rest),
        themes=len(digest.themes),
        on_topic=sum(topics.get(p.id) == LIBRARY_FIELD for p in digest.papers),
    )
    return row


def measure(
    settings: Settings, embedder: Any, name: str, repeat: int, topics: dict[str, str]
) -> dict[str, Any]:
    with PaperAgent(settings, embedder=embedder) as agent:
        one_digest(agent, name, topics)  # warm: imports (sklearn, css_inline), templates
        runs = [one_digest(agent, name, topics) for _ in range(repeat)]
    row = dict(runs[-1])
    for key in ("select", "rank", "build", "render", "total"):
        row[key] = statistics.median(r[key] for r in runs)
    return row


HEADER = (
    f"{'papers':>6} {'reader':<28} {'regime':<8} {'select':>6} {'rank':>6} {'build':>6} "
    f"{'render':>6} {'total s':>7} {'shown':>5} {'rest':>5} {'themes':>6} "
    f"{'HTML KB':>7} {'text KB':>7} {'full KB':>7} {'on-field':>8}"
)


def line(n: int, name: str, r: dict[str, Any]) -> str:
    return (
        f"{n:>6} {READERS[name]:<28} {r['regime']:<8} {r['select']:>6.2f} {r['rank']:>6.2f} "
        f"{r['build']:>6.2f} {r['render']:>6.2f} {r['total']:>7.2f} {r['shown']:>5} "
        f"{r['rest']:>5} {r['themes']:>6} {r['html'] / 1000:>7.1f} {r['txt'] / 1000:>7.1f} "
        f"{r['full'] / 1000:>7.1f} {r['on_topic']:>8}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 800, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--embedder", choices=["hashing", "minilm"], default="hashing")
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="older papers in the store besides the day's (a store in use)",
    )
    parser.add_argument("--work", type=Path, help="keep the stores here and reuse them")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args()
    embedder = make_embedder(args.embedder)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        for n in args.sizes:
            home = work / (f"{args.embedder}-{n}" + (f"+{args.history}" if args.history else ""))
            settings = build_home(home, n, args.history, embedder)
            topics = {p["id"]: p["topic"] for p in corpus(n, 0)[0]}
            for name in READERS:
                rows.append((n, name, measure(settings, embedder, name, args.repeat, topics)))
    if args.history:
        print(f"each store also holds {args.history:,} papers of the 30 days before the window")
    print(HEADER)
    for n, name, row in rows:
        print(line(n, name, row))
    worst = max(r["total"] for n, _, r in rows if n == max(args.sizes))
    verdict = "within" if worst < GOAL_SECONDS else "OVER"
    print(f"slowest digest at {max(args.sizes):,} papers: {worst:.2f} s ({verdict} the "
          f"{GOAL_SECONDS:.0f} s goal); sizes in kB of UTF-8")  # fmt: skip
    if args.json:
        print(json.dumps([{"papers": n, "reader": name, **row} for n, name, row in rows]))


if __name__ == "__main__":
    main()
