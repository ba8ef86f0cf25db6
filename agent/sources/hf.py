"""Hugging Face daily papers (``huggingface.co/api/daily_papers?date=YYYY-MM-DD``).

We read the JSON ourselves: ``ai_summary`` / ``ai_keywords`` sit inside ``paper`` in real
payloads, where huggingface_hub does not look. Payloads from 2024 lack the optional fields.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from agent.config import Settings
from agent.errors import ConfigError, FeedParseError
from agent.models import ItemFailure, Paper, utcnow
from agent.sources._ids import arxiv_abs_url, arxiv_pdf_url, clean_text, paper_key
from agent.sources._xml import parse_datetime, watermark_date
from agent.sources.base import FetchRequest, FetchResult
from agent.sources.http import HttpClient

log = logging.getLogger(__name__)

MAX_CATCH_UP_DAYS = 7
# (extra key, where to look: paper first, then the item)
_EXTRA_FIELDS = (
    ("upvotes", "upvotes"),
    ("ai_summary", "ai_summary"),
    ("ai_keywords", "ai_keywords"),
    ("github_repo", "githubRepo"),
    ("project_page", "projectPage"),
    ("num_comments", "numComments"),
)


def is_hf_shape(data: object) -> bool:
    items = data if isinstance(data, list) else [data]
    return bool(items) and all(
        isinstance(i, dict) and isinstance(i.get("paper"), dict) for i in items
    )


def parse_hf_items(data: object, *, source: str) -> tuple[list[Paper], list[ItemFailure]]:
    """Papers from a daily-papers payload (a list of items, or one item); ValueError if the
    payload is not that shape at all."""
    if isinstance(data, dict) and isinstance(data.get("paper"), dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError(f"expected a JSON list of daily-paper items, got {type(data).__name__}")
    if data and not any(isinstance(i, dict) and isinstance(i.get("paper"), dict) for i in data):
        raise ValueError("no item has a 'paper' object: not the daily-papers format")
    papers: list[Paper] = []
    skipped: list[ItemFailure] = []
    for index, item in enumerate(data):
        try:
            papers.append(_item_to_paper(item, source=source))
        except ValueError as exc:
            skipped.append(ItemFailure(item=_label(item, index), step="fetch", reason=str(exc)))
    return papers, skipped


def _label(item: object, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("paper"), dict) and item["paper"].get("id"):
        return f"hf paper {item['paper']['id']}"
    return f"item {index + 1}"


def _item_to_paper(item: object, *, source: str) -> Paper:
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise ValueError("item has no 'paper' object")
    paper = item["paper"]
    title = clean_text(_str(paper.get("title")) or _str(item.get("title")))
    abstract = clean_text(_str(paper.get("summary")) or _str(item.get("summary")))
    if not title:
        raise ValueError("paper has no title")
    if not abstract:
        raise ValueError(f"paper {title[:60]!r} has no abstract")
    raw_id = _str(paper.get("id"))
    paper_id, version = paper_key(f"arXiv:{raw_id}" if raw_id else None, title=title)
    is_arxiv = not paper_id.startswith(("doi:", "sha:"))

    extra: dict[str, Any] = {}
    for key, name in _EXTRA_FIELDS:
        value = paper.get(name, item.get(name))
        if value is not None and value != "":
            extra[key] = value
    if raw_id:
        extra["hf_url"] = f"https://huggingface.co/papers/{raw_id}"
    authors = paper.get("authors") if isinstance(paper.get("authors"), list) else []
    return Paper(
        id=paper_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=[
            name
            for a in authors
            if isinstance(a, dict) and (name := clean_text(_str(a.get("name"))))
        ],
        published=parse_datetime(_str(paper.get("publishedAt")) or _str(item.get("publishedAt"))),
        source=source,
        url=arxiv_abs_url(paper_id) if is_arxiv else None,
        pdf_url=arxiv_pdf_url(paper_id, None) if is_arxiv else None,
        extra=extra,
    )


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


class HfDailySource:
    """One request per day; several days for a window or to catch up after the watermark."""

    name = "hf"

    def __init__(
        self, settings: Settings, http: HttpClient, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock

    def days(self, request: FetchRequest, watermark: str | None) -> list[date]:
        today = self.clock().date()
        if request.day:
            return [request.day]
        if request.since or request.until:
            until = request.until or today
            since = request.since or until
            if since > until:
                raise ConfigError(
                    f"hf: the window starts after it ends ({since} > {until}).",
                    hint="Give --since on or before --until.",
                )
            return [since + timedelta(days=n) for n in range((until - since).days + 1)]
        last = watermark_date(watermark, "hf")
        if last is None or last >= today:
            return [today]
        # Re-read the watermark's own day (papers are added to it through the day), and skip
        # days older than a week: HF's list is about what is trending now.
        first = max(last, today - timedelta(days=MAX_CATCH_UP_DAYS - 1))
        return [first + timedelta(days=n) for n in range((today - first).days + 1)]

    def fetch(self, request: FetchRequest, *, watermark: str | None = None) -> FetchResult:
        days = self.days(request, watermark)
        papers: dict[str, Paper] = {}
        skipped: list[ItemFailure] = []
        for day in days:
            day_papers, day_skipped = self._fetch_day(day)
            for paper in day_papers:
                papers.setdefault(paper.id, paper)
            skipped.extend(day_skipped)
        span = days[0].isoformat() if len(days) == 1 else f"{days[0]} to {days[-1]}"
        empty_reason = None
        if not papers and not skipped:
            empty_reason = f"Hugging Face listed no daily papers for {span}"
        log.info("hf: %d papers for %s", len(papers), span)
        return FetchResult(
            papers=list(papers.values()),
            empty_reason=empty_reason,
            watermark=days[-1].isoformat(),
            skipped=skipped,
        )

    def _fetch_day(self, day: date) -> tuple[list[Paper], list[ItemFailure]]:
        url = self.settings.hf.api_url
        response = self.http.get(url, params={"date": day.isoformat()}, source=self.name)
        try:
            data = json.loads(response.content)
            return parse_hf_items(data, source=self.name)
        except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8; JSON nested absurdly
            raise FeedParseError(
                f"hf: {url}?date={day} did not return daily-papers JSON: {exc}.",
                source=self.name,
                hint="Check hf_api_url in the config; if it is right, Hugging Face may have "
                "changed its API: retry later or report it.",
            ) from None
