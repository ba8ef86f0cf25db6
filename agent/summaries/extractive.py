"""The no-model engine: a deterministic, offline summary built from the abstract's own sentences.

Used when no LLM endpoint is configured. It picks the sentences that state the problem, the
contribution and the finding, cleans LaTeX and citations, takes tags from keywords and key
terms from acronyms the abstract defines. Every summary it makes carries a notice saying that
no LLM was used and how to configure one. A summary the source already provides (Hugging
Face ``ai_summary``) is used instead when present, labelled as such.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

from agent.models import KeyTerm, Paper, Summary, Usage
from agent.summaries.faithfulness import MAX_TLDR_WORDS, injected_spans

ENGINE = "extractive"
ENGINE_VERSION = "ext-1"
NO_LLM_NOTICE = (
    "No LLM was used: this summary is extracted from the abstract. For plain-language "
    "summaries set OPENAI_API_KEY (and optionally PAPERBRIEF_LLM_MODEL), or point "
    "PAPERBRIEF_LLM_BASE_URL at a local OpenAI-compatible server (Ollama, vLLM, llama.cpp)."
)
SOURCE_NOTICE = (
    "Summary provided by {source} (ai_summary), not written by paperbrief; no LLM was called. "
    "Set OPENAI_API_KEY or PAPERBRIEF_LLM_BASE_URL for paperbrief's own summaries."
)

_LATEX_CMD_ARG = re.compile(
    r"\\(?:textbf|textit|emph|mathrm|mathbf|text|texttt|mathcal)\{([^{}]*)\}"
)
_LATEX_DROP = re.compile(r"\\(?:cite[pt]?|ref|eqref|label|footnote|url)\{[^{}]*\}")
_LATEX_MATH = re.compile(r"\$([^$]{1,80})\$")
_LATEX_CMD = re.compile(r"\\([A-Za-z]+|%)")
_LATEX_SYMBOLS = {
    "times": "×", "sim": "~", "approx": "≈", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥",
    "pm": "±", "%": "%", "cdot": "·", "to": "→", "rightarrow": "→", "infty": "∞",
}  # fmt: skip
_LEAD_IN = re.compile(r"^(in this (paper|work|study)|here),?\s+", re.I)
_SMALL_WORDS = {"of", "the", "for", "and", "in", "to", "a", "an", "on", "with", "via"}
_CITATION = re.compile(
    r"\s*\[(?:\d+(?:[,\-–]\s*\d+)*)\]|\s*\((?:[A-Z][A-Za-z-]+ et al\.?,? \d{4}[a-z]?;?\s*)+\)"
)
_ABBREV = re.compile(r"\b(e\.g|i\.e|et al|etc|vs|cf|Fig|Eq|Sec|approx|resp)\.", re.IGNORECASE)
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_ACRONYM_DEF = re.compile(
    r"((?:[A-Za-z][\w-]*\s+){1,7})\(([A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*s?)\)"
)
_CUES = {
    "method": re.compile(
        r"\b(we (propose|present|introduce|develop|design|study|build|describe)|"
        r"this (paper|work))\b",
        re.I,
    ),
    "finding": re.compile(
        r"\b(we (show|find|demonstrate|observe)|results? show|outperform|match|achiev|improv|"
        r"reduc|surpass|state-of-the-art|faster|fewer|less|than)",
        re.I,
    ),
    "impact": re.compile(
        r"\b(enabl|allow|implication|important|open[- ]source|release|practical|crucial|pav|"
        r"results? (suggest|indicate)|findings)",
        re.I,
    ),
}
_STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        """a about above after again all also an and any are as at be been being both but by can
    could did do does each few for from further had has have having how however i if in into is
    it its itself just more most new no nor not novel of on only or other our out over own paper
    propose proposed same show shows so some such than that the their them then there these they
    this those through to too under up using use used very via was we were what when where which
    while who whom why will with within without would approach method methods model models
    results task tasks work based demonstrate existing across different including large
    performance state art framework data first two three one often many""",
    )
)


def clean_text(text: str) -> str:
    """Strip LaTeX markup and citation markers, keeping the words they wrap."""
    text = _LATEX_DROP.sub("", text)
    text = _LATEX_CMD_ARG.sub(r"\1", text)
    text = text.replace("~", " ")
    text = _LATEX_MATH.sub(lambda m: m.group(1), text)
    text = _LATEX_CMD.sub(lambda m: _LATEX_SYMBOLS.get(m.group(1), m.group(1)), text)
    text = re.sub(r"[{}^_$]", "", text)
    text = _CITATION.sub("", text)
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s+([.,;:])", r"\1", text).strip()


def split_sentences(text: str) -> list[str]:
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", "\u2024"), text)
    protected = re.sub(r"(\d)\.(\d)", "\\1\u2024\\2", protected)
    parts = _SPLIT.split(protected)
    return [p.replace("\u2024", ".").strip() for p in parts if p.strip()]


def _shorten(sentence: str, limit: int = MAX_TLDR_WORDS) -> str:
    """Trim a sentence to ``limit`` words at a clause boundary when it is too long."""
    words = sentence.split()
    if len(words) <= limit:
        return sentence
    head = " ".join(words[:limit])
    cut = max(head.rfind(", "), head.rfind("; "), head.rfind(" — "))
    if cut > len(head) // 2:
        head = head[:cut]
    return head.rstrip(",;:") + "…"


def _pick(sentences: list[str]) -> dict[str, int]:
    """Index of the sentence best suited to each role."""
    chosen: dict[str, int] = {"problem": 0}
    method = [i for i, s in enumerate(sentences) if i and _CUES["method"].search(s)]
    if method or len(sentences) > 1:
        chosen["method"] = method[0] if method else 1
    after = chosen.get("method", 0)

    def finding_score(i: int) -> int:
        s = sentences[i]
        return 2 * bool(_CUES["finding"].search(s)) + 2 * bool(re.search(r"\d", s))

    findings = [i for i in range(after + 1, len(sentences)) if finding_score(i) > 0]
    if findings:
        chosen["finding"] = max(findings, key=lambda i: (finding_score(i), -i))
    impact = [
        i for i, s in enumerate(sentences) if i > after and i not in chosen.values()
        and _CUES["impact"].search(s)
    ]  # fmt: skip
    if impact:
        chosen["impact"] = impact[-1]
    return chosen


def key_terms(text: str, limit: int = 3) -> list[KeyTerm]:
    """Acronyms the abstract defines, e.g. ``large language models (LLMs)``."""
    terms: list[KeyTerm] = []
    for words, acro in _ACRONYM_DEF.findall(text):
        letters = [c for c in acro if c.isupper()]
        expansion: list[str] = []
        # Walk back from the parenthesis matching initials, letting small words ride along.
        for word in reversed(words.split()):
            if not letters:
                break
            if word[0].upper() == letters[-1]:
                letters.pop()
            elif word.lower() not in _SMALL_WORDS:
                break
            expansion.insert(0, word)
        if letters or len(expansion) < 2:
            continue
        if acro not in {t.term for t in terms}:
            terms.append(KeyTerm(term=acro, meaning=" ".join(expansion)))
        if len(terms) == limit:
            break
    return terms


def keywords(title: str, abstract: str, limit: int = 5) -> list[str]:
    """Topic words: frequent content words and bigrams, with title words counting double."""

    def grams(text: str) -> list[str]:
        toks = re.findall(r"[a-z][a-z0-9-]*", text.lower())
        out = [t for t in toks if t not in _STOPWORDS and len(t) > 2]
        out += [
            f"{a} {b}"
            for a, b in itertools.pairwise(toks)
            if a not in _STOPWORDS and b not in _STOPWORDS and min(len(a), len(b)) > 2
        ]
        return out

    counts = Counter(grams(abstract))
    for g in grams(title):
        counts[g] += 2
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1] * (1.5 if " " in kv[0] else 1), kv[0]))
    tags: list[str] = []
    for gram, n in ranked:
        if n < 2 and tags:
            break
        if any(gram in t or t in gram for t in tags):
            continue
        tags.append(gram)
        if len(tags) == limit:
            break
    return tags


def summarize_extractive(paper: Paper) -> Summary:
    """A summary from the paper's own text (or its source's ai_summary); no model involved."""
    ai_summary = str(paper.extra.get("ai_summary") or "").strip()
    abstract = clean_text(paper.abstract)
    planted = set(injected_spans(abstract))  # never repeat an instruction aimed at a model
    sentences = [x for x in split_sentences(abstract) if x not in planted]
    sentences = sentences or [paper.title]
    roles = _pick(sentences)
    # The impact sentence becomes why_it_matters, so the body does not repeat it.
    ordered = sorted({i for role, i in roles.items() if role != "impact"})
    body = [sentences[i] for i in ordered[:4]]
    if len(body) < 2 and len(sentences) > 1:
        body = sentences[:2]
    tldr_src = sentences[roles.get("method", 0)]
    lead = _LEAD_IN.sub("", tldr_src)
    tldr = _shorten(lead[:1].upper() + lead[1:])
    why = sentences[roles["impact"]] if "impact" in roles else ""
    keyw = paper.extra.get("ai_keywords")
    tags = [str(k).lower() for k in keyw][:5] if isinstance(keyw, list) and keyw else []
    method = "extractive"
    notice = NO_LLM_NOTICE
    if ai_summary:
        tldr = _shorten(split_sentences(ai_summary)[0])
        method = "source"
        notice = SOURCE_NOTICE.format(source=paper.source or "the source")
    return Summary(
        paper_id=paper.id,
        version=paper.version,
        content_hash=paper.content_hash,
        tldr=tldr,
        summary=ai_summary or " ".join(body),
        why_it_matters=_shorten(why, 40) if why else "",
        key_terms=key_terms(abstract),
        tags=tags or keywords(clean_text(paper.title), abstract),
        model=ENGINE,
        prompt_version=ENGINE_VERSION,
        method=method,
        notice=notice,
        usage=Usage(),
    )
