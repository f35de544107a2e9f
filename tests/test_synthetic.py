"""The synthetic generator: exact evidence, labels the text supports, datasets the gold checker
accepts, and enough variety (enums, phrasings, empty and crowded articles) to train on."""

from __future__ import annotations

import json
import re
from collections import Counter
from enum import Enum

import pytest

from ceasefire.evals.dataset import check_dataset, load_dataset
from ceasefire.grounding import quotable_spans, split_sentences
from ceasefire.schema import (
    SECTIONS,
    Alignment,
    GuaranteeKind,
    GuaranteeStatus,
    TalksStatus,
    TargetKind,
    Weapon,
)
from ceasefire.sections import BY_NAME
from ceasefire_train.synthetic import NUMBER_WORDS, generate, gold_json, main, write_dataset
from conftest import ROOT


@pytest.fixture(scope="module")
def examples():
    return generate(n=400, seed=0)


def test_same_seed_same_articles_and_a_smaller_n_is_a_prefix(examples):
    again = generate(n=40, seed=0)
    assert [(e.id, e.text, gold_json(e.gold)) for e in again] == [
        (e.id, e.text, gold_json(e.gold)) for e in examples[:40]
    ]
    assert [e.text for e in generate(n=40, seed=1)] != [e.text for e in again]
    assert [e.id for e in examples[:3]] == ["syn-0000", "syn-0001", "syn-0002"]


def test_every_evidence_quote_is_exactly_its_span_and_a_sentence_the_grammar_offers(examples):
    for ex in examples:
        sentences = set(quotable_spans(ex.text))
        for _, item in ex.gold.items():
            for evidence in item.evidence:
                assert ex.text[evidence.start : evidence.end] == evidence.quote
                assert evidence.alignment == Alignment.exact
                assert evidence.quote in sentences, (ex.id, evidence.quote)


def test_each_item_is_first_quoted_by_a_sentence_with_its_section_cues(examples):
    # Synthetic items are phrased with their section's cue words, which the relevance model
    # that picks candidate sentences (choices.candidate_spans) counts.
    for ex in examples:
        for section, item in ex.gold.items():
            quote = item.evidence[0].quote
            assert BY_NAME[section].cue_pattern.search(quote), (ex.id, section, quote)


def _said(value: str | float, quotes: str) -> bool:
    """`value` is written in `quotes`: a string verbatim, a number in digits or in words."""
    if isinstance(value, str):
        return value in quotes
    n = int(value)
    words = [str(n), NUMBER_WORDS[n]] if n < len(NUMBER_WORDS) else [str(n)]
    return any(re.search(rf"(?<![\w.]){w}(?!\w)", quotes, re.IGNORECASE) for w in words)


def test_every_value_of_an_item_is_stated_in_its_evidence(examples):
    """Nothing inferred: names, dates, stances and numbers are written in the item's quotes. Enums,
    the title and the description are the labeller's words; an attack's country may come from
    elsewhere in the article, but must be in it."""
    for ex in examples:
        for section, item in ex.gold.items():
            quotes = " ".join(e.quote for e in item.evidence)
            for key, value in item.model_dump(
                exclude={"evidence", "title", "description", "country"}
            ).items():
                for part in value if isinstance(value, list) else [value]:
                    for v in part.values() if isinstance(part, dict) else [part]:
                        if v is not None and not isinstance(v, Enum):
                            assert _said(v, quotes), (ex.id, section, key, v, quotes)
            if section == "attacks" and item.country is not None:
                assert re.search(rf"\b{item.country}\b", ex.text)


