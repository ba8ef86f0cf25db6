"""Ingest: fetch each source, keep one record per paper, store it, advance the source's cursor.

The cursor (watermark) moves only after every paper of a fetch is stored, so a run killed part-way
fetches the same window again, and the store's content hashes make that a no-op for what was
already written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from agent import errors
from agent.config import Settings
from agent.models import Paper, Progress, RunReport, SourceReport, SourceStatus
from store.state import meta_keys

if TYPE_CHECKING:
    from agent.sources.base import FetchRequest, FetchResult, Source
    from agent.sources.http import HttpClient
    from store import PaperStore

log = logging.getLogger(__name__)


class Watermark(TypedDict):
    value: str
    at: str


class StoreStatus(TypedDict):
    """What ``paperbrief status`` prints: the store's size and each source's last ingest."""

    papers: int
    chunks: int
    store: str
    home: str
    embedding_model: str | None
    bm25_fresh: bool
    last_ingest: dict[str, dict[str, object]]
    watermarks: dict[str, Watermark]


def store_status(settings: Settings, store: PaperStore) -> StoreStatus:
    """The store's counts, its embedding model, and how each source's last ingest went."""
    from agent.sources import SOURCE_NAMES

    stats = store.stats()
    runs = {name: store.state.get_meta(meta_keys.last_ingest(name)) for name in SOURCE_NAMES}
    marks = store.state.watermarks()
    return StoreStatus(
        papers=stats.papers,
        chunks=stats.chunks,
        store=stats.chroma_url or stats.path,
        home=str(settings.home),
        embedding_model=stats.embedder_id,
        bm25_fresh=stats.bm25_fresh,
        last_ingest={name: json.loads(raw) for name, raw in runs.items() if raw},
        watermarks={k: Watermark(value=v, at=at) for k, (v, at) in marks.items()},
    )


def ingest_sources(
    settings: Settings,
    store: PaperStore,
    http: HttpClient,
    sources: Sequence[str] | None = None,
    *,
    request: FetchRequest | None = None,
    progress: Progress | None = None,
) -> RunReport:
    from agent.sources import FetchRequest, build_source

    request = request or FetchRequest()
    names = list(sources or ([] if request.path else settings.sources) or [])
    if request.path and not names:
        names = ["file"]
    report = RunReport(step="ingest")
    for name in names:
        source = build_source(name, settings, http)
        outcome = _ingest_one(settings, store, source, request, report, progress)
        report.sources.append(outcome)
        _remember_run(store, outcome)
    return report.finish()


def watermark_key(settings: Settings, name: str, request: FetchRequest) -> str | None:
    if name == "file" or request.since or request.until or request.day:
        return None  # explicit windows and files are one-offs, not the daily cursor
    if name in {"arxiv-rss", "arxiv"}:
        cats = request.categories or settings.arxiv.categories
        query = request.query or settings.arxiv.query or ""
        return f"{name}:{'+'.join(sorted(cats))}:{query}"
    return name


def _remember_run(store: PaperStore, outcome: SourceReport) -> None:
    entry = outcome.model_dump(mode="json", include={"status", "fetched", "new", "message"})
    entry["at"] = datetime.now().astimezone().isoformat(timespec="seconds")
    store.state.set_meta(meta_keys.last_ingest(outcome.source), json.dumps(entry))


def _ingest_one(
    settings: Settings,
    store: PaperStore,
    source: Source,
    request: FetchRequest,
    report: RunReport,
    progress: Progress | None,
) -> SourceReport:
    key = watermark_key(settings, source.name, request)
    outcome = SourceReport(source=source.name)
    watermark = store.state.get_watermark(key) if key else None
    if progress:
        progress(f"fetching {source.name}", 0, None)
    from agent.sources.base import BatchSource

    batched = source if request.path is not None and isinstance(source, BatchSource) else None
    streamed = batched is not None
    try:
        if batched is not None:
            # A file is read, embedded and stored a batch at a time (memory stays bounded);
            # how many papers it holds is known only at its end.
            results = batched.fetch_batches(request, settings.store.ingest_batch)
        else:
            results = iter([source.fetch(request, watermark=watermark)])
        watermark_out = _store_results(
            store, source.name, results, outcome, report, progress, streamed=streamed
        )
    except (errors.SourceError, errors.InputError) as exc:
        log.warning("%s failed: %s", source.name, exc)
        outcome.status = SourceStatus.FAILED
        outcome.message = str(exc)
        outcome.hint = exc.hint
        outcome.bad_input = isinstance(exc, errors.InputError)
        return outcome
    if key and watermark_out:
        store.state.set_watermark(key, watermark_out, at=datetime.now().astimezone())
    return outcome


def _store_results(
    store: PaperStore,
    name: str,
    results: Iterator[FetchResult],
    outcome: SourceReport,
    report: RunReport,
    progress: Progress | None,
    *,
    streamed: bool,
) -> str | None:
    """Store each fetched batch as it comes (one upsert each); the last watermark given.
    A streamed file's size is known only at its end: its progress has no total."""
    watermark = None
    stored_before = 0
    for result in results:
        papers = _bounded(latest_versions(result.papers), report)
        outcome.fetched += len(result.papers)
        report.failures.extend(result.skipped)
        outcome.failed += len(result.skipped)
        watermark = result.watermark or watermark
        if papers:
            total = None if streamed else len(papers)

            def step(done: int, base: int = stored_before, total: int | None = total) -> None:
                if progress:
                    progress(f"storing {name}", base + done, total)

            stored = store.upsert([p.model_dump(mode="json") for p in papers], progress=step)
            stored_before += len(papers)
            outcome.new += len(stored.new)
            outcome.updated += len(stored.updated)
            outcome.unchanged += len(stored.unchanged)
        elif result.empty_reason and not outcome.fetched:
            outcome.status = SourceStatus.EMPTY
            outcome.message = result.empty_reason
    return watermark


def _bounded(papers: list[Paper], report: RunReport) -> list[Paper]:
    """Papers with over-long text cut (see agent.sources.bounds); each cut is a report note, as
    is whatever the source changed or dropped reading the record (agent.sources.base)."""
    from agent.sources.base import take_notes
    from agent.sources.bounds import bound_paper

    kept = []
    for paper in papers:
        paper, notes = take_notes(paper)
        bounded, note = bound_paper(paper)
        for text in [*notes, *([note] if note else [])]:
            log.warning("%s", text)
            report.notes.append(text)
        kept.append(bounded)
    return kept


def latest_versions(papers: Sequence[Paper]) -> list[Paper]:
    """A feed can list one paper twice (e.g. new in one category, cross-listed in another):
    keep one record per id, the highest version."""
    best: dict[str, Paper] = {}
    for paper in papers:
        seen = best.get(paper.id)
        if seen is None or (paper.version or 0) > (seen.version or 0):
            best[paper.id] = paper
    return list(best.values())
