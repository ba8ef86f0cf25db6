"""LLM failures made precise: what went wrong, at which URL, whether retrying may help, the fix.

``LLMCallError`` is the ``LLMError`` (agent.errors) of one failed request; ``classify_error``
turns whatever openai/httpx raised into one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any, Literal

from agent.errors import LLMError, cause_chain
from agent.llm.endpoints import RequestPolicy, is_local_endpoint
from agent.models import Usage

ErrorKind = Literal[
    "unreachable",
    "not_openai",  # something answered, but not the OpenAI API: the base URL is wrong
    "auth",
    "not_found",
    "rate_limit",
    "timeout",
    "server",
    "bad_request",
    "output",
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

    def __copy__(self) -> LLMCallError:
        """The same failure for a request that was never sent (so its usage is empty)."""
        twin = LLMCallError(
            self.message, kind=self.kind, status=self.status, retryable=self.retryable,
            hint=self.hint,
        )  # fmt: skip
        twin.retry_after = self.retry_after
        return twin

    @property
    def fatal(self) -> bool:
        """True when every other request to this endpoint would fail the same way; a local
        server that timed out is still busy with the abandoned request, so it counts too."""
        if self.kind == "timeout":
            return not self.retryable
        return self.kind in ("unreachable", "not_openai", "auth", "not_found")


# One name for the endpoint in every message: the one the README documents.
_URL_HINT = "Start the server, or fix OPENAI_BASE_URL (the llm_base_url setting)."


def _shown(url: str) -> str:
    """The endpoint as messages name it: a login or key written into it masked."""
    from agent.config.secrets import mask_url

    return mask_url(url)


def base_url_hint(url: str) -> str:
    """How to point paperbrief at the API rather than at a web page on the same server."""
    root = url.rstrip("/")
    guess = "" if root.endswith("/v1") else f" (probably {root}/v1)"
    return (
        f"Set OPENAI_BASE_URL to the server's OpenAI API address{guess}: it usually ends in /v1, "
        "e.g. http://localhost:11434/v1 (Ollama) or http://localhost:8080/v1 (llama.cpp)."
    )


def timeout_error(url: str, model: str, policy: RequestPolicy, prompt_tokens: int) -> LLMCallError:
    """A timeout as the user should read it: how long was allowed, and what to set."""
    url = _shown(url)
    base, local = policy.timeout or 0.0, policy.local
    seconds = policy.seconds_for(prompt_tokens) or base
    message = (
        f"The LLM endpoint {url} did not answer within {seconds:.{0 if seconds >= 10 else 1}f} s "
        f"(model {model}, a {prompt_tokens}-token prompt)."
    )
    allowance = f"now {base:g} s, plus 1 s per {policy.prompt_rate:g} prompt tokens"
    if not local:
        return LLMCallError(
            message,
            kind="timeout",
            retryable=True,
            hint=f"Raise llm_timeout (PAPERBRIEF_LLM__TIMEOUT, {allowance}), lower "
            "llm_max_concurrency, or use a faster model.",
        )
    suggested = max(300, (int(base * 4) // 60 + 1) * 60)
    return LLMCallError(
        message + " A local server keeps working on a request its client gave up on, so "
        "paperbrief does not resend it: a retry would only queue behind it.",
        kind="timeout",
        hint=_local_timeout_hint(f"PAPERBRIEF_LLM__TIMEOUT={suggested} ({allowance})"),
    )


def _local_timeout_hint(setting: str) -> str:
    return (
        f"Give the server more time: set llm_timeout, e.g. {setting}; or lower "
        "PAPERBRIEF_LLM__MAX_TOKENS, or use a smaller model. Keep llm_max_concurrency at 1 "
        "for a server on a few CPU cores."
    )


def reply_too_long(url: str, model: str, max_chars: int | None) -> LLMCallError:
    """A reply past ``llm.max_reply_chars``: reading it stopped there."""
    cap = f"{max_chars:,} characters" if max_chars is not None else "the size cap"
    return LLMCallError(
        f"The reply from the LLM endpoint {_shown(url)} (model {model}) is longer than {cap} "
        "(llm.max_reply_chars): paperbrief stopped reading it.",
        kind="output",
        hint="A reply this long is a misbehaving server or model: lower PAPERBRIEF_LLM__MAX_TOKENS"
        " or check the server; if you do want such replies, raise "
        "PAPERBRIEF_LLM__MAX_REPLY_CHARS.",
    )


def classify_error(
    exc: BaseException, *, url: str, model: str, reply_cap: int | None = None
) -> LLMCallError:
    """Turn an openai/httpx exception into a precise, actionable LLMCallError; ``reply_cap``
    is the ``llm.max_reply_chars`` a reply too large for (agent.sources.body_limits) passed."""
    import openai

    from agent.sources.body_limits import BodyTooLarge, BodyTooSlow, found

    if isinstance(exc, LLMCallError):
        return exc
    if found(exc, BodyTooLarge) is not None:
        return reply_too_long(url, model, reply_cap)
    slow = found(exc, BodyTooSlow)
    if slow is not None:
        exc = TimeoutError(str(slow))  # a timeout, whatever the client wrapped it in
    url = _shown(url)
    if isinstance(exc, openai.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        local = is_local_endpoint(url)
        return LLMCallError(
            f"The LLM endpoint {url} did not answer in time (model {model}).",
            kind="timeout",
            retryable=not local,
            hint=_local_timeout_hint("PAPERBRIEF_LLM__TIMEOUT=300")
            if local
            else "Raise llm_timeout, lower llm_max_concurrency, or use a faster model.",
        )
    if _not_json_reply(exc):
        page = _TITLE.search(str(exc))
        what = f"a web page titled {page.group(1).strip()[:80]!r}" if page else "a non-JSON body"
        return LLMCallError(
            f"The LLM endpoint {url} answered with {what} instead of the OpenAI API's JSON: the "
            "base URL points at something else on that server.",
            kind="not_openai",
            hint=base_url_hint(url),
        )
    if isinstance(exc, openai.APIConnectionError):
        return LLMCallError(
            f"Cannot reach the LLM endpoint at {url} ({_root_cause(exc)}).",
            kind="unreachable",
            retryable=True,
            hint=_URL_HINT,
        )
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, url=url, model=model)
    if type(exc).__name__ == "LengthFinishReasonError":
        return LLMCallError(
            f"The model {model} at {url} hit the token limit before finishing its reply.",
            kind="output",
            hint="Raise llm_max_tokens.",
        )
    return LLMCallError(
        f"The LLM call to {url} failed: {type(exc).__name__}: {exc}.", kind="server", retryable=True
    )


def _status_error(exc: Any, *, url: str, model: str) -> LLMCallError:
    """An HTTP error status from the endpoint, by what it means for the user."""
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
    elif status in (404, 405) and not _is_json(exc):
        err = LLMCallError(
            f"The LLM endpoint {url} has no OpenAI API at that address (HTTP {status}"
            f"{_page_of(exc)}).",
            kind="not_openai",
            status=status,
            hint=base_url_hint(url),
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


_TITLE = re.compile(r"<title[^>]*>([^<]{1,200})</title>", re.IGNORECASE)


def _not_json_reply(exc: BaseException) -> bool:
    """The openai client hands a non-JSON 200 body (an HTML page) on as a plain ``str``;
    langchain-openai then fails on it with one of these."""
    text = str(exc)
    return (isinstance(exc, AttributeError) and text.startswith("'str' object")) or (
        isinstance(exc, ValueError) and "Unexpected response type" in text and "got str" in text
    )


def _page_of(exc: Any) -> str:
    """ ", a page titled '...'" for an HTML error page, else nothing (not the raw markup)."""
    try:
        page = _TITLE.search(exc.response.text)
    except Exception:  # no response, or a body that cannot be read any more
        return ""
    return f", a page titled {page.group(1).strip()[:80]!r}" if page else ""


def _is_json(exc: Any) -> bool:
    response = getattr(exc, "response", None)
    kind = response.headers.get("content-type", "") if response is not None else ""
    return "json" in kind.lower()


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
    *_, exc = cause_chain(exc)
    return (str(exc) or type(exc).__name__).rstrip(".")


__all__ = [
    "ErrorKind",
    "LLMCallError",
    "base_url_hint",
    "classify_error",
    "reply_too_long",
    "timeout_error",
]
