"""The eval harness: run a summarizer over a dataset, score it, store the run.

It calls the same public `Summarizer` users call. Answers are cached by configuration and
article, so re-running an unchanged configuration calls no model; API backends run
articles concurrently, an in-process model one after another.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CeasefireError
from ..runner import run_all
from ..schema import ArticleSummary
from ..summarize import Summarizer, fan_out
from .dataset import Sample, is_teacher_labelled, load_dataset, resolve_dataset
from .scoring import aggregate, score_article
from .store import DEFAULT_STORE, RunStore, cache_key, now

DEFAULT_DATASET = Path("evals") / "datasets"


@dataclass
class EvalRun:
    run_id: str
    scores: dict[str, Any]
    results: list[dict[str, Any]]


def _summarize_one(
    summarizer: Summarizer, sample: Sample, store: RunStore, use_cache: bool
) -> dict[str, Any]:
    key = cache_key(summarizer.config, sample.text)
    hit = store.cached(key) if use_cache else None
    if hit is not None:
        return {
            "article_id": sample.id,
            "summary": hit["summary"],
            "error": None,
            "raw": [],
            "tokens_in": hit["tokens_in"],
            "tokens_out": hit["tokens_out"],
            "latency_s": hit["latency_s"],
            "cached": 1,
        }
    started = time.perf_counter()
    try:
        result = summarizer.run(sample.text)
    except CeasefireError as exc:
        usage = getattr(exc, "usage", None)
        return {
            "article_id": sample.id,
            "summary": None,
            "error": f"{type(exc).__name__}: {exc}",
            "raw": usage.raw_completions if usage else [],
            "tokens_in": usage.tokens_in if usage else 0,
            "tokens_out": usage.tokens_out if usage else 0,
            "latency_s": time.perf_counter() - started,
            "cached": 0,
        }
    latency = time.perf_counter() - started
    summary_json, usage = result.summary.model_dump_json(), result.usage
    store.put_cache(key, summary_json, usage.raw_completions, usage.tokens_in, usage.tokens_out, latency)
    return {
        "article_id": sample.id,
        "summary": summary_json,
        "error": None,
        "raw": usage.raw_completions,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "latency_s": latency,
        "cached": 0,
    }


def score_results(
    samples: list[Sample], results: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scores of a run (aggregate) and of each article, from stored results."""
    by_id = {r["article_id"]: r for r in results}
    article_scores = {}
    per_article = {}
    returned = grounded = 0
    for sample in samples:
        row = by_id.get(sample.id)
        pred = ArticleSummary.model_validate_json(row["summary"]) if row and row["summary"] else None
        score = score_article(sample.gold, pred)
        article_scores[sample.id] = score
        per_article[sample.id] = aggregate([score])["overall"]
        if pred is not None:
            items = pred.items()
            returned += len(items)
            grounded += sum(item.grounded for _, item in items)
    rows = [by_id[s.id] for s in samples if s.id in by_id]
    latencies = [r["latency_s"] for r in rows if not r["cached"]] or [r["latency_s"] for r in rows]
    scores = {
        "n_articles": len(samples),
        **aggregate(article_scores.values()),
        "valid_rate": round(sum(1 for r in rows if r["summary"]) / max(1, len(samples)), 4),
        "grounded_rate": round(grounded / returned, 4) if returned else 1.0,
        "items_returned": returned,
        "latency_s": {
            "mean": round(statistics.fmean(latencies), 3) if latencies else 0.0,
            "median": round(statistics.median(latencies), 3) if latencies else 0.0,
        },
        "tokens_in_per_article": round(statistics.fmean(r["tokens_in"] for r in rows), 1) if rows else 0,
        "tokens_out_per_article": round(statistics.fmean(r["tokens_out"] for r in rows), 1) if rows else 0,
        "errors": {r["article_id"]: r["error"] for r in rows if r["error"]},
    }
    return scores, per_article


def agreement(first: str | Path, second: str | Path) -> dict[str, Any]:
    """How far two label sets of the same articles agree, scored as a run is scored, the first set
    taken as the reference (F1 is symmetric: swapping them swaps precision and recall only).

    >>> agreement("training/corpus", "training/corpus/relabel")["overall"]["f1"]   # doctest: +SKIP
    """
    reference = {sample.id: sample for sample in load_dataset(first)}
    other = {sample.id: sample for sample in load_dataset(second)}
    shared = sorted(reference.keys() & other.keys())
    if not shared:
        raise ValueError(f"{first} and {second} label no article in common")
    for article_id in shared:
        if reference[article_id].text != other[article_id].text:
            raise ValueError(f"{article_id}: the two sets label different texts")
    scores = [score_article(reference[i].gold, other[i].gold) for i in shared]
    return {"n_articles": len(shared), "articles": shared, **aggregate(scores)}


