"""Clustering and keyword naming: separated topics land in separate themes, deterministically."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from agent.digest.keywords import distinctive_terms, name_from_terms
from agent.digest.themes import cluster, k_range, silhouette, spherical_kmeans

DEMO_CORPUS = Path(__file__).resolve().parents[1] / "agent" / "data" / "demo_corpus.jsonl"


def blobs(sizes: list[int], dim: int = 32, spread: float = 0.15, seed: int = 1):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(len(sizes), dim))
    xs, labels = [], []
    for c, n in enumerate(sizes):
        xs.append(centers[c] + spread * rng.normal(size=(n, dim)) * np.linalg.norm(centers[c]))
        labels += [c] * n
    x = np.vstack(xs)
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.array(labels)


def purity(groups: list[list[int]], labels: np.ndarray) -> float:
    return sum(Counter(labels[g]).most_common(1)[0][1] for g in groups) / sum(map(len, groups))


@pytest.mark.parametrize("sizes", [[10, 10, 10, 10], [30, 8, 15, 20, 12], [40, 40, 40]])
def test_separated_blobs_become_one_theme_each(sizes):
    x, labels = blobs(sizes)
    result = cluster(x)
    assert result.k == len(sizes)
    assert purity(result.groups, labels) == 1.0
    assert sorted(map(len, result.groups)) == sorted(sizes)


def test_same_input_same_themes():
    x, _ = blobs([12, 9, 15])
    assert cluster(x).groups == cluster(x.copy()).groups


def test_singleton_outlier_goes_to_leftovers():
    x, _ = blobs([10, 10, 10])
    outlier = -x.mean(axis=0, keepdims=True)
    result = cluster(np.vstack([x, outlier / np.linalg.norm(outlier)]), min_themes=2, max_themes=4)
    assert all(30 not in g for g in result.groups)
    assert 30 in result.leftovers


def test_number_of_themes_bounds():
    assert k_range(3) == (1, 1)  # too few papers to split
    assert k_range(12) == (2, 4)
    assert k_range(20) == (3, 6)
    assert k_range(200) == (3, 8)
    assert k_range(2000, max_themes=12) == (3, 12)


def test_few_papers_make_a_single_theme():
    x, _ = blobs([2, 2])
    result = cluster(x)
    assert result.k == 1 and [sorted(g) for g in result.groups] == [[0, 1, 2, 3]]


def test_silhouette_prefers_the_true_partition():
    x, labels = blobs([10, 10, 10])
    dist = np.clip(1 - x @ x.T, 0, 2)
    shuffled = np.random.default_rng(0).permutation(labels)
    assert silhouette(dist, labels) > 0.5 > silhouette(dist, shuffled)


def test_kmeans_fit_is_best_of_inits():
    x, _ = blobs([10, 10, 10, 10])
    _, one = spherical_kmeans(x, 4, n_init=1, seed=3)
    _, many = spherical_kmeans(x, 4, n_init=10, seed=3)
    assert many >= one - 1e-9


def test_real_abstracts_of_four_fields_form_four_themes(minilm):
    rows = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines()]
    fields = ["rl-robotics", "gnn-molecules", "ml-climate", "llm-reasoning"]
    rows = [r for r in rows if r["topic"] in fields]
    vectors = minilm.embed([f"{r['title']}\n\n{r['abstract']}" for r in rows])
    labels = np.array([fields.index(r["topic"]) for r in rows])
    result = cluster(vectors)
    assert result.k == 4
    assert purity(result.groups, labels) == 1.0
    terms = distinctive_terms(
        [[f"{rows[i]['title']}. {rows[i]['abstract']}" for i in g] for g in result.groups]
    )
    by_field = {
        fields[Counter(labels[g]).most_common(1)[0][0]]: t
        for g, t in zip(result.groups, terms, strict=True)
    }
    assert any("robot" in t.lower() for t in by_field["rl-robotics"][:3])
    assert any("molecul" in t.lower() for t in by_field["gnn-molecules"][:3])
    assert any(w in " ".join(by_field["ml-climate"][:3]).lower() for w in ("forecast", "climate"))


def test_distinctive_terms_prefer_what_sets_a_theme_apart():
    a = ["Protein folding with diffusion models.", "Diffusion for protein design and folding."]
    b = ["Diffusion models for image editing.", "Image super-resolution with diffusion."]
    terms = distinctive_terms([a, b])
    assert terms[0][0].startswith("protein") or terms[0][0].startswith("folding")
    assert "image" in terms[1][0]
    assert "diffusion" not in (terms[0][0], terms[1][0])  # shared by both: not distinctive


def test_plural_and_singular_count_as_one_term_and_acronyms_keep_capitals():
    docs = ["LLMs forecast weather.", "The forecasts of LLMs.", "A forecast by LLMs."]
    terms = distinctive_terms([docs], background=["Graphs of proteins.", "Protein graphs."])
    assert "LLMs" in terms[0]
    assert sum(t.startswith("forecast") for t in terms[0]) == 1


def test_one_wordy_abstract_cannot_name_a_theme():
    docs = ["quokka quokka quokka quokka", "graph networks", "graph networks again"]
    assert "quokka" not in distinctive_terms([docs])[0]


def test_name_from_terms():
    assert name_from_terms(["graph neural networks", "solubility"]) == (
        "Graph neural networks and solubility"
    )
    assert name_from_terms(["a", "b", "c", "d"]) == "A, b and c"
    assert name_from_terms([]) == "Other new papers"
