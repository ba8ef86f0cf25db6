"""The Summarizer: one plain-language summary per paper version, cached, checked, accounted.

``Summarizer.run(papers)`` looks each paper up in the SummaryCache (key: paper id, version,
content hash, model, prompt version), asks the LLM for the rest with bounded concurrency,
cuts over-long fields to their limits, checks every summary for faithfulness, asks once for a
fix when a check fails and keeps the result ``flagged`` if it still fails, stops before
``max_cost`` would be exceeded, and returns a RunReport. Without an LLM it uses the extractive
engine. One paper's failure never sinks the run; an endpoint that cannot work at all
(unreachable, bad key, unknown model) stops the remaining calls and says so once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.llm.chat import ChatLLM, Message, run_sync
from agent.llm.errors import LLMCallError
from agent.models import ItemFailure, Paper, RunReport, Summary, SummaryDraft, Usage
from agent.summaries.extractive import ENGINE, ENGINE_VERSION, clean_text, summarize_extractive
from agent.summaries.faithfulness import check_summary
from agent.summaries.readability import compare
from agent.summaries.repair import fit_limits
from prompts import fence, load_prompt

if TYPE_CHECKING:
    from agent.config import Settings
    from store.seams import SummaryCache

log = logging.getLogger(__name__)

#: Called after each paper with (done, total).
ProgressCallback = Callable[[int, int], None]
COUNT_KEYS = (
    "summarized", "cached", "failed", "flagged", "skipped_budget", "llm_calls",
    "tokens_in", "tokens_out", "cost", "seconds",
)  # fmt: skip


class Summarizer:
    def __init__(
        self,
        settings: Settings,
        *,
        llm: ChatLLM | None = None,
        cache: SummaryCache | None = None,
    ) -> None:
        self.settings = settings
        self.llm = llm
        self.cache = cache
        if llm is not None and llm.method_store is None and cache is not None:
            llm.method_store = cache  # remember the structured-output method across runs
        self.prompt = load_prompt("summary")
        self.revise_prompt = load_prompt("summary_revise")

    # --- identity of what we produce -------------------------------------------------------------
    @property
    def model_key(self) -> str:
        return self.llm.model if self.llm is not None else ENGINE

    @property
    def prompt_version(self) -> str:
        return self.prompt.version if self.llm is not None else ENGINE_VERSION

    def messages_for(self, paper: Paper) -> list[Message]:
        system, user = self.prompt.render(
            title=fence(clean_text(paper.title)), abstract=fence(clean_text(paper.abstract))
        )
        return [("system", system.strip()), ("user", user.strip())]

    # --- cache -----------------------------------------------------------------------------
    def cached(self, paper: Paper) -> Summary | None:
        if self.cache is None:
            return None
        raw = self.cache.get(
            paper.id, paper.version, paper.content_hash, self.model_key, self.prompt_version
        )
        return Summary.model_validate_json(raw) if raw else None

    def get(self, paper: Paper) -> Summary | None:
        """The summary for this paper version: the configured model's, else the newest any."""
        found = self.cached(paper)
        if found is None and self.cache is not None:
            raw = self.cache.latest(paper.id, paper.version, paper.content_hash)
            found = Summary.model_validate_json(raw) if raw else None
        return found

    def _store(self, summary: Summary) -> None:
        if self.cache is not None:
            self.cache.put(
                summary.paper_id,
                summary.version,
                summary.content_hash,
                summary.model,
                summary.prompt_version,
                summary.model_dump_json(),
            )

    # --- runs ----------------------------------------------------------------------------------
    def run(
        self,
        papers: list[Paper],
        *,
        force: bool = False,
        max_cost: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> RunReport:
        if self.llm is None:
            return self._run_extractive(papers, force=force, progress=progress)
        return run_sync(self.arun(papers, force=force, max_cost=max_cost, progress=progress))

    def _start(self) -> RunReport:
        report = RunReport(step="summarize")
        report.counts = dict.fromkeys(COUNT_KEYS, 0.0)
        return report

    def _finish(self, report: RunReport, made: list[tuple[Summary, Paper]], t0: float) -> RunReport:
        report.counts["seconds"] = round(time.perf_counter() - t0, 3)
        report.counts["cost"] = round(report.counts["cost"], 6)
        if made:
            grades = compare([(f"{s.tldr} {s.summary}", p.abstract) for s, p in made])
            for key in ("summary_grade", "abstract_grade"):
                if grades[key] is not None:
                    report.counts[f"fk_{key}"] = float(grades[key])  # type: ignore[arg-type]
        return report.finish()

    def _run_extractive(
        self, papers: list[Paper], *, force: bool, progress: ProgressCallback | None
    ) -> RunReport:
        from agent.summaries.extractive import NO_LLM_NOTICE

        t0 = time.perf_counter()
        report = self._start()
        made: list[tuple[Summary, Paper]] = []
        for done, paper in enumerate(papers, 1):
            if not force and self.cached(paper) is not None:
                report.counts["cached"] += 1
            else:
                try:
                    summary = summarize_extractive(paper)
                except Exception as exc:  # one odd abstract must not sink the run
                    log.exception("extractive summary failed for %s", paper.id)
                    report.failures.append(
                        ItemFailure(item=paper.id, step="summarize", reason=str(exc))
                    )
                    report.counts["failed"] += 1
                else:
                    self._store(summary)
                    made.append((summary, paper))
                    report.counts["summarized"] += 1
            if progress:
                progress(done, len(papers))
        report.notes.append(NO_LLM_NOTICE)
        return self._finish(report, made, t0)

    async def arun(
        self,
        papers: list[Paper],
        *,
        force: bool = False,
        max_cost: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> RunReport:
        assert self.llm is not None
        llm = self.llm
        t0 = time.perf_counter()
        report = self._start()
        total = len(papers)
        done = 0
        todo: list[Paper] = []
        for paper in papers:
            if not force and self.cached(paper) is not None:
                report.counts["cached"] += 1
                done += 1
            else:
                todo.append(paper)
        if progress and done:
            progress(done, total)
        if max_cost is not None and llm.prices.get(llm.model) is None:
            report.notes.append(
                f"No price is known for model {llm.model} (llm_prices): cost counts as 0 and "
                "--max-cost cannot stop the run."
            )
        made: list[tuple[Summary, Paper]] = []
        budget = _Budget(max_cost, llm, self.settings.llm.max_tokens)
        fatal: list[LLMCallError] = []
        gate = asyncio.Semaphore(self.settings.llm.max_concurrency)

        async def one(paper: Paper) -> None:
            nonlocal done
            async with gate:
                try:
                    if fatal:
                        raise fatal[0]
                    estimate = budget.estimate(llm.count_prompt(self.messages_for(paper)))
                    if not budget.reserve(estimate):
                        report.counts["skipped_budget"] += 1
                        return
                    try:
                        summary = await self.summarize_one(paper)
                    finally:
                        budget.release(estimate)
                except LLMCallError as err:
                    if err.fatal and not fatal:
                        fatal.append(err)
                        report.notes.append(f"LLM endpoint unusable: {err} {err.hint}".strip())
                    budget.spend(err.usage)
                    _add_usage(report, err.usage)
                    report.failures.append(
                        ItemFailure(item=paper.id, step="summarize", reason=_reason(err))
                    )
                    report.counts["failed"] += 1
                else:
                    budget.spend(summary.usage)
                    _add_usage(report, summary.usage)
                    self._store(summary)
                    made.append((summary, paper))
                    report.counts["summarized"] += 1
                    report.counts["flagged"] += summary.flagged is not None
                finally:
                    done += 1
                    if progress:
                        progress(done, total)

        await asyncio.gather(*(one(p) for p in todo))
        if report.counts["skipped_budget"]:
            report.notes.append(
                f"Stopped at the budget of ${max_cost:.4f}: {int(report.counts['skipped_budget'])} "
                "paper(s) not summarized; rerun with a higher --max-cost to finish."
            )
        return self._finish(report, made, t0)

    async def summarize_one(self, paper: Paper) -> Summary:
        """Generate, check, revise once if needed; raise LLMCallError when no summary was made."""
        assert self.llm is not None
        source_text = f"{paper.abstract}\n{clean_text(paper.abstract)}"
        reply = await self.llm.astructured(self.messages_for(paper), SummaryDraft)
        draft = fit_limits(_tidy(reply.value))  # type: ignore[arg-type]
        usage = reply.usage
        problems = check_summary(draft, title=paper.title, abstract=source_text)
        method = reply.method
        if problems:
            log.info("summary of %s failed checks: %s", paper.id, problems)
            ask = self.revise_prompt.render(problems="\n".join(f"- {p}" for p in problems))[1]
            msgs = [*reply.messages, ("assistant", reply.raw), ("user", ask.strip())]
            try:
                second = await self.llm.astructured(msgs, SummaryDraft)
            except LLMCallError as err:
                if err.fatal:
                    raise
                usage = usage.add(err.usage)
            else:
                usage = usage.add(second.usage)
                draft2 = fit_limits(_tidy(second.value))  # type: ignore[arg-type]
                problems2 = check_summary(draft2, title=paper.title, abstract=source_text)
                if len(problems2) <= len(problems):
                    draft, problems, method = draft2, problems2, second.method
        return Summary(
            paper_id=paper.id,
            version=paper.version,
            content_hash=paper.content_hash,
            tldr=draft.tldr,
            summary=draft.summary,
            why_it_matters=draft.why_it_matters,
            key_terms=draft.key_terms,
            tags=draft.tags,
            model=self.llm.model,
            prompt_version=self.prompt.version,
            method=method,  # type: ignore[arg-type]
            flagged="; ".join(problems) if problems else None,
            usage=usage,
        )


def _tidy(draft: SummaryDraft) -> SummaryDraft:
    tags: list[str] = []
    for tag in draft.tags:
        t = " ".join(str(tag).lower().strip(" #.").split())
        if t and t not in tags:
            tags.append(t)
    terms = [k for k in draft.key_terms if k.term.strip()][:3]
    return SummaryDraft(
        tldr=" ".join(draft.tldr.split()),
        summary=" ".join(draft.summary.split()),
        why_it_matters=" ".join(draft.why_it_matters.split()),
        key_terms=terms,
        tags=tags[:5],
    )


def _reason(err: LLMCallError) -> str:
    return f"{err} {err.hint}".strip() if err.hint else str(err)


def _add_usage(report: RunReport, usage: Usage) -> None:
    report.counts["llm_calls"] += usage.calls
    report.counts["tokens_in"] += usage.tokens_in
    report.counts["tokens_out"] += usage.tokens_out
    report.counts["cost"] += usage.cost


class _Budget:
    """Admits a paper only if what was spent, plus what is in flight, plus its estimate fits."""

    def __init__(self, limit: float | None, llm: ChatLLM, max_tokens: int) -> None:
        self.limit = limit
        self.llm = llm
        self.max_tokens = max_tokens
        self.spent = 0.0
        self.in_flight = 0.0
        self.papers = 0
        self.tokens_out = 0
        self.calls = 0
        self.stopped = False

    def estimate(self, prompt_tokens: int) -> float:
        if self.papers:
            out = self.tokens_out / self.papers
            calls = max(1.0, self.calls / self.papers)
        else:
            out, calls = float(self.max_tokens), 1.0  # worst case until we have data
        return self.llm.cost(int(prompt_tokens * calls), int(out))

    def reserve(self, estimate: float) -> bool:
        if self.limit is None:
            return True
        if self.stopped or self.spent + self.in_flight + estimate > self.limit:
            self.stopped = True  # later papers would not fit either: keep the order honest
            return False
        self.in_flight += estimate
        return True

    def release(self, estimate: float) -> None:
        if self.limit is not None:
            self.in_flight -= estimate

    def spend(self, usage: Usage) -> None:
        self.spent += usage.cost
        self.papers += 1
        self.tokens_out += usage.tokens_out
        self.calls += usage.calls
