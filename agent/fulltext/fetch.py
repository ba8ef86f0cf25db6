"""Fetch one paper's full text: try its routes in order, parse the first that works, never raise.

Routes, in order:

- an arXiv paper: ``{arxiv_html_url}/<id>v<N>`` (LaTeXML HTML), then ``{arxiv_pdf_url}/<id>v<N>``.
  arXiv answers 200 with a stub page when it has no HTML, and sometimes with LaTeXML's fatal
  error page: both are detected (``detect``) and the PDF is tried;
- any other paper: its local PDF (``pdf_path``), its ``html_url``, then its ``pdf_url``.

Each route ends in an ``Attempt`` (ok, or why not); a paper whose routes all fail gets route
``none`` and a one-line ``reason``, and keeps working from its abstract. Routes are skipped once
``[fulltext] time_budget`` is spent. Expected failures (HTTP errors, timeouts, oversized or
garbage bodies, unreadable PDFs) are results; only programming errors raise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent.config import FulltextSettings
from agent.fulltext.detect import PageKind, classify_page, decode_html
from agent.fulltext.download import Fetched, download
from agent.fulltext.html_parse import parse_html
from agent.fulltext.models import Attempt, Document, FullTextResult, FullTextTarget, Outcome
from agent.fulltext.pdf_parse import PdfUnreadable, is_pdf, parse_pdf
from agent.models import utcnow
from agent.sources.http import HttpClient

log = logging.getLogger(__name__)

#: A parsed page or PDF with less body text than this is not the paper (an empty shell).
MIN_BODY_CHARS = 500


@dataclass
class _Route:
    kind: str  # "html" or "pdf"
    where: str  # URL or local path
    arxiv: bool = False
    local: bool = False


def fetch_fulltext(
    target: FullTextTarget,
    *,
    settings: FulltextSettings,
    http: HttpClient,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = utcnow,
) -> FullTextResult:
    """The paper's full text through the first route that works, or route ``none`` and why."""
    attempts: list[Attempt] = []
    started = clock()
    for route in _plan_routes(target, settings):
        if clock() - started >= settings.time_budget:
            attempts.append(_skipped(route, f"time budget of {settings.time_budget:g} s spent"))
            continue
        outcome = _try(route, settings, http, clock)
        if isinstance(outcome, Attempt):
            attempts.append(outcome)
            continue
        document, attempt = outcome
        attempts.append(attempt)
        return FullTextResult(
            paper_id=target.paper_id,
            version=target.version,
            route="pdf" if document.format == "pdf" else "html",
            url=attempt.url,
            document=document,
            attempts=attempts,
            reason=_reason(attempts[:-1]) or None,
            fetched_at=now(),
        )
    reason = _reason(attempts) or "no full-text source: not an arXiv paper, no pdf_url or html_url"
    log.info("no full text for %s: %s", target.versioned_id, reason)
    return FullTextResult(
        paper_id=target.paper_id,
        version=target.version,
        route="none",
        attempts=attempts,
        reason=reason,
        fetched_at=now(),
    )


def _plan_routes(target: FullTextTarget, settings: FulltextSettings) -> list[_Route]:
    """Where to look, in order (see the module docstring)."""
    if target.arxiv:
        key = target.versioned_id
        return [
            _Route("html", f"{settings.arxiv_html_url.rstrip('/')}/{key}", arxiv=True),
            _Route("pdf", f"{settings.arxiv_pdf_url.rstrip('/')}/{key}", arxiv=True),
        ]
    routes: list[_Route] = []
    if target.pdf_path is not None:
        routes.append(_Route("pdf", str(target.pdf_path), local=True))
    if target.html_url:
        routes.append(_Route("html", target.html_url))
    if target.pdf_url:
        routes.append(_Route("pdf", target.pdf_url))
    return routes


