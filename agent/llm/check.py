"""`paperbrief llm check`: one tiny structured request to the configured endpoint.

It reports the endpoint (a login or key written into its URL masked), the model, and either the
structured-output method that worked with its latency and tokens, or the error with its hint.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import BaseModel

from agent.config.secrets import mask_url
from agent.errors import LLMError
from agent.llm.chat import ChatLLM, Message, MethodStore, endpoint_of, make_llm
from agent.llm.endpoints import EndpointCheck
from agent.llm.loop import run_sync

if TYPE_CHECKING:
    from agent.config import Settings


class _Ping(BaseModel):
    """Reply to a connectivity check."""

    answer: str


def check_endpoint(
    settings: Settings, *, llm: ChatLLM | None = None, method_store: MethodStore | None = None
) -> EndpointCheck:
    """Send one tiny structured request: endpoint (its credentials masked), model, method and
    latency, or the error."""
    report: EndpointCheck = {
        "endpoint": mask_url(endpoint_of(settings)),
        "model": settings.llm.model,
        "ok": False,
    }
    llm = llm or make_llm(settings, method_store=method_store, backoff=0.5)
    if llm is None:
        report.update({
            "error": "No LLM endpoint is configured; summaries use the extractive no-model engine.",
            "hint": "Set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server "
            "(Ollama, vLLM, llama.cpp).",
            "kind": "not_configured",
        })  # fmt: skip
        return report
    messages: list[Message] = [
        ("system", "You answer connectivity checks."),
        ("user", 'Reply with the JSON object {"answer": "ok"}.'),
    ]
    started = time.perf_counter()
    try:
        reply = run_sync(llm.astructured(messages, _Ping))
    except LLMError as err:
        report.update({
            "error": mask_url(str(err)), "hint": mask_url(err.hint),
            "kind": getattr(err, "kind", "error"), "retryable": err.retryable,
        })  # fmt: skip
        report["latency_s"] = round(time.perf_counter() - started, 3)
        return report
    report.update({
        "ok": True,
        "method": reply.method,
        "latency_s": round(time.perf_counter() - started, 3),
        "tokens_in": reply.usage.tokens_in,
        "tokens_out": reply.usage.tokens_out,
        "usage_from": reply.usage.counted,
    })  # fmt: skip
    return report


__all__ = ["check_endpoint"]
