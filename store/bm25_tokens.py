"""How text becomes BM25 terms: stop words, Snowball stemming, and token ids.

Documents and queries are tokenized differently on purpose: a query also drops the words a
question is phrased with ("which papers ..."), and counts each of its terms once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


#: Words a query is phrased with that say nothing about what it looks for ("Which papers use
#: reanalysis data?"): with only the short stop list they outscore the one rare term that matters.
# fmt: off
_QUERY_ONLY_STOPWORDS = frozenset((
    "paper", "papers", "work", "works", "study", "studies", "article", "articles", "anyone",
    "someone", "anything", "something", "tell", "know", "find", "show", "which", "what", "how",
    "why", "when", "where", "who", "whom", "whether", "does", "do", "did", "can", "could",
    "would", "should", "any", "has", "have", "had", "me", "my", "you",
))
# fmt: on


def idf(df: int, n_docs: int) -> float:
    """BM25's (Lucene) inverse document frequency, as bm25s scores with it."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


@lru_cache(maxsize=1)
def _query_stopwords() -> list[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return sorted(set(STOPWORDS_EN) | _QUERY_ONLY_STOPWORDS)


def tokenize_query(query: str) -> list[str]:
    """A query's terms: the long English stop list and query phrasing removed, each term once
    (a word repeated in a question is not more important)."""
    import bm25s

    tokens = bm25s.tokenize(
        [query],
        stopwords=_query_stopwords(),
        stemmer=_stemmer(),
        return_ids=False,
        show_progress=False,
    )[0]
    return list(dict.fromkeys(tokens))


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-case words of 2+ characters, English stop words removed, Snowball-stemmed."""
    import bm25s

    if not texts:
        return []
    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


def ids_of(docs: list[list[str]], vocab: dict[str, int]) -> list[list[int]]:
    """Token strings to ids, adding unseen tokens to ``vocab`` (in place) with the next id."""
    out = []
    for doc in docs:
        ids = []
        for token in doc:
            tid = vocab.get(token)
            if tid is None:
                tid = vocab[token] = len(vocab)
            ids.append(tid)
        out.append(ids)
    return out
