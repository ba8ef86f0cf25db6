"""Deliver a digest to its chat channels exactly once each, and retry the ones that failed.

Every attempt is recorded in the digest history per (digest id, channel): a channel that took
the digest is never posted it again, and a channel that failed gets that digest on the next
run (``post_digest`` retries the profile's failed posts of the last ``RETRY_WINDOW`` to the
channels it is asked to post to, before posting the new digest). The digest itself is saved
before any post, so a failed post never loses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from agent.webhooks.post import (
    AppriseNotifier,
    Channel,
    Notifier,
    PostReport,
    PostResult,
    channels_of,
    mask_secrets,
)

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.digest.models import Digest
    from agent.pipeline import PaperAgent
    from store.seams import DigestHistory

log = logging.getLogger(__name__)
#: A failed post older than this is not retried: yesterday's news is late, last month's noise.
RETRY_WINDOW = timedelta(days=7)
DIGEST_JSON = "digest.json"
FullLink = Callable[["Digest"], "str | None"]


def webhooks_for(settings: Settings, profile: str | None) -> list[str]:
    """The profile's webhooks: its own when its table sets ``webhooks`` (``[]`` = none), else
    the ``[digest]`` ones, as recipients fall back to ``smtp.to``."""
    from agent.config import DEFAULT_PROFILE

    name = profile or DEFAULT_PROFILE
    own = settings.profiles.get(name)
    if own is not None and "webhooks" in own.model_fields_set:
        return list(own.webhooks)
    settings.profile(name)  # an unknown profile fails here, named
    return list(settings.digest.webhooks)


def full_digest_link(settings: Settings, digests_dir: Path) -> FullLink:
    """A digest's public link when its folder is served (``feed_url``), else None: a file path
    means nothing to the rest of a team channel."""
    from agent.digest.feed import _link, feed_target
    from agent.digest.flow import FULL_LIST
    from store.layout import safe_name

    def link(digest: Digest) -> str | None:
        target = feed_target(settings, digests_dir, digest.profile)
        if target is None or not target.url:
            return None
        found = _link(Path(digests_dir) / safe_name(digest.id) / FULL_LIST, target)
        return found if found.startswith(("https://", "http://")) else None

    return link


def post_to_chat(
    agent: PaperAgent,
    digest: Digest,
    urls: Sequence[str],
    *,
    mark_sent: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
    notifier: Notifier | None = None,
) -> PostReport:
    """Post a saved digest to ``urls`` (see ``post_digest``), linking its full version when
    the digests folder is served (``feed_url``). ``mark_sent``: chat is the digest's only
    delivery, so its papers are not repeated by the next digest (a failed channel still gets
    this digest by retry). ``dry_run``: post nothing; every channel is "skipped"."""
    if dry_run:
        return PostReport(results=[_skipped(c, digest, "dry run") for c in channels_of(urls)])
    link = full_digest_link(agent.settings, agent.history.digests_dir)
    notifier = notifier or AppriseNotifier(deadline=agent.settings.http.deadline)
    report = post_digest(
        digest, urls, history=agent.history, full_link=link, notifier=notifier, now=now
    )
    if mark_sent and report.results and not digest.empty:
        from agent.digest.flow import mark_delivered

        mark_delivered(agent.history, digest, settings=agent.settings)
    return report


def post_digest(
    digest: Digest,
    urls: Sequence[str],
    *,
    history: DigestHistory,
    full_link: FullLink = lambda _digest: None,
    notifier: Notifier | None = None,
    now: datetime | None = None,
) -> PostReport:
    """Post ``digest`` to each channel that has not taken it yet, after retrying the profile's
    earlier failed posts to these channels. An empty digest is not posted (nothing to say)."""
    notifier = notifier or AppriseNotifier()
    channels = channels_of(urls)
    report = PostReport()
    if not channels:
        return report
    by_key = {c.key: c for c in channels}
    since = ((now or datetime.now(UTC)) - RETRY_WINDOW).isoformat()
    for digest_id, key in history.failed_posts(digest.profile, list(by_key), since):
        if digest_id == digest.id:
            continue  # posted below
        earlier = _saved(history, digest_id)
        if earlier is None:
            log.warning("cannot retry post of %s: its %s is gone", digest_id, DIGEST_JSON)
            continue
        result = _post(notifier, by_key[key], earlier, full_link, history)
        report.results.append(result.model_copy(update={"retried": True}))
    posted = history.posted_channels(digest.id)
    for channel in channels:
        if digest.empty:
            reason = "nothing new: not posted"
            report.results.append(_skipped(channel, digest, reason))
        elif channel.key in posted:
            report.results.append(_skipped(channel, digest, "already posted"))
        else:
            report.results.append(_post(notifier, channel, digest, full_link, history))
    return report


def _post(
    notifier: Notifier, channel: Channel, digest: Digest, full_link: FullLink,
    history: DigestHistory,
) -> PostResult:  # fmt: skip
    try:
        result = notifier(channel, digest, full_link(digest))
    except Exception as exc:  # one channel's surprise never sinks the other channels
        # no traceback in the log: exception texts may quote the URL, token and all
        reason = mask_secrets(f"{type(exc).__name__}: {exc}", channel)
        result = PostResult(channel=channel.label, key=channel.key, digest_id=digest.id,
                            status="failed", reason=reason)  # fmt: skip
    history.record_post(digest.id, channel.key, label=channel.label,
                        ok=result.status == "posted", error=result.reason)  # fmt: skip
    if result.status == "failed":
        log.info("posting digest %s to %s failed: %s", digest.id, channel.label, result.reason)
    return result


def _skipped(channel: Channel, digest: Digest, reason: str) -> PostResult:
    return PostResult(channel=channel.label, key=channel.key, digest_id=digest.id,
                      status="skipped", reason=reason)  # fmt: skip


def _saved(history: DigestHistory, digest_id: str) -> Digest | None:
    from agent.digest.models import Digest
    from store.layout import safe_name

    path = Path(history.digests_dir) / safe_name(digest_id) / DIGEST_JSON
    try:
        return Digest.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
