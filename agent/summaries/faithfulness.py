"""Checks that a summary says only what its abstract says, and obeyed no planted instruction.

Each check returns problems phrased so they can be sent back to the model verbatim ("the
summary mentions 93.4, which is not in the abstract"). They are deliberately conservative
string checks: cheap, deterministic, and strict about the things readers act on (numbers,
names, the direction of a result); the LLM is asked to fix what they find, and a summary that
still fails is flagged. Conservative means the forms a faithful summary takes pass: numbers
as words ("nine" for 9), rounding, abbreviations of terms the abstract spells out ("CNN" for
"convolutional neural network"), a number word joined to a name ("nine-UNet"). How precise
the flags are is measured by ``bench/eval_faithfulness.py`` on a labelled set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.models import SummaryDraft
from agent.summaries.claims import check_directions
from agent.summaries.injection import check_instruction_leaks, injected_spans

__all__ = [
    "MAX_TLDR_WORDS", "check_facts", "check_instruction_leaks", "check_names", "check_numbers",
    "check_shape", "check_summary", "draft_texts", "injected_spans", "ungrounded_facts",
]  # fmt: skip

MAX_TLDR_WORDS = 30

_NUMBER = re.compile(r"(?<![\w.])\d(?:[\d,]*\d)?(?:\.\d+)?")
_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}  # fmt: skip
_WORD_NUMBERS = {w: float(i) for i, w in enumerate(_UNITS)} | {
    w: float(v) for w, v in _TENS.items()
}
_WORD_NUMBERS["hundred"] = 100.0
_TENS_RE = "|".join(_TENS)
_COMPOUND_NUMBER = re.compile(rf"\b({_TENS_RE})-({'|'.join(_UNITS[1:10])})\b", re.IGNORECASE)
# Number words a summary states as counts. "one" and "two" are left out (too often not counts:
# "one of the", "the two methods"), and so is a word joined to a lowercase one ("four-legged",
# "two-step"), which describes rather than counts; "nine-UNet" still counts.
_SPOKEN_COUNT = re.compile(
    rf"\b(?i:(?:{_TENS_RE})(?:-(?:{'|'.join(_UNITS[1:10])}))?|{'|'.join(_UNITS[3:])})\b"
    r"(?!-[a-z])"
)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.+/][A-Za-z0-9]+)*")
# Acronyms a plain-language summary may use without the abstract spelling them.
_GENERIC = {
    "AI", "ML", "NLP", "LLM", "LLMS", "GPU", "GPUS", "CPU", "API", "APIS", "2D", "3D", "4D",
    "USA", "US", "UK", "EU", "OK", "PDF", "URL", "PHD", "TLDR", "IT", "TV",
}  # fmt: skip
# Small words an acronym may skip ("SNR" = signal-to-noise ratio, "BERT" ... from ...).
_GLUE = {"of", "and", "for", "the", "from", "with", "in", "on", "to", "a", "an", "via", "by"}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# Typographic forms a model rewrites in ASCII: 256×256 -> 256x256, −7.9 -> -7.9.
_ASCII = str.maketrans({"×": "x", "\u2212": "-", "\u2013": "-", "\u2010": "-", "\u00a0": " "})


def draft_texts(draft: SummaryDraft) -> list[tuple[str, str]]:
    """(field, text) pairs of every prose field a reader sees."""
    out = [
        ("tldr", draft.tldr),
        ("summary", draft.summary),
        ("why_it_matters", draft.why_it_matters),
    ]
    out += [("key_terms", f"{k.term}: {k.meaning}") for k in draft.key_terms]
    out += [("tags", t) for t in draft.tags]
    return out


def check_summary(draft: SummaryDraft, *, title: str, abstract: str) -> list[str]:
    """All problems found; an empty list means the summary passed."""
    return check_shape(draft) + check_facts(draft_texts(draft), f"{title}\n{abstract}")


def check_facts(texts: Iterable[tuple[str, str]], source: str) -> list[str]:
    """What the texts state that ``source`` does not support, or obeyed instructions in it."""
    texts = [(field, text.translate(_ASCII)) for field, text in texts]
    source = source.translate(_ASCII)
    return (
        check_numbers(texts, source)
        + check_names(texts, source)
        + check_directions(texts, source)
        + check_instruction_leaks(texts, source)
    )


# --- shape ----------------------------------------------------------------------------------
def check_shape(draft: SummaryDraft) -> list[str]:
    problems = []
    for name in ("tldr", "summary", "why_it_matters"):
        if not getattr(draft, name).strip():
            problems.append(f"the {name} field is empty")
    words = len(draft.tldr.split())
    if words > MAX_TLDR_WORDS:
        problems.append(f"the tldr has {words} words; use at most {MAX_TLDR_WORDS}")
    n = len(sentences(draft.summary))
    if draft.summary.strip() and not 2 <= n <= 4:
        problems.append(f"the summary has {n} sentences; write 2 to 4")
    return problems


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text.strip()) if s.strip()]


# --- numbers --------------------------------------------------------------------------------
def numbers_in(text: str) -> list[str]:
    return _NUMBER.findall(text)


def _source_numbers(source: str) -> set[float]:
    found = {float(n.replace(",", "")) for n in numbers_in(source)}
    words = re.findall(r"[a-z]+", source.lower())
    found.update(_WORD_NUMBERS[w] for w in words if w in _WORD_NUMBERS)
    found.update(_spoken_value(m.group(0)) for m in _COMPOUND_NUMBER.finditer(source))
    return found


def _spoken_value(words: str) -> float:
    return sum(_WORD_NUMBERS[w] for w in words.lower().split("-"))


def _matches(token: str, known: set[float]) -> bool:
    value = float(token.replace(",", ""))
    decimals = len(token.split(".")[1]) if "." in token else 0
    # Exact, or a faithful rounding of an abstract number (12.47 -> 12.5).
    return any(value == k or round(k, decimals) == value for k in known)


def unsupported_numbers(text: str, source: str, *, spoken: bool = True) -> list[str]:
    """Numbers of ``text`` that ``source`` does not give (exactly or rounded), in order.

    ``spoken`` also checks counts written as words ("twelve models").
    """
    known = _source_numbers(source)
    # Digits inside names (GPT-4, ResNet-50) are the names check's business.
    # A count hyphenated to a name stays ("seven-UNet" states seven).
    text = _TOKEN.sub(
        lambda m: _plain_parts(m.group(0)) if _name_like(m.group(0)) else m.group(0), text
    )
    bad = [t for t in numbers_in(text) if not _matches(t, known)]
    if spoken:
        counts = (m.group(0) for m in _SPOKEN_COUNT.finditer(text))
        bad += [w for w in counts if _spoken_value(w) not in known]
    return list(dict.fromkeys(bad))


def check_numbers(texts: Iterable[tuple[str, str]], source: str) -> list[str]:
    bad: dict[str, str] = {}
    for field, text in texts:
        for token in unsupported_numbers(text, source):
            bad.setdefault(token, field)
    return [
        f"the {field} mentions {tok}, which is not in the abstract" for tok, field in bad.items()
    ]


# --- names ----------------------------------------------------------------------------------
def _name_like(token: str) -> bool:
    if token.upper() in _GENERIC or len(token) < 2:
        return False
    has_digit = any(c.isdigit() for c in token)
    inner_upper = any(c.isupper() for c in token[1:])
    return inner_upper or (has_digit and any(c.isalpha() for c in token))


def _squash(text: str) -> str:
    return re.sub(r"[\s\-_./+]", "", text.lower())


def names_in(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text) if _name_like(t)]


def _spelled_out(acronym: str, phrases: list[list[str]]) -> bool:
    """Whether a phrase of the source spells ``acronym`` out: GNN, ViT, RMSE, SNR, LoRA.

    Each capital starts a word of the phrase; a lowercase letter may continue that word ("Vi"
    of vision) or come from a small word ("o" of "of" in MoE); other small words are skipped.
    """
    letters = acronym[:-1] if acronym.endswith("s") and acronym[:-1].isupper() else acronym
    if not (letters.isalpha() and 2 <= len(letters) <= 8) or sum(c.isupper() for c in letters) < 2:
        return False
    a = letters.lower()

    def spell(words: list[str], j: int, k: int) -> bool:
        if k == len(a):
            return True
        if j >= len(words):
            return False
        w = words[j]
        if w in _GLUE and (spell(words, j + 1, k) if k else False):
            return True
        if w in _GLUE and letters[k].isupper():
            return False
        run = 1
        while run < len(w) and k + run < len(a) and letters[k + run].islower():
            run += 1
        return any(w[:n] == a[k : k + n] and spell(words, j + 1, k + n) for n in range(run, 0, -1))

    return any(
        w[0] == a[0] and spell(words, i, 0) for words in phrases for i, w in enumerate(words)
    )


def _plain_parts(name: str) -> str:
    return " ".join(p for p in name.split("-") if p.isalpha() and p.islower()) or " "


def _core(name: str) -> str:
    """A name without the plain words hyphenated to it: nine-UNet -> UNet, CBF-based -> CBF."""
    parts = name.split("-")
    return "-".join(p for p in parts if not (p.isalpha() and p.islower()))


def _initials_in(name: str, source_words: set[str]) -> bool:
    """Whether ``name`` spells out an acronym of the source: Mixture-of-Experts for MoE."""
    parts = [p for p in re.split(r"[-\s]", name) if p.isalpha()]
    if len(parts) < 2:
        return False
    full = "".join(p[0] for p in parts).lower()
    bare = "".join(p[0] for p in parts if p.lower() not in _GLUE).lower()
    return full in source_words or bare in source_words


def _grounded(name: str, haystack: str, phrases: list[list[str]]) -> bool:
    key = _squash(name)
    candidates = {key, key.removesuffix("s"), key.removesuffix("es")}
    return any(c and c in haystack for c in candidates) or _spelled_out(name, phrases)


def unsupported_names(text: str, source: str) -> list[str]:
    """Model, dataset and method names of ``text`` that ``source`` never mentions, in order."""
    haystack = _squash(source)
    phrases = [re.findall(r"[a-z]+", p) for p in re.split(r"[,.;:()\[\]\n]", source.lower())]
    word_set = {w for p in phrases for w in p} | {w.removesuffix("s") for p in phrases for w in p}
    out = []
    for name in names_in(text):
        if _grounded(name, haystack, phrases) or _initials_in(name, word_set):
            continue
        core = _core(name)
        if core != name and (not _name_like(core) or _grounded(core, haystack, phrases)):
            continue  # "nine-UNet", "CBF-based": the name is there (the number is checked)
        out.append(name)
    return list(dict.fromkeys(out))


def ungrounded_facts(text: str, source: str) -> list[str]:
    """Numbers and names ``text`` states that ``source`` does not; ``[n]`` citations aside."""
    text = re.sub(r"\[\s*\d[\d,;\s\u2013-]*\]", " ", text)
    # Answers count papers in words ("three papers study this"): only digits are checked here.
    return unsupported_numbers(text, source, spoken=False) + unsupported_names(text, source)


def check_names(texts: Iterable[tuple[str, str]], source: str) -> list[str]:
    bad: dict[str, str] = {}
    for field, text in texts:
        for name in unsupported_names(text, source):
            bad.setdefault(name, field)
    return [
        f"the {field} names {name}, which the abstract does not mention"
        for name, field in bad.items()
    ]
