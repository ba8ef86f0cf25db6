"""Small additions to tests/openai_server.py for question-answering tests: read the numbered
papers out of a recorded prompt, and script replies that cite a given paper or call a tool."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from openai_server import chat_completion, tool_call


def prompt_of(request: Any) -> str:
    """All message contents of a chat request, joined."""
    parts = []
    for m in (request or {}).get("messages", []):
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        parts.append(str(content or ""))
    return "\n".join(parts)


def number_of(request: Any, paper_id: str) -> int | None:
    """The [n] the prompt gave ``paper_id``, or None if it is not in the prompt."""
    match = re.search(r"\[(\d+)\] id: " + re.escape(paper_id) + r"\b", prompt_of(request))
    return int(match.group(1)) if match else None


def numbers_in(request: Any) -> dict[str, int]:
    """paper id -> number for every paper in the prompt."""
    return {
        m.group(2): int(m.group(1)) for m in re.finditer(r"\[(\d+)\] id: (\S+)", prompt_of(request))
    }


def citing(paper_id: str, template: str, **kw: Any) -> Callable[[Any], dict[str, Any]]:
    """A handler answering ``template.format(n=<number of paper_id in this prompt>)``."""

    def handle(request: Any) -> dict[str, Any]:
        n = number_of(request, paper_id)
        assert n is not None, f"{paper_id} is not in the prompt"
        return chat_completion(template.format(n=n), **kw)

    return handle


def calling(name: str, args: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    """A completion whose only content is one tool call."""
    return chat_completion(None, tool_calls=[tool_call(name, args, call_id)])
