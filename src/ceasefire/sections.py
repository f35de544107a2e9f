"""The sections of a summary, each described once: everything ceasefire does with a section
reads its record here.

A record holds what the contract (schema.py) does not: the model's prompt template (the file
`prompts/<name>.j2`), how a tiny model is bounded under a grammar, which words make a sentence
a candidate, how the section is shown, and which fields say which item an item is. The
response model of a section call, the grammar's narrowing (choices.py), the prompts'
version, the terminal and notebook views and the scorer are all built from these records.

Adding a section: its item model and list in schema.py (the contract), a record below, and its
prompt template.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import instructor
from pydantic import BaseModel, Field, create_model

from .schema import SECTIONS as CONTRACT_SECTIONS
from .schema import Attack, CeasefireTalks, SecurityGuarantee, TerritorialControl


class Answer(instructor.OpenAISchema):
    """The answer to one call.

    instructor wraps a plain model in a new `OpenAISchema` subclass on every request, then
    builds that class's JSON schema: together most of the client's CPU per call. Being one
    already skips the wrapping, and a class's schema never changes, so it is built once.
    """

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # A copy: callers (the grammar narrowing, instructor) may edit what they get.
        return copy.deepcopy(_json_schema_of(cls, args, tuple(sorted(kwargs.items()))))


@functools.cache
def _json_schema_of(cls: type[Answer], args: tuple[Any, ...], kwargs: tuple[Any, ...]) -> dict[str, Any]:
    return super(Answer, cls).model_json_schema(*args, **dict(kwargs))


@dataclass(frozen=True)
class Section:
    name: str
    """The summary's field, and the prompt template's name."""
    item: type[BaseModel]
    answer_name: str
    """Name of the call's response model: the JSON schema's title the model is shown."""
    title: str
    label: str
    """The letter naming its items in views: T1, T2..."""
    colour: str
    columns: tuple[str, ...]
    """The fields the terminal table shows."""
    key_fields: tuple[str, ...]
    """The fields that say which item this is: the scorer pairs items on them and evidence."""
    same_fact_share: float
    """Share of the key fields stated that must agree for two items a tiny model wrote from two
    sentences to be one fact (it tends to write an item per sentence that mentions the fact)."""
    cues: tuple[str, ...]
    """Patterns of words (English, French, Spanish) signalling a sentence may report the section:
    how many a sentence has is one of the relevance model's features (`relevance.features`)."""
    grammar_max_items: int
    """Most items the grammar lets a tiny model write."""
    grammar_max_tokens: int
    """The answer's budget for a model under a grammar: a tiny model that loops stops there."""
    describe: Callable[[Any], str]
    """One line naming an item, shown on hover over its evidence."""

    @functools.cached_property
    def response_model(self) -> type[Answer]:
        """The model of this section's call: `{<name>: [<item>, ...]}`."""
        return create_model(self.answer_name, __base__=Answer, **{self.name: (list[self.item], ...)})

    @functools.cached_property
    def numbered_model(self) -> type[Answer]:
        """The model of this section's call under a grammar: items point to a numbered candidate
        sentence (`"sentence": 2`) in place of copying it as evidence."""
        fields = {name: (f.annotation, f) for name, f in self.item.model_fields.items() if name != "evidence"}
        item = create_model(
            self.item.__name__,
            __config__=self.item.model_config,
            __doc__=self.item.__doc__,
            sentence=(int, Field(description="The number of the sentence that states this item.")),
            **fields,
        )
        return create_model(self.answer_name, __base__=Answer, **{self.name: (list[item], ...)})

    @functools.cached_property
    def cue_pattern(self) -> re.Pattern[str]:
        return re.compile("|".join(self.cues), re.IGNORECASE)


def _number(value: float) -> str:
    return f"{value:g}"


