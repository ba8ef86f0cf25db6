"""HTML -> ``Document``: LaTeXML's structure (what arXiv serves), or any page as a fallback.

LaTeXML marks everything with classes: ``ltx_document`` holds ``ltx_title_document``,
``ltx_abstract`` and nested ``ltx_section`` / ``ltx_subsection`` / ``ltx_subsubsection`` /
``ltx_appendix`` elements whose heading carries its number in an ``ltx_tag``. Paragraphs are
``ltx_para`` blocks of ``ltx_p`` text, display equations and lists; ``<math alttext=...>``
becomes readable text; ``ltx_note`` footnotes, ``ltx_caption``s and the ``ltx_bibliography``
are collected apart from the body. ``\\paragraph`` run-in headings, theorems and proofs stay in
their section, their title leading the first paragraph. Red ``ltx_ERROR`` boxes (macros LaTeXML
did not know) are dropped: they are markup, not text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import lxml.html

from agent.fulltext.models import (
    Caption,
    CaptionKind,
    Document,
    Footnote,
    Reference,
    Section,
    caption_kind,
)
from agent.fulltext.text import cap_sections, render_math, squash

# lxml elements are untyped (lxml ships no stubs here): ``El`` names them for readers.
El = Any

MAX_ITEMS = 2_000  # captions, footnotes, references kept per paper
_SECTIONS = {
    "ltx_part": 0,
    "ltx_chapter": 0,
    "ltx_section": 1,
    "ltx_appendix": 1,
    "ltx_subsection": 2,
    "ltx_subsubsection": 3,
}
_RUN_IN = {"ltx_paragraph", "ltx_subparagraph", "ltx_theorem", "ltx_proof", "ltx_acknowledgement"}
_FLOATS = {"ltx_figure", "ltx_table", "ltx_float"}
_LISTS = {"ltx_itemize", "ltx_enumerate", "ltx_description"}
_EQUATIONS = {"ltx_equation", "ltx_equationgroup", "ltx_eqn_table"}
_DROP_TAGS = ("script", "style", "noscript", "nav", "button", "header", "footer")
#: Page furniture and markup that is not the paper's text (removed before anything is read).
_DROP_CLASSES = (
    "ltx_TOC",
    "ltx_page_header",
    "ltx_page_footer",
    "ltx_page_navbar",
    "package-alerts",
    "ltx_ERROR",
    "ltx_authors",
    "ltx_dates",
    "ltx_classification",
    "ltx_keywords",
    "ltx_note_mark",
    "ltx_tag_equation",
)
_BULLETS = {"•", "∙", "◦", "▪", "–", "-", "*", "·"}
_NUMBER = re.compile(r"^(?:appendix|section|chapter|part|§)?\s*([A-Z]|[IVXL]+|\d+)((?:\.\d+)*)")


@dataclass
class _Apart:
    """What is collected beside the body while the sections are walked."""

    captions: list[Caption] = field(default_factory=list)
    footnotes: list[Footnote] = field(default_factory=list)
    section: str | None = None


def parse_html(html: str, *, max_chars: int = 300_000) -> Document:
    """A paper page as a Document; a page without LaTeXML's classes is read by its headings
    and paragraphs. Raises ValueError for text that is not HTML at all."""
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)  # lxml refuses str with an encoding decl
    root = lxml.html.document_fromstring(html)
    drop = " | ".join([*(f"//{t}" for t in _DROP_TAGS), *(_has(c, "//") for c in _DROP_CLASSES)])
    for element in root.xpath(drop):
        _remove(element)
    article = _main_document(root)
    if article is None:
        from agent.fulltext.html_generic import parse_generic

        return parse_generic(root, max_chars=max_chars)
    apart = _Apart()
    references = _references(article)
    abstract = _first(article, "ltx_abstract")
    abstract_text = ""
    if abstract is not None:
        abstract_text = "\n\n".join(_blocks(abstract, apart))
        _remove(abstract)
    title_el = _first(article, "ltx_title_document")
    title = squash(_inline(title_el, apart)) if title_el is not None else _head_title(root)
    sections: list[Section] = []
    lead = _blocks(article, apart)
    if lead:  # text before the first section (short notes have no sections at all)
        sections.append(Section(heading="", paragraphs=lead))
    _collect_sections(article, 1, False, apart, sections)
    sections, truncated = cap_sections(sections, max_chars)
    return Document(
        format="html",
        title=title or None,
        abstract=abstract_text,
        sections=sections,
        captions=apart.captions[:MAX_ITEMS],
        footnotes=apart.footnotes[:MAX_ITEMS],
        references=references[:MAX_ITEMS],
        truncated=truncated,
    )


# --- structure -------------------------------------------------------------------------------
def classes(element: El) -> set[str]:
    value = element.get("class") if isinstance(element.tag, str) else None
    return set(value.split()) if value else set()


def _has(cls: str, axis: str = ".//") -> str:
    """XPath for the elements with class ``cls`` (a whole class name, not a prefix)."""
    return f"{axis}*[contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')]"


def _first(root: El, cls: str) -> El | None:
    found = root.xpath(_has(cls))
    return found[0] if found else None


def _main_document(root: El) -> El | None:
    """The paper's ``ltx_document``: arXiv also gives that class to the box that lists
    packages the converter did not support, so the ``<article>`` wins, else the largest."""
    found = root.xpath(_has("ltx_document", "//"))
    articles = [e for e in found if e.tag == "article"]
    if articles or not found:
        return articles[0] if articles else None
    return max(found, key=lambda e: len(e.xpath(_has("ltx_para"))))


def _remove(element: El) -> None:
    """Drop an element but keep the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _head_title(root: El) -> str:
    found = root.xpath("//head/title")
    return squash(found[0].text_content()) if found else ""


