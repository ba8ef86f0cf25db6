"""What the LaTeX fixture papers say, read from their source: the expected text for the
full-text parser tests (tests/fixtures/fulltext/latex/*.tex are the papers the HTML and PDF
fixtures were made from; make_fixtures.sh beside them remakes those).

``expected_paragraphs`` gives the body paragraphs as plain words: display math, floats,
footnotes, citations and the bibliography removed, inline math dropped (the parsers render it
their own way), so what is compared is the prose a reader would see.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from pylatexenc.latex2text import LatexNodes2Text

LATEX = Path(__file__).parent / "fixtures" / "fulltext" / "latex"
_ENVIRONMENTS_DROPPED = ("figure", "table", "equation", "align", "abstract", "thebibliography")
_WORD = re.compile(r"[A-Za-z]{3,}")


#: Every heading LaTeX numbered (or not) in the four sources, in order (HTML and PDF alike).
HEADINGS = {
    "routed_retrieval": [
        ("1", "Introduction"),
        ("2", "Related Work"),
        ("3", "Method"),
        ("3.1", "Section Router"),
        ("3.2", "Sparse Experts"),
        ("3.2.1", "Training Signal"),
        ("4", "Experiments"),
        ("4.1", "Setup"),
        ("4.2", "Results"),
        ("5", "Conclusion"),
        (None, "Acknowledgments"),
        ("A", "Hyperparameters"),
    ],
    "soil_moisture": [
        ("1", "Introduction"),
        ("2", "Sensor Calibration"),
        ("2.1", "Gravimetric Reference"),
        ("2.2", "Temperature Correction"),
        ("3", "Field Evaluation"),
        ("3.1", "Sites and Seasons"),
        ("3.2", "Accuracy"),
        ("4", "Farmer Decisions"),
        ("5", "Conclusion"),
    ],
    "queue_bounds": [
        ("1", "Introduction"),
        ("2", "Model"),
        ("2.1", "Mean-Field Limit"),
        ("3", "Tail Bounds"),
        ("4", "Simulation"),
        (None, "Limitations"),
    ],
    "speech_adapters": [
        ("1", "Introduction"),
        ("2", "Background and Related Work"),
        ("3", "Adapters for the Conformer Encoder"),
        ("3.1", "Architecture"),
        ("3.2", "Training"),
        ("4", "Experiments"),
        ("4.1", "Data"),
        ("4.2", "Results"),
        ("5", "Conclusion"),
        (None, "Acknowledgements"),
        ("A", "Training Details"),
        ("A.1", "Hardware"),
        ("A.2", "Evaluation Lists"),
    ],
}


def _drop_braced(text: str, macro: str) -> str:
    """Remove ``\\macro{...}`` with balanced braces (footnotes hold braces of their own)."""
    out, i = [], 0
    while (start := text.find(f"\\{macro}{{", i)) != -1:
        out.append(text[i:start])
        depth, j = 0, start + len(macro) + 1
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    out.append(text[i:])
    return "".join(out)


def body_source(name: str) -> str:
    tex = (LATEX / f"{name}.tex").read_text(encoding="utf-8")
    body = tex.split("\\begin{document}", 1)[1].split("\\end{document}", 1)[0]
    for env in _ENVIRONMENTS_DROPPED:
        body = re.sub(rf"\\begin{{{env}\*?}}.*?\\end{{{env}\*?}}", "\n\n", body, flags=re.S)
    body = re.sub(r"\\\[.*?\\\]", " ", body, flags=re.S)
    for macro in ("footnote", "thanks", "label", "cite", "citep", "citet", "ref"):
        body = _drop_braced(body, macro)
    body = re.sub(r"\\(?:sub)*section\*?\{[^}]*\}|\\appendix|\\maketitle", "\n\n", body)
    return re.sub(r"\\bibliographystyle\{[^}]*\}", "", body)


def expected_paragraphs(name: str) -> list[str]:
    converter = LatexNodes2Text(math_mode="remove")
    paragraphs = []
    for block in re.split(r"\n\s*\n", body_source(name)):
        text = " ".join(converter.latex_to_text(block).split())
        if _WORD.search(text):
            paragraphs.append(text)
    return paragraphs


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def recovered(expected: list[str], got: list[str]) -> float:
    """Share of the expected words found, in order, in what the parser gave."""
    matcher = difflib.SequenceMatcher(None, expected, got, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / max(1, len(expected))
