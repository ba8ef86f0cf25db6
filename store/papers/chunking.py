"""Abstract -> chunks: the title plus about three sentences each, under MiniLM's 256-token window.

The median abstract is ~320 word pieces, longer than the model's window: chunking lets the model
see all of it, and repeating the title in every chunk keeps each chunk about its paper.
"""

from __future__ import annotations

import math
import re
from collections import deque
from functools import lru_cache
from typing import TYPE_CHECKING

from store.embedding.embedders import MAX_TOKENS, TOKENIZER_PATH

if TYPE_CHECKING:
    from tokenizers import Tokenizer

SENTENCES_PER_CHUNK = 3
#: A title longer than this (in word pieces) is cut in the chunk prefix so text still fits.
MAX_TITLE_TOKENS = 96
#: At most this many chunks per paper; text after the last one is not embedded. A pasted
#: full-text page of 100,000 characters (the ingest's bound) makes about 190.
MAX_CHUNKS = 250
#: Only this much of an abstract is split and counted (MAX_CHUNKS chunks never hold more):
#: a 20 MB abstract took 10 s and 400 MB to split into 58,000 chunks.
MAX_CHUNKED_CHARS = 300_000
#: A chunk whose words overlap a recent chunk's this much (Jaccard) repeats it and is skipped.
NEAR_DUPLICATE = 0.8
#: How many earlier chunks a chunk is compared with (exact repeats are caught at any distance).
_RECENT = 16

# Words that end with a period without ending the sentence (compared lower-case, no period).
_ABBREVIATIONS = frozenset(
    {
        *("e.g", "i.e", "al", "etc", "cf", "vs", "viz", "ca", "approx", "resp", "esp"),
        *("fig", "figs", "eq", "eqs", "eqn", "eqns", "sec", "secs", "tab", "ref", "refs"),
        *("ch", "no", "nos", "vol", "pp", "app", "alg", "thm", "lem", "def", "prop", "cor"),
        *("dr", "mr", "mrs", "ms", "prof", "st"),
    }
)
# A sentence end: punctuation, optional closing quotes/brackets, whitespace.
_END = re.compile(r"[.!?]+[\"')\]]*\s+")
_WS = re.compile(r"\s+")
# Dot leaders and rules (". . . .", "......", "____"): tables of contents and forms pasted as
# abstracts made 179-290 near-identical chunks per paper that crowded out real results.
# A leader never starts right after a word, so "method. . . ." keeps its period.
_LEADER = re.compile(r"(?<!\w)(?:[.\u00b7\u2022\u2026_=*~-]\s?){4,}")
_LETTERS = re.compile(r"[^\W\d_]+")
_WORD = re.compile(r"\w+")


def split_sentences(text: str) -> list[str]:
    """Split on ., ! or ? followed by space, except after abbreviations, initials and
    before lower-case words. Decimals (0.5) and ids (arXiv:2401.01234) have no space after
    the dot, so they never split."""
    text = _WS.sub(" ", text or "").strip()
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for m in _END.finditer(text):
        end = m.end()
        if end >= len(text):
            break
        following = text[end]
        if following.islower():
            continue  # "et al. showed", "approx. twice"
        before = text[start : m.start() + 1]
        word = before.rsplit(" ", 1)[-1].rstrip(".!?").lstrip("([\"'").lower()
        if m.group(0)[0] == "." and (word in _ABBREVIATIONS or _is_initial(word)):
            continue
        sentences.append(text[start : m.end()].strip())
        start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _is_initial(word: str) -> bool:
    # "J. Smith", "A. B. Jones" (but not "a." ending a sentence: that word is followed by upper
    # case too, so only single letters that are not 'a' or 'i' count as initials)
    return len(word) == 1 and word.isalpha() and word not in {"a", "i"}


