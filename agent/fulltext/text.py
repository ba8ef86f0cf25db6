"""Text clean-up shared by the HTML and PDF readers: whitespace, ligatures, math, caps.

``render_math`` turns LaTeXML's ``alttext`` (the LaTeX source of a formula) into readable
Unicode with pylatexenc: ``\\frac{QK^{T}}{\\sqrt{d_{k}}}`` -> ``QK^T/√(d_k)``, ``s_{i+1}`` ->
``s_(i+1)``. (Not through ``agent.summaries.plain_text.latex_to_text``: it is built for prose
with a little math, and glues a subscript to a preceding macro, ``\\rho_{b}`` -> ``\\rhob``,
losing the symbol.) ``cap_sections`` enforces the per-paper character cap on body text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from agent.fulltext.models import Section

_WS = re.compile(r"\s+")
# Typographic ligatures PDF fonts emit as one glyph (pypdf returns them as such).
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
# Soft hyphens, zero-width and invisible-operator characters, control characters (a symbol
# font's bullet comes out of pypdf as U+0088) and private-use glyphs.
_INVISIBLE = re.compile(
    "[\u00ad\u200b-\u200d\u2060-\u2064\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]"
)
_DISPLAY = re.compile(r"\\(?:displaystyle|textstyle|scriptstyle|nonumber|notag)\b|\\[,;:!]")
# A sub- or superscript group: more than one character keeps its grouping as parentheses.
_GROUP = re.compile(r"([_^])\{\s*([^{}]*?)\s*\}")
#: Longest formula rendered through pylatexenc; longer ones keep their LaTeX (still readable,
#: and a pathological 50 kB alttext must not cost seconds).
MAX_MATH_CHARS = 2_000


def squash(text: str) -> str:
    """Ligatures expanded, invisible characters dropped, whitespace collapsed."""
    text = _INVISIBLE.sub("", text.translate(_LIGATURES))
    return _WS.sub(" ", text).strip()


@lru_cache(maxsize=1)
def _converter() -> Any:
    # Imported here: `paperbrief --help` must not pay for pylatexenc.
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


@lru_cache(maxsize=8192)
def render_math(alttext: str) -> str:
    """A formula's LaTeX as readable text (``\\frac{\\rho_{b}}{\\rho_{w}}`` -> ``ρ_b/ρ_w``);
    its source when it cannot be rendered."""
    tex = squash(_DISPLAY.sub(" ", alttext))
    if not tex or len(tex) > MAX_MATH_CHARS:
        return tex
    for _ in range(3):  # innermost groups first
        grouped = _GROUP.sub(_group, tex)
        if grouped == tex:
            break
        tex = grouped
    tex = tex.replace("\x00", "{").replace("\x01", "}")
    try:
        return squash(str(_converter().latex_to_text(tex))) or tex
    except Exception:  # pylatexenc raises on some malformed input: keep the source
        return tex


def _group(match: re.Match[str]) -> str:
    body = match.group(2)
    simple = len(body) == 1 or (body.startswith("\\") and body[1:].isalpha())
    return f"{match.group(1)}\x00{body}\x01" if simple else f"{match.group(1)}({body})"


def cap_sections(sections: list[Section], max_chars: int) -> tuple[list[Section], bool]:
    """The sections cut so their paragraphs hold at most ``max_chars`` characters, and whether
    anything was cut. The last paragraph kept is cut at a word boundary."""
    kept: list[Section] = []
    used = 0
    for section in sections:
        paragraphs: list[str] = []
        for paragraph in section.paragraphs:
            room = max_chars - used
            if room <= 0:
                break
            if len(paragraph) > room:
                cut = paragraph[:room].rsplit(" ", 1)[0]
                if cut:
                    paragraphs.append(cut)
                used = max_chars
                break
            paragraphs.append(paragraph)
            used += len(paragraph)
        if paragraphs or used < max_chars:
            kept.append(section.model_copy(update={"paragraphs": paragraphs}))
        if used >= max_chars:
            truncated = _has_more(sections, section, paragraphs)
            return kept, truncated
    return kept, False


def _has_more(sections: list[Section], last: Section, kept: list[str]) -> bool:
    index = next(i for i, s in enumerate(sections) if s is last)
    if kept != last.paragraphs:
        return True
    return any(s.paragraphs for s in sections[index + 1 :])
