"""Backends: model strings resolve in one place; the OpenAI path retries, reasks and fails
cleanly against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import time

import pytest

from ceasefire import ExtractionError, ModelNotFoundError, Summarizer
from ceasefire.backends import (
    DEFAULT_MODEL,
    RetryPolicy,
    as_json_object_format,
    resolve_backend,
)
from ceasefire.choices import Choices, constrain_overview, constrain_schema
from ceasefire.errors import ConfigurationError
from ceasefire.schema import ArticleSummary
from ceasefire.sections import BY_NAME
from ceasefire.summarize import Overview
from chat_server import Reply, plausible_answer

AttacksSection = BY_NAME["attacks"].numbered_model

FAST = RetryPolicy(transport_attempts=3, max_wait_s=0.05, total_timeout_s=10, reasks=2)


def summarizer_for(server, policy=FAST) -> Summarizer:
    return Summarizer.from_model(
        "openai/test-model", base_url=server.base_url, api_key="sk-test", policy=policy
    )


def test_model_strings_resolve(monkeypatch, tmp_path):
    monkeypatch.delenv("CEASEFIRE_MODEL", raising=False)
    assert resolve_backend(None).model == DEFAULT_MODEL
    monkeypatch.setenv("CEASEFIRE_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert resolve_backend(None).model == "openai/gpt-4o-mini"
    assert resolve_backend("local/smollm2-135m").constrained
    with pytest.raises(ModelNotFoundError, match="unknown model"):
        resolve_backend("nosuchprovider/model")
    with pytest.raises(ModelNotFoundError, match="no GGUF file"):
        resolve_backend(f"gguf:{tmp_path}/missing.gguf")


def test_openai_without_key_says_what_to_set(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        resolve_backend("openai/gpt-4o-mini")


def test_json_schema_format_becomes_llama_cpp_json_object():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    kwargs = {
        "messages": [],
        "response_format": {"type": "json_schema", "json_schema": {"name": "A", "schema": schema}},
    }
    required = {**schema, "required": ["a"]}
    assert as_json_object_format(kwargs)["response_format"] == {"type": "json_object", "schema": required}
    assert "required" not in schema  # the caller's schema is left as it was


@pytest.mark.parametrize("section", [AttacksSection, Overview])
def test_the_grammar_writes_every_field_in_the_schema_order(section):
    # llama.cpp's grammar puts required properties first; the prompt's example and the
    # training answers put "attacker" right after the evidence, so the grammar must too,
    # also once the schema is narrowed to the article.
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    article = "A Ukrainian drone hit an oil depot in the Lipetsk region, injuring 3 people."
    wanted = {"type": "json_schema", "json_schema": {"schema": section.model_json_schema()}}
    schema = as_json_object_format({"response_format": wanted})["response_format"]["schema"]
    if section is AttacksSection:
        schema = constrain_schema(schema, Choices.for_section(article, "attacks"), "attacks")
    else:
        schema = constrain_overview(schema, article)
    grammar = json_schema_to_gbnf(json.dumps(schema))
    for name, definition in [("root", schema), *schema.get("$defs", {}).items()]:
        if "properties" not in definition:
            continue
        (rule,) = [line for line in grammar.splitlines() if line.startswith(f"{name} ::=")]
        written = [p.removeprefix(f"{name}-").removesuffix("-kv") for p in rule.split() if p.endswith("-kv")]
        assert written == [key.replace("_", "-") for key in definition["properties"]]
        assert "?" not in rule  # nothing optional: a field is written, null or not


def test_server_summary_is_valid_and_grounded(chat_server, seed_article):
    summary = summarizer_for(chat_server)(seed_article)
    assert isinstance(summary, ArticleSummary)
    (attack,) = summary.attacks
    e = attack.evidence[0]
    assert seed_article[e.start : e.end] == e.quote
    assert summary.metadata.attempts == 5 and summary.metadata.tokens_in == 5 * 11
    # Every section call starts with the same system prompt and article: a shared prefix.
    firsts = {json.dumps(r["messages"][0]) for r in chat_server.requests}
    assert len(firsts) == 1


def test_429_honours_retry_after_then_succeeds(chat_server, seed_article):
    chat_server.script.append(
        Reply(status=429, body=b'{"error": {"message": "slow down"}}', headers={"retry-after": "1"})
    )
    policy = RetryPolicy(transport_attempts=3, max_wait_s=5, total_timeout_s=10, reasks=0)
    started = time.perf_counter()
    summary = summarizer_for(chat_server, policy)(seed_article)
    assert time.perf_counter() - started >= 1.0
    assert summary.metadata.attempts == 6  # every request sent counts, the 429 too
    assert len(chat_server.requests) == 6


def test_500_then_success(chat_server, seed_article):
    chat_server.script.append(Reply(status=500, body=b'{"error": {"message": "boom"}}'))
    summarizer_for(chat_server)(seed_article)
    assert len(chat_server.requests) == 6


def test_invalid_json_is_reasked(chat_server, seed_article):
    chat_server.script.append(Reply(content='{"headline": "cut off'))
    summary = summarizer_for(chat_server)(seed_article)
    assert summary.metadata.attempts == 6
    assert len(chat_server.requests[1]["messages"]) > len(chat_server.requests[0]["messages"])


def test_schema_invalid_answer_is_reasked_with_the_error(chat_server, seed_article):
    chat_server.script.append(Reply(content=json.dumps({"headline": "h"})))  # summary missing
    summary = summarizer_for(chat_server)(seed_article)
    assert summary.metadata.attempts == 6
    reask = json.dumps(chat_server.requests[1]["messages"])
    assert "summary" in reask and "Field required" in reask


def test_always_failing_raises_with_attempts_in_bounded_time(chat_server, seed_article):
    chat_server.default = lambda request: Reply(status=503, body=b'{"error": {"message": "down"}}')
    started = time.perf_counter()
    with pytest.raises(ExtractionError) as caught:
        summarizer_for(chat_server)(seed_article)
    assert time.perf_counter() - started < 10
    # Transport errors are retried by tenacity; instructor does not reask them again.
    assert len(chat_server.requests) == FAST.transport_attempts
    # Every request sent is an attempt, though no answer ever arrived.
    assert caught.value.attempts == FAST.transport_attempts
    assert str(caught.value).endswith(f"(after {FAST.transport_attempts} attempts)")


def test_always_invalid_raises_with_attempts(chat_server, seed_article):
    chat_server.default = lambda request: Reply(content="not json at all")
    with pytest.raises(ExtractionError) as caught:
        summarizer_for(chat_server)(seed_article)
    assert caught.value.attempts == FAST.reasks + 1
    assert caught.value.usage.tokens_in == 11 * (FAST.reasks + 1)


def test_an_invalid_answer_error_is_one_readable_line(chat_server, seed_article, caplog):
    chat_server.default = lambda request: Reply(content=json.dumps({"headline": "h", "summary": 7}))
    with caplog.at_level(logging.DEBUG, logger="ceasefire"), pytest.raises(ExtractionError) as caught:
        summarizer_for(chat_server)(seed_article)
    message = str(caught.value)
    assert "\n" not in message and "failed_attempts" not in message and len(message) < 400
    assert "no valid Overview, last error: summary: Input should be a valid string" in message
    assert message.endswith(f"(after {FAST.reasks + 1} attempts)")
    # The raw answers stay where a user looks for them on purpose.
    assert caught.value.usage.raw_completions[-1] == json.dumps({"headline": "h", "summary": 7})
    assert any("failed_attempts" in r.getMessage() for r in caplog.records if r.name == "ceasefire.backends")


def test_ungrounded_item_is_reasked_once_then_flagged(chat_server, seed_article):
    def invented(request):
        if request["response_format"]["json_schema"]["name"] == "TerritorySection":
            return Reply(
                content=json.dumps(
                    {
                        "territorial_control": [
                            {
                                "evidence": [{"quote": "Ukraine retook all of Crimea in a single night"}],
                                "controller": "Ukraine",
                                "territory": "Crimea",
                                "share_percent": 100,
                            }
                        ]
                    }
                )
            )
        return plausible_answer(request)

    chat_server.default = invented
    summary = summarizer_for(chat_server)(seed_article)
    (item,) = summary.territorial_control
    assert not item.grounded and item.evidence[0].start is None
    names = [r["response_format"]["json_schema"]["name"] for r in chat_server.requests]
    assert names.count("TerritorySection") == 2
    assert "not in the article" in chat_server.requests[-1]["messages"][-1]["content"]

    dropped = Summarizer.from_model(
        "openai/test-model",
        base_url=chat_server.base_url,
        api_key="sk-test",
        policy=FAST,
        on_ungrounded="drop",
    )(seed_article)
    assert dropped.territorial_control == []
