"""Benchmarks: library overhead, constrained decoding, prefix reuse, batch throughput, eval cache, memory.

Every figure is a ratio measured side by side in one run (median of several runs, min and max
shown), so the noise of a shared machine hits both sides alike. See benchmarks/README.md.

    python benchmarks/run.py [--quick] [--json benchmarks/results.json] [--only batch,cache]
    python benchmarks/run.py --readme-from benchmarks/results.json   # README's table, from the JSON
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import dataclasses
import datetime
import functools
import json
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp.llama_grammar import json_schema_to_gbnf
from rich.console import Console
from rich.table import Table

from ceasefire import ArticleSummary, Summarizer, summarize_many
from ceasefire.backends import (
    DEFAULT_MODEL,
    _load_llama,
    _without_control_chars,
    every_property_required,
    local_model,
)
from ceasefire.choices import Choices, bound_for_grammar, constrain_schema
from ceasefire.evals import run_eval
from ceasefire.evals.store import RunStore
from ceasefire.sections import BY_NAME
from ceasefire.summarize import SECTION_CALLS

try:
    import jsonschema
except ImportError:  # not a dependency of ceasefire: without it, outputs are checked by pydantic only
    jsonschema = None

AttacksSection = BY_NAME["attacks"].numbered_model

ROOT = Path(__file__).resolve().parents[1]

SEED = ROOT / "seeds" / "articles" / "000_4a1a7f77ad514017.txt"
SMOLLM, GEMMA = "local/smollm2-135m", "local/gemma-3-270m"
DELAY_S = 0.2
BENCHMARKS = ("overhead", "constrained", "batch", "cache", "memory", "speed")


@dataclass(frozen=True)
class Plan:
    repeats: int
    seed_lines: tuple[int, ...] | None
    """Lines of the seed article to use; None: all of it."""
    max_decode_tokens: int | None
    batch: tuple[tuple[int, int], ...]
    """(articles, concurrency) pairs."""
    eval_set: tuple[str, str | None]


FULL = Plan(3, None, None, ((20, 1), (200, 8), (200, 32)), ("evals/datasets", "dev"))
# Title, lead and the attacks paragraph: every kind of request, in a fraction of the time.
QUICK = Plan(1, (0, 1, 8), 48, ((2, 1), (16, 8), (64, 32)), ("seeds", None))


@dataclass
class Row:
    """One line of the table: a ratio (or a size) measured `len(samples)` times."""

    benchmark: str
    samples: list[float]
    target: str = "—"
    goal: Callable[[float], bool] | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        median = statistics.median(self.samples)
        return {
            "benchmark": self.benchmark,
            "median": median,
            "min": min(self.samples),
            "max": max(self.samples),
            "target": self.target,
            "met": None if self.goal is None else self.goal(median),
            "samples": self.samples,
            "notes": self.notes,
        }


def loaded_llama(model: str) -> Any:
    """The `llama_cpp.Llama` the library runs `model` on (`_load_llama` is cached: same object)."""
    registered = local_model(model)
    return _load_llama(str(registered.weights), registered.chat_format, 8192, os.cpu_count(), None)[1]


@dataclass
class Request:
    kwargs: dict[str, Any]
    content: str


def record_requests(summarizer: Summarizer, article: str) -> list[Request]:
    """Summarize once, keeping the exact keyword arguments of every model call and its answer."""
    create = summarizer.backend.create
    requests: list[Request] = []

    def recorder(**kwargs: Any) -> Any:
        sent = copy.deepcopy(kwargs)
        completion = create(**kwargs)
        requests.append(Request(sent, completion.choices[0].message.content))
        return completion

    summarizer.backend.create = recorder
    try:
        summarizer(article)
    finally:
        summarizer.backend.create = create
    return requests


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bench_overhead_and_prefix(
    summarizer: Summarizer, requests: list[Request], article: str, plan: Plan
) -> list[Row]:
    """Library vs the same requests replayed on llama_cpp; replayed with vs without KV prefix reuse."""
    misses = _load_llama.cache_info().misses
    llm = loaded_llama(SMOLLM)
    assert _load_llama.cache_info().misses == misses, "not the model object the summarizer uses"

    def library() -> int:
        return summarizer(article).metadata.attempts

    def raw() -> list[str]:
        return [llm.create_chat_completion_openai_v1(**r.kwargs).choices[0].message.content for r in requests]

    def raw_without_reuse() -> list[str]:
        contents = []
        for r in requests:
            llm.reset()  # forget the previous call's KV cache: the shared prefix is evaluated again
            contents.append(llm.create_chat_completion_openai_v1(**r.kwargs).choices[0].message.content)
        return contents

    variants: dict[str, Callable[[], Any]] = {"library": library, "raw": raw, "no reuse": raw_without_reuse}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    outputs: dict[str, Any] = {}
    for i in range(plan.repeats):
        names = list(variants)[i % 3 :] + list(variants)[: i % 3]  # each variant goes first in turn
        for name in names:
            llm.reset()
            elapsed, outputs[name] = timed(variants[name])
            seconds[name].append(elapsed)
    recorded = [r.content for r in requests]
    overhead = Row(
        "overhead: Summarizer ÷ raw llama_cpp, smollm2",
        [lib / raw for lib, raw in zip(seconds["library"], seconds["raw"], strict=True)],
        "≤ 1.05",
        lambda m: m <= 1.05,
        [
            f"{len(requests)} calls; library {statistics.median(seconds['library']):.1f} s, "
            f"raw {statistics.median(seconds['raw']):.1f} s (median)",
            f"replayed answers identical to the library's: {outputs['raw'] == recorded}; "
            f"library calls per run: {outputs['library']}",
        ],
    )
    prefix = Row(
        "prefix reuse: time with ÷ without KV reuse",
        [a / b for a, b in zip(seconds["raw"], seconds["no reuse"], strict=True)],
        notes=[
            f"with {statistics.median(seconds['raw']):.1f} s, without "
            f"{statistics.median(seconds['no reuse']):.1f} s; "
            f"answers identical without reuse: {outputs['no reuse'] == recorded}"
        ],
    )
    return [overhead, prefix]


@contextmanager
def llama_seconds(into: Counter[str]) -> Iterator[None]:
    """Add the seconds spent in llama.cpp's forward pass (`decode`), in its sampler chain
    (`sample`: repeat penalty, grammar over the whole vocabulary, greedy) and in building the
    grammar (`json_schema_to_gbnf` in Python, `add_grammar` parsing it in C) to `into`."""
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        into["total"] += time.perf_counter() - started
        stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
        for (file, _, function), (_, _, own, cumulative, _) in stats.items():
            if file.endswith("_internals.py") and function in ("decode", "sample", "add_grammar"):
                into[function] += own
            elif function == "json_schema_to_gbnf":
                into[function] += cumulative


def enum_values(schema: Any) -> int:
    if isinstance(schema, dict):
        return len(schema.get("enum", [])) + sum(enum_values(v) for v in schema.values())
    return sum(enum_values(v) for v in schema) if isinstance(schema, list) else 0


def check_answer(completion: Any, schema: dict[str, Any]) -> str:
    """Whether the answer is valid as the library reads it (control characters blanked) and
    within the grammar's schema: "valid", "cut off" (at max_tokens) or "INVALID"."""
    if completion.choices[0].finish_reason == "length":
        return "cut off"
    content = _without_control_chars(completion.choices[0].message.content)
    try:
        AttacksSection.model_validate_json(content)
        if jsonschema is not None:
            jsonschema.validate(json.loads(content), schema)
    except ValueError:
        return "INVALID"
    except Exception as exc:
        if jsonschema is not None and isinstance(exc, jsonschema.ValidationError):
            return "INVALID"
        raise
    return "valid"


