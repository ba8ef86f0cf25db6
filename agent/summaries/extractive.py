"""The no-model engine: a deterministic, offline summary built from the abstract's own sentences.

Used when no LLM endpoint is configured. It picks the sentences that state the problem, the
contribution and the finding, renders LaTeX as text, trims citations and asides, takes tags from
keywords and key terms from acronyms the abstract defines. The TL;DR says what the paper does and
what it found (its contribution, then its best result with the numbers) and why_it_matters the
implication or another result (tldr.py): every part reads alone, none opens by pointing back
("These ...") and none is cut mid-clause (plain_text.py). Every summary
it makes carries a notice saying that no LLM was used and how to configure one. A summary the
source already provides (Hugging Face ``ai_summary``) is used instead when present, labelled as
such.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

from agent.models import KeyTerm, Paper, Summary, SummaryMethod, Usage
from agent.summaries.faithfulness import injected_spans
from agent.summaries.plain_text import (
    clause_heads,
    clean_text,
    ends_cleanly,
    is_availability,
    latex_to_text,
    self_contained,
    split_sentences,
    trim_asides,
)
from agent.summaries.tldr import CUES, TLDR_WORDS, compose_tldr, variants, why_it_matters

__all__ = ["clean_text", "latex_to_text", "split_sentences", "summarize_extractive"]

ENGINE = "extractive"
ENGINE_VERSION = "ext-3"
NO_LLM_NOTICE = (
    "No LLM was used: this summary is extracted from the abstract. For plain-language "
    "summaries set OPENAI_API_KEY (and optionally PAPERBRIEF_LLM_MODEL), or point "
    "OPENAI_BASE_URL at a local OpenAI-compatible server (Ollama, vLLM, llama.cpp)."
)
SOURCE_NOTICE = (
    "Summary provided by {source} (ai_summary), not written by paperbrief; no LLM was called. "
    "Set OPENAI_API_KEY or OPENAI_BASE_URL for paperbrief's own summaries."
)

_BODY_WORDS = 30
#: Structured abstracts' headings ("Context.", "Results:") are no sentences.
_LABEL = re.compile(r"[A-Z][a-z]+(?: [a-z]+)?[.:]")
_NAME = re.compile(r"\b[A-Z]*[a-z0-9]+[A-Z][\w-]*|\b[A-Z][\w]*\d[\w-]*")
_SMALL_WORDS = {"of", "the", "for", "and", "in", "to", "a", "an", "on", "with", "via"}
_ACRONYM_DEF = re.compile(
    r"((?:[A-Za-z][\w-]*\s+){1,7})\(([A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*s?)\)"
)
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


def _pick(sentences: list[str]) -> dict[str, int]:
    """Index of the sentence best suited to each role."""
    chosen: dict[str, int] = {"problem": 0}
    method = [i for i, s in enumerate(sentences) if i and CUES["method"].search(s)]
    if method or len(sentences) > 1:
        chosen["method"] = method[0] if method else 1
    after = chosen.get("method", 0)

    def finding_score(i: int) -> int:
        s = sentences[i]
        return 2 * bool(CUES["finding"].search(s)) + 2 * bool(re.search(r"\d", s))

    findings = [i for i in range(after + 1, len(sentences)) if finding_score(i) > 0]
    if findings:
        chosen["finding"] = max(findings, key=lambda i: (finding_score(i), -i))
    impact = [
        i for i, s in enumerate(sentences) if i > after and i not in chosen.values()
        and CUES["impact"].search(s)
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


def _body(sentences: list[str], picked: list[int]) -> list[str]:
    """The summary paragraph: picked sentences, trimmed; one that points back stays only
    after the sentence it points to."""
    body: list[str] = []
    order = picked + [i for i in range(len(sentences)) if i not in picked]
    kept: list[int] = []
    for i in order:
        if len(body) >= max(2, len(picked)) or len(body) == 4:
            break
        if is_availability(sentences[i]):
            continue
        text: str | None = trim_asides(sentences[i])
        if i - 1 not in kept:
            text = self_contained(text or "")
        if text and len(text.split()) > _BODY_WORDS:
            text = next((h for h in clause_heads(text) if len(h.split()) <= _BODY_WORDS), text)
        if text and ends_cleanly(text):
            kept.append(i)
            body.append(text)
    return [t for _, t in sorted(zip(kept, body, strict=True))]


def _names(title: str) -> list[str]:
    """What the paper calls its contribution: ``RetraceCoT`` in "RetraceCoT: Verifier-...",
    and mixed-case words like ``LLaVA``."""
    names = _NAME.findall(title)
    head = title.split(":")[0].strip()
    if ":" in title and len(head.split()) <= 3:
        names.append(head)
    return names


def summarize_extractive(paper: Paper) -> Summary:
    """A summary from the paper's own text (or its source's ai_summary); no model involved."""
    ai_summary = latex_to_text(str(paper.extra.get("ai_summary") or "").strip())
    abstract = clean_text(paper.abstract)
    title = latex_to_text(paper.title)
    planted = set(injected_spans(abstract))  # never repeat an instruction aimed at a model
    sentences = [
        x for x in split_sentences(abstract) if x not in planted and not _LABEL.fullmatch(x)
    ] or [title]  # fmt: skip
    roles = _pick(sentences)
    # The impact sentence becomes why_it_matters, so the body does not repeat it.
    body = _body(sentences, sorted({i for role, i in roles.items() if role != "impact"})[:4])
    names = _names(title)
    found = compose_tldr(sentences, names)
    # No sentence reads alone within the limit: the title says what the paper is about.
    tldr = found[0] if found else title.rstrip(".") + ("" if title.endswith(("?", "!")) else ".")
    why = why_it_matters(sentences, roles.get("impact"), found[1] if found else [])
    keyw = paper.extra.get("ai_keywords")
    tags = [str(k).lower() for k in keyw][:5] if isinstance(keyw, list) and keyw else []
    method: SummaryMethod = "extractive"
    notice = NO_LLM_NOTICE
    if ai_summary:
        first = split_sentences(ai_summary)[0]
        tldr = next(iter(variants(first, TLDR_WORDS)), tldr)
        method = "source"
        notice = SOURCE_NOTICE.format(source=paper.source or "the source")
    return Summary(
        paper_id=paper.id,
        version=paper.version,
        content_hash=paper.content_hash,
        tldr=tldr,
        summary=ai_summary or " ".join(body),
        why_it_matters=why,
        key_terms=key_terms(abstract),
        tags=tags or keywords(title, abstract),
        model=ENGINE,
        prompt_version=ENGINE_VERSION,
        method=method,
        notice=notice,
        usage=Usage(),
    )
