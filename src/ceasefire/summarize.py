"""The summarize pipeline: one small model call per section, then grounding.

The full nested schema in one call makes a 135M model loop until it runs out of tokens, so
each section is asked for on its own with a small schema, bounded lists and a `max_tokens`.

A model that writes freely reads the whole article in every call (the same prefix each time,
which servers with prefix caching reuse) and quotes its evidence; grounding then aligns the
quotes. A model under a grammar reads only the section's candidate sentences, numbered, and
points to one by number: the library fills in the quote and its offsets. That is about a
third of the tokens in and out for a tiny model, and no copying errors.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, Field

from .backends import DEFAULT_MODEL, MODELS_KEPT, Backend, resolve_backend
from .choices import Choices, candidates_id, constrain_overview, constrain_schema, cued_status
from .chunking import Chunk, chunk_article, merge_chunk_summaries
from .errors import ArticleTooLongError, CeasefireError, InvalidAnswerError, InvalidArticleError
from .grounding import ground_evidence, split_sentences
from .prompts import Prompts
from .result import SummaryResult
from .runner import run_all
from .schema import SCHEMA_VERSION, Alignment, ArticleSummary, Evidence, Headline, Name, RunMetadata
from .sections import BY_NAME, SECTIONS, Answer
from .usage import Usage


class Overview(Answer):
    headline: Headline = Field(description="One neutral line, at most 20 words.")
    summary: Annotated[str, Field(min_length=1)] = Field(
        description="2 to 4 sentences: what happened, who, what is at stake."
    )
    conflict: Name | None = Field(None, description='The war or dispute, e.g. "Russia-Ukraine war".')


# A free model's answer budgets: at least three times the longest answer of the hand and
# teacher labels (dev, seeds, training/corpus: 2,660 tokens at 3 characters a token, the talks
# of a world roundup); tests/test_schema.py keeps them so as labels grow.
API_OVERVIEW_TOKENS = 1024
API_SECTION_TOKENS = 8192


@dataclass(frozen=True)
class SectionCall:
    name: str
    response_model: type[BaseModel]
    numbered_model: type[BaseModel]
    """The response model under a grammar: items point to a numbered sentence."""
    grammar_max_tokens: int
    """The answer's budget for a model under a grammar: a tiny model that loops stops there."""
    grammar_max_items: int | None
    """Most items the grammar lets a tiny model write (one per candidate sentence at most)."""
    api_max_tokens: int
    """The budget of a model that writes freely: room for the longest answers labelled by hand."""


SECTION_CALLS: tuple[SectionCall, ...] = (
    SectionCall("overview", Overview, Overview, 300, None, API_OVERVIEW_TOKENS),
    *(
        SectionCall(
            s.name,
            s.response_model,
            s.numbered_model,
            s.grammar_max_tokens,
            s.grammar_max_items,
            API_SECTION_TOKENS,
        )
        for s in SECTIONS
    ),
)


class SectionRequest(NamedTuple):
    call: SectionCall
    messages: list[dict[str, str]]
    constrain: Callable[[dict[str, Any]], dict[str, Any]] | None
    """Narrows the JSON schema for a grammar backend; None for the others."""
    sentences: list[tuple[int, int]] | None
    """(start, end) of the numbered sentences shown to a grammar backend; None for the others."""
    firm: frozenset[tuple[int, int]] = frozenset()
    """Those of `sentences` an item may rest on (`Choices.firm`); the others' items are dropped."""

    @property
    def response_model(self) -> type[BaseModel]:
        """Shown numbered sentences, an answer points to one; else it quotes the article."""
        return self.call.response_model if self.sentences is None else self.call.numbered_model


LEAD_SENTENCES = 5
"""Sentences a grammar backend reads for the overview: a news article's lead says what it is about."""

PIPELINE_VERSION = 14
"""Bump when the extraction logic changes what a model is asked, or what is made of its answer:
it is part of the eval cache key."""

MAX_ARTICLE_CHARS = 1_000_000
"""Hard cap: longer input is refused, not chunked (about 250 chunks' worth of calls)."""

PROMPT_OVERHEAD_TOKENS = 700
"""Room for the system prompt and the longest task text with its example."""


