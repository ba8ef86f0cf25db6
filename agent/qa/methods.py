"""PaperAgent's question methods: ``ask``, ``aask`` and ``chat`` over the QA engine.

A mixin so the facade stays one class while the question-answering capability keeps its entry
points in its own folder. It needs the agent's ``search``, ``get_paper``, ``llm`` and
``settings``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from agent.storage import store_errors

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.llm.chat import ChatLLM
    from agent.models import Paper, SearchHit
    from agent.qa.chat import ChatSession
    from agent.qa.engine import QAEngine
    from agent.qa.models import Answer, ToolCall


class QAMethods:
    # Provided by PaperAgent (declared here for type checkers only).
    settings: Settings
    _qa: QAEngine | None
    llm: ChatLLM | None
    search: Callable[..., list[SearchHit]]
    get_paper: Callable[[str], Paper | None]

    # --- ask (issue 5): answers with citations ------------------------------------------------
    @property
    def qa(self) -> QAEngine:
        """The question-answering engine over this agent's store and the configured LLM (the
        extractive no-model engine when none is configured)."""
        engine = self._qa
        if engine is None:
            from agent.qa.engine import QAEngine

            engine = QAEngine(
                self.search,
                llm=self.llm,
                get_paper_fn=self.get_paper,
                settings=self.settings,
            )
            self._qa = engine
        return engine

    def ask(
        self,
        question: str,
        *,
        since: str | date | datetime | None = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
        stream: Callable[[str], None] | None = None,
        agentic: bool | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:
        """Answer from the stored papers, citing them as [1], [2], ...; or say plainly that they
        do not hold the answer (``refused``). ``stream`` gets each piece of text as it arrives."""
        with store_errors():
            return self.qa.ask(
                question, since=since, k=k, category=category, source=source, stream=stream,
                agentic=agentic, on_tool_call=on_tool_call,
            )  # fmt: skip

    async def aask(
        self,
        question: str,
        *,
        since: str | date | datetime | None = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
        stream: Callable[[str], None] | None = None,
        agentic: bool | None = None,
        on_tool_call: Callable[[ToolCall], None] | None = None,
    ) -> Answer:
        """The async variant of :meth:`ask`."""
        with store_errors():
            return await self.qa.aask(
                question, since=since, k=k, category=category, source=source, stream=stream,
                agentic=agentic, on_tool_call=on_tool_call,
            )  # fmt: skip

    def chat(
        self,
        *,
        since: str | date | datetime | None = None,
        k: int | None = None,
        category: str | None = None,
        source: str | None = None,
    ) -> ChatSession:
        """A conversation: follow-ups are rewritten into standalone questions before retrieval."""
        from agent.qa.chat import ChatSession

        return ChatSession(self.qa, since=since, k=k, category=category, source=source)
