"""Parsing the date windows people type: ``1d``, ``7d``, ``2w``, ``2026-11-20``, ``today``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from agent.errors import InputError

_RELATIVE = re.compile(r"^\s*(\d+)\s*([dhw])\s*$", re.IGNORECASE)


def parse_since(
    value: str | date | datetime | None, *, now: datetime | None = None
) -> datetime | None:
    """Turn a user's window start into an aware UTC datetime (None stays None)."""
    if value is None or isinstance(value, datetime):
        return _aware(value) if value is not None else None
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=UTC)
    now = now or datetime.now(UTC)
    text = value.strip().lower()
    if text in {"today", "0d"}:
        return datetime.combine(now.date(), time.min, tzinfo=UTC)
    if text == "yesterday":
        return datetime.combine(now.date() - timedelta(days=1), time.min, tzinfo=UTC)
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        delta = {
            "h": timedelta(hours=amount),
            "d": timedelta(days=amount),
            "w": timedelta(weeks=amount),
        }
        return now - delta[unit]
    try:
        return _aware(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise InputError(
            f"Cannot read the date {value!r}.",
            hint="Use a relative window like 1d, 7d, 2w or a date like 2026-11-20.",
        ) from None


def parse_day(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    since = parse_since(value)
    return since.date() if since else None


def to_ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
