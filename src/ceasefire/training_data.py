"""Fine-tuning examples: exactly the requests the pipeline sends, answered with the gold label.

A model tuned on other prompts than the ones it is later asked with learns the wrong task, so
an example is built from `Summarizer.section_requests`: the same system prompt, article turn
and section task, one example per call the pipeline would make (a section with nothing to ask
gets none), with the gold section as the assistant's JSON in the section's own schema.

    python -m ceasefire.training_data OUT.jsonl --synthetic 400 --dataset evals/datasets/dev

Articles come from the synthetic generator and from hand-labelled datasets, never from a test
split: a model tuned on those would be scored on what it was shown.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .evals.dataset import load_dataset
from .schema import ArticleSummary
from .summarize import SECTION_CALLS, Summarizer
from .synthetic import generate


def gold_answer(gold: ArticleSummary, section: str) -> str:
    """The gold label's part for one call, as JSON the section's schema accepts.

    Lists longer than the schema allows are cut (the model could not write more either), and
    so is evidence beyond its bound.
    """
    call = next(c for c in SECTION_CALLS if c.name == section)
    if section == "overview":
        answer: dict[str, Any] = {
            "headline": gold.headline,
            "summary": gold.summary,
            "conflict": gold.conflict,
        }
    else:
        schema = call.response_model.model_json_schema()
        most = schema["properties"][section].get("maxItems")
        items = []
        for item in getattr(gold, section)[:most]:
            data = item.model_dump(mode="json")
            data["evidence"] = [{"quote": e["quote"]} for e in data["evidence"][:3]]
            items.append(data)
        answer = {section: items}
    # Validation puts the fields in the schema's order (evidence first), as the grammar does;
    # the evidence offsets it adds back are not in the schema, so not in the answer.
    computed = {"__all__": {"evidence": {"__all__": {"start", "end", "alignment"}}}}
    exclude = {section: computed} if section != "overview" else None
    return call.response_model.model_validate(answer).model_dump_json(exclude=exclude)


def chat_examples(summarizer: Summarizer, article: str, gold: ArticleSummary) -> list[dict[str, Any]]:
    """One `{"messages": [...]}` example per call the pipeline makes for this article."""
    return [
        {
            "messages": [
                *request.messages,
                {"role": "assistant", "content": gold_answer(gold, request.call.name)},
            ]
        }
        for request in summarizer.section_requests(article)
    ]


def labelled_articles(
    datasets: Iterable[str | Path], synthetic: int, seed: int
) -> Iterator[tuple[str, str, ArticleSummary]]:
    """(id, text, gold) of the hand-labelled datasets, then of `synthetic` generated articles."""
    for dataset in datasets:
        if Path(dataset).name == "test":
            raise ValueError(f"{dataset}: a test split is for scoring, never for training")
        for sample in load_dataset(dataset):
            yield sample.id, sample.text, sample.gold
    for example in generate(n=synthetic, seed=seed):
        yield example.id, example.text, example.gold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="JSONL file of chat examples to write")
    parser.add_argument("--dataset", action="append", default=[], help="hand-labelled dataset folder")
    parser.add_argument("--synthetic", type=int, default=400, help="generated articles to add")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="local/smollm2-135m", help="the model the examples are for")
    args = parser.parse_args(argv)
    summarizer = Summarizer(args.model)
    count = 0
    with args.out.open("w", encoding="utf-8") as out:
        for article_id, text, gold in labelled_articles(args.dataset, args.synthetic, args.seed):
            for example in chat_examples(summarizer, text, gold):
                out.write(json.dumps({"id": article_id, **example}, ensure_ascii=False) + "\n")
                count += 1
    print(f"{count} examples written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