def _section_level(element: El) -> int | None:
    cls = classes(element)
    if element.tag not in ("section", "div"):
        return None
    hits = [level for name, level in _SECTIONS.items() if name in cls]
    return hits[0] if hits else None


def _collect_sections(
    container: El, level: int, appendix: bool, apart: _Apart, out: list[Section]
) -> None:
    for child in container:
        if not isinstance(child.tag, str):
            continue
        cls = classes(child)
        if _section_level(child) is not None:
            in_appendix = appendix or "ltx_appendix" in cls
            number, heading = _heading(child, apart)
            apart.section = number
            out.append(
                Section(
                    number=number,
                    heading=heading,
                    level=max(1, level),
                    appendix=in_appendix,
                    paragraphs=_blocks(child, apart),
                )
            )
            _collect_sections(child, level + 1, in_appendix, apart, out)
        elif not (cls & (_FLOATS | _RUN_IN) or "ltx_para" in cls or "ltx_bibliography" in cls):
            _collect_sections(child, level, appendix, apart, out)


def _heading(section: El, apart: _Apart) -> tuple[str | None, str]:
    title = next((c for c in section if isinstance(c.tag, str) and "ltx_title" in classes(c)), None)
    if title is None:
        return None, ""
    number = None
    tags = [t for t in title.iter() if "ltx_tag" in classes(t)]
    if tags:
        tag_text = squash(tags[0].text_content())
        match = _NUMBER.match(tag_text.rstrip(".:"))
        number = (match.group(1) + match.group(2)) if match else (tag_text.rstrip(".:") or None)
        _remove(tags[0])
    return number, squash(_inline(title, apart))


# --- body blocks -----------------------------------------------------------------------------
def _blocks(container: El, apart: _Apart) -> list[str]:
    """The paragraphs directly in ``container`` (not in its subsections), in order."""
    out: list[str] = []
    for child in container:
        if not isinstance(child.tag, str) or _section_level(child) is not None:
            continue
        cls = classes(child)
        if "ltx_title" in cls or child.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            continue
        if cls & _FLOATS or child.tag == "figure":
            _captions(child, apart)
        elif cls & _RUN_IN:
            out.extend(_run_in(child, apart))
        elif "ltx_para" in cls:
            out.extend(_para(child, apart))
        elif "ltx_p" in cls or child.tag == "p":
            _add(out, _inline(child, apart))
        elif cls & _EQUATIONS:
            _add(out, _equation(child, apart))
        elif "ltx_bibliography" not in cls:
            out.extend(_blocks(child, apart))
    return out


def _run_in(element: El, apart: _Apart) -> list[str]:
    """``\\paragraph{Outlier handling.}``, a theorem or a proof: its title leads its text."""
    title = next((c for c in element if isinstance(c.tag, str) and "ltx_title" in classes(c)), None)
    lead = squash(_inline(title, apart)) if title is not None else ""
    blocks = _blocks(element, apart)
    if lead and blocks:
        blocks[0] = f"{lead} {blocks[0]}"
    elif lead:
        blocks = [lead]
    return blocks