# --- one route --------------------------------------------------------------------------------
def _try(
    route: _Route, settings: FulltextSettings, http: HttpClient, clock: Callable[[], float]
) -> tuple[Document, Attempt] | Attempt:
    started = clock()
    if route.local:
        got: Fetched | Attempt = _read_local(Path(route.where), settings.max_bytes)
    else:
        got = download(
            http,
            route.where,
            route=route.kind,
            max_bytes=settings.max_bytes,
            arxiv=route.arxiv,
            clock=clock,
        )
    if isinstance(got, Attempt):
        return got
    document, outcome, detail = _parse(route, got, settings)

    def attempt(outcome: Outcome, detail: str) -> Attempt:
        return Attempt(
            route="pdf" if route.kind == "pdf" else "html",
            url=route.where,
            outcome=outcome,
            status=got.status or None,
            detail=detail,
            bytes=len(got.content),
            seconds=round(clock() - started, 3),
        )

    if document is None:
        log.info("full text %s %s: %s", route.kind, route.where, detail)
        return attempt(outcome, detail)
    return document, attempt(Outcome.OK, f"{document.body_chars:,} characters of body text")


def _parse(
    route: _Route, got: Fetched, settings: FulltextSettings
) -> tuple[Document | None, Outcome, str]:
    """(document, ok) or (None, why not, detail)."""
    if route.kind == "pdf" or is_pdf(got.content):
        if not is_pdf(got.content):
            shown = got.content_type or "unknown type"
            return None, Outcome.NOT_PDF, f"not a PDF ({shown}, {len(got.content):,} bytes)"
        try:
            document = parse_pdf(
                got.content, max_pages=settings.max_pages, max_chars=settings.max_chars
            )
        except PdfUnreadable as exc:
            empty = "no text layer" in str(exc)
            return None, Outcome.EMPTY if empty else Outcome.UNREADABLE, str(exc)
    else:
        text = decode_html(got.content, got.charset)
        kind = classify_page(text)
        if kind is PageKind.NO_HTML:
            return None, Outcome.NO_HTML, "arXiv has no HTML for this paper (its stub page)"
        if kind is PageKind.FATAL:
            return None, Outcome.CONVERSION_FAILED, "LaTeXML's conversion had a fatal error"
        if kind is PageKind.OTHER and route.arxiv:
            return None, Outcome.NOT_HTML, "not a LaTeXML paper page"
        try:
            document = parse_html(text, max_chars=settings.max_chars)
        except (ValueError, TypeError) as exc:  # lxml: empty or non-HTML documents
            return None, Outcome.UNREADABLE, f"not readable as HTML ({exc})"
    if document.body_chars < MIN_BODY_CHARS:
        return None, Outcome.EMPTY, f"only {document.body_chars} characters of body text"
    return document, Outcome.OK, ""


def _read_local(path: Path, max_bytes: int) -> Fetched | Attempt:
    def failed(outcome: Outcome, detail: str) -> Attempt:
        return Attempt(route="pdf", url=str(path), outcome=outcome, detail=detail)

    try:
        size = path.stat().st_size
        if size > max_bytes:
            return failed(Outcome.TOO_LARGE, f"{size:,} bytes > max_bytes {max_bytes:,}")
        data = path.read_bytes()
    except FileNotFoundError:
        return failed(Outcome.MISSING_FILE, "no such file")
    except OSError as exc:
        return failed(Outcome.MISSING_FILE, f"cannot read it ({exc.strerror or exc})")
    return Fetched(url=str(path), status=0, content=data, content_type="", charset=None)


def _skipped(route: _Route, why: str) -> Attempt:
    return Attempt(
        route="pdf" if route.kind == "pdf" else "html",
        url=route.where,
        outcome=Outcome.OVER_BUDGET,
        detail=why,
    )


def _reason(attempts: list[Attempt]) -> str:
    return "; ".join(f"{a.route}: {a.detail or a.outcome.value}" for a in attempts)