def run_eval(
    dataset: str | Path = DEFAULT_DATASET,
    split: str | None = "dev",
    model: str | None = None,
    *,
    use_cache: bool = True,
    concurrency: int = 4,
    store: RunStore | None = None,
    prompts_dir: str | Path | None = None,
    progress: bool = True,
    on_article: Callable[[dict[str, Any]], None] | None = None,
    **backend_options: Any,
) -> EvalRun:
    """Summarize every article of the dataset (split), score the run and store it.

    >>> run = run_eval("evals/datasets", "dev", "local/smollm2-135m")   # doctest: +SKIP
    >>> run.scores["overall"]["f1"]                                      # doctest: +SKIP
    """
    path = resolve_dataset(dataset, split)
    if is_teacher_labelled(path):
        raise ValueError(
            f"{path} holds teacher labels, made to train on: it is never scored as an eval result"
        )
    store = store or RunStore(DEFAULT_STORE)
    samples = load_dataset(path)
    summarizer = Summarizer.from_model(model, prompts_dir=prompts_dir, **backend_options)
    summarizer, workers = fan_out(summarizer, concurrency)
    started = time.perf_counter()
    done = []
    for position, result in run_all(
        lambda sample: _summarize_one(summarizer, sample, store, use_cache),
        samples,
        workers=workers,
        progress=progress,
        total=len(samples),
        label=summarizer.backend.model,
    ):
        done.append((position, result))
        if on_article:
            on_article(result)
    results = [result for _, result in sorted(done, key=lambda pair: pair[0])]
    wall = time.perf_counter() - started
    scores, per_article = score_results(samples, results)
    run_id = uuid.uuid4().hex[:12]
    scores = {
        "run_id": run_id,
        "model": summarizer.backend.model,
        "prompt_version": summarizer.prompts.version,
        "dataset": str(path),
        "split": split,
        "wall_s": round(wall, 3),
        "cached_articles": sum(r["cached"] for r in results),
        **scores,
    }
    for r in results:
        r["scores"] = per_article[r["article_id"]]
    store.save_run(
        {
            "run_id": run_id,
            "created": now(),
            "model": summarizer.backend.model,
            "prompt_version": summarizer.prompts.version,
            "dataset": str(path),
            "split": split,
            "config": summarizer.config,
            "scores": scores,
            "wall_s": wall,
        },
        results,
    )
    return EvalRun(run_id, scores, results)


def rescore(run_id: str, store: RunStore | None = None) -> EvalRun:
    """Score a stored run again (after a scorer or gold fix), without calling any model."""
    store = store or RunStore(DEFAULT_STORE)
    run = store.run(run_id)
    results = store.results(run["run_id"])
    samples = load_dataset(run["dataset"])
    fresh, per_article = score_results(samples, results)
    keep = {
        k: run["scores"][k]
        for k in ("run_id", "model", "prompt_version", "dataset", "split", "wall_s", "cached_articles")
        if k in run["scores"]
    }
    scores = {**keep, **fresh, "latency_s": run["scores"].get("latency_s", fresh["latency_s"])}
    store.update_scores(run["run_id"], scores, per_article)
    for r in results:
        r["scores"] = per_article.get(r["article_id"])
    return EvalRun(run["run_id"], scores, results)


def compare(run_a: str, run_b: str, store: RunStore | None = None) -> dict[str, Any]:
    """Per-field F1 deltas (B minus A) and the articles whose F1 dropped from A to B."""
    store = store or RunStore(DEFAULT_STORE)
    a, b = store.run(run_a), store.run(run_b)
    fields = sorted(set(a["scores"]["fields"]) | set(b["scores"]["fields"]))
    deltas = {
        f: {
            "a": a["scores"]["fields"].get(f, {}).get("f1", 0.0),
            "b": b["scores"]["fields"].get(f, {}).get("f1", 0.0),
        }
        for f in fields
    }
    for d in deltas.values():
        d["delta"] = round(d["b"] - d["a"], 4)
    f1_a = {r["article_id"]: (r["scores"] or {}).get("f1", 0.0) for r in store.results(a["run_id"])}
    f1_b = {r["article_id"]: (r["scores"] or {}).get("f1", 0.0) for r in store.results(b["run_id"])}
    worse = sorted(
        (
            {"article_id": k, "a": f1_a[k], "b": f1_b[k], "delta": round(f1_b[k] - f1_a[k], 4)}
            for k in f1_a.keys() & f1_b.keys()
            if f1_b[k] < f1_a[k]
        ),
        key=lambda row: row["delta"],
    )
    return {
        "a": a["run_id"],
        "b": b["run_id"],
        "overall": {
            "a": a["scores"]["overall"]["f1"],
            "b": b["scores"]["overall"]["f1"],
            "delta": round(b["scores"]["overall"]["f1"] - a["scores"]["overall"]["f1"], 4),
        },
        "fields": deltas,
        "worse_articles": worse,
    }