_HTML_PAGE = re.compile(r"\s*(<!doctype html|<html[\s>])", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?(p|div|span|a|br|td|li|script|body|head)\b[^>]*>", re.IGNORECASE)


def check_article(article: object) -> str:
    """Return the article if ceasefire can read it; raise InvalidArticleError saying why not."""
    if isinstance(article, bytes | bytearray):
        raise InvalidArticleError("article is bytes; decode it to text first, e.g. data.decode('utf-8')")
    if not isinstance(article, str):
        raise InvalidArticleError(f"article must be a str, not {type(article).__name__}")
    if not article.strip():
        raise InvalidArticleError("article is empty or only whitespace")
    control = sum(1 for c in article if ord(c) < 32 and c not in "\n\r\t")
    if "\x00" in article or control > len(article) * 0.01:
        raise InvalidArticleError("article looks like binary data, not text")
    if _HTML_PAGE.match(article) or len(_HTML_TAG.findall(article)) > 20:
        # Evidence offsets must index the text the user holds, so we do not strip tags here.
        raise InvalidArticleError(
            "article looks like an HTML page; extract its text first (for example with "
            "BeautifulSoup's get_text() or trafilatura) and summarize that"
        )
    return article


@dataclass(frozen=True)
class Summarizer:
    """A configured summarizer: a backend, a set of prompts and a grounding policy. Built from
    its parts, so copying or replacing one (`dataclasses.replace`) never loads a model.

    >>> s = Summarizer.from_model("local/smollm2-135m")   # doctest: +SKIP
    >>> s("Russia controls about 75% of Donetsk.")         # doctest: +SKIP
    """

    backend: Backend
    prompts: Prompts = field(default_factory=Prompts)
    on_ungrounded: Literal["flag", "drop"] = "flag"

    def __post_init__(self) -> None:
        if self.on_ungrounded not in ("flag", "drop"):
            raise ValueError(f"on_ungrounded must be 'flag' or 'drop', not {self.on_ungrounded!r}")

    @classmethod
    def from_model(
        cls,
        model: str | None = None,
        *,
        client: Any = None,
        prompts_dir: str | Path | None = None,
        on_ungrounded: Literal["flag", "drop"] = "flag",
        **backend_options: Any,
    ) -> Summarizer:
        """A summarizer for a model string (see `summarize`), or for `client`, an instructor
        client you configured (hooks, Azure OpenAI, your own httpx client): every request then
        goes through it, with `model` sent along. `backend_options` are checked against the
        backend's accepted options before anything loads."""
        backend = resolve_backend(model, client=client, **backend_options)
        return cls(backend, Prompts(prompts_dir, backend.tuned_prompts), on_ungrounded)

    @property
    def config(self) -> dict[str, Any]:
        """Everything that decides the answer for a given article (the eval cache key)."""
        return {
            "model": self.backend.model,
            "weights": self.backend.weights,
            "decoder": self.backend.decoder,
            "candidates": candidates_id() if self.backend.constrained else None,
            "pipeline_version": PIPELINE_VERSION,
            "prompt_version": self.prompts.version,
            "schema_version": SCHEMA_VERSION,
            "params": self.backend.params,
            "max_tokens": {call.name: self.answer_budget(call) for call in SECTION_CALLS},
            "on_ungrounded": self.on_ungrounded,
        }

    @property
    def max_article_tokens(self) -> int:
        longest_answer = max(self.answer_budget(call) for call in SECTION_CALLS)
        return self.backend.context_tokens - PROMPT_OVERHEAD_TOKENS - longest_answer

    def answer_budget(self, call: SectionCall) -> int:
        """max_tokens of a section's answer: tight under a grammar, roomy for a free model."""
        if self.backend.constrained:
            return call.grammar_max_tokens
        # A server with a small context (a local llama.cpp, say) keeps room for the article.
        return min(call.api_max_tokens, self.backend.context_tokens // 4)

    def __call__(self, article: str) -> ArticleSummary:
        return self.run(article).summary

    def run(self, article: str) -> SummaryResult:
        """The summary with its article and what it cost: tokens, calls, every raw completion."""
        article = check_article(article)
        if len(article) > MAX_ARTICLE_CHARS:
            raise ArticleTooLongError(len(article), MAX_ARTICLE_CHARS, self.backend.model, "characters")
        started = time.perf_counter()
        usage = Usage()
        if self.backend.count_tokens(article) <= self.max_article_tokens:
            chunks = [Chunk(0, len(article))]
        else:
            chunks = chunk_article(article, self.max_article_tokens, self.backend.count_tokens)
        parts, failed = [], []
        for chunk in chunks:
            part, part_failed = self._summarize_text(article[chunk.start : chunk.end], usage)
            parts.append((chunk, part))
            failed += part_failed
        summary = merge_chunk_summaries(parts) if len(parts) > 1 else parts[0][1]
        summary.metadata = RunMetadata(
            model=self.backend.model,
            prompt_version=self.prompts.version,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            latency_s=round(time.perf_counter() - started, 3),
            attempts=usage.attempts,
            chunks=len(chunks),
            failed_sections=list(dict.fromkeys(failed)),
        )
        return SummaryResult(article, summary, usage)

    def section_requests(self, article: str) -> list[SectionRequest]:
        """The calls made for text that fits the context, in order; under a grammar, a section
        with no candidate sentence is left out (its answer can only be an empty list).
        Fine-tuning data is built from these, so that training and inference send the same text."""
        if self.backend.constrained:
            return self._numbered_requests(article)
        prefix = [
            {"role": "system", "content": self.prompts.render("system")},
            {"role": "user", "content": self.prompts.render("article", article=article)},
        ]
        return [
            SectionRequest(
                call, _with_task(prefix, self.prompts.render(call.name, numbered=False)), None, None
            )
            for call in SECTION_CALLS
        ]

    def _numbered_requests(self, article: str) -> list[SectionRequest]:
        system = {"role": "system", "content": self.prompts.render("system")}
        requests = []
        for call in SECTION_CALLS:
            if call.name == "overview":
                spans, firm = split_sentences(article)[:LEAD_SENTENCES], frozenset()
                constrain = functools.partial(constrain_overview, article=article)
            else:
                choices = Choices.for_section(article, call.name)
                if not choices.firm:  # every item would be dropped
                    continue
                spans, firm = choices.spans, choices.firm
                constrain = functools.partial(
                    constrain_schema, choices=choices, list_field=call.name, max_items=call.grammar_max_items
                )
            sentences = self.prompts.render("sentences", sentences=[article[a:b] for a, b in spans])
            task = self.prompts.render(call.name, numbered=True)
            messages = [system, {"role": "user", "content": f"{sentences}\n\n{task}"}]
            requests.append(SectionRequest(call, messages, constrain, spans, firm))
        return requests

    def _summarize_text(self, article: str, usage: Usage) -> tuple[ArticleSummary, list[str]]:
        """One call per section over text that fits the context; the sections that failed."""
        answers: dict[str, Any] = {call.name: [] for call in SECTION_CALLS if call.name != "overview"}
        failed: list[str] = []
        for request in self.section_requests(article):
            call = request.call
            try:
                answer = self.backend.extract(
                    request.messages,
                    request.response_model,
                    max_tokens=self.answer_budget(call),
                    usage=usage,
                    constrain=request.constrain,
                )
            except InvalidAnswerError:
                # A section the model cannot answer is reported, not fatal; without an
                # overview there is no summary at all.
                if call.name == "overview":
                    raise
                failed.append(call.name)
                answers[call.name] = []
                continue
            if call.name == "overview":
                answers.update(answer.model_dump())
            elif request.sentences is not None:
                items = _quoting_sentences(article, request.sentences, getattr(answer, call.name), call.name)
                items = _resting_on(request.firm, _one_per_fact(call.name, _distinct(items)))
                answers[call.name] = _status_as_worded(call.name, items)
            else:
                items = _distinct(getattr(answer, call.name))
                answers[call.name] = self._grounded(article, request.messages, call, items, usage)
        return ArticleSummary(**answers), failed

    def _grounded(
        self, article: str, messages: list[dict[str, str]], call: SectionCall, items: list[Any], usage: Usage
    ) -> list[Any]:
        """Align every quote; reask once for items whose quotes are not in the article."""
        items = [_ground_item(article, item) for item in items]
        missing = [e.quote for item in items if not item.grounded for e in item.evidence if e.start is None]
        if missing:
            reask = [
                *messages,
                {"role": "assistant", "content": usage.raw_completions[-1]},
                {"role": "user", "content": self.prompts.render("reask_grounding", quotes=missing)},
            ]
            try:
                again = self.backend.extract(
                    reask, call.response_model, max_tokens=self.answer_budget(call), usage=usage
                )
            except InvalidAnswerError:
                again = None  # keep the first answer, flagged below
            if again is not None:
                retried = [_ground_item(article, item) for item in _distinct(getattr(again, call.name))]
                if _ungrounded_count(retried) < _ungrounded_count(items):
                    items = retried
        if self.on_ungrounded == "drop":
            items = [item for item in items if item.grounded]
        return items


def _with_task(prefix: list[dict[str, str]], task: str) -> list[dict[str, str]]:
    # The task follows the article inside the same user turn, so the tokens up to the end of
    # the article are identical across section calls: a server with prefix caching (OpenAI,
    # vLLM, llama.cpp's) evaluates the article once.
    *head, user = prefix
    return [*head, {"role": "user", "content": f"{user['content']}\n\n{task}"}]


def _quoting_sentences(
    article: str, sentences: list[tuple[int, int]], answers: list[Any], section: str
) -> list[Any]:
    """The section's items, each with the sentence it points to as its evidence, quoted and
    aligned exactly. The grammar allows only the numbers shown; a number outside them points
    at nothing, and its item is left out."""
    items = []
    for answer in answers:
        data = answer.model_dump()
        number = data.pop("sentence")
        if 1 <= number <= len(sentences):
            start, end = sentences[number - 1]
            evidence = Evidence(quote=article[start:end], start=start, end=end, alignment=Alignment.exact)
            items.append(BY_NAME[section].item.model_validate({**data, "evidence": [evidence]}))
    return items


def _resting_on(firm: frozenset[tuple[int, int]], items: list[Any]) -> list[Any]:
    """The items with a sentence of `firm` (`Choices.firm`) among their evidence."""
    return [item for item in items if any((e.start, e.end) in firm for e in item.evidence)]


def _status_as_worded(section: str, items: list[Any]) -> list[Any]:
    """Guarantees with the status their sentences word (`choices.cued_status`), where they
    word one."""
    if section != "security_guarantees":
        return items
    for item in items:
        item.status = cued_status(" ".join(e.quote for e in item.evidence)) or item.status
    return items


def _distinct(items: list[Any]) -> list[Any]:
    """Drop exact repeats: tiny models often write the same item, quote or participant several
    times."""
    for item in items:
        quotes = list(dict.fromkeys(e.quote for e in item.evidence))
        item.evidence = [next(e for e in item.evidence if e.quote == q) for q in quotes]
        for name, value in item:
            if isinstance(value, list) and name != "evidence":
                setattr(item, name, _without_repeats(value))
    return _without_repeats(items)


def _without_repeats(values: list[Any]) -> list[Any]:
    kept = {}
    for value in values:
        kept.setdefault(value.model_dump_json() if isinstance(value, BaseModel) else repr(value), value)
    return list(kept.values())


def _one_per_fact(section: str, items: list[Any]) -> list[Any]:
    """A tiny model under a grammar writes an item for each candidate sentence that mentions a
    fact (four attacks for one shelling: its news, its toll, who fired). Items whose key fields
    mostly agree (the section's `same_fact_share`) are one: the first, with the others' evidence.
    On dev this took gemma-lean-75 from micro-F1 0.327 to 0.379, attacks from 80 items to 52."""
    from .evals.scoring import key_agreement  # here: ceasefire.evals imports this module

    share = BY_NAME[section].same_fact_share
    facts: list[Any] = []
    for item in items:
        twin = next((kept for kept in facts if key_agreement(section, kept, item) >= share), None)
        if twin is None:
            facts.append(item)
        else:  # two items may point at one sentence: it is listed once
            twin.evidence = _without_repeats([*twin.evidence, *item.evidence])
    return facts


def _ground_item(article: str, item: Any) -> Any:
    item.evidence = [ground_evidence(article, e) for e in item.evidence]
    return item


def _ungrounded_count(items: list[Any]) -> int:
    return sum(not item.grounded for item in items)


def summarize(
    article: str,
    *,
    model: str | None = None,
    client: Any = None,
    prompts_dir: str | Path | None = None,
    on_ungrounded: Literal["flag", "drop"] = "flag",
    **backend_options: Any,
) -> ArticleSummary:
    """Summarize a news article about war and peace diplomacy.

    `model` is a model string (`local/smollm2-135m`, `openai/gpt-4o-mini`,
    `anthropic/claude-sonnet-4-5`, `gguf:/path/model.gguf`); without it, `CEASEFIRE_MODEL` or
    the embedded default. `client` is an instructor client of your own (see `Summarizer`).

    >>> from ceasefire import summarize                      # doctest: +SKIP
    >>> s = summarize(open("seeds/articles/000_4a1a7f77ad514017.txt").read())  # doctest: +SKIP
    >>> s.territorial_control[0].share_percent               # doctest: +SKIP
    75.0
    """
    return _summarizer(model, prompts_dir, on_ungrounded, backend_options, client)(article)


SUMMARIZERS_KEPT = MODELS_KEPT
"""Summarizers `summarize` keeps ready, the most recently used: each may hold a loaded model
(about 300 MB for SmolLM2), freed once its summarizer is dropped from here."""
_recent_summarizers: OrderedDict[str, Summarizer] = OrderedDict()
_summarizers_lock = threading.Lock()


def _summarizer(
    model: str | None,
    prompts_dir: str | Path | None,
    on_ungrounded: Literal["flag", "drop"],
    backend_options: dict[str, Any],
    client: Any = None,
) -> Summarizer:
    """One Summarizer per configuration, so a loaded model serves the next calls."""
    if client is not None:  # nothing to load, and a cache would keep the caller's client alive
        return Summarizer.from_model(
            model, client=client, prompts_dir=prompts_dir, on_ungrounded=on_ungrounded, **backend_options
        )
    model = model or os.environ.get("CEASEFIRE_MODEL") or DEFAULT_MODEL
    key = repr((model, str(prompts_dir), on_ungrounded, sorted(backend_options.items())))
    with _summarizers_lock:
        if key in _recent_summarizers:
            _recent_summarizers.move_to_end(key)
            return _recent_summarizers[key]
        summarizer = Summarizer.from_model(
            model, prompts_dir=prompts_dir, on_ungrounded=on_ungrounded, **backend_options
        )
        _recent_summarizers[key] = summarizer
        while len(_recent_summarizers) > SUMMARIZERS_KEPT:
            _recent_summarizers.popitem(last=False)
        return summarizer


def fan_out(summarizer: Summarizer, concurrency: int) -> tuple[Summarizer, int]:
    """A summarizer that keeps at most `concurrency` requests in flight, and how many articles
    to run at once to keep them all busy.

    An article makes its calls one after another, so `concurrency` articles would leave slots
    idle whenever fewer than that are left, or between one article's calls; twice as many
    articles queue for the slots instead. An in-process model serves one call at a time.
    """
    if summarizer.backend.in_process:
        return summarizer, 1
    limited = replace(summarizer, backend=summarizer.backend.with_request_limit(concurrency))
    return limited, 2 * max(1, concurrency)


async def asummarize(article: str, **options: Any) -> ArticleSummary:
    """`summarize` for async code (and notebooks' running event loop): the model call runs in a
    worker thread, so the loop stays free.

    >>> summary = await asummarize(text, model="openai/gpt-4o-mini")   # doctest: +SKIP
    """
    return await asyncio.to_thread(summarize, article, **options)


def summarize_many(
    articles: Iterable[str],
    *,
    concurrency: int = 8,
    model: str | None = None,
    client: Any = None,
    prompts_dir: str | Path | None = None,
    on_ungrounded: Literal["flag", "drop"] = "flag",
    progress: bool = False,
    **backend_options: Any,
) -> list[ArticleSummary | CeasefireError]:
    """Summarize many articles with up to `concurrency` requests in flight (API backends; an
    in-process model takes one article at a time). Returns one entry per article, in order:
    its summary, or the ceasefire error that stopped it, so one bad article never loses the
    others. `articles` may be a generator: it is read as work frees up.

    >>> results = summarize_many(texts, model="openai/gpt-4o-mini", concurrency=16)  # doctest: +SKIP
    """
    shared = _summarizer(model, prompts_dir, on_ungrounded, backend_options, client)
    summarizer, workers = fan_out(shared, concurrency)
    total = len(articles) if hasattr(articles, "__len__") else None

    def one(text: str) -> ArticleSummary | CeasefireError:
        try:
            return summarizer(text)
        except CeasefireError as exc:
            return exc

    done = run_all(
        one, articles, workers=workers, progress=progress, total=total, label=summarizer.backend.model
    )
    return [result for _, result in sorted(done, key=lambda pair: pair[0])]
