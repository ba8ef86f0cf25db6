"""Any HTML page that is not LaTeXML's (a record's ``html_url``): sections from its headings.

The page's ``<article>`` or ``<main>`` (else its body) is read in order: ``h1``-``h4`` start a
section (a leading "3.2" becomes its number), ``p`` and ``li`` are paragraphs, ``figcaption``
and ``caption`` are captions, and everything after a "References" / "Bibliography" heading is
kept apart as the reference list.
"""

from __future__ import annotations

import re
from typing import Any

from agent.fulltext.models import Caption, Document, Reference, Section, caption_kind
from agent.fulltext.text import cap_sections, squash

_HEADINGS = ("h1", "h2", "h3", "h4")
_NUMBERED = re.compile(r"^((?:\d+|[A-Z])(?:\.\d+)*)\.?\s+(\S.*)$")
_REFERENCES = re.compile(r"^(?:\d+\.?\s+)?(references|bibliography|works cited)$", re.I)
_CAPTION_LABEL = re.compile(r"^((?:Figure|Fig\.|Table)\s*\d+)[.:]?\s*", re.I)
_SKIP = ("header", "footer", "nav", "aside", "form", "button")


def parse_generic(root: Any, *, max_chars: int) -> Document:
    body = next(iter(root.xpath("//article | //main")), None)
    if body is None:
        body = next(iter(root.xpath("//body")), root)
    title_el = next(iter(body.xpath(".//h1")), None)
    head_title = root.xpath("//head/title")
    title = squash(title_el.text_content()) if title_el is not None else ""
    if not title and head_title:
        title = squash(head_title[0].text_content())
    sections: list[Section] = []
    captions: list[Caption] = []
    references: list[Reference] = []
    current = Section(heading="")
    in_references = False
    for element in body.iter("h1", "h2", "h3", "h4", "p", "li", "figcaption", "caption"):
        if any(a.tag in _SKIP for a in element.iterancestors()):
            continue
        text = squash(element.text_content())
        if not text or (element.tag == "h1" and text == title):
            continue
        if element.tag in _HEADINGS:
            in_references = bool(_REFERENCES.match(text))
            if not in_references:
                if current.paragraphs or current.heading:
                    sections.append(current)
                current = _section(text, int(element.tag[1]))
        elif in_references:
            references.append(Reference(text=text))
        elif element.tag in ("figcaption", "caption"):
            captions.append(_caption(text, current.number))
        elif element.tag == "p" or not element.xpath(".//p"):
            current.paragraphs.append(text)
    if current.paragraphs or current.heading:
        sections.append(current)
    sections, truncated = cap_sections(sections, max_chars)
    return Document(
        format="html",
        title=title or None,
        sections=sections,
        captions=captions,
        references=references,
        truncated=truncated,
    )


def _section(text: str, level: int) -> Section:
    match = _NUMBERED.match(text)
    if match and len(match.group(2)) > 1:
        number = match.group(1)
        return Section(number=number, heading=match.group(2), level=number.count(".") + 1)
    return Section(heading=text, level=max(1, level - 1))


def _caption(text: str, section: str | None) -> Caption:
    match = _CAPTION_LABEL.match(text)
    label = match.group(1) if match else ""
    return Caption(
        kind=caption_kind(label),
        label=label,
        text=text[match.end() :] if match else text,
        section=section,
    )
