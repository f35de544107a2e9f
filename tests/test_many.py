"""summarize_many keeps order and never loses an article; asummarize and summarize work
inside a running event loop (as in Jupyter)."""

from __future__ import annotations

import asyncio

from ceasefire import ArticleSummary, InvalidArticleError, asummarize, summarize, summarize_many
from chat_server import ChatServer


def test_summarize_many_keeps_order_and_returns_errors_in_place():
    texts = [f"Drones hit depot number {i} on Monday, officials said." for i in range(10)]
    texts[3] = "   "
    with ChatServer() as server:
        results = summarize_many(
            texts, concurrency=4, model="openai/test", base_url=server.base_url, api_key="k"
        )
    assert len(results) == 10
    assert isinstance(results[3], InvalidArticleError)
    for i, result in enumerate(results):
        if i != 3:
            assert isinstance(result, ArticleSummary)
            assert f"depot number {i} " in result.attacks[0].evidence[0].quote


def test_async_and_sync_calls_inside_a_running_loop():
    with ChatServer() as server:
        options = {"model": "openai/test", "base_url": server.base_url, "api_key": "k"}

        async def notebook_cell():
            awaited = await asummarize("Talks resumed in Geneva on Monday, mediators said.", **options)
            plain = summarize("Talks resumed in Geneva on Monday, mediators said.", **options)
            both = await asyncio.gather(
                *(asummarize(f"Strike number {i} hit a depot.", **options) for i in range(3))
            )
            return awaited, plain, both

        awaited, plain, both = asyncio.run(notebook_cell())
    assert awaited.headline == plain.headline
    assert [b.attacks[0].evidence[0].quote for b in both] == [
        f"Strike number {i} hit a depot." for i in range(3)
    ]
