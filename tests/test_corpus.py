"""The teacher corpus (training/corpus): sound labels, a manifest that tells the truth, the
variety it was built for, and nothing that leaks an eval article into training."""

from __future__ import annotations

import json

import pytest
from rapidfuzz import fuzz, process

from ceasefire.evals import run_eval
from ceasefire.evals.dataset import check_dataset
from ceasefire.schema import SECTIONS, ArticleSummary
from ceasefire_train.examples import corpus_stats
from conftest import ROOT

CORPUS = ROOT / "training" / "corpus"
MANIFEST = [json.loads(line) for line in (CORPUS / "manifest.jsonl").read_text("utf-8").splitlines() if line]
HEAD = 600
"""Characters compared for near-duplicates: the headline and lead, where a copy shows."""


def test_every_teacher_label_passes_the_checker():
    assert check_dataset(CORPUS) == []


def heads(folder):
    return {p.stem: p.read_text("utf-8")[:HEAD] for p in sorted((folder / "articles").glob("*.txt"))}


@pytest.mark.parametrize("split", ["test", "dev"])
def test_no_corpus_article_is_a_near_duplicate_of_an_eval_article(split):
    corpus, evals = heads(CORPUS), heads(ROOT / "evals" / "datasets" / split)
    scores = process.cdist(list(corpus.values()), list(evals.values()), scorer=fuzz.ratio, workers=1)
    close = [
        (corpus_id, eval_id, round(float(scores[i, j])))
        for i, corpus_id in enumerate(corpus)
        for j, eval_id in enumerate(evals)
        if scores[i, j] >= 80
    ]
    assert close == []


def test_the_duplicate_check_would_catch_a_lightly_edited_copy():
    article = next(iter(heads(ROOT / "evals" / "datasets" / "test").values()))
    edited = article.replace("said", "stated", 2).replace(" the ", " a ", 2)
    assert fuzz.ratio(article, edited) >= 80


def test_the_manifest_describes_every_article():
    articles = {p.stem: p.read_text("utf-8") for p in (CORPUS / "articles").glob("*.txt")}
    assert sorted(row["id"] for row in MANIFEST) == sorted(articles)
    for row in MANIFEST:
        gold = ArticleSummary.model_validate_json((CORPUS / "gold" / f"{row['id']}.json").read_text("utf-8"))
        assert row["words"] == len(articles[row["id"]].split()), row["id"]
        assert row["language"] in {"en", "fr", "es"}, row["id"]
        assert row["kind"] in {"real-event", "fictional", "no-topic"}, row["id"]
        assert row["teacher"], row["id"]
        if row["kind"] == "no-topic":
            assert row["conflict"] is None and gold.conflict is None, row["id"]
            assert not any(getattr(gold, section) for section in SECTIONS), row["id"]
        if row["kind"] == "real-event":
            assert row["sources"], f"{row['id']}: a real event names where its facts come from"


def test_the_corpus_has_the_variety_it_was_built_for():
    stats = corpus_stats(CORPUS)
    n = stats["articles"]["in all"]
    assert n >= 300
    assert stats["articles"]["distinct conflicts"] >= 40
    russia_ukraine = sum(
        c for name, c in stats["conflict"].items() if "russia" in name.lower() and "ukrain" in name.lower()
    )
    assert russia_ukraine <= 0.25 * n
    assert stats["language"]["fr"] >= 0.10 * n and stats["language"]["es"] >= 0.05 * n
    assert stats["kind"]["no-topic"] >= 0.10 * n
    assert stats["articles"]["with 3+ items in some section"] >= n / 3
    assert stats["length"]["brief (< 150 words)"] > 0 and stats["length"]["1,000+ words"] > 0


def test_the_corpus_is_never_scored_as_an_eval_result(tmp_path):
    with pytest.raises(ValueError, match="teacher labels"):
        run_eval(CORPUS, None, "openai/never-called", api_key="sk-never-used-0000", progress=False)
