"""What a model under a grammar may write, per article: grounding by construction.

A 135M model asked for free strings copies the prompt ("North Kivu" from an example) or
invents ("Pol Pot"). A grammar can forbid that: for backends that decode under one, each
section call is shown only the article's sentences that look relevant to the section,
numbered, and its schema lets the model point to one of them by number (the library fills in
the quote and its offsets), take names from the capitalised phrases of those sentences and
numbers from the numbers written in them. A strong model is never constrained this way: it
reads the whole article, writes free text, and grounding then aligns its quotes.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import relevance
from .countries import is_country
from .grounding import quotable_spans, split_sentences
from .schema import HEADLINE_WORDS, ArticleSummary, Evidence, GuaranteeStatus, Kind, fields_of_kind

MAX_CANDIDATES = 8
"""Sentences offered per section at most."""
MIN_RELEVANCE = -5.0
"""Least log-odds (`relevance.score`) of an offered sentence; a section with none is not asked.
Chosen on dev (`ceasefire eval candidates`, then `ceasefire eval`): at -5 with 8 at most, the
sentence of 98% of the labelled items is offered (talks 100%, guarantees 94%, attacks 100%,
territory 97%) among 15.5 sentences an article, micro-F1 0.460; at -4 with 6 at most, 93% among
10.8, 0.427; counting cue words offered 92% among 21.5 (guarantees 77%), 0.389 on this machine."""
MIN_ITEM_RELEVANCE = -2.0
"""Least log-odds of the sentence an item rests on for the item to be kept. The model reads every
candidate, but what it writes on a weakly relevant one is mostly wrong. The v11 dev run's
answers re-scored with the items below each threshold dropped (`evals/item_relevance_sweep.py`):
-5 (every item) 0.483 micro-F1, -4 0.503, -3 0.516, -2 0.524, -1.5 0.528, -1 0.524, 0 0.515;
precision 0.50 to 0.63 at -2, the middle of the plateau."""
MIN_SURE_RELEVANCE = 0.0
"""Least log-odds of a sentence for the section's answer to hold one item at least. On dev, 78
of the 80 sections with a sentence this relevant have labelled items, and the default left 11
of those 78 empty. Dev micro-F1: none required 0.533, -1 0.548, 0 0.550, 1 0.548."""
MANY_RELEVANCE = 2.0
"""Least log-odds of a sentence counted as an item of its own where a sentence states one
(ONE_ITEM_A_SENTENCE): the answer holds at least as many items as such sentences, up to the
grammar's bound. A tiny model writes fewer items than the labels hold (dev, pipeline v13: 24 of 35
talks, 21 of 31 guarantees, 28 of 37 territories). Dev micro-F1 0.557 to 0.561 (one more attack
found, with its fields); at 1.0 and at 3.0 the answers are the same as at 2.0."""
ONE_ITEM_A_SENTENCE = {"security_guarantees", "attacks", "territorial_control"}
"""Sections whose items are each stated in a sentence. Not talks: a round's news fills many sentences
(at 2.0, talks would have to write 13 more items on dev, where the labels have room for 3)."""
MIN_SENTENCE_CHARS = 12
CUES = {
    "mediators": re.compile(r"mediat|médiat|mediaci|broker|intermediar|shuttl", re.IGNORECASE),
    "host": re.compile(r"\bhost|accueill|anfitri", re.IGNORECASE),
}
"""Name fields a grammar makes the model fill (a list not empty, a name not null) when a candidate
sentence holds the cue. Left to itself, a tiny model leaves talks' third parties out where the
article names them (dev: 9 mediators written for 38 labelled, 6 hosts for 12). On dev the
mediation cue is in the talks sentences of 13 of the 19 articles with mediators and of 2 of the
10 without; the host cue in 6 of 10 with a host and 2 of 14 without."""

GUARANTEE_STATUS_CUES = {
    GuaranteeStatus(status): re.compile(pattern, re.IGNORECASE)
    for status, pattern in {
        "rejected": r"\breject|\brule[sd]? out|\bruling out|\brefus|\bwould not\b|\bwill not\b|\bwon't\b"
        r"|\brejet|\brechaz|\bnegó|\bopposes?\b",
        "demanded": r"\bdemand|\burg(e|ed|es|ing)\b|\bcall(ed|s|ing)? (on|for)\b|\basked\b|\basks\b|\binsist"
        r"|\bexig|\bréclam|\bpid(e|ió|en)\b|\bseek|\bsought",
        "offered": r"\boffer|\bpledg|\bready to\b|\bwilling to\b|\bprêt[se]* à|\bofrec|\bvolunteer"
        r"|\bcommitted to\b|\bcomprometi",
        "proposed": r"\bpropos|\bplan(s|ned)? (for|to)\b|\bdraft|\bdiscuss|\bpropuest"
        r"|\bunder (discussion|consideration)",
        "agreed": r"\bagreed|\badopted|\bapprov|\bsigned|\baprob|\bpactad|\bacordad|\bsigné|\bauthori[sz]",
        "in_force": r"\balready\b|\bin force\b|\btook effect|\bsince (19|20)\d\d|\bdeployed\b|\bpatrol|\bdéjà"
        r"|\bya\b|\ben vigor|\ben vigueur",
    }.items()
}
"""A guarantee's status as its sentence words it ("offered to lead", "urged Washington to"),
read after a model under a grammar has answered: where the wording holds the cue of exactly one
status, it replaces the model's. A tiny model picks the status poorly (dev: 7 of the 16
guarantees it found), and on the teacher corpus the cue of exactly one status is in 234 of the
579 guarantees' sentences, the right one in 163 (70%). Dev micro-F1 0.550 to 0.557 (guarantees'
status 0.27 to 0.54); scored once on test it fell, 0.33 to 0.26. The same for talks' status
changed nothing on dev (12 of 24 right)."""

# Property names whose values are names, or numbers, of the article (their kind in schema.py).
NAME_FIELDS = fields_of_kind(ArticleSummary, Kind.name)
NUMBER_FIELDS = fields_of_kind(ArticleSummary, Kind.number)
COUNTRY_FIELDS = {"country"}
"""Name fields a grammar limits to the article's country names (`country_choices`)."""

