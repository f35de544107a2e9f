"""How many labelled items a model under a grammar can find at all: the candidate filter's recall.

Under a grammar, a section's evidence must be one of its candidate sentences (choices.py), so
a gold item whose evidence lies in none of them is lost before the model reads a word. Per
section: the share of gold items with an evidence span at least half covered by an offered
sentence, and how many sentences were offered per article (what the model must read through).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..choices import candidate_spans, sentence_of
from ..schema import SECTIONS
from .dataset import load_dataset


def candidate_recall(dataset: str | Path, split: str | None = None) -> dict[str, dict[str, Any]]:
    """`{section: {"items", "offered", "recall", "candidates_per_article"}}` over a labelled set.

    >>> candidate_recall("evals/datasets", "dev")["attacks"]["recall"]   # doctest: +SKIP
    """
    samples = load_dataset(dataset, split)
    result = {}
    for section in SECTIONS:
        items = offered = candidates = 0
        for sample in samples:
            spans = candidate_spans(sample.text, section)
            candidates += len(spans)
            for item in getattr(sample.gold, section):
                items += 1
                offered += sentence_of(item.evidence, spans) is not None
        result[section] = {
            "items": items,
            "offered": offered,
            "recall": round(offered / items, 4) if items else 1.0,
            "candidates_per_article": round(candidates / max(1, len(samples)), 2),
        }
    return result
