"""What kind of server an endpoint is, and the request policy that follows from it.

A server on this machine or the local network (llama.cpp, Ollama, vLLM on a workstation) is not
a hosted API: llama.cpp keeps computing a request whose client gave up, so a retry after a
timeout queues behind the abandoned work, and parallel requests compete for the same few cores.
For such a server paperbrief sends one request at a time unless ``llm.max_concurrency`` is set,
never resends a request that timed out, and gives each request more time for a longer prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Required, TypedDict
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from agent.config import Settings

#: Prompt tokens a slow local server is assumed to read per second: each request's timeout is
#: ``llm.timeout`` plus one second per this many prompt tokens (a 2,000-token prompt adds 100 s).
PROMPT_TOKENS_PER_SECOND = 20
_LOCAL_SUFFIXES = (".local", ".localhost", ".lan", ".internal", ".home.arpa")


def is_local_endpoint(url: str | None) -> bool:
    """True for a server on this machine or a private network (loopback, RFC 1918 and link-local
    addresses, ``localhost``, ``*.local``, single-label names such as a compose service)."""
    host = (urlsplit(url or "").hostname or "").lower().rstrip(".")
    if not host:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith(_LOCAL_SUFFIXES)
    return ip.is_loopback or ip.is_private or ip.is_link_local


def as_pairs(messages: Sequence[Any]) -> list[tuple[str, str]]:
    """(role, text) of ``(role, content)`` tuples or langchain messages, to size a prompt."""
    return [
        (str(m[0]), str(m[1])) if isinstance(m, tuple) else (str(m.type), str(m.content))
        for m in messages
    ]


#: Wire bytes allowed per character of reply (see reply_byte_cap).
WIRE_BYTES_PER_CHAR = 20


def reply_byte_cap(max_reply_chars: int) -> int:
    """Bytes read from the wire for one reply of at most ``max_reply_chars`` characters: room
    for JSON escapes and a streamed reply's ~200 bytes of framing per token."""
    return max_reply_chars * WIRE_BYTES_PER_CHAR + 65_536


def bounded_http_client(settings: Settings) -> Any:
    """The chat model's async HTTP client: it stops reading a reply past ``llm.max_reply_chars``
    (on the wire, agent.sources.body_limits); the overall deadline is the request policy's."""
    import httpx

    from agent.sources.body_limits import async_hook

    cap = reply_byte_cap(settings.llm.max_reply_chars)
    return httpx.AsyncClient(
        timeout=settings.llm.timeout,
        follow_redirects=True,
        event_hooks={"response": [async_hook(max_bytes=cap)]},
    )


def request_slots(settings: Settings) -> int:
    """LLM requests in flight at once: ``llm.max_concurrency`` when it was set, else 1 for a
    local server (its cores are shared by every request) and the default for a hosted API."""
    if "max_concurrency" in settings.llm.model_fields_set:
        return settings.llm.max_concurrency
    return 1 if is_local_endpoint(settings.llm.base_url) else settings.llm.max_concurrency


class RequestPolicy:
    """How requests go to one endpoint: ``timeout`` seconds plus one per ``prompt_rate`` prompt
    tokens (None: the chat model's own timeout), an overall deadline for the whole request
    however slowly the reply arrives, at most ``max_concurrency`` at once (None: no limit
    here), and ``local`` servers get no retry after a timeout."""

    def __init__(
        self,
        *,
        timeout: float | None = None,
        local: bool = False,
        max_concurrency: int | None = None,
        prompt_rate: float = PROMPT_TOKENS_PER_SECOND,
    ) -> None:
        self.timeout = timeout
        self.local = local
        self.max_concurrency = max_concurrency
        self.prompt_rate = prompt_rate
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._stops = 0
        self._stopped: BaseException | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, local: bool | None = None, timeout: bool = True
    ) -> RequestPolicy:
        """``local`` overrides the guess from the base URL; ``timeout=False`` leaves the
        timeout to the chat model."""
        return cls(
            timeout=settings.llm.timeout if timeout else None,
            local=is_local_endpoint(settings.llm.base_url) if local is None else local,
            max_concurrency=request_slots(settings),
            prompt_rate=settings.llm.prompt_tokens_per_second,
        )

    def seconds_for(self, prompt_tokens: int) -> float | None:
        """Seconds for one request: the configured timeout plus time to read the prompt."""
        return None if self.timeout is None else self.timeout + prompt_tokens / self.prompt_rate

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for a free request slot. A request that waited while another found the endpoint
        unusable (a wrong URL, a key, a local server still busy after a timeout) is not sent:
        it gets a copy of that error, as it would only fail the same way."""
        stops = self._stops
        async with self._slot():
            if self._stops != stops and self._stopped is not None:
                raise copy.copy(self._stopped)
            yield

    def failed(self, err: BaseException, *, fatal: bool) -> None:
        """Record a request's final error; ``fatal`` ones stop the requests waiting a turn."""
        if fatal:
            self._stops += 1
            self._stopped = err

    def _slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        if self.max_concurrency is None:
            return contextlib.nullcontext()
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:  # a semaphore binds to one loop
            self._slots = (loop, asyncio.Semaphore(self.max_concurrency))
        return self._slots[1]


class EndpointCheck(TypedDict, total=False):
    """What ``check_llm`` reports: the endpoint (credentials masked), model and ``ok``; then the
    method, latency and tokens of the reply, or the error with its hint and kind."""

    endpoint: Required[str]
    model: Required[str]
    ok: Required[bool]
    method: str
    latency_s: float
    tokens_in: int
    tokens_out: int
    usage_from: str
    error: str
    hint: str
    kind: str
    retryable: bool


__all__ = [
    "PROMPT_TOKENS_PER_SECOND",
    "WIRE_BYTES_PER_CHAR",
    "EndpointCheck",
    "RequestPolicy",
    "as_pairs",
    "bounded_http_client",
    "is_local_endpoint",
    "reply_byte_cap",
    "request_slots",
]