_CONNECTORS = {"of", "the", "and", "de", "du", "des", "la", "le", "del", "al", "el", "for", "on"}
_PLACE_WORDS = {"region", "province", "state", "oblast", "district", "territory", "city", "county",
                "governorate", "strip", "bank", "valley"}  # fmt: skip
_SENTENCE_OPENERS = {
    "a", "an", "the", "it", "its", "in", "as", "at", "on", "for", "after", "before", "since", "while",
    "this", "that", "these", "those", "however", "following", "together", "but", "and", "he", "she",
    "they", "we", "his", "her", "their", "there", "with", "by", "from", "if", "when", "also", "some",
    "le", "la", "les", "un", "une", "el", "los", "las", "una", "en", "selon", "según",
}  # fmt: skip
_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s?$")
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w])")
# Numbers written as words in English, French and Spanish: wire copy spells out small tolls
# ("killing five soldiers", "dos policías murieron"). Not "one" (un, una are articles), nor
# the Spanish "once" and the French "seize", English words too.
_TENS = [*range(20, 100, 10)]
_NUMBER_WORDS = {
    **dict(zip(
        "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety".split(),
        [*range(2, 20), *_TENS], strict=True,
    )),
    **dict(zip(
        "deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze dix-sept "
        "dix-huit dix-neuf vingt trente quarante cinquante soixante".split(),
        [*range(2, 16), *range(17, 20), *_TENS[:5]], strict=True,
    )),
    **dict(zip(
        "dos tres cuatro cinco seis siete ocho nueve diez doce trece catorce quince dieciséis diecisiete "
        "dieciocho diecinueve veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa".split(),
        [*range(2, 11), *range(12, 20), *_TENS], strict=True,
    )),
}  # fmt: skip