def constrained_vs_free(model: str, label: str, request: dict[str, Any], repeats: int) -> list[Row]:
    """Tokens/s under the request's grammar vs free greedy decoding of as many tokens, same prompt;
    and the library's sampler (`GreedyGrammar`: the greedy token checked first) vs llama-cpp-python's
    (the grammar over the whole vocabulary), which must write the same answer.

    The prompt is evaluated once first; every timed call reuses it, so all sides time decoding.
    Free decoding drives `Llama.generate`, which never stops at end-of-text, with the sampler
    settings of the chat handler (greedy, repeat penalty 1.1): only the grammar differs.
    """
    llm = loaded_llama(model)
    schema = request["response_format"]["schema"]
    without_format = {k: v for k, v in request.items() if k != "response_format"}
    llm.reset()
    first = llm.create_chat_completion_openai_v1(**request)
    prompt = list(llm.input_ids[: first.usage.prompt_tokens])
    # The reference answer is taken with the prompt in the cache, as every compared call runs: a
    # prompt read in one batch leaves logits that differ in the last digits from those of a
    # cached prompt, enough to flip a near tie (seen on the quick plan's attacks request, where
    # llama-cpp-python's own two runs wrote an empty list, then an item).
    first = llm.create_chat_completion_openai_v1(**request)
    n = first.usage.completion_tokens
    answers = Counter([check_answer(first, schema)])
    grammar: Counter[str] = Counter()
    checked_first: Counter[str] = Counter()
    forced_first: Counter[str] = Counter()
    free: Counter[str] = Counter()

    def constrained() -> None:
        with llama_seconds(grammar):
            completion = llm.create_chat_completion_openai_v1(**request)
        grammar["tokens"] += completion.usage.completion_tokens
        answers[check_answer(completion, schema)] += 1

    def checked(forcing: bool = False) -> None:
        counter = forced_first if forcing else checked_first
        decoding = llm.decoding(schema, forcing=forcing, closing_repeats=forcing)
        with decoding as decoder, llama_seconds(counter):
            completion = llm.create_chat_completion_openai_v1(**without_format)
        counter["tokens"] += completion.usage.completion_tokens
        counter["scans"] += decoder.scans
        counter["forced"] += decoder.forced
        same = completion.choices[0].message.content == first.choices[0].message.content
        if forcing:
            counter["same answer" if same else "other answer"] += 1
            if check_answer(completion, schema) == "INVALID":
                answers["INVALID"] += 1
        else:
            answers["same as llama-cpp-python's" if same else "DIFFERENT from llama-cpp-python's"] += 1

    def unconstrained() -> None:
        tokens = llm.generate(prompt, temp=0.0, repeat_penalty=1.1)
        with llama_seconds(free):
            free["tokens"] += sum(1 for _ in zip(range(n), tokens, strict=False))
        tokens.close()

    def tokens_per_s(counter: Counter[str], before: Counter[str]) -> float:
        run = counter - before
        return run["tokens"] / run["total"]

    ratios, speedups, batched = [], [], []
    for i in range(repeats):
        before = grammar.copy(), checked_first.copy(), free.copy(), forced_first.copy()
        runs = (constrained, checked, unconstrained, functools.partial(checked, forcing=True))
        for run in runs if i % 2 == 0 else runs[::-1]:
            run()
        ratios.append(tokens_per_s(grammar, before[0]) / tokens_per_s(free, before[2]))
        speedups.append(tokens_per_s(checked_first, before[1]) / tokens_per_s(grammar, before[0]))
        batched.append((checked_first - before[1])["total"] / (forced_first - before[3])["total"])

    def ms_per_token(counter: Counter[str], *keys: str) -> str:
        seconds = counter[keys[0]] - sum(counter[k] for k in keys[1:])
        return f"{seconds / counter['tokens'] * 1000:.2f}"

    gbnf = json_schema_to_gbnf(json.dumps(schema))
    parts = ("decode", "sample", "json_schema_to_gbnf", "add_grammar")
    name = f"{model.removeprefix('local/')}, {label}"
    valid = not answers["INVALID"] and not answers["DIFFERENT from llama-cpp-python's"]
    return [
        Row(
            f"grammar ÷ free tok/s: {name}",
            ratios,
            "≥ 0.6",
            notes=[
                f"{n} tokens; grammar {gbnf.count('::=')} rules, {len(gbnf)} chars, "
                f"{enum_values(schema)} enum values; vocabulary {llm.n_vocab()} tokens",
                f"ms per token, grammar | free: decode {ms_per_token(grammar, 'decode')} | "
                f"{ms_per_token(free, 'decode')}; sample {ms_per_token(grammar, 'sample')} | "
                f"{ms_per_token(free, 'sample')}; rest {ms_per_token(grammar, 'total', *parts)} | "
                f"{ms_per_token(free, 'total', *parts)}",
                f"grammar build per call: {grammar['json_schema_to_gbnf'] / repeats * 1000:.1f} ms to GBNF "
                f"(Python), {grammar['add_grammar'] / repeats * 1000:.1f} ms parsed (C)",
                "answers: "
                + ", ".join(f"{count} {kind}" for kind, count in sorted(answers.items()))
                + ("" if jsonschema else " (checked by pydantic only: jsonschema is not installed)"),
            ],
            # A broken constraint fails the row whatever its speed.
            goal=(lambda m: m >= 0.6 and valid),
        ),
        Row(
            f"checked first ÷ grammar tok/s: {name}",
            speedups,
            "> 1, same answer",
            notes=[
                f"the whole vocabulary scanned at {checked_first['scans'] / repeats:.0f} of "
                f"{checked_first['tokens'] / repeats:.0f} steps; ms per token, checked first: decode "
                f"{ms_per_token(checked_first, 'decode')}, the rest "
                f"{ms_per_token(checked_first, 'total', 'decode')}"
            ],
            goal=(lambda m: m > 1 and valid),
        ),
        Row(
            f"forced text batched ÷ token by token, seconds: {name}",
            batched,
            "> 1",
            notes=[
                f"{forced_first['forced'] / repeats:.0f} of {forced_first['tokens'] / repeats:.0f} tokens "
                f"forced by the schema; answers the same as token by token: {forced_first['same answer']}, "
                f"other: {forced_first['other answer']} (the forced text split into other tokens)"
            ],
            goal=(lambda m: m > 1 and valid),
        ),
    ]