@lru_cache(maxsize=1)
def _counter() -> Tokenizer:
    """The MiniLM tokenizer without truncation, for counting word pieces."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_tokens(texts: list[str]) -> list[int]:
    """Word pieces per text, without [CLS]/[SEP]."""
    if not texts:
        return []
    return [len(e.ids) for e in _counter().encode_batch(texts, add_special_tokens=False)]


def _fit_words(text: str, budget: int) -> list[str]:
    """Cut one over-long text at word boundaries into pieces of at most ``budget`` word pieces."""
    words = text.split(" ")
    counts = count_tokens(words)
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for word, n in zip(words, counts, strict=True):
        if current and used + n > budget:
            pieces.append(" ".join(current))
            current, used = [], 0
        if n > budget:  # a single absurd "word" (a URL, a formula): cut it by characters
            step = max(1, len(word) * budget // n)
            pieces.extend(word[i : i + step] for i in range(0, len(word), step))
            continue
        current.append(word)
        used += n
    if current:
        pieces.append(" ".join(current))
    return pieces


def _balanced_groups(items: list[str], per_group: int) -> list[list[str]]:
    """7 sentences at 3 per group -> 3, 2, 2 rather than 3, 3, 1."""
    n_groups = max(1, math.ceil(len(items) / per_group))
    size, extra = divmod(len(items), n_groups)
    groups, i = [], 0
    for g in range(n_groups):
        take = size + (1 if g < extra else 0)
        groups.append(items[i : i + take])
        i += take
    return groups


def chunk_paper(
    title: str,
    abstract: str,
    *,
    sentences_per_chunk: int = SENTENCES_PER_CHUNK,
    max_tokens: int = MAX_TOKENS,
    max_chunks: int = MAX_CHUNKS,
) -> list[str]:
    """Chunks of ``"<title>\\n<sentences>"``, each at most ``max_tokens`` word pieces including
    [CLS] and [SEP]; at least one chunk even for an empty abstract.

    Bounded and without filler: dot leaders and sentences without a letter are dropped,
    a chunk that repeats a recent one (NEAR_DUPLICATE) is skipped, and at most ``max_chunks``
    are made from the first MAX_CHUNKED_CHARS characters.
    """
    title = _WS.sub(" ", (title or "")[: MAX_TITLE_TOKENS * 40]).strip()
    if count_tokens([title])[0] > MAX_TITLE_TOKENS:
        title = _fit_words(title, MAX_TITLE_TOKENS)[0]
    text = _LEADER.sub(" ", (abstract or "")[:MAX_CHUNKED_CHARS])
    sentences = [s for s in split_sentences(text) if _LETTERS.search(s)]
    if not sentences:
        return [title]
    budget = max_tokens - 2 - count_tokens([title])[0] - 1  # specials, the title, the newline
    # Over-long sentences become several pieces first, so every unit fits on its own.
    units: list[str] = []
    for sentence, n in zip(sentences, count_tokens(sentences), strict=True):
        units.extend(_fit_words(sentence, budget) if n > budget else [sentence])
    unit_tokens = dict(zip(units, count_tokens(units), strict=True))
    bodies: list[str] = []
    for group in _balanced_groups(units, max(1, sentences_per_chunk)):
        current: list[str] = []
        used = 0
        for unit in group:
            n = unit_tokens[unit]
            if current and used + n > budget:
                bodies.append(" ".join(current))
                current, used = [], 0
            current.append(unit)
            used += n
        if current:
            bodies.append(" ".join(current))
    return [title + "\n" + body for body in _distinct(bodies, max(1, max_chunks))]


def _distinct(bodies: list[str], limit: int) -> list[str]:
    """The first ``limit`` bodies that do not repeat an earlier one: same words (any distance),
    or Jaccard word overlap >= NEAR_DUPLICATE with one of the last _RECENT kept."""
    seen: set[frozenset[str]] = set()
    recent: deque[frozenset[str]] = deque(maxlen=_RECENT)
    kept: list[str] = []
    for body in bodies:
        words = frozenset(w.lower() for w in _WORD.findall(body))
        if words in seen or any(
            len(words & other) >= NEAR_DUPLICATE * len(words | other) for other in recent
        ):
            continue
        seen.add(words)
        recent.append(words)
        kept.append(body)
        if len(kept) >= limit:
            break
    return kept
