"""Credentials written into URLs (``https://user:pass@host/v1``), masked where settings are shown.

A base URL is not a secret field, yet people paste a proxy or a private endpoint with its login
into it. The user name stays (it says which account); the password becomes ``****``, and a lone
user part, which is often a token (``https://TOKEN@host``), is masked whole. A query parameter
whose name says it is a credential (``?api_key=``, ``&token=``, ``sig=``) has its value masked.
``mask_url`` is the one function every printed or logged URL goes through: ``config show``,
``llm check``, ``doctor``, the CLI's error line and its log lines.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

MASK = "****"
# scheme://userinfo@ anywhere in a text (a URL alone, or inside an error message)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*://)(?P<userinfo>[^/\s@?#]+)@")
# a URL in a text, up to white space or a quote; and in it, parameters named like a credential
_URL = re.compile(r"[A-Za-z][\w+.-]*://[^\s\"'<>]+")
_SECRET_PARAM = re.compile(
    r"(?P<name>[?&;][\w.-]*(?:key|token|secret|passw(?:or)?d|pwd|sig|signature|auth|credential)"
    r"[\w.-]*=)(?P<value>[^&;#\s\"'<>]+)",
    re.IGNORECASE,
)


def mask_url(text: str) -> str:
    """``text`` with the credentials of every URL in it masked (the password of a login, a
    lone user part, credential-named query values); anything else unchanged."""
    if "://" not in text:
        return text

    def masked(match: re.Match[str]) -> str:
        user, colon, _password = match["userinfo"].partition(":")
        return f"{match['scheme']}{user + ':' + MASK if colon else MASK}@"

    def masked_url(match: re.Match[str]) -> str:
        url = _USERINFO.sub(masked, match.group(), count=1)
        if "?" in url:
            url = _SECRET_PARAM.sub(lambda m: m["name"] + MASK, url)
        return url

    return _URL.sub(masked_url, text)


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
    """A chat webhook URL (apprise style) with only its service and host left, the rest of it
    (path, query, user info: often the token itself) masked, and a fingerprint that tells two
    URLs on one host apart: ``mmost://chat.example.org/**** (3f9a1c)``, the same wherever it
    is shown (`config show`, each post's result, the history)."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        return MASK
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    host = netloc if _HOSTNAME.match(netloc) else MASK
    shown = f"{scheme.lower()}://{host}/{MASK}" if host != MASK else f"{scheme.lower()}://{MASK}"
    return f"{shown} ({url_fingerprint(url)})"


def url_fingerprint(url: str) -> str:
    """Six hex digits of the URL's SHA-256: stable, and too short to recover a token from."""
    return hashlib.sha256(url.strip().encode()).hexdigest()[:6]
