"""Credentials written into URLs (``https://user:pass@host/v1``), masked where settings are shown.

A base URL is not a secret field, yet people paste a proxy or a private endpoint with its login
into it. The user name stays (it says which account); the password becomes ``****``, and a lone
user part, which is often a token (``https://TOKEN@host``), is masked whole.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "****"
# scheme://userinfo@ anywhere in a text (a URL alone, or inside an error message)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*://)(?P<userinfo>[^/\s@?#]+)@")


def mask_url(text: str) -> str:
    """``text`` with the credentials of every URL in it masked; anything else unchanged."""
    if "://" not in text or "@" not in text:
        return text

    def masked(match: re.Match[str]) -> str:
        user, colon, _password = match["userinfo"].partition(":")
        return f"{match['scheme']}{user + ':' + MASK if colon else MASK}@"

    return _USERINFO.sub(masked, text)


def mask_url_credentials(data: Any) -> Any:
    """A copy of plain data (dicts, lists, strings) with every URL's credentials masked."""
    if isinstance(data, str):
        return mask_url(data)
    if isinstance(data, dict):
        return {key: mask_url_credentials(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [mask_url_credentials(value) for value in data]
    return data


# Host names worth showing: a dot, a port or localhost. The "host" of token-only schemes
# (slack://T000/B000/XXX, discord://ID/TOKEN, tgram://BOT:TOKEN/CHAT) is itself a secret.
_HOSTNAME = re.compile(r"^(localhost|[^/\s@:]*\.[^/\s@:]+|\[[0-9a-fA-F:.]+\])(:\d+)?$")


def mask_webhook_url(url: str) -> str:
    """A chat webhook URL (apprise style) with only its service and host left: the rest of it
    (path, query, user info) often is the token itself. ``mmost://chat.example.org/****``."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return MASK
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    host = netloc if _HOSTNAME.match(netloc) else MASK
    return f"{scheme.lower()}://{host}/{MASK}" if host != MASK else f"{scheme.lower()}://{MASK}"
