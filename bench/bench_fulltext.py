"""Full-text parsing: time and memory to parse the two real arXiv PDFs and the LaTeXML pages.

    python bench/bench_fulltext.py              # one fresh process per document, then a loop
    python bench/bench_fulltext.py --rounds 50  # a longer loop: does RSS keep growing?

Each document is parsed in its own fresh process (so its peak RSS is its own): the table gives
the bytes read, the parse time (median of --repeat runs, after one warm-up run that also pays for
imports), the structure found (sections, captions, footnotes, references, body characters), the
body chunks ``chunk_document`` makes and how long that takes (MiniLM tokenizer counts), and the
RSS after imports and at peak. Then one process parses every document --rounds times in a loop
and prints its RSS every few rounds. Documents: ../shared/samples' two arXiv PDFs (skipped when
absent), tests/fixtures/fulltext's PDFs and LaTeXML HTML pages, and one of those pages
repeated to the size of a long real arXiv HTML paper.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SAMPLES = REPO.parent / "shared" / "samples"
FIXTURES = REPO / "tests" / "fixtures" / "fulltext"
SYNTHETIC = "routed_retrieval.html x80 (synthetic)"


def documents() -> list[Path]:
    found = [
        SAMPLES / "arxiv_pdf_1706.03762v5_resaved.pdf",
        SAMPLES / "arxiv_pdf_1810.04805v2_resaved.pdf",
        *sorted(FIXTURES.glob("*.pdf")),
        *sorted(p for p in FIXTURES.glob("*.html") if p.name.split("_")[0] not in _NOT_PAPERS),
    ]
    return [p for p in found if p.is_file()] + [Path(SYNTHETIC)]


_NOT_PAPERS = {"arxiv", "latexml"}  # the stub and fatal-error pages


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_page(copies: int = 80) -> str:
    """routed_retrieval.html with its body repeated ``copies`` times, each copy's formulas made
    distinct (so the formula cache does not flatter the figure): about the size and math count
    of a long real arXiv HTML paper (~1.3 MB, ~1,000 formulas)."""
    page = (FIXTURES / "routed_retrieval.html").read_text(encoding="utf-8")
    start, end = page.index('<section id="S1"'), page.index('<section id="bib"')
    body = page[start:end]
    copies_text = [body.replace('alttext="', f'alttext="{k}+') for k in range(copies)]
    return page[:start] + "".join(copies_text) + page[end:]


def parse(path: Path):  # -> Document
    from agent.fulltext import parse_html, parse_pdf

    if path.name == SYNTHETIC:
        return parse_html(synthetic_page())
    data = path.read_bytes()
    if path.suffix == ".pdf":
        return parse_pdf(data)
    return parse_html(data.decode("utf-8"))


def measure_one(path: Path, repeat: int) -> dict[str, float | int | str]:
    """Run in a fresh process: figures for one document, as JSON on stdout."""
    started = time.perf_counter()
    import agent.fulltext  # noqa: F401
    from agent.fulltext import chunk_document
    from store.papers.chunking import count_tokens

    count_tokens(["warm the tokenizer"])
    imports_s = time.perf_counter() - started
    base = rss_mb()
    first_started = time.perf_counter()
    doc = parse(path)
    first_s = time.perf_counter() - first_started
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        doc = parse(path)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    chunks = chunk_document(doc)
    chunk_s = time.perf_counter() - t
    return {
        "name": path.name,
        "bytes": len(synthetic_page()) if path.name == SYNTHETIC else path.stat().st_size,
        "imports_s": imports_s,
        "first_s": first_s,
        "parse_s": statistics.median(times),
        "sections": len(doc.sections),
        "captions": len(doc.captions),
        "footnotes": len(doc.footnotes),
        "references": len(doc.references),
        "body_chars": doc.body_chars,
        "chunks": len(chunks),
        "chunk_s": chunk_s,
        "rss_base_mb": base,
        "rss_peak_mb": peak_mb(),
    }


def loop(paths: list[Path], rounds: int) -> None:
    from agent.fulltext import chunk_document

    print(f"\none process, {len(paths)} documents x {rounds} rounds (parse + chunk):")
    started = time.perf_counter()
    for n in range(1, rounds + 1):
        for path in paths:
            chunk_document(parse(path))
        if n in (1, 2, 5) or n % 10 == 0 or n == rounds:
            print(f"  round {n:>3}: RSS {rss_mb():6.1f} MB, peak {peak_mb():6.1f} MB", flush=True)
    per_round = (time.perf_counter() - started) / rounds
    print(f"  {per_round:.2f} s per round")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed parses per document")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the in-process loop")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.repeat)))
        return
    paths = documents()
    if not (SAMPLES / "arxiv_pdf_1706.03762v5_resaved.pdf").is_file():
        print("(../shared/samples is absent: only the repository's own fixtures are measured)")
    header = (
        f"{'document':<42} {'kB':>6} {'1st s':>6} {'parse s':>8} {'sect':>4} {'capt':>4} "
        f"{'fn':>3} {'refs':>4} {'body chars':>10} {'chunks':>6} {'chunk s':>7} "
        f"{'RSS MB':>7} {'peak MB':>7}"
    )
    print(header)
    for path in paths:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(path), "--repeat", str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"{r['name']:<42} {r['bytes'] / 1024:>6.0f} {r['first_s']:>6.2f} {r['parse_s']:>8.3f} "
            f"{r['sections']:>4} {r['captions']:>4} {r['footnotes']:>3} {r['references']:>4} "
            f"{r['body_chars']:>10,} {r['chunks']:>6} {r['chunk_s']:>7.3f} "
            f"{r['rss_base_mb']:>7.0f} {r['rss_peak_mb']:>7.0f}",
            flush=True,
        )
    loop(paths, args.rounds)


if __name__ == "__main__":
    main()