def bench_constrained(requests: list[Request], article: str, plan: Plan) -> list[Row]:
    """The recorded attacks request, with the library's narrowed schema and with the plain one
    under the grammar's bounds only (what a reask sends)."""
    attacks = next(
        r.kwargs for r in requests if "attacks" in r.kwargs["response_format"]["schema"]["properties"]
    )
    # What the backend hands llama.cpp: every property required, then bounded and narrowed.
    plain_schema = every_property_required(AttacksSection.model_json_schema())
    most = next(call.grammar_max_items for call in SECTION_CALLS if call.name == "attacks")
    narrowed = constrain_schema(plain_schema, Choices.for_section(article, "attacks"), "attacks", most)
    assert narrowed == attacks["response_format"]["schema"], (
        "the recorded schema is not the plain one narrowed"
    )
    if plan.max_decode_tokens:
        attacks = {**attacks, "max_tokens": plan.max_decode_tokens}
    bounded = bound_for_grammar(plain_schema, "attacks", most)
    plain = {**attacks, "response_format": {"type": "json_object", "schema": bounded}}
    return [
        row
        for model in (SMOLLM, GEMMA)
        for label, request in (("plain", plain), ("narrowed", attacks))
        for row in constrained_vs_free(model, label, request, plan.repeats)
    ]


