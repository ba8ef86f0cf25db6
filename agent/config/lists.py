"""Lists written as one string (``PAPERBRIEF_SOURCES=arxiv-rss,hf``, ``email_to = "me@x.org"``),
and e-mail addresses read as addresses.

A JSON list or a TOML array is taken as it is. A plain string becomes a list by the rule of its
field: names and ids split on commas, free text stays one item, and recipients are parsed as an
address list (``"Doe, John" <john@example.org>`` is one address, not two).
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import getaddresses
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

_UNSAFE = frozenset(chr(c) for c in [*range(32), *range(127, 160)])


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _one_item(value: object) -> object:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    return value


def _address_list(value: object) -> object:
    try:
        if isinstance(value, str):
            return [str(a) for a in parse_addresses(value)] if value.strip(" ,") else []
        if isinstance(value, list):
            return [str(one_address(v)) if isinstance(v, str) else v for v in value]
    except ValueError as exc:  # the message alone, without pydantic's "Value error, " prefix
        raise PydanticCustomError("not_an_address", str(exc)) from None
    return value


def parse_addresses(text: str, *, what: str = "recipient") -> list[Address]:
    """Every address in ``text``, parsed as RFC 5322 says (quotes and angle brackets respected,
    never split on bare commas). ValueError names what is not an address."""
    if any(c in _UNSAFE for c in text):
        raise ValueError(f"{what} {text!r} holds control characters (a line break?)")
    found = []
    for name, addr in getaddresses([text.strip(" ,")]):
        try:
            found.append(Address(display_name=name, addr_spec=addr))
            ok = "@" in addr and bool(found[-1].username and found[-1].domain)
        except Exception:  # the header parser raises several types (defects, IndexError)
            ok = False
        if not ok:
            shown = f"{addr!r} in {text!r}" if addr and addr != text.strip() else repr(text)
            raise ValueError(f"{what} {shown} is not an e-mail address")
    if not found:
        raise ValueError(f"{what} {text!r} is not an e-mail address")
    return found


def one_address(text: str, *, what: str = "recipient") -> Address:
    """Exactly one address: ``"Doe, John" <john@example.org>`` is one, ``a@x.org, b@y.org`` two."""
    found = parse_addresses(text, what=what)
    if len(found) > 1:
        raise ValueError(f"{what} {text!r} holds {len(found)} addresses; give one per item")
    return found[0]


#: A list that a plain string fills by splitting on commas (names, ids, categories, terms).
CommaList = Annotated[list[str], BeforeValidator(_split_commas)]
#: A list of free text (interests): a plain string is one item, commas and all.
TextList = Annotated[list[str], BeforeValidator(_one_item)]
#: Files: a plain string is one path (paths may hold commas).
PathList = Annotated[list[Path], BeforeValidator(_one_item)]
#: Recipients: a plain string is an address list; each item is checked as one address and
#: stored as ``Name <addr>`` (quoted where needed).
AddressList = Annotated[list[str], BeforeValidator(_address_list)]
