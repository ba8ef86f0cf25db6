"""arXiv's query API (``export.arxiv.org/api/query``): search and backfill by submission date."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from agent.config import Settings
from agent.errors import ConfigError, FeedParseError, SourceHTTPError
from agent.models import ItemFailure, Paper, utcnow
from agent.sources._atom import AtomPage, is_atom_feed, parse_api_page
from agent.sources._xml import XMLSyntaxError, parse_xml, watermark_date
from agent.sources.arxiv_rss import check_categories
from agent.sources.base import FetchRequest, FetchResult
from agent.sources.http import HttpClient

log = logging.getLogger(__name__)

API_MAX_RESULTS = 30000  # arXiv serves at most this many results of one query
QUERY_HINT = (
    "Fix the query: fields are ti:, au:, abs:, cat:, all: (e.g. 'ti:diffusion AND cat:cs.LG'), "
    "joined with AND, OR, ANDNOT; see https://info.arxiv.org/help/api/user-manual.html"
)


def build_search_query(
    categories: list[str], query: str | None, since: date | None, until: date | None
) -> str:
    parts: list[str] = []
    if categories:
        cats = " OR ".join(f"cat:{c}" for c in categories)
        parts.append(f"({cats})" if len(categories) > 1 else cats)
    if query and query.strip():
        parts.append(f"({query.strip()})")
    if since is not None and until is not None:
        parts.append(f"submittedDate:[{since:%Y%m%d}0000 TO {until:%Y%m%d}2359]")
    return " AND ".join(parts)


class ArxivApiSource:
    """Papers submitted in a date window (or matching a query), newest first, page by page."""

    name = "arxiv"

    def __init__(
        self,
        settings: Settings,
        http: HttpClient,
        *,
        clock: Callable[[], datetime] = utcnow,
        empty_page_retries: int = 3,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self.empty_page_retries = empty_page_retries

    def window(self, request: FetchRequest, watermark: str | None) -> tuple[date, date, bool]:
        """(since, until, catching_up): explicit dates, else from the watermark, else 2 days."""
        today = self.clock().date()
        if request.since or request.until:
            until = request.until or today
            since = request.since or until - timedelta(days=1)
            catching_up = False
        elif (last := watermark_date(watermark, "arxiv")) is not None:
            # Start ON the watermark's day, not after it: papers submitted later that day are
            # announced in the next batch; the overlap is deduplicated by ingest.
            since, until, catching_up = min(last, today), today, True
        else:
            since, until, catching_up = today - timedelta(days=1), today, False
        if since > until:
            raise ConfigError(
                f"arxiv: the window starts after it ends ({since} > {until}).",
                hint="Give --since on or before --until.",
            )
        return since, until, catching_up

    def fetch(self, request: FetchRequest, *, watermark: str | None = None) -> FetchResult:
        categories = check_categories(request.categories or self.settings.arxiv.categories)
        since, until, catching_up = self.window(request, watermark)
        search = build_search_query(
            categories, request.query or self.settings.arxiv.query, since, until
        )
        limit = min(request.max_results or self.settings.arxiv.max_results, API_MAX_RESULTS)
        # Catching up after a watermark runs oldest first, so a capped run leaves no hole: the
        # next run resumes from the newest paper it got.
        order = "ascending" if catching_up else "descending"

        papers: dict[str, Paper] = {}
        skipped: list[ItemFailure] = []
        start, total = 0, None
        while start < limit and (total is None or start < total):
            size = min(self.settings.arxiv.page_size, limit - start)
            page = self._page_with_retries(search, start, size, order)
            if page.total is not None:
                total = page.total
            skipped.extend(page.skipped)
            if page.entries == 0:
                if total is not None and start < total:
                    skipped.append(
                        ItemFailure(
                            item=f"arxiv results {start}-{min(start + size, total)} of {total}",
                            step="fetch",
                            reason=f"arXiv kept returning an empty page after "
                            f"{self.empty_page_retries} retries; kept the {len(papers)} "
                            "papers fetched so far",
                        )
                    )
                    log.warning("arxiv: giving up on empty page at start=%d", start)
                break
            for paper in page.papers:
                papers.setdefault(paper.id, paper)
            start += page.entries

        result = list(papers.values())[:limit]  # a server may send more than asked
        empty_reason = None
        if not result and not skipped:
            empty_reason = f"arXiv has no papers matching {search!r}"
        newest = max((p.published for p in result if p.published), default=None)
        log.info("arxiv: %d papers for %s (total %s)", len(result), search, total)
        return FetchResult(
            papers=result,
            empty_reason=empty_reason,
            watermark=newest.isoformat() if newest else watermark,
            skipped=skipped,
        )

    def page(self, search: str, start: int, size: int, order: str = "ascending") -> AtomPage:
        """One page of a search by submission date (``order``: ascending or descending),
        retried while arXiv answers it empty: what a backfill pages through."""
        return self._page_with_retries(search, start, size, order)

    def _page_with_retries(self, search: str, start: int, size: int, order: str) -> AtomPage:
        """arXiv sometimes answers a page with no entries though totalResults says more."""
        page = self._page(search, start, size, order)
        for attempt in range(self.empty_page_retries):
            if page.entries or page.total is None or start >= page.total:
                break
            delay = self.settings.http.backoff * (2**attempt)
            log.warning(
                "arxiv: empty page at start=%d of %d; retry %d/%d in %.1fs",
                start,
                page.total,
                attempt + 1,
                self.empty_page_retries,
                delay,
            )
            self.http.sleep(delay)
            page = self._page(search, start, size, order)
        return page

    def lookup(self, arxiv_ids: Sequence[str]) -> list[Paper]:
        """The papers with these ids (any date), through the API's ``id_list``, a page at a time.

        Ids arXiv does not know are simply absent from the answer.
        """
        wanted = list(dict.fromkeys(arxiv_ids))
        found: dict[str, Paper] = {}
        size = self.settings.arxiv.page_size
        for start in range(0, len(wanted), size):
            batch = wanted[start : start + size]
            params: dict[str, str | int] = {
                "id_list": ",".join(batch), "start": 0, "max_results": len(batch)
            }  # fmt: skip
            page = self._request(params, f"id_list={','.join(batch)!r}")
            for paper in page.papers:
                found.setdefault(paper.id, paper)
        log.info("arxiv: %d of %d ids found", len(found), len(wanted))
        return list(found.values())

    def _page(self, search: str, start: int, size: int, order: str) -> AtomPage:
        params: dict[str, str | int] = {
            "search_query": search,
            "start": start,
            "max_results": size,
            "sortBy": "submittedDate",
            "sortOrder": order,
        }
        return self._request(params, f"search_query={search!r}")

    def _request(self, params: dict[str, str | int], asked: str) -> AtomPage:
        url = self.settings.arxiv.api_url
        response = self.http.get(
            url, params=params, throttle="arxiv", source=self.name, raise_for_status=False
        )
        try:
            root = parse_xml(response.content)
            if not is_atom_feed(root):
                raise ValueError("the answer is not an Atom feed")
            page = parse_api_page(root, source=self.name)
        except (XMLSyntaxError, ValueError) as exc:
            if response.status_code >= 400:
                raise SourceHTTPError(
                    f"arxiv: {url} answered HTTP {response.status_code}.",
                    status=response.status_code,
                    source=self.name,
                    hint="Check arxiv_api_url and the query; " + QUERY_HINT,
                ) from None
            raise FeedParseError(
                f"arxiv: {url} did not return an arXiv Atom feed: {exc}.", source=self.name
            ) from None
        if page.error is not None:
            raise SourceHTTPError(
                f"arXiv rejected the request: {page.error!r} "
                f"(HTTP {response.status_code}, {asked}).",
                status=response.status_code,
                source=self.name,
                hint=QUERY_HINT,
            )
        if response.status_code >= 400:
            raise SourceHTTPError(
                f"arxiv: {url} answered HTTP {response.status_code}.",
                status=response.status_code,
                source=self.name,
                hint=QUERY_HINT,
            )
        return page
