"""The no-model answer engine: the abstracts' own sentences that best match the question, quoted,
each with its citation.

Sentences are scored by the question's stemmed content words they contain, each word weighted by
how rare it is among the candidate sentences (so "model" counts little and "quadruped" a lot),
with a small bonus for the chunk retrieval matched best. Planted instructions are never quoted.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from agent.qa.context import md_escape
from agent.summaries.extractive import clean_text, split_sentences
from agent.summaries.faithfulness import injected_spans

EXTRACTIVE_LABEL = (
    "*Extractive answer (no LLM): the sentences of the papers that best match your question, "
    "quoted as written.*"
)
EXTRACTIVE_NOTICE = (
    "No LLM was used: this answer quotes the best-matching sentences of the top papers. For "
    "written answers set OPENAI_API_KEY, or point OPENAI_BASE_URL at a local "
    "OpenAI-compatible server (Ollama, vLLM, llama.cpp)."
)
#: Words of a question that say nothing about its topic.
_QUESTION_WORDS = frozenset(
    re.findall(
        r"\S+",
        """which what how does do did is are was were there any anyone has have had paper
        papers work works method methods approach approaches use uses used using can could
        would should way new latest recent find finds tell me about make makes made get gets
        between who whom why when where whether someone something much many""",
    )
)


@cache
def _stopwords() -> frozenset[str]:
    # bm25s's list, without importing bm25s (its __init__ imports scipy: 0.2-0.6 s of `ask`)
    from store.bm25.tokens import english_stopwords

    return english_stopwords() | _QUESTION_WORDS


class _Stemmer(Protocol):  # PyStemmer's Stemmer (untyped)
    def stemWords(self, words: list[str]) -> list[str]: ...


@cache
def _stemmer() -> _Stemmer:
    import Stemmer

    return Stemmer.Stemmer("english")


def content_terms(text: str) -> list[str]:
    """Stemmed content words; hyphenated words count whole and by their parts."""
    stop = _stopwords()
    out: list[str] = []
    for token in re.findall(r"[a-z0-9][a-z0-9\-]*", text.lower()):
        parts = [token, *token.split("-")] if "-" in token else [token]
        out.extend(p for p in parts if len(p) > 1 and p not in stop)
    return _stemmer().stemWords(out) if out else []


@dataclass
class Quote:
    n: int  # citation number of the paper
    sentence: str
    score: float


def best_sentences(
    question: str,
    papers: list[tuple[int, str, str]],
    *,
    per_paper: int = 2,
) -> list[Quote]:
    """The best ``per_paper`` sentences of each ``(n, abstract, best_chunk)``, in paper order."""
    q_terms = set(content_terms(question))
    candidates: list[tuple[int, str, set[str], bool]] = []
    for n, abstract, chunk in papers:
        text = clean_text(abstract)
        planted = set(injected_spans(text))
        chunk_clean = clean_text(chunk)
        for sentence in split_sentences(text):
            if sentence in planted or len(sentence.split()) < 4:
                continue
            candidates.append((n, sentence, set(content_terms(sentence)), sentence in chunk_clean))
    if not candidates:
        return []
    df = Counter(t for _, _, terms, _ in candidates for t in terms & q_terms)
    total = len(candidates)
    quotes: dict[int, list[Quote]] = {}
    for position, (n, sentence, terms, in_chunk) in enumerate(candidates):
        matched = terms & q_terms
        score = sum(math.log(1 + total / df[t]) for t in matched)
        score += 0.5 if in_chunk else 0.0
        score -= position * 1e-6  # stable order among equals: earlier sentences first
        quotes.setdefault(n, []).append(Quote(n, sentence, score))
    out: list[Quote] = []
    for n, _, _ in papers:
        ranked = sorted(quotes.get(n, []), key=lambda q: -q.score)[:per_paper]
        # Keep the paper's own sentence order so the quote reads as the abstract does.
        order = {id(q): i for i, q in enumerate(quotes.get(n, []))}
        out.extend(sorted(ranked, key=lambda q: order[id(q)]))
    return out


def extractive_answer(
    question: str, papers: list[tuple[int, str, str, str]], *, per_paper: int = 2
) -> str:
    """Markdown: one bullet per paper ``(n, title, abstract, best_chunk)`` with its quotes."""
    quotes = best_sentences(question, [(n, a, c) for n, _, a, c in papers], per_paper=per_paper)
    lines = [EXTRACTIVE_LABEL, ""]
    for n, title, _, _ in papers:
        mine = [q.sentence for q in quotes if q.n == n]
        if not mine:
            continue
        quoted = " … ".join(mine)
        lines.append(f"- **{_md_escape(clean_text(title))}** [{n}]: “{_md_escape(quoted)}”")
    return "\n".join(lines).strip()


def _md_escape(text: str) -> str:
    """Untrusted text must not become Markdown structure (links, emphasis, citations)."""
    text = re.sub(r"\[(\d{1,3})\]", r"(\1)", text)  # a "[3]" in an abstract is not our citation
    return md_escape(text)


__all__ = [
    "EXTRACTIVE_LABEL",
    "EXTRACTIVE_NOTICE",
    "Quote",
    "best_sentences",
    "content_terms",
    "extractive_answer",
]