def sentence_spans(article: str) -> list[tuple[int, int]]:
    """(start, end) of the article's sentences that could be evidence (long enough)."""
    return [(a, b) for a, b in split_sentences(article) if b - a >= MIN_SENTENCE_CHARS]


def candidates_id() -> str:
    """What decides the candidate sentences and the items kept, for the eval cache key: the
    bounds and the relevance model's weights."""
    bounds = (MAX_CANDIDATES, MIN_RELEVANCE, MIN_ITEM_RELEVANCE, MIN_SURE_RELEVANCE, MANY_RELEVANCE)
    return "/".join(map(str, [*bounds, relevance.weights_id()]))


def candidate_spans(article: str, section: str) -> list[tuple[int, int]]:
    """(start, end) of up to MAX_CANDIDATES sentences likeliest to report the section, in
    article order: those at least MIN_RELEVANCE."""
    return [span for span, _ in scored_candidates(article, section)]


def scored_candidates(article: str, section: str) -> list[tuple[tuple[int, int], float]]:
    """The candidate sentences (`candidate_spans`), each with its relevance log-odds."""
    spans = sentence_spans(article)
    scored = [(relevance.score(article[a:b], i, section), i) for i, (a, b) in enumerate(spans)]
    best = sorted((s for s in scored if s[0] >= MIN_RELEVANCE), key=lambda s: (-s[0], s[1]))
    return [(spans[i], score) for score, i in sorted(best[:MAX_CANDIDATES], key=lambda s: s[1])]


def sentence_of(evidence: Sequence[Evidence], spans: Sequence[tuple[int, int]]) -> int | None:
    """The number (from 1) of the first span covering at least half of one of the evidence's
    aligned quotes: the sentence a model under a grammar points to for this item; None if none."""
    for number, (start, end) in enumerate(spans, 1):
        for e in evidence:
            if e.start is not None and e.end is not None:
                if min(e.end, end) - max(e.start, start) >= (e.end - e.start) / 2:
                    return number
    return None


def name_choices(sentences: Sequence[str]) -> list[str]:
    """Capitalised phrases of the sentences ("United States", "Coalition of the Willing"),
    each also with a following place word ("Donetsk region"), and every sub-phrase of them."""
    names: list[str] = []
    for sentence in sentences:
        words = _WORD.findall(sentence)
        run: list[str] = []
        for i, word in enumerate([*words, ""]):
            if i == 0 and word.lower() in _SENTENCE_OPENERS:
                continue  # capitalised only because it opens the sentence
            if word[:1].isupper() or (run and word.lower() in _CONNECTORS):
                run.append(word)
                continue
            while run and run[-1].lower() in _CONNECTORS:
                run.pop()
            if run:
                names += _sub_phrases(run)
                place = word.rstrip(".")  # "the Mandalay region." ends a sentence
                if place.lower() in _PLACE_WORDS:
                    names.append(" ".join([*run, place]))
            run = []
    return [n for n in dict.fromkeys(names) if '"' not in n and "\\" not in n]


def country_choices(article: str) -> list[str]:
    """The article's names that are countries ("Ukraine" also from "Ukraine's"), anywhere in it:
    an attack's sentence often names only the town."""
    return list(_countries_in(article))


@functools.lru_cache(maxsize=8)
def _countries_in(article: str) -> tuple[str, ...]:
    # Cached: every section's choices of one article ask for the same countries.
    names = _without_possessives(name_choices([article[a:b] for a, b in split_sentences(article)]))
    return tuple(n for n in names if is_country(n))


def _without_possessives(names: Sequence[str]) -> list[str]:
    """The names with a possessive dropped ("Sudan" for "Sudan's"), each once."""
    return list(dict.fromkeys(_POSSESSIVE.sub("", n) for n in names))


