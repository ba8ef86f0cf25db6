"""The Atom feed of delivered digests: ``home/digests/feed.xml`` (or ``[digest] feed_path``),
one entry per digest that reached its reader (e-mailed, posted, or written by ``run``), so a
feed reader can follow a paperbrief that writes to a shared or served folder. Previews
(``digest``, ``digest --json``) and "nothing new" digests are no entries; each entry's title
carries its time and counts, so two digests of one day read apart.

The feed is rebuilt from the digest history each time a digest is saved or delivered: the
history is the source of truth, so a hand-edited, truncated or foreign feed.xml costs a warning,
never the digest or an entry. Each entry carries the mail's HTML (its ``<body>``, without the
stylesheets): it is size-bounded and already escaped, where the full list can run to hundreds of
kilobytes per day. Entry ids are ``urn:uuid``s derived from the digest id, and entry times from
the digest's creation time, so rebuilding the same history writes the same bytes and a reader
never sees an entry twice.

Each profile has its own feed (``feed-NAME.xml`` beside the default profile's), since each is
one reader's ranking; profiles configured with the same ``feed_path`` share it.
"""

from __future__ import annotations

import html
import logging
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urljoin

from agent.config import DEFAULT_PROFILE
from agent.digest.replace_file import replace_file
from agent.errors import PaperbriefError
from store.layout import safe_name

if TYPE_CHECKING:
    from agent.config import Settings

log = logging.getLogger(__name__)

FEED_FILE = "feed.xml"
MAIL_FILE = "digest.html"
ATOM_NS = "http://www.w3.org/2005/Atom"
_SPARE = 10  # history rows read per feed entry, at most (previews and moved files are skipped)
#: Namespace of every id the feed hands out; fixed forever, or readers see new entries.
ID_NAMESPACE = uuid.UUID("5b0f7c1e-2a7d-4a55-9a43-6f1d3e0c9b21")
# Characters XML 1.0 forbids (lxml refuses them): a control character in a title must not cost
# the feed. Lone surrogates cannot come from a UTF-8 file but can from a caller's str.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class RunHistory(Protocol):
    """What the feed reads of DigestHistory / SharedDigestHistory."""

    digests_dir: Path

    def runs(
        self, limit: int = 20, profiles: Sequence[str] | None = None
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class FeedTarget:
    """Where one feed goes and what it holds."""

    path: Path
    profiles: tuple[str, ...]
    max_entries: int
    url: str | None = None  # the feed's public URL; None = file:// links

    @property
    def self_link(self) -> str:
        return self.url or self.path.absolute().as_uri()


@dataclass(frozen=True)
class FeedEntry:
    digest_id: str
    profile: str
    created_at: datetime
    subject: str
    content: str
    link: str


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def entry_id(digest_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, 'digest|' + digest_id)}"


def entry_title(created_at: datetime, profile: str, subject: str = "") -> str:
    """``paperbrief digest — 2026-11-02 06:00 UTC (default): 30 of 812 new papers in 6
    themes``: the time and the subject's counts tell one day's digests apart."""
    counts = subject.split(": ", 1)[1] if ": " in subject else ""
    title = f"paperbrief digest — {created_at:%Y-%m-%d %H:%M} UTC ({profile})"
    return xml_safe(f"{title}: {counts}" if counts else title)


# --- where ---------------------------------------------------------------------------------------
def feed_target(settings: Settings, digests_dir: Path, profile: str) -> FeedTarget | None:
    """The feed ``profile``'s digests go to, or None when its ``feed_entries`` is 0. A named
    profile takes each feed setting from its own table, else from ``[digest]``."""
    path, url, entries = _settings_of(settings, digests_dir, profile)
    if entries == 0:
        return None
    names = [DEFAULT_PROFILE, *(n for n in settings.profiles if n != DEFAULT_PROFILE)]
    others = {n: _settings_of(settings, digests_dir, n) for n in names}
    sharing = [n for n, (p, _, keep) in others.items() if keep and _same(p, path)]
    if profile not in sharing:  # a name Settings.profile accepted but the config never lists
        sharing.append(profile)
    return FeedTarget(path, tuple(sharing), entries, url)


def _settings_of(
    settings: Settings, digests_dir: Path, profile: str
) -> tuple[Path, str | None, int]:
    base = settings.digest
    own = settings.profiles.get(profile)
    own_set = own.model_fields_set if own is not None else set()

    def pick(field: str) -> tuple[Any, bool]:
        if own is not None and field in own_set:
            return getattr(own, field), True
        return getattr(base, field), False

    entries, _ = pick("feed_entries")
    path, own_path = pick("feed_path")
    url, own_url = pick("feed_url")
    if not own_path:
        path = Path(path) if path else Path(digests_dir) / FEED_FILE
        if profile != DEFAULT_PROFILE:
            path = path.with_name(f"{path.stem}-{safe_name(profile)}{path.suffix}")
            # [digest] feed_url names the default feed; this one is served beside it.
            url = urljoin(url, quote(path.name)) if url and not own_url else url
    elif url and not own_url:
        url = None  # a path of its own, served who knows where: file links
    return Path(path), url, int(entries)


def _same(a: Path, b: Path) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)


# --- what ----------------------------------------------------------------------------------------
def feed_entries(history: RunHistory, target: FeedTarget) -> list[FeedEntry]:
    """The newest ``target.max_entries`` digests of the target's profiles whose files are in
    this home (a shared history also lists digests other machines saved in theirs)."""
    entries: list[FeedEntry] = []
    # Rows to spare for the ones whose files are elsewhere: the feed still fills up.
    for row in history.runs(_SPARE * target.max_entries, profiles=list(target.profiles)):
        if len(entries) == target.max_entries:
            break
        if row.get("status") != "sent" or not int(row.get("papers") or 0):
            continue  # a preview, an undelivered or a "nothing new" digest: no entry
        entry = _entry(row, Path(history.digests_dir) / safe_name(str(row["digest_id"])), target)
        if entry is not None:
            entries.append(entry)
    return entries


