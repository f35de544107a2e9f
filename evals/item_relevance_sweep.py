"""How micro-F1 would move if a stored run kept only the items resting on a sentence the relevance
model rates at least T for the item's section: the sweep that chose `choices.MIN_ITEM_RELEVANCE`.

    ceasefire eval --split dev -m local/ceasefire-270m --json dev.json   # a run, stored
    python evals/item_relevance_sweep.py RUN_ID

It re-scores the run's stored answers, so it calls no model. Use it on a run made without the
filter (MIN_ITEM_RELEVANCE at or below choices.MIN_RELEVANCE): a filtered run has no items left
below its threshold to sweep.
"""

from __future__ import annotations

import argparse

from ceasefire.choices import scored_candidates
from ceasefire.evals.dataset import load_dataset
from ceasefire.evals.scoring import aggregate, score_article
from ceasefire.evals.store import RunStore
from ceasefire.schema import SECTIONS, ArticleSummary

THRESHOLDS = [-5.0, -4.0, -3.0, -2.5, -2.0, -1.5, -1.0, 0.0]


def item_relevance(scores: dict[tuple[int, int], float], item) -> float:
    """The best log-odds among the item's sentences: under a grammar each evidence span is a
    candidate sentence, scored as the library scores it (`choices.scored_candidates`)."""
    return max((scores.get((e.start, e.end), float("-inf")) for e in item.evidence), default=float("-inf"))


def sweep(store: RunStore, run_id: str, thresholds=THRESHOLDS) -> list[dict[str, float]]:
    """Per threshold: the run's micro precision, recall and F1 with the items below it dropped,
    and how many items were kept."""
    run = store.run(run_id)
    samples = {s.id: s for s in load_dataset(run["dataset"])}
    scored = []
    for result in store.results(run["run_id"]):
        if result["summary"] is None:
            continue
        sample = samples[result["article_id"]]
        summary = ArticleSummary.model_validate_json(result["summary"])
        ranks = {}
        for section in SECTIONS:
            relevance = dict(scored_candidates(sample.text, section))
            ranks |= {(section, id(it)): item_relevance(relevance, it) for it in getattr(summary, section)}
        scored.append((sample.gold, summary, ranks))
    rows = []
    for threshold in thresholds:
        scores, kept = [], 0
        for gold, summary, ranks in scored:
            kept_items = {
                s: [it for it in getattr(summary, s) if ranks[(s, id(it))] >= threshold] for s in SECTIONS
            }
            kept += sum(map(len, kept_items.values()))
            scores.append(score_article(gold, summary.model_copy(update=kept_items)))
        overall = aggregate(scores)["overall"]
        rows.append(
            {"threshold": threshold, **{k: overall[k] for k in ("precision", "recall", "f1")}, "kept": kept}
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_id")
    parser.add_argument("--store", default=".ceasefire/runs.sqlite")
    args = parser.parse_args()
    store = RunStore(args.store)
    run = store.run(args.run_id)
    print(f"run {run['run_id']} ({run['model']})")
    print("threshold  micro P  micro R  micro F1  items kept")
    for row in sweep(store, run["run_id"]):
        print(
            f"{row['threshold']:9.1f}  {row['precision']:7.3f}  {row['recall']:7.3f}"
            f"  {row['f1']:8.4f}  {row['kept']:10d}"
        )


if __name__ == "__main__":
    main()