# The test server in a process of its own, as a real API is: in this one it would compete with
# the client for the GIL. It prints its address, then, when stdin closes, the requests it got.
_SERVER = f"""
import dataclasses, sys
from chat_server import ChatServer, plausible_answer
with ChatServer(lambda r: dataclasses.replace(plausible_answer(r), delay_s={DELAY_S})) as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
    print(len(server.requests), flush=True)
"""


def batch_run(texts: list[str], concurrency: int) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of this (the client's) process and calls made."""
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        cwd=ROOT / "tests",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = server.stdout.readline().strip()  # type: ignore[union-attr]
        cpu = time.process_time()
        wall, results = timed(
            lambda: summarize_many(
                texts, concurrency=concurrency, model="openai/bench", base_url=base_url, api_key="k"
            )
        )
        cpu = time.process_time() - cpu
        assert all(isinstance(r, ArticleSummary) for r in results), results
        calls, _ = server.communicate(timeout=30)
        return wall, cpu, int(calls)
    finally:
        server.kill()


def bench_batch(article: str, plan: Plan) -> list[Row]:
    """summarize_many against the test server answering after DELAY_S: share of the ideal time."""
    batch_run([article], 1)  # first calls pay for imports and schema building: not measured
    widest = plan.batch[-1]
    configs = list(plan.batch)
    shares: dict[tuple[int, int], list[float]] = {k: [] for k in configs}
    cpu_per_call: dict[tuple[int, int], list[float]] = {k: [] for k in configs}
    for i in range(plan.repeats):
        for n, c in configs[i % len(configs) :] + configs[: i % len(configs)]:
            texts = [f"{article}\n\nBulletin {k}." for k in range(n)]
            wall, cpu, calls = batch_run(texts, c)
            shares[n, c].append(n * len(SECTION_CALLS) * DELAY_S / c / wall)
            cpu_per_call[n, c].append(cpu / calls * 1000)
    rows = []
    for n, c in configs:
        ideal = n * len(SECTION_CALLS) * DELAY_S / c
        # c requests in flight: the calls go out in rounds of c, the last one partly empty.
        bound = math.ceil(n * len(SECTION_CALLS) / c) * DELAY_S
        cpu_ms = statistics.median(cpu_per_call[n, c])
        busy = cpu_ms / 1000 * n * len(SECTION_CALLS) / (ideal / statistics.median(shares[n, c]))
        rows.append(
            Row(
                f"batch c={c}, {n} articles: ideal ÷ actual",
                shares[n, c],
                "≥ 0.9" if (n, c) == widest else "—",
                (lambda m: m >= 0.9) if (n, c) == widest else None,
                [
                    f"ideal {ideal:.2f} s"
                    + (
                        f"; rounds of {c} calls need {bound:.2f} s: at most {ideal / bound:.3f}"
                        if bound > ideal
                        else ""
                    )
                    + f"; client CPU {cpu_ms:.1f} ms per call, {busy:.0%} of one core over the run"
                ],
            )
        )
    return rows


def bench_cache(plan: Plan) -> Row:
    """An eval re-run answered from the run store's cache vs the cold run that filled it."""
    dataset, split = plan.eval_set
    loaded_llama(SMOLLM)  # the cold run times summarizing, not loading the model
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "runs.sqlite")

        def run() -> Any:
            return run_eval(ROOT / dataset, split, SMOLLM, store=store, progress=False)

        cold, first = timed(run)
        warm = []
        for _ in range(plan.repeats):
            elapsed, again = timed(run)
            assert again.scores["cached_articles"] == again.scores["n_articles"]
            warm.append(elapsed)
        store.close()
    return Row(
        f"eval cache: cold ÷ cached, {split or dataset}",
        [cold / w for w in warm],
        "≥ 50",
        lambda m: m >= 50,
        [
            f"{first.scores['n_articles']} articles: cold {cold:.1f} s (model already loaded), "
            f"cached {statistics.median(warm) * 1000:.0f} ms (median)"
        ],
    )


