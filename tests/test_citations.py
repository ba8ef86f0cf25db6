"""Citation checking: numbers outside the context are removed and counted, uncited answers are
flagged, and things that only look like citations are left alone."""

from __future__ import annotations

import pytest

from agent.qa.citations import check_citations, find_citations


def test_valid_citations_are_kept_in_first_cited_order():
    check = check_citations("B is faster [2]. A is smaller [1, 2].", range(1, 4))
    assert check.text == "B is faster [2]. A is smaller [1, 2]."
    assert check.cited == [2, 1]
    assert check.removed == 0
    assert check.flagged is None


def test_out_of_range_number_is_removed_and_counted():
    check = check_citations("A claim [7]. Another claim about models [1, 9].", range(1, 4))
    assert "[7]" not in check.text and "9" not in check.text
    assert check.text == "A claim. Another claim about models [1]."
    assert check.removed == 2
    assert check.cited == [1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See [1-3].", [1, 2, 3]),
        ("See [2–3] and [1][4].", [2, 3, 1, 4]),
        ("See [3; 1].", [3, 1]),
        ("[1] starts the line.", [1]),
    ],
)
def test_citation_shapes(text, expected):
    assert find_citations(text) == expected


def test_range_partly_out_of_context_keeps_the_valid_part():
    check = check_citations("Both do it [2-5].", range(1, 4))
    assert check.text == "Both do it [2, 3]."
    assert check.removed == 2


def test_links_code_and_zero_are_not_citations():
    text = "Use `x[3]` and see [the docs](http://e.x). Claim with four words [0]."
    check = check_citations(text, range(1, 3))
    assert "`x[3]`" in check.text and "[the docs](http://e.x)" in check.text
    assert check.removed == 1  # [0] points to no paper
    assert check.cited == []


def test_answer_without_any_citation_is_flagged():
    check = check_citations("Models are getting better at reasoning. They use more data.", {1, 2})
    assert check.flagged is not None
    assert check.uncited_sentences == check.sentences == 2


def test_partly_cited_answer_is_not_flagged_but_counts_uncited_sentences():
    text = "Two papers study this question in depth. RetraceCoT backtracks on low scores [1]."
    check = check_citations(text, {1})
    assert check.flagged is None
    assert check.sentences == 2 and check.uncited_sentences == 1


def test_empty_answer_is_not_flagged_as_uncited():
    assert check_citations("", {1}).flagged is None
