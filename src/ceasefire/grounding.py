"""Grounding: align each evidence quote the model wrote to character offsets in the article.

Three tries, from strict to lenient: the exact string; the string after whitespace, quote
marks and dashes are normalised on both sides; a fuzzy match (rapidfuzz) above a threshold.
Offsets always index the original article, so `article[start:end]` is the aligned span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from .schema import Alignment, ArticleSummary, Evidence

FUZZY_THRESHOLD = 90.0
"""Minimum rapidfuzz partial-ratio score (0-100) for a fuzzy alignment."""

_CHAR_FOLDS = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    alignment: Alignment


def _normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Fold quote marks and dashes, collapse whitespace runs to one space, lowercase.

    Returns the normalised text and, for each of its characters, the index of the original
    character it came from, so a match in the normalised text maps back to the article.
    """
    chars: list[str] = []
    origin: list[int] = []
    folded = text.translate(_CHAR_FOLDS)
    for i, ch in enumerate(folded):
        if ch.isspace():
            if chars and chars[-1] == " ":
                continue
            ch = " "
        chars.append(ch.lower())
        origin.append(i)
    return "".join(chars), origin


def align_quote(article: str, quote: str, threshold: float = FUZZY_THRESHOLD) -> Span | None:
    """Find `quote` in `article`; None when it is not there even fuzzily.

    >>> align_quote("Russia holds 75% of Donetsk.", "holds 75%")
    Span(start=7, end=16, alignment=<Alignment.exact: 'exact'>)
    """
    quote = quote.strip()
    if not quote:
        return None
    start = article.find(quote)
    if start >= 0:
        return Span(start, start + len(quote), Alignment.exact)

    norm_article, origin = _normalize_with_map(article)
    norm_quote, _ = _normalize_with_map(quote)
    norm_quote = norm_quote.strip()
    if not norm_quote:
        return None
    at = norm_article.find(norm_quote)
    if at >= 0:
        return Span(origin[at], origin[at + len(norm_quote) - 1] + 1, Alignment.normalized)

    # Too short a quote matches fuzzily almost anywhere: demand enough text to be evidence.
    if len(norm_quote) < 12:
        return None
    match = fuzz.partial_ratio_alignment(norm_quote, norm_article, score_cutoff=threshold)
    if match is None:
        return None
    return Span(origin[match.dest_start], origin[match.dest_end - 1] + 1, Alignment.fuzzy)


def ground_evidence(article: str, evidence: Evidence) -> Evidence:
    """Return the evidence with offsets and alignment set (alignment `none` if not found)."""
    span = align_quote(article, evidence.quote)
    if span is None:
        return evidence.model_copy(update={"start": None, "end": None, "alignment": Alignment.none})
    return evidence.model_copy(update={"start": span.start, "end": span.end, "alignment": span.alignment})


def ground_summary(article: str, summary: ArticleSummary) -> ArticleSummary:
    """Align every evidence quote of every item of `summary` to `article`."""
    for _, item in summary.items():
        item.evidence = [ground_evidence(article, e) for e in item.evidence]
    return summary


# A sentence ends at . ! or ? (with any closing quote) before whitespace and a capital,
# digit, opening quote or Spanish opening mark...
_SENTENCE_END = re.compile(
    r"[.!?][\"'\u201d\u2019)]?(?=\s+[\"'\u201c\u2018(\u00a1\u00bf]?[A-Z0-9\u00c0-\u00de])"
)
# ...unless the full stop closes an abbreviation: wire copy is full of "Gen. Burhan", "Jan. 5",
# "M. Macron", "Sr. Petro". Titles and month abbreviations in English, French and Spanish;
# initials ("U.S.", "EE.UU.", "J. Smith") are recognised by their shape. Words that are also
# plain words at a sentence's end ("ago", "no", Spanish "mar", French "est") are left out.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof gen lt col maj capt cmdr adm sgt cpl pvt gov sen rep rev st ft mt vs
    etc inc ltd corp jr sr approx dept jan feb apr jun jul aug sep sept oct nov dec
    mme mlle mm mgr pr lieut cdt av ste janv févr fév avr juil déc
    sra srta sres dra gral cnel tte lic ing ud uds ene abr dic núm pág""".split()
)
_LAST_WORD = re.compile(r"\S+$")


def _ends_abbreviation(line: str, stop: int) -> bool:
    """True when the full stop at `line[stop]` closes an abbreviation, not a sentence."""
    word = _LAST_WORD.search(line, 0, stop)
    if word is None:
        return False
    word = word.group().lstrip("(\"'\u201c\u2018[\u00ab")
    if "." in word or (len(word) == 1 and word.isupper()):
        return True  # "U.S", "EE.UU", an initial
    return word.lower() in _ABBREVIATIONS


def split_sentences(article: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of the article: each line, cut at sentence ends.

    Lines are kept apart because news text puts headlines and captions on lines of their own
    without a full stop.
    """
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in article.splitlines(keepends=True):
        cursor = 0
        ends = [
            m.end()
            for m in _SENTENCE_END.finditer(line)
            if m.group() != "." or not _ends_abbreviation(line, m.start())
        ]
        for cut in [*ends, len(line)]:
            piece = line[cursor:cut]
            stripped = piece.strip()
            if stripped:
                lead = len(piece) - len(piece.lstrip())
                spans.append((offset + cursor + lead, offset + cursor + lead + len(stripped)))
            cursor = cut
        offset += len(line)
    return spans


_GRAMMAR_UNSAFE = re.compile(r'["\\]+')


def quotable_spans(article: str, min_chars: int = 12) -> list[str]:
    """The article's sentences as quote choices for a grammar, cut at `"` and backslash.

    llama-cpp-python 0.3.36 does not escape a backslash inside a grammar literal, so a JSON
    string holding an escaped quote breaks the grammar (and crashes the process). Cutting
    sentences at those characters keeps every choice a verbatim span of the article.
    """
    choices: list[str] = []
    for start, end in split_sentences(article):
        for piece in _GRAMMAR_UNSAFE.split(article[start:end]):
            piece = piece.strip(" ,;:")
            if len(piece) >= min_chars:
                choices.append(piece)
    return list(dict.fromkeys(choices))
