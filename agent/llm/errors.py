"""LLM failures made precise: what went wrong, at which URL, whether retrying may help, the fix.

``LLMCallError`` is the ``LLMError`` (agent.errors) of one failed request; ``classify_error``
turns whatever openai/httpx raised into one.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from agent.errors import LLMError
from agent.models import Usage

ErrorKind = Literal[
    "unreachable", "auth", "not_found", "rate_limit", "timeout", "server", "bad_request", "output"
]


class LLMCallError(LLMError):
    """An LLMError that also says what kind of failure it was (and what it cost so far)."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status: int | None = None,
        retryable: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable, hint=hint)
        self.kind = kind
        self.status = status
        self.usage = Usage()
        self.retry_after: float | None = None

    @property
    def fatal(self) -> bool:
        """True when every other request to this endpoint would fail the same way."""
        return self.kind in ("unreachable", "auth", "not_found")


_URL_HINT = "Start the server, or fix llm_base_url (PAPERBRIEF_LLM_BASE_URL / OPENAI_BASE_URL)."


def classify_error(exc: BaseException, *, url: str, model: str) -> LLMCallError:
    """Turn an openai/httpx exception into a precise, actionable LLMCallError."""
    import openai

    if isinstance(exc, LLMCallError):
        return exc
    if isinstance(exc, openai.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return LLMCallError(
            f"The LLM endpoint {url} did not answer in time (model {model}).",
            kind="timeout",
            retryable=True,
            hint="Raise llm_timeout, lower llm_max_concurrency, or use a faster model.",
        )
    if isinstance(exc, openai.APIConnectionError):
        return LLMCallError(
            f"Cannot reach the LLM endpoint at {url} ({_root_cause(exc)}).",
            kind="unreachable",
            retryable=True,
            hint=_URL_HINT,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _detail(exc)
        if status in (401, 403):
            err = LLMCallError(
                f"The LLM endpoint {url} rejected the API key (HTTP {status}).",
                kind="auth",
                status=status,
                hint="Set OPENAI_API_KEY (or PAPERBRIEF_OPENAI_API_KEY) to a valid key for "
                "this endpoint.",
            )
        elif status == 404:
            err = LLMCallError(
                f"The LLM endpoint {url} does not know model {model!r} (HTTP 404: {detail}).",
                kind="not_found",
                status=status,
                hint="Set PAPERBRIEF_LLM_MODEL to a model the endpoint serves.",
            )
        elif status == 429:
            err = LLMCallError(
                f"The LLM endpoint {url} is rate limiting requests (HTTP 429: {detail}).",
                kind="rate_limit",
                status=status,
                retryable=True,
                hint="Lower llm_max_concurrency or wait; check the account's quota.",
            )
        elif status >= 500:
            err = LLMCallError(
                f"The LLM endpoint {url} failed (HTTP {status}: {detail}).",
                kind="server",
                status=status,
                retryable=True,
                hint="Retry later; if it persists, check the server's log.",
            )
        else:
            err = LLMCallError(
                f"The LLM endpoint {url} refused the request (HTTP {status}: {detail}).",
                kind="bad_request",
                status=status,
                hint="Check llm_model and that the endpoint is OpenAI-compatible.",
            )
        retry_after = exc.response.headers.get("retry-after") if exc.response else None
        if retry_after:
            with contextlib.suppress(ValueError):
                err.retry_after = float(retry_after)
        return err
    if type(exc).__name__ == "LengthFinishReasonError":
        return LLMCallError(
            f"The model {model} at {url} hit the token limit before finishing its reply.",
            kind="output",
            hint="Raise llm_max_tokens.",
        )
    return LLMCallError(
        f"The LLM call to {url} failed: {type(exc).__name__}: {exc}.", kind="server", retryable=True
    )


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        body = body.get("error", body)
        if isinstance(body, dict):
            body = body.get("message", body)
    text = str(body or getattr(exc, "message", "") or "").strip()
    return text[:200]


def _root_cause(exc: BaseException) -> str:
    """The innermost reason (e.g. "[Errno 111] Connection refused"), not the wrapper's text."""
    seen = {id(exc)}
    while (nxt := exc.__cause__ or exc.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        exc = nxt
    return (str(exc) or type(exc).__name__).rstrip(".")


__all__ = ["ErrorKind", "LLMCallError", "classify_error"]
