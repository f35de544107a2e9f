"""Quotes align to offsets in the article: exact, normalised, fuzzy, or not at all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceasefire.grounding import align_quote, ground_summary, quotable_spans, split_sentences
from ceasefire.schema import Alignment, ArticleSummary

ARTICLE = (
    "Russia currently controls about 75% of the Donetsk region.\n"
    "European allies pushed for a clear US commitment, often referred to as a \u201cbackstop.\u201d "
    "Officials said the  talks\u2014held in Paris\u2014would resume."
)


def test_exact():
    span = align_quote(ARTICLE, "controls about 75%")
    assert span.alignment == Alignment.exact
    assert ARTICLE[span.start : span.end] == "controls about 75%"


def test_normalized_quote_marks_whitespace_and_dashes():
    span = align_quote(ARTICLE, 'referred to as a "backstop."')
    assert span.alignment == Alignment.normalized
    assert ARTICLE[span.start : span.end] == "referred to as a \u201cbackstop.\u201d"
    span = align_quote(ARTICLE, "said the talks\u2014held in Paris")
    assert span.alignment == Alignment.normalized
    assert ARTICLE[span.start : span.end] == "said the  talks\u2014held in Paris"


def test_fuzzy_small_typo():
    span = align_quote(ARTICLE, "Russia curently controls about 75% of the Donetsk regoin")
    assert span.alignment == Alignment.fuzzy
    assert ARTICLE[span.start : span.end].startswith("Russia")
    assert "Donetsk" in ARTICLE[span.start : span.end]


def test_absent_quote():
    assert align_quote(ARTICLE, "Ukraine captured the city of Belgorod overnight") is None
    assert align_quote(ARTICLE, "") is None


def test_short_quotes_never_match_fuzzily():
    assert align_quote(ARTICLE, "Moscow said") is None


@given(st.data())
def test_any_substring_aligns_to_itself(data):
    start = data.draw(st.integers(0, len(ARTICLE) - 5))
    end = data.draw(st.integers(start + 5, len(ARTICLE)))
    quote = ARTICLE[start:end]
    span = align_quote(ARTICLE, quote)
    assert span is not None
    if quote == quote.strip():
        assert ARTICLE[span.start : span.end] == quote


def test_ground_summary_sets_offsets_and_flags():
    summary = ArticleSummary.model_validate(
        {
            "headline": "h",
            "summary": "s",
            "territorial_control": [
                {
                    "controller": "Russia",
                    "territory": "Donetsk region",
                    "share_percent": 75,
                    "evidence": [{"quote": "controls about 75% of the Donetsk region"}],
                },
                {
                    "controller": "Ukraine",
                    "territory": "Crimea",
                    "share_percent": 50,
                    "evidence": [{"quote": "Ukraine holds half of Crimea, officials said"}],
                },
            ],
        }
    )
    grounded, invented = ground_summary(ARTICLE, summary).territorial_control
    assert grounded.grounded and not invented.grounded
    e = grounded.evidence[0]
    assert ARTICLE[e.start : e.end] == e.quote
    assert invented.evidence[0].alignment == Alignment.none and invented.evidence[0].start is None


def test_split_sentences_spans_are_the_text():
    spans = split_sentences(ARTICLE)
    texts = [ARTICLE[s:e] for s, e in spans]
    assert texts[0] == "Russia currently controls about 75% of the Donetsk region."
    assert texts[1].endswith("\u201cbackstop.\u201d")
    assert texts[2].startswith("Officials said")
    assert all(t == t.strip() and t for t in texts)


def test_quotable_spans_are_verbatim_and_grammar_safe():
    article = 'The army would "engage seriously", a spokesman said. A path\\to peace was "not closed".'
    choices = quotable_spans(article)
    assert choices and all(c in article for c in choices)
    assert not any('"' in c or "\\" in c for c in choices)
    assert "engage seriously" in choices


@pytest.mark.parametrize(
    "text, sentences",
    [
        (
            "The U.S. State Department said Gen. Burhan met Mr. Witkoff in Jeddah on Jan. 5. Talks resumed.",
            [
                "The U.S. State Department said Gen. Burhan met Mr. Witkoff in Jeddah on Jan. 5.",
                "Talks resumed.",
            ],
        ),
        (
            "WASHINGTON (Dec. 3) — Sen. Lindsey Graham and Rep. Joe Wilson met Lt. Gen. Keith Kellogg. "
            "The U.N. envoy, Dr. Amina J. Mohammed, was not present. It ended two hours ago. "
            "No deal was reached.",
            [
                "WASHINGTON (Dec. 3) — Sen. Lindsey Graham and Rep. Joe Wilson met Lt. Gen. Keith Kellogg.",
                "The U.N. envoy, Dr. Amina J. Mohammed, was not present.",
                "It ended two hours ago.",
                "No deal was reached.",
            ],
        ),
        (
            "M. Macron a reçu Mme Tsikhanovskaïa le 12 janv. 2026 à l'Élysée. Le général Burhan, lui, "
            "a refusé. Les pourparlers reprendront en février. Selon l'ONU, 12 civils ont été tués.",
            [
                "M. Macron a reçu Mme Tsikhanovskaïa le 12 janv. 2026 à l'Élysée.",
                "Le général Burhan, lui, a refusé.",
                "Les pourparlers reprendront en février.",
                "Selon l'ONU, 12 civils ont été tués.",
            ],
        ),
        (
            "El Sr. Petro y el Gral. Helder Giraldo viajaron a Caracas el 3 de ene. 2025. "
            "EE.UU. no envió delegación. La Dra. Pérez habló con la prensa. El ELN guardó silencio.",
            [
                "El Sr. Petro y el Gral. Helder Giraldo viajaron a Caracas el 3 de ene. 2025.",
                "EE.UU. no envió delegación.",
                "La Dra. Pérez habló con la prensa.",
                "El ELN guardó silencio.",
            ],
        ),
    ],
    ids=["issue", "english-wire", "french", "spanish"],
)
def test_sentences_are_not_cut_at_abbreviations(text, sentences):
    assert [text[start:end] for start, end in split_sentences(text)] == sentences


def test_a_hyphenated_place_ending_in_a_capital_still_ends_its_sentence():
    text = "An assault struck an apartment block in Mrauk-U. The army denied it."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "An assault struck an apartment block in Mrauk-U.",
        "The army denied it.",
    ]
