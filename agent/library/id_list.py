"""A plain list, one paper a line: an arXiv id or URL, a DOI, or a title.

`2312.00752`, `arXiv:1706.03762v7`, `https://arxiv.org/pdf/2106.09685v2.pdf`, `hep-th/9901001`,
`10.18653/v1/N19-1423`, `https://doi.org/...`, or a title. An id may be followed by its title
(`2312.00752  Mamba: ...`). `#` starts a comment; blank lines and list bullets are ignored.
"""

from __future__ import annotations

import re

from agent.library.models import LibraryItem, SkippedEntry
from agent.library.normalize import arxiv_in, build_item, fail
from agent.sources._ids import parse_doi

_COMMENT = re.compile(r"(?:^|\s)#.*$")
_BULLET = re.compile(r"^(?:[-*•]|\d{1,4}[.)]|\[\d{1,4}\])\s+")
# Tokens that are clearly meant as ids: a typo in one must not silently become a "title".
_ID_LIKE = re.compile(r"^(?:arxiv:|doi:)?(?:\d{4}\.\d+|10\.\S+)(?:v\d+)?$", re.IGNORECASE)
_TITLE_SEPARATOR = re.compile(r"^[\s\-–—:|,;]+")
_HINT = (
    "Write one arXiv id (2312.00752), arXiv URL, DOI (10.1234/abc) or title per line; "
    "`#` starts a comment."
)


def parse_id_list(text: str, name: str) -> list[LibraryItem | SkippedEntry]:
    """One item per non-blank, non-comment line; a malformed id is an error naming its line."""
    out: list[LibraryItem | SkippedEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _BULLET.sub("", _COMMENT.sub("", raw).strip()).strip()
        if line:
            out.append(_line_to_item(line, number, name))
    return out


def _line_to_item(line: str, number: int, name: str) -> LibraryItem | SkippedEntry:
    head, _, rest = line.partition(" ")
    head = head.strip("<>()[],;")
    rest_title = _TITLE_SEPARATOR.sub("", rest).strip() or None
    key = f"line {number}"
    arxiv_id = arxiv_in(head, marked=False)
    doi = parse_doi(head) if head.lower().startswith(("10.", "doi:", "http")) else None
    if arxiv_id or doi:
        url = head if head.lower().startswith("http") else None
        return build_item(
            "id-list", key, number, title=rest_title, arxiv_id=arxiv_id, doi=doi, url=url
        )
    if _ID_LIKE.match(head):
        problem = f"'{head}' looks like an arXiv id or DOI but is not a valid one"
        raise fail(name, number, problem, _HINT)
    if head.lower().startswith(("http://", "https://")) and not rest:
        reason = "a link that is neither arXiv nor a DOI; give its arXiv id, DOI or title"
        return SkippedEntry(key=key, line=number, reason=reason)
    return build_item("id-list", key, number, title=line)
