"""Paper keys from the many ways an arXiv paper is named, arXiv's own DOIs included."""

from __future__ import annotations

import pytest

from agent.sources._ids import paper_key, parse_arxiv_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.48550/arXiv.2401.12345", ("2401.12345", None)),
        ("https://doi.org/10.48550/arXiv.2401.12345v2", ("2401.12345", 2)),
        ("doi:10.48550/ARXIV.2312.00752", ("2312.00752", None)),
        ("10.48550/ARXIV.HEP-TH/9901001", ("hep-th/9901001", None)),
        ("10.48550/arXiv.math.GT/0309136", ("math.GT/0309136", None)),
        ("arXiv:1706.03762v7", ("1706.03762", 7)),
        ("https://arxiv.org/abs/hep-th/9901001v1", ("hep-th/9901001", 1)),
        # another publisher's DOI whose suffix looks like an id is not an arXiv paper
        ("10.1000/1234.56789", None),
        ("https://example.org/2401.12345", None),
    ],
)
def test_parse_arxiv_id(text, expected):
    assert parse_arxiv_id(text) == expected


def test_an_arxiv_doi_keys_the_paper_by_its_arxiv_id_like_its_url_does():
    by_doi = paper_key(None, "https://doi.org/10.48550/arXiv.2106.09685", title="LoRA")
    by_url = paper_key("https://arxiv.org/abs/2106.09685", None, title="LoRA")
    assert by_doi == by_url == ("2106.09685", None)