def _sub_phrases(run: list[str], longest: int = 5) -> list[str]:
    phrases = []
    for start in range(len(run)):
        for end in range(start + 1, min(len(run), start + longest) + 1):
            piece = run[start:end]
            if piece[0].lower() not in _CONNECTORS and piece[-1].lower() not in _CONNECTORS:
                phrases.append(" ".join(w.rstrip(".") for w in piece))
    return phrases


def number_choices(sentences: Sequence[str]) -> list[float]:
    """Every number written in the sentences, in figures ("1,200" gives 1200) or words ("five")."""
    numbers = []
    for sentence in sentences:
        numbers += [float(m.replace(",", "")) for m in _NUMBER.findall(sentence)]
        words = (w.rstrip(".").lower() for w in _WORD.findall(sentence))
        numbers += [float(_NUMBER_WORDS[w]) for w in words if w in _NUMBER_WORDS]
    return list(dict.fromkeys(numbers))


def cued_status(wording: str) -> GuaranteeStatus | None:
    """The guarantee status whose cue, alone of all statuses', is in `wording`; else None."""
    cued = [status for status, cue in GUARANTEE_STATUS_CUES.items() if cue.search(wording)]
    return cued[0] if len(cued) == 1 else None


@dataclass(frozen=True)
class Choices:
    spans: list[tuple[int, int]]
    """The candidate sentences, numbered from 1 in the prompt."""
    names: list[str]
    numbers: list[float]
    countries: list[str]
    firm: frozenset[tuple[int, int]] = frozenset()
    """The spans an item may rest on: relevance at least MIN_ITEM_RELEVANCE."""
    required: frozenset[str] = frozenset()
    """Name fields the model must fill: the sentences hold their cue (`CUES`)."""
    least: int = 0
    """Items the section's answer must hold at least: one where a sentence is relevant enough
    (MIN_SURE_RELEVANCE), and one for each sentence very relevant (MANY_RELEVANCE) where a
    sentence states an item of its own (ONE_ITEM_A_SENTENCE)."""

    @classmethod
    def for_section(cls, article: str, section: str) -> Choices:
        scored = scored_candidates(article, section)
        spans = [span for span, _ in scored]
        firm = frozenset(span for span, score in scored if score >= MIN_ITEM_RELEVANCE)
        sentences = [article[a:b] for a, b in spans]
        text = " ".join(sentences)
        required = frozenset(field for field, cue in CUES.items() if cue.search(text))
        least = int(any(score >= MIN_SURE_RELEVANCE for _, score in scored))
        if section in ONE_ITEM_A_SENTENCE:
            least = max(least, sum(score >= MANY_RELEVANCE for _, score in scored))
        names, numbers = name_choices(sentences), number_choices(sentences)
        return cls(spans, names, numbers, country_choices(article), firm, required, least)


