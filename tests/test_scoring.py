"""The scorer proves itself: perfect on gold, zero recall on nothing, in between on errors."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.evals import aggregate, load_dataset, score_article
from ceasefire.evals.scoring import normalize_name, same_name
from ceasefire.schema import SECTIONS, ArticleSummary
from conftest import ROOT

SAMPLES = load_dataset(ROOT / "evals" / "datasets", "dev") + load_dataset(ROOT / "seeds")
RICH = [s for s in SAMPLES if sum(len(getattr(s.gold, x)) for x in SECTIONS) >= 4]


def overall(gold: ArticleSummary, pred: ArticleSummary | None) -> dict:
    return aggregate([score_article(gold, pred)])["overall"]


def test_gold_against_itself_scores_one():
    scores = aggregate(score_article(s.gold, s.gold) for s in SAMPLES)
    assert scores["overall"]["f1"] == 1.0 and scores["macro"]["f1"] == 1.0
    assert all(sec["items"]["f1"] == 1.0 for sec in scores["sections"].values())


def test_empty_prediction_has_zero_recall():
    scores = aggregate(score_article(s.gold, None) for s in SAMPLES)
    assert scores["overall"]["recall"] == 0.0
    empty = ArticleSummary(headline="h", summary="s")
    assert all(overall(s.gold, empty)["recall"] == 0.0 for s in RICH)


@pytest.mark.parametrize(
    "section, field, value",
    [
        ("attacks", "weapon", "other"),
        ("territorial_control", "share_percent", 3.0),
        ("ceasefire_talks", "status", "collapsed"),
        ("security_guarantees", "guarantor", "Kingdom of Tonga"),
    ],
)
def test_one_field_changed_scores_strictly_between(section, field, value):
    sample = next(
        s
        for s in SAMPLES
        if getattr(s.gold, section) and getattr(getattr(s.gold, section)[0], field) != value
    )
    pred = sample.gold.model_copy(deep=True)
    setattr(getattr(pred, section)[0], field, value)
    f1 = overall(sample.gold, pred)["f1"]
    assert 0.0 < f1 < 1.0
    field_f1 = aggregate([score_article(sample.gold, pred)])["fields"][f"{section}.{field}"]["f1"]
    assert field_f1 < 1.0


def test_item_order_changes_nothing():
    for sample in RICH:
        pred = sample.gold.model_copy(deep=True)
        for section in SECTIONS:
            getattr(pred, section).reverse()
        assert aggregate([score_article(sample.gold, pred)]) == aggregate(
            [score_article(sample.gold, sample.gold)]
        )


def test_party_aliases_and_normalisation():
    assert normalize_name("The U.S.") == normalize_name("Washington") == "united states"
    assert same_name("President Zelensky", "Volodymyr Zelensky")
    assert not same_name("Russia", "Ukraine")
    assert not same_name("Donetsk region", "Luhansk region")


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(RICH) - 1), st.integers(0, 2**32 - 1))
def test_random_perturbations_never_score_above_gold(index, seed):
    sample = RICH[index]
    rng = random.Random(seed)
    pred = sample.gold.model_copy(deep=True)
    changed = False
    for section in SECTIONS:
        items = getattr(pred, section)
        rng.shuffle(items)
        if items and rng.random() < 0.4:
            items.pop()
            changed = True
    scores = aggregate([score_article(sample.gold, pred)])
    for key in ("precision", "recall", "f1"):
        assert 0.0 <= scores["overall"][key] <= 1.0
    if changed:
        assert scores["overall"]["recall"] < 1.0
        assert scores["overall"]["precision"] == 1.0  # dropping items invents nothing
    else:
        assert scores["overall"]["f1"] == 1.0
