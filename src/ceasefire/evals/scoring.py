"""Scoring a predicted summary against a gold label.

Items of a section are paired with gold items by optimal assignment (Hungarian) over a
similarity of their key fields and evidence spans; unpaired predictions are false positives,
unpaired gold items false negatives. Every field then counts true positives, false
positives and false negatives by its kind: enums exactly, numbers with a tolerance, names
after normalisation and aliases, free text and lists fuzzily, evidence by span overlap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import BaseModel
from rapidfuzz import fuzz

from ..schema import SECTIONS as SECTION_NAMES
from ..schema import ArticleSummary, Kind, kind_of
from ..sections import BY_NAME, SECTIONS

TEXT_THRESHOLD = 70.0
"""rapidfuzz token-set ratio (0-100) at which two free-text values count as the same."""
NAME_THRESHOLD = 85.0
PAIR_THRESHOLD = 0.35
"""Minimum similarity (0-1) for a predicted item to be paired with a gold item at all."""
SPAN_OVERLAP = 0.5
"""Share of the gold evidence span a predicted span must cover."""

# Parties that articles name in several ways. Keys are normalised forms.
PARTY_ALIASES: dict[str, str] = {
    alias: canonical
    for canonical, aliases in {
        "united states": [
            "us",
            "u s",
            "usa",
            "u s a",
            "america",
            "washington",
            "united states of america",
            "american",
            "the united states",
            "white house",
            "estados unidos",
            "etats unis",
        ],
        "united kingdom": ["uk", "u k", "britain", "great britain", "british", "london", "royaume uni"],
        "russia": ["moscow", "russian federation", "kremlin", "russian", "russie", "rusia"],
        "ukraine": ["kyiv", "kiev", "ukrainian", "ucrania"],
        "european union": ["eu", "e u", "brussels", "union europeenne", "union europea"],
        "nato": ["north atlantic treaty organization", "otan", "the alliance"],
        "france": ["paris", "french"],
        "israel": ["israeli", "israel defense forces", "idf"],
        "china": ["beijing", "chinese"],
    }.items()
    for alias in [canonical, *aliases]
}


# Titles articles put before names: "President Zelensky" is "Volodymyr Zelensky".
_TITLES = re.compile(
    r"\b(president|prime minister|minister|secretary general|secretary|chancellor|king|emir|sheikh|"
    r"general|lieutenant|colonel|foreign|defence|defense|mr|mrs|ms|dr)\b"
)


def normalize_name(value: str) -> str:
    """Lowercase, strip accents, punctuation and a leading "the"; resolve known aliases."""
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9%]+", " ", text).strip()
    text = re.sub(r"^the ", "", text)
    return PARTY_ALIASES.get(text, text)


def _person_form(name: str) -> str:
    stripped = re.sub(r"\s+", " ", _TITLES.sub(" ", name)).strip()
    return stripped or name


def same_name(a: str, b: str) -> bool:
    na, nb = normalize_name(a), normalize_name(b)
    if na == nb:
        return True
    na, nb = _person_form(na), _person_form(nb)
    return bool(na) and bool(nb) and fuzz.token_set_ratio(na, nb) >= NAME_THRESHOLD


def same_text(a: str, b: str) -> bool:
    return fuzz.token_set_ratio(normalize_name(a), normalize_name(b)) >= TEXT_THRESHOLD


def same_number(a: float, b: float) -> bool:
    return abs(a - b) <= max(0.5, 0.02 * abs(b))


def same_enum(a: Any, b: Any) -> bool:
    return getattr(a, "value", a) == getattr(b, "value", b)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        return self

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def _scalar_counts(gold: Any, pred: Any, same: Callable[[Any, Any], bool]) -> Counts:
    if gold is None and pred is None:
        return Counts()
    if gold is None:
        return Counts(fp=1)
    if pred is None:
        return Counts(fn=1)
    return Counts(tp=1) if same(gold, pred) else Counts(fp=1, fn=1)


def _list_counts(gold: list[Any], pred: list[Any], same: Callable[[Any, Any], bool]) -> Counts:
    """Set precision/recall: greedy one-to-one matching of equal elements."""
    unmatched = list(gold)
    tp = 0
    for p in pred:
        hit = next((g for g in unmatched if same(g, p)), None)
        if hit is not None:
            unmatched.remove(hit)
            tp += 1
    return Counts(tp=tp, fp=len(pred) - tp, fn=len(unmatched))


def _spans(item: Any) -> list[tuple[int, int]]:
    return [(e.start, e.end) for e in item.evidence if e.start is not None and e.end is not None]


def evidence_overlap(gold: Any, pred: Any) -> float:
    """Best share of a gold evidence span covered by a predicted span (0 to 1)."""
    best = 0.0
    for gs, ge in _spans(gold):
        for ps, pe in _spans(pred):
            covered = max(0, min(ge, pe) - max(gs, ps))
            best = max(best, covered / max(1, ge - gs))
    return best


def _evidence_counts(gold: Any, pred: Any) -> Counts:
    if not gold.evidence or not pred.evidence:  # one side is an absent item
        return Counts(fp=len(pred.evidence[:1]), fn=len(gold.evidence[:1]))
    return Counts(tp=1) if evidence_overlap(gold, pred) >= SPAN_OVERLAP else Counts(fp=1, fn=1)


FieldScorer = Callable[[Any, Any], Counts]

SAME_BY_KIND: dict[Kind, Callable[[Any, Any], bool]] = {
    Kind.name: same_name,
    Kind.phrase: same_text,
    Kind.text: same_text,
    Kind.number: same_number,
    Kind.category: same_enum,
}
"""When two values of a kind (marked on the schema's types) count as the same."""


def _same_part(model: type[BaseModel]) -> Callable[[Any, Any], bool]:
    """Two participants, or positions, are the same when their required names and categories
    are: a delegation is who it is, whatever role or stance the texts give it."""
    keys = [
        (name, SAME_BY_KIND[kind])
        for name, info in model.model_fields.items()
        if info.is_required() and (kind := kind_of(model, name)[0]) in (Kind.name, Kind.category)
    ]
    return lambda g, p: all(same(getattr(g, name), getattr(p, name)) for name, same in keys)


def field_scorers(item: type[BaseModel]) -> dict[str, FieldScorer]:
    """A scorer per field of an item model, chosen by the field's kind; evidence last."""
    scorers: dict[str, FieldScorer] = {}
    for name, info in item.model_fields.items():
        if name == "evidence":
            continue
        kind, is_list = kind_of(item, name)
        if kind is None:  # a list of nested models
            part = next(a for a in get_args(info.annotation) if isinstance(a, type))
            same = _same_part(part)
        else:
            same = SAME_BY_KIND[kind]
        counts = _list_counts if is_list else _scalar_counts
        scorers[name] = lambda g, p, name=name, same=same, counts=counts: counts(
            getattr(g, name), getattr(p, name), same
        )
    scorers["evidence"] = _evidence_counts
    return scorers


FIELD_SCORERS: dict[str, dict[str, FieldScorer]] = {s.name: field_scorers(s.item) for s in SECTIONS}


def key_agreement(section: str, a: Any, b: Any) -> float:
    """Share of the section's key fields, among those either item states, on which they agree."""
    parts = [FIELD_SCORERS[section][f](a, b) for f in BY_NAME[section].key_fields]
    scored = [c for c in parts if c.tp + c.fp + c.fn]
    return sum(c.tp for c in scored) / len(scored) if scored else 0.0


def similarity(section: str, gold: Any, pred: Any) -> float:
    """How likely two items describe the same thing (0 to 1)."""
    return 0.5 * key_agreement(section, gold, pred) + 0.5 * evidence_overlap(gold, pred)


def pair_items(section: str, gold: list[Any], pred: list[Any]) -> list[tuple[int, int]]:
    """Optimal one-to-one pairing (gold index, predicted index) above PAIR_THRESHOLD."""
    if not gold or not pred:
        return []
    try:  # scipy comes with the eval extra: the summarizer itself never needs it
        from scipy.optimize import linear_sum_assignment
    except ImportError as exc:
        raise ImportError("scoring needs scipy: pip install 'ceasefire[eval]'") from exc

    sim = [[similarity(section, g, p) for p in pred] for g in gold]
    rows, cols = linear_sum_assignment([[-s for s in row] for row in sim])
    return [(r, c) for r, c in zip(rows, cols, strict=True) if sim[r][c] >= PAIR_THRESHOLD]


@dataclass
class SectionResult:
    pairs: list[tuple[int, int]]
    missed: list[int]
    spurious: list[int]
    items: Counts
    fields: dict[str, Counts]


@dataclass
class ArticleScore:
    sections: dict[str, SectionResult] = field(default_factory=dict)
    conflict: Counts = field(default_factory=Counts)

    def field_counts(self) -> dict[str, Counts]:
        counts = {f"{s}.{f}": c for s, r in self.sections.items() for f, c in r.fields.items()}
        counts["overview.conflict"] = self.conflict
        return counts


def score_section(section: str, gold: list[Any], pred: list[Any]) -> SectionResult:
    scorers = FIELD_SCORERS[section]
    pairs = pair_items(section, gold, pred)
    paired_gold = {g for g, _ in pairs}
    paired_pred = {p for _, p in pairs}
    missed = [i for i in range(len(gold)) if i not in paired_gold]
    spurious = [i for i in range(len(pred)) if i not in paired_pred]
    fields = {name: Counts() for name in scorers}
    for g, p in pairs:
        for name, scorer in scorers.items():
            fields[name] += scorer(gold[g], pred[p])
    # An unpaired item's fields are all wrong: every stated value a miss or an invention.
    empty = _Empty()
    for i in missed:
        for name, scorer in scorers.items():
            fields[name] += scorer(gold[i], empty)
    for i in spurious:
        for name, scorer in scorers.items():
            fields[name] += scorer(empty, pred[i])
    items = Counts(tp=len(pairs), fp=len(spurious), fn=len(missed))
    return SectionResult(pairs, missed, spurious, items, fields)


class _Empty:
    """An absent item: every scalar null, every list empty, no evidence."""

    evidence: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return [] if name in _LIST_FIELDS else None


_LIST_FIELDS = {name for s in SECTIONS for name in s.item.model_fields if kind_of(s.item, name)[1]}


def score_article(gold: ArticleSummary, pred: ArticleSummary | None) -> ArticleScore:
    """Score one prediction (None when the summarizer failed: everything missed)."""
    pred = pred or ArticleSummary(headline="-", summary="-")
    score = ArticleScore()
    for section in SECTION_NAMES:
        score.sections[section] = score_section(section, getattr(gold, section), getattr(pred, section))
    score.conflict = _scalar_counts(gold.conflict, pred.conflict, same_name)
    return score


def total(counts: Iterable[Counts]) -> Counts:
    result = Counts()
    for c in counts:
        result += c
    return result


def aggregate(scores: Iterable[ArticleScore]) -> dict[str, Any]:
    """Micro and macro precision/recall/F1 over articles, per section and per field."""
    scores = list(scores)
    items = {s: total(a.sections[s].items for a in scores) for s in SECTION_NAMES}
    fields: dict[str, Counts] = {}
    for article in scores:
        for name, counts in article.field_counts().items():
            fields.setdefault(name, Counts())
            fields[name] += counts
    section_fields = {s: total(c for n, c in fields.items() if n.startswith(s + ".")) for s in SECTION_NAMES}
    overall = total(fields.values())
    scored = [c for c in fields.values() if c.tp + c.fp + c.fn]
    macro = {
        "precision": _mean(c.precision for c in scored),
        "recall": _mean(c.recall for c in scored),
        "f1": _mean(c.f1 for c in scored),
    }
    return {
        "overall": overall.as_dict(),
        "macro": macro,
        "sections": {
            s: {"items": items[s].as_dict(), "fields": section_fields[s].as_dict()} for s in SECTION_NAMES
        },
        "fields": {name: c.as_dict() for name, c in sorted(fields.items())},
    }


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0
