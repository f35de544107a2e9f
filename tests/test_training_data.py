"""Fine-tuning examples are the pipeline's own requests, answered with the gold label."""

from __future__ import annotations

import json

import pytest

from ceasefire import Summarizer
from ceasefire.choices import sentence_of
from ceasefire.summarize import SECTION_CALLS
from ceasefire_train.examples import chat_examples, gold_answer, labelled_articles, main
from ceasefire_train.synthetic import generate
from chat_server import schema_name
from conftest import ROOT

EXAMPLES = generate(n=40, seed=0)


def busiest() -> tuple[str, object]:
    """A generated article with items in every section."""
    ex = next(e for e in EXAMPLES if all(getattr(e.gold, s) for s in ("ceasefire_talks", "attacks")))
    return ex.text, ex.gold


def test_examples_are_exactly_the_requests_the_pipeline_sends(chat_server):
    text, gold = busiest()
    summarizer = Summarizer.from_model("openai/test", base_url=chat_server.base_url, api_key="sk-test")
    summarizer(text)
    sent: dict[str, list] = {}
    for request in chat_server.requests:
        sent.setdefault(schema_name(request), request["messages"])  # the first call, not a reask
    examples = chat_examples(summarizer, text, gold)
    assert [e["messages"][:-1] for e in examples] == list(sent.values())
    assert [e["messages"][-1]["role"] for e in examples] == ["assistant"] * len(SECTION_CALLS)


def test_free_answers_are_the_gold_in_each_section_schema():
    text, gold = busiest()
    summarizer = Summarizer.from_model("openai/test", base_url="http://127.0.0.1:9", api_key="sk-test")
    for request in summarizer.section_requests(text):
        name = request.call.name
        answer = json.loads(gold_answer(gold, request))
        request.response_model.model_validate(answer)
        if name == "overview":
            assert answer["headline"] == gold.headline
            continue
        items = answer[name]
        assert len(items) == min(len(getattr(gold, name)), request.call.grammar_max_items)
        for item, gold_item in zip(items, getattr(gold, name), strict=False):
            assert list(item)[0] == "evidence"  # the schema's order: the quote comes first
            assert item["evidence"] == [{"quote": e.quote} for e in gold_item.evidence]


def test_answers_under_a_grammar_point_to_the_numbered_sentence_of_each_gold_item():
    text, gold = busiest()
    requests = Summarizer.from_model("local/smollm2-135m").section_requests(text)
    pointed = 0
    for request in requests[1:]:
        name = request.call.name
        items = json.loads(gold_answer(gold, request))[name]
        request.call.numbered_model.model_validate({name: items})
        shown = request.messages[-1]["content"]
        numbers = [item["sentence"] for item in items]
        assert numbers == sorted(numbers)  # in the article's order
        for item in items:
            assert list(item)[0] == "sentence"
            start, end = request.sentences[item["sentence"] - 1]
            assert f"{item['sentence']}. {text[start:end]}" in shown
            # the gold item whose evidence lies in that sentence
            assert any(g.evidence[0].start >= start and g.evidence[0].end <= end for g in getattr(gold, name))
        pointed += len(items)
        offered = [g for g in getattr(gold, name) if sentence_of(g.evidence, request.sentences)]
        assert len(items) == min(len(offered), request.call.grammar_max_items)
    assert pointed >= 2


def test_off_topic_article_teaches_empty_answers_for_the_sections_asked():
    # The embedded model is not asked about sections without a relevant sentence, so it is
    # not trained on them either; where a cue word misleads ("a late strike" in a football
    # report), the example teaches the empty list.
    off_topic = next(e for e in EXAMPLES if not e.gold.items())
    examples = chat_examples(Summarizer.from_model("local/smollm2-135m"), off_topic.text, off_topic.gold)
    answers = [json.loads(e["messages"][-1]["content"]) for e in examples]
    assert 1 <= len(answers) < len(SECTION_CALLS)
    assert "headline" in answers[0]
    assert all(list(a.values()) == [[]] for a in answers[1:])


def test_test_split_is_refused():
    with pytest.raises(ValueError, match="never for training"):
        list(labelled_articles([ROOT / "evals" / "datasets" / "test"], synthetic=0, seed=0))


def test_command_writes_dev_and_synthetic_examples(tmp_path):
    out = tmp_path / "train.jsonl"
    main([str(out), "--dataset", str(ROOT / "evals" / "datasets" / "dev"), "--synthetic", "5"])
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    ids = {line["id"] for line in lines}
    assert {"syn-0000", "syn-0004"} <= ids and any(not i.startswith("syn-") for i in ids)
    assert all(line["messages"][-1]["role"] == "assistant" for line in lines)


def test_stats_print_the_corpus_counts(capsys):
    assert main(["--stats", str(ROOT / "training" / "corpus")]) == 0
    out = capsys.readouterr().out
    for heading in (
        "conflict",
        "language",
        "style",
        "kind",
        "length",
        "items: attacks",
        "distinct conflicts",
    ):
        assert heading in out
    assert "Russia-Ukraine war" in out and "with 3+ items in some section" in out
