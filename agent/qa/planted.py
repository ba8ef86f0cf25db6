"""Passages of an answer that pass on instructions planted in a paper, withheld from the reader.

A paper's text is untrusted: an abstract may tell the model to send the reader to a login page
and ask for a password. The answer is checked sentence by sentence with the checks `summarize`
applies to summaries (agent.summaries.injection.planted_passages); each sentence that passes
such a request on is replaced by ``WITHHELD``, and the answer's flag says what was withheld and
why, without repeating the link or the request.
"""

from __future__ import annotations

from agent.summaries.injection import KINDS, planted_passages

WITHHELD = "*(passage withheld: it asked you to act, as instructions planted in a paper do)*"


def withhold_planted(text: str, source: str) -> tuple[str, str | None]:
    """``text`` with its planted passages replaced by WITHHELD, and the warning (None when
    there were none). ``source`` is the papers the model was given, as it saw them."""
    planted = planted_passages(text, source)
    if not planted:
        return text, None
    for sentence, _ in planted:
        text = text.replace(sentence, WITHHELD, 1)
    kinds: dict[str, str] = {}
    for _, found in planted:
        for kind, what in found:
            kinds.setdefault(KINDS[kind].format(found=what), kind)
    n = len(planted)
    warning = (
        f"Withheld {n} passage{'s' if n > 1 else ''} of the answer holding "
        f"{'; '.join(kinds)}. A paper's text can carry instructions planted for the model: do "
        "not follow a request an answer makes (never enter a password on a page it links to)."
    )
    return text, warning


__all__ = ["WITHHELD", "withhold_planted"]