# Linux carries the parent's peak RSS over exec into the child's ru_maxrss (this process holds
# both models by now), so the child also reports VmHWM: the peak of its own address space.
PEAK_RSS = """
import re, resource, sys
from ceasefire import summarize
summarize(sys.stdin.read(), model=sys.argv[1])
status = open("/proc/self/status").read()
hwm = re.search(r"VmHWM:\\s+(\\d+) kB", status)
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(maxrss, hwm.group(1) if hwm else maxrss)
"""


# Each child times itself from its first line: interpreter start aside, everything a user waits for.
SEED_WITH_MODEL = """
import time; started = time.perf_counter()
import sys
from ceasefire import summarize
summary = summarize(sys.stdin.read(), model=sys.argv[1])
print(time.perf_counter() - started, summary.metadata.tokens_out)
"""
# The floor for the same weights (the adapter too) and threads: load them, read the article
# once, write 128 free tokens. A plain completion: the chat format adds a dozen tokens at most.
FLOOR = """
import time; started = time.perf_counter()
import os, sys
from llama_cpp import Llama
from ceasefire.backends import local_model
model = local_model(sys.argv[1])
lora = dict(lora_path=str(model.adapter)) if model.adapter else {}
llm = Llama(str(model.weights), n_ctx=8192, n_threads=os.cpu_count(), verbose=False, **lora)
never_stop = {llm.token_eos(): -100.0}
out = llm.create_completion(sys.stdin.read(), max_tokens=128, temperature=0, logit_bias=never_stop)
print(time.perf_counter() - started, out["usage"]["completion_tokens"])
"""


