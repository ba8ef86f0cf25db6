"""The no-model TL;DR and "why it matters": what the paper does, plus what it found.

A TL;DR is the contribution sentence (or a head of it that still says what the thing does)
followed by the best result sentence, numbers preferred, within ``TLDR_WORDS``. Each part must
read alone: no opening back-reference ("These ...", "We also ...", "Our algorithms ..."), no
demonstrative pointing at an unseen noun ("this density"), no head that lost its main clause
("To discover faults in DL models.", "We show that a general remedy."). The result may point
back at the contribution just before it ("It reduces error by 50%."). Scores weigh what a part
says (contribution, finding, numbers, the paper's name) against its reading effort
(Flesch-Kincaid grade and length; ``bench/bench_readability.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.summaries.plain_text import (
    clause_heads,
    ends_cleanly,
    is_availability,
    self_contained,
    trim_asides,
)
from agent.summaries.readability import fk_grade

#: Words of a two-part TL;DR (contribution + result); each part stays under PART_WORDS.
TLDR_WORDS = 40
PART_WORDS = 26
WHY_WORDS = 40
#: A candidate within this share of the best score may win by reading easier.
NEAR_BEST = 0.8
THIN = 0.3
# Past these a sentence costs the reader more than it tells them (see bench/bench_readability.py).
_EASY_WORDS, _EASY_GRADE = 16, 12.0
CUES = {
    "method": re.compile(
        r"\b((we|the (paper|work|study|article|review|survey)) (?:\w+ly |therefore |thus |"
        r"also |further |first )?(propose|present|introduce|develop|design|study|build|"
        r"describe|investigate|derive|release|construct|formulate|assess|evaluate|analy[sz]e|"
        r"apply|argue|provide|review|survey|examine|explore|report|offer|adapt|extend|"
        r"establish|prove|formali[sz]e|identify|characteri[sz]e|benchmark|compare|train|"
        r"collect|curate)s?|this (paper|work|study))\b",
        re.I,
    ),
    "finding": re.compile(
        r"\b(we (show|find|demonstrate|observe|prove)|results? show|outperform|match|achiev|"
        r"improv|reduc|surpass|state-of-the-art|faster|fewer|less|than|speed-?up|gain|"
        r"accuracy|recover)",
        re.I,
    ),
    "impact": re.compile(
        r"\b(enabl|allow|implication|important|practical|crucial|pav|"
        r"results? (suggest|indicate)|findings|suggest)",
        re.I,
    ),
}
#: A quantity (50%, 2.9 points, 3x, 1,000), not a digit inside a name (3D, GPT-4, L2).
_NUMBER = re.compile(r"(?<![\w.-])\d[\d.,]*(?:%|x|×)?(?![\w-])|\d(?:%|×)")
#: "Motivated by X, we introduce ...": the contribution starts at "We".
_LEAD_IN = re.compile(
    r"^[A-Z][^,;]{2,90},\s+(?=we (?:\w+ly |therefore |thus )?(?:propose|present|introduce|"
    r"develop|design|build|describe|release|apply|provide|construct|formulate)\b)"
)
_SO_WE = re.compile(r"^We (?:therefore|thus|hence|accordingly|then) ", re.I)
_POINTER = re.compile(
    r"\b(?:this|these|those|such|it|they|them|its|their|the former|the latter|instead)\b", re.I
)
#: "this density", "these models": a noun the first sentence of a TL;DR has not introduced.
_DEMONSTRATIVE = re.compile(
    r"\b(?:this|these|those|such)\s+"
    r"(?!paper\b|work\b|study\b|article\b|letter\b|as\b|of\b|who\b|which\b|that\b)\w+",
    re.I,
)
#: "We evaluate it on ...": an object pronoun whose noun the reader has not seen.
_PRONOUN = re.compile(r"\b(?:it|them)\b")
#: A head that is only a fronted phrase: the main clause was after the comma.
_FRONTED = re.compile(
    r"^(?:to|for|in|on|with|by|unlike|despite|while|although|though|when|if|as|because|since|"
    r"given|using|motivated|inspired|building|based|compared|across|through|under|after|"
    r"before|beyond|via|from|at|among|over)\b",
    re.I,
)
#: "We show that a general remedy." lost its verb: a that-clause needs one.
_THAT_CLAUSE = re.compile(r"\b(?:that|whether|how)\s+([^,;]*)\.$", re.I)
_VERBISH = re.compile(
    r"\b(?:is|are|was|were|be|been|can|could|may|might|will|would|should|must|has|have|had|"
    r"does|do|did|\w+(?:es|ed|s))\b",
    re.I,
)
#: Openers of a result sentence that refer to the contribution just before it.
_FOLLOWS = re.compile(
    r"^(?:it|they|our|we (?:also|further|additionally)|"
    r"the (?:method|model|approach|framework|system|algorithm|resulting|proposed)|"
    r"this (?:method|model|approach|framework|system|algorithm))\b",
    re.I,
)


#: "We introduce X, a converter that transforms ..." -> "... a converter. It transforms ...".
_RELATIVE = re.compile(r"^((?:We|The (?:paper|work|study)) [a-z]+ [^,;]{1,60}, an? [^,;()]{1,50}?) "
                       r"(?:that|which) ([a-z]+s\b)")  # fmt: skip
_JOINS = re.compile(r"; (?=[a-z])|, and (?=(?:we|it|they)\b)")


def shorter_sentences(text: str) -> str:
    """The same words in shorter sentences where grammar allows: a singular appositive's
    relative clause becomes its own sentence ("It transforms ..."), and "; " or ", and we"
    joins become full stops. Sentence length is most of a Flesch-Kincaid grade."""
    out = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        sentence = _RELATIVE.sub(lambda m: f"{m.group(1)}. It {m.group(2)}", sentence)
        sentence = _JOINS.sub(lambda m: ". ", sentence)
        out.append(re.sub(r"\. ([a-z])", lambda m: ". " + m.group(1).upper(), sentence))
    return " ".join(out)


def _points_at_unseen(text: str) -> bool:
    """The first sentence names something through "this"/"it" that the reader has not seen."""
    first = re.split(r"(?<=[.!?])\s+", text)[0]
    return bool(_DEMONSTRATIVE.search(first) or _PRONOUN.search(first))


def _fits(text: str, limit: int) -> bool:
    """Every sentence within ``limit`` words, and two or more within TLDR_WORDS."""
    parts = re.split(r"(?<=[.!?])\s+", text)
    total = len(text.split())
    return all(len(p.split()) <= limit for p in parts) and total <= (
        limit if len(parts) == 1 else max(limit, TLDR_WORDS)
    )


def _sound(text: str, whole: bool) -> bool:
    """A whole sentence, or a head that keeps its main clause and its verbs."""
    if not ends_cleanly(text):
        return False
    if not whole and _FRONTED.match(text) and "," not in text[:-1]:
        return False  # only the fronted phrase: "To discover faults in DL models."
    m = _THAT_CLAUSE.search(text)
    return not (m and not _VERBISH.search(m.group(1)))


def variants(sentence: str, limit: int, *, follows: bool = False) -> list[str]:
    """Readable forms of ``sentence`` within ``limit`` words, longest first: the sentence,
    then its clause heads. ``follows``: it comes right after the contribution, so it may point
    back at it ("It ...", "Our method ..."); otherwise it must read alone."""
    if is_availability(sentence):
        return []
    text: str | None = _SO_WE.sub("We ", _LEAD_IN.sub("", trim_asides(sentence)))
    if not (follows and _FOLLOWS.match(text or "")):
        text = self_contained(text or "")
        if text is None:
            return []
    if text is None:
        return []
    forms = [(text, True), *((h, False) for h in clause_heads(text))]
    split = shorter_sentences(text)
    if (
        split != text
        and len(split.split()) <= TLDR_WORDS
        and all(len(part.split()) <= limit for part in re.split(r"(?<=[.!?])\s+", split))
    ):  # too long as one sentence, not as two
        forms.insert(0, (split, True))
    return [
        f for f, whole in forms
        if _fits(f, limit) and _sound(f, whole)
        and (follows or not _points_at_unseen(f))
    ]  # fmt: skip


def content(text: str, index: int, names: Sequence[str]) -> float:
    """How much a sentence says about the paper: its contribution, its result, its name."""
    score = 0.5 + 3.0 * bool(CUES["method"].search(text))
    score += 1.5 * bool(CUES["finding"].search(text)) + 1.0 * bool(_NUMBER.search(text))
    score += 0.5 * bool(CUES["impact"].search(text)) + 0.25 * (index == 0)
    score += 1.5 * any(name in text for name in names)
    # "... trained on it": meaning that lives in another sentence (the form's first one only:
    # a later one points into the form itself)
    score -= 0.75 * len(_POINTER.findall(re.split(r"(?<=[.!?])\s+", text)[0]))
    return max(score, 0.1)


def ease(text: str) -> float:
    """1 for short, plain sentences, falling as words per sentence and grade level climb."""
    n_sent = max(1, len(re.findall(r"[.!?](?:\s|$)", text)))
    words = len(text.split()) / n_sent
    grade = fk_grade(text) or 0.0
    return min(1.0, _EASY_WORDS / max(words, 1.0)) ** 0.8 * min(1.0, _EASY_GRADE / max(grade, 1.0))


def _thin(text: str) -> bool:
    """Says what the thing is but not what it does: "We propose StepSwap, a black-box probe."."""
    return len(text.split()) < 9 or bool(re.fullmatch(r"[^,]+, (?:an?|the) [^,]{1,45}\.", text))


def _result_score(text: str) -> float:
    return 1.0 + 2.0 * bool(_NUMBER.search(text)) + 1.5 * bool(CUES["finding"].search(text))


def compose_tldr(sentences: Sequence[str], names: Sequence[str]) -> tuple[str, list[int]] | None:
    """The TL;DR and the indexes of the sentences it uses, or None when no sentence reads
    alone within the limits."""
    method = [i for i, s in enumerate(sentences) if CUES["method"].search(s)]
    results = [
        i for i, s in enumerate(sentences)
        if CUES["finding"].search(s) or (_NUMBER.search(s) and i)
    ]  # fmt: skip
    offers: list[tuple[float, str, list[int]]] = []

    def offer(score: float, text: str, used: list[int]) -> None:
        offers.append((score, text, used))

    leads = method[:2] or [i for i in range(len(sentences)) if i not in results][:3]
    for i in leads:
        for lead in variants(sentences[i], PART_WORDS):
            base = content(lead, i, names)
            # A thin lead alone ("We propose X, a method.") only when nothing says more.
            offer(base * ease(lead) * (THIN if _thin(lead) else 1.0), lead, [i])
            for j in (r for r in results if r > i):
                for tail in variants(sentences[j], PART_WORDS, follows=j == i + 1):
                    text = f"{lead} {tail}"
                    if len(text.split()) <= TLDR_WORDS:
                        offer((base + _result_score(tail)) * ease(text) * 1.2, text, [i, j])
    for j in results:  # no contribution sentence: a result that reads alone
        for form in variants(sentences[j], PART_WORDS):
            if not _thin(form):
                offer(content(form, j, names) * ease(form), form, [j])
    if not offers:
        for i, s in enumerate(sentences):  # anything that reads alone, the opening last
            for form in variants(s, TLDR_WORDS):
                offer(content(form, i, names) * ease(form) * (0.5 if i == 0 else 1.0), form, [i])
    if not offers:
        return None
    # Of the candidates nearly as telling as the best, the easiest to read.
    best = max(offers, key=lambda o: o[0])
    numbers = bool(_NUMBER.search(best[1]))  # an easier pick keeps the result's numbers
    close = [
        o for o in offers
        if o[0] >= NEAR_BEST * best[0] and (bool(_NUMBER.search(o[1])) or not numbers)
    ]  # fmt: skip
    _, text, used = min(close, key=lambda o: (fk_grade(o[1]) or 0.0, -o[0]))
    return shorter_sentences(text), used


def why_it_matters(sentences: Sequence[str], impact: int | None, used: Sequence[int]) -> str:
    """The implication sentence when the abstract has one, else a result the TL;DR left out."""
    order = [impact] if impact is not None and impact not in used else []
    order += [
        i for i, s in enumerate(sentences)
        if i not in used and i not in order and i > min(used or [0])
        and (CUES["finding"].search(s) and _NUMBER.search(s))
    ]  # fmt: skip
    for i in order:
        forms = variants(sentences[i], WHY_WORDS)
        if forms:
            return shorter_sentences(max(forms, key=lambda f: content(f, i, ()) * ease(f)))
    return ""
