"""Which backend serves each storage seam of a home: the one place that chooses.

A home with an embedded store keeps every concern in its own SQLite file (store.state). A home
pointed at a ``chroma run`` server (``chroma_url``) keeps there what every machine using that
server must agree on (store.shared): the summary cache (no machine pays an LLM twice for one
summary), digest history (nothing is sent twice, whichever machine sends), reader signals (a
rating given on a reader's machine reaches the writer that ranks the digest), the revision (a
BM25 copy in one home goes stale when another machine writes) and the writer lease (one machine
writes at a time). Meta keys, watermarks and the digests' files stay in the home either way.

Everything that opens a seam asks ``Backends(home, chroma_url)``: PaperStore (the revision
log), agent.lock.StoreLock (the leases) and agent.storage (the rest, from Settings). Backends
are imported when asked for: chromadb loads only for a shared store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from store.layout import StoreLayout
from store.seams import DigestHistory, ReaderSignals, RevisionLog, SummaryCache, WriterLease


@dataclass(frozen=True)
class Backends:
    """The backends of the home ``home``: shared when ``chroma_url`` names a server."""

    home: Path
    chroma_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home))
        object.__setattr__(self, "chroma_url", self.chroma_url or None)

    @property
    def shared(self) -> bool:
        return self.chroma_url is not None

    @property
    def layout(self) -> StoreLayout:
        return StoreLayout(self.home)

    def summary_cache(self) -> SummaryCache:
        """Summaries on the server when shared; the endpoint-method table stays in the home."""
        if self.chroma_url:
            from store.shared.summary_cache import SharedSummaryCache

            return SharedSummaryCache(self.chroma_url, self.layout.state_db)
        from store.state.summary_cache import SqliteSummaryCache

        return SqliteSummaryCache(self.layout.state_db)

    def digest_history(self) -> DigestHistory:
        """Which papers each profile was sent; the digests' files stay under the home."""
        if self.chroma_url:
            from store.shared.digest_history import SharedDigestHistory

            return SharedDigestHistory(self.chroma_url, self.layout.digests)
        from store.state.digest_history import SqliteDigestHistory

        return SqliteDigestHistory(self.layout.state_db, self.layout.digests)

    def reader_signals(self) -> ReaderSignals:
        if self.chroma_url:
            from store.shared.reader_signals import SharedReaderSignals

            return SharedReaderSignals(self.chroma_url)
        from store.state.reader_signals import SqliteReaderSignals

        return SqliteReaderSignals(self.layout.state_db)

    def revision_log(self) -> RevisionLog:
        if self.chroma_url:
            from store.shared.revision import SharedRevision

            return SharedRevision(self.chroma_url)
        from store.state.revision import SqliteRevision

        return SqliteRevision(self.layout.state_db)

    def writer_leases(self, command: str) -> list[WriterLease]:
        """What a writer takes, in order (and releases in reverse): the home's run.lock, which
        keeps this machine's processes apart, then the server's lease when shared."""
        from store.state.run_lock import RunLock

        leases: list[WriterLease] = [RunLock(self.home, command=command)]
        if self.chroma_url:
            from store.shared.lease import SharedLease

            leases.append(SharedLease(self.chroma_url, command))
        return leases
