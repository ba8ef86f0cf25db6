"""Numbered headings in PDF text: is this line the paper's next heading?

A candidate is a short line "3.2 Attention", "A.1 Illustration of ...", "II. RELATED WORK" or
"B. Datasets" whose title looks like one (capitalised, few words, not a sentence, not table
numbers) and whose number follows the previous heading's: its first child, a next sibling
(skipping at most one), or the next section's first subsection. Numbering in the body is digits
(or IEEE's Roman numerals with lettered subsections); in the appendix it is letters, and the
first "A <Title>" after the body's sections starts the appendix. A heading wrapped over two
lines of a narrow column is joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADING = re.compile(r"^((?:\d{1,2}|[A-H])(?:\.\d{1,2}){0,3})\.?\s+(\S.{0,98})$")
_ROMAN_HEADING = re.compile(r"^([IVX]{1,5})\.\s+(\S.{0,98})$")
_IEEE_SUB = re.compile(r"^([A-H])\.\s+(\S.{0,98})$")
_ROMAN_BASE = 100  # Roman section numbers are kept as 100 + n, apart from digit ones
_ROMAN = {
    r: n
    for n, r in enumerate(
        ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII"]
    )
    if r
}
_CAPTION = re.compile(r"^(?:Figure|Fig\.|Table)\s*[A-Z]?\d+\s*[:.]", re.I)
FUNCTION_WORDS = {"of", "and", "for", "the", "in", "on", "with", "to", "a", "an", "from", "by"}
Number = tuple[int, ...]


@dataclass
class Heading:
    number: str  # "3.2", "A.1", "II.A"
    title: str
    taken: int  # lines it took (2 when wrapped)
    last: Number  # the number to compare the next candidate with
    opens_appendix: bool = False


def next_heading(
    line: str, following: str, width: int, *, state: str, last: Number | None
) -> Heading | None:
    """The heading ``line`` is, given the reader's ``state`` (body, appendix ...) and the
    ``last`` heading's number; None when it is text."""
    ieee = _ieee_heading(line, state, last)
    if ieee is not None or (last and last[0] > _ROMAN_BASE):
        return ieee
    match = HEADING.match(line)
    if not match or not title_like(match.group(2)):
        return None
    number_text, title = match.group(1), match.group(2).strip()
    letter = number_text[0].isalpha()
    number = _as_number(number_text)
    previous: Number | None
    if state == "appendix":
        previous = last if letter else ()
    elif letter:
        starts = number == (1,) and title_case(title) and last is not None
        previous = None if starts else ()  # "A ..." after the body's sections: the appendix
    else:
        previous = last
    if previous == () or not _follows(previous, number, letter):
        return None
    taken = 1
    if following and len(line) >= 0.6 * width and _continues_heading(title, following):
        title = f"{title} {following.rstrip('.').strip()}"
        taken = 2
    opens = letter and state != "appendix"
    return Heading(number_text, title.rstrip("."), taken, number, opens_appendix=opens)


def _ieee_heading(line: str, state: str, last: Number | None) -> Heading | None:
    """IEEE's "II. RELATED WORK" and its subsections "A. Datasets" (numbered "II.A"); once a
    paper numbers in Roman numerals, only these count as headings (until the appendix)."""
    match = _ROMAN_HEADING.match(line) or _IEEE_SUB.match(line)
    if not match or state == "appendix" or not title_like(match.group(2)):
        return None
    if last is not None and last[0] <= _ROMAN_BASE:
        return None  # the paper numbers in digits
    title = match.group(2).strip()
    title = title.title() if title.isupper() else title
    if match.re is _ROMAN_HEADING:
        value = _ROMAN.get(match.group(1), 0)
        if value != (last[0] - _ROMAN_BASE if last else 0) + 1:
            return None
        return Heading(match.group(1), title, 1, (_ROMAN_BASE + value,))
    if last is None:
        return None
    letter = ord(match.group(1)) - 64
    if letter != (last[1] if len(last) > 1 else 0) + 1:
        return None
    section = next(r for r, n in _ROMAN.items() if n == last[0] - _ROMAN_BASE)
    return Heading(f"{section}.{match.group(1)}", title, 1, (last[0], letter))


def title_case(text: str) -> bool:
    """Every word of four letters or more capitalised."""
    return all(w[0].isupper() for w in text.split() if len(w) >= 4 and w[0].isalpha())


def title_like(title: str) -> bool:
    """Reads as a heading's title: capitalised, at most 14 words, not a sentence or numbers."""
    words = title.split()
    if not words or len(words) > 14 or not title[0].isupper():
        return False
    if re.search(r"[,;]$|-$|\.\s+[A-Z]", title) or (title.endswith(".") and len(words) > 6):
        return False
    numeric = sum(1 for w in words if re.fullmatch(r"[\d.,%()±×/-]+", w))
    return numeric <= 0.3 * len(words)


def _continues_heading(title: str, following: str) -> bool:
    """A heading wrapped in a narrow column: "A.4 Comparison of BERT, ELMo ,and" / "OpenAI GPT"."""
    words = following.split()
    if not words or len(words) > 5 or not following[0].isupper() or HEADING.match(following):
        return False
    if _CAPTION.match(following) or following.rstrip().endswith(","):
        return False
    last = title.split()[-1].lower().strip(",")
    if last in FUNCTION_WORDS or title.endswith(","):
        return True
    return title_case(following)


def _as_number(text: str) -> Number:
    return tuple(ord(p) - 64 if p.isalpha() else int(p) for p in text.split("."))


def _follows(previous: Number | None, number: Number, letter: bool) -> bool:
    """Whether ``number`` can come after ``previous``: its first child, a next sibling at some
    level (skipping at most one), or the next section's first subsection."""
    if previous is None:
        return len(number) == 1 and number[0] in ((1,) if letter else (1, 2))
    if number[: len(previous)] == previous and len(number) == len(previous) + 1:
        return number[-1] in (1, 2)
    for depth in range(1, len(previous) + 1):
        if len(number) == depth and number[:-1] == previous[: depth - 1]:
            return previous[depth - 1] < number[-1] <= previous[depth - 1] + 2
    return len(number) == 2 and number[0] == previous[0] + 1 and number[1] == 1
