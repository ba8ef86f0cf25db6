"""Credentials written into URLs (``https://user:pass@host/v1``), masked where settings are shown.

A base URL is not a secret field, yet people paste a proxy or a private endpoint with its login
into it. The user name stays (it says which account); the password becomes ``****``, and a lone
user part, which is often a token (``https://TOKEN@host``), is masked whole.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "****"


def mask_url(text: str) -> str:
    """``text`` with the credentials of a URL masked; anything else unchanged."""
    if "://" not in text or "@" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return text
    user, colon, _password = userinfo.partition(":")
    shown = f"{user}:{MASK}" if colon else MASK
    return urlunsplit(parts._replace(netloc=f"{shown}@{hostport}"))


def mask_url_credentials(data: Any) -> Any:
    """A copy of plain data (dicts, lists, strings) with every URL's credentials masked."""
    if isinstance(data, str):
        return mask_url(data)
    if isinstance(data, dict):
        return {key: mask_url_credentials(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [mask_url_credentials(value) for value in data]
    return data
