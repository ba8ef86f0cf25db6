"""Question answering with citations over the stored papers.

``QAEngine(search_fn, llm=..., get_paper_fn=..., settings=...)`` answers a question in four steps:

1. retrieve: hybrid search (dense + BM25 over chunks, RRF, one hit per paper), ``k`` papers;
2. gate: if even the best chunk is far from the question (cosine under ``ask.min_similarity``)
   the answer is a one-sentence refusal naming the closest papers, and no model is called;
   with an LLM, it is then asked whether the top paper reports what the question asks (one
   short call, agent.qa.answerable), and a near miss is refused the same way;
3. answer: the LLM writes from the numbered, fenced papers only (optionally calling
   ``search_papers`` / ``get_paper`` first, see agent.qa.agentic), or, with no LLM, the
   extractive engine quotes the best-matching sentences;
4. check: citations that point to no paper are removed and counted, an answer citing nothing is
   flagged, and the refusal marker becomes the same one-sentence refusal as in step 2.

Streaming (``stream=callback``) calls back with each piece of the model's text as it arrives;
the returned ``Answer`` is the checked text, identical to what a non-streamed call returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from agent.config import AskSettings
from agent.models import Usage
from agent.qa.agentic import (
    MAX_TOOL_ROUNDS,
    ToolRunner,
    ToolsUnsupported,
    agentic_answer,
    needs_agentic,
)
from agent.qa.answerable import Verdict, check_answerable
from agent.qa.citations import check_citations
from agent.qa.context import (
    REFUSAL_MARKER,
    Context,
    Filters,
    GetPaperFn,
    SearchFn,
    Since,
    refusal_text,
    render_paper,
    retrieve,
    says_refusal,
    strip_marker,
    weak_evidence,
)
from agent.qa.extractive import EXTRACTIVE_NOTICE, extractive_answer
from agent.qa.models import Answer, Citation, RefusalReason, ToolCall
from agent.qa.planted import withhold_planted
from agent.qa.stream import MarkerFilter, OnDelta, stream_reply
from agent.summaries.faithfulness import ungrounded_facts
from prompts import load_prompt

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.llm.chat import ChatLLM

log = logging.getLogger(__name__)

AgenticMode = Literal["auto", "always", "never"]
#: Extractive engine: after the top paper, quote at most one more, and only if its evidence is
#: within this much of the best (bench/eval_qa.py: citation precision .84 vs .63 at 0.12 / 4).
EXTRACTIVE_SPREAD = 0.04
EXTRACTIVE_MAX_PAPERS = 2
#: ... or its share of the question's term weight is within this much of the best paper's (broad
#: "which papers ..." questions): answers citing a relevant paper .897 -> .931, precision -.011.
EXTRACTIVE_COVERAGE_SPREAD = 0.05
CLOSEST_SHOWN = 3


class QAEngine:
    """Answers questions from the store; every collaborator is injected."""

    def __init__(
        self,
        search_fn: SearchFn,
        *,
        llm: ChatLLM | None = None,
        get_paper_fn: GetPaperFn | None = None,
        settings: Settings | None = None,
        min_similarity: float | None = None,
        min_term_coverage: float | None = None,
        k: int | None = None,
        agentic: AgenticMode | None = None,
        max_tool_rounds: int = MAX_TOOL_ROUNDS,
        check_answerable: bool | None = None,
        min_answerable_log_odds: float | None = None,
    ) -> None:
        self.search_fn = search_fn
        self.llm = llm
        self.get_paper_fn = get_paper_fn
        # Arguments win over settings; no settings means the calibrated defaults of [ask].
        ask = settings.ask if settings is not None else AskSettings()
        gate = settings.evidence_gate if settings is not None else ask.min_similarity
        if min_similarity is None and gate != ask.min_similarity:
            log.info("ask.min_similarity is calibrated for MiniLM: the evidence gate is off")
        self.min_similarity = gate if min_similarity is None else min_similarity
        self.min_term_coverage = (
            ask.min_term_coverage if min_term_coverage is None else min_term_coverage
        )
        self.k = ask.k if k is None else k
        self.agentic: AgenticMode = agentic or ask.agentic
        self.max_tool_rounds = max_tool_rounds
        self.check_answerable = (
            ask.check_answerable if check_answerable is None else check_answerable
        )
        self.min_answerable_log_odds = (
            ask.min_answerable_log_odds
            if min_answerable_log_odds is None
            else min_answerable_log_odds
        )
        self._no_tools: set[tuple[str, str]] = set()  # endpoints that rejected tool calls

    @property
    def engine(self) -> str:
        return "llm" if self.llm is not None else "extractive"

    # --- public API ------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        since: Since = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
        stream: OnDelta | None = None,
        agentic: bool | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:
        """Answer ``question`` from the store (see the module docstring)."""
        if self.llm is None:
            answer = self._extractive(question, since=since, k=k, category=category, source=source)
            if stream:
                stream(answer.answer)
            return answer
        from agent.llm.chat import run_sync

        return run_sync(self.aask(
            question, since=since, k=k, category=category, source=source, stream=stream,
            agentic=agentic, on_tool_call=on_tool_call,
        ))  # fmt: skip

    async def aask(
        self,
        question: str,
        *,
        since: Since = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
        stream: OnDelta | None = None,
        agentic: bool | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:
        """The async variant of :meth:`ask`."""
        if self.llm is None:
            answer = self._extractive(question, since=since, k=k, category=category, source=source)
            if stream:
                stream(answer.answer)
            return answer
        filters = Filters(since=since, category=category, source=source)
        ctx, answer = self._retrieve(question, filters, k)
        if answer.refused:
            if stream:
                stream(answer.answer)
            return answer
        llm = self.llm
        answer.engine, answer.model = "llm", llm.model
        started = time.perf_counter()
        check = await self._check(llm, question, ctx)
        answer.answerable_log_odds = check.log_odds
        if not check.answerable:
            answer.usage = check.usage
            self._refuse(answer, ctx, filters, "not_answerable")
            if stream:
                stream(answer.answer)
            return answer
        use_tools = self._use_tools(question, agentic)
        text = ""
        if use_tools:
            runner = ToolRunner(ctx, self.search_fn, self.get_paper_fn, filters, on_tool_call)
            try:
                result = await agentic_answer(
                    llm, question, ctx, runner, max_rounds=self.max_tool_rounds, stream=stream
                )
                text, answer.usage, answer.tool_calls = result.text, result.usage, result.tool_calls
            except ToolsUnsupported as exc:
                log.info("endpoint rejected tool calls (%s); using a single retrieval", exc)
                self._no_tools.add((llm.endpoint, llm.model))
                use_tools = False
        if not use_tools:
            text, answer.usage = await self._single_pass(llm, question, ctx, stream)
        answer.usage = check.usage.add(answer.usage)
        log.info("answer in %.2fs (%d tokens out)", time.perf_counter() - started,
                 answer.usage.tokens_out)  # fmt: skip
        return self._finish(answer, ctx, text, filters)

    async def _check(self, llm: ChatLLM, question: str, ctx: Context) -> Verdict:
        """The answerability check (see agent.qa.answerable); skipped when it is off and for
        questions that span several papers."""
        if not self.check_answerable or needs_agentic(question) or not ctx.entries:
            return Verdict(answerable=True, log_odds=None, usage=Usage())
        verdict = await check_answerable(
            llm, question, render_paper(ctx.entries[0]), self.min_answerable_log_odds
        )
        if not verdict.answerable:
            log.info(
                "refusing: the model doubts paper [1] answers it (log-odds %.2f < %.2f)",
                verdict.log_odds, self.min_answerable_log_odds,
            )  # fmt: skip
        return verdict

    # --- steps -----------------------------------------------------------------------------------
    def _retrieve(self, question: str, filters: Filters, k: int | None) -> tuple[Context, Answer]:
        """The numbered context, and an Answer that is already a refusal if evidence is weak."""
        if not question.strip():
            from agent.errors import InputError

            raise InputError("The question is empty.", hint="Ask something about the papers.")
        hits = retrieve(self.search_fn, question, k=k or self.k, filters=filters)
        ctx = Context()
        ctx.add_hits(hits)
        answer = Answer(
            question=question,
            answer="",
            retrieved=list(ctx.entries),
            evidence=ctx.best_similarity,
            term_coverage=ctx.best_coverage,
            engine="llm" if self.llm is not None else "extractive",
            model=self.llm.model if self.llm is not None else "extractive",
        )
        if not hits:
            self._refuse(answer, ctx, filters, "no_papers")
        elif weak_evidence(
            ctx.best_similarity, self.min_similarity, ctx.best_coverage, self.min_term_coverage
        ):
            log.info(
                "refusing: best similarity %.3f < %.3f and term coverage %s < %.2f",
                ctx.best_similarity, self.min_similarity, ctx.best_coverage,
                self.min_term_coverage,
            )  # fmt: skip
            self._refuse(answer, ctx, filters, "weak_evidence")
        return ctx, answer

    def _refuse(
        self, answer: Answer, ctx: Context, filters: Filters, reason: RefusalReason
    ) -> Answer:
        closest = ctx.entries[:CLOSEST_SHOWN]
        answer.answer = refusal_text(closest, filters)
        answer.citations = list(closest)
        answer.refused = True
        answer.refusal_reason = reason
        return answer

    def _use_tools(self, question: str, agentic: bool | None) -> bool:
        assert self.llm is not None
        if (self.llm.endpoint, self.llm.model) in self._no_tools:
            return False
        if agentic is not None:
            return agentic
        if self.agentic == "auto":
            return needs_agentic(question)
        return self.agentic == "always"

    async def _single_pass(
        self, llm: ChatLLM, question: str, ctx: Context, stream: OnDelta | None
    ) -> tuple[str, Usage]:
        system, user = load_prompt("answer").render(
            papers=ctx.render(), question=question, refusal_marker=REFUSAL_MARKER
        )
        messages = [("system", system.strip()), ("user", user.strip())]
        if stream is None:
            return await llm.achat(messages)
        gate = MarkerFilter(stream)
        reply, usage = await stream_reply(llm, llm.chat_model, messages, gate)
        gate.finish()
        from agent.qa.stream import text_of

        return text_of(reply), usage

    def _finish(self, answer: Answer, ctx: Context, text: str, filters: Filters) -> Answer:
        """Check the model's text: refusal marker, citations, flags."""
        answer.retrieved = list(ctx.entries)
        if says_refusal(text):
            return self._refuse(answer, ctx, filters, "model")
        text = strip_marker(text) if REFUSAL_MARKER in text else text.strip()
        if not text:
            answer.flagged = "The model returned an empty answer."
            return self._refuse(answer, ctx, filters, "model")
        check = check_citations(text, ctx.numbers)
        # what obeys an instruction planted in a paper (a login link, "enter your password")
        # is withheld, as summarize rejects it: the reader sees why, not the request
        answer.answer, planted = withhold_planted(check.text, ctx.render())
        answer.citations = ctx.citations(check.cited)
        answer.removed_citations = check.removed
        flags = [f for f in (planted, check.flagged) if f]
        facts = ungrounded_facts(answer.answer, ctx.render())
        if facts:
            # A figure the papers do not give is most often the question's own premise echoed
            # back ("ImageNet 512x512" when the paper reports 256x256): the reader must know.
            shown = ", ".join(facts[:5]) + (" …" if len(facts) > 5 else "")
            flags.append(f"The answer states {shown}, which none of the retrieved papers gives.")
            log.info("answer states facts no paper gives: %s", facts)
        answer.flagged = " ".join(flags) or None
        if check.removed:
            log.info("removed %d citation(s) to papers not in the context", check.removed)
        return answer

    # --- the no-model engine -------------------------------------------------------------------
    def _extractive(
        self,
        question: str,
        *,
        since: Since = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
    ) -> Answer:
        filters = Filters(since=since, category=category, source=source)
        ctx, answer = self._retrieve(question, filters, k)
        answer.notice = EXTRACTIVE_NOTICE
        if answer.refused:
            return answer
        chosen = self._extractive_papers(ctx)
        text = extractive_answer(
            question,
            [
                (c.n, c.paper.title, c.paper.abstract, ctx.chunks.get(c.paper.id, ""))
                for c in chosen
            ],
        )
        check = check_citations(text, ctx.numbers)
        answer.answer = check.text
        answer.citations = ctx.citations(check.cited)
        answer.flagged = check.flagged
        return answer

    def _extractive_papers(self, ctx: Context) -> list[Citation]:
        """Papers worth quoting: the top-ranked one, then lower-ranked ones only while their
        evidence (cosine, or term coverage) stays close to the best (quoting weaker papers costs
        citation precision)."""
        best = ctx.best_similarity
        top = ctx.entries[:1]
        if best is None:
            return top
        floor = max(self.min_similarity, best - EXTRACTIVE_SPREAD)
        best_cov = ctx.best_coverage or 0.0
        cov_floor = max(self.min_term_coverage, best_cov - EXTRACTIVE_COVERAGE_SPREAD)
        more = [
            c
            for c in ctx.entries[1:EXTRACTIVE_MAX_PAPERS]
            if (c.similarity is not None and c.similarity >= floor)
            or (c.coverage is not None and c.coverage >= cov_floor)
        ]
        return top + more


__all__ = [
    "REFUSAL_MARKER",
    "AgenticMode",
    "QAEngine",
]