def _entry(row: Mapping[str, Any], folder: Path, target: FeedTarget) -> FeedEntry | None:
    """The row's folder in this home, not the path it was saved under: a moved home keeps its
    feed, and another machine's digests (a shared history) stay out."""
    try:
        mail = (folder / MAIL_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        log.debug("feed: %s has no %s here; left out", row.get("digest_id"), MAIL_FILE)
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("feed: cannot read %s: %s; left out", folder / MAIL_FILE, exc)
        return None
    link = _link(folder / MAIL_FILE, target)
    return FeedEntry(
        digest_id=str(row["digest_id"]),
        profile=str(row.get("profile") or DEFAULT_PROFILE),
        created_at=_utc(str(row["created_at"])),
        subject=str(row.get("subject") or ""),
        content=body_html(mail, link),
        link=link,
    )


def _utc(value: str) -> datetime:
    when = datetime.fromisoformat(value)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _link(file: Path, target: FeedTarget) -> str:
    """Under the feed's public URL when the file sits below the feed's folder, else file://."""
    feed_dir = os.path.abspath(target.path.parent)
    here = os.path.abspath(file)
    if target.url and os.path.commonpath([feed_dir, here]) == feed_dir:
        return urljoin(target.url, quote(Path(os.path.relpath(here, feed_dir)).as_posix()))
    return Path(here).as_uri()


def body_html(document: str, link: str | None = None) -> str:
    """The mail's ``<body>`` as an HTML fragment: feed readers drop ``<head>`` and ``<style>``,
    and some would show the CSS as text. Its styles are inlined, so the look mostly survives.
    In-page links (the table of contents) point into the saved digest at ``link``: in a reader
    a bare ``#theme-1`` would resolve against the feed."""
    import lxml.html
    from lxml import etree

    text = xml_safe(document)
    try:
        doc = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):  # empty, or not HTML at all
        return html.escape(text)
    for node in doc.xpath("//head|//style|//script"):
        node.drop_tree()
    for anchor in doc.iter("a"):
        href = anchor.get("href") or ""
        if link and href.startswith("#"):
            anchor.set("href", link + href)
    body = doc.find("body")
    root = body if body is not None else doc
    parts = [html.escape(root.text or "", quote=False)]
    parts += [lxml.html.tostring(child, encoding="unicode") for child in root]
    return xml_safe("".join(parts).strip())


def build_feed(entries: Sequence[FeedEntry], target: FeedTarget) -> str:
    """The Atom document, newest entry first. Its ``updated`` is the newest entry's, so the
    same entries give the same bytes."""
    from feedgen.feed import FeedGenerator

    from agent._version import __version__

    who = ", ".join(target.profiles)
    fg = FeedGenerator()
    fg.id(f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, 'feed|' + target.self_link)}")
    fg.title(xml_safe(f"paperbrief digests ({who})"))
    fg.subtitle(xml_safe(f"New papers ranked for {who}, one entry per digest."))
    fg.author({"name": "paperbrief"})
    fg.link(href=target.self_link, rel="self", type="application/atom+xml")
    fg.generator("paperbrief", version=__version__)
    fg.language("en")
    newest = max((e.created_at for e in entries), default=datetime(1970, 1, 1, tzinfo=UTC))
    fg.updated(newest)
    for e in sorted(entries, key=lambda e: (e.created_at, e.digest_id), reverse=True):
        fe = fg.add_entry(order="append")
        fe.id(entry_id(e.digest_id))
        fe.title(entry_title(e.created_at, e.profile, e.subject))
        fe.updated(e.created_at)
        fe.published(e.created_at)
        fe.summary(xml_safe(e.subject) or None)
        fe.content(e.content, type="html")
        # One link: feedgen 1.0 drops an entry link's rel and type (entry.py reuses the name
        # ``link`` for the element), so a second one would read as a second "alternate".
        fe.link(href=e.link, rel="alternate", type="text/html")
    return fg.atom_str(pretty=True, encoding="UTF-8").decode("utf-8")


# --- writing -------------------------------------------------------------------------------------
def update_feed(settings: Settings, history: RunHistory, profile: str) -> Path | None:
    """Rebuild ``profile``'s feed from the history and replace the file atomically. A feed that
    cannot be written is logged, not raised: the digest is already saved, and its mail and
    file deliveries must go on. Returns the feed's path, or None when none was written."""
    target = feed_target(settings, history.digests_dir, profile)
    if target is None:
        return None
    try:
        text = build_feed(feed_entries(history, target), target)
        old = _existing(target.path)
        if old != text:  # same bytes: leave the mtime (and a server's ETag) alone
            replace_file(target.path, text)
    except (PaperbriefError, OSError, ValueError) as exc:
        log.warning("the digest feed %s was not updated: %s", target.path, exc)
        return None
    return target.path


def _existing(path: Path) -> str | None:
    """The feed file as it is, after warning when it is not an Atom feed (it is rebuilt from the
    history all the same)."""
    from lxml import etree

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read the digest feed %s (%s); writing it again", path, exc)
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        log.warning("the digest feed %s is not valid XML (%s); rebuilt from the history", path, exc)
        return None
    if root.tag != f"{{{ATOM_NS}}}feed":
        log.warning("%s is not an Atom feed (root <%s>); rebuilt from the history", path, root.tag)
        return None
    return raw.decode("utf-8", errors="replace")
