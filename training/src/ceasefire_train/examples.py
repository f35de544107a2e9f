"""Fine-tuning examples: exactly the requests the pipeline sends, answered with the gold label.

A model tuned on other prompts than the ones it is later asked with learns the wrong task, so
an example is built from `Summarizer.section_requests`: the same system prompt, numbered
sentences and section task, one example per call the pipeline would make (a section with no
candidate sentence gets none), with the gold section as the assistant's JSON in the call's
own schema.

    python -m ceasefire_train.examples OUT.jsonl [--dataset training/corpus] [--synthetic 400]
    python -m ceasefire_train.examples --stats training/corpus

Articles come from labelled datasets (the teacher corpus) and the synthetic generator, never
from a test split: a model tuned on those would be scored on what it was shown.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ceasefire.choices import GRAMMAR_LIST_BOUNDS, sentence_of
from ceasefire.evals.dataset import load_dataset
from ceasefire.schema import SECTIONS, ArticleSummary
from ceasefire.summarize import SectionRequest, Summarizer
from ceasefire_train.synthetic import generate


def gold_answer(gold: ArticleSummary, request: SectionRequest) -> str:
    """The gold label's part for one request, as JSON its response model accepts.

    Under a grammar an item points to one of the numbered sentences shown: a gold item whose
    evidence is in none of them is left out (the model could not point to it either), and the
    items follow the sentences' order. Lists longer than the grammar allows are cut: items,
    participants and the other bounded lists.
    """
    call = request.call
    if call.name == "overview":
        answer: dict[str, Any] = {
            "headline": gold.headline,
            "summary": gold.summary,
            "conflict": gold.conflict,
        }
    else:
        numbered = []
        for item in getattr(gold, call.name):
            data = item.model_dump(mode="json")
            if request.sentences is None:
                data["evidence"] = [{"quote": e["quote"]} for e in data["evidence"]]
                numbered.append((0, data))
            elif (number := sentence_of(item.evidence, request.sentences)) is not None:
                del data["evidence"]
                numbered.append((number, {"sentence": number, **data}))
        items = [data for _, data in sorted(numbered, key=lambda pair: pair[0])][: call.grammar_max_items]
        for data in items:
            for field, most in GRAMMAR_LIST_BOUNDS.items():
                if field in data:
                    data[field] = data[field][:most]
        answer = {call.name: items}
    # Validation puts the fields in the schema's order (evidence or sentence first), as the
    # grammar does; the evidence offsets it adds back are not in the schema, so not in the answer.
    computed = {"__all__": {"evidence": {"__all__": {"start", "end", "alignment"}}}}
    exclude = {call.name: computed} if call.name != "overview" and request.sentences is None else None
    return request.response_model.model_validate(answer).model_dump_json(exclude=exclude)


def chat_examples(summarizer: Summarizer, article: str, gold: ArticleSummary) -> list[dict[str, Any]]:
    """One `{"messages": [...]}` example per call the pipeline makes for this article."""
    return [
        {"messages": [*request.messages, {"role": "assistant", "content": gold_answer(gold, request)}]}
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


LENGTH_BANDS = ((150, "brief (< 150 words)"), (600, "150-599 words"), (1000, "600-999 words"))


def length_band(words: int) -> str:
    return next((band for most, band in LENGTH_BANDS if words < most), "1,000+ words")


def corpus_stats(root: str | Path) -> dict[str, Counter[str]]:
    """Counts of a labelled corpus (`manifest.jsonl` beside `articles/` and `gold/`): per conflict,
    language, style, kind, length band, and items per section (0, 1, 2, 3+)."""
    root = Path(root)
    rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text("utf-8").splitlines() if line]
    golds = {sample.id: sample.gold for sample in load_dataset(root)}
    stats: dict[str, Counter[str]] = {
        "conflict": Counter(row["conflict"] or "(none of the four topics)" for row in rows),
        "language": Counter(row["language"] for row in rows),
        "style": Counter(row["style"] for row in rows),
        "kind": Counter(row["kind"] for row in rows),
        "length": Counter(length_band(row["words"]) for row in rows),
    }
    for section in SECTIONS:
        stats[f"items: {section}"] = Counter(
            str(min(len(getattr(gold, section)), 3)).replace("3", "3+") for gold in golds.values()
        )
    stats["articles"] = Counter(
        {
            "in all": len(rows),
            "with 3+ items in some section": sum(
                any(len(getattr(gold, section)) >= 3 for section in SECTIONS) for gold in golds.values()
            ),
            "distinct conflicts": len({row["conflict"] for row in rows if row["conflict"]}),
        }
    )
    return stats


def print_stats(stats: dict[str, Counter[str]]) -> None:
    total = stats["articles"]["in all"]
    for name, counts in stats.items():
        print(f"\n{name}")
        for key, count in counts.most_common():
            share = f"{count / total:6.1%}" if name != "articles" or key != "distinct conflicts" else ""
            print(f"  {count:5d} {share}  {key}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, nargs="?", help="JSONL file of chat examples to write")
    parser.add_argument(
        "--dataset", action="append", help="labelled dataset folder (default: training/corpus; repeatable)"
    )
    parser.add_argument("--synthetic", type=int, default=0, help="generated articles to add")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="local/smollm2-135m", help="the model the examples are for")
    parser.add_argument("--stats", type=Path, metavar="CORPUS", help="print a corpus's counts and exit")
    args = parser.parse_args(argv)
    if args.stats:
        print_stats(corpus_stats(args.stats))
        return 0
    if args.out is None:
        parser.error("give OUT, the JSONL file to write, or --stats CORPUS")
    datasets = args.dataset or ["training/corpus"]
    summarizer = Summarizer.from_model(args.model)
    count = 0
    with args.out.open("w", encoding="utf-8") as out:
        for article_id, text, gold in labelled_articles(datasets, args.synthetic, args.seed):
            for example in chat_examples(summarizer, text, gold):
                out.write(json.dumps({"id": article_id, **example}, ensure_ascii=False) + "\n")
                count += 1
    print(f"{count} examples written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
