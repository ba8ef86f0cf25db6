"""Streaming a chat reply token by token, with the LLM layer's retry policy and accounting.

``ChatLLM`` (agent.llm.chat) has no streaming call, so this module adds one on top of its pieces:
errors are classified by ``classify_error``, retried with the same backoff settings but only
before the first token arrived (a half-shown answer cannot be retried invisibly), and tokens are
counted from the endpoint's usage chunk, or with tiktoken when it sends none.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agent.llm.errors import classify_error, reply_too_long, timeout_error
from agent.models import TokenCount, Usage
from agent.qa.context import REFUSAL_MARKER

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from agent.llm.chat import ChatInput, ChatLLM

log = logging.getLogger(__name__)

OnDelta = Callable[[str], None]


def message_pairs(messages: Sequence[ChatInput]) -> list[tuple[str, str]]:
    """(role, content) pairs of tuples or langchain messages, for token counting."""
    pairs = []
    for m in messages:
        if isinstance(m, tuple):
            pairs.append((str(m[0]), str(m[1])))
        else:
            content = m.content if isinstance(m.content, str) else str(m.content)
            calls = getattr(m, "tool_calls", None)
            if calls:
                content += " " + " ".join(f"{c['name']}({c['args']})" for c in calls)
            pairs.append((m.type, content))
    return pairs


def text_of(message: BaseMessage | None) -> str:
    content = getattr(message, "content", "") if message is not None else ""
    if isinstance(content, list):
        content = "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def usage_of(
    llm: ChatLLM, reply: BaseMessage | None, messages: Sequence[ChatInput], text: str, calls: int
) -> Usage:
    """The endpoint's token counts when it sent them, else tiktoken's; priced by the settings."""
    meta = getattr(reply, "usage_metadata", None) or {}
    counted: TokenCount
    if meta.get("input_tokens"):
        t_in, t_out, counted = meta["input_tokens"], meta.get("output_tokens", 0), "api"
    else:
        t_in = llm.count_prompt(message_pairs(messages))
        t_out, counted = llm.counter.count(text), "tiktoken"
    return Usage(
        calls=calls, tokens_in=t_in, tokens_out=t_out, cost=llm.cost(t_in, t_out), counted=counted
    )


async def stream_reply(
    llm: ChatLLM, runnable: Any, messages: Sequence[ChatInput], on_delta: OnDelta
) -> tuple[Any, Usage]:
    """Stream ``runnable``'s reply, calling ``on_delta`` per text piece; return the whole
    message (tool calls merged) and its usage."""
    kwargs = {"stream_usage": True} if hasattr(llm.chat_model, "stream_usage") else {}
    policy = llm.policy
    prompt_tokens = llm.count_prompt(message_pairs(messages)) if policy.timeout is not None else 0
    seconds = policy.seconds_for(prompt_tokens)  # the whole stream's deadline (None: none)
    cap = llm.max_reply_chars
    attempt = 0
    calls = 0
    while True:
        calls += 1
        started = False
        full: Any = None
        try:
            shown = 0
            async with asyncio.timeout(seconds):
                async for chunk in runnable.astream(list(messages), **kwargs):
                    full = chunk if full is None else full + chunk
                    piece = text_of(chunk)
                    shown += len(piece)
                    if cap is not None and shown > cap:  # stop reading; show nothing past it
                        raise reply_too_long(llm.endpoint, llm.model, cap)
                    if piece:
                        started = True
                        on_delta(piece)
            return full, usage_of(llm, full, messages, text_of(full), calls)
        except Exception as exc:
            err = classify_error(exc, url=llm.endpoint, model=llm.model, reply_cap=cap)
            if err.kind == "timeout" and seconds is not None:
                err = timeout_error(llm.endpoint, llm.model, policy, prompt_tokens)
            retry = (
                err.retryable and err.kind in ("rate_limit", "timeout", "server") and not started
            )
            if not retry or attempt >= llm.max_retries:
                err.usage = Usage(calls=calls)
                raise err from (exc if err is not exc else None)
            delay = err.retry_after or llm.backoff * 2**attempt * (0.75 + random.random() / 2)
            delay = min(delay, llm.max_backoff)
            log.info("LLM stream %s (attempt %d); retrying in %.2fs", err.kind, attempt + 1, delay)
            attempt += 1
            await asyncio.sleep(delay)


class MarkerFilter:
    """Holds back the first characters of a stream until they cannot be the refusal marker, so
    a refusal never flashes ``NOT_IN_PAPERS`` on the screen before the real refusal sentence."""

    def __init__(self, sink: OnDelta | None) -> None:
        self.sink = sink
        self.buffer = ""
        self.decided = False
        self.refusal = False

    def __call__(self, delta: str) -> None:
        if self.decided:
            if not self.refusal and self.sink:
                self.sink(delta)
            return
        self.buffer += delta
        head = self.buffer.lstrip().lstrip("*_`\"'").upper()
        if head.startswith(REFUSAL_MARKER):
            self.decided = self.refusal = True
        elif not REFUSAL_MARKER.startswith(head):
            self.decided = True
            if self.sink:
                self.sink(self.buffer)

    def finish(self) -> None:
        if not self.decided and self.buffer and self.sink:
            self.sink(self.buffer)
        self.decided = True


__all__ = ["MarkerFilter", "OnDelta", "message_pairs", "stream_reply", "text_of", "usage_of"]