SECTIONS: tuple[Section, ...] = (
    Section(
        name="ceasefire_talks",
        item=CeasefireTalks,
        answer_name="TalksSection",
        title="Ceasefire talks",
        label="T",
        colour="#cfe3ff",
        columns=("title", "venue", "date", "status", "progress_percent", "mediators"),
        key_fields=("title", "venue"),
        same_fact_share=0.5,
        cues=(
            r"\btalks\b",
            r"negotiat",
            r"\bmeet",
            r"summit",
            r"cease-?fire",
            r"truce",
            r"\bpeace\b",
            r"\bdeal\b",
            r"agreement",
            r"mediat",
            r"\bround\b",
            r"delegation",
            r"\baccord",
            r"pourparlers",
            r"n[ée]goci",
            r"cessez-le-feu",
            r"tr[êe]ve",
            r"\bpaix\b",
            r"r[ée]union",
            r"di[áa]logo",
            r"conversaciones",
            r"alto el fuego",
            r"tregua",
            r"\bpaz\b",
            r"acuerdo",
            r"envoy",
            r"\bmet\b",
            r"agreed",
            r"propos",
            r"initiative",
            r"suspend",
            r"\bpause",
            r"\bmesa\b",
            r"pourparl",
            r"envoy[ée]",
            r"enviad",
            r"propuesta",
            r"\bplan\b",
        ),  # fmt: skip
        grammar_max_items=3,
        grammar_max_tokens=900,
        describe=lambda t: f"{t.title} ({t.status.value})",
    ),
    Section(
        name="security_guarantees",
        item=SecurityGuarantee,
        answer_name="GuaranteesSection",
        title="Security guarantees",
        label="G",
        colour="#cdeccd",
        columns=("guarantor", "beneficiary", "kind", "status", "duration_years", "trigger"),
        key_fields=("guarantor", "kind"),
        same_fact_share=1.0,
        cues=(
            r"guarant",
            r"securit",
            r"\bforce\b",
            r"troops",
            r"backstop",
            r"commitment",
            r"\baid\b",
            r"assistance",
            r"support",
            r"monitor",
            r"protect",
            r"defen[cs]",
            r"peacekeep",
            r"\bfund",
            r"pledge",
            r"garant",
            r"troupes",
            r"soutien",
            r"surveill",
            r"fuerza",
            r"tropas",
            r"apoyo",
            r"verific",
            r"mission",
            r"patrol",
            r"contribut",
            r"deploy",
            r"soldat",
            r"soldier",
            r"naval",
            r"package",
            r"billion",
            r"milliard",
            r"mil millones",
            r"d[ée]ploi",
            r"despleg",
            r"decommission",
            r"sanction",
        ),  # fmt: skip
        grammar_max_items=4,
        grammar_max_tokens=700,
        describe=lambda g: f"{g.guarantor} → {g.beneficiary}: {g.kind.value}, {g.status.value}",
    ),
    Section(
        name="attacks",
        item=Attack,
        answer_name="AttacksSection",
        title="Attacks",
        label="A",
        colour="#ffd3cc",
        columns=("attacker", "target", "target_kind", "weapon", "location", "killed", "injured"),
        key_fields=("target", "location", "weapon"),
        same_fact_share=2 / 3,
        cues=(
            r"attack",
            r"strike",
            r"struck",
            r"drone",
            r"missile",
            r"shell",
            r"bomb",
            r"rocket",
            r"raid",
            r"killed",
            r"injur",
            r"wounded",
            r"\bhit\b",
            r"explos",
            r"blast",
            r"assault",
            r"fired",
            r"attaque",
            r"frappe",
            r"obus",
            r"tu[ée]s?\b",
            r"bless[ée]",
            r"ataque",
            r"atentado",
            r"\bdron",
            r"misil",
            r"muert",
            r"herid",
            r"asalto",
            r"attaqu",
            r"gunm[ae]n",
            r"abduct",
            r"kidnap",
            r"secuestr",
            r"enlev",
            r"opened fire",
            r"killing",
            r"\bdead\b",
            r"\bdied\b",
            r"murieron",
            r"\bmort",
            r"overr[au]n",
            r"clash",
            r"fighting",
            r"combat",
            r"derrib",
            r"\bshot\b",
            r"massacr",
            r"ambush",
            r"emboscad",
        ),  # fmt: skip
        grammar_max_items=5,
        grammar_max_tokens=800,
        describe=lambda a: (
            f"{a.attacker or '?'} → {a.target} ({a.weapon.value})"
            + (f" in {a.location}" if a.location else "")
        ),
    ),
    Section(
        name="territorial_control",
        item=TerritorialControl,
        answer_name="TerritorySection",
        title="Territorial control",
        label="C",
        colour="#ffe59e",
        columns=("controller", "territory", "share_percent"),
        key_fields=("controller", "territory"),
        same_fact_share=1.0,
        cues=(
            r"control",
            r"\bholds?\b",
            r"\bheld\b",
            r"occup",
            r"captur",
            r"seiz",
            r"%",
            r"per ?cent",
            r"territor",
            r"contr[ôo]l",
            r"pour cent",
            r"por ciento",
            r"\bhands\b",
            r"\bmains\b",
            r"\bmanos\b",
            r"govern",
            r"dominant",
            r"retak",
            r"recaptur",
            r"liberat",
            r"withdr[ae]w",
            r"advanc",
            r"\btook\b",
            r"entered",
            r"\bfell\b",
            r"\bguard",
            r"repris",
            r"retir",
            r"tom[óa]",
            r"avanc",
        ),  # fmt: skip
        grammar_max_items=4,
        grammar_max_tokens=400,
        describe=lambda c: (
            f"{c.controller}: {c.territory}"
            + (f" {_number(c.share_percent)}%" if c.share_percent is not None else "")
        ),
    ),
)

BY_NAME: dict[str, Section] = {section.name: section for section in SECTIONS}

if tuple(BY_NAME) != CONTRACT_SECTIONS:  # a record for each of the contract's lists, in its order
    raise ImportError(f"sections.py describes {tuple(BY_NAME)}, the contract has {CONTRACT_SECTIONS}")
