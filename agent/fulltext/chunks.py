"""Body text -> section-aware chunks for the store, each within MiniLM's 256-token window.

A chunk never crosses a section: it holds whole sentences of one section (a sentence longer
than the window is cut at words) and knows its section's number and heading, so an answer can
cite ``[2 §5.3]``. What is embedded (``text``) is the paper's title, the section label and the
passage, as the abstract's chunks repeat the title; ``passage`` alone is what a citation quotes.

A paper gives at most ``max_chunks`` chunks ([fulltext] max_chunks). Over the cap the body
comes first, spread over its sections (every section's first chunk before any section's second,
so the conclusion is not cut for a long method section), then figure and table captions, then
appendices: a long appendix never crowds out the results. Chunks come back in reading order.
Token counts come from the store's MiniLM tokenizer unless ``count_tokens`` is given (another
embedder's). References and footnotes are never chunked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from agent.fulltext.models import Document, Section

CountTokens = Callable[[list[str]], list[int]]
SplitSentences = Callable[[str], list[str]]

MAX_TOKENS = 256  # MiniLM's window, [CLS] and [SEP] included
MAX_TITLE_CHARS = 200
_SPECIALS = 3  # [CLS], [SEP] and the newline between prefix and passage


class BodyChunk(BaseModel):
    index: int = Field(description="position in reading order among the paper's chunks")
    kind: Literal["body", "caption"]
    section: str | None = Field(None, description='section number ("5.3"), None if unnumbered')
    heading: str = Field("", description="the section's heading")
    appendix: bool = False
    passage: str = Field(description="the paper's own words: what a citation quotes")
    text: str = Field(description="what is embedded: title, section label, passage")

    @property
    def label(self) -> str:
        return f"§{self.section} {self.heading}" if self.section else self.heading


def chunk_document(
    document: Document,
    *,
    title: str | None = None,
    max_tokens: int = MAX_TOKENS,
    max_chunks: int = 80,
    count_tokens: CountTokens | None = None,
    split_sentences: SplitSentences | None = None,
) -> list[BodyChunk]:
    """The document's body as chunks (see the module docstring); ``title`` defaults to the
    document's own."""
    counter, splitter = _store_helpers(count_tokens, split_sentences)
    title = (title or document.title or "")[:MAX_TITLE_CHARS].strip()
    sections = [s for s in document.sections if s.paragraphs or s.number]
    # Counted in two batches for the whole paper: one tokenizer call per sentence is slow.
    prefixes = [_prefix(title, s) for s in sections]
    budgets = [max(16, max_tokens - _SPECIALS - n) for n in counter(prefixes)]
    sentences = [[t for p in s.paragraphs for t in splitter(p) if t.strip()] for s in sections]
    flat = [t for group in sentences for t in group]
    counts = iter(counter(flat) if flat else [])
    captions: dict[str, list[str]] = {}  # section number -> its captions, taken by the first
    for caption in document.captions:
        if caption.section:
            text = f"{caption.label}: {caption.text}" if caption.label else caption.text
            captions.setdefault(caption.section, []).append(text)
    ranked: list[tuple[tuple[int, int, int], BodyChunk]] = []  # ((tier, rank, position), chunk)
    for section, budget, group in zip(sections, budgets, sentences, strict=True):
        tier = 2 if section.appendix else 0
        sized = [(t, next(counts)) for t in group]
        for rank, passage in enumerate(_pack(sized, budget, counter, max_chunks)):
            ranked.append(((tier, rank, len(ranked)), _chunk(section, passage, title, "body")))
        for rank, passage in enumerate(captions.pop(section.number or "", [])):
            pieces = (
                [passage] if counter([passage])[0] <= budget else _fit(passage, budget, counter)
            )
            for piece in pieces:
                ranked.append(((1, rank, len(ranked)), _chunk(section, piece, title, "caption")))
    chosen = sorted(ranked, key=lambda r: r[0])[: max(0, max_chunks)]
    chosen.sort(key=lambda r: r[0][2])  # back to reading order
    seen: set[str] = set()
    out: list[BodyChunk] = []
    for _, chunk in chosen:
        if chunk.passage in seen:
            continue
        seen.add(chunk.passage)
        out.append(chunk.model_copy(update={"index": len(out)}))
    return out


def _prefix(title: str, section: Section) -> str:
    return "\n".join(p for p in (title, section.label) if p)


def _chunk(
    section: Section, passage: str, title: str, kind: Literal["body", "caption"]
) -> BodyChunk:
    prefix = _prefix(title, section)
    return BodyChunk(
        index=0,
        kind=kind,
        section=section.number,
        heading=section.heading,
        appendix=section.appendix,
        passage=passage,
        text=f"{prefix}\n{passage}" if prefix else passage,
    )


def _pack(
    sentences: list[tuple[str, int]], budget: int, counter: CountTokens, limit: int
) -> list[str]:
    """Sentences (with their token counts) packed greedily into at most ``limit`` passages
    within ``budget`` tokens; a sentence over the budget is cut at words."""
    passages: list[str] = []
    current: list[str] = []
    used = 0
    for sentence, n in sentences:
        pieces = _fit(sentence, budget, counter) if n > budget else [sentence]
        for piece in pieces:
            size = n if len(pieces) == 1 else counter([piece])[0]
            if current and used + size > budget:
                passages.append(" ".join(current))
                current, used = [], 0
                if len(passages) >= limit:
                    return passages
            current.append(piece)
            used += size
    if current:
        passages.append(" ".join(current))
    return passages[:limit]


def _fit(text: str, budget: int, counter: CountTokens) -> list[str]:
    """``text`` cut at word boundaries into pieces of at most ``budget`` tokens."""
    words = text.split()
    if not words:
        return []
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for word, n in zip(words, counter(words), strict=True):
        if n > budget:  # one absurd "word" (a URL, a formula): cut it by characters
            step = max(1, len(word) * budget // n)
            pieces.extend(word[i : i + step] for i in range(0, len(word), step))
            continue
        if current and used + n > budget:
            pieces.append(" ".join(current))
            current, used = [], 0
        current.append(word)
        used += n
    if current:
        pieces.append(" ".join(current))
    return pieces


def _store_helpers(
    count_tokens: CountTokens | None, split_sentences: SplitSentences | None
) -> tuple[CountTokens, SplitSentences]:
    """The store's own tokenizer count and sentence splitter, so body chunks are cut exactly as
    abstract chunks are (imported here: the tokenizer costs a file read)."""
    if count_tokens is not None and split_sentences is not None:
        return count_tokens, split_sentences
    from store.papers import chunking

    return count_tokens or chunking.count_tokens, split_sentences or chunking.split_sentences
