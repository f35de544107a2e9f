"""The sentence relevance model that picks a section's candidate sentences under a grammar."""

from __future__ import annotations

import json
from pathlib import Path

from ceasefire import choices, relevance
from ceasefire.choices import candidate_spans, sentence_of, sentence_spans
from ceasefire.evals.dataset import load_dataset
from ceasefire.schema import SECTIONS
from ceasefire_train.relevance import labelled_sentences, main, train

ROOT = Path(__file__).parents[1]
[SEED] = load_dataset(ROOT / "seeds")


def test_training_separates_the_evidence_sentences_of_an_article():
    rows = labelled_sentences([SEED], "security_guarantees")
    spans = sentence_spans(SEED.text)
    evidence = {sentence_of([e], spans) for item in SEED.gold.security_guarantees for e in item.evidence}
    assert [label for _, label in rows] == [int(n in evidence) for n in range(1, len(spans) + 1)]
    weights = train(rows)
    scores = [sum(weights.get(f, 0.0) for f in found) for found, _ in rows]
    lowest_positive = min(s for s, (_, label) in zip(scores, rows, strict=True) if label)
    assert all(s < lowest_positive for s, (_, label) in zip(scores, rows, strict=True) if not label)


def test_the_command_writes_weights_the_library_reads(tmp_path, monkeypatch):
    out = tmp_path / "relevance.json"
    assert main(["--corpus", str(ROOT / "seeds"), "--out", str(out)]) == 0
    model = json.loads(out.read_text("utf-8"))
    assert set(model) == set(SECTIONS)
    assert all(abs(w) >= 0.3 for weights in model.values() for w in weights.values())
    monkeypatch.setattr(relevance, "_weights", lambda: model)
    guarantee = SEED.gold.security_guarantees[0].evidence[0].quote
    assert relevance.score(guarantee, 3, "security_guarantees") > relevance.score(guarantee, 3, "attacks")


def test_the_shipped_model_offers_the_seed_items_among_few_sentences():
    spans = sentence_spans(SEED.text)
    offered = labelled = 0
    for section in SECTIONS:
        candidates = candidate_spans(SEED.text, section)
        assert len(candidates) <= choices.MAX_CANDIDATES
        for item in getattr(SEED.gold, section):
            labelled += 1
            offered += sentence_of(item.evidence, candidates) is not None
    assert offered >= labelled - 1  # one attack's sentence is missed: 11 of 12 today
    assert sum(len(candidate_spans(SEED.text, s)) for s in SECTIONS) < 2 * len(spans)


def test_text_that_is_not_news_of_war_offers_no_sentence():
    recipe = (
        "Preheat the oven to 200 degrees.\nMix the flour with two eggs and a cup of milk.\n"
        "Bake for 25 minutes until golden.\nServe warm with butter."
    )
    assert all(candidate_spans(recipe, section) == [] for section in SECTIONS)


def test_the_candidates_id_changes_with_the_bounds_and_the_weights(monkeypatch):
    before = choices.candidates_id()
    monkeypatch.setattr(choices, "MIN_RELEVANCE", choices.MIN_RELEVANCE - 1)
    assert choices.candidates_id() != before
    monkeypatch.undo()
    monkeypatch.setattr(relevance, "_weights_text", lambda: "{}")
    assert choices.candidates_id() != before
