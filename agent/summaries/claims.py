"""Reversed claims: a summary that says "raises" where its abstract says "lowers".

Small models flip directions while copying every number and name, so the number and name
checks pass them. This check reads *direction mentions*: a direction word ("increases",
"lowers", "faster", "outperforms"), its polarity (negation flips it: "does not improve" is a
down), and the content words around it in the same clause (its target). A summary mention is
reported only when the abstract talks about the same target (enough shared words, the words
after the verb counting double) and every such best-matching abstract mention points the other
way; when the abstract says nothing about the target the check stays silent, since a flag
nobody can trust is worse than none. Two more cases: "A outperforms B" where the abstract has
"B outperforms A", and a direction word contradicted by its own "from X to Y".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UP = {
    "increase", "increases", "increased", "increasing", "raise", "raises", "raised", "raising",
    "rise", "rises", "rose", "rising", "risen", "grow", "grows", "grew", "growing", "grown",
    "improve", "improves", "improved", "improving", "boost", "boosts", "boosted", "higher",
    "more", "greater", "larger", "bigger", "better", "faster", "longer", "stronger", "exceeds",
    "outperform", "outperforms", "outperformed", "outperforming", "beat", "beats", "surpass",
    "surpasses", "surpassed", "help", "helps", "helped", "doubles", "doubled", "accelerates",
}  # fmt: skip
_DOWN = {
    "decrease", "decreases", "decreased", "decreasing", "reduce", "reduces", "reduced",
    "reducing", "lower", "lowers", "lowered", "lowering", "drop", "drops", "dropped", "dropping",
    "fall", "falls", "fell", "falling", "fallen", "decline", "declines", "declined", "declining",
    "shrink", "shrinks", "shrank", "cut", "cuts", "less", "fewer", "smaller", "worse", "slower",
    "shorter", "weaker", "lose", "loses", "lost", "losing", "degrade", "degrades", "degraded",
    "hurt", "hurts", "harm", "harms", "underperform", "underperforms", "underperformed",
    "halves", "halved",
}  # fmt: skip
#: Words that judge rather than measure: "improves MAE from 0.080 to 0.071" is a fall in MAE,
#: so these are compared only with each other, never with "raises" or "lowers".
_JUDGING = re.compile(
    r"^(improv|better|boost|help|outperform|beat|surpass|stronger|worse|hurt|harm|degrad|"
    r"underperform|weaker)"
)
#: Verbs that compare two systems: who is better depends on which side of the verb each is.
_VERSUS = re.compile(r"^(outperform|beat|surpass|underperform)")
_NEGATORS = {"not", "no", "never", "cannot", "doesn", "don", "didn", "isn", "aren", "won"}
_DOUBT = re.compile(r"\b(no|little|without) (evidence|sign|indication)\b|\bfail(s|ed)? to\b")
_CLAUSE = re.compile(r"[,;:()]|\s(?:and|but|while|whereas|although|though|which|where)\s")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_STOP = {
    "the", "a", "an", "of", "to", "in", "on", "for", "with", "by", "at", "as", "from", "than",
    "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those",
    "their", "they", "we", "our", "also", "only", "still", "even", "much", "far", "most",
    "about", "up", "down", "over", "under", "per", "times", "points", "point", "percent",
    "model", "models", "method", "methods", "approach", "paper", "authors", "show", "shows",
    "find", "finds", "found", "always", "often", "slightly", "sharply", "s", "t", "and",
}  # fmt: skip
WINDOW = 5
MIN_SHARED = 2
MIN_SCORE = 3


@dataclass(frozen=True)
class Mention:
    word: str
    up: bool  # polarity after negation
    negated: bool
    judging: bool  # improves/hurts (a judgement) rather than raises/lowers (a quantity)
    before: frozenset[str]
    after: frozenset[str]
    clause: str

    @property
    def target(self) -> frozenset[str]:
        return self.before | self.after


def _stem(word: str) -> str:
    return word[:5] if word.isalpha() else word


def _content(words: list[str]) -> list[str]:
    return [_stem(w) for w in words if w not in _STOP and w not in _UP and w not in _DOWN]


def _clauses(text: str) -> list[str]:
    # A minus sign is kept apart from hyphens, so that "from −7.1 to −7.9" is not read as a rise.
    text = re.sub(r"(?<![\w.])[-\u2212](?=\d)", "\u2212", text.lower())
    text = text.replace("-", " ").replace("×", "x")
    return [c for s in re.split(r"(?<=[.!?])\s+", text) for c in _CLAUSE.split(s) if c.strip()]


def mentions(text: str) -> list[Mention]:
    """Every direction word of ``text`` with its polarity and target words."""
    found = []
    for clause in _clauses(text):
        words = _WORD.findall(clause)
        for i, w in enumerate(words):
            if w not in _UP and w not in _DOWN:
                continue
            nxt = words[i + 1] if i + 1 < len(words) else ""
            after2 = words[i + 2] if i + 2 < len(words) else ""
            if w in ("more", "less", "fewer") and nxt == "than" and after2[:1].isdigit():
                continue  # "more than 60%": an amount, not a direction
            negated = any(n in _NEGATORS for n in words[max(0, i - 3) : i]) or bool(
                words[i - 1 : i] == ["without"] or _DOUBT.search(" ".join(words[:i]))
            )
            before = frozenset(_content(words[max(0, i - WINDOW) : i]))
            after = frozenset(_content(words[i + 1 : i + 1 + WINDOW]))
            judging = bool(_JUDGING.match(w))
            found.append(Mention(w, (w in _UP) != negated, negated, judging, before, after, clause))
    return found


def _score(summary: Mention, source: Mention) -> int:
    shared = summary.target & source.target
    if summary.judging != source.judging or len(shared) < MIN_SHARED:
        return 0
    return len(shared) + len(summary.after & source.after)


def _roles_swapped(summary: Mention, source: Mention) -> bool:
    if not (_VERSUS.match(summary.word) and _VERSUS.match(source.word)):
        return False
    same = len(summary.before & source.before) + len(summary.after & source.after)
    cross = len(summary.before & source.after) + len(summary.after & source.before)
    return cross >= MIN_SHARED and cross > same


def _from_to_contradiction(m: Mention) -> tuple[str, str] | None:
    """ "lowers perplexity from 5.9 to 6.7": the numbers say the opposite of the word."""
    if m.judging:
        return None
    match = re.search(
        rf"\b{m.word}\b(?:\s+\S+){{0,5}}?\s+from\s+(\d[\d,]*(?:\.\d+)?)%?\s+to\s+(\d[\d,]*(?:\.\d+)?)",
        m.clause,
    )
    if match is None:
        return None
    a, b = (float(x.replace(",", "")) for x in match.groups())
    if a == b or (b > a) == m.up:
        return None
    return match.group(1), match.group(2)


def reversed_claims(text: str, source: str) -> list[str]:
    """Direction words of ``text`` that the abstract (``source``) contradicts, as phrases."""
    known = mentions(source)
    out: list[str] = []
    for m in mentions(text):
        numbers = _from_to_contradiction(m)
        if numbers is not None:
            out.append(f'"{m.word}" although the values go from {numbers[0]} to {numbers[1]}')
            continue
        scored = [(s, k) for k in known if (s := _score(m, k)) >= MIN_SCORE]
        if not scored:
            continue  # the abstract says nothing about this target: no evidence either way
        best = max(s for s, _ in scored)
        top = [k for s, k in scored if s == best]
        if any(_roles_swapped(m, k) for k in top):
            out.append(f'"{m.word}" with the two sides the other way round')
        elif all(k.up != m.up for k in top):
            said = ("not " if top[0].negated else "") + top[0].word
            out.append(f'"{m.word}" where the abstract says "{said}"')
    return list(dict.fromkeys(out))


def check_directions(texts: list[tuple[str, str]], source: str) -> list[str]:
    problems = []
    for field, text in texts:
        for claim in reversed_claims(text, source):
            problems.append(f"the {field} says {claim}; state the direction the abstract gives")
    return problems
