"""The chat-model layer: any OpenAI-compatible endpoint through langchain-openai's ChatOpenAI.

``make_llm(settings)`` returns a ``ChatLLM`` (or None when no endpoint or key is configured: the
caller then uses the no-model engine). ``ChatLLM.astructured`` returns a validated pydantic
object using the first structured-output method the endpoint accepts (see llm_structured),
remembers that method per endpoint+model, retries 429s, timeouts and 5xx with exponential
backoff (honouring Retry-After; not a local server's timeouts: agent.llm.endpoints), counts
tokens (the API's usage when given, tiktoken otherwise) and prices them (``llm_prices``).
Every failure becomes an ``LLMCallError`` (an ``LLMError``) naming the URL and the fix.

Async work runs on one background event loop per process (``run_sync``, agent.llm.loop).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from agent.llm.endpoints import RequestPolicy, as_pairs
from agent.llm.errors import LLMCallError, classify_error, reply_too_long, timeout_error
from agent.llm.loop import run_sync  # noqa: F401 - re-exported: callers run async work here
from agent.llm.structured import (
    METHODS,
    ParseFailure,
    bind_method,
    parse_reply,
    raw_reply,
    with_json_hint,
)
from agent.llm.tokens import TokenCounter
from agent.models import TokenCount, Usage
from prompts import load_prompt

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

    from agent.config import Settings

    ChatInput = tuple[str, str] | BaseMessage  # a (role, content) pair or a langchain message

log = logging.getLogger(__name__)
OPENAI_URL = "https://api.openai.com/v1"
Message = tuple[str, str]  # (role, content); role in system | user | assistant


class MethodStore(Protocol):
    def get_method(self, endpoint: str, model: str) -> str | None: ...
    def set_method(self, endpoint: str, model: str, method: str | None) -> None: ...


# --- the model wrapper --------------------------------------------------------------------------
@dataclass
class StructuredReply:
    value: BaseModel
    method: str
    usage: Usage
    repaired: bool = False
    messages: list[Message] = field(default_factory=list)
    raw: str = ""


class ChatLLM:
    """A chat model plus the policies around it: methods, retries, token and cost accounting."""

    def __init__(
        self,
        chat_model: Any,
        *,
        model: str,
        endpoint: str,
        prices: dict[str, tuple[float, float]] | None = None,
        max_retries: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        method_store: MethodStore | None = None,
        counter: TokenCounter | None = None,
        policy: RequestPolicy | None = None,
        max_reply_chars: int | None = None,
    ) -> None:
        self.chat_model, self.model, self.endpoint = chat_model, model, endpoint
        self.max_reply_chars = max_reply_chars  # longer replies are an error (None: no cap)
        self.prices = prices or {}
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.method_store = method_store
        self._methods: dict[tuple[str, str], str] = {}
        self._counter = counter
        self.policy = policy or RequestPolicy()

    # -- accounting ---------------------------------------------------------------------------
    @property
    def counter(self) -> TokenCounter:
        if self._counter is None:
            self._counter = TokenCounter(self.model)
        return self._counter

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        price_in, price_out = self.prices.get(self.model, (0.0, 0.0))
        return (tokens_in * price_in + tokens_out * price_out) / 1_000_000

    def count_prompt(self, messages: Sequence[Message]) -> int:
        return self.counter.count_messages(messages)

    def _usage_of(self, reply: BaseMessage, messages: Sequence[Message], raw: str) -> Usage:
        meta = getattr(reply, "usage_metadata", None) or {}
        counted: TokenCount
        if meta.get("input_tokens"):
            t_in, t_out, counted = meta["input_tokens"], meta.get("output_tokens", 0), "api"
        else:
            t_in, t_out, counted = self.count_prompt(messages), self.counter.count(raw), "tiktoken"
        return Usage(
            calls=0, tokens_in=t_in, tokens_out=t_out, cost=self.cost(t_in, t_out), counted=counted
        )

    # -- method memory --------------------------------------------------------------------------
    def known_method(self) -> str | None:
        key = (self.endpoint, self.model)
        if key not in self._methods and self.method_store is not None:
            stored = self.method_store.get_method(*key)
            if stored in METHODS:
                self._methods[key] = stored
        return self._methods.get(key)

    def _remember(self, method: str | None) -> None:
        key = (self.endpoint, self.model)
        if method is None:
            self._methods.pop(key, None)
        else:
            self._methods[key] = method
        if self.method_store is not None:
            self.method_store.set_method(*key, method)

    # -- calls ----------------------------------------------------------------------------------
    async def _invoke(
        self, runnable: Any, messages: Sequence[ChatInput], tally: Usage, *, retry_5xx: bool
    ) -> BaseMessage:
        attempt, policy = 0, self.policy
        prompt_tokens = self.count_prompt(as_pairs(messages)) if policy.timeout is not None else 0
        seconds = policy.seconds_for(prompt_tokens)
        options = {} if seconds is None else {"timeout": seconds}
        while True:
            try:
                async with policy.turn():  # raises what stopped the endpoint while we waited
                    tally.calls += 1
                    # one deadline for the whole request: the client's timeout is per read, and
                    # a server sending a byte a second would never trip it
                    async with asyncio.timeout(seconds):
                        return await runnable.ainvoke(list(messages), **options)
            except Exception as exc:
                err = classify_error(
                    exc, url=self.endpoint, model=self.model, reply_cap=self.max_reply_chars
                )
                fresh = err is not exc  # not an error handed on by policy.turn()
                if fresh and err.kind == "timeout" and seconds is not None:
                    err = timeout_error(self.endpoint, self.model, policy, prompt_tokens)
                retry = err.retryable and (
                    err.kind in ("rate_limit", "timeout") or (err.kind == "server" and retry_5xx)
                )
                if not retry or attempt >= self.max_retries:
                    if fresh and err.kind == "not_found":
                        await self._add_model_list(err)
                    policy.failed(err, fatal=fresh and err.fatal)
                    err.usage = tally
                    raise err from (exc if fresh else None)
                delay = err.retry_after or self.backoff * 2**attempt * (0.75 + random.random() / 2)
                delay = min(delay, self.max_backoff)
                log.info("LLM %s (attempt %d); retrying in %.2fs", err.kind, attempt + 1, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _add_model_list(self, err: LLMCallError) -> None:
        client = getattr(self.chat_model, "root_async_client", None)
        if client is None:
            return
        try:
            page = await client.models.list()
            names = sorted(m.id for m in page.data)[:20]
        except Exception:  # the listing is a courtesy; the 404 is the error
            return
        if names:
            err.hint = f"Set PAPERBRIEF_LLM_MODEL to one of: {', '.join(names)}."

    async def _text_reply(
        self, runnable: Any, messages: Sequence[Message]
    ) -> tuple[BaseMessage, str, Usage]:
        tally = Usage()
        reply = await self._invoke(runnable, messages, tally, retry_5xx=True)
        text = str(reply.content or "")
        if self.max_reply_chars is not None and len(text) > self.max_reply_chars:
            err = reply_too_long(self.endpoint, self.model, self.max_reply_chars)
            err.usage = tally
            raise err
        usage = self._usage_of(reply, messages, text)
        usage.calls = tally.calls
        return reply, text, usage

    async def achat(self, messages: Sequence[Message]) -> tuple[str, Usage]:
        """Plain text completion (for digest/QA helpers), with the same retries and accounting."""
        _, text, usage = await self._text_reply(self.chat_model, messages)
        return text, usage

    async def achat_logprobs(
        self, messages: Sequence[Message], *, max_tokens: int = 4, top: int = 10
    ) -> tuple[str, list[dict[str, Any]], Usage]:
        """A short reply plus, per generated token, the endpoint's ``top`` most likely tokens
        with their log-probabilities (empty when the endpoint gives none)."""
        kwargs: dict[str, Any] = {
            "logprobs": True,
            "top_logprobs": top,
            "max_completion_tokens": max_tokens,
        }
        extra = getattr(self.chat_model, "extra_body", None)
        if isinstance(extra, dict) and "max_tokens" in extra:  # see build_chat_model
            kwargs["extra_body"] = {**extra, "max_tokens": max_tokens}
        try:
            runnable = self.chat_model.bind(**kwargs)
        except (AttributeError, TypeError):  # an injected chat model without bind()
            runnable = self.chat_model
        reply, text, usage = await self._text_reply(runnable, messages)
        meta = getattr(reply, "response_metadata", None) or {}
        content = (meta.get("logprobs") or {}).get("content") or []
        return text, [c for c in content if isinstance(c, dict)], usage

    async def astructured(
        self, messages: Sequence[Message], schema: type[BaseModel]
    ) -> StructuredReply:
        """A validated ``schema`` instance from the first method the endpoint accepts."""
        tally = Usage()
        known = self.known_method()
        order = [known] if known else list(METHODS)
        last: LLMCallError | None = None
        tried: list[str] = []
        while order:
            method = order.pop(0)
            tried.append(method)
            probing = method != known
            msgs = with_json_hint(messages, schema) if method == "json_mode" else list(messages)
            runnable = bind_method(self.chat_model, method, schema)
            try:
                reply = await self._invoke(runnable, msgs, tally, retry_5xx=not probing)
            except LLMCallError as err:
                rejected = err.kind == "bad_request" or (probing and err.kind == "server")
                if not rejected:
                    raise
                last = err
                if not probing:  # the remembered method stopped working: probe again
                    self._remember(None)
                    known = None
                    order = [m for m in METHODS if m not in tried]
                log.info("endpoint rejected %s (%s); trying the next method", method, err.status)
                continue
            if method != known:
                self._remember(method)
            return await self._parse_or_repair(runnable, msgs, reply, schema, method, tally)
        assert last is not None
        last.message = (
            f"{last.message} The endpoint accepted none of the structured-output methods "
            f"({', '.join(tried)})."
        )
        last.usage = tally
        raise last

    async def _parse_or_repair(
        self,
        runnable: Any,
        msgs: list[Message],
        reply: BaseMessage,
        schema: type[BaseModel],
        method: str,
        tally: Usage,
    ) -> StructuredReply:
        raw = raw_reply(reply)
        usage = tally.add(self._usage_of(reply, msgs, raw))
        try:
            value = parse_reply(reply, schema)
            return StructuredReply(value, method, _calls(usage, tally), messages=msgs, raw=raw)
        except ParseFailure as first:
            repair = load_prompt("summary_repair").render(
                error=str(first), keys=", ".join(schema.model_fields)
            )[1]
            msgs2 = [*msgs, ("assistant", first.raw[:4000] or "(empty)"), ("user", repair)]
            reply2 = await self._invoke(runnable, msgs2, tally, retry_5xx=True)
            raw2 = raw_reply(reply2)
            usage = usage.add(self._usage_of(reply2, msgs2, raw2))
            try:
                value = parse_reply(reply2, schema)
            except ParseFailure as second:
                err = LLMCallError(
                    f"The model {self.model} did not return valid {schema.__name__} JSON, even "
                    f"after one repair request: {second}.",
                    kind="output",
                    hint="Use a stronger model, or check the endpoint's structured-output support.",
                )
                err.usage = _calls(usage, tally)
                raise err from None
            return StructuredReply(
                value, method, _calls(usage, tally), repaired=True, messages=msgs2, raw=raw2
            )


def _calls(usage: Usage, tally: Usage) -> Usage:
    return usage.model_copy(update={"calls": tally.calls})


# --- factory and check ---------------------------------------------------------------------------
def endpoint_of(settings: Settings) -> str:
    return (settings.llm.base_url or OPENAI_URL).rstrip("/")


def build_chat_model(settings: Settings) -> BaseChatModel:
    """ChatOpenAI configured from settings; retries are ours (max_retries=0 here). Its HTTP
    client stops reading a reply past ``llm.max_reply_chars`` (agent.sources.body_limits)."""
    from langchain_openai import ChatOpenAI

    from agent.llm.endpoints import bounded_http_client
    from agent.llm.tokens import ensure_offline_bpe

    ensure_offline_bpe()  # langchain-openai's own token counting uses tiktoken too
    key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else None
    kwargs: dict[str, Any] = {}
    if settings.llm.base_url and "api.openai.com" not in settings.llm.base_url:
        # llama.cpp's server ignores max_completion_tokens (measured): also send max_tokens.
        kwargs["extra_body"] = {"max_tokens": settings.llm.max_tokens}
    return ChatOpenAI(
        model=settings.llm.model,
        base_url=settings.llm.base_url,
        # Local servers (Ollama, llama.cpp) need no key, but the client insists on one.
        api_key=key or "no-key-needed",
        timeout=settings.llm.timeout,
        max_retries=0,
        temperature=settings.llm.temperature,
        max_completion_tokens=settings.llm.max_tokens,
        http_async_client=bounded_http_client(settings),
        **kwargs,
    )


def make_llm(
    settings: Settings,
    *,
    chat_model: Any | None = None,
    method_store: MethodStore | None = None,
    backoff: float = 1.0,
    policy: RequestPolicy | None = None,
) -> ChatLLM | None:
    """The configured LLM, or None when no endpoint or key is set (use the no-model engine).
    ``chat_model`` injects any langchain chat model (tests, other providers), which keeps its
    own timeout; ``policy`` replaces the one built from the settings (agent.llm.endpoints)."""
    if chat_model is None and not settings.llm_enabled:
        return None
    return ChatLLM(
        chat_model if chat_model is not None else build_chat_model(settings),
        model=settings.llm.model,
        endpoint=endpoint_of(settings),
        prices=settings.llm.prices,
        max_retries=settings.llm.max_retries,
        backoff=backoff,
        method_store=method_store,
        policy=policy or RequestPolicy.from_settings(settings, timeout=chat_model is None),
        max_reply_chars=settings.llm.max_reply_chars,
    )
