"""Distinctive keywords per theme (class-based TF-IDF, as BERTopic does) and names made of them.

Terms are stemmed word n-grams (1-3 words, no stopwords inside), so "forecast" and "forecasts"
count as one term; each is shown in its most common spelling in the papers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Protocol

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
MAX_NGRAM = 3
#: A phrase names a theme better than any of its words.
NGRAM_BOOST = {1: 1.0, 2: 1.6, 3: 2.0}
_STOPWORD_TEXT = """
    a about above across after again against all almost along also although always am among an
    and another any are around as at be because been before being below between both but by
    can cannot could did do does doing done down during each either else enough especially etc
    even ever every few for from further furthermore had has have having here hence how
    however if in into is it its itself just less let like made make makes many may might more
    moreover most much must need needs new no nor not now of off often on once one only onto
    or other others otherwise our ours out over own per perhaps rather same several shall
    should show shows shown showing since so some such than that the their them themselves
    then there thereby therefore these they this those though through thus to together too
    toward towards two under until up upon us use used uses using via was we well were what
    when where whether which while who whom whose why will with within without would yet you
    your approach approaches based achieve achieves achieving address addresses demonstrate
    demonstrates existing experiment experiments experimental extensive finally first
    framework given importantly improve improved improves improving introduce introduces key
    large learning leverage leverages method methods model models novel obtain outperform
    outperforms paper particular performance present presents problem problems propose
    proposed proposes provide provides recent recently result results significant
    significantly state-of-the-art study studies task tasks terms three various work works
    code available release different effective efficient efficiently better best high low
    including while up-to times single across baseline baselines benchmark benchmarks data
    dataset datasets evaluate evaluated evaluation compared compare fewer less lower higher
    trained learned learns learn train able allows allow enables enable
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


class _Stemmer(Protocol):  # PyStemmer's Stemmer (untyped)
    def stemWord(self, word: str) -> str: ...


@cache
def _stemmer() -> _Stemmer:
    import Stemmer

    return Stemmer.Stemmer("english")


def _surface(word: str) -> str:
    """Keep capitals that carry meaning (LLMs, BERT, ImageNet); lowercase 'Graph' from a title."""
    return word.lower() if word[1:].islower() or len(word) == 1 else word


def _terms(text: str, display: dict[str, Counter[str]]) -> list[str]:
    """Stemmed 1..MAX_NGRAM-grams of consecutive non-stopwords; ``display`` collects spellings."""
    stem = _stemmer().stemWord
    out: list[str] = []
    run: list[tuple[str, str]] = []  # (stem, surface) of the current stopword-free run
    for word in _TOKEN.findall(text):
        low = word.lower()
        if low in STOPWORDS or len(low) < 3:
            run = []
            continue
        run.append((stem(low), _surface(word)))
        run = run[-MAX_NGRAM:]
        for n in range(1, len(run) + 1):
            gram = run[-n:]
            key = " ".join(s for s, _ in gram)
            display.setdefault(key, Counter())[" ".join(w for _, w in gram)] += 1
            out.append(key)
    return out


def distinctive_terms(
    clusters: Sequence[Sequence[str]], *, background: Sequence[str] = (), top: int = 6
) -> list[list[str]]:
    """Top terms of each cluster of documents, scored tf(term, cluster) * log(1 + A / f(term)),
    A = mean words per cluster, f = the term's frequency over all clusters and the background
    (e.g. papers that made no theme). A term must occur in two of a cluster's documents (when it
    has two), so one wordy abstract cannot name a theme."""
    display: dict[str, Counter[str]] = {}
    classes = [list(c) for c in clusters] + ([list(background)] if background else [])
    counts: list[Counter[str]] = []
    doc_freq: list[Counter[str]] = []
    for docs in classes:
        tf: Counter[str] = Counter()
        df: Counter[str] = Counter()
        for doc in docs:
            terms = _terms(doc, display)
            tf.update(terms)
            df.update(set(terms))
        counts.append(tf)
        doc_freq.append(df)
    totals = [max(1, sum(c.values())) for c in counts]
    avg_words = sum(totals) / max(1, len(totals))
    overall: Counter[str] = Counter()
    for c in counts:
        overall.update(c)
    result: list[list[str]] = []
    for ci, cluster in enumerate(clusters):
        need = min(2, len(cluster))
        scored = [
            (
                count
                / totals[ci]
                * math.log1p(avg_words / overall[term])
                * NGRAM_BOOST[term.count(" ") + 1],
                term,
            )
            for term, count in counts[ci].items()
            if doc_freq[ci][term] >= need
        ]
        scored.sort(key=lambda st: (-st[0], st[1]))
        result.append([display[t].most_common(1)[0][0] for t in _pick(scored, top)])
    return result


def _pick(scored: list[tuple[float, str]], top: int) -> list[str]:
    """Best terms, skipping any whose words a better phrase already says; a phrase replaces
    single words it contains."""
    picked: list[str] = []
    for _, term in scored:
        words = term.split()
        covered = {w for p in picked if " " in p for w in p.split()}
        if all(w in covered for w in words):
            continue
        if len(words) > 1:
            picked = [p for p in picked if not set(p.split()) <= set(words)]
        picked.append(term)
        if len(picked) >= top:
            break
    return picked


def name_from_terms(terms: Sequence[str], *, max_words: int = 6) -> str:
    """['graph neural networks', 'solubility'] -> 'Graph neural networks and solubility'."""
    chosen: list[str] = []
    words = 0
    for term in terms:
        n = len(term.split())
        if chosen and (words + n > max_words or len(chosen) >= 3):
            break
        chosen.append(term)
        words += n
    if not chosen:
        return "Other new papers"
    text = chosen[0] if len(chosen) == 1 else ", ".join(chosen[:-1]) + " and " + chosen[-1]
    return text[:1].upper() + text[1:]