def _para(para: El, apart: _Apart) -> list[str]:
    """One ``ltx_para``: its text and display math as one paragraph; a list inside it gives
    one paragraph per item."""
    out: list[str] = []
    pieces: list[str] = []

    def flush() -> None:
        _add(out, " ".join(pieces))
        pieces.clear()

    for child in para:
        if not isinstance(child.tag, str):
            continue
        cls = classes(child)
        if "ltx_p" in cls or child.tag == "p":
            pieces.append(_inline(child, apart))
        elif cls & _EQUATIONS:
            pieces.append(_equation(child, apart))
        elif cls & _LISTS or child.tag in ("ul", "ol", "dl"):
            flush()
            out.extend(_items(child, apart))
        elif cls & _FLOATS or child.tag == "figure":
            _captions(child, apart)
        elif child.tag == "table":
            continue  # an inline tabular: cells are not prose
        elif child.tag in ("div", "section") or cls & _RUN_IN:
            flush()
            out.extend(_run_in(child, apart) if cls & _RUN_IN else _blocks(child, apart))
        else:
            pieces.append(_inline(child, apart))
    flush()
    return out


def _items(listing: El, apart: _Apart) -> list[str]:
    """One paragraph per list item, led by its label ("1.", "(a)"; bullets dropped); a
    description list's term leads its definition ("Northern: speakers from ...")."""
    out: list[str] = []
    term = ""
    for item in listing:
        if not isinstance(item.tag, str) or item.tag not in ("li", "dt", "dd"):
            continue
        tag = next((t for t in item if isinstance(t.tag, str) and "ltx_tag" in classes(t)), None)
        label = ""
        if tag is not None:
            label = squash(_inline(tag, apart))
            _remove(tag)
        body = " ".join(_blocks(item, apart)) or squash(_inline(item, apart))
        if item.tag == "dt":
            term = squash(f"{label} {body}")
            continue
        if item.tag == "dd":
            label, term = (f"{term}:" if term else ""), ""
        label = "" if label in _BULLETS else label
        _add(out, f"{label} {body}")
    _add(out, term)  # a term without a definition
    return out


def _equation(table: El, apart: _Apart) -> str:
    parts = [_math(m) for m in table.iter("math")]
    return squash(" ".join(p for p in parts if p))


def _math(element: El) -> str:
    alt = element.get("alttext")
    return render_math(alt) if alt else squash(element.text_content())


def _captions(figure: El, apart: _Apart) -> None:
    default: CaptionKind = "table" if "ltx_table" in classes(figure) else "figure"
    for caption in figure.iter("figcaption"):
        tag = next((t for t in caption.iter() if "ltx_tag" in classes(t)), None)
        label = ""
        if tag is not None:
            label = squash(tag.text_content()).rstrip(":.")
            _remove(tag)
        text = squash(_inline(caption, apart))
        if text and len(apart.captions) < MAX_ITEMS:
            kind = caption_kind(label, default)
            apart.captions.append(Caption(kind=kind, label=label, text=text, section=apart.section))


def _add(out: list[str], text: str) -> None:
    text = squash(text)
    if text:
        out.append(text)


# --- inline text -----------------------------------------------------------------------------
def _inline(element: El, apart: _Apart) -> str:
    """An element's text with math rendered and footnotes taken out (into ``apart``)."""
    parts: list[str] = [element.text or ""] if isinstance(element.tag, str) else []
    for child in element:
        if isinstance(child.tag, str):
            cls = classes(child)
            if child.tag == "math":
                parts.append(_math(child))
            elif "ltx_note" in cls:
                _footnote(child, apart)
            elif child.tag in ("table", "figure") or cls & _FLOATS:
                pass
            elif child.tag in ("br",):
                parts.append(" ")
            else:
                parts.append(_inline(child, apart))
        parts.append(child.tail or "")
    return "".join(parts)


def _footnote(note: El, apart: _Apart) -> None:
    content = _first(note, "ltx_note_content")
    marks = note.xpath(_has("ltx_tag_note"))
    mark = squash(marks[0].text_content()) if marks else ""
    for tag in marks:
        _remove(tag)
    text = squash(_inline(content if content is not None else note, apart))
    if text and len(apart.footnotes) < MAX_ITEMS:
        apart.footnotes.append(Footnote(mark=mark, text=text, section=apart.section))


def _references(article: El) -> list[Reference]:
    out: list[Reference] = []
    for bib in article.xpath(_has("ltx_bibliography")):
        for item in bib.xpath(_has("ltx_bibitem")):
            tags = item.xpath(_has("ltx_tag_bibitem"))
            label = squash(tags[0].text_content()) if tags else ""
            for tag in tags:
                _remove(tag)
            text = squash(_inline(item, _Apart()))
            if text:
                out.append(Reference(label=label, text=text))
        _remove(bib)
    return out
