"""Bad input gets a clear exception from ceasefire.errors before any model is called."""

from __future__ import annotations

import pytest

from ceasefire import ArticleTooLongError, InvalidArticleError, Summarizer


@pytest.fixture(scope="module")
def summarizer() -> Summarizer:
    return Summarizer("local/smollm2-135m")


@pytest.mark.parametrize(
    "article, message",
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        (b"Russia controls 75% of Donetsk.", "bytes"),
        (None, "must be a str"),
        (42, "must be a str"),
        ("PK\x03\x04\x00\x00binary\x00junk", "binary"),
    ],
)
def test_bad_input_is_refused(summarizer, article, message):
    with pytest.raises(InvalidArticleError, match=message):
        summarizer(article)


def test_article_longer_than_context_names_the_limit(summarizer):
    article = "Talks resumed in Geneva on Monday. " * 3000
    with pytest.raises(ArticleTooLongError) as caught:
        summarizer(article)
    assert caught.value.limit == summarizer.max_article_tokens
    assert str(summarizer.max_article_tokens) in str(caught.value)
