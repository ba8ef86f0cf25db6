"""Summarize benchmark: tokens per paper, summaries per minute, reading grade.

    python bench/bench_summarize.py                     # scripted local server + no-model engine
    python bench/bench_summarize.py --base-url http://127.0.0.1:8080/v1 --model smollm2 \
        --limit 10 --concurrency 1                      # a real OpenAI-compatible server

Tokens are counted with tiktoken (o200k_base, offline) on the exact messages sent: system and
user prompt, plus the JSON schema the json_schema / function-calling request carries, plus the
completion. Target: under 600 prompt tokens per paper on average, instructions included.
Without --base-url the "model" is a scripted local OpenAI-compatible server that answers with
the extractive summary as JSON, so the figure is the pipeline's own overhead (HTTP, parsing,
checks, cache), not a model's speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from agent.config import Settings  # noqa: E402
from agent.llm.chat import make_llm  # noqa: E402
from agent.llm.structured import json_mode_hint, schema_of  # noqa: E402
from agent.llm.tokens import TokenCounter  # noqa: E402
from agent.models import Paper, SummaryDraft  # noqa: E402
from agent.summaries.extractive import summarize_extractive  # noqa: E402
from agent.summaries.readability import fk_grade  # noqa: E402
from agent.summaries.summarizer import Summarizer  # noqa: E402
from store.state.summary_cache import SqliteSummaryCache  # noqa: E402


def load_corpus() -> list[Paper]:
    papers: list[Paper] = []
    demo = REPO / "agent" / "data" / "demo_corpus.jsonl"
    if demo.exists():
        for line in demo.read_text(encoding="utf-8").splitlines():
            if line.strip():
                papers.append(Paper(**{"source": "demo", **json.loads(line)}))
    hf = REPO.parent / "shared" / "samples" / "hf_daily_papers_2026-08-19.json"
    if hf.exists():
        for item in json.loads(hf.read_text(encoding="utf-8")):
            p = item["paper"]
            papers.append(Paper(id=p["id"], title=p["title"], abstract=p["summary"], source="hf"))
    if not papers:
        for line in (REPO / "tests" / "fixtures" / "llm" / "papers.jsonl").read_text().splitlines():
            papers.append(Paper(**json.loads(line)))
    return papers


def token_table(papers: list[Paper], summarizer: Summarizer, counter: TokenCounter) -> dict:
    schema_tokens = counter.count(json.dumps(schema_of(SummaryDraft), separators=(",", ":")))
    hint_tokens = counter.count(json_mode_hint(SummaryDraft))
    prompt = [counter.count_messages(summarizer.messages_for(p)) for p in papers]
    abstract = [counter.count(p.abstract) for p in papers]
    instructions = [pr - ab for pr, ab in zip(prompt, abstract, strict=True)]
    return {
        "papers": len(papers),
        "abstract_tokens_mean": round(statistics.mean(abstract), 1),
        "instruction_tokens_mean": round(statistics.mean(instructions), 1),
        "prompt_tokens_mean": round(statistics.mean(prompt), 1),
        "prompt_tokens_max": max(prompt),
        "schema_tokens": schema_tokens,
        "json_mode_hint_tokens": hint_tokens,
        "prompt_plus_schema_mean": round(statistics.mean(prompt) + schema_tokens, 1),
    }


def run_llm(papers: list[Paper], settings: Settings, counter: TokenCounter) -> dict:
    with tempfile.TemporaryDirectory() as home:
        settings = settings.model_copy(update={"home": Path(home)})
        summarizer = Summarizer(
            settings, llm=make_llm(settings), cache=SqliteSummaryCache(settings.state_path)
        )
        started = time.perf_counter()
        report = summarizer.run(papers)
        elapsed = time.perf_counter() - started
        made = [(summarizer.get(p), p) for p in papers]
        made = [(s, p) for s, p in made if s is not None]
    completion = [
        counter.count(json.dumps(s.model_dump(include=set(SummaryDraft.model_fields))))
        for s, _ in made
    ]
    grades = [(fk_grade(f"{s.tldr} {s.summary}"), fk_grade(p.abstract)) for s, p in made]
    return {
        "summarized": int(report.counts["summarized"]),
        "failed": int(report.counts["failed"]),
        "flagged": int(report.counts["flagged"]),
        "llm_calls": int(report.counts["llm_calls"]),
        "seconds": round(elapsed, 2),
        "summaries_per_minute": round(60 * len(made) / elapsed, 1) if elapsed else None,
        "completion_tokens_mean": round(statistics.mean(completion), 1) if completion else None,
        "fk_summary": _mean([g[0] for g in grades]),
        "fk_abstract": _mean([g[1] for g in grades]),
        "methods": sorted({s.method for s, _ in made}),
        "flag_reasons": [s.flagged for s, _ in made if s.flagged][:5],
        "failures": [f.reason for f in report.failures][:3],
    }


def run_extractive(papers: list[Paper]) -> dict:
    started = time.perf_counter()
    made = [(summarize_extractive(p), p) for p in papers]
    elapsed = time.perf_counter() - started
    return {
        "summaries_per_minute": round(60 * len(made) / elapsed),
        "fk_summary": _mean([fk_grade(f"{s.tldr} {s.summary}") for s, _ in made]),
        "fk_abstract": _mean([fk_grade(p.abstract) for _, p in made]),
    }


def _mean(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return round(statistics.mean(got), 1) if got else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", help="OpenAI-compatible endpoint; default: scripted server")
    ap.add_argument("--model", default="test-model")
    ap.add_argument("--api-key", default="no-key")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=400)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()

    papers = load_corpus()[: args.limit]
    counter = TokenCounter("gpt-4o-mini")
    base = dict(
        llm_model=args.model,
        openai_api_key=args.api_key,
        llm_max_concurrency=args.concurrency,
        llm_max_tokens=args.max_tokens,
        llm_timeout=args.timeout,
        llm_max_retries=1,
    )
    summarizer = Summarizer(Settings(llm_base_url="http://unused/v1", **base))
    figures: dict = {"tokens": token_table(papers, summarizer, counter)}
    figures["extractive"] = run_extractive(papers)
    if args.base_url:
        figures["llm"] = run_llm(papers, Settings(llm_base_url=args.base_url, **base), counter)
    else:
        from openai_server import OpenAIServer, structured

        by_title = {p.title: summarize_extractive(p) for p in papers}

        def answer(request: dict) -> dict:
            user = request["messages"][1]["content"]
            title = next(t for t in by_title if t in user)
            draft = by_title[title].model_dump(include=set(SummaryDraft.model_fields))
            return structured(draft, usage=None)(request)

        with OpenAIServer(handler=answer) as server:
            figures["scripted_server"] = run_llm(
                papers, Settings(llm_base_url=server.url, **base), counter
            )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
