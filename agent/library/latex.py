"""BibTeX field text to plain Unicode: accents, protective braces, dashes, inline math.

pylatexenc does the decoding, but it is a pure-Python parser (~5 ms per abstract): run over every
field of a 5,000-entry library it took ~45 s. So only the pieces that need it (a macro, a braced
group holding a macro, `$...$`) go through it, each distinct piece once (accents repeat); plain
braces and dashes are handled with string operations.
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent.models import normalize_text

# `$...$`, a brace group holding a macro (`{\"o}`, `{\em x}`), or a macro with an optional
# argument (`\"o`, `\"{o}`, `\textbf{x}`, `\L`, `\%`).
_PIECE = re.compile(
    r"\$[^$]{1,300}\$"
    r"|\{[^{}]*\\[^{}]*\}"
    r"|\\[^A-Za-z\s]\s*(?:\{[^{}]*\}|[A-Za-z])?"  # accents take the next letter: \"odinger
    r"|\\[A-Za-z]+(?:\{[^{}]*\})?"
)
_SIMPLE = (("---", "—"), ("--", "–"), ("``", "“"), ("''", "”"), ("~", " "), ("{", ""), ("}", ""))


@lru_cache(maxsize=4096)
def _convert_piece(piece: str) -> str:
    return _converter().latex_to_text(piece)


@lru_cache(maxsize=1)
def _converter():  # -> pylatexenc LatexNodes2Text; imported on first use only
    from pylatexenc.latex2text import LatexNodes2Text

    # math_mode="text": $\ell_1$ becomes "ℓ_1" rather than vanishing or staying verbatim.
    return LatexNodes2Text(math_mode="text")


def latex_to_text(text: str | None) -> str:
    """`{B}ERT`, `Schr\\"odinger`, `--`, `$\\ell_1$` -> 'BERT', 'Schrödinger', '–', 'ℓ_1'."""
    if not text:
        return ""
    if "\\" in text or "$" in text:
        text = _PIECE.sub(lambda m: _convert_piece(m.group(0)), text)
    for latex, plain in _SIMPLE:
        text = text.replace(latex, plain)
    return normalize_text(text)
