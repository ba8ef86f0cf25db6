"""Clean PDF lines -> ``Document``: title, abstract, numbered sections, captions, references.

The lines carry no fonts, so structure is read from the text:

- a heading is a short numbered line whose number follows the previous heading's, so "0.3 F1
  behind ..." in a table is not one (``pdf_headings`` decides, IEEE's Roman numerals too);
  "Abstract", "References", "Acknowledgements" and the usual unnumbered headings are known by
  name;
- a paragraph ends at a line that ends a sentence and stops short of the column's width;
- "Figure 3:" / "Table 2." lines start a caption, which runs to its sentence's end;
- after "References" every line belongs to the reference list until an appendix starts
  ("Appendix ...", "A Title", or a new page opening with a title line in a numbered list);
- words hyphenated at a line's end are rejoined unless the paper writes them with a hyphen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.fulltext.models import (
    Caption,
    Document,
    Footnote,
    Reference,
    Section,
    caption_kind,
)
from agent.fulltext.pdf_headings import (
    FUNCTION_WORDS,
    HEADING,
    Number,
    next_heading,
    title_case,
    title_like,
)
from agent.fulltext.pdf_pages import PageLines, join_lines
from agent.fulltext.text import cap_sections

_ABSTRACT = re.compile(r"^abstract\b[\s.:—–-]*(.*)$", re.I)
_REFERENCES = re.compile(
    r"^(?:\d{1,2}\.?\s+)?(?:references|bibliography|literature cited|works cited)$", re.I
)
_ACKNOWLEDGEMENTS = re.compile(r"^(acknowledge?ments?)\b[\s.:]*(.*)$", re.I)
_NAMED = re.compile(
    r"^(?:introduction|related work|background|methods?|materials and methods|results|"
    r"discussion|conclusions?|limitations|broader impacts?|ethics statement|appendix|"
    r"appendices|supplementary materials?)$",
    re.I,
)
_APPENDIX_START = re.compile(r"^(?:appendix|appendices|supplementary|supplemental)\b", re.I)
_CAPTION = re.compile(r"^((?:Figure|Fig\.|Table)\s*[A-Z]?\d+)\s*[:.]\s*(.*)$", re.I)
_SENTENCE_END = re.compile(r"[.!?:][\"'”’)\]]*\d{0,2}$")
_CAPTION_END = re.compile(r"[.!?][\"'”’)\]]*$")
_NUMBERED_REF = re.compile(r"^(?:\[\d{1,4}\]|\d{1,4}\.\s)")
_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
_MAX_CAPTION_LINES = 10


@dataclass
class _Reader:
    pages: list[PageLines]
    words: frozenset[str] = frozenset()
    compounds: frozenset[str] = frozenset()
    state: str = "front"  # front, abstract, body, references, appendix
    abstract: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    captions: list[Caption] = field(default_factory=list)
    footnotes: list[Footnote] = field(default_factory=list)
    references: list[list[str]] = field(default_factory=list)
    front: list[str] = field(default_factory=list)
    buffer: list[str] = field(default_factory=list)
    last: Number | None = None  # the last numbered heading's number (letters count 1, 2, ...)

    # --- output ------------------------------------------------------------------------------
    @property
    def section(self) -> Section | None:
        return self.sections[-1] if self.sections else None

    def flush(self) -> None:
        if not self.buffer:
            return
        text = join_lines(self.buffer, self.words, self.compounds)
        self.buffer = []
        if self.state == "abstract":
            self.abstract.append(text)
        elif self.state in ("body", "appendix") and self.section is not None:
            self.section.paragraphs.append(text)

    def open_section(self, number: str | None, heading: str, level: int = 1) -> None:
        self.flush()
        if self.state in ("front", "abstract", "references"):
            self.state = "appendix" if self.state == "references" else "body"
        self.sections.append(
            Section(number=number, heading=heading, level=level, appendix=self.state == "appendix")
        )


def build_document(pages: list[PageLines], *, max_chars: int = 300_000) -> Document:
    reader = _Reader(pages)
    reader.words, reader.compounds = _vocabulary(pages)
    for page in pages:
        section = reader.section.number if reader.section else None
        reader.footnotes += [Footnote(mark=m, text=t, section=section) for m, t in page.footnotes]
        _read_page(reader, page)
    reader.flush()
    if not reader.sections and len(reader.abstract) > 1:  # headings of a style we do not know
        reader.sections.append(Section(heading="", paragraphs=reader.abstract[1:]))
        reader.abstract = reader.abstract[:1]
    if not reader.sections and reader.front:  # no structure found: the text as one section
        reader.state = "body"
        reader.sections.append(Section(heading=""))
        reader.buffer = reader.front[_title_lines(reader.front) :]
        reader.flush()
    sections = [s for s in reader.sections if s.paragraphs or s.heading]
    sections, truncated = cap_sections(sections, max_chars)
    return Document(
        format="pdf",
        title=_title(reader.front) or None,
        abstract="\n\n".join(reader.abstract),
        sections=sections,
        captions=reader.captions,
        footnotes=reader.footnotes,
        references=[_reference(lines) for lines in reader.references],
        truncated=truncated,
    )


def _read_page(reader: _Reader, page: PageLines) -> None:
    lines = page.lines
    i = 0
    while i < len(lines):
        line = lines[i]
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if reader.state == "references":
            taken = _ends_references(reader, line, page_start=i == 0)
            if taken is None:
                _reference_line(reader, line)
                taken = 1
            i += taken
            continue
        caption = _CAPTION.match(line)
        if caption and _caption_here(reader, line, first_line=i == 0):
            i = _read_caption(reader, lines, i, page.width, caption)
            continue
        consumed = _structure(reader, line, following, page.width)
        if consumed:
            i += consumed
            continue
        if reader.state == "front":
            reader.front.append(line)
        else:
            reader.buffer.append(line)
            if _SENTENCE_END.search(line) and len(line) < 0.85 * page.width:
                reader.flush()
        i += 1


def _structure(reader: _Reader, line: str, following: str, width: int) -> int:
    """Open what ``line`` starts (abstract, section, references); how many lines it took."""
    if reader.state == "front" and (match := _ABSTRACT.match(line)):
        reader.state = "abstract"
        if match.group(1):
            reader.buffer.append(match.group(1))
        return 1
    if _REFERENCES.match(line):
        reader.flush()
        reader.state = "references"
        return 1
    if match := _ACKNOWLEDGEMENTS.match(line):
        reader.open_section(None, match.group(1))
        if match.group(2):
            reader.buffer.append(match.group(2))
        return 1
    heading = next_heading(line, following, width, state=reader.state, last=reader.last)
    if heading is not None:
        if heading.opens_appendix:
            reader.flush()
            reader.state = "appendix"
        reader.last = heading.last
        level = heading.number.count(".") + 1
        reader.open_section(heading.number, heading.title, level=level)
        return heading.taken
    named = _NAMED.match(line)
    # in the front matter only "Introduction" opens the body (papers without an abstract)
    if named and (reader.state != "front" or line.strip().lower() == "introduction"):
        reader.open_section(None, line.strip().title() if line.isupper() else line.strip())
        return 1
    return 0


# --- headings ---------------------------------------------------------------------------------
# --- captions, references, title -----------------------------------------------------------
def _read_caption(
    reader: _Reader, lines: list[str], i: int, width: int, match: re.Match[str]
) -> int:
    parts = [match.group(2)]
    j = i + 1
    while j < len(lines) and len(parts) < _MAX_CAPTION_LINES:
        previous = lines[j - 1]
        # a caption ends with a sentence, unless the next line goes on with it in lower case
        if _CAPTION_END.search(previous) and (
            len(previous) < 0.85 * width or not lines[j][:1].islower()
        ):
            break
        if _CAPTION.match(lines[j]) or HEADING.match(lines[j]):
            break
        parts.append(lines[j])
        j += 1
    label = re.sub(r"\s+", " ", match.group(1)).replace("Fig.", "Figure")
    section = reader.section.number if reader.section else None
    text = join_lines(parts, reader.words, reader.compounds).strip()
    if text:
        reader.captions.append(
            Caption(kind=caption_kind(label), label=label, text=text, section=section)
        )
    return j


def _caption_here(reader: _Reader, line: str, *, first_line: bool) -> bool:
    """A "Table 1." line starts a caption, not a sentence of a paragraph that mentions it, when
    it says "Table 1:", opens a page, or follows a finished sentence."""
    if re.match(r"^\S+\s*[A-Z]?\d+\s*:", line) or first_line or not reader.buffer:
        return True
    return bool(_SENTENCE_END.search(reader.buffer[-1]))


def _ends_references(reader: _Reader, line: str, *, page_start: bool) -> int | None:
    """None while ``line`` is still a reference; else the appendix has started: 0 when the line
    is a heading to read again in the appendix state ("A Additional Details"), 1 when it was
    taken as the appendix's own heading ("Appendix for ...", "Attention Visualizations")."""
    match = HEADING.match(line)
    title = match.group(2) if match else ""
    if match and match.group(1) == "A" and title_like(title) and title_case(title):
        _enter_appendix(reader, None)
        return 0
    if _APPENDIX_START.match(line):
        _enter_appendix(reader, line)
        return 1
    numbered = bool(reader.references) and bool(_NUMBERED_REF.match(reader.references[0][0]))
    if numbered and page_start and not _NUMBERED_REF.match(line):
        ended = _SENTENCE_END.search(reader.references[-1][-1]) is not None
        if ended and len(line.split()) <= 6 and line[:1].isupper() and "." not in line:
            _enter_appendix(reader, line)  # an unnumbered appendix heading on a new page
            return 1
    return None


