"""Every provider instructor knows, and any instructor client you configured, as a Backend.

A model string whose prefix ceasefire does not own (`anthropic/...`, `google/...`,
`mistral/...`, `groq/...`, `ollama/...`, `litellm/...`) is registered here as a backend that
hands it to `instructor.from_provider`; `Summarizer.from_model(client=...)` takes a client you
built yourself (hooks, Azure OpenAI, a custom httpx client).

A Backend speaks one OpenAI-style `create` (see backends.py), and ceasefire's reasks, transport
retries, usage metering and errors are built on it once. So an instructor client is put behind
that `create` here rather than given a second pipeline: the client formats the request for its
provider and reads the answer back; `create` returns that answer as an OpenAI chat completion
and raises the provider SDK's transport errors as the `openai` errors ceasefire retries.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from typing import Any

import instructor
import openai
from instructor.core.exceptions import ConfigurationError as InstructorConfigurationError
from instructor.core.exceptions import InstructorRetryException
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .backends import Backend, Options, RetryPolicy, SamplingOptions, _approx_tokens, register_backend
from .errors import ConfigurationError
from .redaction import register_secret

SDK_OF_EXTRA: dict[str, str] = {
    "anthropic": "anthropic",
    "google": "google.genai",
    "mistral": "mistralai",
    "groq": "groq",
    "cohere": "cohere",
    "litellm": "litellm",
}
"""Providers whose SDK is an optional extra of the same name (`pip install 'ceasefire[groq]'`),
and the module that shows it is installed. Others need only `openai` (ollama, deepseek, ...)."""


class ProviderOptions(Options):
    """What `instructor.from_provider` passes on to the provider's SDK client."""

    api_key: SecretStr | None = None
    """Else the provider's own environment variable (ANTHROPIC_API_KEY, ...)."""
    base_url: str | None = None
    timeout: float | None = None
    context_tokens: int = Field(128_000, gt=0)


class ClientOptions(SamplingOptions):
    """Options of an instructor client you configured: request parameters only, the client
    holds the rest."""

    context_tokens: int = Field(128_000, gt=0)


def register_instructor_providers() -> None:
    """Every `provider/` instructor knows that ceasefire does not own itself (openai/ is ours)."""
    from instructor.auto_client import supported_providers

    for provider in supported_providers:
        if provider == "openai":
            continue
        extra = f" (pip install 'ceasefire[{provider}]')" if provider in SDK_OF_EXTRA else ""
        register_backend(
            f"{provider}/",
            provider_backend,
            options=ProviderOptions,
            description=f"{provider} through instructor.from_provider{extra}",
        )


def provider_backend(model: str, options: ProviderOptions) -> Backend:
    """A Backend for `model` through `instructor.from_provider`.

    >>> provider_backend("anthropic/claude-sonnet-4-5", ProviderOptions()).model   # doctest: +SKIP
    'anthropic/claude-sonnet-4-5'
    """
    provider = model.partition("/")[0]
    sdk = SDK_OF_EXTRA.get(provider)
    if sdk is not None and not _installed(sdk):
        raise ConfigurationError(f"{model} needs the {provider} SDK: pip install 'ceasefire[{provider}]'")
    sdk_options = options.model_dump(include={"base_url", "timeout"}, exclude_none=True)
    if options.api_key is not None:
        sdk_options["api_key"] = options.api_key.get_secret_value()
        register_secret(sdk_options["api_key"])
    try:
        client = instructor.from_provider(model, **sdk_options)
    except InstructorConfigurationError as exc:  # e.g. no API key set
        raise ConfigurationError(f"{model}: {exc}") from None
    sdk_client = getattr(client, "client", None)
    register_secret(getattr(sdk_client, "api_key", None))  # also a key the SDK read from the environment
    if hasattr(sdk_client, "max_retries"):
        sdk_client.max_retries = 0  # ceasefire retries; two layers would multiply the attempts.
    checked = ClientOptions(policy=options.policy, context_tokens=options.context_tokens)
    return client_backend(client, None, checked, label=model)


