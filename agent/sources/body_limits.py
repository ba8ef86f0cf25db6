"""A size cap and an overall deadline on every body read from the network (sources, the LLM).

httpx's timeout applies to each read, and a body is read whole however large it is: a server
that sends one byte a second never trips the timeout, and a 500 MB answer was read into memory
whole. A response hook (``sync_hook`` / ``async_hook``, one per httpx client) wraps each
response's byte stream before its body is read, so reading stops at the first chunk past the
cap (``BodyTooLarge``) or past the request's deadline (``BodyTooSlow``). A request may carry
its own bounds in its extensions (``bounds(max_bytes=..., deadline=...)``), else the hook's
defaults apply. Both errors are paperbrief errors, not httpx ones: no retry loop takes them for
a network hiccup worth another try, and the caller (the source client, the LLM layer) turns them
into its own error naming the setting to change.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx

from agent.errors import PaperbriefError, cause_chain

_KEY = "paperbrief.bounds"


class BodyTooLarge(PaperbriefError):
    """The body passed ``limit`` bytes; reading stopped there."""

    default_hint = "The server sent far more than expected: check its URL, or try again later."

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(f"the answer from {url} is larger than {limit:,} bytes")
        self.url, self.limit = url, limit


class BodyTooSlow(PaperbriefError):
    """The body was still arriving ``seconds`` after the request started; reading stopped."""

    default_hint = "The server is answering very slowly: try again later."

    def __init__(self, url: str, seconds: float) -> None:
        super().__init__(f"the answer from {url} was still arriving after {seconds:g} s")
        self.url, self.seconds = url, seconds


def bounds(*, max_bytes: int | None = None, seconds: float | None = None) -> dict[str, Any]:
    """Request extensions giving this one request its own cap and deadline (from now)."""
    deadline = None if seconds is None else (time.monotonic() + seconds, seconds)
    return {_KEY: (max_bytes, deadline)}


def found(exc: BaseException | None, kind: type[Exception]) -> Exception | None:
    """The first ``kind`` error in ``exc``'s cause/context chain (clients wrap them)."""
    return next((e for e in cause_chain(exc) if isinstance(e, kind)), None)


class _Meter:
    def __init__(self, response: httpx.Response, max_bytes: int | None, seconds: float | None):
        own_cap, own_deadline = response.request.extensions.get(_KEY, (None, None))
        self.url = _shown(response.request.url)
        self.limit = own_cap if own_cap is not None else max_bytes
        if own_deadline is not None:
            self.deadline, self.seconds = own_deadline
        elif seconds is not None:
            self.deadline, self.seconds = time.monotonic() + seconds, seconds
        else:
            self.deadline = self.seconds = None
        self.seen = 0
        length = response.headers.get("content-length", "")
        if self.limit is not None and length.isdigit() and int(length) > self.limit:
            raise BodyTooLarge(self.url, self.limit)  # refused before a byte is read

    def count(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        if self.limit is not None and self.seen > self.limit:
            raise BodyTooLarge(self.url, self.limit)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise BodyTooSlow(self.url, self.seconds or 0.0)


class _SyncStream(httpx.SyncByteStream):
    def __init__(self, inner: Any, meter: _Meter) -> None:
        self.inner, self.meter = inner, meter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.meter.count(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any, meter: _Meter) -> None:
        self.inner, self.meter = inner, meter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.meter.count(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


def sync_hook(
    *, max_bytes: int | None, seconds: float | None = None
) -> Callable[[httpx.Response], None]:
    """An httpx ``Client`` response hook bounding every body it reads."""

    def hook(response: httpx.Response) -> None:
        meter = _Meter(response, max_bytes, seconds)
        response.stream = _SyncStream(response.stream, meter)

    return hook


def async_hook(
    *, max_bytes: int | None, seconds: float | None = None
) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx ``AsyncClient`` response hook bounding every body it reads."""

    async def hook(response: httpx.Response) -> None:
        meter = _Meter(response, max_bytes, seconds)
        response.stream = _AsyncStream(response.stream, meter)

    return hook


def _shown(url: httpx.URL) -> str:
    """Host and path only: a query or a login in the URL may be a credential."""
    return f"{url.scheme}://{url.host}{f':{url.port}' if url.port else ''}{url.path}"


__all__ = ["BodyTooLarge", "BodyTooSlow", "async_hook", "bounds", "found", "sync_hook"]
