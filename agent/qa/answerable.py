"""A second look before answering: does the best-matching paper report what was asked?

Retrieval scores cannot tell a paper measured on ImageNet 256x256 from a question about
512x512, or Arctic from Antarctic sea ice: such near misses pass the evidence gate, and a small
model then answers them from the wrong paper. Here the model reads only the top paper and says
YES or NO; the log-odds of that first word (from the endpoint's log-probabilities) are compared
with ``ask.min_answerable_log_odds``, so the cut can sit where the model is confident, not at
its coin flip. Endpoints without log-probabilities give a bare YES / NO (±10).

Questions that span several papers by construction (comparisons, "across", "which of last
week's") are not checked: one paper cannot be expected to hold the whole answer.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.models import Usage
from prompts import load_prompt

if TYPE_CHECKING:
    from agent.llm.chat import ChatLLM

log = logging.getLogger(__name__)

#: Log-odds of a bare YES / NO when the endpoint returns no log-probabilities.
SURE = 10.0
_WORD = re.compile(r"[A-Za-z]+")


@dataclass
class Verdict:
    answerable: bool
    log_odds: float | None  # None: the reply was neither YES nor NO (then: answer)
    usage: Usage


def _word(token: object) -> str:
    match = _WORD.search(str(token or ""))
    return match.group(0).upper() if match else ""


def yes_no_log_odds(text: str, logprobs: list[dict[str, Any]]) -> float | None:
    """log P(YES) - log P(NO) for the reply's first word; from the text alone when the endpoint
    gave no log-probabilities; None when the reply starts with neither."""
    for entry in logprobs:
        if not _word(entry.get("token")):
            continue  # whitespace or punctuation before the word
        alternatives = entry.get("top_logprobs") or [entry]
        probs = {"YES": 0.0, "NO": 0.0}
        for alt in alternatives:
            word = _word(alt.get("token"))
            if word in probs and alt.get("logprob") is not None:
                probs[word] += math.exp(float(alt["logprob"]))
        if not any(probs.values()):
            break
        # A word missing from the top list is at most as likely as the least likely listed.
        floor = min(float(a.get("logprob") or 0.0) for a in alternatives)
        yes, no = (math.log(p) if p else floor for p in (probs["YES"], probs["NO"]))
        return yes - no
    word = _word(text)
    return SURE if word == "YES" else -SURE if word == "NO" else None


async def check_answerable(
    llm: ChatLLM, question: str, paper_block: str, min_log_odds: float
) -> Verdict:
    """Ask the model whether the (fenced) top paper reports what ``question`` asks."""
    system, user = load_prompt("answerable").render(paper=paper_block, question=question)
    text, logprobs, usage = await llm.achat_logprobs(
        [("system", system.strip()), ("user", user.strip())]
    )
    odds = yes_no_log_odds(text, logprobs)
    if odds is None:
        log.info("answerability check: reply %r is neither YES nor NO; answering", text[:40])
    return Verdict(answerable=odds is None or odds >= min_log_odds, log_odds=odds, usage=usage)
