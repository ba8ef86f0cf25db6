"""How text becomes BM25 terms: stop words, Snowball stemming, and token ids.

Documents and queries are tokenized differently on purpose: a query also drops the words a
question is phrased with ("which papers ..."), and counts each of its terms once.
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
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


#: bm25s.tokenize's default token pattern: documents are tokenized by bm25s with it.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    """bm25s's English stop list, read from its module file: importing any part of the bm25s
    package runs its __init__, which imports scipy.sparse (0.2-0.6 s), and a query needs
    only this list. The documents' tokenization used the same list."""
    spec = importlib.util.find_spec("bm25s")  # locates the package without running it
    if spec is None or spec.origin is None:
        raise ImportError("bm25s is not installed")
    path = Path(spec.origin).with_name("stopwords.py")
    module_spec = importlib.util.spec_from_file_location("_paperbrief_bm25s_stopwords", path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot read {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return frozenset(module.STOPWORDS_EN)


@lru_cache(maxsize=1)
def _query_stopwords() -> frozenset[str]:
    return english_stopwords() | _QUERY_ONLY_STOPWORDS


def tokenize_query(query: str) -> list[str]:
    """A query's terms: the long English stop list and query phrasing removed, each term once
    (a word repeated in a question is not more important). The same steps as
    ``bm25s.tokenize`` (lower-case, its token pattern, stop words, Snowball stems), without
    importing bm25s: a cold `search` would pay for scipy."""
    stop = _query_stopwords()
    words = [w for w in _TOKEN.findall(query.lower()) if w not in stop]
    return list(dict.fromkeys(_stemmer().stemWords(words))) if words else []


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
