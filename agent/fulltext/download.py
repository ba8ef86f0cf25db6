"""One bounded GET through the project's polite client, every failure a value, not a raise.

Requests to arXiv (its configured HTML and PDF bases, or any ``*.arxiv.org`` URL) go through
the client's ``"arxiv"`` throttle: the same lock and interval as the query API and the RSS
feed, so full text never makes paperbrief break arXiv's one-request-every-3-s rule.

The client stops reading an answer at ``max_bytes`` ([fulltext] max_bytes, passed per request):
an oversized paper is skipped after that many bytes, never read whole. A slow body is given up
on at the client's ``[http] deadline``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from agent.errors import ConfigError, SourceHTTPError, SourceTooLarge, SourceUnreachable
from agent.fulltext.models import Attempt, Outcome
from agent.sources.body_limits import found
from agent.sources.http import HttpClient

log = logging.getLogger(__name__)

SOURCE = "fulltext"


@dataclass
class Fetched:
    """A 2xx answer within the size cap."""

    url: str
    status: int
    content: bytes
    content_type: str
    charset: str | None


def is_arxiv_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "arxiv.org" or host.endswith(".arxiv.org")


def download(
    http: HttpClient,
    url: str,
    *,
    route: str,
    max_bytes: int,
    arxiv: bool,
    clock: Callable[[], float],
) -> Fetched | Attempt:
    """The answer, or the failed ``Attempt`` saying why (HTTP status, timeout, size ...)."""
    started = clock()

    def failed(outcome: Outcome, detail: str, status: int | None = None, size: int = 0) -> Attempt:
        log.info("full text %s %s: %s", route, url, detail)
        return Attempt(
            route="pdf" if route == "pdf" else "html",
            url=url,
            outcome=outcome,
            status=status,
            detail=detail,
            bytes=size,
            seconds=round(clock() - started, 3),
        )

    throttle = "arxiv" if arxiv or is_arxiv_url(url) else None
    try:
        response = http.get(
            url, throttle=throttle, source=SOURCE, raise_for_status=False, max_bytes=max_bytes
        )
    except SourceTooLarge as exc:
        return failed(Outcome.TOO_LARGE, f"larger than {exc.limit:,} bytes (max_bytes)")
    except SourceHTTPError as exc:
        return failed(Outcome.HTTP_ERROR, f"HTTP {exc.status}", exc.status)
    except SourceUnreachable as exc:
        if _timed_out(exc):
            return failed(Outcome.TIMEOUT, "timed out")
        return failed(Outcome.UNREACHABLE, _short(str(exc)))
    except ConfigError as exc:
        return failed(Outcome.INVALID_URL, _short(str(exc)))
    except httpx.HTTPError as exc:  # redirect loops, broken compression, ...
        return failed(Outcome.UNREACHABLE, f"{type(exc).__name__}: {_short(str(exc))}")
    size = len(response.content)
    if response.status_code >= 300:
        return failed(
            Outcome.HTTP_ERROR, f"HTTP {response.status_code}", response.status_code, size
        )
    if size > max_bytes:  # the client stops at the cap; this is a second guard
        return failed(Outcome.TOO_LARGE, f"larger than {max_bytes:,} bytes (max_bytes)", 200, size)
    return Fetched(
        url=str(response.url),
        status=response.status_code,
        content=response.content,
        content_type=response.headers.get("content-type", "").split(";")[0].strip().lower(),
        charset=response.charset_encoding,
    )


def _timed_out(exc: BaseException) -> bool:
    return found(exc, httpx.TimeoutException) is not None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