def constrain_schema(
    schema: dict[str, Any], choices: Choices, list_field: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    """A copy of `schema`, bounded for a grammar, whose sentence numbers, names and numbers must
    be among `choices`; the section's list (`list_field`) at most `max_items` long."""
    schema = bound_for_grammar(schema, list_field, max_items)
    for definition in [schema, *schema.get("$defs", {}).values()]:
        for name, prop in definition.get("properties", {}).items():
            if name == "sentence":
                definition["properties"][name] = {"enum": list(range(1, len(choices.spans) + 1))}
            elif name in COUNTRY_FIELDS:
                definition["properties"][name] = _restricted(
                    prop, {"enum": choices.countries} if choices.countries else None
                )
            elif name in NAME_FIELDS and choices.names:
                required = name in choices.required
                definition["properties"][name] = _restricted(prop, {"enum": choices.names}, required)
            elif name in NUMBER_FIELDS:
                integer = "integer" in str(prop)
                values = [
                    int(n) if integer else n
                    for n in choices.numbers
                    if (n.is_integer() or not integer) and n <= 1_000_000
                ]
                if "percent" in name:
                    values = [v for v in values if v <= 100]
                definition["properties"][name] = _restricted(prop, {"enum": values} if values else None)
    if list_field and choices.least and list_field in schema.get("properties", {}):
        most = schema["properties"][list_field].get("maxItems", choices.least)
        schema["properties"][list_field]["minItems"] = min(choices.least, most)
    # The list is not bounded by the number of sentences: one sentence may state two items
    # ("Russia controls 75% of Donetsk and 99% of Luhansk").
    return schema


# What a grammar lets a tiny model write, at most: a tiny model fills a string up to its limit
# and a list up to its length, and long strings and lists are where it loops until max_tokens.
# These bounds are the grammar's only: the contract (schema.py) accepts any length.
GRAMMAR_LIST_BOUNDS = {"participants": 8, "mediators": 4, "sticking_points": 4, "positions": 4}
TEXT_LIMIT = 100
"""Longest free text (titles, stances, descriptions) a grammar allows."""
GRAMMAR_TEXT_LIMITS = {"summary": 600, "headline": 200}
NAME_LIMIT = 80
"""Longest name, and date or target (short phrases, though choices leave them free)."""
_SHORT_FIELDS = fields_of_kind(ArticleSummary, Kind.name, Kind.phrase)


def bound_for_grammar(
    schema: dict[str, Any], list_field: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    """A copy of `schema` whose strings and lists have the grammar's bounds; the section's own
    list (`list_field`) at most `max_items` items."""
    schema = copy.deepcopy(schema)
    for definition in [schema, *schema.get("$defs", {}).values()]:
        for name, prop in definition.get("properties", {}).items():
            limit = GRAMMAR_TEXT_LIMITS.get(name, NAME_LIMIT if name in _SHORT_FIELDS else TEXT_LIMIT)
            for option in [prop, *prop.get("anyOf", [])]:
                if option.get("type") == "array" and name in GRAMMAR_LIST_BOUNDS:
                    option["maxItems"] = GRAMMAR_LIST_BOUNDS[name]
                for value in (option, option.get("items", {})):
                    if value.get("type") == "string":
                        value["maxLength"] = limit
    if list_field and max_items is not None and list_field in schema.get("properties", {}):
        schema["properties"][list_field]["maxItems"] = max_items
    return schema


def _restricted(
    prop: dict[str, Any], allowed: dict[str, Any] | None, required: bool = False
) -> dict[str, Any]:
    """Keep null if the property allowed it and is not `required`; a list keeps its length
    bounds, and holds one element at least if `required`."""
    if prop.get("type") == "array":
        if not allowed:
            return {**prop, "maxItems": 0}
        return {**prop, "items": allowed, **({"minItems": 1} if required else {})}
    nullable = not required and any(option.get("type") == "null" for option in prop.get("anyOf", []))
    if allowed is None:
        return {"type": "null"} if nullable else prop
    return {"anyOf": [allowed, {"type": "null"}]} if nullable else allowed


def constrain_overview(schema: dict[str, Any], article: str) -> dict[str, Any]:
    """Headline and summary taken from the article's lead: extractive, for tiny models.

    Left free, a tiny model writes the task description back ("One neutral line...").
    """
    schema = bound_for_grammar(schema)
    lead = [s for s in quotable_spans(article) if len(s) <= 200][:3]
    if not lead:
        return schema
    summaries = [" ".join(lead[1:k]) for k in (3, 4) if len(lead) >= k] or [lead[0]]
    # The contract's headline has at most 20 words: a longer lead sentence is no choice.
    headlines = [s for s in lead if len(s.split()) <= HEADLINE_WORDS]
    schema["properties"]["headline"] = {"enum": headlines or [" ".join(lead[0].split()[:HEADLINE_WORDS])]}
    schema["properties"]["summary"] = {"enum": list(dict.fromkeys(summaries))}
    # The conflict is named in the lead: "Sudan" scores as "Sudan civil war" does, "Sudan's" not.
    names = _without_possessives(name_choices(quotable_spans(article)[:5]))
    if names:
        schema["properties"]["conflict"] = {"anyOf": [{"enum": names}, {"type": "null"}]}
    return schema
