"""Train the sentence relevance model (`ceasefire.relevance`) on the teacher corpus.

    python -m ceasefire_train.relevance            # writes src/ceasefire/relevance.json

A sentence is a positive for a section where it is the evidence of one of the section's
teacher-labelled items. Logistic regression by stochastic gradient descent, one model a
section, in plain Python: a few thousand sentences train in under a minute, and the same
seed gives the same file. Dev and test are never read here: dev chooses the threshold
(`choices.MIN_RELEVANCE`).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

from ceasefire.choices import sentence_of, sentence_spans
from ceasefire.evals.dataset import Sample, load_dataset
from ceasefire.relevance import features
from ceasefire.schema import SECTIONS

CORPORA = ("training/corpus", "training/corpus-focus")
OUT = Path("src/ceasefire/relevance.json")
SMALLEST_WEIGHT = 0.3
"""Weights nearer zero are dropped: 14,000 features stay of 115,000 (a 260 KB file), and dev's
candidate recall is the same within one item a section."""


def labelled_sentences(samples: list[Sample], section: str) -> list[tuple[set[str], int]]:
    """(features, 1 if the sentence is evidence of a labelled item of the section else 0)."""
    rows = []
    for sample in samples:
        spans = sentence_spans(sample.text)
        evidence = [item.evidence for item in getattr(sample.gold, section)]
        for index, span in enumerate(spans):
            positive = any(sentence_of(e, [span]) is not None for e in evidence)
            rows.append((features(sample.text[slice(*span)], index, section), int(positive)))
    return rows


def train(
    rows: list[tuple[set[str], int]], epochs: int = 15, rate: float = 0.2, l2: float = 1e-4, seed: int = 0
) -> dict[str, float]:
    """Weights of a logistic regression over the rows' features."""
    weights: dict[str, float] = {}
    order = list(rows)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(order)
        for found, label in order:
            logit = max(-30.0, min(30.0, sum(weights.get(f, 0.0) for f in found)))
            error = 1 / (1 + math.exp(-logit)) - label
            for f in found:
                w = weights.get(f, 0.0)
                weights[f] = w - rate * (error + l2 * w)
    return weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", nargs="+", default=list(CORPORA), help="teacher-labelled datasets")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    samples = [s for corpus in args.corpus for s in load_dataset(corpus)]
    model = {}
    for section in SECTIONS:
        weights = train(labelled_sentences(samples, section))
        model[section] = {f: round(w, 3) for f, w in sorted(weights.items()) if abs(w) >= SMALLEST_WEIGHT}
        print(f"{section}: {len(model[section])} of {len(weights)} features kept", file=sys.stderr)
    args.out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    print(f"{len(samples)} articles -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