def bench_speed(article: str, plan: Plan, model: str) -> Row:
    """Seconds to summarize the seed with `model` in a fresh process, over the floor for the
    same weights; the two alternate, so both see the same machine."""
    ratios, notes = [], []
    for _ in range(plan.repeats):
        seconds = {}
        for name, script in (("summary", SEED_WITH_MODEL), ("floor", FLOOR)):
            out = subprocess.run(
                [sys.executable, "-c", script, model],
                input=article,
                capture_output=True,
                text=True,
                check=True,
            )
            seconds[name], tokens = out.stdout.split()[-2:]
            notes.append(f"{name} {float(seconds[name]):.1f} s, {tokens} tokens out")
        ratios.append(float(seconds["summary"]) / float(seconds["floor"]))
    label = f"seed seconds: {model} ÷ floor, fresh processes"
    return Row(label, ratios, "≤ 2.0", lambda r: r <= 2.0, notes)


def bench_memory(article: str) -> list[Row]:
    """Peak resident memory of a fresh process summarizing the article, in MiB."""
    rows = []
    for model in (SMOLLM, GEMMA):
        out = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, model], input=article, capture_output=True, text=True, check=True
        )
        maxrss_kib, hwm_kib = map(int, out.stdout.split()[-2:])
        rows.append(
            Row(
                f"peak RSS MiB: {model.removeprefix('local/')}",
                [hwm_kib / 1024],
                notes=[f"VmHWM {hwm_kib / 1024:.0f} MiB; ru_maxrss {maxrss_kib / 1024:.0f} MiB"],
            )
        )
    return rows


def machine() -> dict[str, Any]:
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "llama_cpp": llama_cpp.__version__,
        "load_average": os.getloadavg(),
    }


def print_table(rows: list[Row], info: dict[str, Any]) -> None:
    table = Table(title=f"ceasefire benchmarks, {info['date']}, {info['cpus']} CPUs", title_justify="left")
    for column in ("benchmark", "measured (median)", "min", "max", "target", "met?"):
        table.add_column(column, justify="left" if column == "benchmark" else "right")
    for row in rows:
        d = row.as_dict()
        met = {True: "[green]yes", False: "[red]NO", None: "—"}[d["met"]]
        figures = (f"{v:,.0f}" if v >= 1000 else f"{v:.3g}" for v in (d["median"], d["min"], d["max"]))
        table.add_row(d["benchmark"], *figures, d["target"], met)
    console = Console()
    if not console.is_terminal:
        console.width = 120
    console.print(table)
    for row in rows:
        for note in row.notes:
            console.print(f"[dim]{row.benchmark}:[/dim] {note}", highlight=False)
    load = info["load_average"], info["load_average_after"]
    console.print(
        f"load average before {load[0][0]:.2f}, after {load[1][0]:.2f} (other processes share the CPUs)"
    )


