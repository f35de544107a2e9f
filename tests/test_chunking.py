"""Long articles are chunked on sentence boundaries; items seen in two chunks appear once."""

from __future__ import annotations

from ceasefire import Summarizer
from ceasefire.chunking import Chunk, chunk_article, merge_chunk_summaries
from ceasefire.grounding import ground_summary
from ceasefire.schema import ArticleSummary
from chat_server import ChatServer

SENTENCES = [f"Sentence number {i} reports that talks went on in city {i}." for i in range(40)]
ARTICLE = " ".join(SENTENCES)


def words(text: str) -> int:
    return len(text.split())


def test_chunks_are_whole_sentences_that_overlap_and_cover_everything():
    chunks = chunk_article(ARTICLE, max_tokens=60, count_tokens=words, overlap_sentences=2)
    assert len(chunks) > 3
    for chunk in chunks:
        text = ARTICLE[chunk.start : chunk.end]
        assert text.startswith("Sentence") and text.endswith(".")
        assert words(text) <= 60
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start < before.end  # overlap
    assert chunks[0].start == 0 and chunks[-1].end == len(ARTICLE)


def test_item_in_two_overlapping_chunks_appears_once_with_global_offsets():
    shared = SENTENCES[5]
    first, second = (
        Chunk(0, ARTICLE.index(SENTENCES[6]) + len(SENTENCES[6])),
        Chunk(ARTICLE.index(shared), len(ARTICLE)),
    )

    def part(chunk: Chunk) -> ArticleSummary:
        text = ARTICLE[chunk.start : chunk.end]
        summary = ArticleSummary.model_validate(
            {
                "headline": "h",
                "summary": "s",
                "territorial_control": [
                    {
                        "controller": "Rebels",
                        "territory": "city 5",
                        "share_percent": None,
                        "evidence": [{"quote": shared}],
                    }
                ],
            }
        )
        return ground_summary(text, summary)

    merged = merge_chunk_summaries([(first, part(first)), (second, part(second))])
    (item,) = merged.territorial_control
    (evidence,) = item.evidence
    assert ARTICLE[evidence.start : evidence.end] == shared


def test_200_kb_article_is_chunked_and_grounded_against_the_whole():
    article = "\n".join(
        f"Drones struck a fuel depot in district {i} on Monday, officials said. "
        f"Talks in Geneva round {i} went on without progress."
        for i in range(1700)
    )
    assert len(article) > 200_000
    with ChatServer() as server:
        summarizer = Summarizer.from_model(
            "openai/test", base_url=server.base_url, api_key="k", context_tokens=12_000
        )
        summary = summarizer(article)
    assert summary.metadata.chunks > 5
    assert summary.attacks, "each chunk quotes its first sentence as an attack"
    for attack in summary.attacks:
        e = attack.evidence[0]
        assert article[e.start : e.end] == e.quote
    starts = [a.evidence[0].start for a in summary.attacks]
    assert len(starts) == len(set(starts)) == summary.metadata.chunks
