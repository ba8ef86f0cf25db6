"""Bounds on one paper's text, so one broken record cannot stall or sink an ingest.

A real abstract is under 3,000 characters and a real title under 300; a pasted full-text page
(the file source keeps the prose paragraphs after an abstract) runs to 40,000-80,000 for a
long paper. Text past the bounds is cut at a word and the cut is reported: one 20 MB
"abstract" used to take 58,000 chunks, over ten minutes of embedding and 2.5 GB of memory.
"""

from __future__ import annotations

from agent.models import Paper

MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 100_000
#: Appended where text was cut, so a reader sees the text does not end there.
CUT_MARK = " …"


def cut_text(text: str, limit: int) -> str:
    """``text`` if it fits, else its first ``limit`` characters cut back to a word, plus the
    mark (a single unbroken "word" is cut where the limit falls)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    at_word = head.rsplit(" ", 1)[0]
    return (at_word if len(at_word) >= limit // 2 else head) + CUT_MARK


def bound_paper(paper: Paper) -> tuple[Paper, str | None]:
    """The paper with title and abstract within bounds, and a note saying what was cut (None
    when nothing was). The original lengths are kept in ``extra["cut"]``."""
    cut: dict[str, int] = {}
    fields: dict[str, str] = {}
    for name, limit in (("title", MAX_TITLE_CHARS), ("abstract", MAX_ABSTRACT_CHARS)):
        text = getattr(paper, name)
        if len(text) > limit:
            fields[name] = cut_text(text, limit)
            cut[name] = len(text)
    if not cut:
        return paper, None
    extra = {**paper.extra, "cut": {f"{name}_chars": n for name, n in cut.items()}}
    bounded = paper.model_copy(update={**fields, "extra": extra})
    what = " and ".join(
        f"{name} from {n:,} to {len(fields[name]):,} characters" for name, n in cut.items()
    )
    name = cut_text(bounded.title, 60)
    return bounded, f"{paper.id} ({name!r}): cut the {what}; only the start is stored and searched."
