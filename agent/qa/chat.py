"""A conversation about the stored papers: follow-ups are rewritten into standalone questions
before retrieval, because "and which of those use transformers?" finds nothing on its own.

With an LLM the rewrite is a small model call (prompts/rewrite.toml); without one, a follow-up
that leans on the previous turn (starts with "and", says "those", "it", ...) is searched
together with the previous standalone question. Slash commands (``/sources``, ``/since 7d``,
``/clear``, ``/quit``) are parsed here so every front end behaves the same.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from agent.dates import parse_since
from agent.models import Usage
from agent.qa.context import Since
from agent.qa.models import Answer, Citation, ToolCall
from agent.qa.stream import OnDelta
from prompts import fence, load_prompt

if TYPE_CHECKING:
    from agent.qa.engine import QAEngine

log = logging.getLogger(__name__)

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|also|or|so|what about|how about|of (those|these|them))\b|"
    r"\b(those|these|them|they|their|theirs|it|its|that one|this one|the same|the above|"
    r"former|latter|the first|the second|the last one|both of)\b",
    re.IGNORECASE,
)
HISTORY_TURNS = 3
ANSWER_CHARS = 700
HELP = (
    "Ask a question about the stored papers, or: /sources (papers behind the last answer), "
    "/since 7d (limit to recent papers; /since off to clear), /clear (forget the conversation), "
    "/quit."
)

CommandKind = Literal["sources", "since", "clear", "quit", "help", "unknown"]


@dataclass
class Turn:
    question: str
    standalone: str
    answer: Answer


@dataclass
class CommandResult:
    kind: CommandKind
    message: str = ""
    citations: list[Citation] = field(default_factory=list)


def looks_like_follow_up(question: str) -> bool:
    return bool(_FOLLOW_UP.search(question))


class ChatSession:
    """Keeps the turns of one conversation and asks the engine with standalone questions."""

    def __init__(
        self,
        engine: QAEngine,
        *,
        since: Since = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
    ) -> None:
        self.engine = engine
        self.since = since
        self.k = k
        self.category = category
        self.source = source
        self.turns: list[Turn] = []
        self.usage = Usage()

    @property
    def last_answer(self) -> Answer | None:
        return self.turns[-1].answer if self.turns else None

    def clear(self) -> None:
        self.turns.clear()

    # --- rewriting ------------------------------------------------------------------------------
    def history_text(self) -> str:
        lines = []
        for turn in self.turns[-HISTORY_TURNS:]:
            answer = turn.answer.answer
            if len(answer) > ANSWER_CHARS:
                answer = answer[:ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
            cited = "; ".join(c.paper.title for c in turn.answer.citations)
            lines.append(f"User: {turn.standalone}")
            lines.append(f"Assistant: {answer}" + (f"\n(Papers: {cited})" if cited else ""))
        return fence("\n".join(lines))

    def rewrite_heuristic(self, question: str) -> str:
        if not self.turns or not looks_like_follow_up(question):
            return question
        follow = re.sub(r"^\s*(and|but|also|so)\b[\s,]*", "", question, flags=re.IGNORECASE)
        return f"{self.turns[-1].standalone.rstrip(' ?.')}: {follow}".strip()

    async def arewrite(self, question: str) -> tuple[str, Usage]:
        """The standalone form of ``question`` (unchanged for a first question)."""
        llm = self.engine.llm
        if not self.turns:
            return question, Usage()
        if llm is None:
            return self.rewrite_heuristic(question), Usage()
        system, user = load_prompt("rewrite").render(history=self.history_text(), question=question)
        text, usage = await llm.achat([("system", system.strip()), ("user", user.strip())])
        line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
        line = line.strip("\"'“”` ").removeprefix("Standalone question:").strip()
        if not line or len(line) > 4 * len(question) + 300:
            log.info("rewrite unusable (%r); using the heuristic", text[:80])
            return self.rewrite_heuristic(question), usage
        return line, usage

    # --- asking ---------------------------------------------------------------------------------
    async def aask(
        self,
        question: str,
        *,
        stream: OnDelta | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:
        return await self._aask(question, stream=stream, on_tool_call=on_tool_call)

    async def _aask(
        self,
        question: str,
        *,
        stream: OnDelta | None,
        on_tool_call: Callable[[ToolCall], None] | None,
    ) -> Answer:
        standalone, rewrite_usage = await self.arewrite(question)
        if standalone != question:
            log.info("follow-up rewritten to: %s", standalone)
        answer = await self.engine.aask(
            standalone,
            since=self.since,
            k=self.k,
            category=self.category,
            source=self.source,
            stream=stream,
            on_tool_call=on_tool_call,
        )
        answer.question = question
        answer.standalone_question = standalone
        answer.usage = answer.usage.add(rewrite_usage)
        self.usage = self.usage.add(answer.usage)
        self.turns.append(Turn(question, standalone, answer))
        return answer

    def ask(
        self,
        question: str,
        *,
        stream: OnDelta | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:
        from agent.llm.chat import run_sync

        return run_sync(self.aask(question, stream=stream, on_tool_call=on_tool_call))

    # --- commands -------------------------------------------------------------------------------
    def command(self, line: str) -> CommandResult | None:
        """Handle a slash command; None when ``line`` is a question."""
        text = line.strip()
        if not text.startswith("/"):
            return None
        name, _, arg = text[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("quit", "exit", "q"):
            return CommandResult("quit")
        if name == "clear":
            self.clear()
            return CommandResult("clear", "Conversation cleared.")
        if name == "sources":
            last = self.last_answer
            if last is None:
                return CommandResult("sources", "No answer yet.")
            return CommandResult("sources", "", list(last.citations or last.retrieved))
        if name == "since":
            if arg.lower() in ("", "off", "none", "all"):
                self.since = None
                return CommandResult("since", "Searching papers of any date.")
            start = parse_since(arg)  # InputError with a hint on a bad date
            self.since = start
            shown = start.date().isoformat() if start else arg
            return CommandResult("since", f"Searching papers published since {shown}.")
        if name in ("help", "?"):
            return CommandResult("help", HELP)
        return CommandResult("unknown", f"Unknown command /{name}. {HELP}")


__all__ = ["HELP", "ChatSession", "CommandResult", "Turn", "looks_like_follow_up"]
