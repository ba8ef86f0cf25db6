"""Readability of the no-model summaries: grade level, back-reference openers, cut-offs.

    python bench/bench_readability.py            # before (the engine at git HEAD) and after
    python bench/bench_readability.py --no-before --show 5

For each corpus (the demo corpus, any paper corpus under bench/, the real payloads in
../shared/samples read with the project's own parsers) it prints the mean Flesch-Kincaid grade
of the abstracts, of the no-model TL;DRs and of why_it_matters (agent/summaries/readability.py),
how many of those open by pointing back ("These ...", "It ...") and how many are cut off
(an ellipsis, no full stop, or a dangling last word). Hugging Face ``ai_summary`` is removed
first, so every TL;DR measured is the engine's own. "before" imports the engine from
``git show HEAD:agent/summaries/extractive.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.models import Paper, Summary  # noqa: E402
from agent.sources.files import read_papers  # noqa: E402
from agent.summaries.extractive import summarize_extractive  # noqa: E402
from agent.summaries.plain_text import BACK_REFERENCE, ends_cleanly  # noqa: E402
from agent.summaries.readability import fk_grade  # noqa: E402

SAMPLES = REPO.parent / "shared" / "samples"
Engine = Callable[[Paper], Summary]


def opens_with_back_reference(text: str) -> bool:
    """Starts by pointing at something the reader has not seen ("These artefacts ...")."""
    return bool(BACK_REFERENCE.match(text.strip()))


def is_cut_off(text: str) -> bool:
    """Stops mid-clause: an ellipsis, no full stop, or a last word that cannot end a clause."""
    return bool(text.strip()) and not ends_cleanly(text)


def _jsonl_papers(path: Path) -> list[Paper]:
    papers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else {}
        if row.get("abstract") and row.get("title"):
            papers.append(Paper(**{"source": "file", **row}))
    return papers


def corpora() -> dict[str, list[Paper]]:
    found = {"demo": _jsonl_papers(REPO / "agent" / "data" / "demo_corpus.jsonl")}
    for path in sorted((REPO / "bench").glob("*.jsonl")):  # question sets hold no abstracts
        if papers := _jsonl_papers(path):
            found[f"bench/{path.name}"] = papers
    samples: list[Paper] = []
    for path in sorted(SAMPLES.glob("*.xml")) + sorted(SAMPLES.glob("*.json")):
        try:
            samples += read_papers(path).papers
        except Exception:  # error answers, formats we do not read (OAI-PMH): not abstracts
            continue
    if samples:
        found["samples"] = samples
    return found


def engine_at_head() -> Engine | None:
    try:
        source = subprocess.run(
            ["git", "show", "HEAD:agent/summaries/extractive.py"],
            cwd=REPO, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "extractive_head.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("extractive_head", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.summarize_extractive  # type: ignore[no-any-return]


def _mean(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return round(statistics.mean(got), 1) if got else None


def measure(papers: list[Paper], engine: Engine) -> dict:
    own = [p.model_copy(update={"extra": {}}) for p in papers]
    made = [engine(p) for p in own]
    tldrs = [s.tldr for s in made]
    whys = [s.why_it_matters for s in made if s.why_it_matters]
    outputs = tldrs + whys
    return {
        "papers": len(papers),
        "fk_abstract": _mean([fk_grade(p.abstract) for p in papers]),
        "fk_tldr": _mean([fk_grade(t) for t in tldrs]),
        "fk_why": _mean([fk_grade(w) for w in whys]),
        "fk_tldr_plus_summary": _mean([fk_grade(f"{s.tldr} {s.summary}") for s in made]),
        "why_filled": len(whys),
        "tldr_words_mean": _mean([len(t.split()) for t in tldrs]),
        "back_reference_openers": sum(opens_with_back_reference(t) for t in outputs),
        "cut_off": sum(is_cut_off(t) for t in outputs),
        "latex_left": sum("\\" in t or "$" in t for t in outputs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-before", action="store_true", help="skip the engine at git HEAD")
    ap.add_argument("--show", type=int, default=0, help="print N TL;DRs per corpus")
    args = ap.parse_args()
    engines: dict[str, Engine] = {}
    old = None if args.no_before else engine_at_head()
    if old is not None:
        engines["before"] = old
    engines["after"] = summarize_extractive
    figures: dict = {}
    for name, papers in corpora().items():
        figures[name] = {label: measure(papers, eng) for label, eng in engines.items()}
        for paper in papers[: args.show]:
            s = summarize_extractive(paper.model_copy(update={"extra": {}}))
            print(f"[{name}] {paper.id}\n  tldr: {s.tldr}\n  why:  {s.why_it_matters}")
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
