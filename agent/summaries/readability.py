"""Flesch-Kincaid grade level, offline.

textstat's English syllable counter loads NLTK's cmudict and downloads it on first use, which
fails (and must not be tried) offline. This computes the same formula,
``0.39 * words/sentences + 11.8 * syllables/words - 15.59``, counting syllables with pyphen's
bundled hyphenation dictionary (textstat's own fallback for words cmudict lacks).
"""

from __future__ import annotations

import re
from functools import cache
from statistics import mean
from typing import Protocol

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_SENT_END = re.compile(r"[.!?]+[\"'”’)]?(?:\s|$)")
# "e.g. " and "et al. " end no sentence: counting them would make dense text look easy.
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|et al|cf|vs|Fig|Eq|Sec|approx|resp)\.", re.I)


class _Hyphenator(Protocol):  # pyphen's Pyphen (untyped)
    def positions(self, word: str) -> list[int]: ...


@cache
def _hyphenator() -> _Hyphenator:
    import pyphen

    return pyphen.Pyphen(lang="en_US")


def syllables(word: str) -> int:
    word = word.lower()
    n = len(_hyphenator().positions(word)) + 1
    # pyphen never splits short words; count vowel groups as a floor for them.
    groups = len(re.findall(r"[aeiouy]+", word)) - (
        1 if word.endswith("e") and len(word) > 3 else 0
    )
    return max(n, min(groups, 3), 1)


def fk_grade(text: str) -> float | None:
    """Flesch-Kincaid grade of ``text``; None for text without words."""
    words = _WORD.findall(text)
    if not words:
        return None
    n_sent = max(1, len(_SENT_END.findall(_ABBREV.sub("", text).strip() + " ")))
    n_syll = sum(syllables(w) for w in words)
    return round(0.39 * len(words) / n_sent + 11.8 * n_syll / len(words) - 15.59, 1)


def compare(pairs: list[tuple[str, str]]) -> dict[str, float | None]:
    """Mean grade of summaries vs their abstracts, from ``(summary, abstract)`` pairs."""
    s = [g for g in (fk_grade(a) for a, _ in pairs) if g is not None]
    a = [g for g in (fk_grade(b) for _, b in pairs) if g is not None]
    return {
        "summary_grade": round(mean(s), 1) if s else None,
        "abstract_grade": round(mean(a), 1) if a else None,
        "n": float(len(pairs)),
    }