def client_backend(
    client: instructor.Instructor,
    model: str | None = None,
    options: ClientOptions | None = None,
    *,
    label: str | None = None,
) -> Backend:
    """A Backend that sends every request through `client`, an instructor client you configured.

    Its hooks fire on every request; its own reasks are off (ceasefire reasks, with the
    validation error and the grounding check). `model` is passed on each request when given.

    >>> client = instructor.from_openai(openai.AzureOpenAI(...))          # doctest: +SKIP
    >>> Summarizer.from_model("gpt-4o-mini", client=client)               # doctest: +SKIP
    """
    options = options or ClientOptions()
    if isinstance(client, instructor.AsyncInstructor):
        raise ConfigurationError("client must be a synchronous instructor client (instructor.from_...)")
    label = label or f"{client.provider.value}/{model or 'default'}"
    per_request = {"model": model} if model else {}

    def create(*, messages: list[dict[str, Any]], response_format: dict[str, Any], **params: Any) -> Any:
        spec = response_format["json_schema"]
        try:
            answer, raw = client.create_with_completion(
                messages=messages,
                response_model=_answer_shaped_as(spec["name"], json.dumps(spec["schema"])),
                max_retries=0,
                **per_request,
                **params,
            )
            content = answer.model_dump_json()
        except InstructorRetryException as exc:
            if exc.failed_attempts:  # an answer came, but not as JSON: ceasefire reasks with the error
                raw, content = exc.last_completion, f"not JSON: {exc.failed_attempts[-1].exception}"
            else:
                raise as_openai_error(exc.__cause__ or exc) from None
        return _as_chat_completion(content, raw, label)

    return Backend(
        model=label,
        create=create,
        context_tokens=options.context_tokens,
        count_tokens=_approx_tokens,
        policy=options.policy or RetryPolicy(),
        # No temperature of ours: some providers' current models refuse sampling parameters.
        params=options.sampling(),
    )


@functools.lru_cache(maxsize=64)
def _answer_shaped_as(name: str, schema_json: str) -> type[BaseModel]:
    """A model whose JSON schema is `schema_json` and that takes any JSON object.

    The client needs a model to format the request for its provider (a tool, a JSON mode...);
    the real validation happens once, in ceasefire's reask loop, against the section's model.
    """
    schema = json.loads(schema_json)

    class Answer(BaseModel):
        model_config = ConfigDict(extra="allow")

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return json.loads(schema_json)

    Answer.__name__ = Answer.__qualname__ = schema.get("title", name)
    Answer.__doc__ = schema.get("description") or f"Correctly extracted `{name}`"
    return Answer


def _as_chat_completion(content: str, raw: Any, model: str) -> ChatCompletion:
    tokens_in, tokens_out = tokens_of(raw)
    return ChatCompletion.model_validate(
        {
            "id": str(getattr(raw, "id", "") or ""),
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
            ],
            "usage": CompletionUsage(
                prompt_tokens=tokens_in, completion_tokens=tokens_out, total_tokens=tokens_in + tokens_out
            ),
        }
    )


def tokens_of(raw: Any) -> tuple[int, int]:
    """(tokens in, tokens out) of a provider's raw response, whichever names it uses.

    Cached prompt tokens count as tokens in: Anthropic reports them apart from `input_tokens`.
    """
    usage = getattr(raw, "usage", None) or getattr(raw, "usage_metadata", None)

    def first(*names: str) -> int:
        return next((v for n in names if isinstance(v := getattr(usage, n, None), int)), 0)

    cached = first("cache_read_input_tokens") + first("cache_creation_input_tokens")
    tokens_in = first("prompt_tokens", "input_tokens", "prompt_token_count") + cached
    return tokens_in, first("completion_tokens", "output_tokens", "candidates_token_count")


def as_openai_error(exc: BaseException) -> openai.OpenAIError:
    """A provider SDK's transport error as the `openai` error ceasefire retries and reports.

    The SDKs built like openai's carry the HTTP response (its status and Retry-After) or the
    request that failed to connect; one retry policy and one error mapping then serve every
    provider.
    """
    response = getattr(exc, "response", None)
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(getattr(response, "status_code", None), int):
        kind = openai.RateLimitError if response.status_code == 429 else openai.APIStatusError
        return kind(message, response=response, body=getattr(exc, "body", None))
    request = getattr(exc, "request", None)
    if request is not None:  # refused, reset or timed out: no response at all
        return openai.APIConnectionError(message=message, request=request)
    return openai.OpenAIError(message)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package of a dotted name is missing
        return False
