"""Every provider instructor knows, and a client of your own: the same retries, reasks, grounding,
usage and errors as `openai/`, against real HTTP servers on 127.0.0.1 speaking each dialect."""

from __future__ import annotations

import json
import time
import tomllib

import instructor
import openai
import pytest

from anthropic_server import anthropic_answer, message_body, tool_call_answer
from ceasefire import (
    ArticleSummary,
    ExtractionError,
    InvalidAnswerError,
    Summarizer,
    summarize,
    summarize_many,
)
from ceasefire.backends import RetryPolicy, resolve_backend
from ceasefire.errors import ConfigurationError, ModelNotFoundError
from ceasefire.providers import SDK_OF_EXTRA
from chat_server import ChatServer, Reply, plausible_answer
from conftest import ROOT

FAST = RetryPolicy(transport_attempts=3, max_wait_s=0.05, total_timeout_s=10, reasks=2)
SECTIONS = 5


@pytest.fixture
def anthropic_server(monkeypatch):
    with ChatServer(anthropic_answer) as server:
        # The anthropic SDK reads its endpoint from here; from_provider passes no base_url to it.
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url.removesuffix("/v1"))
        yield server


def claude(policy: RetryPolicy = FAST) -> Summarizer:
    return Summarizer.from_model("anthropic/claude-test", api_key="sk-ant-test-key", policy=policy)


def assert_grounded(summary: ArticleSummary, article: str) -> None:
    (attack,) = summary.attacks
    e = attack.evidence[0]
    assert attack.grounded and article[e.start : e.end] == e.quote


def test_anthropic_through_its_messages_api(anthropic_server, seed_article):
    summary = claude()(seed_article)
    assert_grounded(summary, seed_article)
    assert summary.metadata.model == "anthropic/claude-test"
    assert summary.metadata.attempts == SECTIONS
    assert summary.metadata.tokens_in == SECTIONS * (13 + 4)  # cache reads are tokens in
    assert summary.metadata.tokens_out == SECTIONS * 5
    first = anthropic_server.requests[0]
    # Anthropic's dialect: the system prompt apart, the schema as a forced tool.
    assert first["system"] and all(m["role"] != "system" for m in first["messages"])
    assert first["tool_choice"]["name"] == "Overview" and first["tools"][0]["name"] == "Overview"
    assert first["model"] == "claude-test" and first["max_tokens"] > 0


