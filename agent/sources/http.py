"""The one HTTP client every source uses: retries with backoff and a shared arXiv throttle.

arXiv's terms allow one request every 3 s and one connection at a time across *all* its
endpoints (API, RSS, OAI-PMH), so every request tagged ``throttle="arxiv"`` goes through one
lock that is held for the whole request, retries included, and requests start at least
``arxiv_min_interval`` seconds apart.

Every answer is bounded (agent.sources.body_limits): at most ``max_bytes`` (``http.max_bytes``, or a
request's own ``max_bytes``) are read, and a request still arriving ``deadline`` seconds after
it started is given up on, however slowly its bytes trickle in; neither is retried.
"""

from __future__ import annotations

import email.utils
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

import httpx

from agent._version import USER_AGENT
from agent.errors import ConfigError, SourceHTTPError, SourceTooLarge, SourceUnreachable
from agent.sources.body_limits import BodyTooLarge, BodyTooSlow, bounds, found, sync_hook

if TYPE_CHECKING:
    from agent.config import Settings

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Network failures worth another try: refused/reset connections, timeouts, a server that hung up.
_RETRY_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class _Throttle:
    """One connection at a time, and a minimum interval between request starts."""

    def __init__(self, min_interval: float, sleep: Callable[[float], None]) -> None:
        self.min_interval = min_interval
        self.lock = threading.Lock()
        self._sleep = sleep
        self._last_start: float | None = None

    def wait_turn(self) -> None:
        """Sleep until the interval since the previous start has passed (call with lock held)."""
        if self._last_start is not None:
            remaining = self._last_start + self.min_interval - time.monotonic()
            if remaining > 0:
                self._sleep(remaining)
        self._last_start = time.monotonic()