def _enter_appendix(reader: _Reader, heading: str | None) -> None:
    reader.state = "appendix"
    reader.last = None
    if heading is not None:
        reader.sections.append(Section(heading=heading, appendix=True))


def _reference_line(reader: _Reader, line: str) -> None:
    refs = reader.references
    if not refs:
        refs.append([line])
        return
    numbered = bool(_NUMBERED_REF.match(refs[0][0]))
    previous = refs[-1][-1]
    if numbered:
        new = bool(_NUMBERED_REF.match(line))
    else:
        author_list = "," in line[:40] or " and " in line[:40]
        new = bool(_SENTENCE_END.search(previous)) and line[:1].isupper() and author_list
        new = new and not line.startswith(("In ", "Proceedings", "Conference", "Journal"))
    if new:
        refs.append([line])
    else:
        refs[-1].append(line)


def _reference(lines: list[str]) -> Reference:
    text = join_lines(lines)
    match = re.match(r"^(\[\d{1,4}\])\s*", text)
    if match:
        return Reference(label=match.group(1), text=text[match.end() :])
    return Reference(text=text)


def _title_lines(front: list[str]) -> int:
    if not front:
        return 0
    taken = 1
    while taken < min(3, len(front)):
        previous, line = front[taken - 1], front[taken]
        words = line.split()
        wrapped = previous.split()[-1].lower() in FUNCTION_WORDS or previous.endswith(":")
        short = len(words) <= 2 and all(w[:1].isupper() for w in words)
        if not (wrapped or short) or re.search(r"[@∗*†‡\d,]", line):
            break
        taken += 1
    return taken


def _title(front: list[str]) -> str:
    return " ".join(front[: _title_lines(front)]).strip()


def _vocabulary(pages: list[PageLines]) -> tuple[frozenset[str], frozenset[str]]:
    """Lower-case words the text writes whole, and compounds it writes with a hyphen (a hyphen
    at a line's end is a break, not a compound, and is not counted)."""
    words: set[str] = set()
    compounds: set[str] = set()
    for page in pages:
        for line in page.lines:
            body = line[:-1] if line.endswith("-") else line
            for token in _WORD.findall(body):
                (compounds if "-" in token else words).add(token.lower())
    return frozenset(words), frozenset(compounds)