def test_anthropic_faults_are_retried_and_reasked_like_openai(anthropic_server, seed_article):
    error = json.dumps({"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}).encode()
    anthropic_server.script.extend(
        [
            Reply(status=429, body=error, headers={"retry-after": "1"}),
            Reply(status=529, body=error),  # overloaded: a 5xx, retried
            Reply(body=message_body("Overview", {"headline": "h"})),  # summary missing: reasked
        ]
    )
    started = time.perf_counter()
    summary = claude(RetryPolicy(transport_attempts=3, max_wait_s=5, total_timeout_s=10, reasks=2))(
        seed_article
    )
    assert time.perf_counter() - started >= 1.0  # Retry-After was honoured
    assert summary.metadata.attempts == SECTIONS + 3
    reask = json.dumps(anthropic_server.requests[3]["messages"])
    assert "summary" in reask and "Field required" in reask


def test_anthropic_down_raises_extraction_error(anthropic_server, seed_article):
    anthropic_server.default = lambda request: Reply(status=503, body=b'{"type": "error"}')
    with pytest.raises(ExtractionError) as caught:
        claude()(seed_article)
    assert not isinstance(caught.value, InvalidAnswerError)
    assert len(anthropic_server.requests) == FAST.transport_attempts


def test_anthropic_answer_cut_off_at_max_tokens(anthropic_server, seed_article):
    overview = json.loads(plausible_answer({"response_format": {}, "messages": []}).content or "{}")
    anthropic_server.script.append(Reply(body=message_body("Overview", overview, stop_reason="max_tokens")))
    with pytest.raises(InvalidAnswerError, match="cut off"):
        claude(RetryPolicy(transport_attempts=1, reasks=0))(seed_article)


def test_ollama_through_its_openai_compatible_api(seed_article):
    with ChatServer(tool_call_answer) as server:
        summary = Summarizer.from_model("ollama/qwen2.5:7b", base_url=server.base_url, policy=FAST)(
            seed_article
        )
    assert_grounded(summary, seed_article)
    assert summary.metadata.tokens_in == SECTIONS * 17
    assert {r["model"] for r in server.requests} == {"qwen2.5:7b"}
    assert all(r["tool_choice"]["type"] == "function" for r in server.requests)


def test_a_missing_sdk_names_the_extra_to_install(monkeypatch):
    monkeypatch.setattr("ceasefire.providers._installed", lambda module: False)
    with pytest.raises(ConfigurationError, match=r"pip install 'ceasefire\[groq\]'"):
        resolve_backend("groq/llama-3.1-8b-instant")


def test_every_sdk_named_is_an_extra_of_the_package():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(SDK_OF_EXTRA) <= set(extras)


def test_a_prefix_nobody_knows_is_refused():
    with pytest.raises(ModelNotFoundError, match="unknown model"):
        resolve_backend("nosuchprovider/model")


def test_your_own_client_with_hooks_and_headers(seed_article):
    with ChatServer() as server:
        sdk = openai.OpenAI(
            base_url=server.base_url, api_key="sk-own-key", default_headers={"x-desk": "kyiv"}
        )
        client = instructor.from_openai(sdk, mode=instructor.Mode.JSON_SCHEMA)
        sent: list[dict] = []
        client.on("completion:kwargs", lambda *args, **kwargs: sent.append(kwargs))
        summary = Summarizer.from_model(client=client, model="my-model", policy=FAST)(seed_article)
        again = summarize(seed_article, client=client, model="my-model")
    assert_grounded(summary, seed_article)
    assert again.attacks == summary.attacks
    assert len(sent) == 2 * SECTIONS  # the client's hooks saw every request
    assert {r["model"] for r in server.requests} == {"my-model"}
    assert all(h["x-desk"] == "kyiv" for h in server.headers_seen)
    assert summary.metadata.tokens_in == SECTIONS * 11


def test_your_own_azure_client(seed_article):
    with ChatServer(tool_call_answer) as server:
        azure = openai.AzureOpenAI(
            azure_endpoint=server.base_url.removesuffix("/v1"), api_key="azure-key", api_version="2024-10-21"
        )
        summary = Summarizer.from_model(client=instructor.from_openai(azure), model="my-deployment")(
            seed_article
        )
    assert_grounded(summary, seed_article)
    assert summary.metadata.model == "openai/my-deployment"


def test_your_own_client_fails_like_any_backend(seed_article):
    down = lambda request: Reply(status=503, body=b'{"error": {"message": "down"}}')  # noqa: E731
    with ChatServer(down) as server:
        client = instructor.from_openai(openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0))
        with pytest.raises(ExtractionError, match="503"):
            Summarizer.from_model(client=client, model="m", policy=FAST)(seed_article)
    assert len(server.requests) == FAST.transport_attempts


def test_your_own_client_answer_that_is_not_json_is_reasked(seed_article):
    with ChatServer() as server:
        server.script.append(Reply(content='{"headline": "cut off'))
        client = instructor.from_openai(
            openai.OpenAI(base_url=server.base_url, api_key="k"), mode=instructor.Mode.JSON_SCHEMA
        )
        summary = Summarizer.from_model(client=client, model="m", policy=FAST)(seed_article)
    assert summary.metadata.attempts == SECTIONS + 1
    assert len(server.requests[1]["messages"]) > len(server.requests[0]["messages"])


def test_your_own_client_for_many_articles():
    texts = [f"Drones hit depot number {i} on Monday, officials said." for i in range(4)]
    with ChatServer() as server:
        client = instructor.from_openai(
            openai.OpenAI(base_url=server.base_url, api_key="k"), mode=instructor.Mode.JSON_SCHEMA
        )
        results = summarize_many(texts, client=client, model="m", concurrency=2)
    assert [r.attacks[0].evidence[0].quote for r in results] == texts
