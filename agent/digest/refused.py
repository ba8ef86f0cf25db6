"""Recipients the SMTP server refused: named, remembered, and sent the digest again.

A server may take a digest for some recipients and refuse others (a full mailbox, a typo, a
policy). The accepted ones have it; each refused one is named (``SendResult.refusals``) and
remembered with the digest it missed
(the state's meta key ``deliver:refused:<profile>``), and the next `paperbrief run` sends that
saved digest to it again, until the server takes it or ``RETRY_WINDOW`` has passed (then the run
says it gave up). `digest --send` and `run` share this module: the same message naming the
address and the server's reply, the same exit code (1), the same retry.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import DeliveryError
from store.state import meta_keys

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.digest.models import Digest, SendResult
    from store.seams import DigestHistory
    from store.state.db import StateDB

log = logging.getLogger(__name__)

#: How long a refused recipient is sent a missed digest again (each run tries once).
RETRY_WINDOW = timedelta(days=7)
DIGEST_JSON = "digest.json"


@dataclass
class Resend:
    """One missed digest sent again to one address: ``ok``, or not (``reason``: the message to
    show, naming the address), and ``gave_up`` once RETRY_WINDOW has passed."""

    digest_id: str
    address: str
    ok: bool
    reason: str = ""
    gave_up: bool = False


def remember(state: StateDB, digest: Digest, sent: SendResult, now: datetime) -> None:
    """Keep each address ``sent`` refused, with the digest it missed, for the next run."""
    if not sent.refused:
        return
    pending = _load(state, digest.profile)
    for address, reason in sent.refused.items():
        entry = {"digest_id": digest.id, "address": address, "reason": reason,
                 "since": now.isoformat()}  # fmt: skip
        pending = [p for p in pending if (p["digest_id"], p["address"]) != (digest.id, address)]
        pending.append(entry)
        log.warning("SMTP server %s refused %s: %s", sent.server, address, reason)
    _save(state, digest.profile, pending)


def resend_refused(
    settings: Settings,
    history: DigestHistory,
    state: StateDB,
    profile: str,
    *,
    now: datetime | None = None,
    only: Sequence[str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> list[Resend]:
    """Send each digest ``profile``'s recipients missed to them again, oldest first; what
    the server takes is forgotten, what it refuses again kept (until RETRY_WINDOW). With
    ``only``, addresses not in it are kept for later but not sent to now."""
    from agent.digest.mail import send_digest

    now = now or datetime.now(UTC)
    pending = _load(state, profile)
    if not pending:
        return []
    done: list[Resend] = []
    keep: list[dict[str, Any]] = []
    if only is not None:
        wanted = {a.lower() for a in only}
        keep = [p for p in pending if p["address"].lower() not in wanted]
        pending = [p for p in pending if p["address"].lower() in wanted]
    for digest_id in dict.fromkeys(p["digest_id"] for p in pending):
        entries = [p for p in pending if p["digest_id"] == digest_id]
        digest = saved_digest(history, digest_id)
        if digest is None or now - _since(entries[0]) > RETRY_WINDOW:
            why = "its saved copy is gone" if digest is None else f"refused since {_day(entries)}"
            done += [Resend(digest_id, p["address"], False, f"gave up: {why}", gave_up=True)
                     for p in entries]  # fmt: skip
            continue
        addresses = [p["address"] for p in entries]
        try:
            sent = send_digest(digest, addresses, settings, ssl_context=ssl_context)
        except DeliveryError as exc:  # refused again, all of them, or the server is down
            why = f"{exc} The next `paperbrief run` sends digest {digest_id} again."
            done += [Resend(digest_id, a, False, why) for a in addresses]
            keep += [p | {"reason": str(exc)} for p in entries]
            continue
        for p in entries:
            address = p["address"]
            if address in sent.refused:
                one = sent.model_copy(update={"refused": {address: sent.refused[address]}})
                done.append(Resend(digest_id, address, False, one.refusals(digest_id)[0]))
                keep.append(p | {"reason": sent.refused[address]})
            else:
                done.append(Resend(digest_id, address, True))
        _add_recipients(history, digest_id, sent.accepted)
    _save(state, profile, keep)
    return done


def saved_digest(history: DigestHistory, digest_id: str) -> Digest | None:
    """A saved digest read back from its folder (None when it is gone or unreadable)."""
    from agent.digest.models import Digest
    from store.layout import safe_name

    path = Path(history.digests_dir) / safe_name(digest_id) / DIGEST_JSON
    try:
        return Digest.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _add_recipients(history: DigestHistory, digest_id: str, accepted: list[str]) -> None:
    run = history.run(digest_id) or {}
    had = [a.strip() for a in str(run.get("recipients") or "").split(",") if a.strip()]
    history.mark_sent(digest_id, [], list(dict.fromkeys([*had, *accepted])))


def _load(state: StateDB, profile: str) -> list[dict[str, Any]]:
    raw = state.get_meta(meta_keys.refused_recipients(profile))
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        log.warning("ignoring unreadable %s", meta_keys.refused_recipients(profile))
        return []
    return [p for p in value if isinstance(p, dict) and {"digest_id", "address"} <= p.keys()]


def _save(state: StateDB, profile: str, pending: list[dict[str, Any]]) -> None:
    if pending:
        state.set_meta(meta_keys.refused_recipients(profile), json.dumps(pending))
    else:
        state.delete_meta(meta_keys.refused_recipients(profile))


def _since(entry: dict[str, Any]) -> datetime:
    try:
        at = datetime.fromisoformat(str(entry.get("since")))
    except ValueError:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _day(entries: list[dict[str, Any]]) -> str:
    return f"{_since(entries[0]):%Y-%m-%d}"


__all__ = [
    "RETRY_WINDOW",
    "Resend",
    "remember",
    "resend_refused",
    "saved_digest",
]
