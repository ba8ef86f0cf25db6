"""Agentic retrieval: the model may call ``search_papers`` and ``get_paper`` for a few rounds
before it answers, for questions one search cannot answer (comparisons, several topics, a time
window).

Every paper a tool returns joins the answer's numbered context, so citations stay checkable.
Tool arguments come from the model and are validated like user input; a user's ``--since`` /
``--category`` can be narrowed by the model but never widened.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.dates import parse_since
from agent.errors import InputError, ToolsUnsupported
from agent.llm.errors import LLMCallError
from agent.models import Usage
from agent.qa.context import REFUSAL_MARKER, Context, Filters, GetPaperFn, SearchFn
from agent.qa.models import ToolCall
from agent.qa.stream import MarkerFilter, OnDelta, stream_reply, text_of, usage_of
from prompts import load_prompt

if TYPE_CHECKING:
    from datetime import datetime

    from langchain_core.messages import BaseMessage
    from langchain_core.messages import ToolCall as ModelToolCall

    from agent.llm.chat import ChatLLM

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 3
TOOL_RESULT_K = 5
_MULTI_STEP = re.compile(
    r"\b(compar\w*|versus|vs\.?|differ\w*|contrast\w*|trade-?offs?|both|across|each of|"
    r"which of|last (week|month)|this (week|month)|between\b.+\band)\b",
    re.IGNORECASE,
)

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "search_papers",
            "description": "Search the stored papers (dense + keyword). Returns up to 5 numbered "
            "papers with their abstracts.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "what to look for"},
                    "since": {
                        "type": "string",
                        "description": "only papers published since: 7d, 2w or 2026-11-20",
                    },
                    "category": {"type": "string", "description": "arXiv category, e.g. cs.LG"},
                },
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_paper",
            "description": "Fetch one stored paper by its id (as shown after 'id:').",
            "parameters": {
                "type": "object",
                "properties": {"id": {"type": "string"}},
                "required": ["id"],
            },
        },
    },
]


def needs_agentic(question: str) -> bool:
    """Questions one search rarely answers: comparisons, several topics, time windows."""
    return bool(_MULTI_STEP.search(question))


@dataclass
class AgenticResult:
    text: str
    usage: Usage
    tool_calls: list[ToolCall] = field(default_factory=list)
    refusal_streamed: bool = False


@dataclass
class ToolRunner:
    """Executes the model's tool calls against the store, adding results to the context."""

    ctx: Context
    search_fn: SearchFn
    get_paper_fn: GetPaperFn | None
    filters: Filters
    on_tool_call: Callable[[ToolCall], None] | None = None

    def run(self, round_no: int, call: ModelToolCall) -> tuple[str, ToolCall]:
        name = str(call.get("name") or "")
        given = call.get("args")
        args: dict[str, Any] = given if isinstance(given, dict) else {}
        record = ToolCall(round=round_no, name=name, args=dict(args))
        started = time.perf_counter()
        try:
            if name == "search_papers":
                numbers = self._search(args)
            elif name == "get_paper":
                numbers = self._get(args)
            else:
                raise InputError(f"unknown tool {name!r}; use search_papers or get_paper")
            record.result_ids = [self.ctx.get(n).paper.id for n in numbers]
            content = self.ctx.render(numbers) if numbers else "No stored paper matches."
        except (InputError, ValueError, TypeError) as exc:
            record.error = str(exc)
            content = f"Tool error: {exc}"
        record.seconds = time.perf_counter() - started
        log.info("tool %s", record.describe())
        if self.on_tool_call:
            self.on_tool_call(record)
        return content, record

    def _search(self, args: dict[str, Any]) -> list[int]:
        query = str(args.get("query") or "").strip()
        if not query:
            raise InputError("search_papers needs a non-empty query")
        since = self._narrower_since(args.get("since"))
        category = self.filters.category or (str(args.get("category") or "") or None)
        hits = self.search_fn(
            query, k=TOOL_RESULT_K, since=since, category=category, source=self.filters.source
        )
        return self.ctx.add_hits(hits)

    def _narrower_since(self, asked: object) -> datetime | None:
        """The later of the user's window start and the model's: the model may only narrow."""
        mine = parse_since(self.filters.since)
        theirs = parse_since(str(asked)) if asked else None
        if mine is None:
            return theirs
        return theirs if theirs is not None and theirs > mine else mine

    def _get(self, args: dict[str, Any]) -> list[int]:
        paper_id = str(args.get("id") or "").strip()
        known = self.ctx.number_of(paper_id)
        if known is not None:
            return [known]
        if self.get_paper_fn is None or not paper_id:
            raise InputError(f"no paper with id {paper_id!r}")
        paper = self.get_paper_fn(paper_id)
        if paper is None:
            raise InputError(f"no paper with id {paper_id!r} in the store")
        return [self.ctx.add(paper)]


async def agentic_answer(
    llm: ChatLLM,
    question: str,
    ctx: Context,
    runner: ToolRunner,
    *,
    max_rounds: int = MAX_TOOL_ROUNDS,
    stream: OnDelta | None = None,
) -> AgenticResult:
    """Let the model call tools for up to ``max_rounds`` rounds, then take its answer."""
    from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

    system, user = load_prompt("answer_agentic").render(
        papers=ctx.render(),
        question=question,
        refusal_marker=REFUSAL_MARKER,
        max_rounds=max_rounds,
    )
    messages: list[BaseMessage] = [SystemMessage(system.strip()), HumanMessage(user.strip())]
    total = Usage()
    result = AgenticResult(text="", usage=total)
    with_tools = llm.chat_model.bind_tools(TOOLS)
    final_only = llm.chat_model.bind_tools(TOOLS, tool_choice="none")
    gate = MarkerFilter(stream) if stream else None
    for round_no in range(1, max_rounds + 2):
        last = round_no > max_rounds
        if last:
            messages.append(HumanMessage("Answer now from the numbered papers; no more tools."))
        runnable = final_only if last else with_tools
        try:
            reply, usage = await _call(llm, runnable, messages, gate)
        except LLMCallError as err:
            if round_no == 1 and err.kind == "bad_request":
                raise ToolsUnsupported(str(err)) from err
            err.usage = total.add(err.usage)
            raise
        total = total.add(usage)
        calls = list(getattr(reply, "tool_calls", None) or [])
        if not calls or last:
            result.text = text_of(reply)
            break
        messages.append(reply)
        for call in calls:
            content, record = runner.run(round_no, call)
            result.tool_calls.append(record)
            messages.append(ToolMessage(content=content, tool_call_id=call.get("id") or ""))
    if gate is not None:
        gate.finish()
        result.refusal_streamed = gate.refusal
    result.usage = total
    return result


async def _call(
    llm: ChatLLM, runnable: Any, messages: list[BaseMessage], gate: MarkerFilter | None
) -> tuple[Any, Usage]:
    if gate is not None:
        return await stream_reply(llm, runnable, messages, gate)
    tally = Usage()
    reply = await llm._invoke(runnable, messages, tally, retry_5xx=True)
    return reply, usage_of(llm, reply, messages, _raw(reply), tally.calls)


def _raw(reply: BaseMessage) -> str:
    calls = getattr(reply, "tool_calls", None) or []
    return text_of(reply) + "".join(json.dumps(c.get("args", {})) for c in calls)


__all__ = [
    "MAX_TOOL_ROUNDS",
    "TOOLS",
    "AgenticResult",
    "ToolRunner",
    "ToolsUnsupported",
    "agentic_answer",
    "needs_agentic",
]
