"""The teacher corpus (training/corpus) and its focus batches (training/corpus-focus,
training/corpus-talks): sound labels,
manifests that tell the truth, what each was built for, and nothing that leaks an eval article
into training."""

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
FOCUS = ROOT / "training" / "corpus-focus"
TALKS = ROOT / "training" / "corpus-talks"
TEACHER_LABELLED = pytest.mark.parametrize("corpus", [CORPUS, FOCUS, TALKS], ids=["corpus", "focus", "talks"])
HEAD = 600
"""Characters compared for near-duplicates: the headline and lead, where a copy shows."""


def manifest(corpus):
    return [json.loads(line) for line in (corpus / "manifest.jsonl").read_text("utf-8").splitlines() if line]


@TEACHER_LABELLED
def test_every_teacher_label_passes_the_checker(corpus):
    assert check_dataset(corpus) == []


def heads(folder):
    return {p.stem: p.read_text("utf-8")[:HEAD] for p in sorted((folder / "articles").glob("*.txt"))}


@TEACHER_LABELLED
@pytest.mark.parametrize("split", ["test", "dev"])
def test_no_corpus_article_is_a_near_duplicate_of_an_eval_article(corpus, split):
    teacher, evals = heads(corpus), heads(ROOT / "evals" / "datasets" / split)
    scores = process.cdist(list(teacher.values()), list(evals.values()), scorer=fuzz.ratio, workers=1)
    close = [
        (teacher_id, eval_id, round(float(scores[i, j])))
        for i, teacher_id in enumerate(teacher)
        for j, eval_id in enumerate(evals)
        if scores[i, j] >= 80
    ]
    assert close == []


def test_the_duplicate_check_would_catch_a_lightly_edited_copy():
    article = next(iter(heads(ROOT / "evals" / "datasets" / "test").values()))
    edited = article.replace("said", "stated", 2).replace(" the ", " a ", 2)
    assert fuzz.ratio(article, edited) >= 80


@TEACHER_LABELLED
def test_the_manifest_describes_every_article(corpus):
    articles = {p.stem: p.read_text("utf-8") for p in (corpus / "articles").glob("*.txt")}
    rows = manifest(corpus)
    assert sorted(row["id"] for row in rows) == sorted(articles)
    for row in rows:
        gold = ArticleSummary.model_validate_json((corpus / "gold" / f"{row['id']}.json").read_text("utf-8"))
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


def test_the_focus_batch_is_rich_in_what_the_default_misses():
    """Built because the default writes too few guarantees and territory items: per article it
    holds at least twice the corpus's items of those two sections."""

    def per_article(corpus):
        golds = [
            ArticleSummary.model_validate_json(p.read_text("utf-8")) for p in (corpus / "gold").glob("*.json")
        ]
        return sum(len(g.security_guarantees) + len(g.territorial_control) for g in golds) / len(golds)

    assert per_article(FOCUS) >= 2 * per_article(CORPUS)
    assert sorted({row["focus"] for row in manifest(FOCUS)}) == ["both", "guarantees", "territory"]


def test_the_talks_batch_is_rich_in_what_the_default_misses():
    """Built because the default leaves talks' mediators, positions and sticking points short, names
    delegations by their country, and calls too many talks agreed: per talks item it holds more of
    each than the corpus, delegations named as such, and "agreed" for at most one item in five."""

    def talks(corpus):
        golds = [
            ArticleSummary.model_validate_json(p.read_text("utf-8")) for p in (corpus / "gold").glob("*.json")
        ]
        return [t for g in golds for t in g.ceasefire_talks]

    def per_item(items, field):
        return sum(len(getattr(t, field)) for t in items) / len(items)

    batch, corpus = talks(TALKS), talks(CORPUS)
    for field in ["mediators", "positions", "sticking_points"]:
        assert per_item(batch, field) >= 1.5 * per_item(corpus, field), field
    delegations = [p for t in batch for p in t.participants if "delegation" in p.name.lower()]
    assert len(delegations) >= 0.1 * sum(len(t.participants) for t in batch)
    assert sum(t.status == "agreed" for t in batch) <= len(batch) / 5
    assert {row["focus"] for row in manifest(TALKS)} == {"talks"}


@TEACHER_LABELLED
def test_the_corpus_is_never_scored_as_an_eval_result(corpus):
    with pytest.raises(ValueError, match="teacher labels"):
        run_eval(corpus, None, "openai/never-called", api_key="sk-never-used-0000", progress=False)