def test_written_dataset_passes_the_gold_checker_in_the_dev_layout(examples, tmp_path):
    write_dataset(examples[:60], tmp_path)
    assert check_dataset(tmp_path) == []
    samples = load_dataset(tmp_path)
    assert [s.id for s in samples] == [e.id for e in examples[:60]]
    assert samples[5].text == examples[5].text and samples[5].gold == examples[5].gold
    # The same JSON shape as the hand-written gold: key order, no metadata, evidence last.
    dev = json.loads((ROOT / "evals/datasets/dev/gold/a03.json").read_text("utf-8"))
    golds = [json.loads((tmp_path / "gold" / f"{e.id}.json").read_text("utf-8")) for e in examples[:60]]
    assert all(list(g) == list(dev) for g in golds)
    for section in SECTIONS:
        item = next(g[section][0] for g in golds if g[section])
        assert list(item) == list(dev[section][0]), section


def test_command_line_writes_a_dataset(tmp_path, capsys):
    main([str(tmp_path / "out"), "--n", "3", "--seed", "5"])
    assert sorted(p.name for p in (tmp_path / "out/articles").iterdir()) == [
        f"syn-000{i}.txt" for i in range(3)
    ]
    assert check_dataset(tmp_path / "out") == []
    assert "3 articles" in capsys.readouterr().out


def test_every_enum_value_occurs(examples):
    items = [item for ex in examples for _, item in ex.gold.items()]
    seen = {(type(v), v) for item in items for v in vars(item).values() if isinstance(v, Enum)}
    for enum in (Weapon, TargetKind, TalksStatus, GuaranteeKind, GuaranteeStatus):
        missing = [v for v in enum if (enum, v) not in seen]
        assert not missing, (enum.__name__, missing)


def test_some_articles_are_about_nothing_and_some_sections_are_crowded(examples):
    empty = [ex for ex in examples if not ex.gold.items()]
    assert 0.05 * len(examples) <= len(empty) <= 0.2 * len(examples)
    assert all(ex.gold.conflict is None for ex in empty)
    assert all(ex.gold.conflict is not None for ex in examples if ex.gold.items())
    for section in SECTIONS:
        assert any(len(getattr(ex.gold, section)) >= 2 for ex in examples), section
    assert any(sum(bool(getattr(ex.gold, s)) for s in SECTIONS) == 4 for ex in examples)


def test_hedges_denials_and_claims_are_labelled_as_the_article_says(examples):
    attacks = [(ex, a) for ex in examples for a in ex.gold.attacks]
    # A denial is no evidence; without an attribution in the quotes the attacker stays null.
    denied = [(ex, a) for ex, a in attacks if a.attacker is None and "denied any involvement" in ex.text]
    assert denied
    assert all("denied" not in e.quote for _, a in attacks for e in a.evidence)
    # A claim of responsibility is evidence for the attacker it names.
    claimed = [a for _, a in attacks if any("claimed responsibility" in e.quote for e in a.evidence)]
    assert claimed and all(a.attacker is not None for a in claimed)
    hedged = [a for _, a in attacks if any(" was behind " in e.quote for e in a.evidence)]
    assert hedged and all(a.attacker is not None for a in hedged)
    assert any(a.killed is None and "dozens" in a.evidence[0].quote for _, a in attacks)


def test_articles_look_like_news(examples):
    for ex in examples:
        assert '"' not in ex.text and "\\" not in ex.text
        assert ex.text.split("\n", 1)[0] == ex.gold.headline
        assert 6 <= len(split_sentences(ex.text)) - 1 <= 20, ex.id
        assert ex.gold.summary
    assert any(re.search(rf"\b({'|'.join(NUMBER_WORDS[2:])}) people\b", ex.text) for ex in examples)


def test_each_section_is_written_in_at_least_three_phrasings(examples):
    used = Counter(t for ex in examples for t in ex.templates)
    for section in SECTIONS:
        phrasings = {t for t in used if t.startswith(f"{section}/")}
        assert len(phrasings) >= 3, (section, phrasings)
    # Not only ids: with names, numbers and datelines masked, the sentences still differ widely.
    for section in SECTIONS:
        quotes = [items[0].evidence[0].quote for ex in examples if (items := getattr(ex.gold, section))]
        shapes = {re.sub(r"\b([A-Z][\w'-]*|\d+)\b", "_", q.split(" — ")[-1]) for q in quotes}
        assert len(shapes) >= 10, section
