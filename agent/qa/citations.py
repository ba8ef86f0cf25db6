"""Citation checking: every ``[n]`` in an answer must point to a paper that was in its context.

Models cite in several shapes (``[1]``, ``[1, 3]``, ``[2-4]``, ``[1][2]``); a number outside the
context is removed (and counted) rather than shown as a link to nothing, and an answer in which
no sentence cites anything is flagged, because then nothing ties its claims to a paper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A bracket holding only numbers, commas, dashes and spaces; "[^" footnotes and "[x](url)"
# links are not citations. The lookbehind keeps "a[1]" array indexing in code out of it.
_GROUP = re.compile(r"(?<![\w`])\s?\[(\d{1,3}(?:\s*(?:,|;|-|–)\s*\d{1,3})*)\](?!\()")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z*_\"'(\[])|\n+")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
_MAX_RANGE = 20  # "[1-300]" is not a citation of 300 papers


@dataclass
class CitationCheck:
    """The checked text and what the check found."""

    text: str
    cited: list[int] = field(default_factory=list)  # valid numbers, first-cited order
    removed: int = 0  # numbers that pointed to no paper
    sentences: int = 0
    uncited_sentences: int = 0

    @property
    def flagged(self) -> str | None:
        if self.sentences and not self.cited:
            return "No sentence of the answer cites a paper, so nothing ties it to the papers."
        return None


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group.strip()):
        if not part:
            continue
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            lo, hi = int(bounds[0]), int(bounds[1])
            if lo <= hi and hi - lo <= _MAX_RANGE:
                out.extend(range(lo, hi + 1))
                continue
        out.extend(int(b) for b in bounds if b.isdigit())
    return out


def find_citations(text: str) -> list[int]:
    """Every cited number, in order of first appearance (duplicates dropped)."""
    seen: list[int] = []
    for match in _GROUP.finditer(_CODE.sub(" ", text)):
        for n in _numbers(match.group(1)):
            if n not in seen:
                seen.append(n)
    return seen


def check_citations(text: str, valid: set[int] | range) -> CitationCheck:
    """Remove citation numbers not in ``valid`` and say what was cited, removed and uncited."""
    result = CitationCheck(text=text)
    cited: list[int] = []

    def fix(match: re.Match[str]) -> str:
        numbers = _numbers(match.group(1))
        keep = []
        for n in numbers:
            if n in valid:
                if n not in keep:
                    keep.append(n)
            else:
                result.removed += 1
        for n in keep:
            if n not in cited:
                cited.append(n)
        if not keep:
            return ""
        lead = " " if match.group(0).startswith((" ", "\t", "\n")) else ""
        return lead + "[" + ", ".join(str(n) for n in keep) + "]"

    # Code spans are left alone: a "[3]" inside code is not a citation.
    pieces: list[str] = []
    last = 0
    for code in _CODE.finditer(text):
        pieces.append(_GROUP.sub(fix, text[last : code.start()]))
        pieces.append(code.group(0))
        last = code.end()
    pieces.append(_GROUP.sub(fix, text[last:]))
    fixed = "".join(pieces)
    # Removing "[9]" before a full stop must not leave "claim ." behind.
    fixed = re.sub(r"[ \t]+([.,;:!?])", r"\1", fixed)
    result.text = fixed
    result.cited = cited
    sentences = [s for s in _SENTENCE.split(fixed) if _is_claim(s)]
    result.sentences = len(sentences)
    result.uncited_sentences = sum(1 for s in sentences if not find_citations(s))
    return result


def _is_claim(sentence: str) -> bool:
    """Headings, list markers and one-word lines are not claims that need a citation."""
    s = sentence.strip()
    if not s or s.startswith("#"):
        return False
    return len(re.findall(r"[A-Za-z]{2,}", s)) >= 4


__all__ = ["CitationCheck", "check_citations", "find_citations"]
