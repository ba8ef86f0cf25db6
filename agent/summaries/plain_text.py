"""Plain text from abstracts: LaTeX rendered as text, asides trimmed, sentences split and fitted.

Abstracts arrive with LaTeX (``Schr\\"odinger``, ``$\\ell_1$``, ``50\\%``) but also with plain
``%``, ``_`` and ``$`` that are not LaTeX, so only spans that look like LaTeX are converted
(inline math, backslash commands, ``{\\"o}`` accents, ``^{...}``), each by pylatexenc; the rest
of the text is left exactly as it was. ``latex_to_text`` is the one LaTeX renderer: digest titles
and summaries use it, and so does the BibTeX reader (which then drops BibTeX's own braces).

The summary helpers make a sentence readable on its own: ``trim_asides`` drops citations,
parentheticals and URLs; ``self_contained`` rewrites or rejects a sentence that opens by pointing
back ("These artefacts ..."); ``clause_heads`` cuts at a clause boundary, never mid-clause.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

# --- LaTeX -------------------------------------------------------------------------------------
_DOLLAR = "\x00D"  # an escaped \$ while math spans are found
_SUB_MARK, _SUP_MARK = "\x01", "\x02"  # a sub/superscript that stays spelled out
_DROP_MACROS = re.compile(
    r"~?\\(?:cite[a-zA-Z]*|ref|eqref|autoref|[cC]ref|label|footnote)\*?(?:\[[^\]]*\])*\{[^{}]*\}"
)
_FONT = re.compile(
    r"\\(?:text(?:bf|it|sc|tt|rm|sf|normal|up)?|emph|math(?:rm|bf|it|sf|tt|cal|frak)|bm|"
    r"boldsymbol|mbox|operatorname|underline)\s*\{((?:[^{}]|\{[^{}]*\})*)\}"
)
_OLD_FONT = re.compile(r"\{\\(?:em|bf|it|sl|sc|tt|rm|sf|bfseries|itshape|scshape)\s+([^{}]*)\}")
_URL_MACRO = re.compile(r"\\url\{([^{}]*)\}|\\href\{[^{}]*\}\{([^{}]*)\}")
_MATH = re.compile(
    r"\$\$(.+?)\$\$|\\\((.+?)\\\)|\$([^\s$](?:[^$\n]{0,200}?[^\s$\\])?)\$(?!\d)", re.S
)
_SCRIPT = re.compile(r"([_^])(\{([^{}]*)\}|\\[A-Za-z]+|[^\s{}\\])")
_TEXT_SCRIPT = re.compile(r"(?<=[\w)])([_^])\{([^{}]{1,30})\}")
_COMMAND = re.compile(
    r"\{\\[^{}\s]{1,3}(?:\s?[A-Za-z])?\}"  # {\"o}, {\ss}, {\v s}
    r"|\\[\"'`^~=.](?:\{[A-Za-z]?\}|[A-Za-z])"  # \"o, \'{e}
    r"|\\[A-Za-z]+\*?(?:\[[^\]]*\])?(?:\{(?:[^{}]|\{[^{}]*\})*\})*"  # \v{s}, \alpha, \foo{x}
    r"|\\[%&_#{}]"
)
_SUP = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzT⊤",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵀᵀ",
        strict=True,
    )
)
_SUB = dict(
    zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True)
)


@cache
def _converter() -> tuple[Any, Any]:
    # Imported here: `paperbrief --help` must not pay for it.
    from pylatexenc.latex2text import LatexNodes2Text, get_default_latex_context_db

    return LatexNodes2Text(math_mode="text"), get_default_latex_context_db()


# pylatexenc is a pure-Python parser (~5 ms per abstract; a 5,000-entry .bib took ~45 s through
# it whole): only LaTeX spans reach it, and each distinct span once (accents repeat).
@lru_cache(maxsize=4096)
def _pylatex(span: str) -> str:
    conv, db = _converter()
    name = re.match(r"\\([A-Za-z]+)", span)
    if name and db.get_macro_spec(name.group(1)) is None:
        # An unknown macro: pylatexenc would drop its name; keep it (``\LaTeX`` -> LaTeX).
        rest = span[name.end() :]
        return f"{name.group(1)} {_pylatex(rest)}".strip() if rest else name.group(1)
    try:
        out = str(conv.latex_to_text(span))
    except Exception:  # pylatexenc raises on some malformed spans: each macro on its own
        out = "%s"
    if "%s" not in out:  # a macro whose arguments are missing comes back as "%s"
        return out
    parts = re.split(r"(\\[A-Za-z]+)", span)
    if len(parts) <= 3:
        return re.sub(r"[\\{}$]|%s", "", out if len(parts) == 3 else span)
    text = "".join(_pylatex(p) if p.startswith("\\") else p for p in parts)
    return re.sub(r"[{}$]|%s", "", text)


def _script(kind: str, body: str) -> str:
    table = _SUP if kind == "^" else _SUB
    if kind == "_" and body.isdigit():
        return body  # \ell_1 -> ℓ1, as people write it
    if body and all(c in table for c in body):
        return "".join(table[c] for c in body)
    if len(body) == 1:
        return body
    return (_SUP_MARK if kind == "^" else _SUB_MARK) + f"({body})"


def _script_match(m: re.Match[str]) -> str:
    inner = m.group(3) if m.group(3) is not None else m.group(2)
    return _script(m.group(1), _pylatex(f"${inner}$").strip())


def _math(body: str) -> str:
    body = _FONT.sub(r"\1", body)
    for _ in range(6):  # innermost scripts first: x^{a_{1}} -> x^{a1} -> xᵃ¹
        new = _SCRIPT.sub(_script_match, body)
        if new == body:
            break
        body = new
    # Converted as math: outside math mode "\\log n" would lose its space, as TeX does.
    return _pylatex(f"${body}$").strip()


def latex_to_text(text: str) -> str:
    """Render the LaTeX spans of ``text`` as Unicode text; everything else is left alone."""
    if not re.search(r"[\\$~{`]|--", text):
        return text
    text = text.replace("\\$", _DOLLAR)
    text = _DROP_MACROS.sub("", text)
    text = _OLD_FONT.sub(r"\1", text)  # {\em word}, {\bf word}: TeX's old font switches
    text = _URL_MACRO.sub(lambda m: m.group(1) or m.group(2) or "", text)

    def math(m: re.Match[str]) -> str:
        body = next(g for g in m.groups() if g is not None)
        return _math(body.replace(_DOLLAR, "\\$"))

    text = _MATH.sub(math, text)
    # Each pass below only where its character occurs: lookbehind patterns try every position,
    # and a 5,000-entry .bib runs ~16,000 fields through here.
    if "{" in text:
        text = _TEXT_SCRIPT.sub(lambda m: _script(m.group(1), m.group(2)), text)
    if "\\" in text:
        for _ in range(3):  # \textbf{\emph{x}} unwraps from the outside in
            text = _FONT.sub(r"\1", text)
        text = _COMMAND.sub(lambda m: _pylatex(m.group(0)), text)
    if "{" in text:
        text = re.sub(r"\{([^{}\s]*[A-Za-z][^{}\s]*)\}", r"\1", text)  # {BERT} -> BERT
        text = re.sub(r"\{([^{}\sA-Za-z]{1,3})\}", r"\1", text)  # N{+}D -> N+D
    text = text.replace("\\ ", " ")  # i.i.d.\ samples: TeX's explicit space
    if "~" in text:
        text = re.sub(r"(?<=[\w.,;:)])~(?=[\w\\(])", " ", text)  # e.g.~a: a LaTeX space
    if "--" in text:
        text = re.sub(r"(?<=\d)--(?=\d)", "–", text)
        text = re.sub(r" -{2,3} ", " — ", text)
        text = re.sub(r"(?<=\w)---(?=\w)", "—", text)  # time---we: TeX's em dash, unspaced
    if "``" in text:
        text = re.sub(r"``(.+?)''", r"“\1”", text)
    text = text.replace(_DOLLAR, "$").replace(_SUB_MARK, "_").replace(_SUP_MARK, "^")
    return re.sub(r"[ \t\u00a0]+", " ", text).strip()


# --- citations, asides, sentences ---------------------------------------------------------------
_NUM_CITE = re.compile(r"\s*\[\d+(?:\s*[,\-–]\s*\d+)*\]")
_AUTHOR = r"[A-Z][\w'’-]+(?:\s+(?:and|&)\s+[A-Z][\w'’-]+|\s+et\s+al\.?)?"
_YEAR_CITE = re.compile(rf"\s*[\(\[](?:(?:see\s+)?{_AUTHOR},?\s+\d{{4}}[a-z]?(?:[;,]\s*)?)+[\)\]]")
_NAME_YEAR = re.compile(r"(?<=[a-z])\s*\(\d{4}[a-z]?\)")  # Rao (1948) -> Rao
_URL = re.compile(r"\s*\(?(?:https?://|www\.)\S+?(?=[)\s]|[.,;]?(?:\s|$))\)?")
_PAREN = re.compile(r"(?<=\s)\(([^()]*)\)")
_ACRONYM = re.compile(r"[A-Z][\w./&-]{0,14}s?")  # (LLMs), (MoE), (3DGS)
_AVAILABLE = re.compile(
    r"\b(code|data|datasets?|models?|weights|checkpoints|benchmarks?|implementations?|"
    r"project page|demo|source)\b[^.]{0,80}\b(is|are|will be|can be|has been|have been)\s+"
    r"(?:\w+\s+){0,2}(available|released|open[- ]?sourced?|accessible|found)\b",
    re.I,
)
_LINK = re.compile(r"https?://|www\.|github|\b[\w-]+\.(?:ai|io|com|org|net)\b", re.I)
_ENUMERATOR = re.compile(r"(?<=\s)\d\)\s+|^\d\)\s+")
_ABBREV = re.compile(
    r"\b(e\.g|i\.e|et al|etc|vs|cf|Fig|Figs|Eq|Eqs|Sec|Tab|approx|resp|Dr|Prof|No|Vol|St)\.", re.I
)
_SPLIT = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[A-Z0-9(\"'“‘$\\])")


#: What is left of math when a source strips ``$`` and backslashes (Hugging Face does):
#: "Dtoinfty" was $D\to\infty$, "infty-step" $\infty$-step, "\20 USD" \$20 USD.
_STRIPPED_MATH = (
    (re.compile(r"(?<=[A-Za-z0-9])\s?to\s?infty\b"), "→∞"),
    (re.compile(r"\binfty\b"), "∞"),
    (re.compile(r"\\(?=\d)"), "$"),
)


def clean_text(text: str) -> str:
    """LaTeX as text and citation markers gone, every word kept (for prompts, search, QA)."""
    text = latex_to_text(text)
    if "infty" in text or "\\" in text:
        for pattern, repl in _STRIPPED_MATH:
            text = pattern.sub(repl, text)
    text = _NUM_CITE.sub("", text)
    text = _YEAR_CITE.sub("", text)
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s+([.,;:])", r"\1", text).strip()


def split_sentences(text: str) -> list[str]:
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", "\u2024"), text)
    protected = re.sub(r"(\d)\.(\d)", "\\1\u2024\\2", protected)
    parts = _SPLIT.split(protected)
    return [p.replace("\u2024", ".").strip() for p in parts if p.strip()]


def is_availability(sentence: str) -> bool:
    """ "Code is available at ..." and its kin: true, but nothing a reader needs in a digest."""
    return bool(_AVAILABLE.search(sentence) or _LINK.search(sentence))


def trim_asides(sentence: str) -> str:
    """Drop citations, URLs and parentheticals, keeping acronym definitions like ``(LLMs)``."""
    text = _NUM_CITE.sub("", sentence)
    text = _YEAR_CITE.sub("", text)
    text = _NAME_YEAR.sub("", text)
    text = _URL.sub("", text)
    for _ in range(3):  # nested parentheses go innermost first

        def aside(m: re.Match[str]) -> str:
            return m.group(0) if _ACRONYM.fullmatch(m.group(1)) else ""

        new = _PAREN.sub(aside, text)
        if new == text:
            break
        text = new
    text = _ENUMERATOR.sub("", text)  # "1) speed" once "(see Sec. 3)" is gone
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return re.sub(r"([,;:])(?=[.!?]$)|,(?=[,;])", "", text).strip()


# --- self-contained sentences ---------------------------------------------------------------
#: Words that open a sentence by pointing back at something the reader has not seen.
BACK_REFERENCE = re.compile(
    r"^(?:these|this|those|that|such|they|them|their|theirs|it|its|he|she|his|her|here|"
    r"there(?:fore|by)?|thus|hence|moreover|furthermore|further|additionally|also|besides|"
    r"however|nevertheless|nonetheless|still|yet|instead|conversely|consequently|accordingly|"
    r"similarly|likewise|meanwhile|otherwise|then|finally|lastly|next|second|third|both|"
    r"we (?:also|further|additionally|then|next|finally)|"
    r"our (?!paper\b|work\b|study\b|results?\b|findings?\b|experiments?\b|analys[ie]s\b|"
    r"code\b|data\b|evaluations?\b|contributions?\b|goal\b|aim\b)\w+|"
    r"another|the (?:former|latter|above|same|aforementioned|resulting|proposed)|"
    r"in (?:addition|particular|contrast|turn|doing so|this way|short|summary)|as a result|"
    r"on the other hand|to (?:this|that|these) end|in such|by doing so|to do so|as such|"
    r"to (?:address|tackle|overcome|solve|bridge|fill|close|mitigate|remedy|fix|handle|"
    r"alleviate|resolve) (?:this|these|that|those|such|them|it)|"
    r"(?:building|based|drawing|relying) on (?:this|these|that|those|such|it|them))\b",
    re.I,
)
_INTRO_WORD = (
    r"moreover|furthermore|further|additionally|in addition|however|specifically|as such|"
    r"to (?:this|that) end|finally|lastly|notably|importantly|in particular|overall|therefore|"
    r"thus|hence|as a result|consequently|surprisingly|interestingly|crucially|first|second|"
    r"third|next|then|also|here|in this (?:paper|work|study|article|letter)"
)
_CONNECTIVE = re.compile(
    rf"^(?:(?:{_INTRO_WORD}),\s+"
    r"|(?:here|in this (?:paper|work|study|article|letter))\s+(?=we\b)"
    r"|(?:to (?:address|tackle|overcome|solve|bridge|fill|close|mitigate|remedy|fix|handle|"
    r"alleviate|resolve)|building on|based on|drawing on|motivated by|inspired by) "
    r"(?:this|these|that|those|such)\b[^,]{0,40},\s+(?=we\b))",
    re.I,
)
#: "This paper proposes X" refers to the paper being summarised: say "The paper".
_PAPER_NOUNS = re.compile(
    r"^(?:this|these) (paper|work|study|article|letter|thesis|report|survey|results?|"
    r"findings?|experiments?|analys[ie]s|evaluations?)\b",
    re.I,
)
_DANGLING = {
    "a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "by", "as", "at",
    "from", "that", "which", "than", "into", "via", "is", "are", "was", "were", "be", "its",
    "their", "our", "this", "these", "such", "while", "whereas", "when", "where", "but",
}  # fmt: skip


def self_contained(sentence: str) -> str | None:
    """The sentence made readable on its own, or None when it points back at what came before.

    Framing and connectives are dropped ("In this work, we ..." -> "We ..."; "Moreover, our
    ..." -> "Our ..."), "This paper ..." becomes "The paper ...", and anything still opening with
    a back-reference ("These artefacts ...", "It ...") is rejected rather than guessed at.
    """
    text = sentence.strip()
    for _ in range(2):  # "However, in this work, we ..."
        text = _CONNECTIVE.sub("", text)
    text = _PAPER_NOUNS.sub(lambda m: "The " + m.group(1).lower(), text)
    text = text[:1].upper() + text[1:]
    if not text or BACK_REFERENCE.match(text):
        return None
    return text


def ends_cleanly(text: str) -> bool:
    """Ends with a full stop (or ! ?) after a word that can end a clause."""
    text = text.strip()
    if not re.search(r"[.!?][\"'”’)]?$", text) or text.endswith(("…", "...")):
        return False
    last = re.findall(r"[\w'-]+", text)
    return bool(last) and last[-1].lower() not in _DANGLING


_CLAUSE_CUT = re.compile(
    r"\s*(?:;|:|\s[—–]|,\s*(?=(?:which|where|while|whereas|although|though|but|yet|so that|"
    r"thereby|thus|[a-z]{3,}ing|leading to|resulting in|provided|as|since|because|"
    r"and (?:we|it|this|the|our|they|these))\b))\s*"
)


# "We propose X, a probe that measures ..." -> "We propose X, a probe.": the relative clause
# only restricts the appositive, so the head is still a whole, true sentence.
_APPOSITIVE = re.compile(
    r"^(?:We|The (?:paper|work|study)) [a-z]+ [^,;]{1,60}, (?:an?|the) [^,;()]{1,80}?"
    r"(?=\s(?:that|which|in which|whereby|where|whose)\b)"
)


def clause_heads(sentence: str, min_words: int = 5) -> list[str]:
    """Shorter versions of ``sentence`` that end at a clause boundary, longest first."""
    heads = []
    cuts = [m.start() for m in _CLAUSE_CUT.finditer(sentence)]
    if m := _APPOSITIVE.match(sentence):
        cuts.append(m.end())
    for cut in sorted(set(cuts)):
        head = sentence[:cut].rstrip(" ,;:") + "."
        balanced = head.count("(") == head.count(")")
        if len(head.split()) >= min_words and balanced and ends_cleanly(head):
            heads.append(head)
    return heads[::-1]
