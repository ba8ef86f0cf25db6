"""Bring a model's summary within the limits the reader is promised, before it is stored.

Models overrun limits they were given (a 59-word TL;DR for a limit of 30). Asking again costs
a call and often fails the same way, so what can be cut is cut here: the TL;DR to its first
sentence, then to its last clause that fits, then to the limit in words; the summary to its
first four sentences; why-it-matters to its first two.
"""

from __future__ import annotations

import re

from agent.models import SummaryDraft
from agent.summaries.faithfulness import MAX_TLDR_WORDS, sentences

MAX_SUMMARY_SENTENCES = 4
MAX_WHY_SENTENCES = 2
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014]\s|\s-\s|\s\(")
_DANGLING = {
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "for", "with", "by", "at",
    "as", "from", "that", "which", "while", "whereas", "than", "its", "their", "is", "are",
}  # fmt: skip


def fit_limits(draft: SummaryDraft) -> SummaryDraft:
    """``draft`` with over-long fields shortened; fields within their limits are unchanged."""
    return draft.model_copy(
        update={
            "tldr": shorten_tldr(draft.tldr),
            "summary": _first_sentences(draft.summary, MAX_SUMMARY_SENTENCES),
            "why_it_matters": _first_sentences(draft.why_it_matters, MAX_WHY_SENTENCES),
        }
    )


def shorten_tldr(text: str, limit: int = MAX_TLDR_WORDS) -> str:
    if len(text.split()) <= limit:
        return text
    first = (sentences(text) or [text])[0]
    if len(first.split()) <= limit:
        return first
    # The longest run of whole clauses that fits reads better than a cut mid-phrase.
    cuts = [m.start() for m in _CLAUSE_END.finditer(first)]
    fitting = [c for c in cuts if limit // 3 <= len(first[:c].split()) <= limit]
    if fitting:
        return _end(first[: fitting[-1]])
    words = first.split()[:limit]
    while len(words) > 1 and words[-1].lower().strip(",;:") in _DANGLING:
        words.pop()
    return _end(" ".join(words))


def _end(text: str) -> str:
    text = text.rstrip(" ,;:-\u2013\u2014")
    return text if text.endswith((".", "!", "?")) else text + "."


def _first_sentences(text: str, n: int) -> str:
    parts = sentences(text)
    return " ".join(parts[:n]) if len(parts) > n else text
