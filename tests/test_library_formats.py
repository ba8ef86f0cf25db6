"""Reading researchers' library exports: BibTeX, RIS, CSL-JSON, Zotero CSV and id lists.

Fixtures under tests/fixtures/library/ are written the way Zotero 7, Better BibTeX and Google
Scholar write them, with real papers' metadata.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import InputError, LibraryFormatError
from agent.library import LibraryItem, read_library

FIXTURES = Path(__file__).parent / "fixtures" / "library"


def by_key(path: Path) -> dict[str, LibraryItem]:
    return {item.key: item for item in read_library(path).items}


# --- BibTeX -------------------------------------------------------------------------------


def test_zotero_and_better_bibtex_export() -> None:
    library = read_library(FIXTURES / "zotero.bib")
    items = {item.key: item for item in library.items}
    assert library.format == "bibtex"
    assert len(items) == 9

    dsb = items["debortoli_diffusion_2021"]
    assert dsb.title == (
        "Diffusion Schrödinger Bridge with Applications to Score-Based Generative Modeling"
    )
    assert "solving the Schrödinger Bridge problem (SB), i.e." in dsb.abstract
    assert "finite time — we present Diffusion SB (DSB)." in dsb.abstract
    assert dsb.year == 2021  # BibLaTeX `date`
    assert dsb.venue == "Advances in Neural Information Processing Systems"  # `journaltitle`
    assert dsb.authors[0] == "Valentin De Bortoli"

    attention = items["vaswaniAttentionAllYou2017"]
    assert attention.title == "Attention Is All You Need"  # {{...}} from Better BibTeX
    assert attention.arxiv_id == "1706.03762"  # eprint + eprinttype = {arXiv}
    assert "Łukasz Kaiser" in attention.authors
    assert attention.keywords == ["attention", "transformers"]

    bert = items["devlin_bert_2019"]
    assert bert.title == (
        "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    )
    assert bert.arxiv_id == "1810.04805"  # eprint + archivePrefix = {arXiv}
    assert bert.doi == "10.18653/v1/n19-1423"
    assert bert.abstract.startswith("We introduce a new language representation model called BERT")

    mamba = items["gu_mamba_2024"]
    assert mamba.arxiv_id == "2312.00752"
    assert mamba.doi == "10.48550/arxiv.2312.00752"
    assert mamba.authors == ["Albert Gu", "Tri Dao"]
    assert "structured state space models (SSMs)" in mamba.abstract

    # Google Scholar style: the id only in `journal = {arXiv preprint arXiv:...}`
    assert items["chen2022likelihood"].arxiv_id == "2110.11291"
    assert items["chen2022likelihood"].title.startswith("Likelihood Training of Schrödinger")

    kim = items["kim_interior-point_2007"]
    # The one LaTeX renderer (digest titles use it too): $\ell_1$ reads as people write it.
    assert kim.title == "An Interior-Point Method for Large-Scale ℓ1-Regularized Least Squares"
    assert kim.doi == "10.1109/jstsp.2007.910971"
    lecun = items["lecun_gradient-based_1998"]
    assert lecun.doi == "10.1109/5.726791"  # `https://doi.org/` prefix dropped
    assert "Léon Bottou" in lecun.authors
    assert items["hyvarinen_estimation_2005"].authors == ["Aapo Hyvärinen"]


def test_bibtex_entries_without_abstract_still_count() -> None:
    items = by_key(FIXTURES / "zotero.bib")
    lora = items["huLoRALowRankAdaptation2021"]
    assert lora.abstract is None
    assert lora.title == "LoRA: Low-Rank Adaptation of Large Language Models"
    assert lora.arxiv_id == "2106.09685"
    assert lora.text_for_embedding() == (
        "LoRA: Low-Rank Adaptation of Large Language Models. Keywords: "
        "Computer Science - Artificial Intelligence, Computer Science - Computation and "
        "Language, Computer Science - Machine Learning"
    )
    plain = items["kim_interior-point_2007"]
    assert plain.text_for_embedding() == plain.title


def test_bibtex_duplicates_collapse_and_useless_entries_are_skipped() -> None:
    library = read_library(FIXTURES / "zotero.bib")
    [duplicate] = library.duplicates
    assert duplicate.key == "vaswani2017attention"
    assert duplicate.duplicate_of == "vaswaniAttentionAllYou2017"
    assert duplicate.matched_on == "title"
    kept = next(i for i in library.items if i.key == "vaswaniAttentionAllYou2017")
    assert kept.url and kept.url.startswith("https://proceedings.neurips.cc/paper/2017/")
    [skipped] = library.skipped
    assert skipped.key == "zotero_attachment_only"
    assert skipped.line == 118
    assert "no title" in skipped.reason


def test_bibtex_unclosed_entry_names_line_and_key() -> None:
    with pytest.raises(LibraryFormatError) as caught:
        read_library(FIXTURES / "unclosed.bib")
    error = caught.value
    assert isinstance(error, InputError)
    assert str(error).startswith("unclosed.bib line 9: entry 'smith2020' is not closed")
    assert "line 16" in str(error)  # where the parser ran into the next entry
    assert "unbalanced `{`" in error.hint


def test_bibtex_repeated_field_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "refs.bib"
    path.write_text(
        "@article{ok, title = {Fine}, year = {2020}}\n\n"
        "@article{twice,\n  title = {One},\n  title = {Two},\n}\n",
        encoding="utf-8",
    )
    with pytest.raises(LibraryFormatError, match=r"refs.bib line 3: entry 'twice' has the field"):
        read_library(path)


def test_bibtex_concatenated_exports_sharing_a_key(tmp_path: Path) -> None:
    path = tmp_path / "merged.bib"
    path.write_text(
        "@misc{gu2023, title = {Mamba: Linear-Time Sequence Modeling with Selective State Spaces},"
        " eprint = {2312.00752}, archivePrefix = {arXiv}}\n"
        "@misc{gu2023, title = {Mamba}, note = {arXiv:2312.00752 [cs]}, abstract = {Foundation.}}\n"
        "@misc{gu2023, title = {Efficiently Modeling Long Sequences with Structured State Spaces},"
        " eprint = {2111.00396}, archivePrefix = {arXiv}}\n",
        encoding="utf-8",
    )
    library = read_library(path)
    assert [(i.key, i.arxiv_id) for i in library.items] == [
        ("gu2023", "2312.00752"),
        ("gu2023#3", "2111.00396"),
    ]
    assert library.items[0].abstract == "Foundation."  # filled in from the duplicate
    assert [(d.key, d.matched_on) for d in library.duplicates] == [("gu2023#2", "arxiv_id")]


# --- RIS ----------------------------------------------------------------------------------


def test_zotero_ris_export() -> None:
    library = read_library(FIXTURES / "zotero.ris")
    assert library.format == "ris"
    attention, mamba, bert, chen = library.items
    assert attention.title == "Attention Is All You Need"
    assert attention.authors == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Łukasz Kaiser"]
    assert attention.venue == "Advances in Neural Information Processing Systems"  # T2
    assert attention.keywords == ["attention", "transformers"]
    assert attention.year == 2017
    assert mamba.arxiv_id == "2312.00752"  # from DO 10.48550/arXiv.2312.00752
    assert mamba.doi == "10.48550/arxiv.2312.00752"
    assert mamba.abstract.endswith(  # continuation line joined to AB
        "attention module. We identify that a key weakness of such models is their inability "
        "to perform content-based reasoning."
    )
    assert bert.abstract is None
    assert bert.doi == "10.18653/v1/n19-1423"
    assert bert.line == 33
    assert chen.arxiv_id == "2110.11291"  # from an abs URL with a version
    assert chen.keywords == ["Schrödinger bridge", "diffusion models"]
    [skipped] = library.skipped
    assert (skipped.key, skipped.line) == ("record 5", 61)


def test_ris_saved_as_txt_is_detected_by_content(tmp_path: Path) -> None:
    copy = tmp_path / "export.txt"
    shutil.copy(FIXTURES / "zotero.ris", copy)
    library = read_library(copy)
    assert library.format == "ris"
    assert len(library.items) == 4


def test_ris_missing_er_names_the_record(tmp_path: Path) -> None:
    with pytest.raises(LibraryFormatError) as caught:
        read_library(FIXTURES / "missing_er.ris")
    assert str(caught.value) == (
        "missing_er.ris line 7: record 2 has no `ER  - ` line before the next `TY  - ` (line 12)"
    )
    truncated = tmp_path / "truncated.ris"
    truncated.write_text("TY  - JOUR\nTI  - Attention Is All You Need\nPY  - 2017\n")
    with pytest.raises(LibraryFormatError, match=r"truncated.ris line 1: record 1 has no `ER"):
        read_library(truncated)


# --- CSL-JSON -----------------------------------------------------------------------------


def test_zotero_csl_json_export() -> None:
    library = read_library(FIXTURES / "zotero_csl.json")
    assert library.format == "csl-json"
    mamba, dsb, lasso, rfdiffusion, gpt4 = library.items
    assert mamba.arxiv_id == "2312.00752"  # only in note: "arXiv: 2312.00752"
    assert mamba.year == 2023  # issued.date-parts with the year as a string
    assert mamba.authors == ["Albert Gu", "Tri Dao"]
    assert mamba.abstract.startswith("Foundation models, now powering")
    assert dsb.title == (
        "Diffusion Schrödinger Bridge with Applications to Score-Based Generative Modeling"
    )
    assert dsb.venue == "Advances in Neural Information Processing Systems"
    assert lasso.doi == "10.1111/j.2517-6161.1996.tb02080.x"  # upper-case DOI normalised
    assert lasso.abstract is None
    assert lasso.text_for_embedding() == "Regression Shrinkage and Selection Via the Lasso"
    assert rfdiffusion.title == (  # Zotero's <i> rich-text markup removed
        "De novo design of protein structure and function with RFdiffusion"
    )
    assert gpt4.authors == ["OpenAI"]
    assert gpt4.arxiv_id == "2303.08774"
    [skipped] = library.skipped
    assert skipped.key.endswith("/items/EMPTYNOTE")


def test_csl_json_syntax_error_names_the_line() -> None:
    with pytest.raises(LibraryFormatError) as caught:
        read_library(FIXTURES / "broken_csl.json")
    assert str(caught.value) == (
        "broken_csl.json line 7: not valid JSON: Expecting ',' delimiter (column 3)"
    )


def test_json_that_is_not_csl_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "daily.json"
    path.write_text('[{"paper": {"id": "2312.00752", "summary": "..."}, "numComments": 3}]')
    with pytest.raises(LibraryFormatError, match="this is not CSL-JSON"):
        read_library(path)


# --- Zotero CSV ---------------------------------------------------------------------------


def test_zotero_csv_export_with_bom_quotes_and_newlines() -> None:
    library = read_library(FIXTURES / "zotero.csv")
    assert library.format == "zotero-csv"
    lora, bert, hyvarinen = library.items
    assert lora.key == "8WQZ3J2N"  # the BOM did not end up in the "Key" header
    assert lora.authors[:2] == ["Edward J. Hu", "Yelong Shen"]
    assert "becomes less feasible. We propose Low-Rank Adaptation, or LoRA," in lora.abstract
    assert lora.arxiv_id == "2106.09685"
    assert lora.keywords == [
        "fine-tuning",
        "parameter-efficient",
        "Computer Science - Computation and Language",
        "Computer Science - Machine Learning",
    ]
    assert '"Bidirectional Encoder Representations from Transformers"' in bert.abstract
    assert bert.arxiv_id == "1810.04805"  # from Extra: "arXiv: 1810.04805"
    assert bert.venue.startswith("Proceedings of the 2019 Conference of the North American")
    assert (bert.line, hyvarinen.line) == (4, 5)  # the LoRA row spans lines 2-3
    assert hyvarinen.abstract is None
    assert hyvarinen.authors == ["Aapo Hyvärinen"]
    assert [s.key for s in library.skipped] == ["ZZNOTE01"]


def test_csv_without_title_column_is_refused() -> None:
    with pytest.raises(LibraryFormatError) as caught:
        read_library(FIXTURES / "no_title.csv")
    assert str(caught.value).startswith("no_title.csv line 1: the header has no Title column")
    assert "Export Library > CSV" in caught.value.hint


def test_csv_row_with_an_unquoted_comma_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "library.csv"
    path.write_text(
        '"Key","Title","Abstract Note"\n'
        '"A1","Attention Is All You Need","We propose the Transformer."\n'
        '"B2",Mamba: Linear-Time, Sequence Modeling,"Selective state spaces."\n'
    )
    with pytest.raises(LibraryFormatError, match=r"library.csv line 3: row has 4 fields"):
        read_library(path)


# --- Plain id lists -----------------------------------------------------------------------


def test_id_list_with_ids_urls_dois_titles_and_comments() -> None:
    library = read_library(FIXTURES / "reading_list.txt")
    assert library.format == "id-list"
    ids = [(i.arxiv_id, i.doi, i.title) for i in library.items]
    assert ids == [
        ("2312.00752", None, None),
        ("1706.03762", None, None),
        ("2106.09685", None, None),
        ("1810.04805", None, None),
        (
            "hep-th/9711200",
            None,
            "The Large N Limit of Superconformal Field Theories and Supergravity",
        ),
        (None, "10.1111/j.2517-6161.1996.tb02080.x", None),
        ("2106.01357", "10.48550/arxiv.2106.01357", None),
        (None, "10.1038/s41586-023-06415-8", None),
        (None, None, "Denoising Diffusion Probabilistic Models"),
        (None, None, "Score-Based Generative Modeling through Stochastic Differential Equations"),
    ]
    assert library.items[0].needs_lookup and library.items[0].text_for_embedding() == ""
    assert library.items[0].key == "line 3"
    [duplicate] = library.duplicates
    assert (duplicate.key, duplicate.duplicate_of, duplicate.matched_on) == (
        "line 14",
        "line 4",
        "arxiv_id",
    )
    [skipped] = library.skipped
    assert skipped.line == 15 and "neither arXiv nor a DOI" in skipped.reason


def test_id_list_malformed_id_names_its_line() -> None:
    with pytest.raises(LibraryFormatError) as caught:
        read_library(FIXTURES / "bad_ids.txt")
    assert str(caught.value).startswith("bad_ids.txt line 3: '2106.096' looks like an arXiv id")


# --- Whole-file checks --------------------------------------------------------------------


def test_non_utf8_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.bib"
    text = "@article{a,\n  title = {Attention},\n  author = {Schrödinger, Erwin}\n}\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(LibraryFormatError) as caught:
        read_library(path)
    assert str(caught.value) == "latin1.bib line 3: not UTF-8 text (byte 0xf6)"
    assert "iconv" in caught.value.hint


def test_utf16_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.ris"
    path.write_text("TY  - JOUR\nTI  - A\nER  - \n", encoding="utf-16")
    with pytest.raises(LibraryFormatError, match="UTF-16"):
        read_library(path)


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.bib"
    with path.open("wb") as handle:
        handle.truncate(51 * 1024 * 1024)  # sparse: no 51 MB written
    with pytest.raises(LibraryFormatError, match="more than the 20 MB limit"):
        read_library(path)


def test_empty_or_comment_only_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("# nothing yet\n\n")
    with pytest.raises(LibraryFormatError, match=r"ids.txt: no entries found \(read as id-list\)"):
        read_library(path)


def test_long_abstract_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "long.ris"
    words = " ".join(f"word{i}" for i in range(6000))  # ~57k characters
    path.write_text(f"TY  - JOUR\nTI  - Long\nAB  - {words}\nER  - \n")
    [item] = read_library(path).items
    assert 19_000 < len(item.abstract) <= 20_002
    assert item.abstract.endswith(" …")


def test_format_can_be_forced(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("Attention Is All You Need\n")
    assert read_library(path).format == "id-list"
    with pytest.raises(LibraryFormatError, match="no entries found"):
        read_library(path, format="bibtex")


def test_import_stays_light() -> None:
    code = (
        "import sys, agent.library\n"
        "heavy = {'chromadb', 'sklearn', 'openai', 'langchain_openai', 'onnxruntime', "
        "'bibtexparser', 'rispy', 'pylatexenc'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
