"""A scripted arXiv query API for backfill tests: Atom pages in the recorded shape
(../shared/samples/arxiv_api_search_*.atom.xml), answered by submittedDate range and offset.

    api = FakeArxivApi({date(2025, 1, 6): 7, ...})  # papers submitted per day
    srv.route("/api/query", api)
    api.served  # [(first day of the range, start), ...] of every page answered with 200
    api.fail_from = 4  # from the 4th page request on, answer 503 (arXiv down)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape

from httpserver import Recorded, Resp

_HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" \
xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/fake</id>
  <title>arXiv Query: {query}</title>
  <updated>2026-04-12T22:09:27Z</updated>
  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
"""
_ENTRY = """  <entry>
    <id>http://arxiv.org/abs/{id}v1</id>
    <title>{title}</title>
    <updated>{stamp}</updated>
    <link href="https://arxiv.org/abs/{id}v1" rel="alternate" type="text/html"/>
    <summary>{summary}</summary>
    <category term="{cat}" scheme="http://arxiv.org/schemas/atom"/>
    <published>{stamp}</published>
    <arxiv:primary_category term="{cat}"/>
    <author>
      <name>Ada Lovelace</name>
    </author>
  </entry>
"""
_TOPICS = (
    "sparse attention for long documents",
    "protein folding with graph networks",
    "coral reef monitoring from satellites",
    "robot policies from human video",
    "polyp segmentation in colonoscopy",
    "reanalysis data for weather forecasts",
)
_RANGE = re.compile(r"submittedDate:\[(\d{8})0000 TO (\d{8})2359\]")


def arxiv_id(day: date, n: int) -> str:
    return f"{day:%y%m}.{day.day * 1000 + n:05d}"


class FakeArxivApi:
    """Callable route: ``(Recorded) -> Resp``."""

    def __init__(self, per_day: dict[date, int]) -> None:
        self.per_day = per_day
        self.served: list[tuple[date, int]] = []
        self.fail_from: int | None = None
        self.asked = 0
        #: called (outside the server's lock) before a page is answered, with its request number
        self.before_answer: Callable[[int], None] | None = None
        self._lock = threading.Lock()

    def ids(self) -> set[str]:
        return {arxiv_id(d, n) for d, count in self.per_day.items() for n in range(count)}

    def __call__(self, request: Recorded) -> Resp:
        with self._lock:
            self.asked += 1
            number = self.asked
        if self.fail_from is not None and number >= self.fail_from:
            return Resp(503, "Service Unavailable", headers={"Retry-After": "0"})
        match = _RANGE.search(request.param("search_query") or "")
        assert match, request.query
        first = datetime.strptime(match.group(1), "%Y%m%d").date()
        last = datetime.strptime(match.group(2), "%Y%m%d").date()
        start, size = int(request.param("start")), int(request.param("max_results"))
        assert request.param("sortBy") == "submittedDate"
        papers = []
        day = first
        while day <= last:
            papers += [(day, n) for n in range(self.per_day.get(day, 0))]
            day += timedelta(days=1)
        page = papers[start : start + size]
        body = _HEAD.format(query=escape(request.param("search_query") or ""), size=size,
                            total=len(papers), start=start)  # fmt: skip
        for day, n in page:
            topic = _TOPICS[(day.day + n) % len(_TOPICS)]
            body += _ENTRY.format(
                id=arxiv_id(day, n),
                title=escape(f"On {topic} ({day} #{n})"),
                summary=escape(
                    f"We study {topic}. Paper {n} of {day} reports results on it. "
                    "It compares three baselines and releases code."
                ),
                cat="cs.LG",
                stamp=f"{day}T{10 + n % 10:02d}:00:00Z",
            )
        if self.before_answer is not None:
            self.before_answer(number)
        with self._lock:
            self.served.append((first, start))
        return Resp(200, body + "</feed>\n")
