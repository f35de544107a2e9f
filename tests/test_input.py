"""Bad input gets a clear exception from ceasefire.errors before any model is called."""

from __future__ import annotations

import pytest

from ceasefire import ArticleTooLongError, InvalidArticleError, Summarizer
from ceasefire.summarize import MAX_ARTICLE_CHARS


@pytest.fixture(scope="module")
def summarizer() -> Summarizer:
    return Summarizer.from_model("local/smollm2-135m")


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


def test_article_beyond_the_hard_cap_names_the_limit(summarizer):
    article = "Talks resumed in Geneva on Monday. " * (MAX_ARTICLE_CHARS // 30)
    with pytest.raises(ArticleTooLongError) as caught:
        summarizer(article)
    assert caught.value.limit == MAX_ARTICLE_CHARS
    assert f"at most {MAX_ARTICLE_CHARS} characters" in str(caught.value)


def test_html_page_is_refused_with_advice(summarizer):
    page = "<!DOCTYPE html><html><head><title>x</title></head><body><p>Talks resumed.</p></body></html>"
    with pytest.raises(InvalidArticleError, match="HTML"):
        summarizer(page)
