"""Long articles: overlapping chunks cut on sentence boundaries, and the merge of their items.

Each chunk is summarized on its own; evidence offsets are shifted back to the whole article,
and an item found in two overlapping chunks (its evidence spans overlap) is kept once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .grounding import split_sentences
from .schema import SECTIONS, ArticleSummary


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int


def chunk_article(
    article: str, max_tokens: int, count_tokens: Callable[[str], int], overlap_sentences: int = 2
) -> list[Chunk]:
    """Chunks of whole sentences under `max_tokens`, each repeating the last
    `overlap_sentences` sentences of the one before, so a fact cut in two is whole in one.

    A single sentence longer than `max_tokens` is a chunk of its own, cut at the limit.
    """
    sentences = split_sentences(article)
    # One count per sentence (plus one for the gap before it) instead of one per candidate chunk.
    costs = [count_tokens(article[s:e]) + 1 for s, e in sentences]
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        last, total = first, costs[first]
        while last + 1 < len(sentences) and total + costs[last + 1] <= max_tokens:
            last += 1
            total += costs[last]
        start, end = sentences[first][0], sentences[last][1]
        if total > max_tokens:  # one overlong sentence: keep the share of it that fits
            end = start + (end - start) * max_tokens // total
        chunks.append(Chunk(start, end))
        if last + 1 >= len(sentences):
            break
        first = max(first + 1, last + 1 - overlap_sentences)
    return chunks


def _shifted(item: Any, offset: int) -> Any:
    for e in item.evidence:
        if e.start is not None and e.end is not None:
            e.start += offset
            e.end += offset
    return item


def _same_item(a: Any, b: Any) -> bool:
    """Two items are one fact when their evidence spans overlap in the whole article."""
    return any(
        sa.start < sb.end and sb.start < sa.end
        for sa in a.evidence
        for sb in b.evidence
        if None not in (sa.start, sa.end, sb.start, sb.end)
    )


def merge_chunk_summaries(parts: list[tuple[Chunk, ArticleSummary]]) -> ArticleSummary:
    """One summary of the whole article: the overview of the first chunk, every distinct item,
    evidence offsets relative to the whole article."""
    (first_chunk, first), *_ = parts
    merged = first.model_copy(deep=True, update={s: [] for s in SECTIONS})
    for chunk, summary in parts:
        for section in SECTIONS:
            kept = getattr(merged, section)
            for item in getattr(summary, section):
                item = _shifted(item.model_copy(deep=True), chunk.start)
                twin = next((k for k in kept if _same_item(k, item)), None)
                if twin is None:
                    kept.append(item)
                else:  # the same fact seen twice: keep every distinct quote of it
                    known = {(e.start, e.end, e.quote) for e in twin.evidence}
                    fresh = [e for e in item.evidence if (e.start, e.end, e.quote) not in known]
                    twin.evidence = (twin.evidence + fresh)[:3]  # the schema's bound on evidence
    return merged