README = Path(__file__).with_name("README.md")
TABLE_START = "<!-- results table: written by run.py --readme-from, never by hand -->"
TABLE_END = "<!-- end of results table -->"


def results_table(result: dict[str, Any]) -> str:
    """The README's table of a results JSON: the one source of its figures, targets and verdicts."""
    info = result["machine"]

    def figure(value: float) -> str:
        return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"

    lines = [
        f"{info['date'][:10]}, {info['cpus']} CPUs ({info['platform']}), Python {info['python']}, "
        f"llama-cpp-python {info['llama_cpp']}, {result['mode']} run, load average "
        f"{info['load_average'][0]:.1f} before and {info['load_average_after'][0]:.1f} after:",
        "",
        "| benchmark | median | min | max | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        met = {True: "yes", False: "no", None: "—"}[row["met"]]
        low, high = (figure(row["min"]), figure(row["max"])) if len(row["samples"]) > 1 else ("", "")
        lines.append(
            f"| {row['benchmark']} | {figure(row['median'])} | {low} | {high} | {row['target']} | {met} |"
        )
    return "\n".join(lines)


def write_readme_table(result: dict[str, Any], readme: Path = README) -> None:
    head, rest = readme.read_text("utf-8").split(TABLE_START)
    _, tail = rest.split(TABLE_END)
    readme.write_text(f"{head}{TABLE_START}\n{results_table(result)}\n{TABLE_END}{tail}", "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="one repeat of a smaller workload (a smoke test)"
    )
    parser.add_argument("--json", type=Path, help="also write the table, samples and notes here")
    parser.add_argument("--repeats", type=int, help="runs per measurement (default 3, quick 1)")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated: {','.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"the model of the speed benchmark (default {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--readme-from",
        type=Path,
        metavar="JSON",
        help="write README.md's table from a results JSON, and exit",
    )
    args = parser.parse_args(argv)
    if args.readme_from:
        write_readme_table(json.loads(args.readme_from.read_text("utf-8")))
        return 0
    plan = QUICK if args.quick else FULL
    if args.repeats:
        plan = dataclasses.replace(plan, repeats=args.repeats)
    only = set(args.only.split(","))
    if only - set(BENCHMARKS):
        parser.error(f"unknown benchmark(s): {', '.join(sorted(only - set(BENCHMARKS)))}")
    article = SEED.read_text(encoding="utf-8")
    if plan.seed_lines:
        lines = article.splitlines()
        article = "\n".join(lines[i] for i in plan.seed_lines)

    info = machine()
    rows: list[Row] = []
    if only & {"overhead", "constrained"}:
        summarizer = Summarizer.from_model(SMOLLM)
        requests = record_requests(summarizer, article)
        if "overhead" in only:
            rows += bench_overhead_and_prefix(summarizer, requests, article, plan)
        if "constrained" in only:
            rows += bench_constrained(requests, article, plan)
    if "batch" in only:
        rows += bench_batch(article, plan)
    if "cache" in only:
        rows.append(bench_cache(plan))
    if "memory" in only:
        rows += bench_memory(article)
    if "speed" in only:
        rows.append(bench_speed(article, plan, args.model))
    info["load_average_after"] = os.getloadavg()

    print_table(rows, info)
    if args.json:
        result = {
            "machine": info,
            "mode": "quick" if args.quick else "full",
            "plan": dataclasses.asdict(plan),
        }
        args.json.write_text(json.dumps({**result, "rows": [r.as_dict() for r in rows]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