class HttpClient:
    """Sync httpx client with retries, backoff and per-group throttles; use as a context manager."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 2.0,
        user_agent: str = USER_AGENT,
        arxiv_min_interval: float = 3.0,
        max_retry_after: float = 60.0,
        max_bytes: int = 50_000_000,
        deadline: float | None = 300.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.max_bytes, self.deadline = max_bytes, deadline
        self.sleep = sleep
        self._throttles = {"arxiv": _Throttle(arxiv_min_interval, sleep)}
        self._client = httpx.Client(
            timeout=timeout,
            headers={"User-Agent": user_agent},
            follow_redirects=True,
            transport=transport,
            event_hooks={"response": [sync_hook(max_bytes=max_bytes)]},
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> HttpClient:
        return cls(
            timeout=settings.http.timeout,
            retries=settings.http.retries,
            backoff=settings.http.backoff,
            user_agent=settings.http.user_agent,
            arxiv_min_interval=settings.arxiv.min_interval,
            max_bytes=settings.http.max_bytes,
            deadline=settings.http.deadline,
            transport=transport,
            sleep=sleep,
        )

    # --- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests -----------------------------------------------------------------------------
    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        throttle: str | None = None,
        source: str = "",
        raise_for_status: bool = True,
        max_bytes: int | None = None,
    ) -> httpx.Response:
        """GET with retries. Non-retryable 4xx raise SourceHTTPError (``.response`` holds the
        answer) unless ``raise_for_status=False``, which returns them to the caller instead.
        An answer past ``max_bytes`` (default: the client's) raises SourceTooLarge, one still
        arriving at the deadline SourceUnreachable; neither is retried."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        if throttle is None:
            return self._get_with_retries(url, params, None, source, raise_for_status, cap)
        try:
            group = self._throttles[throttle]
        except KeyError:
            raise ValueError(f"unknown throttle group {throttle!r}") from None
        with group.lock:
            return self._get_with_retries(url, params, group, source, raise_for_status, cap)

    def _get_with_retries(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        group: _Throttle | None,
        source: str,
        raise_for_status: bool,
        max_bytes: int,
    ) -> httpx.Response:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            if group is not None:
                group.wait_turn()
            try:
                response = self._client.get(
                    url,
                    params=params,
                    extensions=bounds(max_bytes=max_bytes, seconds=self.deadline),
                )
            except BodyTooLarge as exc:
                raise _too_large(url, exc, source) from None
            except BodyTooSlow as exc:
                raise _too_slow(url, exc, source) from None
            except _RETRY_EXCEPTIONS as exc:
                if _unresolved(exc):  # a name that does not resolve will not in 30 s either
                    raise _unreachable(url, exc, attempt, source, dns=True) from exc
                if attempt == attempts:
                    raise _unreachable(url, exc, attempts, source) from exc
                delay = self._backoff_delay(attempt)
                log.warning(
                    "GET %s failed (%s); retry %d/%d in %.1fs",
                    _shown(url, params),
                    type(exc).__name__,
                    attempt,
                    self.retries,
                    delay,
                )
                self.sleep(delay)
                continue
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise ConfigError(
                    f"Cannot request {url!r}: {exc}.",
                    hint="Fix the source's base URL in the config (it must start with "
                    "http:// or https://).",
                ) from exc

            status = response.status_code
            if status < 400:
                return response
            if status in RETRY_STATUSES:
                if attempt == attempts:
                    raise _http_error(response, source, attempts)
                delay = self._retry_delay(response, attempt)
                log.warning(
                    "GET %s answered HTTP %d; retry %d/%d in %.1fs",
                    _shown(url, params),
                    status,
                    attempt,
                    self.retries,
                    delay,
                )
                self.sleep(delay)
                continue
            if not raise_for_status and 400 <= status < 500:
                return response
            raise _http_error(response, source, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff_delay(self, attempt: int) -> float:
        return self.backoff * (2 ** (attempt - 1))

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float:
        retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            return self._backoff_delay(attempt)
        return min(max(retry_after, 0.0), self.max_retry_after)


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _shown(url: str, params: Mapping[str, Any] | None) -> str:
    """The URL as logged (with its query: ours never carry secrets)."""
    if not params:
        return url
    return str(httpx.URL(url, params=dict(params)))


def _host(url: str) -> str:
    # without a user:password@ written into the URL: messages and logs name the host only
    return urlsplit(url).netloc.rpartition("@")[2] or url


def _unresolved(exc: BaseException) -> bool:
    """Whether the failure was a DNS lookup (socket.gaierror somewhere in the cause chain)."""
    return found(exc, socket.gaierror) is not None


def _unreachable(
    url: str, exc: Exception, attempts: int, source: str, *, dns: bool = False
) -> SourceUnreachable:
    label = f"{source}: " if source else ""
    detail = str(exc) or type(exc).__name__
    if dns:
        return SourceUnreachable(
            f"{label}the host name {urlsplit(url).hostname} does not resolve ({detail}); "
            "not retrying.",
            source=source,
            hint="Check your network connection (are you offline?) and the host in the "
            "source's base URL in the config.",
        )
    return SourceUnreachable(
        f"{label}could not reach {_host(url)} after {attempts} attempt(s): {detail}",
        source=source,
        hint="Check your network connection, proxy settings and the source's base URL in the "
        "config; if the site is down, try again later.",
    )


def _too_large(url: str, exc: BodyTooLarge, source: str) -> SourceTooLarge:
    label = f"{source}: " if source else ""
    return SourceTooLarge(
        f"{label}the answer from {_host(url)} is larger than {exc.limit:,} bytes "
        "(http.max_bytes): paperbrief stopped reading it and used none of it.",
        limit=exc.limit,
        source=source,
    )


def _too_slow(url: str, exc: BodyTooSlow, source: str) -> SourceUnreachable:
    label = f"{source}: " if source else ""
    return SourceUnreachable(
        f"{label}the answer from {_host(url)} was still arriving after {exc.seconds:g} s "
        "(http.deadline): paperbrief gave up on it.",
        source=source,
        hint="The site is answering very slowly: try again later, or raise "
        "PAPERBRIEF_HTTP__DEADLINE.",
    )


def _http_error(response: httpx.Response, source: str, attempts: int) -> SourceHTTPError:
    status = response.status_code
    url = str(response.request.url) if response.request is not None else ""
    label = f"{source}: " if source else ""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if status == 429:
        hint = "The site is rate-limiting us; wait a few minutes before retrying."
    elif status >= 500:
        hint = "The site is having trouble; try again later."
    elif status == 404:
        hint = "Check the source's base URL and the categories/dates you asked for."
    elif status in (401, 403):
        hint = "The site refused access; check the URL, or whether it needs an API key."
    else:
        hint = "Check the query parameters and the source's base URL in the config."
    err = SourceHTTPError(
        f"{label}{_host(url)} answered HTTP {status} {response.reason_phrase}{tries} ({url})",
        status=status,
        source=source,
        hint=hint,
    )
    err.response = response  # type: ignore[attr-defined]  # lets callers read the body
    return err
